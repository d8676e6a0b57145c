"""The targets workbook writes unit names that start like a formula as text, while its own
SUM and NORMDIST formulas stay live (see tests/io/test_workbook_text.py for the other
workbooks)."""

from __future__ import annotations

import openpyxl
import pandas as pd
from workbook_checks import assert_text, cells

from forecast.config import TargetsConfig
from forecast.io.targets_workbook import write_targets_workbook
from forecast.targets.attainment import parse_period
from forecast.targets.plan import build_plan

EVIL = '=HYPERLINK("http://example.invalid/x","Red Dragon")'


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
    assert_text(book, EVIL)
    assert_text(book, "-5% stretch")
    region = book["region"]
    assert EVIL in [region.cell(r, 1).value for r in range(2, region.max_row + 1)]
    formulas = [c.value for c in cells(book) if c.data_type == "f"]
    assert any(f.startswith("=SUM(") for f in formulas)
    assert any("NORMDIST" in f for f in formulas)
    assert all(EVIL not in f for f in formulas)
