"""A report document as an Excel workbook: its metrics on sheet ``summary`` (first), every table
on a sheet of its own, finished as every workbook of the project (header frozen, a filter,
columns sized) with number formats by kind and the report's words for text values."""

from __future__ import annotations

from datetime import date
from io import BytesIO

from openpyxl import Workbook

from forecast.io.spreadsheet import finish_sheet, write_row
from forecast.reports.i18n import NUMERIC, Locale

# One Excel format per kind of number, the rules of forecast.reports.i18n.
KINDS_EXCEL = {"money": "#,##0", "signed_money": "+#,##0;-#,##0;0", "count": "#,##0",
               "pct": "0.0%", "signed_pct": "+0.0%;-0.0%;0.0%", "prob": "0%",
               "points": "+0.0%;-0.0%;0.0%", "ratio": "0.000", "number": "#,##0.00",
               "days": "#,##0.0", "date": "yyyy-mm-dd", "month": "yyyy-mm"}
SUMMARY_HEADER_ROW = 4


def _sheet_name(section: str, table: str, taken: set[str]) -> str:
    base = f"{section}.{table}"[:31]
    name, k = base, 2
    while name in taken:
        suffix = f"~{k}"
        name, k = base[: 31 - len(suffix)] + suffix, k + 1
    taken.add(name)
    return name


def _excel_value(value: object, column: dict, loc: Locale) -> object:
    """A cell's value: numbers and dates as such, text values in the report's words."""
    kind = column["kind"]
    if value is None:
        return None
    if kind in ("date", "month"):
        return date.fromisoformat(str(value)[:10])
    if kind in NUMERIC:
        return value
    return loc.cell(value, column)


def _summary_sheet(workbook, report: dict, loc: Locale) -> None:
    sheet = workbook.active
    sheet.title = "summary"
    write_row(sheet, 1, [report["title"]])
    write_row(sheet, 2, [report["subtitle"]])
    write_row(sheet, SUMMARY_HEADER_ROW, [loc.t(f"wb_{k}") for k in (
        "section", "status", "metric", "label", "value", "note")])
    row = SUMMARY_HEADER_ROW
    for s in report["sections"]:
        status = loc.t(f"wb_status_{s['status']}")
        if not s["metrics"]:
            row += 1
            write_row(sheet, row, [s["key"], status, None, s["title"], None,
                                   s.get("note") or None])
        for m in s["metrics"]:
            row += 1
            write_row(sheet, row, [s["key"], status, m["key"], m["label"],
                                   _excel_value(m["value"], m, loc), None])
            cell = sheet.cell(row=row, column=5)
            cell.number_format = KINDS_EXCEL.get(m["kind"], "General")
    finish_sheet(sheet, SUMMARY_HEADER_ROW, widths={6: 80})


def _table_sheet(sheet, table: dict, loc: Locale) -> None:
    write_row(sheet, 1, [c["label"] for c in table["columns"]])
    for row, values in enumerate(table["rows"], start=2):
        write_row(sheet, row, [_excel_value(values.get(c["key"]), c, loc)
                               for c in table["columns"]])
    for j, c in enumerate(table["columns"], start=1):
        for (cell,) in sheet.iter_rows(min_row=2, min_col=j, max_col=j):
            cell.number_format = KINDS_EXCEL.get(c["kind"], "General")
    finish_sheet(sheet)


def excel_bytes(report: dict) -> bytes:
    """The report's metrics (sheet ``summary``, first) and every table (one sheet each) as
    XLSX.

    Every text is written as text (see :mod:`forecast.io.spreadsheet`): a customer named
    ``=HYPERLINK(...)`` is a string cell, not a formula.
    """
    loc = Locale(report["lang"], report.get("currency", ""), report.get("currency_unit", "yuan"))
    workbook = Workbook()
    _summary_sheet(workbook, report, loc)
    taken = {"summary"}
    for s in report["sections"]:
        for table in s["tables"]:
            _table_sheet(workbook.create_sheet(_sheet_name(s["key"], table["key"], taken)),
                         table, loc)
    buffer = BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
