"""A month without orders and an amount that is not a number are missing in the monthly report,
never 0: no revenue of 0.00, no "-100%" against a month that has no data, no share or change
computed from a missing value; a note says why, in English and Chinese. Legitimate zeros (a
member that sold nothing in a month that has orders) stay 0."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest

from forecast.config import load_config
from forecast.pipeline import build_monthly_report, ingest
from forecast.reports.document import find_section, find_table, metric_values

# August and October 2026 have orders, September 2026 has none; a year before, September and
# October 2025 have orders.
ORDERS = """date,customer,amount,region,channel
2025-09-10,c1,100,North,online
2025-10-05,c1,200,North,online
2025-10-20,c2,50,South,retail
2026-08-10,c1,100,North,online
2026-10-02,c1,300,North,online
2026-10-11,c4,40,South,retail
2026-10-31,c3,60,South,retail
"""
COLUMNS = {"order_date": "date", "customer_id": "customer", "amount": "amount",
           "region": "region", "channel": "channel"}


@pytest.fixture
def config(tmp_path, write_config):
    source = tmp_path / "orders.csv"
    source.write_text(ORDERS, encoding="utf-8")
    path = write_config({"sources": [{"table": "orders", "path": str(source),
                                      "columns": COLUMNS}],
                         "reports": {"formats": ["json", "md"]}})
    config = load_config(path)
    ingest(config)
    return config


def _report(config, month: str, lang: str = "en") -> dict:
    result = build_monthly_report(config, month, lang=lang)
    return json.loads(Path(result.files["json"]).read_text(encoding="utf-8"))


def _markdown(config, month: str, lang: str = "en") -> str:
    result = build_monthly_report(config, month, lang=lang)
    return Path(result.files["md"]).read_text(encoding="utf-8")


def _add_order(config, day: str, amount: str, region: str = "North") -> None:
    """An order line straight into the warehouse (ingest would quarantine a NaN amount)."""
    with duckdb.connect(str(config.workspace / "warehouse.duckdb")) as con:
        con.execute(f"""
            INSERT INTO orders BY NAME
            SELECT * REPLACE (DATE '{day}' AS order_date, CAST(? AS DOUBLE) AS amount,
                              ? AS region)
            FROM orders WHERE order_date = DATE '2026-10-02'""", [amount, region])


def test_a_month_without_orders_has_missing_revenue_not_zero(config):
    report = _report(config, "2026-09")
    revenue = find_section(report, "revenue")
    r = metric_values(revenue)
    assert r["revenue"] is None and r["mom"] is None and r["yoy"] is None
    assert r["average_order"] is None and r["month_attainment"] is None
    assert r["previous"] == 100 and r["year_ago"] == 100
    assert "No orders are dated in September 2026" in revenue["note"]
    contribution = find_section(report, "contribution")
    assert contribution["status"] == "omitted"
    assert "September 2026" in contribution["note"]
    assert find_section(report, "customers_mix")["status"] == "omitted"
    opening = find_section(report, "summary")["paragraphs"][0]
    assert opening == "Revenue in September 2026 is missing; the note under Revenue says why."
    assert "-100.0%" not in _markdown(config, "2026-09")


def test_a_month_without_orders_is_missing_in_chinese_too(config):
    report = _report(config, "2026-09", lang="zh")
    revenue = find_section(report, "revenue")
    assert metric_values(revenue)["revenue"] is None
    assert "2026年9月没有任何订单" in revenue["note"]
    assert "| 本月收入 | — |" in _markdown(config, "2026-09", lang="zh")


def test_no_change_is_computed_against_a_month_without_orders(config):
    report = _report(config, "2026-10")
    r = metric_values(find_section(report, "revenue"))
    assert r["revenue"] == 400 and r["previous"] is None and r["mom"] is None
    assert r["year_ago"] == 250 and r["yoy"] == pytest.approx(0.6)
    assert "September 2026" in find_section(report, "revenue")["note"]
    contribution = find_section(report, "contribution")
    rows = {r["value"]: r for r in find_table(contribution, "region")["rows"]}
    assert rows["North"]["current"] == 300 and rows["North"]["previous"] is None
    assert rows["North"]["change"] is None and rows["North"]["change_pct"] is None
    assert rows["South"]["previous"] is None and rows["South"]["share_of_change"] is None
    assert rows["North"]["year_ago"] == 200 and rows["North"]["yoy"] == pytest.approx(0.5)
    # No waterfall from a missing total: a chart would draw it as 0.
    assert contribution["charts"] == []
    accounts = {r["value"]: r for r in find_table(find_section(report, "customers_mix"),
                                                  "accounts")["rows"]}
    assert all(row["previous"] is None for row in accounts.values())


def test_a_member_without_sales_in_a_month_with_orders_is_a_real_zero(config):
    _add_order(config, "2026-09-15", "80", region="North")
    report = _report(config, "2026-10")
    rows = {r["value"]: r for r in find_table(find_section(report, "contribution"),
                                              "region")["rows"]}
    assert rows["North"]["previous"] == 80 and rows["South"]["previous"] == 0
    assert metric_values(find_section(report, "revenue"))["mom"] == pytest.approx(400 / 80 - 1)


@pytest.mark.parametrize("amount", ["NaN", "Infinity"])
def test_a_non_finite_amount_makes_the_month_missing_not_zero(config, amount):
    _add_order(config, "2026-10-15", amount, region="North")
    report = _report(config, "2026-10")
    revenue = find_section(report, "revenue")
    r = metric_values(revenue)
    assert r["revenue"] is None and r["mom"] is None and r["yoy"] is None
    assert r["ytd_revenue"] is None and r["ytd_yoy"] is None and r["average_order"] is None
    assert "October 2026" in revenue["note"] and "NaN or infinite" in revenue["note"]
    rows = {r["value"]: r for r in find_table(find_section(report, "contribution"),
                                              "region")["rows"]}
    assert rows["North"]["current"] is None and rows["North"]["change"] is None
    assert rows["South"]["current"] == 100
    assert all(row["share"] is None for row in rows.values())
    opening = find_section(report, "summary")["paragraphs"][0]
    assert opening == "Revenue in October 2026 is missing; the note under Revenue says why."


def test_a_non_finite_amount_in_an_earlier_month_is_missing_there(config):
    _add_order(config, "2026-08-20", "NaN", region="South")
    report = _report(config, "2026-09")
    r = metric_values(find_section(report, "revenue"))
    assert r["previous"] is None and r["mom"] is None
    assert "August 2026" in find_section(report, "revenue")["note"]


def test_funnel_amounts_that_are_missing_are_not_zero(tmp_path, write_config):
    orders, opportunities = tmp_path / "orders.csv", tmp_path / "opportunities.csv"
    orders.write_text(ORDERS, encoding="utf-8")
    # Two deals won in October 2026 and one still open at its end, none with an amount.
    opportunities.write_text("id,stage,day,amount\no1,initial contact,2026-09-01,\n"
                             "o1,won,2026-10-05,\no2,won,2026-10-07,\n"
                             "o3,proposal,2026-10-09,\n", encoding="utf-8")
    path = write_config({"sources": [
        {"table": "orders", "path": str(orders), "columns": COLUMNS},
        {"table": "opportunities", "path": str(opportunities),
         "columns": {"opportunity_id": "id", "stage": "stage", "stage_date": "day",
                     "amount": "amount"}}], "reports": {"formats": ["json"]}})
    config = load_config(path)
    ingest(config)
    funnel = find_section(_report(config, "2026-10"), "funnel")
    m = metric_values(funnel)
    assert m["won"] == 2 and m["won_amount"] is None
    assert m["open_opportunities"] == 1 and m["open_amount"] is None
    stages = {r["stage"]: r for r in find_table(funnel, "stages")["rows"]}
    assert stages["won"]["amount"] is None
    # No opportunity entered "initial contact" in October: a count of 0 and an amount of 0.
    assert stages["initial contact"]["entered"] == 0 and stages["initial contact"]["amount"] == 0


def test_risk_concentration_is_not_computed_over_a_non_finite_revenue(config):
    from forecast.pipeline import build_risk_report

    _add_order(config, "2026-10-15", "NaN", region="North")
    result = build_risk_report(config)
    report = json.loads(Path(result.files["json"]).read_text(encoding="utf-8"))
    concentration = find_section(report, "concentration")
    assert concentration["status"] == "omitted"
    assert "c1" in concentration["note"] and "NaN or infinite" in concentration["note"]
    assert "hhi" not in {p["rule"] for p in find_section(report, "problems")["items"]}
