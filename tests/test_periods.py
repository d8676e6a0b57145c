"""The calendar vocabulary: one ``add_months`` (same day, clipped), ``month_start`` and the
frequency tables every layer reads."""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest

from forecast.periods import (
    PERIOD_CODES,
    add_months,
    freq_code,
    month_start,
    season_length,
    year_length,
)


@pytest.mark.parametrize(("day", "months", "expected"), [
    (date(2026, 1, 31), 1, date(2026, 2, 28)),
    (date(2024, 1, 31), 1, date(2024, 2, 29)),
    (date(2026, 3, 31), -1, date(2026, 2, 28)),
    (date(2026, 1, 31), -1, date(2025, 12, 31)),
    (date(2026, 11, 5), 14, date(2028, 1, 5)),
    (date(2026, 5, 15), 0, date(2026, 5, 15)),
    (date(2026, 12, 1), 1, date(2027, 1, 1)),
    (date(2026, 1, 1), -13, date(2024, 12, 1)),
])
def test_add_months_keeps_the_day_clipped_to_the_month_end(day, months, expected):
    assert add_months(day, months) == expected


@pytest.mark.parametrize("months", [-37, -12, -11, -3, -1, 0, 1, 3, 11, 12, 25])
def test_add_months_agrees_with_a_pandas_month_offset(months):
    for day in pd.date_range("2023-01-01", "2025-12-31", freq="5D").date:
        assert add_months(day, months) == (pd.Timestamp(day)
                                           + pd.DateOffset(months=months)).date()


def test_a_month_start_stays_a_month_start():
    starts = pd.date_range("2020-01-01", "2030-12-01", freq="MS").date
    for day in starts:
        for months in (-23, -12, -1, 1, 3, 12):
            assert add_months(day, months).day == 1


def test_month_start():
    assert month_start(date(2026, 1, 31)) == date(2026, 1, 1)
    assert month_start(date(2026, 2, 1)) == date(2026, 2, 1)
    assert add_months(month_start(date(2026, 1, 31)), -1) == date(2025, 12, 1)


def test_frequency_tables():
    assert freq_code("W-FRI") == "W" and freq_code("ms") == "MS"
    assert [season_length(f) for f in ("D", "B", "W-SUN", "MS", "ME", "QS")] == [7, 5, 52, 12,
                                                                                 12, 4]
    assert [year_length(f) for f in ("D", "B", "W-SUN", "MS", "QE")] == [364, 260, 52, 12, 4]
    assert season_length("h") is None and year_length("h") is None
    assert PERIOD_CODES == {"month": "M", "quarter": "Q"}
