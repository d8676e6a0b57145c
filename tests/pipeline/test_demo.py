"""The demo: a fresh workspace with the synthetic company ingested, and a config to reuse."""

from __future__ import annotations

import json

import duckdb
from click.testing import CliRunner

from forecast.cli import main
from forecast.config import load_config


def test_demo_builds_a_workspace_whose_counts_reconcile(tmp_path):
    workspace = tmp_path / "demo"
    result = CliRunner().invoke(main, ["demo", "--workspace", str(workspace), "--customers", "150",
                                       "--until", "customer snapshots", "--json"])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    steps = {s["step"]: s for s in payload["steps"]}
    assert list(steps) == ["ingest", "series", "customer snapshots"]
    ingested = steps["ingest"]["summary"]
    sources = {s["table"]: s for s in ingested["sources"]}
    assert set(sources) == {"orders", "customers", "surveys", "opportunities", "targets"}
    for table, s in sources.items():
        assert s["rows_read"] == payload["synth"]["rows"][table]
        assert s["rows_loaded"] == s["rows_read"] and s["rows_quarantined"] == 0
    con = duckdb.connect(str(workspace / "warehouse.duckdb"), read_only=True)
    assert con.execute("SELECT count(DISTINCT customer_id) FROM customers").fetchone()[0] == 150
    con.close()
    # The written config reproduces the same ingest (idempotent: no duplicates).
    config = load_config(payload["config"])
    assert config.workspace == workspace.resolve()
    again = CliRunner().invoke(main, ["data", "ingest", "--config", payload["config"], "--json"])
    assert again.exit_code == 0, again.output
    assert json.loads(again.stdout)["sources"] == ingested["sources"]
