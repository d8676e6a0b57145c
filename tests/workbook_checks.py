"""Checks of the workbooks' text cells, shared by the workbook tests of every package."""

from __future__ import annotations

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")  # OWASP: what a spreadsheet may evaluate


def cells(book) -> list:
    """Every cell of every sheet of an openpyxl workbook."""
    return [cell for sheet in book.worksheets for row in sheet.iter_rows() for cell in row]


def assert_text(book, text: str) -> None:
    """``text`` is in the workbook only as string cells, quote-prefixed where it is the whole
    value and starts like a formula, never a formula."""
    hits = [c for c in cells(book) if isinstance(c.value, str) and text in c.value]
    assert hits, f"{text!r} not written"
    for cell in hits:
        where = f"{cell.parent.title}!{cell.coordinate}"
        assert cell.data_type == "s", f"{where} is {cell.data_type!r}: {cell.value!r}"
        if cell.value == text and text.startswith(FORMULA_STARTS):
            assert cell.quotePrefix, f"{where} has no quote prefix: {cell.value!r}"
