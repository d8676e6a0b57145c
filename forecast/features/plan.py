"""Series config checks: a series config validated against what the warehouse holds.

:func:`plan_series` reads the ``orders`` columns and makes one cheap scan of them (date range,
weekdays, which measures have data) so that every mistake in a config is reported before any
SQL runs, as a :class:`~forecast.errors.ConfigError` naming the column and the alternatives.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import duckdb

from forecast.config import SeriesConfig
from forecast.errors import ConfigError, WorkspaceError
from forecast.features.calendar import (
    calendar_columns,
    period_start_sql,
    period_step_sql,
    resolve_week_anchor,
)
from forecast.features.exogenous import (
    check_exogenous_tables,
    check_order_exogenous,
    is_numeric,
)
from forecast.io.warehouse import quote, table_columns, table_exists
from forecast.periods import MEAN_DAYS, add_months, periods_through
from forecast.schemas import DS, GRAIN, UNIQUE_ID, H, Y

MEASURES: tuple[str, ...] = ("revenue", "quantity", "orders", "margin")
MEASURE_TYPES = {"revenue": "DOUBLE", "quantity": "DOUBLE", "orders": "BIGINT", "margin": "DOUBLE"}
STOPPED = "stopped"
_PERIOD_DAYS = {"D": 1, "W": 7, "M": 31, "Q": 92}
# Names the generated SQL uses for its own columns; no key or exogenous column may take them.
INTERNAL_COLUMNS = frozenset({"grain_rank", "key_hash", "n_rows", "first_ds", "last_ds",
                              "end_ds", "grouping_mask"})


@dataclass(frozen=True)
class SeriesPlan:
    """A validated series config together with what the warehouse says about the orders.

    Attributes:
        config: the series config.
        country: holiday country code, or None.
        grains: distinct grains, each a tuple of key columns (``()`` is the total).
        keys: every key column of any grain, in first-seen order.
        measures: measure columns of the frame, in :data:`MEASURES` order.
        available: measures the orders hold data for; the others are NULL.
        exogenous: (order column, aggregate) pairs.
        exogenous_table_columns: value columns of the dated exogenous tables.
        week_anchor: ISO weekday weeks start on.
        first_day, last_day: first and last order date.
        partial_from: the start of the last period when the orders stop partway through it
            (see :func:`partial_last_period`): its orders are left out of the series; None
            when the last period is complete.
        spacing: the orders' own period when it is at least two of the series' periods (see
            :func:`order_spacing`): ``(median days between order days, share of the series'
            periods without an order)``; None otherwise.
    """

    config: SeriesConfig
    country: str | None
    grains: tuple[tuple[str, ...], ...]
    keys: tuple[str, ...]
    measures: tuple[str, ...]
    available: frozenset[str]
    exogenous: tuple[tuple[str, str], ...]
    exogenous_table_columns: tuple[str, ...]
    week_anchor: int
    first_day: date
    last_day: date
    partial_from: date | None = None
    spacing: tuple[float, float] | None = None

    def years(self, horizon_periods: int = 0) -> range:
        """Calendar years any period of the frame (and ``horizon_periods`` beyond) touches."""
        ahead = (horizon_periods + 1) * _PERIOD_DAYS[self.config.freq]
        return range(self.first_day.year - 1, (self.last_day + timedelta(days=ahead)).year + 1)


def _check_grains(
    grains: list[list[str]], orders: dict[str, str]
) -> tuple[tuple[tuple[str, ...], ...], tuple[str, ...]]:
    """Distinct grains and the union of their key columns, checked against ``orders``."""
    reserved = {UNIQUE_ID, DS, Y, H, GRAIN, STOPPED, *MEASURES, *calendar_columns("CN"),
                *INTERNAL_COLUMNS}
    # Grains with the same columns in another order are one grouping: the first one wins.
    by_columns: dict[frozenset[str], tuple[str, ...]] = {}
    for grain in grains:
        by_columns.setdefault(frozenset(grain), tuple(dict.fromkeys(grain)))
    distinct = tuple(by_columns.values()) or ((),)
    keys = tuple(dict.fromkeys(c for g in distinct for c in g))
    for column in keys:
        if column not in orders:
            raise ConfigError(
                f"features.series.grains: column {column!r} is not in table orders; "
                f"available columns: {', '.join(orders)}"
            )
        if column in reserved:
            raise ConfigError(
                f"features.series.grains: column {column!r} clashes with a column of the "
                "series frame; rename it at ingest"
            )
    return distinct, keys


def _probe_orders(con: duckdb.DuckDBPyConnection, margin_column: str | None) -> tuple:
    """One scan of orders: rows, first and last day, weekday range, measures with data."""
    margin = f"count({quote(margin_column)})" if margin_column else "count(unit_cost)"
    row = con.execute(
        f"SELECT count(*), min(order_date), max(order_date), min(isodow(order_date)), "
        f"max(isodow(order_date)), count(quantity), {margin} FROM orders"
    ).fetchall()[0]
    if not row[0]:
        raise WorkspaceError("table orders is empty: ingest orders before building series")
    return row


def _check_margin_column(column: str | None, orders: dict[str, str]) -> None:
    if column is None:
        return
    if column not in orders or not is_numeric(orders[column]):
        raise ConfigError(
            f"features.series.margin_column: {column!r} is not a numeric column of table "
            f"orders; available columns: {', '.join(orders)}"
        )


def plan_series(
    con: duckdb.DuckDBPyConnection, config: SeriesConfig, country: str | None
) -> SeriesPlan:
    """Validate a series config against the warehouse.

    Raises:
        WorkspaceError: the warehouse has no (or an empty) ``orders`` table.
        ConfigError: a key, exogenous or margin column is missing or clashes, an exogenous
            table is unusable, or the target measure has no data.
    """
    if not table_exists(con, "orders"):
        raise WorkspaceError("no table orders in the warehouse: run `forecast data ingest` first")
    orders = table_columns(con, "orders")
    grains, keys = _check_grains(config.grains, orders)
    _check_margin_column(config.margin_column, orders)
    measures = tuple(m for m in MEASURES if m in config.measures or m == config.target)
    taken = {*keys, *MEASURES, *calendar_columns(country), *INTERNAL_COLUMNS, UNIQUE_ID, DS,
             Y, H, GRAIN, STOPPED}
    exogenous = check_order_exogenous(config.exogenous, orders, taken)
    extra = check_exogenous_tables(con, config.exogenous_tables, taken | {c for c, _ in exogenous})
    _, first, last, low_day, high_day, n_quantity, n_margin = _probe_orders(
        con, config.margin_column)
    available = {"revenue", "orders"} | ({"quantity"} if n_quantity else set())
    if n_margin and (config.margin_column or n_quantity):
        available.add("margin")
    if config.target not in available:
        raise ConfigError(
            f"features.series.target: {config.target!r} cannot be built: the orders have no "
            f"{'quantity' if config.target == 'quantity' else 'unit_cost or margin_column'} values"
        )
    anchor = resolve_week_anchor(config.week_start, (low_day, high_day))
    return SeriesPlan(
        config, country, grains, keys, measures, frozenset(available), exogenous, extra,
        anchor, first, last, partial_last_period(con, config.freq, anchor, last),
        order_spacing(con, config.freq, anchor),
    )


def order_spacing(con: duckdb.DuckDBPyConnection, freq: str,
                  week_anchor: int) -> tuple[float, float] | None:
    """``(median days between consecutive order days, share of periods of ``freq`` from the
    first order to the last without any order)`` when the orders are spaced at least two
    periods apart (weekly data, dated on Fridays, built into daily series: six days in seven
    empty), else None."""
    # One pass over the orders for their distinct days; the rest is over those few days.
    gap, periods, first, last = con.execute(
        "SELECT median(gap), count(DISTINCT start), min(start), max(start) FROM ("
        "SELECT order_date - lag(order_date) OVER (ORDER BY order_date) AS gap, "
        f"{period_start_sql('order_date', freq, week_anchor)} AS start "
        "FROM (SELECT DISTINCT order_date FROM orders))").fetchone()
    if gap is None or gap < 2 * MEAN_DAYS[freq]:
        return None
    return float(gap), 1.0 - periods / periods_through(first, last, freq)


def partial_last_period(con: duckdb.DuckDBPyConnection, freq: str, week_anchor: int,
                        last_day: date) -> date | None:
    """The start of the last period of the orders when they stop partway through it, else None.

    The last period is partial when its last order day lies both earlier in the period (from
    its start) and further from its end than orders lay in earlier periods: daily orders that
    end on a Wednesday leave their week with three days of seven, which a model would read as
    a fall of 57 %. Weekly or monthly data dated on one day of each period (Walmart's Fridays,
    the first or the last of each month) lie as early or as late in every period, so their
    last period is complete; so is a week ending on the Saturday of a shop closed on Sundays,
    and April when the orders end on its 30th.
    """
    if freq == "D":
        return None
    start = period_start_sql("order_date", freq, week_anchor)
    end = f"(CAST({start} + {period_step_sql(freq)} AS DATE) - 1)"
    last_start, last_end = _period_of(last_day, freq, week_anchor)
    latest, nearest = con.execute(
        f"SELECT max(order_date - {start}), min({end} - order_date) FROM orders "
        f"WHERE {start} < ?", [last_start]).fetchone()
    if latest is None:
        return None
    early = (last_day - last_start).days < latest
    return last_start if early and (last_end - last_day).days > nearest else None


def _period_of(day: date, freq: str, week_anchor: int) -> tuple[date, date]:
    """The first and last day of the period (W, M or Q) holding ``day``, as
    :func:`forecast.features.calendar.period_start_sql` cuts them."""
    if freq == "W":
        first = day - timedelta(days=(day.isoweekday() - week_anchor) % 7)
        return first, first + timedelta(days=6)
    months = 1 if freq == "M" else 3
    first = date(day.year, (day.month - 1) // months * months + 1, 1)
    return first, add_months(first, months) - timedelta(days=1)
