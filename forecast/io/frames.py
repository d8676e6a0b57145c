"""Writing pandas frames: into warehouse tables, and as Excel workbooks."""

from __future__ import annotations

import os
from pathlib import Path

import duckdb
import pandas as pd

from forecast.io.outputs import write_table
from forecast.io.spreadsheet import safe_text, text_cells_as_text


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

    Sheet names are cut to Excel's 31 characters; dates stay dates, numbers stay numbers, and
    text stays text: a value such as ``=HYPERLINK(...)`` is a quote-prefixed string cell, never
    a formula (see :mod:`forecast.io.spreadsheet`).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp.xlsx")
    with pd.ExcelWriter(tmp, engine="openpyxl") as writer:
        for name, frame in sheets.items():
            _writable(frame).to_excel(writer, sheet_name=name[:31], index=False)
            text_cells_as_text(writer.sheets[name[:31]])
    os.replace(tmp, path)
    return path


def _writable(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with the characters a worksheet cannot hold replaced in its text columns."""
    out = frame.copy()
    for column in out.columns:
        if out[column].dtype == object or pd.api.types.is_string_dtype(out[column]):
            out[column] = out[column].map(lambda v: safe_text(v) if isinstance(v, str) else v)
    return out
