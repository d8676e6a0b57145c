"""Every workbook the project writes keeps text as text: a value that starts like a formula
(=, +, -, @, a tab, a carriage return) is a string cell with Excel's quote prefix, never a live
formula; negative numbers stay numbers and the workbooks' own formulas stay formulas."""

from __future__ import annotations

import openpyxl
import pandas as pd
import pytest
from workbook_checks import assert_text

from forecast.io.frames import export_workbook
from forecast.io.report_files import write_report_files
from forecast.reports import document as doc
from forecast.reports.render import render_report

EVIL = '=HYPERLINK("http://example.invalid/x","Red Dragon")'
RISKY = [EVIL, "+1+2", "-3+4", "@SUM(A1:A9)", "\tTabbed"]


def _report() -> dict:
    table = doc.table("customers", "Customers", [
        doc.column("name", "Name", "text"), doc.column("revenue", "Revenue", "money"),
        doc.column("change", "Change", "signed_money")],
        [{"name": text, "revenue": 10.0 * k, "change": -25.5} for k, text in enumerate(RISKY)])
    section = doc.section("customers", "Customers", tables=[table], metrics=[
        doc.metric("gap", "Gap", -1234.5, "signed_money")])
    omitted = doc.omitted("funnel", "@Funnel", "+ a note starting with a plus")
    return {"report": "monthly", "month": "2026-10", "lang": "en", "title": EVIL,
            "subtitle": "Data through 31 Oct 2026", "data_through": "2026-10-31",
            "sections": [section, omitted]}


def test_report_workbook_writes_risky_text_as_text(tmp_path):
    paths = write_report_files(render_report(_report(), ["xlsx"]), tmp_path, "monthly-2026-10")
    book = openpyxl.load_workbook(paths["xlsx"])
    for text in RISKY:
        assert_text(book, text)
    assert_text(book, "+ a note starting with a plus")
    assert_text(book, "@Funnel")
    assert book["summary"]["A1"].value == EVIL and book["summary"]["A1"].data_type == "s"
    sheet = book["customers.customers"]
    assert [sheet.cell(r, 1).value for r in range(2, 2 + len(RISKY))] == RISKY
    assert sheet["C2"].value == -25.5 and sheet["C2"].data_type == "n"
    gap = next(r for r in book["summary"].iter_rows() if r[2].value == "gap")[4]
    assert gap.value == -1234.5 and gap.data_type == "n"


def test_frame_workbook_writes_risky_text_as_text_and_numbers_as_numbers(tmp_path):
    frame = pd.DataFrame({"customer_id": RISKY, "name": ["#N/A", *RISKY[1:]],
                          "revenue": [-1.5, 2.0, -3.0, 4.0, 5.0],
                          "day": pd.to_datetime(["2026-10-01"] * 5)})
    path = export_workbook({"customer_tiers": frame}, tmp_path / "tiers.xlsx")
    book = openpyxl.load_workbook(path)
    for text in [*RISKY, "#N/A"]:
        assert_text(book, text)
    sheet = book["customer_tiers"]
    assert [sheet.cell(r, 1).value for r in range(2, 7)] == RISKY
    assert sheet["C2"].value == -1.5 and sheet["C2"].data_type == "n"
    assert sheet["D2"].is_date
    assert not list(tmp_path.glob("*.tmp*"))


def test_frame_workbook_survives_control_characters(tmp_path):
    frame = pd.DataFrame({"name": ["Acme\x01Ltd"], "revenue": [1.0]})
    book = openpyxl.load_workbook(export_workbook({"s": frame}, tmp_path / "x.xlsx"))
    assert book["s"]["A2"].value == "Acme\ufffdLtd"


@pytest.mark.parametrize("text", ["plain", "", "a=b", "x-1"])
def test_ordinary_text_has_no_quote_prefix(tmp_path, text):
    frame = pd.DataFrame({"v": [text]})
    cell = openpyxl.load_workbook(export_workbook({"s": frame}, tmp_path / "x.xlsx"))["s"]["A2"]
    assert cell.quotePrefix is False and (cell.value or "") == text
