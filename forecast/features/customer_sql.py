"""SQL pieces of the customer snapshot at one cutoff: one common table expression per step.

The cutoff is a bound parameter (each piece writes its values into the caller's
:class:`~forecast.io.sql.Params`), which DuckDB substitutes before it plans: every date test is
against a constant and DuckDB can skip row groups that lie after it; several cutoffs are stacked
with UNION ALL.

The plan keeps memory small and makes one pass over the order lines dated before the cutoff:

1. ``customer_lines``: one hash GROUP BY per customer (about a million groups for a million
   customers, never one per order or per day) computing every line-level sum with FILTER
   clauses (net revenue and its windows, returns, channel mix, margin, latest segment and
   region, product-line bits) and collecting, per purchase line, an order key: the day number
   in the high bits, a hash of the order id in the low bits.
2. ``customer_stats``: list functions per customer on those few keys: sorting them gives the
   distinct purchase orders (and their windows) and the distinct purchase days, in day order,
   from which the lifetimes columns and the interval statistics follow. A (customer, day, order)
   GROUP BY would hold one hash-table entry per order (tens of millions) and a window would
   sort every line; per-customer lists are several times cheaper in memory.
3. ``first_day_revenue``: the purchase revenue of each customer's first purchase day (lifetimes'
   monetary value leaves it out), by a join of the purchase lines to the first days.
4. Small side aggregates (surveys, opportunities, customer attributes, the label, and product-line
   breadth for data sets with more than 64 lines), LEFT JOINed on customer_id.

Nothing loops over customers in Python and every operator can spill, so the build runs out of
core. Only :mod:`forecast.features.customers` uses this module.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from forecast.config import CustomerFeaturesConfig
from forecast.features.catalogue import LABEL_COMPLETE
from forecast.io.sql import Params
from forecast.schemas import CHANNELS, FUNNEL_STAGES, LABEL

CUSTOMER_ATTRIBUTES = ("segment", "region", "industry")
# Product lines fit one bit each of a UBIGINT: distinct lines = bit_count(bit_or(bits)).
MAX_BITMASK_LINES = 64


@dataclass(frozen=True)
class SnapshotSources:
    """What the warehouse offers the snapshot builder.

    Attributes:
        order_columns: optional order columns that exist and hold at least one value.
        customer_columns: attribute columns (segment, region, industry) of the ``customers``
            table; empty when the table is absent.
        surveys: the ``surveys`` table exists.
        opportunities: the ``opportunities`` table exists.
        lineage: tables that have the ``source_row`` lineage column (every table the warehouse
            ingested), used to break same-day ties deterministically.
        product_lines: the distinct product lines when there are at most
            ``MAX_BITMASK_LINES`` of them (breadth is then a bitmask in ``customer_lines``); empty
            when there are more (breadth is then its own GROUP BY) or none.
    """

    order_columns: frozenset[str]
    customer_columns: frozenset[str]
    surveys: bool
    opportunities: bool
    lineage: frozenset[str] = frozenset()
    product_lines: tuple[str, ...] = ()

    def has(self, *columns: str) -> bool:
        """Whether the orders hold values in every one of ``columns``."""
        return all(c in self.order_columns for c in columns)


# Order keys: day number since 0001-01-01 (< 2**20 until the year 2870) in the top 20 bits, a
# hash of the order id in the low 44. Two orders of one customer on one day share a key only on
# a 44-bit hash collision (odds about 1e-13 per pair), which would merge them into one order.
KEY_SHIFT = 44
_EPOCH = date(1, 1, 1)
_EPOCH_SQL = "DATE '0001-01-01'"


def latest_key(day_column: str, lineage: bool) -> str:
    """An integer that orders rows by day, then by source row (the lineage column, when the
    table has it), so "the latest row" is deterministic; integer keys are far cheaper than
    struct keys in arg_max."""
    row = " + source_row" if lineage else ""
    return f"(({day_column} - {_EPOCH_SQL}) * 4294967296{row})"


def _key_floor(day: date) -> int:
    """The smallest order key of ``day``: keys >= it belong to ``day`` or later."""
    return (day - _EPOCH).days << KEY_SHIFT


def _order_key(sources: SnapshotSources) -> str:
    day = f"(CAST(order_date - {_EPOCH_SQL} AS UBIGINT) << {KEY_SHIFT})"
    if not sources.has("order_id"):
        return day  # without order ids, a customer's purchase lines of one day are one order
    # Lines without an id hash to one value per day: together they make one order.
    return f"({day} | (hash(order_id) >> {64 - KEY_SHIFT}))"


def _revenue_windows(windows: list[int], cutoff: str) -> list[str]:
    parts = []
    for w in windows:
        parts += [
            f"sum(amount) FILTER (WHERE order_date >= {cutoff} - {w}) AS revenue_last_{w}",
            (f"sum(amount) FILTER (WHERE order_date >= {cutoff} - {2 * w} "
            f"AND order_date < {cutoff} - {w}) AS revenue_previous_{w}"),
        ]
    return parts


def _mix_sums(sources: SnapshotSources, p: Params) -> list[str]:
    parts = []
    if sources.has("channel"):
        for channel in CHANNELS:
            # Channel values are the canonical ones (schemas.CHANNELS); lower() on every line
            # would cost more than the whole channel mix.
            parts.append(f"coalesce(sum(amount) FILTER (WHERE amount > 0 AND channel = "
                         f"{p(channel)}), 0) AS {channel}_revenue")
        parts.append("sum(amount) FILTER (WHERE amount > 0 AND channel IS NOT NULL) "
                     "AS channel_revenue")
    if sources.has("unit_cost", "quantity"):
        costed = "amount > 0 AND unit_cost IS NOT NULL AND quantity IS NOT NULL"
        parts.append(f"sum(amount - quantity * unit_cost) FILTER (WHERE {costed}) AS margin")
        parts.append(f"sum(amount) FILTER (WHERE {costed}) AS margin_base")
    for column in ("segment", "region"):
        if sources.has(column):
            key = latest_key("order_date", "orders" in sources.lineage)
            parts.append(f"arg_max({column}, {key}) AS order_{column}")
    return parts


def _breadth_bits(config: CustomerFeaturesConfig, lines: tuple[str, ...],
                  cutoff: str, p: Params) -> list[str]:
    # One aggregate per window instead of a (customer, product line) GROUP BY: much cheaper.
    codes = ", ".join(p(line) for line in lines)
    bit = f"CAST(1 AS UBIGINT) << CAST(list_position([{codes}], product_line) - 1 AS UBIGINT)"
    w = config.product_window_days
    windows = {
        "lines_total": "",
        "lines_recent": f" AND order_date >= {cutoff} - {w}",
        "lines_previous": f" AND order_date >= {cutoff} - {2 * w} AND order_date < {cutoff} - {w}",
    }
    return [f"bit_count(bit_or({bit}) FILTER (WHERE amount > 0 AND product_line IS NOT NULL"
            f"{where})) AS {name}" for name, where in windows.items()]


def customer_lines_cte(config: CustomerFeaturesConfig, sources: SnapshotSources,
                       day: date, p: Params) -> str:
    """``customer_lines``: one row per customer with any order line before the cutoff ``day``
    (the snapshot population) with every line-level sum and ``purchase_keys``, the order keys
    of its purchase lines."""
    cutoff = p(day)
    parts = [
        f"{cutoff} AS cutoff",
        "min(order_date) AS first_day",
        "sum(amount) AS net_revenue",
        "count(*) AS line_count",
        "count(*) FILTER (WHERE amount < 0) AS return_line_count",
        "coalesce(-sum(amount) FILTER (WHERE amount < 0), 0) AS returned_revenue",
        "sum(amount) FILTER (WHERE amount > 0) AS purchase_revenue",
        *_revenue_windows(config.windows, cutoff),
        *_mix_sums(sources, p),
        *(_breadth_bits(config, sources.product_lines, cutoff, p)
          if sources.product_lines else []),
        f"list({_order_key(sources)}) FILTER (WHERE amount > 0) AS purchase_keys",
    ]
    body = ",\n        ".join(parts)
    return f"""customer_lines AS (
    SELECT customer_id,
        {body}
    FROM orders
    WHERE customer_id IS NOT NULL AND order_date < {cutoff}
    GROUP BY customer_id)"""


def first_day_revenue_ctes(day: date, p: Params) -> str:
    """``first_purchase`` (customer, first purchase day) and ``first_day_revenue`` (customer,
    purchase revenue of that day), which lifetimes' monetary value leaves out.

    A join of the purchase lines to a million first days is cheaper than carrying every line's
    amount in the per-customer list."""
    where = f"customer_id IS NOT NULL AND amount > 0 AND order_date < {p(day)}"
    return f"""first_purchase AS (
    SELECT customer_id, min(order_date) AS first_purchase_day
    FROM orders WHERE {where}
    GROUP BY customer_id),
first_day_revenue AS (
    SELECT customer_id, sum(amount) AS first_day_revenue
    FROM orders JOIN first_purchase USING (customer_id)
    WHERE {where} AND order_date = first_purchase_day
    GROUP BY customer_id)"""


def _order_windows(windows: list[int], day: date) -> list[str]:
    parts = []
    for w in windows:
        last = _key_floor(day - timedelta(days=w))
        previous = _key_floor(day - timedelta(days=2 * w))
        parts += [
            f"len(list_filter(order_keys, lambda k: k >= {last})) AS orders_last_{w}",
            (f"len(list_filter(order_keys, lambda k: k >= {previous} AND k < {last})) "
            f"AS orders_previous_{w}"),
        ]
    return parts


def customer_stats_ctes(config: CustomerFeaturesConfig, day: date) -> str:
    """``customer_stats``: ``customer_lines`` plus ``days`` (the distinct purchase days as day
    numbers since 0001-01-01, ascending), ``first_purchase_day``, ``last_purchase_day``,
    ``purchase_orders`` (distinct purchase orders) and the order windows. Lambdas refer only to
    columns of the previous step: a reference to a column alias of the same SELECT would be
    recomputed for every list element."""
    windows = ",\n        ".join(_order_windows(config.windows, day))
    return f"""sorted_keys AS (
    SELECT * EXCLUDE (purchase_keys), list_sort(purchase_keys) AS sorted
    FROM customer_lines),
distinct_keys AS (
    SELECT * EXCLUDE (sorted),
        list_filter(sorted, lambda k, i: i = 1 OR k <> sorted[i - 1]) AS order_keys
    FROM sorted_keys),
key_days AS (
    SELECT *, list_transform(order_keys, lambda k: CAST(k >> {KEY_SHIFT} AS BIGINT)) AS key_day
    FROM distinct_keys),
customer_stats AS (
    SELECT * EXCLUDE (key_day, order_keys),
        list_filter(key_day, lambda d, i: i = 1 OR d <> key_day[i - 1]) AS days,
        {_EPOCH_SQL} + CAST(key_day[1] AS INTEGER) AS first_purchase_day,
        {_EPOCH_SQL} + CAST(key_day[-1] AS INTEGER) AS last_purchase_day,
        coalesce(len(order_keys), 0) AS purchase_orders,
        {windows}
    FROM key_days)"""


def breadth_ctes(config: CustomerFeaturesConfig, day: date, p: Params) -> str:
    """``line_recency`` (customer, product line) and ``breadth`` (customer), for data sets with
    more product lines than a bitmask holds."""
    w, cutoff = config.product_window_days, p(day)
    return f"""line_recency AS (
    SELECT customer_id, product_line, max(order_date) AS last_day,
        bool_or(order_date >= {cutoff} - {2 * w} AND order_date < {cutoff} - {w}) AS in_previous
    FROM orders
    WHERE customer_id IS NOT NULL AND order_date < {cutoff} AND amount > 0
        AND product_line IS NOT NULL
    GROUP BY customer_id, product_line),
breadth AS (
    SELECT customer_id, count(*) AS lines_total,
        count(*) FILTER (WHERE last_day >= {cutoff} - {w}) AS lines_recent,
        count(*) FILTER (WHERE in_previous) AS lines_previous
    FROM line_recency
    GROUP BY customer_id)"""


def product_line_presence_cte(day: date, p: Params) -> str:
    """``product_line_presence``: one row whose ``known`` says whether any customer's order line
    before the cutoff ``day`` names a product line. The product-line features are counts where
    it does and NULL where it does not, decided on the past alone, so a product line first
    recorded after the cutoff changes no feature of the snapshot."""
    return f"""product_line_presence AS (
    SELECT EXISTS (SELECT 1 FROM orders WHERE customer_id IS NOT NULL
        AND product_line IS NOT NULL AND order_date < {p(day)}) AS known)"""


def survey_cte(day: date, lineage: bool, p: Params) -> str:
    """``survey_scores``: the two latest scores before the cutoff ``day`` (latest first; surveys
    of one day in source order) and the latest survey day."""
    return f"""survey_scores AS (
    SELECT customer_id, max(survey_date) AS last_survey,
        arg_max(score, {latest_key('survey_date', lineage)}, 2) AS last_scores
    FROM surveys
    WHERE customer_id IS NOT NULL AND score IS NOT NULL AND survey_date < {p(day)}
    GROUP BY customer_id)"""


def opportunity_ctes(day: date, p: Params) -> str:
    """``opportunity_state`` (latest stage before the cutoff ``day`` per opportunity) and
    ``open_opportunities``."""
    ranks = " ".join(f"WHEN {p(s)} THEN {i + 1}" for i, s in enumerate(FUNNEL_STAGES))
    # Stages entered the same day are ordered by funnel position, so "won" beats "proposal".
    key = f"((stage_date - {_EPOCH_SQL}) * 8 + CASE lower(trim(stage)) {ranks} ELSE 0 END)"
    return f"""opportunity_state AS (
    SELECT customer_id, opportunity_id,
        arg_max(lower(trim(stage)), {key}) AS stage,
        arg_max(amount, {key}) AS amount
    FROM opportunities
    WHERE customer_id IS NOT NULL AND stage IS NOT NULL AND stage_date < {p(day)}
    GROUP BY customer_id, opportunity_id),
open_opportunities AS (
    SELECT customer_id, count(*) AS open_count, coalesce(sum(amount), 0) AS open_amount
    FROM opportunity_state
    WHERE stage NOT IN ('won', 'lost')
    GROUP BY customer_id)"""


def customer_attributes_cte(sources: SnapshotSources) -> str:
    """``customer_attributes``: one row per customer of the ``customers`` table."""
    columns = ", ".join(f"max({c}) AS {c}" for c in sorted(sources.customer_columns))
    return f"""customer_attributes AS (
    SELECT customer_id, {columns}
    FROM customers WHERE customer_id IS NOT NULL
    GROUP BY customer_id)"""


def label_ctes(horizon_days: int, day: date, p: Params) -> str:
    """``data_end`` (last order day) and ``future_buyers`` (customers with a purchase in the
    label window ``[cutoff, cutoff + horizon_days)`` of the cutoff ``day``)."""
    cutoff = p(day)
    return f"""data_end AS (SELECT max(order_date) AS last_day FROM orders),
future_buyers AS (
    SELECT DISTINCT customer_id
    FROM orders
    WHERE customer_id IS NOT NULL AND amount > 0
        AND order_date >= {cutoff} AND order_date < {cutoff} + {horizon_days})"""


def label_columns(horizon_days: int) -> list[str]:
    """Expressions of ``churned`` and ``label_complete`` over ``customer_stats a``, ``data_end
    e`` and ``future_buyers f``."""
    complete = f"(a.cutoff + {horizon_days} <= e.last_day + 1)"
    return [
        f"CASE WHEN {complete} THEN f.customer_id IS NULL END AS {LABEL}",
        f"{complete} AS {LABEL_COMPLETE}",
    ]
