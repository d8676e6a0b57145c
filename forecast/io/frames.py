"""Writing pandas frames: into warehouse tables, and as Excel workbooks."""

from __future__ import annotations

import os
from pathlib import Path

import duckdb
import pandas as pd

from forecast.io.outputs import write_table
from forecast.io.spreadsheet import column_format, finish_sheet, safe_text, text_cells_as_text


def write_frame(con: duckdb.DuckDBPyConnection, name: str, frame: pd.DataFrame) -> int:
    """Replace warehouse table ``name`` with ``frame`` (one transaction); returns rows written."""
    view = f"_frame_{name}"
    con.register(view, frame)
    try:
        return write_table(con, name, f"SELECT * FROM {view}")
    finally:
        con.unregister(view)


def export_workbook(sheets: dict[str, pd.DataFrame], path: Path) -> Path:
    """Write frames as the sheets of one .xlsx file, through a temp file and a rename.

    Sheets come in the order given (the caller puts its summary first); names are cut to
    Excel's 31 characters. Dates stay dates, numbers stay numbers, and text stays text: a value
    such as ``=HYPERLINK(...)`` is a quote-prefixed string cell, never a formula (see
    :mod:`forecast.io.spreadsheet`). Each sheet is finished as every workbook of the project:
    header frozen, a filter, shares as percentages, money as money, counts and dates as such
    (:func:`~forecast.io.spreadsheet.column_format`), columns sized.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp.xlsx")
    with pd.ExcelWriter(tmp, engine="openpyxl") as writer:
        for name, frame in sheets.items():
            _writable(frame).to_excel(writer, sheet_name=name[:31], index=False)
            sheet = writer.sheets[name[:31]]
            text_cells_as_text(sheet)
            _number_formats(sheet, frame)
            finish_sheet(sheet)
    os.replace(tmp, path)
    return path


def _number_formats(sheet, frame: pd.DataFrame) -> None:
    """Each column's number format (see :func:`~forecast.io.spreadsheet.column_format`)."""
    for j, name in enumerate(frame.columns, start=1):
        number_format = column_format(name, frame[name].dtype)
        if number_format is None:
            continue
        for (cell,) in sheet.iter_rows(min_row=2, min_col=j, max_col=j):
            cell.number_format = number_format


def _writable(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with the characters a worksheet cannot hold replaced in its text columns."""
    out = frame.copy()
    for column in out.columns:
        if out[column].dtype == object or pd.api.types.is_string_dtype(out[column]):
            out[column] = out[column].map(lambda v: safe_text(v) if isinstance(v, str) else v)
    return out
