"""SQL pieces of the customer snapshots at several cutoffs from one pass over the order lines
(the ``one_pass`` plan).

Stacking one SELECT per cutoff (:mod:`forecast.features.customer_sql`) reads every order line
once per cutoff after it; a range join ``orders JOIN cutoffs ON order_date < cutoff`` would copy
it as often. Here every line is aggregated once, into the piece of time it falls in, and each
cutoff is composed from the pieces before it (cutoffs c1 < ... < cK; every test is strictly
before a cutoff):

1. ``slice_lines``: one hash GROUP BY (customer, slice) over the lines before cK, slice s holding
   the lines dated in [c_s, c_s+1) (slice 0: before c1), with every cumulative line-level
   aggregate as a partial: sums and counts, the first line and purchase days, the latest
   segment and region each with its key, the product-line bits.
2. ``cumulative_1`` .. ``cumulative_K``: a chain. The state at c_j+1 is the state at c_j joined
   (FULL, on the customer) to slice j: sums add, min and bit_or compose, a latest value takes
   the larger key. Each slice row and each state row is read once more, where a GROUP BY over
   the (slice, later cutoff) pairs read each slice once per later cutoff (three times the
   work). The states are the snapshot population.
3. ``bucket_lines``: a GROUP BY (customer, bucket) with two aggregates, net amount and
   product-line bits, where the buckets are cut at every edge of every trailing window of every
   cutoff (c - w and c - 2w for each window w and for the product window) and at the cutoffs,
   so each window of each cutoff is a run of whole buckets; ``windowed`` joins them to the
   (bucket, cutoff) pairs inside each cutoff's widest window, flagged with the windows the
   bucket lies in, and sums per (customer, cutoff).
4. ``key_stats``: the purchase order keys of each customer (as in the one-cutoff plan) collected,
   sorted and deduplicated once for all cutoffs. Each cutoff keeps a prefix of the distinct
   purchase days and of their gaps; its order windows are differences of counts of keys below
   each window edge. First-day revenue is the same at every cutoff after the first purchase,
   so it is computed once.
5. ``customer_stats`` joins the states, the window sums and the key statistics on (customer,
   cutoff) under the one-cutoff plan's column names; the context of
   :mod:`forecast.features.customer_context` (one small GROUP BY per cutoff, stacked) joins
   them the same way.

The day of a line maps to its slice and bucket through a bound list indexed by the day (one
subtraction and one list element per line); every other bound is a constant written into the
statement (bucket numbers, key floors, day numbers), so a VALUES table or a list of cutoffs
holds the dates, as bound parameters.

Sums over slices or buckets add the same lines as the one-cutoff plan's sums, grouped
differently: equal where the amounts add exactly, else to the last bits of a double, as two
runs of one plan are (a parallel sum adds in the order its threads meet the lines). Integer
counts, days, keys, bit masks, latest values and lists are identical, and so are the rows.

The plan holds every row of its cutoffs at once (about 1.1 KB each), so
:func:`forecast.features.customers.cutoff_blocks` builds many cutoffs in blocks. Only
:mod:`forecast.features.customers` uses this module.
"""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass
from datetime import date, timedelta

from forecast.config import CustomerFeaturesConfig
from forecast.features import customer_sql as q
from forecast.io.sql import Params


@dataclass(frozen=True)
class CutoffGrid:
    """The sorted cutoffs and the edges that cut the days before the last one into buckets.

    Attributes:
        cutoffs: distinct cutoffs, ascending.
        edges: distinct window edges (``c - w``, ``c - 2w`` for every trailing window and the
            product window) and cutoffs, ascending; the last is the last cutoff. A line dated
            ``d`` lies in bucket ``bisect_right(edges, d)``, so the lines of ``[x, y)`` (x, y
            edges) are the buckets ``index(x) .. index(y) - 1``.
        windows: the trailing windows (days) of the revenue and order counts.
        product_window: the product-line window (days).
    """

    cutoffs: tuple[date, ...]
    edges: tuple[date, ...]
    windows: tuple[int, ...]
    product_window: int

    @classmethod
    def of(cls, config: CustomerFeaturesConfig, cutoffs: list[date]) -> CutoffGrid:
        days = sorted(set(cutoffs))
        p = config.product_window_days
        spans = {0, p, 2 * p, *config.windows, *(2 * w for w in config.windows)}
        edges = sorted({c - timedelta(days=d) for c in days for d in spans})
        return cls(tuple(days), tuple(edges), tuple(config.windows), p)

    def index(self, edge: date) -> int:
        """The first bucket on or after ``edge`` (an edge)."""
        return self.edges.index(edge) + 1

    def window_flags(self, cutoff: date) -> dict[str, tuple[int, int]]:
        """Flag name -> bucket range [lo, hi) of each window of ``cutoff``."""
        def at(days: int) -> int:
            return self.index(cutoff - timedelta(days=days))

        flags = {}
        for w in self.windows:
            flags[f"last_{w}"] = (at(w), at(0))
            flags[f"previous_{w}"] = (at(2 * w), at(w))
        p = self.product_window
        flags["lines_recent"] = (at(p), at(0))
        flags["lines_previous"] = (at(2 * p), at(p))
        return flags


def _lookup(column: str, start: date, stops: tuple[date, ...], p: Params) -> str:
    """SQL of ``bisect_right(stops, column)`` for dates before ``stops[-1]``: a bound list indexed
    by the day (one subtraction and a list element per row, instead of a comparison per stop);
    days before ``start`` (<= stops[0]) get 0."""
    before = start - timedelta(days=1)
    table = [bisect_right(stops, before + timedelta(days=i)) for i in range((stops[-1] - before).days)]
    return f"{p(table)}[greatest({column} - {p(before)}, 0) + 1]"


def slice_of(grid: CutoffGrid, column: str, p: Params) -> str:
    """SQL of the slice of a date column: the number of cutoffs on or before it."""
    return _lookup(column, grid.cutoffs[0], grid.cutoffs, p)


def bucket_of(grid: CutoffGrid, column: str, p: Params) -> str:
    """SQL of the bucket of a date column: the number of edges on or before it."""
    return _lookup(column, grid.edges[0], grid.edges, p)


def _slice_parts(sources: q.SnapshotSources) -> list[tuple[str, str]]:
    """The partial columns of ``slice_lines`` and how each composes over slices (``min``,
    ``sum``, ``or``, ``latest``: a value beside its ``_key``); the first seven are the same
    for every warehouse."""
    parts = [("first_day", "min"), ("net_revenue", "sum"), ("line_count", "sum"),
             ("return_line_count", "sum"), ("return_sum", "sum"), ("purchase_revenue", "sum"),
             ("first_purchase", "min"), *q.mix_parts(sources)]
    return parts + [("line_bits", "or")] if sources.product_lines else parts


def slice_lines_cte(sources: q.SnapshotSources, grid: CutoffGrid, p: Params) -> str:
    """``slice_lines``: one row per (customer, slice) with the cumulative line-level aggregates
    of the slice's lines (the partials of :func:`_slice_parts`)."""
    parts = [
        "min(order_date) AS first_day",
        "sum(amount) AS net_revenue",
        "count(*) AS line_count",
        f"{q.when('count', '1', 'amount < 0')} AS return_line_count",
        f"{q.when('sum', 'amount', 'amount < 0')} AS return_sum",
        f"{q.when('sum', 'amount', 'amount > 0')} AS purchase_revenue",
        f"{q.when('min', 'order_date', 'amount > 0')} AS first_purchase",
        *q.mix_sums(sources, p, keyed=True),
    ]
    if sources.product_lines:
        bit = q.line_bit(sources.product_lines, p)
        parts.append(q.when("bit_or", bit, "amount > 0 AND product_line IS NOT NULL")
                     + " AS line_bits")
    body = ",\n        ".join(parts)
    return f"""slice_lines AS MATERIALIZED (
    SELECT customer_id, {slice_of(grid, 'order_date', p)} AS slice,
        {body}
    FROM orders
    WHERE customer_id IS NOT NULL AND order_date < {p(grid.cutoffs[-1])}
    GROUP BY ALL)"""


def _combine(name: str, kind: str) -> list[str]:
    """SQL adding slice ``s`` to the running state ``c`` of one partial column."""
    c, s = f"c.{name}", f"s.{name}"
    if kind == "min":
        return [f"least({c}, {s}) AS {name}"]
    if kind == "or":
        return [f"coalesce({c} | {s}, {c}, {s}) AS {name}"]
    if kind == "sum":
        return [f"coalesce({c} + {s}, {c}, {s}) AS {name}"]
    later = f"{s}_key > {c}_key OR {c}_key IS NULL"  # a tie keeps either: so does arg_max
    return [f"CASE WHEN {later} THEN {s} ELSE {c} END AS {name}",
            f"greatest({c}_key, {s}_key) AS {name}_key"]


def cumulative_ctes(sources: q.SnapshotSources, grid: CutoffGrid) -> str:
    """``cumulative_1`` .. ``cumulative_K``: the running state at each cutoff, one row per
    customer with a line before it (the snapshot population). A chain: the state at cutoff
    j + 1 is the state at cutoff j joined (FULL, on the customer) to slice j, so each slice row
    and each state row is read once more, instead of once per later cutoff."""
    parts = _slice_parts(sources)
    names = [n for n, kind in parts for n in ([n, f"{n}_key"] if kind == "latest" else [n])]
    combined = ",\n        ".join(c for n, kind in parts for c in _combine(n, kind))
    steps = [f"""cumulative_1 AS MATERIALIZED (
    SELECT customer_id, {', '.join(names)}
    FROM slice_lines WHERE slice = 0)"""]
    for j in range(2, len(grid.cutoffs) + 1):
        steps.append(f"""cumulative_{j} AS MATERIALIZED (
    SELECT customer_id,
        {combined}
    FROM cumulative_{j - 1} AS c
    FULL JOIN (SELECT * FROM slice_lines WHERE slice = {j - 1}) AS s USING (customer_id))""")
    return ",\n".join(steps)


def _state_columns(sources: q.SnapshotSources) -> list[str]:
    """The running state's partials as the one-cutoff plan's line statistics."""
    out = ["c.first_day", "c.net_revenue", "c.line_count", "c.return_line_count",
           "coalesce(-c.return_sum, 0) AS returned_revenue", "c.purchase_revenue"]
    for name, kind in _slice_parts(sources)[7:]:
        if name == "line_bits":
            out.append("bit_count(c.line_bits) AS lines_total")
        elif kind == "sum" and name.endswith("_revenue") and name != "channel_revenue":
            out.append(f"coalesce(c.{name}, 0) AS {name}")
        else:
            out.append(f"c.{name}")
    return out


def bucket_lines_cte(sources: q.SnapshotSources, grid: CutoffGrid, p: Params) -> str:
    """``bucket_lines``: one row per (customer, bucket) from the first window edge to the last
    cutoff, with the bucket's net amount and product-line bits."""
    bit = q.line_bit(sources.product_lines, p) if sources.product_lines else ""
    bits = (", " + q.when("bit_or", bit, "amount > 0 AND product_line IS NOT NULL") + " AS bits"
            if sources.product_lines else "")
    return f"""bucket_lines AS (
    SELECT customer_id, {bucket_of(grid, 'order_date', p)} AS bucket, sum(amount) AS net{bits}
    FROM orders
    WHERE customer_id IS NOT NULL AND order_date >= {p(grid.edges[0])}
        AND order_date < {p(grid.cutoffs[-1])}
    GROUP BY ALL)"""


def windowed_cte(sources: q.SnapshotSources, grid: CutoffGrid, p: Params) -> str:
    """``windowed`` (customer, cutoff: every window sum): the buckets joined to the cutoffs
    whose widest window holds them, each (bucket, cutoff) pair flagged with the windows the
    bucket lies in. The pairs come from one VALUES row per cutoff (its window bounds in buckets)
    and ``range``, so the statement grows with the cutoffs, not with the buckets."""
    flags = {c: grid.window_flags(c) for c in grid.cutoffs}
    names = list(flags[grid.cutoffs[0]])
    rows = ", ".join(
        f"({p(c)}, {min(lo for lo, _ in f.values())}, {grid.index(c)}, "
        + ", ".join(f"{lo}, {hi}" for lo, hi in f.values()) + ")"
        for c, f in flags.items())
    bounds = ", ".join(f"lo_{n}, hi_{n}" for n in names)
    member = ", ".join(f"bucket >= lo_{n} AND bucket < hi_{n} AS {n}" for n in names)
    sums = []
    for name in names:
        if not name.startswith("lines_"):
            sums.append(f"{q.when('sum', 'net', name)} AS revenue_{name}")
        elif sources.product_lines:
            sums.append(f"bit_count({q.when('bit_or', 'bits', name)}) AS {name}")
    return f"""bucket_cutoffs AS (
    SELECT bucket, cutoff, {member}
    FROM (SELECT *, unnest(range(first_bucket, last_bucket)) AS bucket
          FROM (VALUES {rows}) AS g(cutoff, first_bucket, last_bucket, {bounds}))),
windowed AS (
    SELECT customer_id, cutoff, {', '.join(sums)}
    FROM bucket_lines JOIN bucket_cutoffs USING (bucket)
    GROUP BY customer_id, cutoff)"""


def _key_edges(grid: CutoffGrid) -> tuple[date, ...]:
    """The days below which the order counts are needed: each cutoff and its window edges."""
    spans = {0, *grid.windows, *(2 * w for w in grid.windows)}
    return tuple(sorted({c - timedelta(days=d) for c in grid.cutoffs for d in spans}))


def key_stats_ctes(sources: q.SnapshotSources, grid: CutoffGrid, p: Params) -> str:
    """``key_stats`` (customer, cutoff): the purchase-day and order statistics of each customer
    with a purchase before the last cutoff, at every cutoff (a row per cutoff, unnested from a
    list; rows with no purchase before their cutoff are dropped later). The order keys are
    collected, sorted and deduplicated once for all cutoffs (as in the one-cutoff plan); each
    cutoff keeps a prefix of the distinct days (and of their gaps), and each order window is a
    difference of two counts of distinct keys below a window edge (:func:`_key_edges`). Every
    bound is a constant, so each count is one pass over a customer's short list. Before it,
    ``first_day_revenue`` (customer, purchase revenue of its first purchase day, found in
    ``slice_lines``), the same at every cutoff after that day."""
    edges = _key_edges(grid)
    counts = [f"{q.count_below('order_keys', f'CAST({q.key_floor(e)} AS UBIGINT)')} AS keys_{i}"
              for i, e in enumerate(edges)]
    counts += [f"{q.count_below('days', str(q.day_number(c)))} AS days_{j}"
               for j, c in enumerate(grid.cutoffs, 1)]
    structs = []
    for j, cutoff in enumerate(grid.cutoffs, 1):
        def keys(span: int, c: date = cutoff) -> str:
            return f"keys_{edges.index(c - timedelta(days=span))}"

        n = f"days_{j}"
        fields = [
            f"cutoff := {p(cutoff)}",
            f"purchase_day_count := {n}",
            f"previous_purchase_day := {q.EPOCH_SQL} + CAST(days[{n} - 1] AS INTEGER)",
            f"last_purchase_day := {q.EPOCH_SQL} + CAST(days[{n}] AS INTEGER)",
            f"interval_std := list_stddev_samp(list_slice(gaps, 1, {n} - 1))",
            f"purchase_orders := {keys(0)}",
        ]
        for w in grid.windows:
            fields += [f"orders_last_{w} := {keys(0)} - {keys(w)}",
                       f"orders_previous_{w} := {keys(w)} - {keys(2 * w)}"]
        structs.append(f"struct_pack({', '.join(fields)})")
    return f"""customer_keys AS (
    SELECT customer_id, list({q.order_key(sources)}) AS purchase_keys
    FROM orders
    WHERE customer_id IS NOT NULL AND amount > 0 AND order_date < {p(grid.cutoffs[-1])}
    GROUP BY customer_id),
{q.distinct_days_ctes('customer_keys')},
key_counts AS (
    SELECT customer_id, days,
        list_transform(range(1, len(days)), lambda i: days[i + 1] - days[i]) AS gaps,
        {(',' + chr(10) + '        ').join(counts)}
    FROM key_days_distinct),
first_day_revenue AS (
    SELECT customer_id, sum(amount) AS first_day_revenue
    FROM orders
    JOIN (SELECT customer_id, min(first_purchase) AS first_purchase_day
          FROM slice_lines GROUP BY customer_id) USING (customer_id)
    WHERE customer_id IS NOT NULL AND amount > 0 AND order_date < {p(grid.cutoffs[-1])}
        AND order_date = first_purchase_day
    GROUP BY customer_id),
key_stats AS (
    SELECT customer_id, first_day_revenue,
        {q.EPOCH_SQL} + CAST(days[1] AS INTEGER) AS first_purchase_day,
        unnest([{(', ' + chr(10) + '            ').join(structs)}], max_depth := 2)
    FROM key_counts LEFT JOIN first_day_revenue USING (customer_id))"""


def customer_stats_cte(sources: q.SnapshotSources, grid: CutoffGrid, p: Params) -> str:
    """``customer_stats`` (customer, cutoff): the running state at each cutoff (the population),
    its window sums and its key statistics (for the customers with a purchase before it), under
    the column names of the one-cutoff plan."""
    state = ", ".join(_state_columns(sources))
    states = "\n    UNION ALL ".join(
        f"SELECT c.customer_id, {p(c_)} AS cutoff, {state} FROM cumulative_{j} AS c"
        for j, c_ in enumerate(grid.cutoffs, 1))
    keys = "SELECT * FROM key_stats WHERE purchase_day_count > 0"
    return f"""customer_stats AS (
    SELECT c.*, w.* EXCLUDE (customer_id, cutoff), k.* EXCLUDE (customer_id, cutoff)
    FROM ({states}) AS c
    LEFT JOIN windowed AS w USING (customer_id, cutoff)
    LEFT JOIN ({keys}) AS k USING (customer_id, cutoff))"""


def line_buckets_cte(grid: CutoffGrid, p: Params) -> str:
    """``line_buckets``: the distinct (customer, product line, bucket) of the purchase lines
    before the last cutoff, for data sets with more product lines than a bitmask holds."""
    return f"""line_buckets AS MATERIALIZED (
    SELECT DISTINCT customer_id, product_line, {bucket_of(grid, 'order_date', p)} AS bucket
    FROM orders
    WHERE customer_id IS NOT NULL AND order_date < {p(grid.cutoffs[-1])} AND amount > 0
        AND product_line IS NOT NULL)"""


def line_breadth(grid: CutoffGrid, cutoff: date) -> str:
    """Product-line breadth at ``cutoff`` from ``line_buckets``."""
    flags = grid.window_flags(cutoff)
    (recent, _), (previous, before) = flags["lines_recent"], flags["lines_previous"]
    return f"""SELECT customer_id, count(*) AS lines_total,
        count(*) FILTER (WHERE recent) AS lines_recent,
        count(*) FILTER (WHERE previous) AS lines_previous
    FROM (
        SELECT customer_id, product_line, bool_or(bucket >= {recent}) AS recent,
            bool_or(bucket >= {previous} AND bucket < {before}) AS previous
        FROM line_buckets WHERE bucket < {grid.index(cutoff)}
        GROUP BY customer_id, product_line) AS line_recency
    GROUP BY customer_id"""
