"""Churn reasons counted by group: each group named in words (English and Chinese) with the
typical values of its customers, never by a template with placeholders."""

from __future__ import annotations

import re

import pandas as pd
import pytest

from forecast.reports.i18n import Locale
from forecast.reports.reason_groups import GROUPS, reason_groups

# One sentence of every wording of forecast.models.reason_rules.
EVERY_WORDING = [
    "no order for 120 days, 2.5x the usual interval",
    "no order for 120 days, typical 45",
    "orders in the last 90 days fell 40% vs the 90 days before",
    "revenue in the last 90 days fell 35% vs the 90 days before",
    "satisfaction fell from 8.0 to 5.5",
    "satisfaction score 4.5, below the typical 7.5",
    "no satisfaction survey answered for 400 days, typical 60",
    "bought 1 product line(s) in the last 90 days vs 3 before",
    "orders every 45 days on average, typical 20",
    "has bought on only one day so far",
    "a customer for only 40 days, typical 600",
    "average order 120, typical 800",
    "returned 12% of purchase value, typical 1%",
    "gross margin 5%, typical 30%",
    "buys mostly online (80% of revenue)",
    "no open sales opportunities, typical 1",
    "3 open sales opportunities, typical 1",
    "in the small segment, riskier than key account",
    "in region West, riskier than East",
    "in the hospitality industry, riskier than retail",
    "revenue 90d is 0, typical 66.12",
    "days since survey is 102, typical 61",
]
PLACEHOLDER = re.compile(r"#|\{|\}")


def _frame(reasons: list[list[str | None]]) -> pd.DataFrame:
    return pd.DataFrame(reasons, columns=["reason_1", "reason_2", "reason_3"])


def test_groups_are_named_in_words_with_medians_of_their_values():
    reasons = _frame([
        ["no order for 100 days, 2.0x the usual interval", "days since survey is 90, typical 61",
         None],
        ["no order for 300 days, 3.0x the usual interval", None, None],
        ["no order for 200 days, 6.0x the usual interval", "industry is retail", None],
        ["in the hospitality industry, riskier than retail", "industry is retail", None],
    ])
    out = reason_groups(reasons, Locale()).set_index("reason")
    first = out.loc["Long silence against the usual order interval"]
    assert (first["customers"], first["share"]) == (3, 0.75)
    assert first["typical"] == "median 200 days without an order, 3x the usual interval"
    assert out.loc["Unusual days since survey", "typical"] == "median 90 (usual 61)"
    assert out.loc["Riskier industry", "typical"] == "mostly hospitality (against retail)"
    assert out.loc["Unusual industry", "customers"] == 2
    assert out.index[0] == "Long silence against the usual order interval"
    zh = reason_groups(reasons, Locale("zh")).set_index("reason")
    assert zh.loc["未下单时间远超通常下单间隔", "typical"] == \
        "中位数：200天未下单，为通常间隔的3倍"
    assert zh.loc["所在行业风险较高", "typical"] == "多为酒店业（对比零售业）"


def test_a_customer_counts_once_per_group():
    reasons = _frame([["orders in the last 90 days fell 40% vs the 90 days before",
                       "orders in the last 30 days fell 10% vs the 30 days before",
                       "no open sales opportunities, typical 1"],
                      ["3 open sales opportunities, typical 1", None, None]])
    out = reason_groups(reasons, Locale()).set_index("reason")
    assert out.loc["Falling orders over 90 days", "customers"] == 1
    assert out.loc["Falling orders over 30 days", "customers"] == 1
    few = out.loc["Few open sales opportunities"]
    assert (few["customers"], few["typical"]) == (2, "median 1.5 open (usual 1)")


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_every_wording_has_a_group_named_without_placeholders(lang):
    out = reason_groups(_frame([[text, None, None] for text in EVERY_WORDING]), Locale(lang))
    assert out["customers"].sum() == len(EVERY_WORDING)
    for name, typical in zip(out["reason"], out["typical"], strict=True):
        assert not PLACEHOLDER.search(name) and not PLACEHOLDER.search(typical), (name, typical)
        if lang == "zh":
            words = re.sub(r"West|East", "", name + typical)  # data values keep their words
            assert not re.search(r"[A-Za-z]{2,}", words), (name, typical)
    named = {g.key for g in GROUPS}
    assert len(named) == len(GROUPS)
