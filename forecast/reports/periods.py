"""The calendar of a monthly report: the month, the one before, the same month last year."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta

from forecast.errors import ConfigError
from forecast.periods import add_months, month_start

__all__ = ["MonthWindow", "default_month", "parse_month"]


def parse_month(text: str) -> date:
    """``2026-10`` -> 2026-10-01.

    Raises:
        ConfigError: the text is not a month written as YYYY-MM.
    """
    match = re.fullmatch(r"\s*(\d{4})-(\d{1,2})\s*", text or "")
    if not match or not 1 <= int(match.group(2)) <= 12:
        raise ConfigError(f"month {text!r} is not a month written as YYYY-MM (e.g. 2026-10)")
    return date(int(match.group(1)), int(match.group(2)), 1)


@dataclass(frozen=True)
class MonthWindow:
    """The dates a monthly report compares. Intervals are half-open: [start, end).

    Attributes:
        start: first day of the report month.
        data_through: last day with orders in the warehouse.
    """

    start: date
    data_through: date

    @property
    def end(self) -> date:
        """First day of the next month."""
        return add_months(self.start, 1)

    @property
    def last_day(self) -> date:
        """Last calendar day of the month."""
        return self.end - timedelta(days=1)

    @property
    def observed_end(self) -> date:
        """End of the observed part of the month: the month end or the day after the data."""
        return min(self.end, self.data_through + timedelta(days=1))

    @property
    def complete(self) -> bool:
        """Whether the data cover the whole month."""
        return self.observed_end == self.end

    @property
    def previous(self) -> date:
        """First day of the month before."""
        return add_months(self.start, -1)

    @property
    def year_ago(self) -> date:
        """First day of the same month last year."""
        return add_months(self.start, -12)

    @property
    def year_ago_end(self) -> date:
        """First day of the month after the same month last year."""
        return add_months(self.start, -11)

    @property
    def year_start(self) -> date:
        """1 January of the month's year."""
        return date(self.start.year, 1, 1)

    @property
    def trailing_start(self) -> date:
        """First day of the 12 months that end with the report month."""
        return add_months(self.start, -11)

    @property
    def next_month(self) -> date:
        """First day of the month after the report month."""
        return self.end

    @property
    def label(self) -> str:
        """``2026-10``."""
        return f"{self.start.year:04d}-{self.start.month:02d}"


def default_month(data_through: date) -> date:
    """The last month the data cover completely (the data's own month when it ends on its last
    day)."""
    start = month_start(data_through)
    if add_months(start, 1) - timedelta(days=1) == data_through:
        return start
    return add_months(start, -1)
