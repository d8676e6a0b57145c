"""Point-in-time customer snapshots with churn labels, built in SQL over the warehouse.

One row per customer with any order line strictly before a cutoff, and that cutoff, stacked over
the cutoffs. Every feature uses only data dated before the cutoff; the label ``churned`` looks at
``[cutoff, cutoff + horizon_days)``. The columns and their meaning are listed in
:mod:`forecast.features.catalogue`. Two SQL plans give the same rows and values: one cutoff at
a time (:mod:`forecast.features.customer_sql`), and several cutoffs from one pass over the
order lines (:mod:`forecast.features.customer_slices`); both add the context of
:mod:`forecast.features.customer_context`, and :func:`build_snapshot_sql` picks between them.

Returns (negative amounts) are not purchases: they do not count for recency, frequency, the
interval statistics, the lifetimes columns or the label, but they do count toward net revenue
and the return rates.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date
from typing import Literal, get_args

import duckdb

from forecast.config import CustomerFeaturesConfig
from forecast.errors import ConfigError, WorkspaceError
from forecast.features import customer_context as ctx
from forecast.features import customer_slices as sl
from forecast.features import customer_sql as q
from forecast.features.catalogue import feature_columns
from forecast.io.sql import Params, Query, quote
from forecast.schemas import CHANNELS, CUSTOMER_ID, CUTOFF, SOURCE_ROW

REQUIRED_ORDER_COLUMNS = ("customer_id", "order_date", "amount")
OPTIONAL_ORDER_COLUMNS = (
    "order_id", "product_line", "channel", "segment", "region", "quantity", "unit_cost",
)


def _columns_with_values(con: duckdb.DuckDBPyConnection, table: str,
                         columns: list[str]) -> set[str]:
    if not columns:
        return set()
    # EXISTS stops at the first non-NULL value, so a filled column costs almost nothing.
    probes = ", ".join(
        f"EXISTS (SELECT 1 FROM {quote(table)} WHERE {quote(c)} IS NOT NULL)" for c in columns
    )
    row = con.execute(f"SELECT {probes}").fetchall()[0]
    return {c for c, present in zip(columns, row, strict=True) if present}


def _tables(con: duckdb.DuckDBPyConnection) -> dict[str, set[str]]:
    # One catalogue query instead of a table_exists / table_columns pair per table: probing
    # runs for every build, and tests build thousands of tiny snapshots.
    rows = con.execute(
        "SELECT table_name, column_name FROM information_schema.columns "
        "WHERE table_schema = 'main' AND table_name IN (?, ?, ?, ?)",
        ["orders", "customers", "surveys", "opportunities"]).fetchall()
    tables: dict[str, set[str]] = {}
    for table, column in rows:
        tables.setdefault(table, set()).add(column)
    return tables


def probe_sources(con: duckdb.DuckDBPyConnection) -> q.SnapshotSources:
    """Find which tables and optional order columns the warehouse offers (a table exists when
    the catalogue lists its columns, as for :func:`forecast.io.warehouse.table_exists`).

    Raises:
        WorkspaceError: there is no ``orders`` table, or it lacks customer_id, order_date or
            amount.
    """
    tables = _tables(con)
    if "orders" not in tables:
        raise WorkspaceError("the warehouse has no `orders` table: ingest orders before "
                             "building customer snapshots")
    have = tables["orders"]
    missing = [c for c in REQUIRED_ORDER_COLUMNS if c not in have]
    if missing:
        raise WorkspaceError(f"table `orders` lacks column(s) {missing}, needed for customer "
                             f"snapshots; it has {sorted(have)}")
    customers = tables.get("customers", set())
    customer_columns = frozenset(
        c for c in q.CUSTOMER_ATTRIBUTES if CUSTOMER_ID in customers and c in customers)
    order_columns = frozenset(_columns_with_values(
        con, "orders", [c for c in OPTIONAL_ORDER_COLUMNS if c in have]))
    lineage = frozenset(t for t in ("orders", "surveys") if SOURCE_ROW in tables.get(t, set()))
    return q.SnapshotSources(
        order_columns=order_columns,
        customer_columns=customer_columns,
        surveys="surveys" in tables,
        opportunities="opportunities" in tables,
        lineage=lineage,
        product_lines=_few_product_lines(con) if "product_line" in order_columns else (),
    )


def _few_product_lines(con: duckdb.DuckDBPyConnection) -> tuple[str, ...]:
    rows = con.execute(
        "SELECT DISTINCT product_line FROM orders WHERE product_line IS NOT NULL "
        f"AND customer_id IS NOT NULL LIMIT {q.MAX_BITMASK_LINES + 1}"
    ).fetchall()
    return tuple(sorted(r[0] for r in rows)) if len(rows) <= q.MAX_BITMASK_LINES else ()


def _trend(last: str, previous: str) -> str:
    scale = f"(abs({last}) + abs({previous}))"
    return f"CASE WHEN {scale} = 0 THEN 0.0 ELSE ({last} - {previous}) / {scale} END"


def _lifetimes_features() -> dict[str, str]:
    # lifetimes' monetary_value is the mean of the repeat days' totals: (all - first) / repeats.
    repeat_mean = "(a.purchase_revenue - a.first_day_revenue) / (a.purchase_day_count - 1)"
    return {
        "lt_frequency": "CAST(a.purchase_day_count - 1 AS DOUBLE)",
        "lt_recency": "CAST(a.last_purchase_day - a.first_purchase_day AS DOUBLE)",
        "lt_T": "CAST((a.cutoff - 1) - a.first_purchase_day AS DOUBLE)",
        "lt_monetary_value": f"CASE WHEN a.purchase_day_count > 1 THEN {repeat_mean} "
                             "WHEN a.purchase_day_count = 1 THEN 0.0 END",
    }


def _order_features(config: CustomerFeaturesConfig) -> dict[str, str]:
    interval_mean = ("CAST(a.last_purchase_day - a.first_purchase_day AS DOUBLE) "
                     "/ nullif(a.purchase_day_count - 1, 0)")
    out = {
        "recency_days": "CAST(a.cutoff - a.last_purchase_day AS BIGINT)",
        "frequency_orders": "CAST(coalesce(a.purchase_orders, 0) AS BIGINT)",
        "purchase_days": "CAST(coalesce(a.purchase_day_count, 0) AS BIGINT)",
        "monetary_sum": "a.net_revenue",
        "monetary_mean": "a.purchase_revenue / nullif(a.purchase_orders, 0)",
        "tenure_days": "CAST(a.cutoff - a.first_day AS BIGINT)",
        **_lifetimes_features(),
    }
    for w in config.windows:
        orders = [f"CAST(coalesce(a.orders_{k}_{w}, 0) AS BIGINT)" for k in ("last", "previous")]
        revenue = [f"coalesce(a.revenue_{k}_{w}, 0.0)" for k in ("last", "previous")]
        out[f"orders_{w}d"] = orders[0]
        out[f"revenue_{w}d"] = revenue[0]
        out[f"orders_trend_{w}d"] = _trend(f"CAST({orders[0]} AS DOUBLE)", orders[1])
        out[f"revenue_trend_{w}d"] = _trend(*revenue)
    out |= {
        "interval_mean_days": interval_mean,
        "interval_std_days": "a.interval_std",
        "interval_last_days": "CAST(a.last_purchase_day - a.previous_purchase_day AS BIGINT)",
        "recency_to_interval": f"(a.cutoff - a.last_purchase_day) / ({interval_mean})",
    }
    return out


def _mix_features(config: CustomerFeaturesConfig, sources: q.SnapshotSources) -> dict[str, str]:
    p = config.product_window_days
    lines = sources.has("product_line")
    breadth = {
        "product_lines_total": "a.lines_total",
        f"product_lines_{p}d": "a.lines_recent",
        f"product_lines_prev_{p}d": "a.lines_previous",
    }
    out = {name: f"CAST(CASE WHEN a.lines_known THEN coalesce({e}, 0) END AS BIGINT)" if lines
           else "CAST(NULL AS BIGINT)" for name, e in breadth.items()}
    # No basket in the previous window, no mix to narrow: NULL, not 0 (0 would put customers
    # who stopped buying beside customers whose mix held, and hide that narrowing is a risk).
    change = ("CASE WHEN a.lines_previous > 0 THEN coalesce(a.lines_recent, 0) "
              "- a.lines_previous END")
    out[f"product_lines_change_{p}d"] = f"CAST({change} AS BIGINT)" if lines else (
        "CAST(NULL AS BIGINT)")
    for channel in CHANNELS:
        out[f"channel_share_{channel}"] = (
            f"a.{channel}_revenue / nullif(a.channel_revenue, 0)" if sources.has("channel")
            else "CAST(NULL AS DOUBLE)")
    out["return_line_share"] = "CAST(a.return_line_count AS DOUBLE) / a.line_count"
    out["return_revenue_share"] = "a.returned_revenue / nullif(a.purchase_revenue, 0)"
    costed = sources.has("unit_cost", "quantity")
    out["gross_margin_share"] = ("a.margin / nullif(a.margin_base, 0)" if costed
                                 else "CAST(NULL AS DOUBLE)")
    return out


def _context_features(sources: q.SnapshotSources) -> dict[str, str]:
    out = {}
    for column in q.CUSTOMER_ATTRIBUTES:
        options = [f"a.customer_{column}"] if column in sources.customer_columns else []
        options += [f"a.order_{column}"] if sources.has(column) else []
        out[column] = (f"CAST(coalesce({', '.join(options)}) AS VARCHAR)" if options
                       else "CAST(NULL AS VARCHAR)")
    if sources.surveys:
        out |= {
            "satisfaction_latest": "CAST(a.latest_score AS DOUBLE)",
            "satisfaction_change": "CAST(a.latest_score - a.previous_score AS DOUBLE)",
            "days_since_survey": "CAST(a.cutoff - a.last_survey AS BIGINT)",
        }
    else:
        out |= {"satisfaction_latest": "CAST(NULL AS DOUBLE)",
                "satisfaction_change": "CAST(NULL AS DOUBLE)",
                "days_since_survey": "CAST(NULL AS BIGINT)"}
    if sources.opportunities:
        out["open_opportunities"] = "CAST(coalesce(a.open_count, 0) AS BIGINT)"
        out["open_opportunity_amount"] = "CAST(coalesce(a.open_amount, 0) AS DOUBLE)"
    else:
        out["open_opportunities"] = "CAST(NULL AS BIGINT)"
        out["open_opportunity_amount"] = "CAST(NULL AS DOUBLE)"
    return out


def feature_expressions(
    config: CustomerFeaturesConfig, sources: q.SnapshotSources
) -> dict[str, str]:
    """Feature column -> SQL expression over the snapshot rows ``a`` (the order-line statistics
    of either plan with the context of :mod:`forecast.features.customer_context`), in catalogue
    order.

    Raises:
        AssertionError: the expressions and the catalogue disagree (a programming error).
    """
    out = _order_features(config) | _mix_features(config, sources) | _context_features(sources)
    expected = feature_columns(config)
    assert set(out) == set(expected), f"features not catalogued: {set(out) ^ set(expected)}"
    return {name: out[name] for name in expected}


def _select(config: CustomerFeaturesConfig, sources: q.SnapshotSources, ctes: list[str],
            rows: str) -> str:
    """The statement: ``ctes``, then the features of the snapshot rows ``rows`` (a subquery)."""
    if sources.customer_columns:
        ctes = [*ctes, ctx.customer_attributes_cte(sources)]
    columns = [f"a.{CUTOFF}", f"a.{CUSTOMER_ID}"]
    columns += [f"{e} AS {quote(n)}" for n, e in feature_expressions(config, sources).items()]
    columns += q.label_columns(config.horizon_days)
    return "\n".join([
        "WITH " + ",\n".join([*ctes, q.data_end_cte()]),
        "SELECT\n    " + ",\n    ".join(columns),
        f"FROM (\n{rows}) AS a",
        "CROSS JOIN data_end AS e",
    ])


def _with_context(config: CustomerFeaturesConfig, sources: q.SnapshotSources, stats: str,
                  days: list[date], p: Params,
                  line_breadth: Callable[[date], str] | None = None) -> str:
    """The rows of ``stats`` (a relation of statistics at ``days``) with their context."""
    columns, joins = ctx.context_parts(config, sources, days, p, line_breadth)
    return "\n".join([f"SELECT a.*, {', '.join(columns)}", f"FROM {stats} AS a", *joins])


def _snapshot_at(config: CustomerFeaturesConfig, sources: q.SnapshotSources,
                 cutoff: date, p: Params) -> str:
    """The one-cutoff plan (see :mod:`forecast.features.customer_sql`)."""
    ctes = [
        q.customer_lines_cte(config, sources, cutoff, p),
        q.first_day_revenue_ctes(cutoff, p),
        q.customer_stats_ctes(config, cutoff),
    ]
    return _select(config, sources, ctes,
                   _with_context(config, sources, "customer_stats", [cutoff], p))


def _one_pass(config: CustomerFeaturesConfig, sources: q.SnapshotSources,
              cutoffs: list[date], p: Params) -> str:
    """The one-pass plan (see :mod:`forecast.features.customer_slices`)."""
    grid = sl.CutoffGrid.of(config, cutoffs)
    breadth = sources.has("product_line") and not sources.product_lines
    ctes = [
        sl.slice_lines_cte(sources, grid, p),
        sl.cumulative_ctes(sources, grid),
        sl.bucket_lines_cte(sources, grid, p),
        sl.windowed_cte(sources, grid, p),
        sl.key_stats_ctes(sources, grid, p),
        sl.customer_stats_cte(sources, grid, p),
        *([sl.line_buckets_cte(grid, p)] if breadth else []),
    ]
    rows = _with_context(config, sources, "customer_stats", list(grid.cutoffs), p,
                         (lambda d: sl.line_breadth(grid, d)) if breadth else None)
    return _select(config, sources, ctes, rows)


SnapshotPlan = Literal["auto", "one_pass", "per_cutoff"]
PLANS: tuple[str, ...] = get_args(SnapshotPlan)
# The one-pass plan holds every snapshot row of its cutoffs at once (composed statistics, window
# sums, key statistics and context in hash tables): about 1.1 KB per row measured, as much as
# the one-cutoff plan per row. DuckDB spills past its memory limit, but a block twice the limit
# failed to find memory to pin (3.2 million rows at 1.8 GiB) where blocks within it did not;
# blocks are sized to 70 % of the limit. A block of one cutoff uses the one-cutoff plan.
ROW_BYTES = 1100
ROW_SHARE = 0.7
_UNITS = {"": 1, "b": 1, "bytes": 1, "kb": 1e3, "mb": 1e6, "gb": 1e9, "tb": 1e12,
          "kib": 2**10, "mib": 2**20, "gib": 2**30, "tib": 2**40}


def _memory_limit(con: duckdb.DuckDBPyConnection) -> float:
    """DuckDB's memory limit in bytes (its setting reads like ``1.8 GiB``)."""
    text = con.execute("SELECT current_setting('memory_limit')").fetchone()[0]
    match = re.fullmatch(r"\s*([0-9.]+)\s*([A-Za-z]*)\s*", str(text))
    if not match or match.group(2).lower() not in _UNITS:
        return 2e9
    return float(match.group(1)) * _UNITS[match.group(2).lower()]


def cutoff_blocks(con: duckdb.DuckDBPyConnection, cutoffs: list[date]) -> list[list[date]]:
    """The distinct cutoffs, ascending, in blocks of consecutive cutoffs built in one pass each
    by the ``auto`` plan: as many as keep a block's rows (about the customers times its
    cutoffs) within ``ROW_SHARE`` of DuckDB's memory limit at ``ROW_BYTES`` each."""
    days = sorted(set(cutoffs))
    if len(days) < 2:
        return [days]
    customers = con.execute(
        "SELECT approx_count_distinct(customer_id) FROM orders").fetchone()[0] or 1
    size = max(1, int(_memory_limit(con) * ROW_SHARE / (ROW_BYTES * customers)))
    return [days[i:i + size] for i in range(0, len(days), size)]


def build_snapshot_sql(
    con: duckdb.DuckDBPyConnection, config: CustomerFeaturesConfig, cutoffs: list[date],
    plan: SnapshotPlan = "auto",
) -> Query:
    """One SELECT producing the point-in-time customer snapshots at each cutoff.

    Reads the warehouse tables ``orders`` and, when present, ``customers``, ``surveys`` and
    ``opportunities``; it only inspects them here (no tables are created).

    Args:
        con: a warehouse connection.
        config: horizon, trailing windows and product-line window.
        cutoffs: snapshot dates; features use data strictly before each.
        plan: ``per_cutoff``: one SELECT per cutoff (:mod:`forecast.features.customer_sql`),
            stacked with UNION ALL, so each cutoff reads the order lines before it again;
            ``one_pass``: every cutoff from one pass over the order lines
            (:mod:`forecast.features.customer_slices`); ``auto`` (default): the cutoffs in
            blocks of :func:`cutoff_blocks`, each block in one pass (one cutoff alone by the
            per-cutoff plan, which serves it fastest). Every plan gives the same rows and
            values.

    Returns:
        A query (run it as ``con.execute(*query)``; the cutoffs and labels are parameters)
        whose rows are one per (customer with any order line before the cutoff, cutoff):
        ``cutoff`` (DATE), ``customer_id`` (VARCHAR), the feature columns of
        :func:`forecast.features.catalogue.describe_features`, ``churned`` (BOOLEAN, NULL when
        the label window runs past the data) and ``label_complete`` (BOOLEAN).

    Raises:
        ConfigError: no cutoffs were given.
        WorkspaceError: the warehouse has no usable ``orders`` table.
        ValueError: ``plan`` is not one of :data:`PLANS`.
    """
    if plan not in PLANS:
        raise ValueError(f"plan must be one of {PLANS}, not {plan!r}")
    if not cutoffs:
        raise ConfigError("give at least one cutoff date for customer snapshots")
    sources = probe_sources(con)
    days = sorted(set(cutoffs))
    blocks = {"one_pass": [days], "per_cutoff": [[d] for d in days]}.get(plan) or (
        cutoff_blocks(con, days))
    p = Params()
    # A cutoff alone is a constant (a parameter bound before planning): constant date tests
    # and row-group skipping.
    selects = [_snapshot_at(config, sources, b[0], p) if len(b) == 1 and plan != "one_pass"
               else _one_pass(config, sources, b, p) for b in blocks]
    return p.query("\nUNION ALL\n".join(f"SELECT * FROM (\n{s}\n)" for s in selects))
