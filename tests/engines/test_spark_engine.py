"""The Spark engine gives the local engine's numbers: per-series Prophet (alone and inside the
revenue forecaster's backtest), churn scoring with its bookkeeping (rerun, resume), and the
registered churn model through ``mlflow.pyfunc.spark_udf``. Run with ``make test-spark``."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from functools import partial

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from scoring_helpers import Stop, clone_with, stop_after

# Without the spark extra the module is skipped at collection, with the reason (make test-spark
# installs it); forecast.engines.spark imports pyspark at its top.
pytest.importorskip("pyspark", reason="pyspark is not installed: `make test-spark` installs "
                    "the spark extra")

from forecast import tracking
from forecast.config import ChurnConfig
from forecast.engine import LocalEngine, use_engine
from forecast.engines.local import ScoringOptions, score_churn
from forecast.engines.spark import write_frame
from forecast.io import warehouse
from forecast.model_selection import RevenueForecaster
from forecast.models.baselines import SeasonalNaiveForecaster
from forecast.models.prophet_model import ProphetForecaster

pytestmark = pytest.mark.spark

SMALL = {"candidates": ["logistic"], "blend": False, "splines": False}


def test_map_groups_gives_the_local_result(spark_engine):
    rng = np.random.default_rng(0)
    data = pd.DataFrame({"g": rng.choice(list("abcdefg"), 300), "x": rng.normal(size=300),
                         "ds": pd.date_range("2024-01-01", periods=300, freq="D")})
    schema = pa.schema([("g", pa.string()), ("x", pa.float64()), ("ds", pa.timestamp("us"))])
    first_rows = partial(pd.DataFrame.head, n=3)  # importable by Spark's Python workers
    local = LocalEngine(n_jobs=1).map_groups(data, ["g"], first_rows, schema)
    got = spark_engine.map_groups(data, ["g"], first_rows, schema)
    got = got.sort_values(["g", "ds"]).reset_index(drop=True)
    assert len(local) == 21  # each group's first rows, in the order the frame holds them
    pd.testing.assert_frame_equal(got, local, check_exact=True)


def panel(n_series: int = 4, n_weeks: int = 120, seed: int = 7) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    ds = pd.date_range("2021-01-01", periods=n_weeks, freq="W-FRI")
    wave = 1 + 0.3 * np.sin(2 * np.pi * np.arange(n_weeks) / 52)
    frames = []
    for i in range(n_series):
        promo = (rng.random(n_weeks) < 0.15).astype(float)
        y = 100.0 * (i + 1) * wave * (1 + 0.3 * promo) * (1 + 0.03 * rng.standard_normal(n_weeks))
        frames.append(pd.DataFrame({"unique_id": f"s{i}", "ds": ds, "y": y, "promo": promo}))
    return pd.concat(frames, ignore_index=True)


def test_prophet_gives_the_same_forecasts_and_intervals(spark_engine):
    frame = panel()
    train = frame[frame["ds"] <= frame["ds"].max() - pd.Timedelta(weeks=6)]
    future = frame[frame["ds"] > train["ds"].max()][["unique_id", "ds", "promo"]]
    settings = {"regressors": ("promo",), "uncertainty_samples": 80}
    local_model = ProphetForecaster(n_jobs=1, **settings).fit(train)
    local = local_model.predict(6, future_exog=future)
    with use_engine(spark_engine):
        spark_model = ProphetForecaster(n_jobs=1, **settings).fit(train)
        spark = spark_model.predict(6, future_exog=future)
    assert spark_model.models_ == local_model.models_
    pd.testing.assert_frame_equal(spark[["unique_id", "ds"]], local[["unique_id", "ds"]])
    pd.testing.assert_frame_equal(spark, local, rtol=1e-9, atol=0)


def test_the_revenue_forecaster_backtests_and_forecasts_the_same(spark_engine):
    frame = panel(n_series=3, n_weeks=110)[["unique_id", "ds", "y"]]

    def run() -> tuple[pd.DataFrame, pd.DataFrame]:
        candidates = {"prophet": ProphetForecaster(n_jobs=1, uncertainty_samples=40),
                      "snaive": SeasonalNaiveForecaster()}
        model = RevenueForecaster(candidates, h=4, levels=(80,), selection_folds=2)
        cv = model.cross_validation(frame, n_windows=1)
        model.fit(frame, cv=cv)
        return cv.table, model.predict(4)

    local_table, local = run()
    with use_engine(spark_engine):
        spark_table, spark = run()
    pd.testing.assert_frame_equal(spark_table, local_table, rtol=1e-9, atol=0)
    pd.testing.assert_frame_equal(spark, local, rtol=1e-9, atol=0)


@contextmanager
def snapshot_warehouse(path, frame: pd.DataFrame) -> Iterator:
    """A new warehouse at ``path`` holding ``frame`` as ``customer_snapshots``."""
    with warehouse.connect(path, create=True) as con:
        con.register("frame", frame)
        con.execute("CREATE TABLE customer_snapshots AS SELECT * FROM frame")
        con.unregister("frame")
        yield con


def read_tables(con) -> tuple[pd.DataFrame, pd.DataFrame]:
    scores = con.execute("SELECT * FROM churn_scores ORDER BY customer_id").df()
    chunks = con.execute("SELECT * EXCLUDE (committed_at) FROM churn_score_chunks "
                         "ORDER BY chunk").df()
    return scores, chunks


def test_churn_scores_tiers_and_reasons_match_and_a_rerun_adds_nothing(
        tmp_path, snapshot_frame, churn_models, spark_engine):
    model, _ = churn_models
    config = ChurnConfig(**SMALL, capacity=23)
    options = ScoringOptions(chunk_rows=70, reasons="all")
    results = {}
    for name, engine in (("local", None), ("spark", spark_engine)):
        with snapshot_warehouse(tmp_path / name, snapshot_frame) as con:
            summary = score_churn(con, model, "customer_snapshots", config, options=options,
                                  engine=engine)
            results[name] = (summary, *read_tables(con))
            if name == "spark":
                again = score_churn(con, model, "customer_snapshots", config, options=options,
                                    engine=engine)
                assert (again["skipped_chunks"], again["scored_rows"]) == (summary["chunks"], 0)
                assert read_tables(con)[0].equals(results[name][1])
    (local, local_scores, local_chunks), (spark, spark_scores, spark_chunks) = (
        results["local"], results["spark"])
    assert len(spark_scores) == spark_scores["customer_id"].nunique() == 300
    np.testing.assert_allclose(spark_scores["churn_proba"], local_scores["churn_proba"],
                               rtol=1e-12, atol=0)
    pd.testing.assert_frame_equal(spark_scores, local_scores, check_exact=True)
    pd.testing.assert_frame_equal(spark_chunks, local_chunks)
    assert (spark_scores["tier"] == "high").sum() == 23
    volatile = ("seconds", "customers_per_second", "workers")
    assert {k: v for k, v in spark.items() if k not in volatile} == {
        k: v for k, v in local.items() if k not in volatile}


def test_an_interrupted_spark_run_resumes_where_it_stopped(tmp_path, snapshot_frame,
                                                           churn_models, spark_engine):
    model, _ = churn_models
    config, options = ChurnConfig(**SMALL), ScoringOptions(chunk_rows=60, reasons="at_risk")
    with snapshot_warehouse(tmp_path / "ws", snapshot_frame) as con:
        with pytest.raises(Stop):
            score_churn(con, model, "customer_snapshots", config, options=options,
                        engine=spark_engine, progress=stop_after(2))
        assert con.execute("SELECT count(*) FROM churn_score_chunks").fetchone()[0] == 2
        resumed = score_churn(con, model, "customer_snapshots", config, options=options,
                              engine=spark_engine)
        assert (resumed["skipped_chunks"], resumed["scored_rows"]) == (2, 180)
        scores, _ = read_tables(con)
    assert len(scores) == scores["customer_id"].nunique() == 300
    latest = snapshot_frame[snapshot_frame["cutoff"] == snapshot_frame["cutoff"].max()]
    expected = model.predict_proba(latest.sort_values("customer_id"))[:, 1]
    np.testing.assert_allclose(scores["churn_proba"], expected, rtol=1e-12)
    assert not list((tmp_path / "exchange").glob("*"))  # every exchange folder removed


def test_spark_udf_over_the_registered_churn_model(tmp_path, monkeypatch, spark,
                                                   snapshot_frame, churn_models):
    import mlflow

    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    model = clone_with(churn_models[0], capacity=10)  # must not make the output batch-dependent
    latest = snapshot_frame[snapshot_frame["cutoff"] == snapshot_frame["cutoff"].max()]
    rows = latest.drop(columns=["churned", "label_complete"]).reset_index(drop=True)
    with tracking.start_run(tmp_path / "ws", "churn-risk", "train churn", {}):
        uri = tracking.log_model(model, rows.head(20), "churn-risk")
    write_frame(rows, str(tmp_path / "rows.parquet"))
    udf = mlflow.pyfunc.spark_udf(spark, uri)
    spark.conf.set("spark.sql.execution.arrow.maxRecordsPerBatch", "50")
    try:
        frame = spark.read.parquet((tmp_path / "rows.parquet").as_uri())
        scored = frame.select("customer_id", udf(*rows.columns).alias("out")).select(
            "customer_id", "out.*").toPandas()
    finally:
        spark.conf.unset("spark.sql.execution.arrow.maxRecordsPerBatch")
    scored = scored.set_index("customer_id").loc[rows["customer_id"]]
    expected = model.predict_frame(rows)
    np.testing.assert_allclose(scored["churn_proba"], expected["churn_proba"], rtol=1e-12,
                               atol=0)
    assert scored["tier"].tolist() == expected["tier"].tolist()
