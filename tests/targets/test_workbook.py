"""The planners' workbook: it round-trips through openpyxl and its formulas add up.

LibreOffice is not installed, so the formulas are evaluated here: SUM over cells and ranges
(also on other sheets), the probability formula (1 - NORMDIST) and the mismatch flag.
"""

from __future__ import annotations

import re

import openpyxl
import pandas as pd
import pytest
from openpyxl.utils import column_index_from_string, range_boundaries
from scipy.stats import norm

from forecast.config import TargetsConfig
from forecast.io.targets_workbook import write_targets_workbook
from forecast.targets.attainment import parse_period
from forecast.targets.plan import PlanInputs, build_plan

_SUM = re.compile(r"^=SUM\((.*)\)$")
_REF = re.compile(r"^(?:'([^']+)'!)?([A-Z]+\d+(?::[A-Z]+\d+)?)$")
_PROBABILITY = re.compile(
    r"^=IF\((\w+)>=(\w+),IF\((\w+)>0,1-NORMDIST\(\1,\2,\3,TRUE\),IF\(\1<=\2,1,0\)\),"
    r"IF\((\w+)>0,1-NORMDIST\(\1,\2,\4,TRUE\),1\)\)$")
BOTTOM_UP = "bottom-up (children's base)"
_MISMATCH = re.compile(r'^=IF\(ABS\((\w+)-(\w+)\)>([\d.]+)\*ABS\((\w+)\),"yes","no"\)$')
_PRODUCT = re.compile(r"^=((?:'[^']+'!)?[A-Z]+\d+)\*([A-Z]+\d+)$")


def evaluate(book, sheet: str, address: str):
    """The value of a cell, evaluating the formulas the workbook uses."""
    value = book[sheet][address].value
    if not isinstance(value, str) or not value.startswith("="):
        return value
    if _REF.match(value[1:]):
        return _values(book, sheet, value[1:])
    if match := _SUM.match(value):
        return sum(_values(book, sheet, part) for part in match.group(1).split(","))
    if match := _PROBABILITY.match(value):
        target, base, above, below = (evaluate(book, sheet, match.group(k)) for k in range(1, 5))
        sd = above if target >= base else below
        return 1 - norm.cdf(target, base, sd) if sd > 0 else float(target <= base)
    if match := _PRODUCT.match(value):
        return _values(book, sheet, match.group(1)) * _values(book, sheet, match.group(2))
    if match := _MISMATCH.match(value):
        target, bottom_up = evaluate(book, sheet, match.group(1)), evaluate(book, sheet,
                                                                            match.group(2))
        return "yes" if abs(target - bottom_up) > float(match.group(3)) * abs(target) else "no"
    raise AssertionError(f"formula the test cannot evaluate: {value}")


def _values(book, sheet: str, part: str) -> float:
    match = _REF.match(part.strip())
    assert match, part
    where = match.group(1) or sheet
    if ":" not in match.group(2):
        return evaluate(book, where, match.group(2))
    low_col, low_row, high_col, high_row = range_boundaries(match.group(2))
    return sum(evaluate(book, where, book[where].cell(r, c).coordinate)
               for r in range(low_row, high_row + 1) for c in range(low_col, high_col + 1))


def _headers(sheet) -> dict[str, str]:
    return {cell.value: cell.column_letter for cell in sheet[1]}


def _lopsided(inputs: PlanInputs) -> PlanInputs:
    """The tiny company with calibrated intervals three times as wide above the median as
    below it on the company's quarter and on every week (as on quarterly data, or weeks whose
    errors were skewed)."""
    z = 1.2815515655446004
    forecast, weekly = inputs.forecast.copy(), inputs.weekly.copy()
    company = (forecast["unique_id"] == "total") & (forecast["period_type"] == "quarter")
    forecast.loc[company, ["yhat_lo_80", "yhat_hi_80"]] = [1000.0 - z * 50.0, 1000.0 + z * 150.0]
    weekly["yhat_lo_80"] = weekly["yhat"] - z * weekly["yhat_sd"] / 2
    weekly["yhat_hi_80"] = weekly["yhat"] + z * weekly["yhat_sd"] * 1.5
    return PlanInputs(forecast, inputs.history, inputs.last_year, weekly)


@pytest.fixture(params=["symmetric", "lopsided"])
def workbook(tiny_inputs, tmp_path, request):
    config = TargetsConfig(decomposition="historical")
    inputs = tiny_inputs if request.param == "symmetric" else _lopsided(tiny_inputs)
    plan = build_plan(inputs, config, parse_period("2027-Q1"), ["region", "team"], ["region"])
    if request.param == "lopsided":  # a stretch above the median reads the deviation above
        week = plan[(plan["span"] == "week") & (plan["unit_id"] == "total")].iloc[0]
        assert week["sd_above"] == pytest.approx(3 * week["sd_below"])
        top = plan[(plan["span"] == "period") & (plan["unit_id"] == "total")].iloc[0]
        assert top["target"] == pytest.approx(1000.0 + 0.2533471 * 150.0, abs=0.01)
    path = write_targets_workbook(plan, tmp_path / "out" / "targets_2027-Q1.xlsx",
                                  {"period": "2027-Q1", "tolerance": 0.05})
    return plan, openpyxl.load_workbook(path), path


def test_one_sheet_per_level_and_the_weeks(workbook):
    _, book, path = workbook
    assert path.is_file() and not path.with_name(path.name + ".tmp").exists()
    assert book.sheetnames == ["about", "company", "region", "team", "weeks"]
    assert book["about"]["B2"].value == "2027-Q1"


def test_sums_are_formulas_and_evaluate_to_the_plan(workbook):
    plan, book, _ = workbook
    months = ["Jan 2027", "Feb 2027", "Mar 2027", "2027-Q1"]
    for level in ("company", "region", "team"):
        sheet = book[level]
        columns = _headers(sheet)
        rows = {sheet[f"A{r}"].value: r for r in range(2, sheet.max_row + 1)}
        for unit, row in rows.items():
            expected = plan[plan["unit_id"] == unit].set_index("span")
            for k, name in enumerate(months):
                cell = f"{columns[f'{name} target']}{row}"
                value = sheet[cell].value
                if name == "2027-Q1" or level != "team":
                    assert isinstance(value, str) and value.startswith("=SUM("), (level, cell)
                else:  # the lowest level holds the numbers planners edit
                    assert isinstance(value, float), (level, cell)
                span = "period" if name == "2027-Q1" else "month"
                want = expected.loc[[span], "target"].iloc[0 if span == "period" else k]
                assert evaluate(book, level, cell) == pytest.approx(want, abs=1e-9)
    assert book["company"]["F2"].value == "=SUM('region'!F2:F3)"
    assert book["region"]["F3"].value == "=SUM('team'!F4:F4)"


def test_probabilities_sit_beside_the_targets_and_match_the_plan(workbook):
    plan, book, _ = workbook
    for level in ("company", "region", "team"):
        sheet = book[level]
        columns = _headers(sheet)
        target_column = column_index_from_string(columns["2027-Q1 target"])
        assert columns["2027-Q1 P(reach)"] == sheet.cell(1, target_column + 1).column_letter
        for row in range(2, sheet.max_row + 1):
            unit = sheet[f"A{row}"].value
            want = plan[(plan["unit_id"] == unit) & (plan["span"] == "period")].iloc[0]
            address = f"{columns['2027-Q1 P(reach)']}{row}"
            assert sheet[address].value.startswith("=IF(")
            assert evaluate(book, level, address) == pytest.approx(want["probability"],
                                                                   abs=1e-9)
            bottom_up = evaluate(book, level, f"{columns[BOTTOM_UP]}{row}")
            assert bottom_up == pytest.approx(want["bottom_up"], abs=1e-9)
            flag = evaluate(book, level, f"{columns['mismatch']}{row}")
            assert flag == ("yes" if want["mismatch"] else "no")


def test_an_edit_on_the_lowest_level_flows_up(workbook, tmp_path):
    plan, book, _ = workbook
    team = book["team"]
    columns = _headers(team)
    before = evaluate(book, "company", f"{columns['2027-Q1 target']}2")
    cell = f"{columns['Feb 2027 target']}2"
    team[cell] = team[cell].value + 100.0
    edited = tmp_path / "edited.xlsx"
    book.save(edited)
    again = openpyxl.load_workbook(edited)
    assert evaluate(again, "company", f"{columns['2027-Q1 target']}2") == \
        pytest.approx(before + 100.0)
    assert evaluate(again, "region", f"{columns['Feb 2027 target']}2") == pytest.approx(
        plan.query("unit_id == 'North' and span == 'month'")["target"].iloc[1] + 100.0)


def test_weeks_sheet_lists_week_targets_with_probabilities(workbook):
    plan, book, _ = workbook
    sheet = book["weeks"]
    weeks = plan[plan["span"] == "week"]
    assert sheet.max_row - 1 == len(weeks)
    assert [c.value for c in sheet[1]][:7] == ["level", "unit", "month", "week start",
                                               "week end", "target", "P(reach)"]
    first = weeks[weeks["unit_id"] == "total"].iloc[0]
    assert sheet["B2"].value == "total" and sheet["F2"].value == "='company'!F2*K2"
    assert evaluate(book, "weeks", "F2") == pytest.approx(first["target"])
    assert evaluate(book, "weeks", "G2") == pytest.approx(first["probability"], abs=1e-9)
    for row in range(2, sheet.max_row + 1):  # every week is a formula of its month
        unit, start = sheet[f"B{row}"].value, pd.Timestamp(sheet[f"D{row}"].value)
        want = weeks[(weeks["unit_id"] == unit) & (weeks["start"] == start) & (
            weeks["month"] == pd.Timestamp(sheet[f"C{row}"].value))]["target"].iloc[0]
        assert sheet[f"F{row}"].value.startswith("='"), row
        assert evaluate(book, "weeks", f"F{row}") == pytest.approx(want, abs=1e-6)


def test_an_edit_of_a_month_flows_down_to_its_weeks(workbook, tmp_path):
    _, book, _ = workbook
    team = book["team"]
    columns = _headers(team)
    cell = f"{columns['Feb 2027 target']}2"
    unit = team["A2"].value
    weeks = book["weeks"]
    rows = [r for r in range(2, weeks.max_row + 1) if weeks[f"B{r}"].value == unit
            and weeks[f"C{r}"].value.month == 2]
    before = [evaluate(book, "weeks", f"F{r}") for r in rows]
    chances = [evaluate(book, "weeks", f"G{r}") for r in rows]
    assert sum(before) == pytest.approx(team[cell].value)
    team[cell] = team[cell].value * 1.5
    edited = tmp_path / "edited.xlsx"
    book.save(edited)
    again = openpyxl.load_workbook(edited)
    after = [evaluate(again, "weeks", f"F{r}") for r in rows]
    assert after == pytest.approx([1.5 * b for b in before])
    assert sum(after) == pytest.approx(again["team"][cell].value)
    assert all(a < c for a, c in zip([evaluate(again, "weeks", f"G{r}") for r in rows],
                                     chances, strict=True))


def test_every_sheet_is_finished(workbook):
    _, book, _ = workbook
    for sheet in book.worksheets[1:]:  # the level sheets and the weeks; "about" is notes
        assert sheet.auto_filter.ref and sheet.auto_filter.ref.startswith("A1:"), sheet.title
        assert sheet.freeze_panes and sheet.freeze_panes.endswith("2"), sheet.title
        assert all(c.font.b for c in sheet[1] if c.value is not None), sheet.title
    weeks = book["weeks"]
    assert weeks["K2"].number_format == "0.00%" and weeks["F2"].number_format == "#,##0.00"
    assert weeks["G2"].number_format == "0.0%"
