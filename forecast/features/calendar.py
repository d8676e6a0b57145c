"""Periods, calendar features and holidays for series frames, as DuckDB SQL.

A period is labelled by its first day (``ds``). Weeks start on a configurable ISO weekday
(1 = Monday .. 7 = Sunday) so that data that are already weekly keep their own anchor.
Holidays come from the ``holidays`` package for a country, or from a data set's own holiday
table in the warehouse; they reach the SQL as a small set of special days, bound as two list
parameters. Builders of SQL pieces write their values into the caller's
:class:`~forecast.io.sql.Params`.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, timedelta

import duckdb
import holidays

from forecast.config import Frequency
from forecast.errors import ConfigError
from forecast.io.sql import Params, quote
from forecast.io.warehouse import table_columns, table_exists

WEEKDAYS: tuple[str, ...] = ("MON", "TUE", "WED", "THU", "FRI", "SAT", "SUN")
BASE_CALENDAR_COLUMNS: tuple[str, ...] = (
    "week_of_year", "month", "quarter", "days_in_period", "is_holiday", "holiday_count",
)
SPRING_FESTIVAL_COLUMNS: tuple[str, ...] = ("cny_before", "cny_window")
SPRING_FESTIVAL_COUNTRIES: frozenset[str] = frozenset({"CN"})
# Rows of a data set's holiday table that are not days off.
NON_HOLIDAY_TYPES: tuple[str, ...] = ("work day", "event")
_EMPTY_DAYS = "SELECT CAST(NULL AS DATE) AS day, CAST(NULL AS VARCHAR) AS kind WHERE false"


def period_start_sql(day: str, freq: Frequency, week_anchor: int = 1) -> str:
    """SQL for the first day of the period holding ``day`` (a DATE expression)."""
    if freq == "D":
        return f"CAST({day} AS DATE)"
    if freq == "W":
        days_back = f"CAST((isodow({day}) - {int(week_anchor)} + 7) % 7 AS INTEGER)"
        return f"(CAST({day} AS DATE) - {days_back})"
    if freq == "M":
        return f"CAST(date_trunc('month', {day}) AS DATE)"
    return f"CAST(date_trunc('quarter', {day}) AS DATE)"


def period_shift_sql(ds: str, freq: Frequency, periods: str | int) -> str:
    """SQL for the period start ``periods`` periods after ``ds`` (an integer expression)."""
    n = f"CAST({periods} AS INTEGER)"
    if freq == "D":
        return f"({ds} + {n})"
    if freq == "W":
        return f"({ds} + 7 * {n})"
    months = n if freq == "M" else f"3 * {n}"
    return f"CAST({ds} + to_months({months}) AS DATE)"


def period_step_sql(freq: Frequency) -> str:
    """The length of one period as a SQL interval literal (for ``generate_series``)."""
    return {"D": "INTERVAL 1 DAY", "W": "INTERVAL 7 DAY", "M": "INTERVAL 1 MONTH",
            "Q": "INTERVAL 3 MONTH"}[freq]


def resolve_week_anchor(week_start: str, weekdays_seen: tuple[int, int] | None) -> int:
    """The ISO weekday weeks start on.

    Args:
        week_start: ``"auto"`` or one of :data:`WEEKDAYS`.
        weekdays_seen: smallest and largest ISO weekday of the order dates, or None when unknown.

    Returns:
        The configured weekday; under ``"auto"`` the one weekday every order falls on when there
        is only one (weekly data such as Walmart's Fridays), else Monday.
    """
    if week_start != "auto":
        return WEEKDAYS.index(week_start) + 1
    if weekdays_seen is not None and weekdays_seen[0] == weekdays_seen[1]:
        return int(weekdays_seen[0])
    return 1


def calendar_columns(country: str | None) -> tuple[str, ...]:
    """Names of the calendar feature columns a frame gets for ``country``."""
    if country and country.upper() in SPRING_FESTIVAL_COUNTRIES:
        return BASE_CALENDAR_COLUMNS + SPRING_FESTIVAL_COLUMNS
    return BASE_CALENDAR_COLUMNS


def spring_festival(year: int) -> date | None:
    """First day of the Spring Festival (Chinese New Year) in ``year``, from ``holidays``."""
    named = holidays.China(years=year).items()
    days = sorted(d for d, name in named if "Spring Festival" in name)
    return days[0] if days else None


def country_holiday_names(country: str, years: Iterable[int]) -> dict[date, str]:
    """Public holidays (days off, including substituted days) of ``country``: date -> name.

    Raises:
        ConfigError: the ``holidays`` package does not know the country code.
    """
    try:
        calendar = holidays.country_holidays(country.upper(), years=list(years))
    except NotImplementedError:
        raise ConfigError(
            f"country {country!r}: no holiday calendar in the `holidays` package; use an ISO "
            "3166 code such as CN, US, EC, GB, or set features.series.holiday_table"
        ) from None
    return dict(sorted(calendar.items()))


def country_holidays(country: str, years: Iterable[int]) -> list[date]:
    """Public holiday dates of ``country`` in ``years``, sorted (see country_holiday_names)."""
    return list(country_holiday_names(country, years))


def spring_festival_days(
    years: Iterable[int], window: tuple[int, int]
) -> list[tuple[date, str]]:
    """Days of the pre-festival window (``cny_before``) and the festival (``cny_window``).

    Args:
        years: calendar years to cover.
        window: days before New Year's Day, and days of the festival from New Year's Day on.
    """
    before, festival = window
    days: list[tuple[date, str]] = []
    for year in years:
        new_year = spring_festival(year)
        if new_year is None:
            continue
        days += [(new_year - timedelta(days=k), "cny_before") for k in range(1, before + 1)]
        days += [(new_year + timedelta(days=k), "cny_window") for k in range(festival)]
    return days


def holiday_table_sql(con: duckdb.DuckDBPyConnection, table: str, p: Params) -> str:
    """SELECT of holiday days (``day``, ``kind``) from a data set's own holiday table (the
    kinds of rows left out bound in ``p``).

    The table needs a ``date`` column. When present, ``locale`` keeps national rows only,
    ``transferred`` drops holidays moved to another day, and ``type`` drops rows that are no
    day off (Favorita's "Work Day" and "Event").

    Raises:
        ConfigError: the table or its ``date`` column is missing.
    """
    if not table_exists(con, table):
        raise ConfigError(
            f"features.series.holiday_table: no table {table!r} in the warehouse; ingest it first"
        )
    columns = table_columns(con, table)
    if "date" not in columns:
        raise ConfigError(
            f"features.series.holiday_table: table {table!r} has no `date` column; "
            f"columns are {', '.join(columns)}"
        )
    where = ["date IS NOT NULL"]
    if "locale" in columns:
        where.append("lower(locale) = 'national'")
    if "transferred" in columns:
        where.append("NOT coalesce(CAST(transferred AS BOOLEAN), false)")
    if "type" in columns:
        kinds = ", ".join(p(k) for k in NON_HOLIDAY_TYPES)
        where.append(f"lower(coalesce(type, '')) NOT IN ({kinds})")
    return (f"SELECT DISTINCT CAST(date AS DATE) AS day, 'holiday' AS kind FROM {quote(table)} "
            f"WHERE {' AND '.join(where)}")


def special_days_sql(
    con: duckdb.DuckDBPyConnection,
    p: Params,
    country: str | None,
    holiday_table: str | None,
    years: range,
    spring_window: tuple[int, int],
) -> str:
    """SELECT of the special days (``day`` DATE, ``kind`` VARCHAR) of the given years.

    ``kind`` is ``holiday`` (a day off: from ``holiday_table`` when set, else the ``holidays``
    package calendar of ``country``), or for Spring Festival countries ``cny_before`` /
    ``cny_window``. Days computed in Python (a few hundred) are bound in ``p`` as a list of
    days and a list of kinds, unnested side by side.
    """
    rows: list[tuple[date, str]] = []
    parts: list[str] = []
    if holiday_table:
        parts.append(holiday_table_sql(con, holiday_table, p))
    elif country:
        rows += [(d, "holiday") for d in country_holidays(country, years)]
    if country and country.upper() in SPRING_FESTIVAL_COUNTRIES:
        rows += spring_festival_days(years, spring_window)
    if rows:
        days, kinds = zip(*sorted(rows), strict=True)
        parts.append(f"SELECT unnest(CAST({p(list(days))} AS DATE[])) AS day, "
                     f"unnest(CAST({p(list(kinds))} AS VARCHAR[])) AS kind")
    return " UNION ALL ".join(parts) if parts else _EMPTY_DAYS


def calendar_features_sql(periods: str, days: str, freq: Frequency, country: str | None,
                          p: Params) -> str:
    """SELECT of calendar features per period start.

    Args:
        periods: a relation with one column ``ds`` (period starts).
        days: a relation of special days (``day``, ``kind``), see :func:`special_days_sql`.
        freq: the period length.
        country: decides whether the Spring Festival columns are present.
        p: the statement's parameters (the Spring Festival kinds are bound there).

    Returns:
        SQL producing ``ds, week_of_year`` (ISO week of ``ds``), ``month, quarter,
        days_in_period, is_holiday, holiday_count`` (distinct holiday days in the period) and,
        for CN, ``cny_before`` / ``cny_window`` (days of the pre-festival window / of the
        festival in the period).
    """
    end = period_shift_sql("p.ds", freq, 1)
    spring = ""
    if "cny_window" in calendar_columns(country):
        spring = "".join(
            f", CAST(count(DISTINCT d.day) FILTER (WHERE d.kind = {p(k)}) AS INTEGER) AS {k}"
            for k in SPRING_FESTIVAL_COLUMNS
        )
    return f"""SELECT p.ds,
        CAST(weekofyear(p.ds) AS INTEGER) AS week_of_year,
        CAST(month(p.ds) AS INTEGER) AS month,
        CAST(quarter(p.ds) AS INTEGER) AS quarter,
        CAST(date_diff('day', p.ds, {end}) AS INTEGER) AS days_in_period,
        count(DISTINCT d.day) FILTER (WHERE d.kind = 'holiday') > 0 AS is_holiday,
        CAST(count(DISTINCT d.day) FILTER (WHERE d.kind = 'holiday') AS INTEGER) AS holiday_count
        {spring}
    FROM {periods} AS p LEFT JOIN ({days}) AS d ON d.day >= p.ds AND d.day < {end}
    GROUP BY p.ds"""
