"""`forecast run` reruns a step whose outputs are missing or changed on disk: the files it wrote
and the warehouse tables it wrote, not only its settings and inputs."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest
import yaml
from click.testing import CliRunner

from forecast.cli import main

UNTIL = "monthly report"


@pytest.fixture(scope="module")
def chain(tmp_path_factory):
    """A 60-customer company run up to the monthly report with the fastest models; returns
    ``run()`` (the chain again: its steps by name and the report files) and the workspace."""
    import os

    os.environ.pop("MLFLOW_TRACKING_URI", None)
    workspace = tmp_path_factory.mktemp("outputs") / "ws"
    runner = CliRunner()
    made = runner.invoke(main, ["demo", "--workspace", str(workspace), "--customers", "60",
                                "--until", "customer snapshots"])
    assert made.exit_code == 0, made.output
    config = yaml.safe_load((workspace / "demo.yaml").read_text())
    config["features"]["series"].update({"grains": [[], ["region"]], "freq": "M"})
    config["revenue"].update({"candidates": ["seasonal_naive"], "horizon": "6M",
                              "backtest_h": 3, "eval_folds": 1, "selection_folds": 1})
    config["churn"] = {"candidates": ["logistic"], "blend": False, "splines": False,
                       "calibration": "none"}
    path = workspace / "fast.yaml"
    path.write_text(yaml.safe_dump(config))

    def run() -> tuple[dict, list[str]]:
        result = runner.invoke(main, ["run", "--config", str(path), "--until", UNTIL,
                                      "--json"])
        assert result.exit_code == 0, result.output
        payload = json.loads(result.stdout)
        return {s["step"]: s for s in payload["steps"]}, payload["reports"]

    steps, _ = run()
    assert steps[UNTIL]["status"] == "ran"
    return run, workspace


def _ran(steps: dict) -> list[str]:
    return [name for name, s in steps.items() if s["status"] == "ran"]


def _report(reports: list[str], suffix: str) -> Path:
    return next(Path(p) for p in reports if p.endswith(suffix))


def test_an_unchanged_workspace_skips_every_step(chain):
    run, _ = chain
    steps, reports = run()
    assert _ran(steps) == []
    assert reports and all(Path(p).is_file() for p in reports)


def test_a_deleted_report_file_reruns_the_report_step(chain):
    run, _ = chain
    _, reports = run()
    html = _report(reports, ".html")
    html.unlink()
    steps, again = run()
    assert _ran(steps) == [UNTIL]
    assert str(html) in steps[UNTIL]["reason"] and "missing" in steps[UNTIL]["reason"]
    assert html.is_file() and all(Path(p).is_file() for p in again)


def test_an_edited_report_file_reruns_the_report_step(chain):
    run, _ = chain
    _, reports = run()
    md = _report(reports, ".md")
    original = md.read_text(encoding="utf-8")
    md.write_text(original + "\nedited by hand\n", encoding="utf-8")
    steps, _ = run()
    assert _ran(steps) == [UNTIL]
    assert "changed" in steps[UNTIL]["reason"]
    assert md.read_text(encoding="utf-8") == original


def test_a_changed_output_table_reruns_its_step(chain):
    run, workspace = chain
    with duckdb.connect(str(workspace / "warehouse.duckdb")) as con:
        rows = con.execute("SELECT count(*) FROM customer_tiers").fetchone()[0]
        con.execute("DELETE FROM customer_tiers WHERE customer_id IN "
                    "(SELECT customer_id FROM customer_tiers LIMIT 3)")
    steps, _ = run()
    assert "tiers" in _ran(steps) and "customer_tiers" in steps["tiers"]["reason"]
    assert steps["ingest"]["status"] == "unchanged"
    with duckdb.connect(str(workspace / "warehouse.duckdb"), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM customer_tiers").fetchone()[0] == rows
    # The rerun restored the same rows, so nothing downstream of tiers has to run.
    assert _ran(steps) == ["tiers"]


def test_a_dropped_output_table_and_a_deleted_export_rerun_their_steps(chain):
    run, workspace = chain
    with duckdb.connect(str(workspace / "warehouse.duckdb")) as con:
        con.execute("DROP TABLE targets_plan")
    (workspace / "features" / "series.parquet").unlink()
    steps, _ = run()
    assert {"series", "targets"} <= set(_ran(steps))
    assert (workspace / "features" / "series.parquet").is_file()
    with duckdb.connect(str(workspace / "warehouse.duckdb"), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM targets_plan").fetchone()[0] > 0
