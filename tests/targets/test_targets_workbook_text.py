"""The targets workbook writes unit names that start like a formula as text, while its own
SUM and NORMDIST formulas stay live (see tests/io/test_workbook_text.py for the other
workbooks)."""

from __future__ import annotations

import openpyxl
import pandas as pd

from forecast.config import TargetsConfig
from forecast.io.targets_workbook import write_targets_workbook
from forecast.targets.attainment import parse_period
from forecast.targets.plan import build_plan

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")  # OWASP
EVIL = '=HYPERLINK("http://example.invalid/x","Red Dragon")'


def _cells(book) -> list:
    return [cell for sheet in book.worksheets for row in sheet.iter_rows() for cell in row]


def _assert_text(book, text: str) -> None:
    """``text`` is in the workbook only as string cells, quote-prefixed where it is the whole
    value, never inside a formula."""
    hits = [c for c in _cells(book) if isinstance(c.value, str) and text in c.value]
    assert hits, f"{text!r} not written"
    for cell in hits:
        where = f"{cell.parent.title}!{cell.coordinate}"
        assert cell.data_type == "s", f"{where} is {cell.data_type!r}: {cell.value!r}"
        if cell.value == text and text.startswith(FORMULA_STARTS):
            assert cell.quotePrefix, f"{where} has no quote prefix: {cell.value!r}"


def _evil_plan(tiny_inputs) -> pd.DataFrame:
    plan = build_plan(tiny_inputs, TargetsConfig(decomposition="historical"),
                      parse_period("2027-Q1"), ["region", "team"], ["region"])
    for column in ("unit_id", "parent_id", "region", "statement"):
        plan[column] = plan[column].map(
            lambda v: v.replace("North", EVIL) if isinstance(v, str) else v)
    return plan


def test_targets_workbook_writes_risky_names_as_text_and_keeps_its_formulas(tiny_inputs,
                                                                            tmp_path):
    path = write_targets_workbook(_evil_plan(tiny_inputs), tmp_path / "targets.xlsx",
                                  {"period": "2027-Q1", "policy": "-5% stretch",
                                   "tolerance": 0.05})
    book = openpyxl.load_workbook(path)
    _assert_text(book, EVIL)
    _assert_text(book, "-5% stretch")
    region = book["region"]
    assert EVIL in [region.cell(r, 1).value for r in range(2, region.max_row + 1)]
    formulas = [c.value for c in _cells(book) if c.data_type == "f"]
    assert any(f.startswith("=SUM(") for f in formulas)
    assert any("NORMDIST" in f for f in formulas)
    assert all(EVIL not in f for f in formulas)
