"""Which months of a monthly report have data: no silent zeros.

A month with no order line at all is *empty*: its revenue is missing, not 0, and nothing is
compared with it. A month whose amounts do not add up to a finite number (an amount in the
warehouse is NaN or infinite) is *not finite*: its revenue and every total that includes it are
missing. A member of a key (a region, a channel) that sold nothing in a month that has orders
is a real 0 and stays 0.

:func:`mask_empty_months` rewrites the frames of :class:`MonthlyInputs` so the values of empty
months are NaN instead of the 0 the SQL's ``coalesce`` gives members without rows; the builders
then show them as missing, and :func:`coverage_notes` says why, in the report's language.
"""

from __future__ import annotations

import math
from dataclasses import replace
from datetime import date

import pandas as pd

from forecast.periods import add_months
from forecast.reports.i18n import MISSING, Locale
from forecast.reports.inputs import MonthlyInputs

OK, EMPTY, NOT_FINITE = "ok", "empty", "not_finite"


def _periods(monthly: pd.DataFrame) -> pd.Series:
    return pd.to_datetime(monthly["period"]).dt.date


def month_state(monthly: pd.DataFrame, period: date) -> str:
    """``ok``, ``empty`` (no order line dated in the month) or ``not_finite`` (its revenue is
    NaN or infinite)."""
    hit = monthly.loc[_periods(monthly) == period, "revenue"]
    if hit.empty:
        return EMPTY
    value = hit.iloc[0]
    return OK if value is not None and not pd.isna(value) and math.isfinite(value) \
        else NOT_FINITE


def finite(value: object) -> float | None:
    """``value`` as a float, or None when it is missing, NaN or infinite."""
    if value is None or pd.isna(value):
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def _blank(frame: pd.DataFrame | None, columns: list[str]) -> pd.DataFrame | None:
    if frame is None or not columns:
        return frame
    return frame.assign(**{c: float("nan") for c in columns if c in frame.columns})


def mask_empty_months(inputs: MonthlyInputs) -> MonthlyInputs:
    """``inputs`` with the revenue of the report month, the month before and the month a year
    before set to NaN (missing) wherever that month has no orders at all."""
    w, monthly = inputs.window, inputs.monthly
    empty = {key for key, period in (("current", w.start), ("previous", w.previous),
                                     ("year_ago", w.year_ago))
             if month_state(monthly, period) == EMPTY}
    if not empty:
        return inputs
    dims = {key: _blank(f, [c for c in ("current", "previous", "year_ago") if c in empty])
            for key, f in inputs.dimensions.items()}
    spread = [c for c in ("current", "previous") if c in empty]
    actuals = {"current": "actual_month", "previous": "actual_previous"}
    attainment = {key: _blank(f, [actuals[c] for c in spread])
                  for key, f in inputs.attainment.items()}
    return replace(inputs, dimensions=dims, distribution=_blank(inputs.distribution, spread),
                   attainment=attainment)


def coverage_notes(inputs: MonthlyInputs, loc: Locale) -> list[str]:
    """Notes on the months the revenue section reads that are empty or not finite: the report
    month, the month before, a year before, and the year-to-date months of both years."""
    w, monthly = inputs.window, inputs.monthly
    named = [w.start, w.previous, w.year_ago]
    ytd = _months(w.year_start, w.start) + _months(add_months(w.year_start, -12), w.year_ago)
    notes, gaps = [], []
    for period in sorted(set(named + ytd)):
        state = month_state(monthly, period)
        if state == NOT_FINITE:
            notes.append(loc.t("month_not_finite", month=loc.month(period),
                               missing=MISSING[loc.lang]))
        elif state == EMPTY and period in named:
            notes.append(loc.t("month_no_orders", month=loc.month(period),
                               missing=MISSING[loc.lang]))
        elif state == EMPTY and _within_data(monthly, period):
            gaps.append(loc.month(period))
    if gaps:
        notes.append(loc.t("ytd_months_without_orders", months=loc.t("list_sep").join(gaps)))
    return notes


def _months(first: date, last: date) -> list[date]:
    out, p = [], first
    while p <= last:
        out.append(p)
        p = add_months(p, 1)
    return out


def _within_data(monthly: pd.DataFrame, period: date) -> bool:
    """Whether ``period`` lies between the first and the last month that has orders."""
    periods = _periods(monthly)
    return not periods.empty and periods.min() <= period <= periods.max()


def month_has_orders(inputs: MonthlyInputs) -> bool:
    """Whether the report month has any order line."""
    return month_state(inputs.monthly, inputs.window.start) != EMPTY


def no_orders_note(inputs: MonthlyInputs, loc: Locale) -> str:
    """Why a section about the report month's sales is left out: the month has no orders."""
    return loc.t("month_no_orders", month=loc.month(inputs.window.start),
                 missing=MISSING[loc.lang])
