"""Both reports build for Superstore and Online Retail II, whose missing sections (targets,
funnel, forecast, churn scores) are left out with a note; the headline numbers match SQL."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest

from forecast.config import load_config
from forecast.pipeline import build_monthly_report, build_risk_report, ingest
from forecast.reports.document import find_section, find_table, metric_values

CONFIGS = Path(__file__).resolve().parents[2] / "configs"
MONTHLY_OMITTED = ["attainment", "funnel", "below_target", "next_month"]
RISK_OMITTED = ["at_risk", "downside", "model_health"]


def _report(result: dict) -> dict:
    return json.loads(Path(result.files["json"]).read_text(encoding="utf-8"))


@pytest.mark.parametrize(("name", "month", "levels"), [
    ("superstore", "2022-11", ["product_line", "segment", "region"]),
    ("online_retail", "2011-11", ["region"]),
])
def test_reports_of_real_data(shared_data, tmp_path, name, month, levels):
    config = load_config(CONFIGS / f"{name}.yaml").with_workspace(tmp_path / name)
    ingest(config)
    monthly = build_monthly_report(config, formats=["json", "html"])
    assert (monthly.month, monthly.omitted) == (month, MONTHLY_OMITTED)
    report = _report(monthly)
    with duckdb.connect(str(tmp_path / name / "warehouse.duckdb"), read_only=True) as con:
        revenue, customers = con.execute(
            "SELECT sum(amount), count(DISTINCT customer_id) FROM orders "
            f"WHERE strftime(order_date, '%Y-%m') = '{month}'").fetchone()
    r = metric_values(find_section(report, "revenue"))
    assert r["revenue"] == pytest.approx(revenue, rel=1e-12)
    assert r["customers"] == customers
    contribution = find_section(report, "contribution")
    assert [t["key"] for t in contribution["tables"]] == levels
    for level in levels:
        rows = find_table(contribution, level)["rows"]
        assert sum(x["current"] for x in rows) == pytest.approx(revenue, rel=1e-9)
    assert find_section(report, "attainment")["note"].startswith("No targets in the warehouse")
    zh = _report(build_monthly_report(config, lang="zh", formats=["json"]))
    assert metric_values(find_section(zh, "revenue")) == r
    risk = build_risk_report(config, formats=["json", "html"])
    assert risk.omitted == RISK_OMITTED
    assert Path(risk.files["html"]).read_text(encoding="utf-8").count("<svg") == 0
    assert Path(monthly.files["html"]).read_text(encoding="utf-8").count("<svg") == 2
