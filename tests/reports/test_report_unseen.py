"""The risk report's model-health section counts the scored rows whose category the churn model
never saw in training, per feature, in English and Chinese."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest

from forecast.pipeline import build_risk_report
from forecast.reports.document import find_section, find_table, metric_values


def _add_unseen(config, rows: list[tuple]) -> int:
    """Unseen-category counts ``(run_key, chunk, feature, rows)`` at the scoring cutoff, as
    `forecast score churn` records them; returns the customers scored at that cutoff."""
    with duckdb.connect(str(config.workspace / "warehouse.duckdb")) as con:
        con.execute("CREATE TABLE churn_score_unseen (run_key VARCHAR, cutoff DATE, "
                    "chunk BIGINT, feature VARCHAR, rows BIGINT)")
        con.executemany("INSERT INTO churn_score_unseen VALUES (?, DATE '2026-11-01', ?, ?, ?)",
                        rows)
        return con.execute("SELECT count(*) FROM churn_scores").fetchone()[0]


def _health(config, lang: str) -> dict:
    result = build_risk_report(config, lang=lang, formats=["json"])
    report = json.loads(Path(result.files["json"]).read_text(encoding="utf-8"))
    return find_section(report, "model_health")


def test_unseen_categories_per_feature_in_english_and_chinese(synthetic_config):
    scored = _add_unseen(synthetic_config, [
        ("fixture", 0, "segment", 12), ("fixture", 0, "region", 0),
        ("fixture", 1, "segment", 3), ("fixture", 1, "region", 0),
        ("an older run", 0, "region", 99)])  # not the run whose scores are in churn_scores
    en, zh = _health(synthetic_config, "en"), _health(synthetic_config, "zh")
    assert metric_values(en)["unseen_features"] == metric_values(zh)["unseen_features"] == 1
    table = find_table(en, "unseen_categories")
    assert table["rows"] == [{"feature": "segment", "rows": 15, "share": pytest.approx(
        15 / scored)}]
    assert table["title"] == "Categories the churn model never saw in training"
    assert find_table(zh, "unseen_categories")["title"] == "流失模型训练中未见过的类别"
    assert find_table(zh, "unseen_categories")["rows"] == table["rows"]
    assert ("Customers scored on 1 Nov 2026 with a category the churn model never saw in "
            "training: segment 15. The model treats such a value as unknown") in en["note"]
    assert "2026年11月1日评分的客户中，含流失模型训练中未见过类别的客户数：客户类型 15。" in zh["note"]
    assert {m["label"] for m in zh["metrics"] if m["key"] == "unseen_features"} == {
        "含未见类别的特征数"}


def test_no_unseen_category_says_so(synthetic_config):
    _add_unseen(synthetic_config, [("fixture", 0, "segment", 0)])
    health = _health(synthetic_config, "en")
    assert metric_values(health)["unseen_features"] == 0
    assert "unseen_categories" not in [t["key"] for t in health["tables"]]
    assert ("Every category scored on 1 Nov 2026 was seen when the churn model was trained."
            in health["note"])


def test_scores_without_unseen_counts_show_nothing_about_them(synthetic_config):
    health = _health(synthetic_config, "en")
    assert "unseen_features" not in metric_values(health)
