"""Cells of the workbooks the project writes: text stays text, formulas only where we put them.

A spreadsheet program reads a cell whose text starts with ``=``, ``+``, ``-``, ``@``, a tab or a
carriage return as a formula (formula or CSV injection, OWASP): a customer named
``=HYPERLINK("http://...","Red Dragon")`` would become a live link. openpyxl itself turns any
``str`` starting with ``=`` into a formula and ``"#N/A"`` into an error value. Every text value
written here is a string cell (``data_type 's'``), and one that starts like a formula also gets
Excel's quote prefix (the cell style of a value typed with a leading apostrophe): the reader sees
the original text, no program evaluates it, and editing the cell keeps it text. The workbooks'
own formulas are written with ``formula=True`` and stay live. Numbers (negative ones too) stay
numbers. Characters a workbook cannot hold (control characters other than tab, line feed and
carriage return) are replaced by U+FFFD instead of failing the whole file.
"""

from __future__ import annotations

import unicodedata
from typing import Any

import pandas as pd
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
REPLACEMENT = "\ufffd"
# Number formats of the workbooks: one per kind of number, as in the reports.
MONEY = "#,##0.00"
PERCENT = "0.0%"
COUNT = "#,##0"
DECIMAL = "#,##0.00"
DATE = "yyyy-mm-dd"
WIDTH_SAMPLE = 200  # rows read to size a column
MIN_WIDTH, MAX_WIDTH = 8, 60


def safe_text(value: str) -> str:
    """``value`` with the characters a worksheet cannot hold replaced by U+FFFD."""
    return ILLEGAL_CHARACTERS_RE.sub(REPLACEMENT, value)


def set_value(cell, value: Any, *, formula: bool = False):
    """Put ``value`` in an openpyxl ``cell``; text is always a string cell (see module doc).

    Args:
        cell: an openpyxl cell.
        value: the value; a ``str`` is written as text unless ``formula``.
        formula: ``value`` is one of the workbook's own formulas (``"=SUM(...)"``).

    Returns:
        The cell.
    """
    if formula or not isinstance(value, str):
        cell.value = value
        return cell
    text = safe_text(value)
    cell.value = text
    cell.data_type = "s"
    if text.startswith(FORMULA_STARTS):
        cell.quotePrefix = True
    return cell


def write_cell(sheet, row: int, column: int, value: Any, *, formula: bool = False):
    """Write ``value`` at (row, column) of ``sheet`` as :func:`set_value` does; returns the
    cell."""
    return set_value(sheet.cell(row=row, column=column), value, formula=formula)


def write_row(sheet, row: int, values: list) -> None:
    """Write ``values`` (data, never formulas) into ``row`` from column 1."""
    for column, value in enumerate(values, start=1):
        if value is not None:
            write_cell(sheet, row, column, value)


def text_cells_as_text(sheet) -> None:
    """Make every text cell already in ``sheet`` a string cell (a sheet of data written by
    another writer, e.g. pandas, which has no formulas of its own)."""
    for row in sheet.iter_rows():
        for cell in row:
            if isinstance(cell.value, str):
                set_value(cell, cell.value)


def _text_width(value: Any) -> int:
    """Characters a value takes in a cell; East Asian wide characters count twice."""
    text = f"{value:,.2f}" if isinstance(value, float) else str(value)
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def finish_sheet(sheet, header_row: int = 1, widths: dict[int, float] | None = None) -> None:
    """The finish of every data sheet the project writes: the header row bold and frozen, a
    filter over the table, and each column sized to its header and values (sampled).

    Args:
        sheet: an openpyxl worksheet whose table starts at ``header_row``.
        header_row: the row of the column headers.
        widths: column number -> width, for columns sized by the caller.
    """
    if sheet.max_row < header_row:
        return
    for cell in sheet[header_row]:
        if cell.value is not None:
            cell.font = Font(bold=True)
    sheet.freeze_panes = sheet.cell(header_row + 1, 1)
    last = get_column_letter(sheet.max_column)
    sheet.auto_filter.ref = f"A{header_row}:{last}{max(sheet.max_row, header_row)}"
    rows = range(header_row, min(sheet.max_row, header_row + WIDTH_SAMPLE) + 1)
    for column in range(1, sheet.max_column + 1):
        if widths and column in widths:
            width = widths[column]
        else:
            seen = [_text_width(sheet.cell(r, column).value) for r in rows
                    if sheet.cell(r, column).value is not None]
            width = min(MAX_WIDTH, max([MIN_WIDTH, *(w + 2 for w in seen)]))
        sheet.column_dimensions[get_column_letter(column)].width = width


SHARE_NAMES = ("share", "probability", "proba", "p_win", "conversion", "growth", "wape",
               "smape", "mape", "bias", "rate")
MONEY_NAMES = ("revenue", "amount", "monetary", "target", "base", "stretch", "last_year",
               "bottom_up", "yhat", "at_risk", "gap")


def column_format(name: str, dtype) -> str | None:
    """The number format of a data column, by its name and type: shares and probabilities as
    percentages, amounts as money, whole numbers as counts, dates as dates; None for text."""
    lowered = str(name).lower()
    if pd.api.types.is_datetime64_any_dtype(dtype):
        return DATE
    if pd.api.types.is_bool_dtype(dtype) or not pd.api.types.is_numeric_dtype(dtype):
        return None
    if lowered.startswith(("coverage_", "pinball_")) or \
            any(lowered == n or lowered.endswith(f"_{n}") or lowered.startswith(f"{n}_")
                for n in SHARE_NAMES):
        return PERCENT
    if any(n in lowered for n in MONEY_NAMES) and not lowered.endswith(("_days", "_score")):
        return MONEY
    if pd.api.types.is_integer_dtype(dtype) or lowered.endswith("_days"):
        return COUNT
    return DECIMAL
