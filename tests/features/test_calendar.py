"""Periods, calendar features and holidays, checked against dates worked out by hand."""

from __future__ import annotations

from datetime import date

import duckdb
import pytest

from forecast.errors import ConfigError
from forecast.features.calendar import (
    calendar_columns,
    calendar_features_sql,
    country_holidays,
    period_shift_sql,
    period_start_sql,
    resolve_week_anchor,
    special_days_sql,
    spring_festival,
    spring_festival_days,
)
from forecast.io.sql import Params


@pytest.fixture
def con() -> duckdb.DuckDBPyConnection:
    return duckdb.connect()


@pytest.fixture
def p() -> Params:
    return Params()


def scalar(con: duckdb.DuckDBPyConnection, sql: str):
    return con.execute(f"SELECT {sql}").fetchall()[0][0]


@pytest.mark.parametrize(("freq", "anchor", "day", "start"), [
    ("D", 1, date(2024, 2, 14), date(2024, 2, 14)),
    ("W", 1, date(2024, 2, 14), date(2024, 2, 12)),    # Wednesday -> Monday
    ("W", 1, date(2024, 2, 12), date(2024, 2, 12)),
    ("W", 5, date(2010, 2, 11), date(2010, 2, 5)),     # Thursday -> the Friday before
    ("W", 5, date(2010, 2, 12), date(2010, 2, 12)),
    ("W", 7, date(2024, 1, 1), date(2023, 12, 31)),    # Sunday weeks cross the year
    ("M", 1, date(2024, 2, 29), date(2024, 2, 1)),
    ("Q", 1, date(2024, 6, 30), date(2024, 4, 1)),
])
def test_period_start(con, freq, anchor, day, start):
    assert scalar(con, period_start_sql(f"DATE '{day}'", freq, anchor)) == start


@pytest.mark.parametrize(("freq", "n", "expected"), [
    ("D", 3, date(2024, 2, 4)), ("W", 2, date(2024, 2, 15)), ("M", 13, date(2025, 3, 1)),
    ("Q", 2, date(2024, 8, 1)),
])
def test_period_shift(con, freq, n, expected):
    assert scalar(con, period_shift_sql("DATE '2024-02-01'", freq, n)) == expected


def test_week_anchor_is_detected_only_when_every_order_shares_a_weekday():
    assert resolve_week_anchor("auto", (5, 5)) == 5
    assert resolve_week_anchor("auto", (1, 7)) == 1
    assert resolve_week_anchor("auto", None) == 1
    assert resolve_week_anchor("SUN", (5, 5)) == 7


def test_spring_festival_dates():
    assert spring_festival(2024) == date(2024, 2, 10)
    assert spring_festival(2025) == date(2025, 1, 29)
    days = spring_festival_days([2024], (2, 3))
    assert days == [(date(2024, 2, 9), "cny_before"), (date(2024, 2, 8), "cny_before"),
                    (date(2024, 2, 10), "cny_window"), (date(2024, 2, 11), "cny_window"),
                    (date(2024, 2, 12), "cny_window")]


def test_country_holidays_and_unknown_codes():
    us = country_holidays("US", [2024])
    assert date(2024, 7, 4) in us and date(2024, 7, 5) not in us
    assert date(2024, 2, 10) in country_holidays("cn", [2024])
    with pytest.raises(ConfigError, match="'XX'"):
        country_holidays("XX", [2024])


def features(con, p: Params, starts: list[date], freq: str, country: str | None,
             days_sql: str) -> list:
    periods = f"(SELECT unnest(CAST({p(starts)} AS DATE[])) AS ds)"
    sql = calendar_features_sql(periods, days_sql, freq, country, p) + " ORDER BY ds"
    cursor = con.execute(*p.query(sql))
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, r, strict=True)) for r in cursor.fetchall()]


def test_cn_weeks_around_the_2024_spring_festival(con, p):
    days = special_days_sql(con, p, "CN", None, range(2023, 2025), (14, 7))
    weeks = features(con, p, [date(2024, 2, 5), date(2024, 2, 12), date(2024, 2, 19)], "W", "CN",
                     days)
    # Holidays Feb 10-16 (three festival days, two observed, two substituted days off);
    # festival window Feb 10-16; pre-festival window Jan 27 - Feb 9.
    assert [(w["holiday_count"], w["cny_window"], w["cny_before"]) for w in weeks] == [
        (2, 2, 5), (5, 5, 0), (0, 0, 0)]
    assert [w["is_holiday"] for w in weeks] == [True, True, False]
    assert [w["week_of_year"] for w in weeks] == [6, 7, 8]
    assert set(calendar_columns("CN")) - set(calendar_columns("US")) == {"cny_before",
                                                                         "cny_window"}


def test_us_independence_day_by_day_and_month(con, p):
    days = special_days_sql(con, p, "US", None, range(2024, 2025), (14, 7))
    daily = features(con, p, [date(2024, 7, 3), date(2024, 7, 4), date(2024, 7, 5)], "D", "US",
                     days)
    assert [d["is_holiday"] for d in daily] == [False, True, False]
    assert all(d["days_in_period"] == 1 for d in daily)
    months = features(con, p, [date(2024, 6, 1), date(2024, 7, 1), date(2024, 8, 1)], "M", "US",
                      days)
    assert [(m["holiday_count"], m["days_in_period"], m["quarter"]) for m in months] == [
        (1, 30, 2), (1, 31, 3), (0, 31, 3)]  # Juneteenth; July 4th; none in August
    assert "cny_window" not in months[0]


def test_no_country_gives_zero_holidays(con, p):
    days = special_days_sql(con, p, None, None, range(2024, 2025), (14, 7))
    (row,) = features(con, p, [date(2024, 12, 23)], "W", None, days)
    assert (row["holiday_count"], row["is_holiday"], row["days_in_period"]) == (0, False, 7)


def test_holiday_table_must_exist_and_have_a_date(con, p):
    with pytest.raises(ConfigError, match="no table 'holidays'"):
        special_days_sql(con, p, "EC", "holidays", range(2016, 2017), (14, 7))
    con.execute("CREATE TABLE holidays (day DATE, name VARCHAR)")
    with pytest.raises(ConfigError, match="no `date` column"):
        special_days_sql(con, p, "EC", "holidays", range(2016, 2017), (14, 7))
    con.execute("CREATE TABLE plain (date DATE, name VARCHAR)")
    con.execute("INSERT INTO plain VALUES ('2016-05-24', 'x'), ('2016-05-24', 'y')")
    days = special_days_sql(con, p, "EC", "plain", range(2016, 2017), (14, 7))
    start = date(2016, 5, 23)
    (row,) = features(con, p, [start], "W", "EC", days)
    assert row["holiday_count"] == 1  # one day, however many rows name it
