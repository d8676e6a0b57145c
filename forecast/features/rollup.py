"""Orders rolled up to every grain and period, as DuckDB CTEs.

The large scan is kept cheap: ``base`` groups ``orders`` once by period and one 64-bit hash of
all key columns (grouping by a hash is several times faster than by several strings), keeping
the additive parts (sums, counts). ``rolled`` then builds every grain from that small result
with ``GROUPING SETS``. Distinct order counts do not add up across groups, so when the
``orders`` measure is asked for, ``counted`` takes them from ``orders`` directly, grouped by
per-grain hash keys; it is the one costly part of a build. The labels (``total``, ``(none)``,
grain names) are bound in the caller's :class:`~forecast.io.sql.Params`.
"""

from __future__ import annotations

from forecast.features.calendar import period_shift_sql, period_start_sql
from forecast.features.plan import STOPPED, SeriesPlan
from forecast.io.sql import Params, quote
from forecast.schemas import GRAIN, NULL_KEY, TOTAL, UNIQUE_ID

_ZERO_KEY = "CAST(0 AS UBIGINT)"


def _key_sql(columns: tuple[str, ...]) -> str:
    return f"hash({', '.join(quote(c) for c in columns)})" if columns else _ZERO_KEY


def _measure_sql(plan: SeriesPlan, measure: str) -> str:
    if measure == "revenue":
        return "sum(amount)"
    if measure == "quantity":
        return "sum(quantity)"
    if measure == "orders":
        # Lines without an order id count as one order each (data that are already series).
        return "count(DISTINCT order_id) + count(*) FILTER (WHERE order_id IS NULL)"
    if plan.config.margin_column:
        return f"sum(CAST({quote(plan.config.margin_column)} AS DOUBLE))"
    return "sum(amount - quantity * unit_cost)"


def _additive(plan: SeriesPlan, with_values: bool) -> list[str]:
    """Measures other than ``orders`` and the exogenous order columns."""
    if not with_values:
        return []
    return [m for m in plan.measures if m in plan.available and m != "orders"]


def _base_sql(plan: SeriesPlan, with_values: bool, p: Params, tail: bool = False) -> str:
    """One row per (key combination, period) with additive aggregates."""
    period = period_start_sql("order_date", plan.config.freq, plan.week_anchor)
    items = [f"{_key_sql(plan.keys)} AS key_hash", f"{period} AS ds", "count(*) AS n_rows"]
    items += [f"any_value({quote(c)}) AS {quote(c)}" for c in plan.keys]
    items += [f"{_measure_sql(plan, m)} AS {m}" for m in _additive(plan, with_values)]
    for column, fn in plan.exogenous if with_values else ():
        if fn == "avg":
            items += [f"sum(CAST({quote(column)} AS DOUBLE)) AS {quote(column + '__sum')}",
                      f"count({quote(column)}) AS {quote(column + '__n')}"]
        else:
            items.append(f"bool_or({quote(column)}) AS {quote(column)}")
    return (f"SELECT {', '.join(items)} FROM {_complete_orders(plan, p, tail)} "
            "GROUP BY key_hash, ds")


def _complete_orders(plan: SeriesPlan, p: Params, tail: bool = False) -> str:
    """``orders``, without the orders of a partial last period (see ``plan.partial_from``);
    ``tail``: those orders only."""
    if plan.partial_from is None:
        return "(SELECT * FROM orders WHERE false)" if tail else "orders"
    kept = ">=" if tail else "<"
    return f"(SELECT * FROM orders WHERE order_date {kept} {p(plan.partial_from)})"


def _labels(plan: SeriesPlan, mask_of: list[int], column: str,
            p: Params) -> tuple[str, str, str, str]:
    """CASE expressions mapping a grouping mask to grain rank, label, unique_id and key."""
    rank, label, uid, key = [], [], [], []
    for i, (grain, mask) in enumerate(zip(plan.grains, mask_of, strict=True)):
        parts = ", ".join(f"coalesce(CAST({quote(c)} AS VARCHAR), {p(NULL_KEY)})"
                          for c in grain)
        rank.append(f"WHEN {mask} THEN {i}")
        label.append(f"WHEN {i} THEN {p('/'.join(grain) or TOTAL)}")
        uid.append(f"WHEN {i} THEN " + (f"concat_ws('|', {parts})" if grain else p(TOTAL)))
        key.append(f"WHEN {i} THEN {_key_sql(grain)}")
    return (f"CASE {column} {' '.join(rank)} END", f"CASE grain_rank {' '.join(label)} END",
            f"CASE grain_rank {' '.join(uid)} END", f"CASE grain_rank {' '.join(key)} END")


def _rolled_sql(plan: SeriesPlan, with_values: bool, p: Params) -> str:
    """Every grain from ``base``: ``grain_rank, grain, unique_id, key_hash``, keys, ``ds``."""
    keys = [quote(c) for c in plan.keys]
    masks = [sum(1 << (len(keys) - 1 - i) for i, c in enumerate(plan.keys) if c not in g)
             for g in plan.grains]
    rank, label, uid, key = _labels(plan, masks, "grouping_mask", p)
    values = ["sum(n_rows) AS n_rows"] + [f"sum({m}) AS {m}" for m in _additive(plan, with_values)]
    for column, fn in plan.exogenous if with_values else ():
        c, s, n = quote(column), quote(column + "__sum"), quote(column + "__n")
        values.append(f"sum({s}) / nullif(sum({n}), 0) AS {c}" if fn == "avg"
                      else f"bool_or({c}) AS {c}")
    sets = ", ".join("(" + ", ".join(["ds", *map(quote, g)]) + ")" for g in plan.grains)
    mask = f"GROUPING({', '.join(keys)})" if keys else "0"
    grouped = f"""SELECT {mask} AS grouping_mask, {', '.join([*keys, 'ds', *values])}
        FROM base GROUP BY GROUPING SETS ({sets})"""
    ranked = f"SELECT {rank} AS grain_rank, * EXCLUDE (grouping_mask) FROM ({grouped})"
    return f"""SELECT {label} AS {GRAIN}, {uid} AS {UNIQUE_ID}, {key} AS key_hash, *
        FROM ({ranked})"""


def _counted_sql(plan: SeriesPlan, p: Params, tail: bool = False) -> str:
    """Distinct orders per grain and period, grouped by one hash key per grain."""
    period = period_start_sql("order_date", plan.config.freq, plan.week_anchor)
    keyed = [i for i, g in enumerate(plan.grains) if g]
    keys = [f"{_key_sql(plan.grains[i])} AS k{i}" for i in keyed]
    masks = [sum(1 << (len(keyed) - 1 - j) for j, k in enumerate(keyed) if k != i)
             for i in range(len(plan.grains))]
    mask = f"GROUPING({', '.join(f'k{i}' for i in keyed)})" if keyed else "0"
    rank, _, _, _ = _labels(plan, masks, mask, p)
    key = "coalesce(" + ", ".join([*(f"k{i}" for i in keyed), _ZERO_KEY]) + ")"
    sets = ", ".join("(ds" + (f", k{i})" if g else ")") for i, g in enumerate(plan.grains))
    return f"""SELECT {rank} AS grain_rank, {key} AS key_hash, ds,
            {_measure_sql(plan, 'orders')} AS orders
        FROM (SELECT {', '.join([f'{period} AS ds', 'order_id', *keys])}
              FROM {_complete_orders(plan, p, tail)})
        GROUP BY GROUPING SETS ({sets})"""


def series_ctes(plan: SeriesPlan, p: Params, with_values: bool = True, tail: bool = False
                ) -> list[tuple[str, str]]:
    """CTEs up to one row per series (their labels bound in ``p``); ``tail``: of the orders of
    the partial last period only (``plan.partial_from`` on), which the series leave out.

    Returns:
        (name, SQL) pairs: ``base``, ``rolled``, [``counted``], ``agg`` (one row per series and
        active period: ``grain, unique_id, key_hash, grain_rank``, the key columns, ``ds,
        n_rows``, and with ``with_values`` the measures and exogenous order columns),
        ``spans`` and ``series_index`` (one row per series with ``first_ds, last_ds, end_ds``
        and ``stopped``).
    """
    ctes = [("base", _base_sql(plan, with_values, p, tail)),
            ("rolled", _rolled_sql(plan, with_values, p))]
    agg = "SELECT * FROM rolled"
    if with_values and "orders" in plan.measures:
        ctes.append(("counted", _counted_sql(plan, p, tail)))
        agg = """SELECT r.*, c.orders FROM rolled AS r LEFT JOIN counted AS c
            ON c.grain_rank = r.grain_rank AND c.key_hash = r.key_hash AND c.ds = r.ds"""
    keys = ", ".join([GRAIN, UNIQUE_ID, "key_hash", "grain_rank", *map(quote, plan.keys)])
    after = period_shift_sql("last_ds", plan.config.freq, plan.config.stopped_after)
    spans = f"""SELECT {keys}, min(ds) AS first_ds, max(ds) AS last_ds FROM agg
        GROUP BY {keys}"""
    index = f"""SELECT s.*, b.end_ds, {after} <= b.end_ds AS {STOPPED}
        FROM spans AS s CROSS JOIN (SELECT max(ds) AS end_ds FROM agg) AS b"""
    return [*ctes, ("agg", agg), ("spans", spans), ("series_index", index)]
