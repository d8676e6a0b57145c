"""`forecast demo` and `forecast run`: the whole chain, and skipping what has not changed."""

from __future__ import annotations

import json

import pytest
import yaml
from click.testing import CliRunner

from forecast.cli import main

ALL_STEPS = ["ingest", "series", "customer snapshots", "train revenue", "predict revenue",
             "train churn", "score churn", "tiers", "targets", "funnel", "attainment",
             "monthly report", "risk report"]


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    import os

    os.environ.pop("MLFLOW_TRACKING_URI", None)
    workspace = tmp_path_factory.mktemp("chain") / "demo"
    result = CliRunner().invoke(main, ["demo", "--workspace", str(workspace), "--customers",
                                       "200", "--json"])
    assert result.exit_code == 0, result.output
    return workspace, json.loads(result.stdout)


@pytest.mark.slow
def test_demo_runs_every_step_and_says_where_the_reports_are(demo):
    workspace, payload = demo
    assert [s["step"] for s in payload["steps"]] == ALL_STEPS
    assert {s["status"] for s in payload["steps"]} == {"ran"}
    suffixes = sorted(p.rsplit(".", 1)[1] for p in payload["reports"])
    assert suffixes == sorted(["html", "md", "json", "xlsx"] * 2)
    assert all((workspace / "reports").joinpath(p.rsplit("/", 1)[1]).exists()
               for p in payload["reports"])


@pytest.mark.slow
def test_a_second_run_skips_everything_and_a_change_reruns_only_what_follows(demo):
    workspace, _ = demo
    config = workspace / "demo.yaml"
    again = CliRunner().invoke(main, ["run", "--config", str(config), "--json"])
    assert again.exit_code == 0, again.output
    assert {s["status"] for s in json.loads(again.stdout)["steps"]} == {"unchanged"}
    raw = yaml.safe_load(config.read_text())
    raw["tiers"] = {"abc_cutoffs": [0.7, 0.9]}
    changed = workspace / "changed.yaml"
    changed.write_text(yaml.safe_dump(raw))
    rerun = CliRunner().invoke(main, ["run", "--config", str(changed), "--json"])
    assert rerun.exit_code == 0, rerun.output
    ran = [s["step"] for s in json.loads(rerun.stdout)["steps"] if s["status"] == "ran"]
    assert ran == ["tiers", "monthly report", "risk report"]


def test_steps_the_data_cannot_support_are_marked_not_applicable(tmp_path, write_config):
    orders = tmp_path / "orders.csv"
    orders.write_text("date,amount,store\n" + "".join(
        f"{y}-{m:02d}-{d:02d},{100 + d + m},S{d % 2}\n" for y in (2022, 2023, 2024)
        for m in range(1, 13) for d in (1, 15)))
    path = write_config({"sources": [{"table": "orders", "path": str(orders),
                                      "columns": {"order_date": "date", "amount": "amount",
                                                  "store": "store"}}],
                         "features": {"series": {"grains": [[], ["store"]], "freq": "M"}},
                         "revenue": {"horizon": "3M", "candidates": ["naive", "seasonal_naive"],
                                     "eval_folds": 1, "selection_folds": 1, "min_history": 6}})
    result = CliRunner().invoke(main, ["run", "--config", str(path), "--until", "score churn",
                                       "--json"])
    assert result.exit_code == 0, result.output
    steps = {s["step"]: s for s in json.loads(result.stdout)["steps"]}
    assert steps["train churn"]["status"] == "not applicable"
    assert "customer_id" in steps["train churn"]["reason"]
    assert steps["ingest"]["status"] == "ran"
    # Each step is announced as it starts, in the log (stderr is not a terminal here).
    order = list(steps)
    for index, name in enumerate(order):
        assert f"chain steps: {index} of {len(order)}, {name}\n" in result.stderr, name
    assert f"chain steps: {len(order)} of {len(order)}\n" in result.stderr


def test_an_unknown_step_is_refused(tmp_path, write_config):
    path = write_config({"sources": []})
    result = CliRunner().invoke(main, ["run", "--config", str(path), "--until", "bake"])
    assert result.exit_code == 2 and "unknown step 'bake'" in result.output
