"""`forecast train revenue` and `forecast predict revenue` on a small synthetic company."""

from __future__ import annotations

import json

import duckdb
import pandas as pd
import pytest
import yaml
from click.testing import CliRunner

from forecast.cli import main


@pytest.fixture(scope="module")
def workspace(tmp_path_factory):
    """A demo workspace of 300 customers with a fast revenue config."""
    import os

    os.environ.pop("MLFLOW_TRACKING_URI", None)
    root = tmp_path_factory.mktemp("revenue")
    runner = CliRunner()
    result = runner.invoke(main, ["demo", "--workspace", str(root / "ws"), "--customers", "300",
                                  "--until", "customer snapshots"])
    assert result.exit_code == 0, result.output
    config = yaml.safe_load((root / "ws" / "demo.yaml").read_text())
    config["revenue"].update({"candidates": ["seasonal_naive", "global_hgb"],
                              "global_model": {"max_iter": 30}, "eval_folds": 1})
    path = root / "ws" / "fast.yaml"
    path.write_text(yaml.safe_dump(config))
    result = runner.invoke(main, ["train", "revenue", "--config", str(path), "--json"])
    assert result.exit_code == 0, result.output
    return path, json.loads(result.stdout)


def test_train_reports_out_of_sample_scores_of_every_model_and_level(workspace):
    _, summary = workspace
    models = {p["model"] for p in summary["pooled"]}
    assert {"seasonal_naive", "global_hgb", "selected", "selected_reconciled"} <= models
    selected = summary["selected"]
    assert selected["model"] == "selected_reconciled"
    assert selected["grain"] == "region/channel/product_line"
    assert 0 <= selected["coverage_80"] <= 1 and 0 < selected["wape"] < 2
    grains = [b["grain"] for b in summary["by_level"]]
    assert grains == ["total", "region", "region/channel", "region/channel/product_line"]
    assert summary["model_uri"] == "models:/revenue-forecaster/1"


def test_train_json_keeps_the_keys_scripts_read(workspace):
    """The typed summary prints the keys (and order) the dict summary printed; benchmarks
    parse them."""
    _, summary = workspace
    assert list(summary) == [
        "model_uri", "run_id", "tracking_uri", "series", "freq", "horizon_periods", "layout",
        "selected", "pooled", "by_grain", "by_level", "strategies", "reconcile", "dropped",
        "notes", "seconds"]
    assert list(summary["layout"]) == ["h", "step", "selection_folds", "eval_folds"]
    assert list(summary["selected"])[:2] == ["model", "grain"]
    assert list(summary["by_level"][0]) == ["grain", "unreconciled", "reconciled"]


def test_predict_writes_coherent_forecasts_periods_and_files(workspace):
    path, _ = workspace
    result = CliRunner().invoke(main, ["predict", "revenue", "--config", str(path),
                                       "--horizon", "6M", "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["periods"] == 26 and summary["coherence_error"] < 1e-6
    for line in ("forecasting: 0 of 4, reading the series",
                 f"forecasting: 1 of 4, forecasting {summary['series']:,} series 26 periods ahead",
                 "forecasting: 2 of 4, summing months and quarters",
                 "forecasting: 3 of 4, writing the tables and files", "forecasting: 4 of 4\n"):
        assert line in result.stderr, line
    with duckdb.connect(str(path.parent / "warehouse.duckdb"), read_only=True) as con:
        _check_predicted_tables(con)
    sheets = pd.read_excel(path.parent / "outputs" / "revenue_forecast.xlsx", sheet_name=None)
    assert set(sheets) == {"forecast", "months", "quarters"}


def _check_predicted_tables(con: duckdb.DuckDBPyConnection) -> None:
    gap = con.execute("""
        SELECT max(abs(t.yhat - r.s) / t.yhat) FROM revenue_forecast t
        JOIN (SELECT ds, sum(yhat) AS s FROM revenue_forecast WHERE grain = 'region'
              GROUP BY ds) r USING (ds) WHERE t.unique_id = 'total'""").fetchone()[0]
    assert gap < 1e-6
    quarters = con.execute("""
        SELECT period, yhat, yhat_sd, yhat_lo_80, yhat_hi_80 FROM revenue_forecast_periods
        WHERE unique_id = 'total' AND period_type = 'quarter' ORDER BY period""").df()
    # Data end 2026-10-31; 26 weeks from 2026-11-02 reach 2027-05-02: Q4 2026 and Q1 2027.
    assert list(quarters["period"].dt.strftime("%Y-%m-%d")) == ["2026-10-01", "2027-01-01"]
    assert (quarters["yhat_lo_80"] < quarters["yhat"]).all()
    months = con.execute("""SELECT sum(yhat) FROM revenue_forecast_periods WHERE unique_id =
        'total' AND period_type = 'month' AND period BETWEEN '2027-01-01' AND '2027-03-01'
        """).fetchone()[0]
    assert months == pytest.approx(quarters["yhat"].iloc[1])


def test_the_registered_model_is_a_pyfunc_with_a_signature(workspace):
    import mlflow

    path, summary = workspace
    mlflow.set_tracking_uri(f"sqlite:///{path.parent / 'mlflow.db'}")
    model = mlflow.pyfunc.load_model(summary["model_uri"])
    assert model.metadata.signature is not None
    # The orders stop on Saturday 2026-10-31, partway through the week from 2026-10-26,
    # which the series leave out: it is the first forecast week.
    future = pd.DataFrame({"unique_id": ["total"] * 2,
                           "ds": pd.to_datetime(["2026-10-26", "2026-11-02"]),
                           "h": [1, 2], "holiday_count": [0.0, 0.0]})
    out = model.predict(future)
    assert list(out["unique_id"]) == ["total", "total"]
    assert (out["yhat_lo_95"] <= out["yhat_lo_80"]).all()


def test_a_horizon_past_the_trained_one_is_refused(workspace):
    path, _ = workspace
    result = CliRunner().invoke(main, ["predict", "revenue", "--config", str(path),
                                       "--horizon", "1Y"])
    assert result.exit_code == 2 and "horizon" in result.output
    result = CliRunner().invoke(main, ["predict", "revenue", "--config", str(path),
                                       "--horizon", "12M"])
    assert result.exit_code == 2 and "trained to forecast 26 periods" in result.output


def test_train_without_series_says_what_to_run(tmp_path, write_config):
    import shutil

    path = write_config({"sources": []})
    ws = tmp_path / "ws"
    ws.mkdir()
    duckdb.connect(str(ws / "warehouse.duckdb")).close()
    result = CliRunner().invoke(main, ["train", "revenue", "--config", str(path)])
    shutil.rmtree(ws)
    assert result.exit_code == 2 and "forecast features series" in result.output
