"""One formatting rule per kind of number, in each language, everywhere in the reports: every
metric card and table cell of the monthly and risk reports (English and Chinese, amounts in full
and in 万元) reads as its kind's rule says, and no sentence shows "0.00"-style padding."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from test_report_zh_complete import enrich, visible_text

from forecast.config import ReportsConfig
from forecast.pipeline import build_monthly_report, build_risk_report
from forecast.reports.i18n import MISSING, Locale

MONEY = r"-?\$?[\d,]+(元)?"
RULES = {
    "money": MONEY, "signed_money": r"[+-]?\$?[\d,]+(元)?", "count": r"[\d,]+",
    "pct": r"-?[\d,]+\.\d%", "prob": r"\d+%", "signed_pct": r"[+-][\d,]+\.\d%",
    "points": r"[+-]\d+\.\d( pts|个百分点)", "days": r"[\d,]+|\d\.[1-9]",
    "ratio": r"-?\d+\.\d{3}", "number": r"-?[\d,]+(\.\d?[1-9])?",
}
WAN = {"money": r"-?[\d,]+\.\d\d万元", "signed_money": r"[+-]?[\d,]+\.\d\d万元"}


def _shown(report: dict, loc: Locale) -> list[tuple[str, str, str]]:
    """(kind, text, where) of every metric and numeric table cell."""
    out = []
    for s in report["sections"]:
        out += [(m["kind"], loc.format(m["value"], m["kind"]), f"{s['key']}.{m['key']}")
                for m in s["metrics"] if m["value"] is not None]
        for t in s["tables"]:
            out += [(c["kind"], loc.cell(r.get(c["key"]), c), f"{s['key']}.{t['key']}.{c['key']}")
                    for r in t["rows"] for c in t["columns"] if r.get(c["key"]) is not None]
    return [(k, text, where) for k, text, where in out if k in RULES]


@pytest.mark.parametrize(("lang", "unit"), [("en", "yuan"), ("zh", "yuan"), ("zh", "wan")])
def test_every_number_follows_the_rule_of_its_kind(synthetic_config, tmp_path, lang, unit):
    enrich(synthetic_config.workspace / "warehouse.duckdb")
    config = synthetic_config.model_copy(update={"reports": ReportsConfig(
        formats=["json", "html"], currency="$" if lang == "en" else "", currency_unit=unit)})
    loc = Locale(lang, config.reports.currency, unit)
    results = [build_monthly_report(config, "2026-10", lang=lang, out_dir=tmp_path),
               build_risk_report(config, lang=lang, out_dir=tmp_path)]
    checked = set()
    for result in results:
        report = json.loads(Path(result.files["json"]).read_text(encoding="utf-8"))
        for kind, text, where in _shown(report, loc):
            rule = (WAN if unit == "wan" else {}).get(kind, RULES[kind])
            assert text == MISSING[lang] or re.fullmatch(rule, text), (where, kind, text)
            checked.add(kind)
        page = "\n".join(visible_text(Path(result.files["html"]).read_text(encoding="utf-8")))
        padded = re.findall(r"[^\n]{0,40}\d\.00(?!\d)[^\n]{0,20}", page)
        assert unit == "wan" or not padded, padded
    assert {"money", "count", "pct", "ratio", "days", "number", "prob"} <= checked


def test_locale_rules():
    en, zh = Locale(currency="$"), Locale("zh", unit="wan")
    assert [en.money(v) for v in (1276254.4, 90.5, 0.0, -0.2)] == ["$1,276,254", "$90", "$0",
                                                                    "$0"]
    assert zh.money(1276254.4) == "127.63万元"
    assert [en.number(v) for v in (10.0, 90.5, 10.64, 0.0)] == ["10", "90.5", "10.64", "0"]
    assert [en.days(v) for v in (10.0, 12.4, 2.5, 3.0)] == ["10", "12", "2.5", "3"]
    assert [en.ratio(v) for v in (0.0937, 0.25)] == ["0.094", "0.250"]
    assert en.grain("region|channel") == "Region x Channel" and zh.grain("total") == "合计"
    assert zh.feature("recency_days") == "距末次下单天数"
    assert en.feature("revenue_90d") == "revenue 90d"
