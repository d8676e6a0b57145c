"""Every workbook the tool writes has the finish of the spreadsheets planners use: the summary
sheet first, the header row frozen, a filter on each table, shares as percentages and money as
money, columns sized to their contents. Checked after an openpyxl round trip of tiers.xlsx, a
frame workbook and a report workbook (in Chinese, with the report's words); the targets
workbook's in tests/targets/test_workbook.py."""

from __future__ import annotations

import json

import openpyxl
import pandas as pd
from click.testing import CliRunner

from forecast.cli import main
from forecast.io.frames import export_workbook
from forecast.reports import document as doc
from forecast.reports.render import render_report

ORDERS = """order_id,date,customer,amount
o1,2024-06-10,Acme Trading Company Limited,100
o2,2024-05-10,Acme Trading Company Limited,40
o4,2024-03-01,B,80
o5,2024-06-30,B,20
o6,2024-06-15,C,25
"""


def finished(sheet, header_row: int = 1) -> None:
    """Header frozen and bold, a filter over the table, every used column sized."""
    assert sheet.freeze_panes is not None
    assert int(sheet.freeze_panes.lstrip("ABCDEFGHIJKLMNOPQRSTUVWXYZ")) == header_row + 1
    assert sheet.auto_filter.ref and sheet.auto_filter.ref.startswith(f"A{header_row}:")
    assert all(c.font.b for c in sheet[header_row] if c.value is not None)
    for column in range(1, sheet.max_column + 1):
        letter = openpyxl.utils.get_column_letter(column)
        assert sheet.column_dimensions[letter].width >= 8, (sheet.title, letter)


def formats(sheet, header_row: int = 1) -> dict[str, str]:
    """Header -> the number format of the column's first value."""
    return {sheet.cell(header_row, j).value: sheet.cell(header_row + 1, j).number_format
            for j in range(1, sheet.max_column + 1)}


def test_tiers_workbook_has_the_summary_first_and_its_finish(tmp_path, write_config):
    source = tmp_path / "orders.csv"
    source.write_text(ORDERS, encoding="utf-8")
    config = write_config({"sources": [{"table": "orders", "path": str(source), "columns": {
        "order_id": "order_id", "order_date": "date", "customer_id": "customer",
        "amount": "amount"}}], "tiers": {"revenue_days": 60, "rfm_days": 120}})
    runner = CliRunner()
    assert runner.invoke(main, ["data", "ingest", "--config", str(config)]).exit_code == 0
    result = runner.invoke(main, ["tiers", "--config", str(config), "--as-of", "2024-07-01",
                                  "--json"])
    assert result.exit_code == 0, result.output
    path = next(p for p in json.loads(result.stdout)["files"] if p.endswith(".xlsx"))
    book = openpyxl.load_workbook(path)
    assert book.sheetnames == ["tier_summary", "customer_tiers"]
    for sheet in book.worksheets:
        finished(sheet)
    summary, tiers = formats(book["tier_summary"]), formats(book["customer_tiers"])
    assert summary["customer_share"] == summary["revenue_share"] == "0.0%"
    assert summary["revenue"] == "#,##0.00" and summary["customers"] == "#,##0"
    assert tiers["revenue"] == tiers["monetary"] == "#,##0.00"
    assert tiers["revenue_share"] == "0.0%"
    name = openpyxl.utils.get_column_letter(
        [c.value for c in book["customer_tiers"][1]].index("customer_id") + 1)
    assert book["customer_tiers"].column_dimensions[name].width >= len(
        "Acme Trading Company Limited")


def test_frame_workbook_formats_by_kind(tmp_path):
    frame = pd.DataFrame({"unique_id": ["total", "North"], "period": pd.to_datetime(
        ["2027-01-01", "2027-01-01"]), "yhat": [1234.5, 600.25], "yhat_sd": [10.0, 5.0],
        "probability": [0.4, 0.6], "h": [1, 1], "recency_days": [12, 30],
        "rfm_score": [3.5, 4.0]})
    book = openpyxl.load_workbook(export_workbook({"quarters": frame, "forecast": frame},
                                                  tmp_path / "f.xlsx"))
    assert book.sheetnames == ["quarters", "forecast"]
    finished(book["forecast"])
    f = formats(book["forecast"])
    assert (f["yhat"], f["yhat_sd"], f["probability"], f["h"], f["recency_days"]) == (
        "#,##0.00", "#,##0.00", "0.0%", "#,##0", "#,##0")
    assert f["period"] == "yyyy-mm-dd" and f["unique_id"] == "General"


def test_report_workbook_summary_first_in_the_reports_words(tmp_path):
    table = doc.table("risk_tiers", "按风险等级的客户", [
        doc.column("tier", "风险等级", "member"), doc.column("customers", "客户数", "count"),
        doc.column("revenue_at_risk", "风险收入", "money"), doc.column("share", "占比", "pct"),
        doc.column("model", "模型", "member", {"selected": "选定组合"})],
        [{"tier": "high", "customers": 12, "revenue_at_risk": 1234.5, "share": 0.4,
          "model": "selected"}])
    section = doc.section("at_risk", "风险客户", tables=[table], metrics=[
        doc.metric("top10_share", "前十大客户占比", 0.5, "pct")])
    report = {"report": "risk", "lang": "zh", "title": "风险报告", "subtitle": "数据截至",
              "data_through": "2026-10-31", "sections": [section]}
    book = openpyxl.load_workbook(_save(render_report(report, ["xlsx"])["xlsx"], tmp_path))
    assert book.sheetnames[0] == "summary"
    finished(book["summary"], header_row=4)
    assert book["summary"]["A4"].value == "部分"
    sheet = book["at_risk.risk_tiers"]
    finished(sheet)
    assert [c.value for c in sheet[2]] == ["高", 12, 1234.5, 0.4, "选定组合"]
    assert formats(sheet) == {"风险等级": "General", "客户数": "#,##0", "风险收入": "#,##0",
                              "占比": "0.0%", "模型": "General"}


def _save(data: bytes, folder) -> str:
    path = folder / "report.xlsx"
    path.write_bytes(data)
    return str(path)

