"""Reports of thin data: a few hand-made orders whose numbers are worked out by hand, sections
that lack data omitted with a note, and data without customer ids."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest

from forecast.config import load_config
from forecast.pipeline import build_monthly_report, build_risk_report, ingest
from forecast.reports.document import find_section, find_table, metric_values

ORDERS = """date,customer,amount,region,product,qty
2025-09-10,c1,100,North,P1,1
2025-10-05,c1,200,North,P1,2
2025-10-20,c2,50,South,P2,1
2026-01-10,c5,70,North,P1,1
2026-07-15,c5,30,North,P1,1
2026-09-03,c1,150,North,P1,1
2026-09-15,c3,80,South,P2,2
2026-10-02,c1,300,North,P1,2
2026-10-11,c4,40,South,P2,1
2026-10-31,c3,60,South,P2,2
"""
COLUMNS = {"order_date": "date", "customer_id": "customer", "amount": "amount",
           "region": "region", "product_id": "product", "quantity": "qty"}


@pytest.fixture
def thin(tmp_path, write_config):
    def make(columns: dict) -> object:
        source = tmp_path / "orders.csv"
        source.write_text(ORDERS, encoding="utf-8")
        path = write_config({"sources": [{"table": "orders", "path": str(source),
                                          "columns": columns}],
                             "reports": {"formats": ["json", "html"]}})
        config = load_config(path)
        ingest(config)
        return config

    return make


def _load(result: dict) -> dict:
    return json.loads(Path(result.files["json"]).read_text(encoding="utf-8"))


def test_hand_worked_month_with_only_orders(thin):
    report = _load(build_monthly_report(thin(COLUMNS), "2026-10"))
    status = {s["key"]: s["status"] for s in report["sections"]}
    assert [k for k, v in status.items() if v == "omitted"] == [
        "attainment", "funnel", "below_target", "next_month"]
    assert "No targets in the warehouse" in find_section(report, "attainment")["note"]
    r = metric_values(find_section(report, "revenue"))
    # October 2026: 300 + 40 + 60; September 150 + 80; October 2025 200 + 50.
    assert (r["revenue"], r["previous"], r["year_ago"]) == (400, 230, 250)
    assert r["mom"] == pytest.approx(400 / 230 - 1) and r["yoy"] == pytest.approx(0.6)
    assert (r["orders"], r["average_order"], r["customers"]) == (None, None, 3)
    # 2026 to October: 70 + 30 + 230 + 400; 2025 to October: 100 + 250.
    assert (r["ytd_revenue"], r["ytd_prior"]) == (730, 350)
    assert (r["ytd_target"], r["ytd_attainment"]) == (None, None)
    regions = find_table(find_section(report, "contribution"), "region")["rows"]
    assert [(x["value"], x["current"], x["previous"], x["year_ago"]) for x in regions] == [
        ("North", 300, 150, 200), ("South", 100, 80, 50)]
    assert regions[0]["share_of_change"] == pytest.approx(150 / 170)
    # No segment: key accounts are the top 20% of 4 customers by 12-month revenue, i.e. c1.
    mix = find_section(report, "customers_mix")
    assert "top 20% of customers" in mix["note"]
    accounts = find_table(mix, "accounts")["rows"]
    assert [(x["value"], x["current"], x["previous"], x["customers"]) for x in accounts] == [
        ("key account", 300, 150, 1), ("other", 100, 80, 2)]
    c = metric_values(find_section(report, "customers"))
    # New: c4 (first order 11 Oct). Lost: c5, last order 15 Jul + 90 days = 13 Oct.
    assert (c["new_customers"], c["new_revenue"], c["lost_customers"], c["lost_revenue"]) == (
        1, 40, 1, 100)
    assert "high_risk_customers" not in c
    assert "No churn scores" in find_section(report, "customers")["note"]
    problems = find_section(report, "problems")
    assert problems["items"] == [] and problems["paragraphs"] == ["None of the 13 rules fired."]
    summary = " ".join(find_section(report, "summary")["paragraphs"])
    assert "Left out for lack of data: Target attainment, Funnel activity" in summary


def test_hand_worked_risk_with_only_orders(thin):
    report = _load(build_risk_report(thin(COLUMNS)))
    status = {s["key"]: s["status"] for s in report["sections"]}
    assert [k for k, v in status.items() if v == "omitted"] == [
        "at_risk", "downside", "model_health"]
    k = metric_values(find_section(report, "concentration"))
    # 1 Nov 2025 - 31 Oct 2026: c1 450, c3 140, c5 100, c4 40 (730); North 550, South 180.
    assert (k["customers"], k["top10_share"]) == (4, 1.0)
    assert k["hhi_customer"] == pytest.approx((450**2 + 140**2 + 100**2 + 40**2) / 730**2)
    assert k["hhi_region"] == pytest.approx((550**2 + 180**2) / 730**2)
    assert k["hhi_normalised_region"] == pytest.approx(
        ((550**2 + 180**2) / 730**2 - 0.5) / 0.5)
    rules = [p["rule"] for p in find_section(report, "problems")["items"]]
    # top-10 share 1 > 0.5; normalised HHI: customers 0.2514, regions 0.2569, both > 0.25.
    assert rules == ["top10", "hhi", "hhi"]


def test_data_without_customer_ids_omit_the_customer_sections(thin):
    config = thin({k: v for k, v in COLUMNS.items() if k != "customer_id"})
    monthly = _load(build_monthly_report(config, "2026-10"))
    status = {s["key"]: s["status"] for s in monthly["sections"]}
    assert status["customers_mix"] == status["customers"] == "omitted"
    assert metric_values(find_section(monthly, "revenue"))["customers"] is None
    assert find_section(monthly, "customers")["note"] == "The orders have no customer ids."
    risk = _load(build_risk_report(config))
    assert find_section(risk, "concentration")["status"] == "omitted"
    assert Path(build_risk_report(config).files["html"]).stat().st_size > 0


def test_open_pipeline_weighted_by_the_funnel_win_probabilities(synthetic_config):
    import duckdb
    import pandas as pd

    p_win = {"initial contact": 0.1, "needs analysis": 0.2, "proposal": 0.4, "negotiation": 0.7}
    path = synthetic_config.workspace / "warehouse.duckdb"
    with duckdb.connect(str(path)) as con:
        con.execute("CREATE TABLE funnel_conversion AS SELECT * FROM (VALUES " + ", ".join(
            f"('{s}', {i}, 100, 0.5, 12.0, {p}, DATE '2026-10-31')"
            for i, (s, p) in enumerate(p_win.items())) + ") t(stage, stage_order, reached, "
            "conversion, median_days, p_win, as_of)")
        opp = con.execute("SELECT * FROM opportunities WHERE stage_date < DATE '2026-11-01'").df()
    order = {s: i for i, s in enumerate([*p_win, "won", "lost"])}
    latest = opp.assign(o=opp["stage"].map(order)).sort_values(["stage_date", "o"]).groupby(
        "opportunity_id").tail(1)
    open_ = latest[~latest["stage"].isin(["won", "lost"])]
    expected = float((open_["amount"] * open_["stage"].map(p_win)).sum())
    report = _load(build_monthly_report(synthetic_config, "2026-10"))
    funnel = find_section(report, "funnel")
    assert metric_values(funnel)["weighted_open_amount"] == pytest.approx(expected, rel=1e-12)
    assert metric_values(funnel)["open_amount"] == pytest.approx(float(open_["amount"].sum()))
    rows = find_table(funnel, "conversion")["rows"]
    assert [(r["stage"], r["p_win"]) for r in rows] == list(p_win.items())
    assert pd.notna(expected) and expected > 0


def test_key_accounts_come_from_customer_tiers_when_present(synthetic_config):
    import duckdb

    path = synthetic_config.workspace / "warehouse.duckdb"
    with duckdb.connect(str(path)) as con:
        con.execute("CREATE TABLE customer_tiers AS SELECT customer_id, CASE WHEN "
                    "row_number() OVER (ORDER BY customer_id) <= 30 THEN 'key account' ELSE "
                    "'regular' END AS value_tier FROM customers")
        key, other, key_customers = con.execute("""
            SELECT sum(amount) FILTER (WHERE t.value_tier = 'key account'),
                   sum(amount) FILTER (WHERE t.value_tier IS DISTINCT FROM 'key account'),
                   count(DISTINCT o.customer_id) FILTER (WHERE t.value_tier = 'key account')
            FROM orders o LEFT JOIN customer_tiers t USING (customer_id)
            WHERE strftime(o.order_date, '%Y-%m') = '2026-10'""").fetchone()
    report = _load(build_monthly_report(synthetic_config, "2026-10"))
    mix = find_section(report, "customers_mix")
    assert mix["note"].startswith("Key accounts: value tier 'key account' in customer_tiers.")
    rows = {r["value"]: r for r in find_table(mix, "accounts")["rows"]}
    assert rows["key account"]["current"] == pytest.approx(key)
    assert rows["other"]["current"] == pytest.approx(other)
    assert rows["key account"]["customers"] == key_customers


def test_report_building_reports_its_steps(thin):
    """Reading, building and writing a report are announced as they start (progress)."""
    config = thin(COLUMNS)
    for build in (lambda c, p: build_monthly_report(c, "2026-10", progress=p),
                  lambda c, p: build_risk_report(c, progress=p)):
        calls: list[tuple] = []
        build(config, lambda *args, into=calls: into.append(args))
        assert calls == [(0, 3, "reading the warehouse"),
                         (1, 3, "building the sections and charts"),
                         (2, 3, "writing the files"), (3, 3, "done")]


def test_a_next_month_the_data_reach_into_says_what_is_booked(thin):
    """Regression: with orders to December 30, the monthly report of November said
    "Next month's forecast is 87,714" of a December whose 84,854 were already booked."""
    config = thin(COLUMNS)
    with duckdb.connect(str(config.workspace / "warehouse.duckdb")) as con:
        con.execute("""CREATE TABLE revenue_forecast_periods AS SELECT 'total' AS unique_id,
            'total' AS grain, 'month' AS period_type, DATE '2026-11-01' AS period,
            400.0 AS yhat, 0.25 AS actual_part, 20.0 AS yhat_sd, 374.4 AS yhat_lo_80,
            425.6 AS yhat_hi_80, 360.8 AS yhat_lo_95, 439.2 AS yhat_hi_95""")
    report = _load(build_monthly_report(config, "2026-10"))
    assert metric_values(find_section(report, "next_month"))["booked"] == pytest.approx(100)
    summary = " ".join(find_section(report, "summary")["paragraphs"])
    assert ("Next month's forecast is 400 (80% interval 374 to 426). Of it, 100 is already "
            "booked.") in summary
