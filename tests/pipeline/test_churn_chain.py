"""Demo workspace -> `forecast train churn` on snapshots -> `forecast score churn`."""

from __future__ import annotations

import json

import duckdb
import pytest
from click.testing import CliRunner

from forecast.cli import main


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    workspace = tmp_path_factory.mktemp("chain") / "demo"
    result = CliRunner().invoke(main, ["demo", "--workspace", str(workspace), "--customers", "300",
                                       "--until", "customer snapshots",
                                       "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_train_then_score_every_customer_once(demo, monkeypatch):
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    runner = CliRunner()
    trained = runner.invoke(main, ["train", "churn", "--config", demo["config"], "--json"])
    assert trained.exit_code == 0, trained.output
    metrics = json.loads(trained.stdout)["metrics"]
    assert metrics["roc_auc"] > 0.75  # the generator's churn is learnable from behaviour
    scored = runner.invoke(main, ["score", "churn", "--config", demo["config"], "--json"])
    assert scored.exit_code == 0, scored.output
    out = json.loads(scored.stdout)
    con = duckdb.connect(f"{demo['workspace']}/warehouse.duckdb", read_only=True)
    # By default only customers with a purchase in the 365 days before the cutoff are scored.
    total, expected = con.execute(
        "SELECT count(*), count(*) FILTER (WHERE recency_days <= 365) FROM customer_snapshots "
        "WHERE cutoff = DATE '2026-11-01'").fetchone()
    rows, distinct, bad_risk = con.execute(
        "SELECT count(*), count(DISTINCT s.customer_id), count(*) FILTER (WHERE abs("
        "s.revenue_at_risk - s.churn_proba * greatest(c.revenue_365d, 0)) > 1e-6) "
        "FROM churn_scores s JOIN customer_snapshots c USING (customer_id, cutoff)").fetchone()
    reasons = con.execute("SELECT count(*) FROM churn_scores WHERE tier = 'high' AND "
                          "reason_1 IS NULL").fetchone()[0]
    con.close()
    assert out["rows"] == rows == distinct == expected > 0
    assert out["excluded_inactive"] == total - expected > 0
    assert bad_risk == 0 and reasons == 0
    again = runner.invoke(main, ["score", "churn", "--config", demo["config"], "--json"])
    assert json.loads(again.stdout)["skipped_chunks"] == out["chunks"]
