"""Names a reader understands: the backtest table's columns have labels and one line of
definition each, and "key account" as a segment, as a value tier and as the key accounts of the
customer distribution are three labels, so nobody compares their revenue."""

from __future__ import annotations

import json
import re
from pathlib import Path

import duckdb
import pytest

from forecast.pipeline import build_monthly_report, build_risk_report
from forecast.reports.document import find_section, find_table
from forecast.reports.i18n import Locale

RAW = {"model", "grain", "n", "wape", "smape", "bias", "coverage_80", "coverage_95"}


def _load(result) -> dict:
    return json.loads(Path(result.files["json"]).read_text(encoding="utf-8"))


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_backtest_columns_have_labels_and_definitions(synthetic_config, lang):
    health = find_section(_load(build_risk_report(synthetic_config, lang=lang)), "model_health")
    table = find_table(health, "backtest")
    labels = {c["key"]: c["label"] for c in table["columns"]}
    assert set(labels) == RAW
    assert not set(labels.values()) & RAW, labels
    terms = find_table(health, "backtest_terms")
    assert [r["term"] for r in terms["rows"]] == [
        labels[k] for k in ("n", "wape", "smape", "bias", "coverage_80", "coverage_95")]
    assert all(len(r["definition"]) > 20 for r in terms["rows"])
    loc = Locale(lang)
    if lang == "en":
        assert labels["coverage_80"] == "Coverage of the 80% interval"
        assert terms["rows"][1]["definition"].startswith("Sum |actual - forecast| / sum |actual|")
    else:
        assert labels["coverage_80"] == "80%区间覆盖率" and labels["model"] == "模型"
    shown = {loc.cell(r["model"], table["columns"][0]) for r in table["rows"]}
    assert shown == ({"seasonal naive (same period last year)", "Prophet"} if lang == "en"
                     else {"季节朴素法（去年同期）", "Prophet模型"})
    grains = {loc.cell(r["grain"], table["columns"][1]) for r in table["rows"]}
    assert grains == ({"total", "Region"} if lang == "en" else {"合计", "区域"})


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_key_account_is_labelled_by_its_concept(synthetic_config, lang):
    with duckdb.connect(str(synthetic_config.workspace / "warehouse.duckdb")) as con:
        con.execute("CREATE TABLE customer_tiers AS SELECT customer_id, CASE WHEN "
                    "row_number() OVER (ORDER BY customer_id) <= 30 THEN 'key account' ELSE "
                    "'regular' END AS value_tier FROM customers")
    loc = Locale(lang)
    monthly = _load(build_monthly_report(synthetic_config, "2026-10", lang=lang))
    segment = find_table(find_section(monthly, "contribution"), "segment")
    accounts = find_table(find_section(monthly, "customers_mix"), "accounts")
    risk = _load(build_risk_report(synthetic_config, lang=lang))
    value_risk = find_table(find_section(risk, "at_risk"), "value_risk")

    def shown(table: dict) -> set[str]:
        return {loc.cell(r["value" if "value" in r else "value_tier"], table["columns"][0])
                for r in table["rows"]}

    names = [shown(segment), shown(accounts), shown(value_risk)]
    keyish = [{n for n in group if re.search("key account|Key account|大客户", n)}
              for group in names]
    assert all(len(k) == 1 for k in keyish), keyish
    assert len(set.union(*keyish)) == 3, keyish  # three concepts, three labels
    if lang == "en":
        assert keyish == [{"key account (segment)"}, {"Key accounts (value tier)"},
                          {"key account (value tier)"}]
    heatmap = find_section(risk, "at_risk")["charts"][0]
    assert keyish[2] <= set(heatmap["rows"])
    # The raw values stay in the JSON for programs.
    assert {r["value"] for r in accounts["rows"]} == {"key account", "other"}
