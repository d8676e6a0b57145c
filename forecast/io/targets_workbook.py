"""The planners' targets workbook (Excel, written with openpyxl).

One sheet per organisation level (company, region, team, rep), one row per unit, all sheets
with the same columns. On the lowest level the month targets are plain numbers a planner can
edit; every level above holds ``=SUM(...)`` formulas over its children's rows on the next
sheet, and every period target is the ``=SUM`` of its months, so an edit flows up. Beside each
target its probability is a live formula, ``1 - NORMDIST(target, base, sd, TRUE)``, the chance
that the actual reaches it, ``sd`` being the deviation of the forecast's 80 % interval on the
target's side of the base (``sd above`` for a stretch, see :mod:`forecast.hierarchy.distribution`,
so a lopsided interval keeps its shape); bottom-up totals and mismatch flags are formulas
too. A ``weeks`` sheet lists the weekly targets, each a formula of its month: the unit's month
target (on its level sheet) times the week's share of that month, so an edit of a month flows
down to its weeks and their P(reach). An ``about`` sheet says how the numbers were made. Every
sheet is finished alike: header frozen, a filter, money and percentages formatted, columns
sized.

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
from openpyxl.utils import get_column_letter, quote_sheetname

from forecast.io.spreadsheet import finish_sheet, write_cell
from forecast.schemas import TARGET_KEYS

GRAIN_ORDER = ("company", "region", "team", "rep")  # the plan's ``level`` values, top down
MONEY = "#,##0.00"
PERCENT = "0.0%"
SHARE = "0.00%"


def write_targets_workbook(plan: pd.DataFrame, path: Path, notes: dict) -> Path:
    """Write the plan as an editable workbook, through a temporary file and a rename.

    Args:
        plan: the targets plan (``forecast.targets.plan.PLAN_COLUMNS``): level, unit_id,
            parent_id, region, team, rep_id, span, start, due, base, sd_below, sd_above,
            stretch, target, probability, bottom_up, last_year, statement.
        path: the ``.xlsx`` file to write.
        notes: shown on the ``about`` sheet (period, policy, ...); ``tolerance`` is the
            mismatch tolerance used by the mismatch formulas.

    Returns:
        The path written.
    """
    path = Path(path)
    book = Workbook()
    _write_about(book.active, notes)
    grains = [grain for grain in GRAIN_ORDER if (plan["level"] == grain).any()]
    months = sorted(plan.loc[plan["span"] == "month", "start"].unique())
    sheets = {grain: book.create_sheet(grain) for grain in grains}
    layout = _Layout(_columns(months), None, {}, float(notes.get("tolerance", 0.05)))
    placed: dict[str, tuple[str, int]] = {}
    # Lowest grain first: a parent's formulas need the rows of its children.
    for grain in reversed(grains):
        child_rows = _write_grain(sheets[grain], plan[plan["level"] == grain], months, layout,
                                  placed)
        layout = layout._replace(child_sheet=grain, child_rows=child_rows)
    weeks = plan[plan["span"] == "week"]
    if len(weeks):
        month_rows = plan[plan["span"] == "month"]
        month_targets = {(unit, pd.Timestamp(m)): target for unit, m, target in zip(
            month_rows["unit_id"], month_rows["start"], month_rows["target"], strict=True)}
        _write_weeks(book.create_sheet("weeks"), weeks,
                     _month_cells(placed, months, layout.columns), month_targets)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    book.save(tmp)
    os.replace(tmp, path)
    return path


def _month_cells(placed: dict[str, tuple[str, int]], months: list,
                 columns: dict[object, int]) -> dict[tuple[str, pd.Timestamp], str]:
    """(unit, month start) -> the cell of the unit's month target on its level sheet."""
    return {(unit, pd.Timestamp(month)):
            quote_sheetname(sheet) + "!" + _ref(columns[("target", k)], row)
            for unit, (sheet, row) in placed.items() for k, month in enumerate(months)}


class _Layout(NamedTuple):
    """Where things are: the column of each field, and the sheet and rows of the children."""

    columns: dict[object, int]
    child_sheet: str | None
    child_rows: dict[str, tuple[int, int]]
    tolerance: float


def _columns(months: list) -> dict[object, int]:
    """Column number of every field; the same on every level sheet so formulas line up."""
    spans = [*range(len(months)), "period"]
    keys: list[object] = ["unit", "parent", *TARGET_KEYS]
    keys += [part for span in spans for part in (("target", span), ("probability", span))]
    keys += ["bottom_up", "mismatch", "stretch", "last_year"]
    keys += [(field, span) for field in ("base", "sd_below", "sd_above") for span in spans]
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
            "base": f"{name} base", "sd_below": f"{name} sd below",
            "sd_above": f"{name} sd above"}[field]


def _write_grain(sheet, rows: pd.DataFrame, months: list, layout: _Layout,
                 placed: dict[str, tuple[str, int]]) -> dict[str, tuple[int, int]]:
    """Write one grain's sheet; return parent_id -> (first row, last row) of its units, and
    note each unit's (sheet, row) in ``placed``."""
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
        placed[str(unit.unit_id)] = (sheet.title, row)
    finish_sheet(sheet, widths={column: 60 if key == "statement" else
                                (14 if isinstance(key, tuple) else 16)
                                for key, column in columns.items()})
    sheet.freeze_panes = sheet.cell(2, columns[("target", 0)])
    return ranges


def _write_unit(sheet, row: int, unit, month_rows: list, layout: _Layout) -> None:
    columns, child_sheet, tolerance = layout.columns, layout.child_sheet, layout.tolerance
    below = layout.child_rows.get(str(unit.unit_id)) if child_sheet else None
    cell = _cell_writer(sheet, row, columns)
    cell("unit", unit.unit_id)
    cell("parent", None if pd.isna(unit.parent_id) else unit.parent_id)
    for key in TARGET_KEYS:
        value = getattr(unit, key)
        cell(key, None if pd.isna(value) else value)
    for span, part in enumerate([*month_rows, unit]):
        name = "period" if part is unit else span
        cell(("base", name), _number(part.base, exact=True), MONEY)
        cell(("sd_below", name), _number(part.sd_below, exact=True), MONEY)
        cell(("sd_above", name), _number(part.sd_above, exact=True), MONEY)
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
    """:func:`reach_formula` of the span's cells; empty without deviations."""
    if pd.isna(part.sd_below) or pd.isna(part.sd_above) or pd.isna(part.base):
        return None
    return reach_formula(*(_ref(columns[(field, span)], row)
                           for field in ("target", "base", "sd_below", "sd_above")))


def reach_formula(target: str, base: str, below: str, above: str) -> str:
    """``1 - NORMDIST(target, base, sd, TRUE)`` with ``sd`` the deviation above the base for a
    target at or above it and below the base for one under it (the cells' addresses); a step
    at the base where that deviation is 0."""
    return (f"=IF({target}>={base},IF({above}>0,1-NORMDIST({target},{base},{above},TRUE),"
            f"IF({target}<={base},1,0)),IF({below}>0,1-NORMDIST({target},{base},{below},TRUE),"
            "1))")


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


def week_shares(weeks: pd.DataFrame, month_targets: dict) -> pd.Series:
    """Each week's share of its unit's month target: week target / month target; where the
    month's target is 0, the week's share of the month's forecast (equal shares without one).

    Args:
        weeks: the plan's week rows (``unit_id, month, target, base``).
        month_targets: (unit_id, month start) -> the month's target.
    """
    keys = list(zip(weeks["unit_id"], pd.to_datetime(weeks["month"]), strict=True))
    month = pd.Series([month_targets.get(k, float("nan")) for k in keys], index=weeks.index)
    base = weeks["base"].astype(float).fillna(0.0).clip(lower=0.0)
    groups = [weeks["unit_id"], pd.to_datetime(weeks["month"])]
    base_total = base.groupby(groups).transform("sum")
    count = base.groupby(groups).transform("size")
    fallback = (base / base_total).where(base_total > 0, 1.0 / count)
    return (weeks["target"].astype(float) / month).where(month.abs() > 0, fallback)


def _write_weeks(sheet, weeks: pd.DataFrame, month_cells: dict, month_targets: dict) -> None:
    """Weekly targets as formulas of their month (month target x share), with their
    probabilities as formulas of the target."""
    headers = ["level", "unit", "month", "week start", "week end", "target", "P(reach)", "base",
               "sd below", "sd above", "share of month"]
    for column, header in enumerate(headers, 1):
        write_cell(sheet, 1, column, header)
    depth = weeks["level"].map({grain: k for k, grain in enumerate(GRAIN_ORDER)})
    order = weeks.assign(_depth=depth, month_share=week_shares(weeks, month_targets)).sort_values(
        ["_depth", "unit_id", "start"])
    for row, week in enumerate(order.itertuples(), 2):
        values = [week.level, week.unit_id, pd.Timestamp(week.month).date(),
                  pd.Timestamp(week.start).date(), pd.Timestamp(week.due).date(),
                  None, None, _number(week.base, exact=True),
                  _number(week.sd_below, exact=True), _number(week.sd_above, exact=True),
                  float(week.month_share)]
        for column, value in enumerate(values, 1):
            write_cell(sheet, row, column, value)
        month = month_cells.get((week.unit_id, pd.Timestamp(week.month)))
        target = f"={month}*K{row}" if month else round(float(week.target), 2)
        write_cell(sheet, row, 6, target, formula=bool(month))
        for column, number_format in ((6, MONEY), (8, MONEY), (9, MONEY), (10, MONEY),
                                      (11, SHARE)):
            sheet.cell(row, column).number_format = number_format
        for column in (3, 4, 5):
            sheet.cell(row, column).number_format = "yyyy-mm-dd"
        if not (pd.isna(week.sd_below) or pd.isna(week.sd_above)):
            write_cell(sheet, row, 7, reach_formula(f"F{row}", f"H{row}", f"I{row}", f"J{row}"),
                       formula=True).number_format = PERCENT
    finish_sheet(sheet, widths={6: 16, 7: 12})
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
        ("P(reach)", ("Chance that the actual reaches the target: 1 - NORMDIST(target, base, "
                      "sd, TRUE), sd the deviation of the forecast's 80 % interval above the "
                      "base for a target above it (sd above), below it for one under it.")),
        ("bottom-up", ("Sum of the children's own forecast medians (a unit without children: "
                       "its own); mismatch = |target - bottom-up| > tolerance x target.")),
    ]
    for row, (key, value) in enumerate(lines, 1):
        write_cell(sheet, row, 1, key).font = Font(bold=True)
        write_cell(sheet, row, 2, value)
    sheet.column_dimensions["A"].width = 18
    sheet.column_dimensions["B"].width = 110
