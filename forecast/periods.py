"""The calendar vocabulary: month arithmetic and the tables of pandas frequencies.

Beside ``schemas`` and ``errors`` at the bottom of the layers, so it imports neither: a caller
that needs an error for an unknown frequency raises its own (``models.baselines`` does).
"""

from __future__ import annotations

import calendar
from datetime import date
from typing import Literal

# The calendar periods forecasts are summed to and targets are set for, and the pandas period
# code of each (``Series.dt.to_period``).
PeriodKind = Literal["month", "quarter"]
PERIOD_CODES: dict[PeriodKind, str] = {"month": "M", "quarter": "Q"}
MONTHS_IN: dict[PeriodKind, int] = {"month": 1, "quarter": 3}

# Default season length of a frequency (the first part of a pandas alias: "W" of "W-FRI").
SEASON_LENGTHS: dict[str, int] = {
    "D": 7, "B": 5, "W": 52, "M": 12, "MS": 12, "ME": 12, "Q": 4, "QS": 4, "QE": 4,
}
# Mean days in one period of a frequency code (or one unit of a horizon such as 13W or 1Q).
MEAN_DAYS: dict[str, float] = {"D": 1.0, "W": 7.0, "M": 365.25 / 12, "Q": 365.25 / 4}
# Periods in a year, kept on the same weekday for daily data (52 weeks of 7 days).
YEAR_LENGTHS: dict[str, int] = {
    "D": 364, "B": 260, "W": 52, "M": 12, "MS": 12, "ME": 12, "Q": 4, "QS": 4, "QE": 4,
}


def freq_code(freq: str) -> str:
    """The base of a pandas frequency alias, upper case: ``W-FRI`` -> ``W``, ``ms`` -> ``MS``."""
    return freq.split("-")[0].upper()


def season_length(freq: str) -> int | None:
    """Default season length of ``freq`` (7 daily, 52 weekly, 12 monthly, 4 quarterly), or
    None for a frequency without one."""
    return SEASON_LENGTHS.get(freq_code(freq))


def year_length(freq: str) -> int | None:
    """Periods of ``freq`` in a year (364 daily, 260 business-daily, 52 weekly, 12 monthly,
    4 quarterly), or None for a frequency without one."""
    return YEAR_LENGTHS.get(freq_code(freq))


def month_start(day: date) -> date:
    """The first day of the month of ``day``."""
    return date(day.year, day.month, 1)


def add_months(day: date, months: int) -> date:
    """The same day ``months`` later (earlier when negative), clipped to the end of a shorter
    month: 2026-01-31 + 1 -> 2026-02-28. A month start stays a month start."""
    index = day.year * 12 + day.month - 1 + months
    year, month = index // 12, index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def next_quarter_start(day: date) -> date:
    """The first day of the quarter after the one holding ``day``: the quarter a plan is made
    for when the data end on ``day`` (2026-09-30 and 2026-10-31 give 2026-10-01 and
    2027-01-01)."""
    return add_months(date(day.year, (day.month - 1) // 3 * 3 + 1, 1), 3)


def periods_through(first: date, end: date, freq: str) -> int:
    """How many periods of ``freq``, the first starting on ``first``, reach ``end`` (the last
    one holds it): days, weeks (of 7 days from ``first``), months or quarters; at least 1."""
    code = freq_code(freq)
    if code in ("M", "MS", "ME", "Q", "QS", "QE"):
        months = (end.year - first.year) * 12 + end.month - first.month
        return max(1, months // (3 if code.startswith("Q") else 1) + 1)
    step = 7 if code == "W" else 1
    return max(1, -(-((end - first).days + 1) // step))
