"""The warehouse side of the decision steps (tiers, targets, funnel, attainment): their SQL
over the canonical and result tables, as :mod:`forecast.io.report_queries` is the reports'.

Each function takes a connection and plain values and returns frames or values; every value
reaches SQL as a bound parameter (:mod:`forecast.io.sql`), every table through the catalog.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta

import duckdb
import pandas as pd

from forecast.config import TiersConfig
from forecast.io import catalog
from forecast.io.catalog import (
    CHURN_SCORES,
    OPPORTUNITIES,
    ORDERS,
    REVENUE_FORECAST,
    REVENUE_FORECAST_PERIODS,
    TARGETS,
    TARGETS_PLAN,
    Dataset,
)
from forecast.io.sql import Params, Query, exact_sum, quote

# 1.2815515655446004 is the standard normal's 90 % quantile: an 80 % interval is 2 of them wide.
_SD_FROM_80 = "(yhat_hi_80 - yhat_lo_80) / (2 * 1.2815515655446004)"

# -- tiers --------------------------------------------------------------------------------------


def tier_measures_sql(as_of: date, config: TiersConfig) -> Query:
    """SQL (its dates bound as parameters) of one row per customer with an order line before
    ``as_of``.

    Lines are netted per order (``order_id``; per customer and day where it is empty), so a
    cancellation invoice is a negative order and counts in revenue, not in frequency. Sums are
    exact and rows come in customer order, so the same orders give the same tiers, to the bit,
    on every run (the chain compares its outputs' content).

    Columns: ``customer_id``, ``first_order``, ``last_order`` (last order with positive net
    amount; the last line of any sign for customers who only returned goods), ``recency_days``
    (``as_of`` minus ``last_order``, so an order the day before is 1), ``frequency`` (orders
    with positive net amount in the RFM window), ``monetary`` (net revenue in the RFM window),
    ``revenue`` (net, ``[as_of - revenue_days, as_of)``) and ``revenue_prior`` (the window of
    the same length before that).
    """
    p = Params()
    day = p(as_of)
    revenue_start = p(as_of - timedelta(days=config.revenue_days))
    prior_start = p(as_of - timedelta(days=2 * config.revenue_days))
    in_rfm = ("TRUE" if config.rfm_days is None else
              f"order_date >= {p(as_of - timedelta(days=config.rfm_days))}")
    last = "coalesce(max(order_date) FILTER (WHERE amount > 0), max(order_date))"
    return p.query(f"""
        WITH lines AS (
            SELECT CAST(customer_id AS VARCHAR) AS customer_id, order_date, amount,
                   coalesce(CAST(order_id AS VARCHAR), CAST(order_date AS VARCHAR)) AS order_key
            FROM {ORDERS.sql}
            WHERE customer_id IS NOT NULL AND amount IS NOT NULL AND order_date < {day}
        ), baskets AS (
            SELECT customer_id, order_key, min(order_date) AS order_date,
                   {exact_sum("amount")} AS amount
            FROM lines GROUP BY customer_id, order_key
        )
        SELECT customer_id,
               min(order_date) AS first_order,
               {last} AS last_order,
               date_diff('day', {last}, {day}) AS recency_days,
               count(*) FILTER (WHERE amount > 0 AND {in_rfm}) AS frequency,
               coalesce({exact_sum("amount", in_rfm)}, 0) AS monetary,
               coalesce({exact_sum("amount", f"order_date >= {revenue_start}")}, 0) AS revenue,
               coalesce({exact_sum("amount", f"order_date >= {prior_start} AND order_date < "
                                             f"{revenue_start}")}, 0) AS revenue_prior
        FROM baskets GROUP BY customer_id
        ORDER BY customer_id
    """)


def customer_days_sql(as_of: date) -> Query:
    """SQL of each customer's net spend per day before ``as_of``: ``customer_id, ds, amount``
    (exact sums, in customer and day order), what the purchase models of the expected value
    read (``forecast.models.customer_base.expected_customer_value``)."""
    p = Params()
    return p.query(f"""
        SELECT CAST(customer_id AS VARCHAR) AS customer_id, CAST(order_date AS DATE) AS ds,
               {exact_sum("amount")} AS amount
        FROM {ORDERS.sql}
        WHERE customer_id IS NOT NULL AND amount IS NOT NULL AND order_date < {p(as_of)}
        GROUP BY ALL ORDER BY customer_id, ds
    """)


def last_customer_order(con: duckdb.DuckDBPyConnection) -> date | None:
    """The last day of an order line with a customer id; None without one."""
    return con.execute(f"SELECT max(order_date) FROM {ORDERS.sql} "
                       "WHERE customer_id IS NOT NULL").fetchone()[0]


def latest_scores(con: duckdb.DuckDBPyConnection, as_of: date
                  ) -> tuple[pd.DataFrame | None, date | None]:
    """The churn scores (``customer_id, churn_proba, tier``) of the latest cutoff on or before
    ``as_of``, and that cutoff; ``(None, None)`` without one."""
    cutoff = con.execute(f"SELECT max(cutoff) FROM {CHURN_SCORES.sql} WHERE cutoff <= ?",
                         [as_of]).fetchone()[0]
    if cutoff is None:
        return None, None
    scores = con.execute(
        f"SELECT CAST(customer_id AS VARCHAR) AS customer_id, churn_proba, tier "
        f"FROM {CHURN_SCORES.sql} WHERE cutoff = ?", [cutoff]).df()
    return scores, cutoff


# -- targets ------------------------------------------------------------------------------------


def has_values(con: duckdb.DuckDBPyConnection, table: Dataset, column: str) -> bool:
    """Whether ``column`` of ``table`` exists and holds at least one value."""
    if column not in catalog.columns(con, table):
        return False
    return con.execute(f"SELECT count({quote(column)}) FROM {table.sql}").fetchone()[0] > 0


def last_forecast_month(con: duckdb.DuckDBPyConnection, grain: str) -> date | None:
    """The last month of ``grain``'s monthly rows of the period forecast; None without one."""
    return con.execute(f"SELECT max(period) FROM {REVENUE_FORECAST_PERIODS.sql} "
                       "WHERE grain = ? AND period_type = 'month'", [grain]).fetchone()[0]


def last_forecast_day(con: duckdb.DuckDBPyConnection, unique_id: str) -> date | None:
    """The last forecast date of the series ``unique_id``; None without a forecast of it."""
    if not catalog.exists(con, REVENUE_FORECAST):
        return None
    day = con.execute(f"SELECT max(ds) FROM {REVENUE_FORECAST.sql} WHERE unique_id = ?",
                      [unique_id]).fetchone()[0]
    return day.date() if hasattr(day, "date") else day


def revenue_by(con: duckdb.DuckDBPyConnection, keys: Sequence[str], start: date, end: date,
               by_month: bool = False) -> pd.DataFrame:
    """Net revenue of the orders from ``start`` to ``end`` (inclusive) per value of ``keys``;
    with ``by_month`` per month too, dated a year later (the month it is compared with)."""
    dims = [quote(key) for key in keys]
    if by_month:
        dims.insert(0, "date_trunc('month', order_date) + INTERVAL 12 MONTH AS month")
    select = ", ".join([*dims, "sum(amount) AS revenue"])
    group = " GROUP BY ALL" if dims else ""
    return con.execute(
        f"SELECT {select} FROM {ORDERS.sql} WHERE order_date BETWEEN ? AND ?{group}",
        [start, end]).df()


def forecast_weeks(con: duckdb.DuckDBPyConnection, keys: Sequence[str], after: date,
                   before: date) -> pd.DataFrame | None:
    """Rows ``unique_id, grain, <keys>, ds, yhat, yhat_sd`` (+ ``yhat_lo_80, yhat_hi_80``
    where the table has them) of the weekly forecast with ``after < ds < before``; ``yhat_sd``
    from the 80 % interval where the table has no column of its own; None when it has
    neither."""
    columns = catalog.columns(con, REVENUE_FORECAST)
    bounds = ["yhat_lo_80", "yhat_hi_80"] if {"yhat_lo_80", "yhat_hi_80"} <= set(columns) else []
    if "yhat_sd" in columns:
        spread = "yhat_sd"
    elif bounds:
        spread = f"{_SD_FROM_80} AS yhat_sd"
    else:
        return None
    present = [quote(k) for k in keys if k in columns]
    select = ", ".join(["unique_id", "grain", *present, "ds", "yhat", spread, *bounds])
    return con.execute(f"SELECT {select} FROM {REVENUE_FORECAST.sql} WHERE ds > ? AND ds < ?",
                       [after, before]).df()


def replace_plan_period(con: duckdb.DuckDBPyConnection, plan: pd.DataFrame, label: str,
                        text_columns: Sequence[str], date_columns: Sequence[str]) -> int:
    """Replace the rows of period ``label`` in the plan table with ``plan`` (other periods'
    rows stay); returns the rows the period has now."""
    typed = ", ".join(
        f"CAST({quote(c)} AS VARCHAR) AS {quote(c)}" if c in text_columns else
        f"CAST({quote(c)} AS DATE) AS {quote(c)}" if c in date_columns else quote(c)
        for c in plan.columns)
    con.register("_targets_plan", plan)
    try:
        select, params = f"SELECT {typed} FROM _targets_plan", {}
        if catalog.exists(con, TARGETS_PLAN):
            select = (f"SELECT * FROM {TARGETS_PLAN.sql} WHERE period <> $label "
                      f"UNION ALL BY NAME {select}")
            params = {"label": label}
        catalog.write_select(con, TARGETS_PLAN, Query(select, params))
    finally:
        con.unregister("_targets_plan")
    return int(con.execute(f"SELECT count(*) FROM {TARGETS_PLAN.sql} WHERE period = ?",
                           [label]).fetchone()[0])


# -- funnel and attainment ----------------------------------------------------------------------


def opportunities(con: duckdb.DuckDBPyConnection, columns: Sequence[str]) -> pd.DataFrame:
    """The funnel history's ``columns``, every row."""
    return con.execute(f"SELECT {', '.join(quote(c) for c in columns)} "
                       f"FROM {OPPORTUNITIES.sql}").df()


def attainment_inputs(con: duckdb.DuckDBPyConnection, start: date, end: date
                      ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Targets with a value (``period, region, team, rep_id, target``) and the orders' net
    revenue per month and unit (``period, region, team, rep_id, actual``) in
    ``[start, end)``."""
    targets = con.execute(f"SELECT period, region, team, rep_id, target FROM {TARGETS.sql} "
                          "WHERE target IS NOT NULL").df()
    actuals = con.execute(
        "SELECT CAST(date_trunc('month', order_date) AS DATE) AS period, region, team, rep_id, "
        f"sum(amount) AS actual FROM {ORDERS.sql} WHERE order_date >= ? AND order_date < ? "
        "AND amount IS NOT NULL GROUP BY ALL", [start, end]).df()
    return targets, actuals


__all__ = ["attainment_inputs", "forecast_weeks", "has_values", "last_customer_order",
           "last_forecast_month", "latest_scores", "opportunities", "replace_plan_period",
           "revenue_by", "tier_measures_sql"]
