"""SQL over the warehouse's canonical tables that yields the frames the report builders read.

Builders of SQL only (nothing runs here); :mod:`forecast.io.report_reads` and
:mod:`forecast.pipeline.reports` run them. Each ``*_sql`` returns a :class:`~forecast.io.sql.Query`
(its dates and labels bound as parameters); the pieces other queries are made of (``between``,
``member``, ``lost_customers_cte``) write into the caller's :class:`~forecast.io.sql.Params`.
Intervals are half-open, ``[start, end)``. Money is ``sum(amount)``: returns and cancellations
(negative amounts) net off.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Protocol

from forecast.io.catalog import CUSTOMER_TIERS
from forecast.io.sql import Params, Query, quote
from forecast.schemas import FUNNEL_STAGES, NULL_KEY


class ReportMonth(Protocol):
    """The dates of a report month the queries compare (``forecast.reports.periods.MonthWindow``
    has them); intervals are half-open."""

    @property
    def start(self) -> date: ...
    @property
    def end(self) -> date: ...
    @property
    def observed_end(self) -> date: ...
    @property
    def previous(self) -> date: ...
    @property
    def year_ago(self) -> date: ...
    @property
    def year_ago_end(self) -> date: ...
    @property
    def year_start(self) -> date: ...
    @property
    def trailing_start(self) -> date: ...


def between(p: Params, start: date, end: date, column: str = "order_date") -> str:
    """``column`` in [start, end), the dates bound in ``p``."""
    return f"{column} >= {p(start)} AND {column} < {p(end)}"


def member(p: Params, column: str) -> str:
    """A key column as text, NULL shown as (none) (bound in ``p``)."""
    return f"coalesce(CAST({quote(column)} AS VARCHAR), {p(NULL_KEY)})"


def monthly_totals_sql(end: date) -> Query:
    """Revenue per calendar month before ``end``: ``period, revenue``."""
    p = Params()
    return p.query(f"""
        SELECT CAST(date_trunc('month', order_date) AS DATE) AS period, sum(amount) AS revenue
        FROM orders WHERE order_date < {p(end)} GROUP BY 1 ORDER BY 1""")


def month_counts_sql(w: ReportMonth) -> Query:
    """Distinct orders and buying customers of the month: ``period, orders, customers`` (NULL
    when the data have no order or customer ids). Only this month: distinct counts are costly."""
    p = Params()
    return p.query(f"""
        SELECT {p(w.start)} AS period,
               CASE WHEN count(order_id) > 0 THEN count(DISTINCT order_id) END AS orders,
               CASE WHEN count(customer_id) > 0 THEN count(DISTINCT customer_id) END
                 AS customers
        FROM orders WHERE {between(p, w.start, w.end)}""")


def dimension_sql(column: str, w: ReportMonth) -> Query:
    """Revenue per member of a key: ``value, current, previous, year_ago`` (month, month before,
    same month last year)."""
    p = Params()
    return p.query(f"""
        SELECT {member(p, column)} AS value,
          coalesce(sum(amount) FILTER (WHERE {between(p, w.start, w.end)}), 0) AS current,
          coalesce(sum(amount) FILTER (WHERE {between(p, w.previous, w.start)}), 0) AS previous,
          coalesce(sum(amount) FILTER (WHERE {between(p, w.year_ago, w.year_ago_end)}), 0)
            AS year_ago
        FROM orders
        WHERE {between(p, w.previous, w.end)} OR {between(p, w.year_ago, w.year_ago_end)}
        GROUP BY 1""")


def key_accounts_sql(w: ReportMonth, rule: str, *, tiers_column: str | None = None,
                     segments: tuple[str, ...] = (), top_share: float = 0.2) -> Query:
    """The customer ids that count as key accounts in the report month.

    Rules: ``tiers`` (customer_tiers' value tier is 'key account'), ``segment`` (an order in the
    12 months to the month's end carries one of ``segments``), ``top_share`` (the top share of
    customers by revenue in those 12 months, ties by id).
    """
    p = Params()
    trailing = between(p, w.trailing_start, w.end)
    if rule == "tiers":
        return p.query(f"SELECT DISTINCT CAST(customer_id AS VARCHAR) AS customer_id "
                       f"FROM {CUSTOMER_TIERS.sql} "
                       f"WHERE {quote(tiers_column or 'value_tier')} = 'key account'")
    if rule == "segment":
        values = ", ".join(p(s) for s in segments)
        return p.query(f"SELECT DISTINCT customer_id FROM orders WHERE {trailing} "
                       f"AND customer_id IS NOT NULL AND segment IN ({values})")
    # The share as a number in the text: DECIMAL arithmetic, so ceil(0.2 * 15) is 3, not 4.
    return p.query(f"""
        SELECT customer_id FROM (
          SELECT customer_id, row_number() OVER (ORDER BY sum(amount) DESC, customer_id) AS rank,
                 count(*) OVER () AS n
          FROM orders WHERE {trailing} AND customer_id IS NOT NULL
          GROUP BY customer_id HAVING sum(amount) > 0)
        WHERE rank <= ceil({float(top_share)} * n)""")


def distribution_sql(w: ReportMonth, keys: Query, channels: bool) -> Query:
    """Revenue and buying customers of key accounts (the customer ids of ``keys``) vs others,
    and per channel, this month and last: ``grouping, member, current, previous, customers,
    customers_previous``."""
    p = Params()
    keys_sql = p.embed(keys)
    channel_part = ""
    if channels:
        channel_part = f"""
        UNION ALL
        SELECT 'channel', coalesce(channel, {p(NULL_KEY)}), {_distribution_values()}
        FROM lines GROUP BY 1, 2"""
    return p.query(f"""
        WITH keys AS ({keys_sql}),
        lines AS (
          SELECT o.customer_id, CAST(o.channel AS VARCHAR) AS channel, o.amount,
                 o.order_date >= {p(w.start)} AS is_current,
                 o.customer_id IN (SELECT customer_id FROM keys) AS is_key
          FROM orders o WHERE {between(p, w.previous, w.end, 'o.order_date')})
        SELECT 'accounts' AS grouping,
               CASE WHEN is_key THEN 'key account' ELSE 'other' END AS member,
               {_distribution_values()}
        FROM lines GROUP BY 1, 2{channel_part}""")


def _distribution_values() -> str:
    return ("coalesce(sum(amount) FILTER (WHERE is_current), 0) AS current, "
            "coalesce(sum(amount) FILTER (WHERE NOT is_current), 0) AS previous, "
            "count(DISTINCT customer_id) FILTER (WHERE is_current) AS customers, "
            "count(DISTINCT customer_id) FILTER (WHERE NOT is_current) AS customers_previous")


def target_totals_sql() -> Query:
    """Company target per month: ``period, target``."""
    return Query("SELECT CAST(date_trunc('month', period) AS DATE) AS period, "
                 "sum(target) AS target FROM targets GROUP BY 1 ORDER BY 1", {})


def attainment_sql(key: str, w: ReportMonth) -> Query:
    """Target and revenue per unit of a key (region, team or rep_id), for the month and the
    year to date: ``unit, target_month, actual_month, actual_previous, target_ytd, actual_ytd``.
    Units with a target or with revenue in the year are listed."""
    col = quote(key)
    month = "date_trunc('month', period)"
    p = Params()
    start, year_start = p(w.start), p(w.year_start)
    return p.query(f"""
        WITH t AS (
          SELECT CAST({col} AS VARCHAR) AS unit,
                 sum(target) FILTER (WHERE {month} = {start}) AS target_month,
                 sum(target) AS target_ytd
          FROM targets
          WHERE {col} IS NOT NULL AND {month} >= {year_start} AND {month} <= {start}
          GROUP BY 1),
        a AS (
          SELECT CAST({col} AS VARCHAR) AS unit,
                 coalesce(sum(amount) FILTER (WHERE order_date >= {start}), 0)
                   AS actual_month,
                 coalesce(sum(amount) FILTER (WHERE {between(p, w.previous, w.start)}), 0)
                   AS actual_previous,
                 coalesce(sum(amount) FILTER (WHERE order_date >= {year_start}), 0)
                   AS actual_ytd
          FROM orders
          WHERE {col} IS NOT NULL AND order_date >= {p(min(w.year_start, w.previous))}
            AND order_date < {p(w.end)}
          GROUP BY 1)
        SELECT coalesce(t.unit, a.unit) AS unit, t.target_month,
               coalesce(a.actual_month, 0) AS actual_month,
               coalesce(a.actual_previous, 0) AS actual_previous, t.target_ytd,
               coalesce(a.actual_ytd, 0) AS actual_ytd
        FROM t FULL JOIN a ON t.unit = a.unit""")


def _stage_order(p: Params, column: str = "stage") -> str:
    cases = " ".join(f"WHEN {p(s)} THEN {i}" for i, s in enumerate(FUNNEL_STAGES))
    return f"CASE {column} {cases} ELSE {len(FUNNEL_STAGES)} END"


def _entered_amount(condition: str) -> str:
    """Sum of the amounts of the stage entries matching ``condition``: 0 when there is no such
    entry, NULL (missing, not 0) when every one of them lacks an amount."""
    return (f"CASE WHEN count(*) FILTER (WHERE {condition}) = 0 THEN 0 "
            f"ELSE sum(amount) FILTER (WHERE {condition}) END")


def funnel_sql(w: ReportMonth) -> Query:
    """Stages entered this month and last: ``stage, entered, amount, entered_previous,
    amount_previous`` (an amount is NULL when the entries have no amounts)."""
    p = Params()
    current, previous = f"stage_date >= {p(w.start)}", f"stage_date < {p(w.start)}"
    return p.query(f"""
        SELECT stage,
          count(*) FILTER (WHERE {current}) AS entered,
          {_entered_amount(current)} AS amount,
          count(*) FILTER (WHERE {previous}) AS entered_previous,
          {_entered_amount(previous)} AS amount_previous
        FROM opportunities WHERE {between(p, w.previous, w.end, 'stage_date')}
        GROUP BY stage ORDER BY {_stage_order(p)}""")


def open_pipeline_sql(end: date) -> Query:
    """Opportunities open at ``end`` (latest stage before it is neither won nor lost), per
    stage: ``stage, opportunities, amount`` (NULL when none of them has an amount)."""
    p = Params()
    return p.query(f"""
        WITH latest AS (
          SELECT stage, amount FROM opportunities WHERE stage_date < {p(end)}
          QUALIFY row_number() OVER (PARTITION BY opportunity_id
                                     ORDER BY stage_date DESC, {_stage_order(p)} DESC) = 1)
        SELECT stage, count(*) AS opportunities, sum(amount) AS amount
        FROM latest WHERE stage NOT IN ('won', 'lost') GROUP BY stage
        ORDER BY {_stage_order(p)}""")


def names_join(has_customers: bool, alias: str) -> tuple[str, str]:
    """The customer name column and the join that brings it (a NULL name without customers)."""
    if not has_customers:
        return "CAST(NULL AS VARCHAR) AS name", ""
    return ("n.name", (f" LEFT JOIN (SELECT customer_id, any_value(name) AS name FROM customers "
                      f"GROUP BY 1) n ON n.customer_id = {alias}.customer_id"))


def new_customers_sql(w: ReportMonth, has_customers: bool, top_n: int) -> Query:
    """Customers whose first order ever is in the month, largest first, with the totals over all
    of them: ``customer_id, name, first_order, revenue, customers_total, revenue_total``."""
    name, join = names_join(has_customers, "f")
    p = Params()
    return p.query(f"""
        WITH firsts AS (
          SELECT customer_id, min(order_date) AS first_order FROM orders
          WHERE customer_id IS NOT NULL GROUP BY 1
          HAVING min(order_date) >= {p(w.start)} AND min(order_date) < {p(w.end)}),
        f AS (
          SELECT f.customer_id, f.first_order, sum(o.amount) AS revenue
          FROM firsts f JOIN orders o ON o.customer_id = f.customer_id
            AND {between(p, w.start, w.end, 'o.order_date')}
          GROUP BY 1, 2)
        SELECT f.customer_id, {name}, f.first_order, f.revenue,
               count(*) OVER () AS customers_total, sum(f.revenue) OVER () AS revenue_total
        FROM f{join}
        ORDER BY f.revenue DESC, f.customer_id LIMIT {int(top_n)}""")


def lost_customers_cte(p: Params, w: ReportMonth, horizon_days: int) -> str:
    """``lost AS (customer_id, last_order)``: customers whose ``horizon_days`` without an order
    run out within the observed month: last order in [start - H, observed_end - H) (the dates
    bound in ``p``)."""
    lo = w.start - timedelta(days=horizon_days)
    hi = w.observed_end - timedelta(days=horizon_days)
    return f"""lost AS (
          SELECT customer_id, max(order_date) AS last_order FROM orders
          WHERE customer_id IS NOT NULL AND order_date < {p(w.observed_end)} GROUP BY 1
          HAVING max(order_date) >= {p(lo)} AND max(order_date) < {p(hi)})"""


def lost_customers_sql(w: ReportMonth, horizon_days: int, has_customers: bool,
                       top_n: int) -> Query:
    """Customers lost in the month, with their revenue in the 365 days to their last order:
    ``customer_id, name, last_order, revenue_12m, customers_total, revenue_total``."""
    name, join = names_join(has_customers, "l")
    p = Params()
    return p.query(f"""
        WITH {lost_customers_cte(p, w, horizon_days)},
        l AS (
          SELECT lost.customer_id, lost.last_order, sum(o.amount) AS revenue_12m
          FROM lost JOIN orders o ON o.customer_id = lost.customer_id
            AND o.order_date > lost.last_order - INTERVAL 365 DAY
            AND o.order_date <= lost.last_order
          GROUP BY 1, 2)
        SELECT l.customer_id, {name}, l.last_order, l.revenue_12m,
               count(*) OVER () AS customers_total, sum(l.revenue_12m) OVER () AS revenue_total
        FROM l{join}
        ORDER BY l.revenue_12m DESC, l.customer_id LIMIT {int(top_n)}""")


def change_items_sql(unit: str, item: str, w: ReportMonth) -> Query:
    """Quantity and revenue per unit and item in the month (1) and the same month last year (0):
    ``unit, item, quantity_0, revenue_0, quantity_1, revenue_1``."""
    p = Params()
    current, base = between(p, w.start, w.end), between(p, w.year_ago, w.year_ago_end)
    return p.query(f"""
        SELECT {member(p, unit)} AS unit, {member(p, item)} AS item,
               sum(quantity) FILTER (WHERE {base}) AS quantity_0,
               sum(amount) FILTER (WHERE {base}) AS revenue_0,
               sum(quantity) FILTER (WHERE {current}) AS quantity_1,
               sum(amount) FILTER (WHERE {current}) AS revenue_1
        FROM orders WHERE ({current}) OR ({base}) GROUP BY 1, 2""")


def declining_customers_sql(unit: str, w: ReportMonth, top_n: int, has_customers: bool
                            ) -> Query:
    """Per unit, the customers whose revenue fell most vs the same month last year:
    ``unit, customer_id, name, revenue_0, revenue_1, change``."""
    p = Params()
    current, base = between(p, w.start, w.end), between(p, w.year_ago, w.year_ago_end)
    name, join = names_join(has_customers, "c")
    return p.query(f"""
        WITH c AS (
          SELECT {member(p, unit)} AS unit, customer_id,
                 coalesce(sum(amount) FILTER (WHERE {base}), 0) AS revenue_0,
                 coalesce(sum(amount) FILTER (WHERE {current}), 0) AS revenue_1
          FROM orders WHERE customer_id IS NOT NULL AND (({current}) OR ({base}))
          GROUP BY 1, 2)
        SELECT c.unit, c.customer_id, {name}, c.revenue_0, c.revenue_1,
               c.revenue_1 - c.revenue_0 AS change
        FROM c{join} WHERE c.revenue_1 < c.revenue_0
        QUALIFY row_number() OVER (
          PARTITION BY c.unit ORDER BY c.revenue_1 - c.revenue_0, c.customer_id) <= {int(top_n)}
        ORDER BY c.unit, change, c.customer_id""")


def targets_by_sql(keys: list[str], periods: list[date]) -> Query:
    """Targets per period and unit of ``keys`` (a grain; [] for the company):
    ``period, <keys>, target``."""
    cols = "".join(f"CAST({quote(c)} AS VARCHAR) AS {quote(c)}, " for c in keys)
    not_null = "".join(f" AND {quote(c)} IS NOT NULL" for c in keys)
    p = Params()
    wanted = ", ".join(p(period) for period in periods) or "NULL"
    group = ", ".join(str(i + 1) for i in range(len(keys) + 1))
    return p.query(f"""
        SELECT CAST(date_trunc('month', period) AS DATE) AS period, {cols}sum(target) AS target
        FROM targets WHERE CAST(date_trunc('month', period) AS DATE) IN ({wanted}){not_null}
        GROUP BY {group}""")


def customer_revenue_sql(start: date, end: date) -> Query:
    """Revenue per customer in [start, end): ``customer_id, revenue``."""
    p = Params()
    return p.query(f"SELECT customer_id, sum(amount) AS revenue FROM orders "
                   f"WHERE {between(p, start, end)} AND customer_id IS NOT NULL GROUP BY 1")


def key_revenue_sql(column: str, start: date, end: date) -> Query:
    """Revenue per member of a key in [start, end): ``value, revenue``."""
    p = Params()
    return p.query(f"SELECT {member(p, column)} AS value, sum(amount) AS revenue FROM orders "
                   f"WHERE {between(p, start, end)} GROUP BY 1")


