"""Every string a reader sees in a Chinese report is Chinese.

The synthetic company gets every result table a report shows (churn scores with reasons of every
wording, a funnel conversion table, a targets plan, customer snapshots at two cutoffs and the
scoring run's unseen categories), then the monthly and risk reports are built in Chinese and
their JSON and HTML walked: any English word outside the data's own values (region, product and
customer names) and a short allow-list (metric and method names, config keys and commands the
reader types) fails the test, with the sentence it sits in.
"""

from __future__ import annotations

import html
import json
import re
from pathlib import Path

import duckdb
import pytest
from test_report_reason_groups import EVERY_WORDING

from forecast.pipeline import build_monthly_report, build_risk_report
from forecast.reports.glossary import VALUES

# Metric, index and method names (kept in Chinese reports as in Chinese BI tools), units.
ALLOWED = {"HHI", "PSI", "WAPE", "sMAPE", "MAPE", "MASE", "RMSSE", "ECE", "Brier", "ABC", "P10",
           "Prophet", "Croston", "SBA", "TSB", "ADIDA", "IMAPA", "ln"}
# What a reader types: config keys (reports.rules), commands (forecast score churn), tables.
TYPED = re.compile(r"\b[a-z_]+\.[a-z_]+\b|\bforecast(?: [a-z]+){1,2}\b|\bcustomer_tiers\b"
                   r"|\btargets\b|\bopportunities\b")
# A word of two letters or more (single letters are a formula's symbols: N(...), P0_i, L + 90).
WORD = re.compile(r"[A-Za-z]{2,}[A-Za-z_]*")
FEATURES = ("recency_days", "revenue_90d", "orders_trend_90d", "satisfaction_latest",
            "days_since_survey", "monetary_mean")


def enrich(path: Path) -> None:
    """Add every result table the reports show to the warehouse at ``path``."""
    wordings = ", ".join(f"'{w}'" for w in EVERY_WORDING)
    n = len(EVERY_WORDING)
    features = ", ".join(f"(hash(customer_id || '{f}') % 1000) / 10.0 AS {f}"
                         for f in FEATURES)
    with duckdb.connect(str(path)) as con:
        con.execute(f"""
            UPDATE churn_scores SET
              reason_1 = list_extract([{wordings}], 1 + CAST(hash(customer_id) % {n} AS INT)),
              reason_2 = list_extract([{wordings}], 1 + CAST(hash(customer_id || 'b') % {n}
                                                                AS INT)),
              reason_3 = list_extract([{wordings}], 1 + CAST(hash(customer_id || 'c') % {n}
                                                                AS INT))""")
        con.execute("""
            CREATE TABLE funnel_conversion AS SELECT * FROM (VALUES
              ('initial contact', 0, 400, 0.6, 12.0, 0.2, DATE '2026-10-31'),
              ('needs analysis', 1, 240, 0.7, 9.5, 0.33, DATE '2026-10-31'),
              ('proposal', 2, 168, 0.75, 14.0, 0.47, DATE '2026-10-31'),
              ('negotiation', 3, 126, 0.62, 7.25, 0.62, DATE '2026-10-31'),
              ('won', 4, 78, NULL, NULL, 1.0, DATE '2026-10-31'))
              t(stage, stage_order, reached, conversion, median_days, p_win, as_of)""")
        con.execute("""
            CREATE TABLE targets_plan AS
            SELECT 'company' AS level, 'total' AS unit_id, 'month' AS span,
                   CAST(m AS TIMESTAMP) AS "start", 300000.0 AS base, 320000.0 AS stretch,
                   310000.0 AS target, 0.45 AS probability
            FROM (VALUES (DATE '2026-11-01'), (DATE '2026-12-01'), (DATE '2027-01-01'),
                         (DATE '2027-02-01'), (DATE '2027-03-01')) v(m)""")
        con.execute(f"""
            CREATE TABLE customer_snapshots AS
            SELECT customer_id, CAST(c AS TIMESTAMP) AS cutoff, {features},
                   hash(customer_id) % 3 = 0 AS churned, TRUE AS label_complete
            FROM customers, (VALUES (DATE '2026-05-01'), (DATE '2026-11-01')) v(c)""")
        con.execute("""
            CREATE TABLE churn_score_unseen AS
            SELECT 'fixture' AS run_key, TIMESTAMP '2026-11-01' AS cutoff, 0 AS chunk, *
            FROM (VALUES ('industry', 4), ('region', 0)) t(feature, rows)""")


def data_values(path: Path) -> set[str]:
    """Every text value of the canonical tables the reports may quote, except the canonical
    values that have a Chinese name (those must be translated)."""
    values: set[str] = set()
    with duckdb.connect(str(path), read_only=True) as con:
        for table, column in con.execute(
                "SELECT table_name, column_name FROM information_schema.columns WHERE "
                "data_type = 'VARCHAR' AND table_name IN ('orders', 'customers', 'targets', "
                "'opportunities')").fetchall():
            values |= {v for (v,) in con.execute(
                f'SELECT DISTINCT "{column}" FROM "{table}" WHERE "{column}" IS NOT NULL')
                .fetchall()}
    return {v for v in values if f"v:{v}" not in VALUES}


def visible_text(page: str) -> list[str]:
    """The lines of text a reader sees on an HTML page (scripts and styles left out)."""
    page = re.sub(r"<(script|style)\b.*?</\1>", " ", page, flags=re.DOTALL)
    return [html.unescape(t).strip() for t in re.split(r"<[^>]+>", page) if t.strip()]


def reader_strings(report: dict) -> list[str]:
    """The JSON's texts meant for reading (not its keys, kinds and raw values)."""
    out = [report["title"], report["subtitle"]]
    for s in report["sections"]:
        out += [s["title"], s.get("note") or "", *s["paragraphs"]]
        out += [m["label"] for m in s["metrics"]]
        for t in s["tables"]:
            out += [t["title"], t.get("note") or ""]
            out += [c["label"] for c in t["columns"]]
            out += [v for c in t["columns"] for v in c.get("labels", {}).values()]
            out += [str(r[c["key"]]) for r in t["rows"] for c in t["columns"]
                    if c["kind"] == "text" and r.get(c["key"]) is not None]
        for chart in s["charts"]:
            out += [chart.get("title", ""), chart.get("fan_label", "")]
            out += [x.get("label", "") for x in chart.get("series", []) + chart.get("items", [])]
            out += [x["label"] for x in chart.get("steps", [])]
            out += chart.get("rows", []) + chart.get("cols", [])
        out += [item[k] for item in s.get("items", []) for k in ("condition", "finding",
                                                                   "action")]
    return [t for t in out if t]


def english(texts: list[str], data: set[str]) -> list[tuple[str, str]]:
    """(word, where) for every English word outside data values and the allow-list."""
    names = sorted(data, key=len, reverse=True)
    pattern = re.compile("|".join(re.escape(n) for n in names)) if names else None
    found = []
    for text in texts:
        stripped = TYPED.sub(" ", pattern.sub(" ", text) if pattern else text)
        for word in WORD.findall(stripped):
            if word not in ALLOWED:
                found.append((word, text[:160]))
    return found


@pytest.fixture
def zh_reports(synthetic_config, tmp_path) -> list[tuple[dict, str]]:
    warehouse = synthetic_config.workspace / "warehouse.duckdb"
    enrich(warehouse)
    out = []
    for result in (build_monthly_report(synthetic_config, "2026-10", lang="zh",
                                        formats=["json", "html"], out_dir=tmp_path / "out"),
                   build_risk_report(synthetic_config, lang="zh", formats=["json", "html"],
                                     out_dir=tmp_path / "out")):
        report = json.loads(Path(result.files["json"]).read_text(encoding="utf-8"))
        out.append((report, Path(result.files["html"]).read_text(encoding="utf-8")))
    return out


def test_every_string_of_the_chinese_reports_is_chinese(zh_reports, synthetic_config):
    data = data_values(synthetic_config.workspace / "warehouse.duckdb")
    for report, page in zh_reports:
        assert all(s["status"] == "ok" for s in report["sections"]), [
            (s["key"], s["note"]) for s in report["sections"] if s["status"] != "ok"]
        found = english(reader_strings(report), data) + english(visible_text(page), data)
        assert found == [], f"{report['report']}: English words in the Chinese report: {found}"


def test_the_walk_finds_english_words():
    assert english(["按区域，North贡献最大", "阶段转化率（funnel analysis）", "orders every # days",
                    "请运行 forecast score churn；阈值见 reports.rules"],
                   {"North"}) == [("funnel", "阶段转化率（funnel analysis）"),
                                  ("analysis", "阶段转化率（funnel analysis）"),
                                  ("orders", "orders every # days"),
                                  ("every", "orders every # days"),
                                  ("days", "orders every # days")]
