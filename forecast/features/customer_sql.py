"""SQL pieces of the customer snapshot at one cutoff (the ``per_cutoff`` plan), and the
vocabulary both plans share (order keys, partial aggregates, list counts).

The cutoff is a bound parameter (each piece writes its values into the caller's
:class:`~forecast.io.sql.Params`), which DuckDB substitutes before it plans: every date test is
against a constant and DuckDB can skip row groups that lie after it. Several cutoffs stacked
this way read the order lines once per cutoff; :mod:`forecast.features.customer_slices` builds
several cutoffs from one pass (:func:`forecast.features.customers.build_snapshot_sql` uses this
plan for a single cutoff, which it serves fastest, and for blocks of one cutoff when memory
allows no more per pass).

The plan keeps memory small and makes one pass over the order lines dated before the cutoff:

1. ``customer_lines``: one hash GROUP BY per customer (about a million groups for a million
   customers, never one per order or per day) computing every line-level sum (net revenue and
   its windows, returns, channel mix, margin, latest segment and region, product-line bits)
   and collecting, per purchase line, an order key: the day number in the high bits, a hash of
   the order id in the low bits. Conditional sums are written ``sum(CASE WHEN ... END)``, not
   ``sum(...) FILTER (WHERE ...)``: the same rows in the same order, so the same values, but
   DuckDB's hash aggregate evaluates each FILTER apart and updates through a selection, which
   made this step a fifth slower.
2. ``customer_stats``: list functions per customer on those few keys: sorting them gives the
   distinct purchase orders and the distinct purchase days, in day order, from which the
   lifetimes columns and the interval statistics follow; the order windows are differences of
   counts of keys below each window edge (:func:`count_below`). A (customer, day, order)
   GROUP BY would hold one hash-table entry per order (tens of millions) and a window would
   sort every line; per-customer lists are several times cheaper in memory.
3. ``first_day_revenue``: the purchase revenue of each customer's first purchase day (lifetimes'
   monetary value leaves it out), by a join of the purchase lines to the first days.
4. The context of :mod:`forecast.features.customer_context` (label window, surveys,
   opportunities, customer attributes, product-line presence and breadth past 64 lines),
   LEFT JOINed on customer_id.

Where the time goes, on 4.4 million lines and 183,000 customers (2 cores, CPU seconds): the
plain four lifetimes columns (purchase lines grouped per customer and day, then per customer)
cost about a third of this plan; ``customer_lines`` (about 30 aggregates and the key list over
every line) half of it, the key lists an eighth, first-day revenue 7 %, the order windows and
interval statistics 8 %, the context and the final projection a fifth. No step is evaluated
twice.

Nothing loops over customers in Python and every operator can spill, so the build runs out of
core. Only :mod:`forecast.features.customers` and its plan modules use this module.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from forecast.config import CustomerFeaturesConfig
from forecast.features.catalogue import LABEL_COMPLETE
from forecast.io.sql import Params
from forecast.schemas import CHANNELS, LABEL

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
EPOCH_SQL = "DATE '0001-01-01'"


def when(aggregate: str, value: str, condition: str) -> str:
    """``aggregate(value) FILTER (WHERE condition)`` written as ``aggregate(CASE WHEN condition
    THEN value END)``: the same rows in the same order, so the same result, but cheaper in
    DuckDB's hash aggregate, which evaluates a FILTER per aggregate and updates through a
    selection. (Not for ``list``, which keeps NULLs.)"""
    return f"{aggregate}(CASE WHEN {condition} THEN {value} END)"


def latest_key(day_column: str, lineage: bool) -> str:
    """An integer that orders rows by day, then by source row (the lineage column, when the
    table has it), so "the latest row" is deterministic; integer keys are far cheaper than
    struct keys in arg_max."""
    row = " + source_row" if lineage else ""
    return f"(({day_column} - {EPOCH_SQL}) * 4294967296{row})"


def day_number(day: date) -> int:
    """Days since 0001-01-01, the day numbers of the purchase-day lists."""
    return (day - _EPOCH).days


def key_floor(day: date) -> int:
    """The smallest order key of ``day``: keys >= it belong to ``day`` or later."""
    return day_number(day) << KEY_SHIFT


def key_floor_sql(day: str) -> str:
    """SQL of the smallest order key of the date expression ``day``."""
    return f"(CAST(({day}) - {EPOCH_SQL} AS UBIGINT) << {KEY_SHIFT})"


def order_key(sources: SnapshotSources) -> str:
    """SQL of an order line's order key (see ``KEY_SHIFT``)."""
    day = key_floor_sql("order_date")
    if not sources.has("order_id"):
        return day  # without order ids, a customer's purchase lines of one day are one order
    # Lines without an id hash to one value per day: together they make one order.
    return f"({day} | (hash(order_id) >> {64 - KEY_SHIFT}))"


def _revenue_windows(windows: list[int], cutoff: str) -> list[str]:
    parts = []
    for w in windows:
        parts += [
            f"{when('sum', 'amount', f'order_date >= {cutoff} - {w}')} AS revenue_last_{w}",
            when("sum", "amount", f"order_date >= {cutoff} - {2 * w} "
                 f"AND order_date < {cutoff} - {w}") + f" AS revenue_previous_{w}",
        ]
    return parts


def mix_sums(sources: SnapshotSources, p: Params, keyed: bool = False) -> list[str]:
    """Aggregates of the channel mix, margin and latest segment and region over order lines;
    ``keyed``: partial aggregates for :func:`mix_composed` (channel sums not yet coalesced, the
    key of each latest value beside it)."""
    parts = []
    if sources.has("channel"):
        for channel in CHANNELS:
            # Channel values are the canonical ones (schemas.CHANNELS); lower() on every line
            # would cost more than the whole channel mix.
            total = when("sum", "amount", f"amount > 0 AND channel = {p(channel)}")
            parts.append(f"{total if keyed else f'coalesce({total}, 0)'} AS {channel}_revenue")
        parts.append(when("sum", "amount", "amount > 0 AND channel IS NOT NULL")
                     + " AS channel_revenue")
    if sources.has("unit_cost", "quantity"):
        costed = "amount > 0 AND unit_cost IS NOT NULL AND quantity IS NOT NULL"
        parts.append(when("sum", "amount - quantity * unit_cost", costed) + " AS margin")
        parts.append(when("sum", "amount", costed) + " AS margin_base")
    for column in ("segment", "region"):
        if sources.has(column):
            key = latest_key("order_date", "orders" in sources.lineage)
            parts.append(f"arg_max({column}, {key}) AS order_{column}")
            if keyed:
                parts.append(when("max", key, f"{column} IS NOT NULL")
                             + f" AS order_{column}_key")
    return parts


def mix_parts(sources: SnapshotSources) -> list[tuple[str, str]]:
    """The columns of :func:`mix_sums`'s ``keyed`` partials and how each composes: ``sum``, or
    ``latest`` (a value whose key is the ``_key`` column beside it)."""
    parts = []
    if sources.has("channel"):
        parts += [(f"{c}_revenue", "sum") for c in CHANNELS] + [("channel_revenue", "sum")]
    if sources.has("unit_cost", "quantity"):
        parts += [("margin", "sum"), ("margin_base", "sum")]
    return parts + [(f"order_{c}", "latest") for c in ("segment", "region") if sources.has(c)]


def line_bit(lines: tuple[str, ...], p: Params) -> str:
    """SQL of an order line's product-line bit (``lines``: the few product lines, sorted)."""
    codes = ", ".join(p(line) for line in lines)
    return f"CAST(1 AS UBIGINT) << CAST(list_position([{codes}], product_line) - 1 AS UBIGINT)"


def _breadth_bits(config: CustomerFeaturesConfig, lines: tuple[str, ...],
                  cutoff: str, p: Params) -> list[str]:
    # One aggregate per window instead of a (customer, product line) GROUP BY: much cheaper.
    bit = line_bit(lines, p)
    w = config.product_window_days
    windows = {
        "lines_total": "",
        "lines_recent": f" AND order_date >= {cutoff} - {w}",
        "lines_previous": f" AND order_date >= {cutoff} - {2 * w} AND order_date < {cutoff} - {w}",
    }
    return [f"bit_count({when('bit_or', bit, f'amount > 0 AND product_line IS NOT NULL{where}')})"
            f" AS {name}" for name, where in windows.items()]


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
        f"{when('count', '1', 'amount < 0')} AS return_line_count",
        f"coalesce(-{when('sum', 'amount', 'amount < 0')}, 0) AS returned_revenue",
        f"{when('sum', 'amount', 'amount > 0')} AS purchase_revenue",
        *_revenue_windows(config.windows, cutoff),
        *mix_sums(sources, p),
        *(_breadth_bits(config, sources.product_lines, cutoff, p)
          if sources.product_lines else []),
        f"list({order_key(sources)}) FILTER (WHERE amount > 0) AS purchase_keys",
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


def count_below(column: str, bound: str) -> str:
    """SQL of the number of elements below ``bound`` in the ascending list ``column`` (NULL for a
    NULL list): the position of the first element at or above it, found by ``list_position``
    on a list of booleans, costs less than ``len(list_filter(...))``, which builds a list."""
    return (f"coalesce(list_position(list_transform({column}, lambda x: x >= {bound}), true) - 1, "
            f"len({column}))")


def _order_windows(windows: list[int], day: date) -> tuple[list[str], list[str]]:
    """The counts of order keys below each window edge of ``day`` (columns ``below_<days>``) and
    the order windows as differences of them (all keys lie below ``day``)."""
    spans = sorted({*windows, *(2 * w for w in windows)})
    below = [f"{count_below('order_keys', f'CAST({key_floor(day - timedelta(days=d))} AS UBIGINT)')}"
             f" AS below_{d}" for d in spans]
    parts = []
    for w in windows:
        parts += [f"len(order_keys) - below_{w} AS orders_last_{w}",
                  f"below_{w} - below_{2 * w} AS orders_previous_{w}"]
    return below, parts


def distinct_days_ctes(source: str) -> str:
    """``key_days_distinct``: the rows of ``source`` with its ``purchase_keys`` replaced by
    ``order_keys`` (the distinct order keys, ascending) and ``days`` (the distinct purchase days
    as day numbers since 0001-01-01, ascending). Lambdas refer only to columns of the previous
    step: a reference to a column alias of the same SELECT would be recomputed for every list
    element."""
    return f"""sorted_keys AS (
    SELECT * EXCLUDE (purchase_keys), list_sort(purchase_keys) AS sorted
    FROM {source}),
distinct_keys AS (
    SELECT * EXCLUDE (sorted),
        list_filter(sorted, lambda k, i: i = 1 OR k <> sorted[i - 1]) AS order_keys
    FROM sorted_keys),
key_days AS (
    SELECT *, list_transform(order_keys, lambda k: CAST(k >> {KEY_SHIFT} AS BIGINT)) AS key_day
    FROM distinct_keys),
key_days_distinct AS (
    SELECT * EXCLUDE (key_day),
        list_filter(key_day, lambda d, i: i = 1 OR d <> key_day[i - 1]) AS days
    FROM key_days)"""


def customer_stats_ctes(config: CustomerFeaturesConfig, day: date) -> str:
    """``customer_stats``: ``customer_lines`` plus the purchase days' statistics
    (``purchase_day_count``, ``first_purchase_day``, ``previous_purchase_day``,
    ``last_purchase_day``, ``interval_std`` of the days between purchase days, from the days
    of :func:`distinct_days_ctes`), ``purchase_orders`` (distinct purchase orders), the order
    windows and ``first_day_revenue``."""
    below, windows = _order_windows(config.windows, day)
    names = ", ".join(f"below_{d}" for d in sorted({*config.windows,
                                                     *(2 * w for w in config.windows)}))
    return f"""{distinct_days_ctes('customer_lines')},
customer_stats AS (
    SELECT k.* EXCLUDE (order_keys, days, {names}),
        len(days) AS purchase_day_count,
        {EPOCH_SQL} + CAST(days[1] AS INTEGER) AS first_purchase_day,
        {EPOCH_SQL} + CAST(days[-2] AS INTEGER) AS previous_purchase_day,
        {EPOCH_SQL} + CAST(days[-1] AS INTEGER) AS last_purchase_day,
        list_stddev_samp(list_transform(range(1, len(days)), lambda i: days[i + 1] - days[i]))
            AS interval_std,
        coalesce(len(order_keys), 0) AS purchase_orders,
        {(',' + chr(10) + '        ').join(windows)},
        fd.first_day_revenue
    FROM (SELECT *, {', '.join(below)} FROM key_days_distinct) AS k
    LEFT JOIN first_day_revenue AS fd USING (customer_id))"""

def data_end_cte() -> str:
    """``data_end``: the last order day, which says whether a label window is complete."""
    return "data_end AS (SELECT max(order_date) AS last_day FROM orders)"


def label_columns(horizon_days: int) -> list[str]:
    """Expressions of ``churned`` and ``label_complete`` over the snapshot rows ``a`` (with
    ``future_buyer``) and ``data_end e``."""
    complete = f"(a.cutoff + {horizon_days} <= e.last_day + 1)"
    return [
        f"CASE WHEN {complete} THEN NOT a.future_buyer END AS {LABEL}",
        f"{complete} AS {LABEL_COMPLETE}",
    ]
