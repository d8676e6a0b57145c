"""``forecast report monthly|risk`` through click's CliRunner."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from forecast.cli import main


@pytest.fixture
def config_file(synthetic_config, tmp_path) -> Path:
    path = tmp_path / "synthetic.yaml"
    raw = synthetic_config.model_dump(mode="json", exclude_defaults=True)
    raw["reports"] = {"company": "Acme", "currency": "$"}
    path.write_text(yaml.safe_dump(raw), encoding="utf-8")
    return path


def test_monthly_prints_one_json_object_and_writes_the_chosen_formats(config_file, tmp_path):
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["report", "monthly", "--config", str(config_file),
                                       "--month", "2026-10", "--format", "json, MD",
                                       "--out", str(out), "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["month"] == "2026-10" and summary["omitted"] == []
    assert sorted(Path(p).name for p in summary["files"].values()) == [
        "monthly-2026-10.json", "monthly-2026-10.md"]
    report = json.loads((out / "monthly-2026-10.json").read_text(encoding="utf-8"))
    assert report["title"] == "Acme: Monthly sales report, October 2026"
    revenue = {m["key"]: m["value"] for m in report["sections"][1]["metrics"]}
    assert summary["headline"]["revenue"] == revenue["revenue"]
    assert "$" in (out / "monthly-2026-10.md").read_text(encoding="utf-8")


def test_monthly_defaults_to_the_last_complete_month_and_the_config_formats(config_file):
    result = CliRunner().invoke(main, ["report", "monthly", "--config", str(config_file)])
    assert result.exit_code == 0, result.output
    assert "built the monthly report 2026-10" in result.stdout
    assert result.stdout.count("file: ") == 4


@pytest.mark.parametrize(("args", "message"), [
    (["--month", "2030-01"], "error: no orders in 2030-01: the orders run from"),
    (["--month", "2026-13"], "error: month '2026-13' is not a month written as YYYY-MM"),
])
def test_bad_months_are_errors_without_tracebacks(config_file, args, message):
    result = CliRunner().invoke(main, ["report", "monthly", "--config", str(config_file), *args])
    assert result.exit_code == 2
    # The error is the last line on stderr (progress lines of the report may come before it).
    assert result.stderr.splitlines()[-1].startswith(message)
    assert "Traceback" not in result.output


def test_an_unknown_format_is_a_usage_error(config_file):
    result = CliRunner().invoke(main, ["report", "risk", "--config", str(config_file),
                                       "--format", "html,docx"])
    assert result.exit_code == 2
    assert "give a comma-separated list of html, md, json, xlsx, pdf" in result.stderr


def test_a_workspace_without_a_warehouse_is_an_error(config_file, tmp_path):
    result = CliRunner().invoke(main, ["report", "risk", "--config", str(config_file),
                                       "--workspace", str(tmp_path / "empty")])
    assert result.exit_code == 2
    assert result.stderr.splitlines()[-1].startswith("error: no warehouse at")


def test_risk_in_chinese(config_file, tmp_path):
    result = CliRunner().invoke(main, ["report", "risk", "--config", str(config_file),
                                       "--lang", "zh", "--format", "json", "--json",
                                       "--out", str(tmp_path / "r")])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    path = Path(summary["files"]["json"])
    assert path.name == "risk-2026-10-31.zh.json"
    report = json.loads(path.read_text(encoding="utf-8"))
    assert report["title"] == "Acme风险报告"
    assert [s["title"] for s in report["sections"]][:3] == ["摘要", "风险客户", "集中度风险"]
    assert summary["omitted"] == []


def test_chinese_report_in_wan_yuan_from_the_config(synthetic_config, tmp_path):
    path = tmp_path / "zh.yaml"
    raw = synthetic_config.model_dump(mode="json", exclude_defaults=True)
    raw["reports"] = {"lang": "zh", "currency_unit": "wan", "formats": ["md", "json"]}
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    result = CliRunner().invoke(main, ["report", "monthly", "--config", str(path), "--json"])
    assert result.exit_code == 0, result.output
    files = json.loads(result.stdout)["files"]
    report = json.loads(Path(files["json"]).read_text(encoding="utf-8"))
    revenue = {m["key"]: m["value"] for m in report["sections"][1]["metrics"]}["revenue"]
    md = Path(files["md"]).read_text(encoding="utf-8")
    assert f"| 本月收入 | {revenue / 10_000:,.2f}万元 |" in md
    assert md.startswith("# 2026年10月销售月报")
