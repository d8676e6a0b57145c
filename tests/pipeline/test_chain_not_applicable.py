"""`forecast run` goes on past a step the data cannot support.

A step that raises DataError is "not applicable" with its message; the steps that need it are
too ("needs <step>: ..."); a step that reads its output only optionally runs and is told what
is missing and why; every other step runs. Other errors still stop the run. The chain's
mechanics are checked on small declared steps; the end-to-end test is a young company whose
history is too short for the revenue backtest and whose churn labels are not known yet.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner
from synthetic_company import company_config

from forecast.cli import main
from forecast.config import Config, SynthOptions
from forecast.errors import ConfigError, DataError
from forecast.io import catalog, warehouse
from forecast.io.catalog import Dataset
from forecast.pipeline import chain
from forecast.pipeline.reports import MONTHLY_SECTIONS
from forecast.pipeline.results import Result
from forecast.pipeline.steps import Step
from forecast.reports.i18n import Locale
from forecast.reports.missing import missing_notes

BASE, FITTED = Dataset("t_base", "test table"), Dataset("t_fitted", "test table")
TOO_SHORT = "the history is too short for this"


@dataclass(frozen=True)
class Wrote(Result):
    """A test step's summary: the files it wrote."""

    files: Mapping[str, str] = field(default_factory=dict)


def _write(config: Config, dataset: Dataset) -> Wrote:
    with warehouse.connect(config.workspace, create=True) as con:
        con.execute(f"CREATE OR REPLACE TABLE {dataset.sql} AS SELECT 1 AS x")
    path = Path(config.workspace) / "outputs" / f"{dataset.name}.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("x\n1\n")
    return Wrote({"csv": str(path)})


@pytest.fixture
def steps(monkeypatch):
    """Declared steps: ``base`` writes a table, ``fit`` reads it and raises DataError while
    ``fits["ok"]`` is false, ``use`` needs what ``fit`` writes, ``report`` reads it optionally.
    Returns the calls made and the switch."""
    calls: list = []
    fits = {"ok": False}

    def fit(config):
        calls.append("fit")
        if not fits["ok"]:
            raise DataError(TOO_SHORT)
        return _write(config, FITTED)

    def report(config, missing):
        calls.append(("report", dict(missing)))
        return Wrote()

    declared = (
        Step("base", lambda c: calls.append("base") or _write(c, BASE), writes=(BASE,)),
        Step("fit", fit, (BASE,), (FITTED,), ("description",)),
        Step("use", lambda c: calls.append("use") or Wrote(), (FITTED,)),
        Step("report", report, (BASE,), optional=(FITTED,)),
    )
    monkeypatch.setattr(chain, "STEPS", declared)
    return calls, fits


def _statuses(result) -> dict[str, tuple[str, str | None]]:
    return {s["step"]: (s["status"], s.get("reason")) for s in result.steps}


def test_a_data_error_marks_the_step_and_what_needs_it_not_applicable(steps, tmp_path):
    calls, _ = steps
    result = chain.run_chain(Config(workspace=tmp_path / "ws", sources=[]))
    assert _statuses(result) == {
        "base": ("ran", None), "fit": ("not applicable", TOO_SHORT),
        "use": ("not applicable", f"needs fit: {TOO_SHORT}"), "report": ("ran", None)}
    assert calls == ["base", "fit", ("report", {"t_fitted": ("fit", TOO_SHORT)})]
    ran = {s["step"]: s for s in result.steps}
    assert ran["report"]["missing"] == {"t_fitted": f"fit: {TOO_SHORT}"}


def test_an_unchanged_step_that_was_not_applicable_is_not_run_again(steps, tmp_path):
    calls, _ = steps
    config = Config(workspace=tmp_path / "ws", sources=[])
    chain.run_chain(config)
    calls.clear()
    again = chain.run_chain(config)
    assert calls == []
    assert _statuses(again) == {
        "base": ("unchanged", None), "fit": ("not applicable", TOO_SHORT),
        "use": ("not applicable", f"needs fit: {TOO_SHORT}"), "report": ("unchanged", None)}


def test_what_a_step_left_before_it_became_not_applicable_is_removed(steps, tmp_path):
    calls, fits = steps
    fits["ok"] = True
    config = Config(workspace=tmp_path / "ws", sources=[])
    first = chain.run_chain(config)
    assert {s["status"] for s in first.steps} == {"ran"}
    csv = tmp_path / "ws" / "outputs" / "t_fitted.csv"
    assert csv.is_file()
    fits["ok"] = False
    changed = Config(workspace=tmp_path / "ws", sources=[], description="shorter data")
    result = chain.run_chain(changed)
    fit = next(s for s in result.steps if s["step"] == "fit")
    assert fit["status"] == "not applicable"
    assert fit["removed"] == [str(csv), "t_fitted"]
    assert not csv.exists()
    with warehouse.connect(config.workspace, read_only=True) as con:
        assert not catalog.exists(con, FITTED) and catalog.exists(con, BASE)
    # The report ran again: what it is told is missing changed.
    assert ("report", {"t_fitted": ("fit", TOO_SHORT)}) in calls
    assert _statuses(result)["report"] == ("ran", None)


def test_any_other_error_still_stops_the_run(monkeypatch, tmp_path):
    def broken(config):
        raise ConfigError("revenue.horizon: not a horizon")

    monkeypatch.setattr(chain, "STEPS", (Step("base", broken, writes=(BASE,)),))
    with pytest.raises(ConfigError, match="not a horizon"):
        chain.run_chain(Config(workspace=tmp_path / "ws", sources=[]))


def test_the_note_of_a_missing_input_is_in_both_languages():
    missing = {"revenue_forecast_periods": ("train revenue", "history too short."),
               "series": ("series", "not shown by any section")}
    en = missing_notes(missing, MONTHLY_SECTIONS, Locale())
    zh = missing_notes(missing, MONTHLY_SECTIONS, Locale("zh"))
    assert en == {"next_month": "No revenue forecast: the step 'train revenue' could not run "
                                "on this data (history too short)."}
    assert list(zh) == ["next_month"]
    assert zh["next_month"].startswith("没有收入预测") and "train revenue" in zh["next_month"]


@pytest.fixture(scope="module")
def young_company(tmp_path_factory):
    """The synthetic company's last ten weeks of orders (11 weekly periods), snapshots at two
    cutoffs whose 90-day churn labels run past the data, and a backtest set to 2 + 2 folds."""
    root = tmp_path_factory.mktemp("young")
    config = company_config(root, SynthOptions(customers=80, years=1, seed=3),
                            {"column": "order_date", "op": "ge", "value": "2026-08-20"})
    config["features"]["series"]["grains"] = [[], ["region"]]
    config["features"]["customers"]["cutoffs"] = ["2026-10-01", "2026-11-01"]
    config["revenue"] = {"horizon": "13W", "candidates": ["naive", "seasonal_naive"],
                         "eval_folds": 2, "selection_folds": 2}
    config["churn"] = {"candidates": ["logistic"], "blend": False, "splines": False,
                       "calibration": "none"}
    path = root / "young.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def test_a_young_company_runs_every_step_its_data_support(young_company):
    result = CliRunner().invoke(main, ["run", "--config", str(young_company), "--json"])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    steps = {s["step"]: s for s in payload["steps"]}
    status = {name: s["status"] for name, s in steps.items()}
    assert status == {
        "ingest": "ran", "series": "ran", "customer snapshots": "ran",
        "train revenue": "not applicable", "predict revenue": "not applicable",
        "train churn": "not applicable", "score churn": "not applicable", "tiers": "ran",
        "targets": "not applicable", "funnel": "ran", "attainment": "ran",
        "monthly report": "ran", "risk report": "not applicable"}
    assert steps["train revenue"]["reason"].startswith("revenue backtest: selection_folds=2, "
                                                       "eval_folds=2 needs")
    assert steps["predict revenue"]["reason"].startswith("needs train revenue: revenue backtest")
    assert "0 churners and 0 stayers" in steps["train churn"]["reason"]
    assert steps["targets"]["reason"].startswith("needs predict revenue: ")
    assert steps["risk report"]["reason"].startswith("needs score churn: needs train churn: ")
    assert set(steps["monthly report"]["missing"]) == {
        "revenue_forecast_periods", "targets_plan", "churn_scores"}
    assert steps["tiers"]["summary"]["risk"]["table"] is None

    report = json.loads(Path(next(p for p in payload["reports"] if p.endswith(".json")))
                        .read_text(encoding="utf-8"))
    sections = {s["key"]: s for s in report["sections"]}
    assert sections["next_month"]["status"] == "omitted"
    assert sections["next_month"]["note"].startswith(
        "No revenue forecast: the step 'train revenue' could not run on this data (revenue "
        "backtest: ")
    assert "No churn scores: the step 'train churn' could not run on this data" in \
        sections["customers"]["note"]


def test_a_second_run_skips_what_ran_and_prints_what_is_not_applicable(young_company):
    runner = CliRunner()
    first = runner.invoke(main, ["run", "--config", str(young_company)])
    assert first.exit_code == 0, first.output
    result = runner.invoke(main, ["run", "--config", str(young_company)])
    assert result.exit_code == 0, result.output
    text = result.stdout
    assert "train revenue        not applicable  revenue backtest: selection_folds=2" in text
    assert "risk report          not applicable  needs score churn: " in text
    assert "monthly report       unchanged" in text
    assert "tiers                unchanged" in text


def test_without_snapshot_cutoffs_the_chain_chooses_them_and_goes_on(young_company, tmp_path):
    # Before, a config without features.customers.cutoffs stopped the whole run (exit 2) at
    # the customer snapshots: "give at least one cutoff date for customer snapshots".
    config = yaml.safe_load(young_company.read_text())
    config["features"]["customers"].pop("cutoffs")
    config["workspace"] = str(tmp_path / "ws")
    path = tmp_path / "no_cutoffs.yaml"
    path.write_text(yaml.safe_dump(config))
    result = CliRunner().invoke(main, ["run", "--config", str(path), "--json",
                                       "--until", "score churn"])
    assert result.exit_code == 0, result.output
    steps = {s["step"]: s for s in json.loads(result.stdout)["steps"]}
    snapshots = steps["customer snapshots"]
    assert snapshots["status"] == "ran"
    assert snapshots["summary"]["cutoffs_from"].startswith("the data")
    # Ten weeks of orders: only the scoring cutoff, so no labelled snapshot to train on.
    assert [c["cutoff"] for c in snapshots["summary"]["cutoffs"]] == ["2026-11-01"]
    assert steps["train churn"]["status"] == "not applicable"
    assert "too little time for churn training" in steps["train churn"]["reason"]
    assert steps["score churn"]["status"] == "not applicable"
