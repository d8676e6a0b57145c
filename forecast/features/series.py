"""Series frames: the warehouse ``orders`` cut into one row per series and period, in DuckDB SQL.

``orders`` is aggregated to every configured grain in one pass (see :mod:`.rollup`); each
series is then zero-filled with ``generate_series`` from its first active period to the last
period of the data, flagged ``stopped`` when its last ``stopped_after`` periods had no orders,
and joined with calendar, holiday and exogenous features per period (:mod:`.calendar`,
:mod:`.exogenous`). Nothing loops over rows or series in Python.
"""

from __future__ import annotations

import duckdb

from forecast.config import SeriesConfig
from forecast.errors import ConfigError
from forecast.features.calendar import (
    calendar_columns,
    calendar_features_sql,
    period_shift_sql,
    period_step_sql,
    special_days_sql,
)
from forecast.features.exogenous import exogenous_table_ctes, exogenous_table_joins
from forecast.features.plan import MEASURE_TYPES, STOPPED, SeriesPlan, plan_series
from forecast.features.rollup import series_ctes
from forecast.io.sql import Params, Query, quote
from forecast.schemas import DS, GRAIN, UNIQUE_ID, H, Y

__all__ = ["build_future_exogenous_sql", "build_partial_sql", "build_series_sql", "plan_series"]


def _context_ctes(
    con: duckdb.DuckDBPyConnection, plan: SeriesPlan, p: Params, horizon_periods: int = 0
) -> list[tuple[str, str]]:
    """CTEs ``calendar`` (features per ``ds`` of the ``periods`` CTE) and the exogenous tables."""
    cfg = plan.config
    days = special_days_sql(con, p, plan.country, cfg.holiday_table,
                            plan.years(horizon_periods), cfg.spring_festival_window)
    ctes = [("calendar", calendar_features_sql("periods", days, cfg.freq, plan.country, p))]
    return ctes + exogenous_table_ctes(cfg.exogenous_tables, cfg.freq, plan.week_anchor)


def _with(ctes: list[tuple[str, str]]) -> str:
    # agg is read twice (series spans, values); materialising it keeps orders to one scan.
    return "WITH " + ",\n".join(
        f"{name} AS {'MATERIALIZED ' if name == 'agg' else ''}({sql})" for name, sql in ctes)


def _calendar_items(plan: SeriesPlan) -> list[str]:
    return [f"calendar.{c}" for c in calendar_columns(plan.country)]


def _series_keys(plan: SeriesPlan) -> str:
    """Columns that identify and describe a series in ``series_index``."""
    return ", ".join(["grain_rank", "key_hash", GRAIN, UNIQUE_ID, *map(quote, plan.keys),
                      STOPPED])


def build_series_sql(
    con: duckdb.DuckDBPyConnection, config: SeriesConfig, country: str | None,
    plan: SeriesPlan | None = None,
) -> Query:
    """SQL for the long series frame of the warehouse ``orders`` (registers nothing on ``con``),
    with its values (labels, holidays) as parameters: ``con.execute(*query)``.

    Args:
        con: warehouse connection; read to validate the config and detect the week anchor.
        config: grains, frequency, measures, target and exogenous settings.
        country: ISO code of the holiday calendar (``holidays`` package), or None.
        plan: the config's plan (:func:`plan_series`), when the caller made it already.

    Returns:
        A query: a SELECT with one row per series and period (the orders of a last period
        they stop partway through left out: see ``SeriesPlan.partial_from``), ordered by
        grain (config order), ``unique_id`` and ``ds``. Columns: ``unique_id`` (key values
        joined by ``|``, ``total`` for the empty grain, ``(none)`` for a NULL key value), ``ds``
        (period start), ``y`` (the target measure, DOUBLE), ``grain`` (keys joined by ``/``,
        or ``total``), the key columns (NULL where not in the grain), the measures
        (``revenue``, ``quantity``, ``orders``, ``margin``; zero in periods without orders,
        NULL throughout when the orders hold no data for one), ``stopped``, the calendar
        columns (``week_of_year, month, quarter, days_in_period, is_holiday, holiday_count``,
        for CN ``cny_before, cny_window``), the exogenous order columns (NULL in periods
        without orders) and the exogenous table columns.

    Raises:
        ConfigError, WorkspaceError: see :func:`plan_series`.
    """
    plan = plan or plan_series(con, config, country)
    p = Params()
    keys = [f"g.{quote(c)}" for c in plan.keys]
    step = period_step_sql(config.freq)
    grid = f"""SELECT {_series_keys(plan)},
            CAST(unnest(generate_series(first_ds, end_ds, {step})) AS DATE) AS ds
        FROM series_index"""
    measures = [
        f"CAST(coalesce(a.{m}, 0) AS {MEASURE_TYPES[m]}) AS {m}" if m in plan.available
        else f"CAST(NULL AS {MEASURE_TYPES[m]}) AS {m}" for m in plan.measures
    ]
    # With empty_periods "missing" a period without source rows is unobserved, not zero.
    observed = (f"a.{config.target}" if config.empty_periods == "missing"
                else f"coalesce(a.{config.target}, 0)")
    target = f"CAST({observed} AS DOUBLE) AS {Y}"
    joins, exo_items = exogenous_table_joins(config.exogenous_tables, "g")
    items = [f"g.{UNIQUE_ID}", f"g.{DS}", target, f"g.{GRAIN}", *keys, *measures,
             f"g.{STOPPED}", *_calendar_items(plan),
             *(f"a.{quote(c)}" for c, _ in plan.exogenous), *exo_items]
    ctes = [*series_ctes(plan, p), ("grid", grid), ("periods", "SELECT DISTINCT ds FROM grid"),
            *_context_ctes(con, plan, p)]
    return p.query(f"""{_with(ctes)}
    SELECT {', '.join(items)}
    FROM grid AS g
    LEFT JOIN agg AS a ON a.grain_rank = g.grain_rank AND a.key_hash = g.key_hash
        AND a.ds = g.ds
    LEFT JOIN calendar ON calendar.ds = g.ds
    {joins}
    ORDER BY g.grain_rank, g.{UNIQUE_ID}, g.ds""")


def build_partial_sql(plan: SeriesPlan) -> Query | None:
    """SQL for what the series leave out of a partial last period (``plan.partial_from``): per
    series with an order in it, ``unique_id``, ``ds`` (the period's start), ``y`` (the target
    measure of its orders so far) and ``through`` (the last order day). The forecast of that
    period is completed with them for the days they cover
    (:func:`forecast.hierarchy.periods.aggregate_to_periods`). None when the last period is
    complete or the target measure has no data.
    """
    target = plan.config.target
    if plan.partial_from is None or target not in plan.available:
        return None
    p = Params()
    return p.query(f"""{_with(series_ctes(plan, p, tail=True))}
    SELECT {UNIQUE_ID}, CAST(ds AS DATE) AS {DS}, CAST(coalesce({target}, 0) AS DOUBLE) AS {Y},
        CAST({p(plan.last_day)} AS DATE) AS through
    FROM agg ORDER BY {UNIQUE_ID}""")


def build_future_exogenous_sql(
    con: duckdb.DuckDBPyConnection, config: SeriesConfig, country: str | None,
    horizon_periods: int,
) -> Query:
    """SQL (with its values as parameters) for the known future features of every series over
    the next ``horizon_periods``.

    Args:
        con: warehouse connection.
        config: the same series config the history frame was built with.
        country: holiday country code, or None.
        horizon_periods: how many periods after the last period of the data.

    Returns:
        A SELECT with one row per series and future period, in the order of
        :func:`build_series_sql`: ``unique_id, ds, h`` (1..horizon), ``grain``, the key
        columns, ``stopped``, the calendar columns (always known), the exogenous order columns
        (NULL: not known ahead) and the exogenous table columns (values where the table
        extends past the orders, else NULL). Names and types match :func:`build_series_sql`;
        every series gets rows, stopped ones included.

    Raises:
        ConfigError: ``horizon_periods`` is below 1, or see :func:`plan_series`.
    """
    if int(horizon_periods) < 1:
        raise ConfigError(
            f"the forecast horizon must be at least 1 period, not {horizon_periods}")
    plan = plan_series(con, config, country)
    p = Params()
    shift = period_shift_sql("end_ds", config.freq, "r.h")
    future = f"""SELECT {_series_keys(plan)}, CAST(r.h AS INTEGER) AS {H}, {shift} AS ds
        FROM series_index CROSS JOIN range(1, {int(horizon_periods) + 1}) AS r(h)"""
    joins, exo_items = exogenous_table_joins(config.exogenous_tables, "g")
    unknown = [f"CAST(NULL AS {'BOOLEAN' if fn == 'bool_or' else 'DOUBLE'}) AS {quote(c)}"
               for c, fn in plan.exogenous]
    items = [f"g.{UNIQUE_ID}", f"g.{DS}", f"g.{H}", f"g.{GRAIN}",
             *(f"g.{quote(c)}" for c in plan.keys), f"g.{STOPPED}", *_calendar_items(plan),
             *unknown, *exo_items]
    ctes = [*series_ctes(plan, p, with_values=False), ("future", future),
            ("periods", "SELECT DISTINCT ds FROM future"),
            *_context_ctes(con, plan, p, int(horizon_periods))]
    return p.query(f"""{_with(ctes)}
    SELECT {', '.join(items)}
    FROM future AS g
    LEFT JOIN calendar ON calendar.ds = g.ds
    {joins}
    ORDER BY g.grain_rank, g.{UNIQUE_ID}, g.ds""")
