"""A report document as an Excel workbook: its metrics on sheet ``summary``, every table on a
sheet of its own, with number formats by kind."""

from __future__ import annotations

from datetime import date
from io import BytesIO

from openpyxl import Workbook
from openpyxl.styles import Font

from forecast.io.spreadsheet import write_row

KINDS_EXCEL = {"money": "#,##0.00", "signed_money": "+#,##0.00;-#,##0.00", "count": "#,##0",
               "pct": "0.0%", "signed_pct": "+0.0%;-0.0%", "prob": "0%", "points": "+0.0%;-0.0%",
               "ratio": "0.000", "number": "#,##0.00", "date": "yyyy-mm-dd",
               "month": "yyyy-mm"}


def _sheet_name(section: str, table: str, taken: set[str]) -> str:
    base = f"{section}.{table}"[:31]
    name, k = base, 2
    while name in taken:
        suffix = f"~{k}"
        name, k = base[: 31 - len(suffix)] + suffix, k + 1
    taken.add(name)
    return name


def _excel_value(value: object, kind: str) -> object:
    if value is not None and kind in ("date", "month"):
        return date.fromisoformat(str(value)[:10])
    return value


def _summary_sheet(workbook, report: dict) -> None:
    sheet = workbook.active
    sheet.title = "summary"
    write_row(sheet, 1, [report["title"]])
    write_row(sheet, 2, [report["subtitle"]])
    write_row(sheet, 4, ["section", "status", "metric", "label", "value", "note"])
    row = 4
    for s in report["sections"]:
        if not s["metrics"]:
            row += 1
            write_row(sheet, row, [s["key"], s["status"], None, s["title"], None,
                                   s.get("note") or None])
        for m in s["metrics"]:
            row += 1
            write_row(sheet, row, [s["key"], s["status"], m["key"], m["label"],
                                   _excel_value(m["value"], m["kind"]), None])
            cell = sheet.cell(row=row, column=5)
            cell.number_format = KINDS_EXCEL.get(m["kind"], "General")


def excel_bytes(report: dict) -> bytes:
    """The report's metrics (sheet ``summary``) and every table (one sheet each) as XLSX.

    Every text is written as text (see :mod:`forecast.io.spreadsheet`): a customer named
    ``=HYPERLINK(...)`` is a string cell, not a formula.
    """
    workbook = Workbook()
    _summary_sheet(workbook, report)
    taken = {"summary"}
    for s in report["sections"]:
        for table in s["tables"]:
            sheet = workbook.create_sheet(_sheet_name(s["key"], table["key"], taken))
            write_row(sheet, 1, [c["label"] for c in table["columns"]])
            for cell in sheet[1]:
                cell.font = Font(bold=True)
            for row, values in enumerate(table["rows"], start=2):
                write_row(sheet, row, [_excel_value(values.get(c["key"]), c["kind"])
                                       for c in table["columns"]])
            for j, c in enumerate(table["columns"], start=1):
                for (cell,) in sheet.iter_rows(min_row=2, min_col=j, max_col=j):
                    cell.number_format = KINDS_EXCEL.get(c["kind"], "General")
            sheet.freeze_panes = "A2"
    buffer = BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
