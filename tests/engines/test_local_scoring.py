"""Batch churn scoring: every customer once, global capacity, resume after kill -9, replacement."""

from __future__ import annotations

import os
import pickle
import signal
import subprocess
import sys
import textwrap
import time
from datetime import date, timedelta
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest
from scoring_helpers import Stop, stop_after, synthetic_snapshots

from forecast.config import ChurnConfig
from forecast.engines.local import ScoringOptions, score_churn
from forecast.errors import ValidationError
from forecast.factory import fit_churn_model
from forecast.io import warehouse
from forecast.io.scores import CHUNKS_TABLE, SCORES_TABLE
from forecast.models.reasons import explain_churn

FAST = {"candidates": ["logistic"], "blend": False, "splines": False}
CUTOFFS = [date(2025, 1, 1) + timedelta(days=60 * k) for k in range(4)]
LATEST = CUTOFFS[-1]
REPO = Path(__file__).resolve().parents[2]


def make_snapshots(n_customers: int = 500, seed: int = 0) -> pd.DataFrame:
    """Snapshots at four cutoffs, the population growing by 40 customers a cutoff, with
    ``recency_to_interval`` (see :func:`synthetic_snapshots`)."""
    sizes = [n_customers - 40 * (len(CUTOFFS) - 1 - k) for k in range(len(CUTOFFS))]
    return synthetic_snapshots(CUTOFFS, sizes, seed, id_width=5, with_interval=True)


@pytest.fixture(scope="module")
def snapshots() -> pd.DataFrame:
    return make_snapshots()


@pytest.fixture(scope="module")
def models(snapshots):
    """Two different fitted models (without and with spline terms) on the labelled cutoffs."""
    labelled = snapshots[snapshots["label_complete"]]
    first = fit_churn_model(labelled, ChurnConfig(**FAST))
    second = fit_churn_model(labelled, ChurnConfig(**{**FAST, "splines": True}))
    return first, second


@pytest.fixture
def con(tmp_path, snapshots):
    """A warehouse holding the snapshots as ``customer_snapshots``."""
    with warehouse.connect(tmp_path / "ws", create=True) as connection:
        connection.register("frame", snapshots)
        connection.execute("CREATE TABLE customer_snapshots AS SELECT * FROM frame")
        connection.unregister("frame")
        yield connection


def latest(snapshots: pd.DataFrame) -> pd.DataFrame:
    return snapshots[snapshots["cutoff"] == pd.Timestamp(LATEST)].reset_index(drop=True)


def _texts(column: pd.Series) -> list:
    return [None if pd.isna(v) else v for v in column]


def read_scores(con, cutoff: date = LATEST) -> pd.DataFrame:
    return con.execute(f"SELECT * FROM {SCORES_TABLE} WHERE cutoff = ? ORDER BY customer_id",
                       [cutoff]).df()


def test_every_customer_is_scored_once_with_the_models_numbers(con, snapshots, models, tmp_path):
    model, _ = models
    config = ChurnConfig(**FAST)
    exports = (tmp_path / "out" / "scores.parquet", tmp_path / "out" / "scores.csv")
    summary = score_churn(con, model, "customer_snapshots", config, options=ScoringOptions(
        chunk_rows=100, reasons="all", exports=exports))
    frame = latest(snapshots)
    got = read_scores(con)
    # Default cutoff is the latest; 500 customers in ceil(500 / 100) = 5 chunks.
    assert summary["cutoff"] == LATEST.isoformat() and summary["chunks"] == 5
    assert summary["rows"] == summary["scored_rows"] == len(frame) == len(got) == 500
    assert got["customer_id"].tolist() == frame["customer_id"].tolist()
    proba = model.predict_proba(frame)[:, 1]
    np.testing.assert_allclose(got["churn_proba"], proba, rtol=1e-12)
    expected_tier = np.where(proba >= 0.5, "high", np.where(proba >= 0.2, "medium", "low"))
    assert got["tier"].tolist() == expected_tier.tolist()
    assert got["act"].tolist() == (proba >= model.threshold_).tolist()
    # Net returns (negative revenue) put nothing at risk.
    at_risk = proba * frame["revenue_365d"].clip(lower=0)
    np.testing.assert_allclose(got["revenue_at_risk"], at_risk, rtol=1e-12)
    assert summary["revenue_at_risk"] == pytest.approx(at_risk.sum(), rel=1e-9)
    assert summary["tiers"] == {t: int((expected_tier == t).sum()) for t in ("high", "medium",
                                                                              "low")}
    reasons = explain_churn(model, frame)
    for k in (1, 2, 3):
        assert _texts(got[f"reason_{k}"]) == _texts(reasons[f"reason_{k}"])
    chunks = con.execute(f"SELECT sum(rows), count(*) FROM {CHUNKS_TABLE}").fetchone()
    assert chunks == (500, 5)
    for path in exports:
        exported = duckdb.sql(f"SELECT count(DISTINCT customer_id) FROM '{path}'").fetchall()
        assert exported[0][0] == 500


def test_capacity_makes_the_n_riskiest_of_all_chunks_high(con, snapshots, models):
    model, _ = models
    config = ChurnConfig(**FAST, capacity=37, tier_medium=0.3)
    score_churn(con, model, "customer_snapshots", config, options=ScoringOptions(
        chunk_rows=50, reasons="none"))
    got = read_scores(con)
    top = got.sort_values(["churn_proba", "customer_id"], ascending=[False, True]).head(37)
    assert (got["tier"] == "high").sum() == 37
    assert set(got.loc[got["tier"] == "high", "customer_id"]) == set(top["customer_id"])
    rest = got[got["tier"] != "high"]
    assert (rest["tier"] == np.where(rest["churn_proba"] >= 0.3, "medium", "low")).all()
    assert got["reason_1"].isna().all()


def test_a_second_run_skips_every_chunk_and_changes_nothing(con, models):
    model, _ = models
    options = ScoringOptions(chunk_rows=120)
    first = score_churn(con, model, "customer_snapshots", ChurnConfig(**FAST), options=options)
    before = read_scores(con)
    again = score_churn(con, model, "customer_snapshots", ChurnConfig(**FAST), options=options)
    assert again["run_key"] == first["run_key"]
    assert (again["skipped_chunks"], again["scored_rows"]) == (first["chunks"], 0)
    pd.testing.assert_frame_equal(read_scores(con), before)
    # Only at-risk customers get reasons by default.
    low = before["churn_proba"] < 0.2
    assert before.loc[low, "reason_1"].isna().all() and before.loc[~low, "reason_1"].notna().any()


def test_another_model_replaces_the_scores_of_that_cutoff_only(con, snapshots, models):
    first, second = models
    config = ChurnConfig(**FAST)
    older = score_churn(con, first, "customer_snapshots", config,
                        options=ScoringOptions(cutoff=CUTOFFS[0], chunk_rows=100))
    score_churn(con, first, "customer_snapshots", config, options=ScoringOptions(chunk_rows=100))
    replaced = score_churn(con, second, "customer_snapshots", config,
                           options=ScoringOptions(chunk_rows=100))
    got = read_scores(con)
    assert len(got) == got["customer_id"].nunique() == 500
    assert set(got["run_key"]) == {replaced["run_key"]}
    np.testing.assert_allclose(got["churn_proba"], second.predict_proba(latest(snapshots))[:, 1])
    assert len(read_scores(con, CUTOFFS[0])) == older["rows"] == 380


def test_a_model_with_other_features_is_refused_before_any_write(con, snapshots, models):
    model, _ = models
    con.execute("CREATE TABLE no_segment AS SELECT * EXCLUDE (segment) FROM customer_snapshots")
    with pytest.raises(ValidationError, match=r"no_segment: .*missing \['segment'\]"):
        score_churn(con, model, "no_segment", ChurnConfig(**FAST))
    assert not warehouse.table_exists(con, SCORES_TABLE)
    assert not warehouse.table_exists(con, CHUNKS_TABLE)


def test_a_parquet_snapshot_scores_like_the_table(con, snapshots, models, tmp_path):
    model, _ = models
    path = tmp_path / "snap.parquet"
    latest(snapshots).to_parquet(path)
    summary = score_churn(con, model, path, ChurnConfig(**FAST),
                          options=ScoringOptions(chunk_rows=64, reasons="none"))
    assert summary["source"] == str(path.resolve()) and summary["chunks"] == 8
    got = read_scores(con)
    np.testing.assert_allclose(got["churn_proba"], model.predict_proba(latest(snapshots))[:, 1])


def test_customers_without_a_recent_purchase_are_left_out_and_counted(con, models):
    model, _ = models
    con.execute("UPDATE customer_snapshots SET recency_days = 400 WHERE customer_id < 'C00050'")
    summary = score_churn(con, model, "customer_snapshots", ChurnConfig(**FAST),
                          options=ScoringOptions(chunk_rows=100, reasons="none"))
    got = read_scores(con)
    # 50 of the 500 latest customers last bought 400 days ago: more than the default 365.
    assert (summary["rows"], summary["excluded_inactive"], len(got)) == (450, 50, 450)
    assert got["customer_id"].min() == "C00050" and summary["active_within_days"] == 365
    everyone = score_churn(con, model, "customer_snapshots",
                           ChurnConfig(**FAST, active_within_days=None),
                           options=ScoringOptions(chunk_rows=100, reasons="none"))
    assert (everyone["rows"], everyone["excluded_inactive"], len(read_scores(con))) == (500, 0,
                                                                                         500)


def test_activity_filter_needs_a_recency_column(con, models):
    con.execute("CREATE TABLE no_recency AS SELECT * REPLACE (0 AS recency_days) "
                "FROM customer_snapshots")
    con.execute("ALTER TABLE no_recency RENAME COLUMN recency_days TO days_quiet")
    with pytest.raises(ValidationError, match="no 'recency_days' column.*active_within_days"):
        score_churn(con, models[0], "no_recency", ChurnConfig(**FAST))


def test_more_workers_give_the_same_scores(con, models):
    model, _ = models
    options = {"chunk_rows": 60, "reasons": "all"}
    score_churn(con, model, "customer_snapshots", ChurnConfig(**FAST),
                options=ScoringOptions(workers=1, **options))
    one = read_scores(con).drop(columns="run_key")
    score_churn(con, model, "customer_snapshots", ChurnConfig(**FAST),
                options=ScoringOptions(workers=3, model_key="other", **options))
    pd.testing.assert_frame_equal(read_scores(con).drop(columns="run_key"), one)


def test_a_resumed_run_over_a_reordered_source_starts_again(con, snapshots, models):
    model, _ = models
    options = ScoringOptions(chunk_rows=100, reasons="none")
    with pytest.raises(Stop):
        score_churn(con, model, "customer_snapshots", ChurnConfig(**FAST), options=options,
                    progress=stop_after(2))
    assert con.execute(f"SELECT count(*) FROM {CHUNKS_TABLE}").fetchone()[0] == 2
    # Same rows, another order: chunk 0 and 1 would now hold other customers.
    con.execute("CREATE OR REPLACE TABLE customer_snapshots AS SELECT * FROM customer_snapshots "
                "ORDER BY cutoff, customer_id DESC")
    summary = score_churn(con, model, "customer_snapshots", ChurnConfig(**FAST),
                          options=options)
    got = read_scores(con)
    assert (summary["skipped_chunks"], summary["scored_rows"]) == (0, 500)
    assert len(got) == got["customer_id"].nunique() == 500
    np.testing.assert_allclose(got["churn_proba"], model.predict_proba(latest(snapshots))[:, 1])


def test_a_resumed_run_over_the_same_source_skips_the_committed_chunks(con, models):
    model, _ = models
    options = ScoringOptions(chunk_rows=100, reasons="none")
    with pytest.raises(Stop):
        score_churn(con, model, "customer_snapshots", ChurnConfig(**FAST), options=options,
                    progress=stop_after(3))
    summary = score_churn(con, model, "customer_snapshots", ChurnConfig(**FAST),
                          options=options)
    assert (summary["skipped_chunks"], summary["scored_rows"]) == (3, 200)
    assert len(read_scores(con)) == 500


KILL_SCRIPT = textwrap.dedent("""
    import pickle, sys, time
    from forecast.config import ChurnConfig
    from forecast.engines.local import ScoringOptions, score_churn
    from forecast.io import scores, warehouse

    workspace, model_path, hang = sys.argv[1], sys.argv[2], int(sys.argv[3])
    record = scores.record_chunk

    def record_then_hang(con, run_key, frame, chunk, n_chunks):
        record(con, run_key, frame, chunk, n_chunks)
        if chunk == hang:  # inside the chunk's open transaction
            print("HANG", chunk, flush=True)
            time.sleep(120)

    scores.record_chunk = record_then_hang
    model = pickle.loads(open(model_path, "rb").read())
    with warehouse.connect(workspace) as con:
        summary = score_churn(con, model, "customer_snapshots",
                              ChurnConfig(candidates=["logistic"], blend=False, splines=False),
                              options=ScoringOptions(chunk_rows=100, reasons="none"),
                              progress=lambda done, n: print("DONE", done, flush=True))
    print("SUMMARY", summary["skipped_chunks"], summary["scored_rows"], flush=True)
""")


def _run_scoring(tmp_path: Path, hang: int) -> subprocess.Popen:
    script = tmp_path / "score.py"
    script.write_text(KILL_SCRIPT, encoding="utf-8")
    return subprocess.Popen(
        [sys.executable, str(script), str(tmp_path / "ws"), str(tmp_path / "model.pkl"),
         str(hang)], stdout=subprocess.PIPE, text=True, cwd=REPO)


def test_kill_9_mid_chunk_then_rerun_gives_each_customer_exactly_once(tmp_path, snapshots,
                                                                       models):
    with warehouse.connect(tmp_path / "ws", create=True) as con:
        con.register("frame", snapshots)
        con.execute("CREATE TABLE customer_snapshots AS SELECT * FROM frame")
    (tmp_path / "model.pkl").write_bytes(pickle.dumps(models[0]))
    proc = _run_scoring(tmp_path, hang=2)
    deadline, lines = time.monotonic() + 60, []
    while time.monotonic() < deadline and not (lines and lines[-1].startswith("HANG")):
        lines.append(proc.stdout.readline().strip())
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=10)
    assert lines[-3:] == ["DONE 1", "DONE 2", "HANG 2"]
    with warehouse.connect(tmp_path / "ws", read_only=True) as con:
        committed = con.execute(f"SELECT count(*), sum(rows) FROM {CHUNKS_TABLE}").fetchone()
        rows = con.execute(f"SELECT count(*), max(chunk) FROM {SCORES_TABLE}").fetchone()
    assert committed[0] == 2 and rows == (committed[1], 1)  # chunk 2's insert was rolled back
    rerun = _run_scoring(tmp_path, hang=-1)
    out, _ = rerun.communicate(timeout=60)
    assert rerun.returncode == 0
    assert f"SUMMARY 2 {500 - committed[1]}" in out
    with warehouse.connect(tmp_path / "ws", read_only=True) as con:
        got = read_scores(con)
        chunks = con.execute(f"SELECT list(chunk ORDER BY chunk) FROM {CHUNKS_TABLE}").fetchone()
    assert len(got) == got["customer_id"].nunique() == 500
    assert got["customer_id"].tolist() == latest(snapshots)["customer_id"].tolist()
    assert chunks[0] == [0, 1, 2, 3, 4]
