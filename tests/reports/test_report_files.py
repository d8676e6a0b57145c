"""Renderers and writers: self-contained HTML with drawn charts, Markdown, JSON and Excel."""

from __future__ import annotations

import json
import re
from datetime import date

import pytest
from openpyxl import load_workbook

from forecast.errors import ConfigError
from forecast.io.report_files import write_report_files
from forecast.reports import document as doc
from forecast.reports.html import render_html
from forecast.reports.markdown import render_markdown
from forecast.reports.render import render_report
from forecast.reports.svg import nice_ticks


def sample_report(lang: str = "en") -> dict:
    """A report document with one of each part, written by hand."""
    table = doc.table("regions", "Regions", [
        doc.column("unit", "Region", "text"), doc.column("revenue", "Revenue", "money"),
        doc.column("share", "Share", "pct"), doc.column("day", "Day", "date")],
        [{"unit": "North", "revenue": 1234567.8, "share": 0.25, "day": "2026-10-31"},
         {"unit": "South | East", "revenue": 90.5, "share": None, "day": None}])
    charts = [
        {"kind": "trend", "key": "t", "title": "Trend", "periods": ["2026-08-01", "2026-09-01",
                                                                   "2026-10-01", "2026-11-01"],
         "series": [{"key": "revenue", "label": "Revenue", "values": [10.0, 12.0, 11.0, None]},
                    {"key": "target", "label": "Target", "values": [9.0, 9.0, 12.0, 12.0]}],
         "fan": [{"period": "2026-11-01", "yhat": 12.0, "lo_80": 11.0, "hi_80": 13.0,
                  "lo_95": 10.0, "hi_95": 14.0}], "fan_label": "Forecast"},
        {"kind": "waterfall", "key": "w", "title": "Waterfall", "start": {"label": "Sep",
                                                                            "value": 100.0},
         "steps": [{"label": "A", "value": 20.0}, {"label": "B", "value": -5.0}],
         "end": {"label": "Oct", "value": 115.0}},
        {"kind": "bars", "key": "b", "title": "Bars", "reference": 1.0, "value_kind": "pct",
         "items": [{"label": "x", "value": 1.2}, {"label": "y", "value": 0.7}]},
        {"kind": "funnel", "key": "f", "title": "Funnel",
         "items": [{"label": "lead", "value": 40.0}, {"label": "won", "value": 5.0}]},
        {"kind": "heatmap", "key": "h", "title": "Heat", "rows": ["A", "B"],
         "cols": ["high", "low"], "values": [[5.0, 1.0], [0.0, 2.0]], "counts": [[1, 2], [0, 3]],
         "value_kind": "money"},
    ]
    return {
        "report": "monthly", "lang": lang, "title": "Test <report>", "subtitle": "Data through x",
        "month": "2026-10", "data_through": "2026-10-31", "currency": "$", "currency_unit": "yuan",
        "sections": [
            doc.section("revenue", "Revenue", paragraphs=["Revenue rose."], metrics=[
                doc.metric("revenue", "Revenue", 1234567.8, "money"),
                doc.metric("mom", "MoM", 0.106, "signed_pct"),
                doc.metric("day", "Day", date(2026, 10, 31), "date")],
                tables=[table], charts=charts, note="A note."),
            doc.omitted("funnel", "Funnel", "No opportunities."),
        ],
    }


def test_html_is_self_contained_and_draws_every_chart():
    html = render_html(sample_report())
    # Nothing is fetched: the only URL is the SVG namespace.
    assert set(re.findall(r"https?://[^\"' )]+", html)) == {"http://www.w3.org/2000/svg"}
    for forbidden in ("<link", " src=", "@import", "url("):
        assert forbidden not in html
    assert html.count("<script>") == 1
    kinds = re.findall(r'data-chart="(\w+)"', html)
    assert kinds == ["trend", "waterfall", "bars", "funnel", "heatmap"]
    assert 'class="fan"' in html and 'class="series-revenue"' in html
    assert len(re.findall(r'<rect class="bar"', html)) == 4 + 2 + 2  # waterfall, bars, funnel
    assert len(re.findall(r'<rect class="cell"', html)) == 4
    assert "Test &lt;report&gt;" in html
    assert '<section id="funnel" class="omitted">' in html and "No opportunities." in html


def test_html_tables_are_sortable_with_raw_values_beside_the_formatted_ones():
    html = render_html(sample_report())
    assert '<table class="sortable" data-table="regions">' in html
    assert '<td class="num" data-v="1234567.8">$1,234,568</td>' in html
    assert '<td class="num" data-v="">–</td>' in html
    assert '<td data-v="2026-10-31">31 Oct 2026</td>' in html
    assert '<div class="value">+10.6%</div>' in html


def test_markdown_has_the_metrics_and_escaped_tables():
    md = render_markdown(sample_report())
    assert md.startswith("# Test <report>\n")
    assert "| Revenue | $1,234,568 |" in md
    assert "| Region | Revenue | Share | Day |\n|---|---:|---:|---|" in md
    assert "| South \\| East | $90 | – | – |" in md
    assert "## Funnel\n\n> No opportunities." in md


def test_chinese_rendering_uses_chinese_formats():
    report = sample_report("zh")
    html = render_html(report)
    assert '<html lang="zh-CN">' in html and "2026年10月31日" in html
    assert "$1,234,568" in render_markdown(report)


def test_write_report_in_every_format(tmp_path):
    report = sample_report()
    rendered = render_report(report, ["html", "md", "json", "xlsx"])
    paths = write_report_files(rendered, tmp_path / "out", "monthly-x")
    assert {p.name for p in paths.values()} == {"monthly-x.html", "monthly-x.md",
                                                "monthly-x.json", "monthly-x.xlsx"}
    assert not list((tmp_path / "out").glob("*.tmp"))
    assert json.loads(paths["json"].read_text(encoding="utf-8")) == json.loads(
        json.dumps(report))
    book = load_workbook(paths["xlsx"])
    assert book.sheetnames == ["summary", "revenue.regions"]
    summary = list(book["summary"].iter_rows(values_only=True))
    assert ("revenue", "ok", "revenue", "Revenue", 1234567.8, None) in summary
    assert ("funnel", "omitted", None, "Funnel", None, "No opportunities.") in summary
    rows = list(book["revenue.regions"].iter_rows(values_only=True))
    assert rows[0] == ("Region", "Revenue", "Share", "Day")
    assert rows[1][:3] == ("North", 1234567.8, 0.25) and rows[1][3].date() == date(2026, 10, 31)
    assert book["revenue.regions"]["C2"].number_format == "0.0%"


def test_unknown_format_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match="unknown report format"):
        render_report(sample_report(), ["docx"])


def test_axis_ticks_are_round_and_cover_the_range():
    assert nice_ticks(0, 95) == [0, 20, 40, 60, 80, 100]
    assert nice_ticks(1_150_000, 1_280_000)[0] <= 1_150_000
    assert nice_ticks(1_150_000, 1_280_000)[-1] >= 1_280_000
