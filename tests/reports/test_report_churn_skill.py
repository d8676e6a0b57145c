"""A churn model that ranks customers no better than chance is said to in both reports' summary
and at-risk sections, in English and Chinese; a model with skill shows its ROC-AUC only.

Regression: on Superstore by quarter the churn model's held-out ROC-AUC was 0.514 (95 %
interval 0.486 to 0.542), yet the reports opened with "190 customers are at high risk of
churning" and listed the riskiest customers with reasons as if the model had singled them out.
"""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest

from forecast.io import churn_skill as skill_table
from forecast.io.report_reads import Warehouse, churn_skill
from forecast.pipeline import build_monthly_report, build_risk_report
from forecast.reports.document import find_section, metric_values

CHANCE = {"roc_auc": 0.514, "roc_auc_low": 0.486, "roc_auc_high": 0.542, "rows": 1600.0,
          "base_rate": 0.51}
SKILLED = {"roc_auc": 0.81, "roc_auc_low": 0.78, "roc_auc_high": 0.84, "rows": 1600.0,
           "base_rate": 0.3}


def _record(config, skill: dict, run_key: str = "fixture") -> None:
    """The skill of scoring run ``run_key``, as `forecast score churn` records it."""
    with duckdb.connect(str(config.workspace / "warehouse.duckdb")) as con:
        skill_table.record_skill(con, run_key, skill)


def _report(build, config, lang: str) -> dict:
    result = build(config, lang=lang, formats=["json"])
    return json.loads(Path(result.files["json"]).read_text(encoding="utf-8"))


def test_the_skill_of_the_run_that_wrote_the_latest_scores_is_read(synthetic_config):
    _record(synthetic_config, SKILLED, "an older run")
    _record(synthetic_config, CHANCE)
    _record(synthetic_config, CHANCE)  # a run scored again keeps one row
    with duckdb.connect(str(synthetic_config.workspace / "warehouse.duckdb")) as con:
        assert con.execute("SELECT count(*) FROM churn_score_skill").fetchone()[0] == 2
        assert churn_skill(Warehouse(con)) == pytest.approx(CHANCE)


@pytest.mark.parametrize("build", [build_risk_report, build_monthly_report])
def test_a_model_without_skill_is_said_to_rank_no_better_than_chance(synthetic_config, build):
    _record(synthetic_config, CHANCE)
    en, zh = _report(build, synthetic_config, "en"), _report(build, synthetic_config, "zh")
    key = "at_risk" if build is build_risk_report else "customers"
    section = find_section(en, key)
    assert metric_values(section)["churn_model_auc"] == pytest.approx(0.514)
    assert ("The churn model ranks customers no better than chance on held-out data (ROC-AUC "
            "0.514, 95% interval 0.486 to 0.542)") in section["note"]
    summary = " ".join(find_section(en, "summary")["paragraphs"])
    assert "but the churn model ranks customers no better than chance (held-out ROC-AUC 0.514)" \
        in summary
    assert "at high risk of churning" not in summary
    assert "流失模型在留出数据上的客户排序不优于随机" in find_section(zh, key)["note"]
    assert "该分层并不能区分出这些客户" in " ".join(find_section(zh, "summary")["paragraphs"])


def test_a_model_with_skill_shows_its_auc_only(synthetic_config):
    _record(synthetic_config, SKILLED)
    report = _report(build_risk_report, synthetic_config, "en")
    section = find_section(report, "at_risk")
    assert metric_values(section)["churn_model_auc"] == pytest.approx(0.81)
    assert "no better than chance" not in section["note"]
    assert "at high risk of churning" in " ".join(find_section(report, "summary")["paragraphs"])
