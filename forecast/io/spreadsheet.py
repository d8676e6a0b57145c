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

from typing import Any

from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
REPLACEMENT = "\ufffd"


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
