"""Honest charts: the waterfall's bars stand on zero (a 7% change looks like 7%), and the trend
chart's target line covers every forecast month the targets plan has a target for."""

from __future__ import annotations

import json
import re
from pathlib import Path

import duckdb
import pytest
from test_report_zh_complete import enrich

from forecast.pipeline import build_monthly_report
from forecast.reports.document import find_section
from forecast.reports.i18n import Locale
from forecast.reports.svg import waterfall_svg

RECT = re.compile(r'<rect class="bar" x="[\d.]+" y="([\d.]+)" width="[\d.]+" height="([\d.]+)"')


def test_waterfall_bars_start_at_zero():
    chart = {"kind": "waterfall", "key": "w", "title": "Change",
             "start": {"label": "Last month", "value": 1_000_000.0},
             "steps": [{"label": "North", "value": 90_000.0},
                       {"label": "South", "value": -20_000.0}],
             "end": {"label": "This month", "value": 1_070_000.0}}
    svg = waterfall_svg(chart, Locale())
    zero = float(re.search(r'<line class="zero" x1="\d+" x2="\d+" y1="([\d.]+)"', svg).group(1))
    bars = [(float(y), float(h)) for y, h in RECT.findall(svg)]
    (start_y, start_h), *_, (end_y, end_h) = bars
    assert start_y + start_h == pytest.approx(zero, abs=0.11)
    assert end_y + end_h == pytest.approx(zero, abs=0.11)
    assert end_h / start_h == pytest.approx(1.07, rel=1e-3)  # 7% taller, not twice as tall
    assert re.search(r'text-anchor="end" font-size="10">0</text>', svg), "no 0 on the axis"
    north_h = bars[1][1]
    assert north_h / start_h == pytest.approx(0.09, rel=1e-2)


def test_target_line_covers_the_plans_forecast_months(synthetic_config, tmp_path):
    warehouse = synthetic_config.workspace / "warehouse.duckdb"
    enrich(warehouse)  # adds a targets plan for 2026-11 .. 2027-03 (company target 310,000)
    with duckdb.connect(str(warehouse), read_only=True) as con:
        last_target = con.execute("SELECT max(period) FROM targets").fetchone()[0]
    result = build_monthly_report(synthetic_config, "2026-10", formats=["json"],
                                  out_dir=tmp_path)
    report = json.loads(Path(result.files["json"]).read_text(encoding="utf-8"))
    chart = find_section(report, "revenue")["charts"][0]
    target = dict(zip(chart["periods"], chart["series"][1]["values"], strict=True))
    fan = [f["period"] for f in chart["fan"]]
    assert fan and fan[-1] > last_target.isoformat()
    assert all(target[p] is not None for p in fan), target
    after = [p for p in fan if p > last_target.isoformat()]
    assert after and all(target[p] == 310_000.0 for p in after)
    # Months the targets table has keep its target; the plan fills only the others.
    assert target["2026-11-01"] != 310_000.0
