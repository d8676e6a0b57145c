"""The planners' targets workbook (Excel, written with openpyxl).

One sheet per organisation level (company, region, team, rep), one row per unit, all sheets
with the same columns. On the lowest level the month targets are plain numbers a planner can
edit; every level above holds ``=SUM(...)`` formulas over its children's rows on the next
sheet, and every period target is the ``=SUM`` of its months, so an edit flows up. Beside each
target its probability is a live formula, ``1 - NORMDIST(target, base, sd, TRUE)``, the chance
that a Normal(base, sd) actual reaches it; bottom-up totals and mismatch flags are formulas
too. A ``weeks`` sheet lists the weekly targets and an ``about`` sheet says how the numbers were
made.

Text (unit names, the statements, the notes) is written as text, never as a formula, however it
starts (see :mod:`forecast.io.spreadsheet`); only the formulas built here are live.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import NamedTuple

import pandas as pd
from openpyxl import Workbook
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

from forecast.io.spreadsheet import write_cell

LEVEL_ORDER = ("company", "region", "team", "rep")
KEY_COLUMNS = ("region", "team", "rep_id")
MONEY = "#,##0.00"
PERCENT = "0.0%"


def write_targets_workbook(plan: pd.DataFrame, path: Path, notes: dict) -> Path:
    """Write the plan as an editable workbook, through a temporary file and a rename.

    Args:
        plan: the targets plan (``forecast.targets.plan.PLAN_COLUMNS``): level, unit_id,
            parent_id, region, team, rep_id, span, start, due, base, yhat_sd, stretch, target,
            probability, bottom_up, last_year, statement.
        path: the ``.xlsx`` file to write.
        notes: shown on the ``about`` sheet (period, policy, ...); ``tolerance`` is the
            mismatch tolerance used by the mismatch formulas.

    Returns:
        The path written.
    """
    path = Path(path)
    book = Workbook()
    _write_about(book.active, notes)
    levels = [level for level in LEVEL_ORDER if (plan["level"] == level).any()]
    months = sorted(plan.loc[plan["span"] == "month", "start"].unique())
    sheets = {level: book.create_sheet(level) for level in levels}
    layout = _Layout(_columns(months), None, {}, float(notes.get("tolerance", 0.05)))
    # Lowest level first: a parent's formulas need the rows of its children.
    for level in reversed(levels):
        child_rows = _write_level(sheets[level], plan[plan["level"] == level], months, layout)
        layout = layout._replace(child_sheet=level, child_rows=child_rows)
    weeks = plan[plan["span"] == "week"]
    if len(weeks):
        _write_weeks(book.create_sheet("weeks"), weeks)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    book.save(tmp)
    os.replace(tmp, path)
    return path


class _Layout(NamedTuple):
    """Where things are: the column of each field, and the sheet and rows of the children."""

    columns: dict[object, int]
    child_sheet: str | None
    child_rows: dict[str, tuple[int, int]]
    tolerance: float


def _columns(months: list) -> dict[object, int]:
    """Column number of every field; the same on every level sheet so formulas line up."""
    spans = [*range(len(months)), "period"]
    keys: list[object] = ["unit", "parent", *KEY_COLUMNS]
    keys += [part for span in spans for part in (("target", span), ("probability", span))]
    keys += ["bottom_up", "mismatch", "stretch", "last_year"]
    keys += [("base", span) for span in spans] + [("sd", span) for span in spans]
    keys += ["due", "statement"]
    return {key: k for k, key in enumerate(keys, 1)}


def _header(key: object, months: list, label: str) -> str:
    if not isinstance(key, tuple):
        return {"unit": "unit", "parent": "parent", "bottom_up": "bottom-up (children's base)",
                "mismatch": "mismatch", "stretch": "stretch (own)", "last_year": "last year",
                "due": "due", "statement": "target statement"}.get(key, key)
    field, span = key
    name = label if span == "period" else f"{pd.Timestamp(months[span]):%b %Y}"
    return {"target": f"{name} target", "probability": f"{name} P(reach)",
            "base": f"{name} base", "sd": f"{name} sd"}[field]


def _write_level(sheet, rows: pd.DataFrame, months: list,
                 layout: _Layout) -> dict[str, tuple[int, int]]:
    """Write one level's sheet; return parent_id -> (first row, last row) of its units."""
    columns = layout.columns
    label = str(rows["period"].iloc[0])
    for key, column in columns.items():
        write_cell(sheet, 1, column, _header(key, months, label)).font = Font(bold=True)
    units = rows[rows["span"] == "period"].sort_values(["parent_id", "unit_id"], kind="stable")
    spans = {(r.unit_id, pd.Timestamp(r.start)): r
             for r in rows[rows["span"] == "month"].itertuples()}
    ranges: dict[str, tuple[int, int]] = {}
    for row, unit in enumerate(units.itertuples(), 2):
        parent = "" if pd.isna(unit.parent_id) else str(unit.parent_id)
        first, _ = ranges.get(parent, (row, row))
        ranges[parent] = (first, row)
        month_rows = [spans[(unit.unit_id, pd.Timestamp(m))] for m in months]
        _write_unit(sheet, row, unit, month_rows, layout)
    sheet.freeze_panes = sheet.cell(2, columns[("target", 0)])
    for key, column in columns.items():
        width = 60 if key == "statement" else (14 if isinstance(key, tuple) else 16)
        sheet.column_dimensions[get_column_letter(column)].width = width
    return ranges


def _write_unit(sheet, row: int, unit, month_rows: list, layout: _Layout) -> None:
    columns, child_sheet, tolerance = layout.columns, layout.child_sheet, layout.tolerance
    below = layout.child_rows.get(str(unit.unit_id)) if child_sheet else None
    cell = _cell_writer(sheet, row, columns)
    cell("unit", unit.unit_id)
    cell("parent", None if pd.isna(unit.parent_id) else unit.parent_id)
    for key in KEY_COLUMNS:
        value = getattr(unit, key)
        cell(key, None if pd.isna(value) else value)
    for span, part in enumerate([*month_rows, unit]):
        name = "period" if part is unit else span
        cell(("base", name), _number(part.base, exact=True), MONEY)
        cell(("sd", name), _number(part.yhat_sd, exact=True), MONEY)
        if name == "period":
            parts = ",".join(_ref(columns[("target", k)], row) for k in range(len(month_rows)))
            cell(("target", name), f"=SUM({parts})", MONEY, formula=True)
        elif below:
            cell(("target", name), _sum_below(child_sheet, columns[("target", name)], below),
                 MONEY, formula=True)
        else:
            cell(("target", name), round(float(part.target), 2), MONEY)
        cell(("probability", name), _probability_formula(columns, row, name, part), PERCENT,
             formula=True)
    target, bottom_up = _ref(columns[("target", "period")], row), _ref(columns["bottom_up"], row)
    cell("bottom_up", _sum_below(child_sheet, columns[("base", "period")], below) if below
         else f"={_ref(columns[('base', 'period')], row)}", MONEY, formula=True)
    cell("mismatch", f'=IF(ABS({target}-{bottom_up})>{tolerance!r}*ABS({target}),"yes","no")',
         formula=True)
    cell("stretch", _number(unit.stretch), MONEY)
    cell("last_year", _number(unit.last_year), MONEY)
    cell("due", pd.Timestamp(unit.due).date(), "yyyy-mm-dd")
    cell("statement", unit.statement)


def _cell_writer(sheet, row: int, columns: dict[object, int]):
    """``write(key, value, number_format, formula=False)`` for one row: text as text, and
    ``formula=True`` for the workbook's own formulas."""
    def write(key: object, value: object, number_format: str | None = None,
              formula: bool = False) -> None:
        target = write_cell(sheet, row, columns[key], value, formula=formula)
        if number_format:
            target.number_format = number_format
    return write


def _probability_formula(columns: dict[object, int], row: int, span: object, part) -> object:
    """``1 - NORMDIST(target, base, sd, TRUE)``; a step where sd is 0; empty without sd."""
    if pd.isna(part.yhat_sd) or pd.isna(part.base):
        return None
    target = _ref(columns[("target", span)], row)
    base, sd = _ref(columns[("base", span)], row), _ref(columns[("sd", span)], row)
    return (f"=IF({sd}>0,1-NORMDIST({target},{base},{sd},TRUE),"
            f"IF({target}<={base},1,0))")


def _sum_below(sheet_title: str | None, column: int, rows: tuple[int, int]) -> str:
    letter = get_column_letter(column)
    return f"=SUM('{sheet_title}'!{letter}{rows[0]}:{letter}{rows[1]})"


def _ref(column: int, row: int) -> str:
    return f"{get_column_letter(column)}{row}"


def _number(value: object, exact: bool = False) -> float | None:
    """A cell value: None when missing; rounded to the cent unless ``exact`` (the forecast's
    base and sd keep their precision so the probability formulas match the table)."""
    if value is None or pd.isna(value):
        return None
    return float(value) if exact else round(float(value), 2)


def _write_weeks(sheet, weeks: pd.DataFrame) -> None:
    """Weekly targets as numbers, with their probabilities as formulas."""
    headers = ["level", "unit", "month", "week start", "week end", "target", "P(reach)", "base",
               "sd"]
    for column, header in enumerate(headers, 1):
        write_cell(sheet, 1, column, header).font = Font(bold=True)
    depth = weeks["level"].map({level: k for k, level in enumerate(LEVEL_ORDER)})
    order = weeks.assign(_depth=depth).sort_values(["_depth", "unit_id", "start"])
    for row, week in enumerate(order.itertuples(), 2):
        values = [week.level, week.unit_id, pd.Timestamp(week.month).date(),
                  pd.Timestamp(week.start).date(), pd.Timestamp(week.due).date(),
                  round(float(week.target), 2), None, _number(week.base, exact=True),
                  _number(week.yhat_sd, exact=True)]
        for column, value in enumerate(values, 1):
            write_cell(sheet, row, column, value)
        for column in (6, 8, 9):
            sheet.cell(row, column).number_format = MONEY
        for column in (3, 4, 5):
            sheet.cell(row, column).number_format = "yyyy-mm-dd"
        if not pd.isna(week.yhat_sd):
            write_cell(sheet, row, 7, f"=IF(I{row}>0,1-NORMDIST(F{row},H{row},I{row},TRUE),"
                                      f"IF(F{row}<=H{row},1,0))", formula=True
                       ).number_format = PERCENT
    sheet.freeze_panes = "C2"


def _write_about(sheet, notes: dict) -> None:
    sheet.title = "about"
    lines = [
        ("Targets plan", ""),
        *((str(key).replace("_", " "), ", ".join(map(str, value)) if isinstance(value, list)
           else str(value)) for key, value in notes.items()),
        ("", ""),
        ("How to use", ("Edit month targets on the lowest level sheet; the levels above, the "
                        "period totals, the probabilities and the mismatch flags are formulas "
                        "and follow.")),
        ("P(reach)", ("Chance that the actual reaches the target if it is Normal(base, sd): "
                      "1 - NORMDIST(target, base, sd, TRUE).")),
        ("bottom-up", ("Sum of the children's own forecast medians (a unit without children: "
                       "its own); mismatch = |target - bottom-up| > tolerance x target.")),
    ]
    for row, (key, value) in enumerate(lines, 1):
        write_cell(sheet, row, 1, key).font = Font(bold=True)
        write_cell(sheet, row, 2, value)
    sheet.column_dimensions["A"].width = 18
    sheet.column_dimensions["B"].width = 110
