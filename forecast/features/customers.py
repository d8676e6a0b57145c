"""Point-in-time customer snapshots with churn labels, built in SQL over the warehouse.

One row per customer with any order line strictly before a cutoff, and that cutoff, stacked over
the cutoffs. Every feature uses only data dated before the cutoff; the label ``churned`` looks at
``[cutoff, cutoff + horizon_days)``. The columns and their meaning are listed in
:mod:`forecast.features.catalogue`; the SQL plan is described in
:mod:`forecast.features.customer_sql`.

Returns (negative amounts) are not purchases: they do not count for recency, frequency, the
interval statistics, the lifetimes columns or the label, but they do count toward net revenue
and the return rates.
"""

from __future__ import annotations

from datetime import date

import duckdb

from forecast.config import CustomerFeaturesConfig
from forecast.errors import ConfigError, WorkspaceError
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
    repeat_mean = "(a.purchase_revenue - fd.first_day_revenue) / (len(a.days) - 1)"
    return {
        "lt_frequency": "CAST(len(a.days) - 1 AS DOUBLE)",
        "lt_recency": "CAST(a.last_purchase_day - a.first_purchase_day AS DOUBLE)",
        "lt_T": "CAST((a.cutoff - 1) - a.first_purchase_day AS DOUBLE)",
        "lt_monetary_value": f"CASE WHEN len(a.days) > 1 THEN {repeat_mean} "
                             "WHEN len(a.days) = 1 THEN 0.0 END",
    }


def _order_features(config: CustomerFeaturesConfig) -> dict[str, str]:
    interval_mean = ("CAST(a.last_purchase_day - a.first_purchase_day AS DOUBLE) "
                     "/ nullif(len(a.days) - 1, 0)")
    gaps = "list_transform(range(1, len(a.days)), lambda i: a.days[i + 1] - a.days[i])"
    out = {
        "recency_days": "CAST(a.cutoff - a.last_purchase_day AS BIGINT)",
        "frequency_orders": "CAST(coalesce(a.purchase_orders, 0) AS BIGINT)",
        "purchase_days": "CAST(coalesce(len(a.days), 0) AS BIGINT)",
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
        "interval_std_days": f"list_stddev_samp({gaps})",
        "interval_last_days": "CAST(a.days[-1] - a.days[-2] AS BIGINT)",
        "recency_to_interval": f"(a.cutoff - a.last_purchase_day) / ({interval_mean})",
    }
    return out


def _mix_features(config: CustomerFeaturesConfig, sources: q.SnapshotSources) -> dict[str, str]:
    p = config.product_window_days
    lines = sources.has("product_line")
    t = "a" if sources.product_lines else "b"  # bitmask columns in customer_lines, or breadth
    breadth = {
        "product_lines_total": f"{t}.lines_total",
        f"product_lines_{p}d": f"{t}.lines_recent",
        f"product_lines_prev_{p}d": f"{t}.lines_previous",
    }
    out = {name: f"CAST(CASE WHEN pl.known THEN coalesce({e}, 0) END AS BIGINT)" if lines
           else "CAST(NULL AS BIGINT)" for name, e in breadth.items()}
    # No basket in the previous window, no mix to narrow: NULL, not 0 (0 would put customers
    # who stopped buying beside customers whose mix held, and hide that narrowing is a risk).
    change = (f"CASE WHEN {t}.lines_previous > 0 THEN coalesce({t}.lines_recent, 0) "
              f"- {t}.lines_previous END")
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
        options = [f"ca.{column}"] if column in sources.customer_columns else []
        options += [f"a.order_{column}"] if sources.has(column) else []
        out[column] = (f"CAST(coalesce({', '.join(options)}) AS VARCHAR)" if options
                       else "CAST(NULL AS VARCHAR)")
    if sources.surveys:
        out |= {
            "satisfaction_latest": "CAST(s.last_scores[1] AS DOUBLE)",
            "satisfaction_change": "CAST(s.last_scores[1] - s.last_scores[2] AS DOUBLE)",
            "days_since_survey": "CAST(a.cutoff - s.last_survey AS BIGINT)",
        }
    else:
        out |= {"satisfaction_latest": "CAST(NULL AS DOUBLE)",
                "satisfaction_change": "CAST(NULL AS DOUBLE)",
                "days_since_survey": "CAST(NULL AS BIGINT)"}
    if sources.opportunities:
        out["open_opportunities"] = "CAST(coalesce(o.open_count, 0) AS BIGINT)"
        out["open_opportunity_amount"] = "CAST(coalesce(o.open_amount, 0) AS DOUBLE)"
    else:
        out["open_opportunities"] = "CAST(NULL AS BIGINT)"
        out["open_opportunity_amount"] = "CAST(NULL AS DOUBLE)"
    return out


def feature_expressions(
    config: CustomerFeaturesConfig, sources: q.SnapshotSources
) -> dict[str, str]:
    """Feature column -> SQL expression over the aliases of :func:`build_snapshot_sql`, in
    catalogue order.

    Raises:
        AssertionError: the expressions and the catalogue disagree (a programming error).
    """
    out = _order_features(config) | _mix_features(config, sources) | _context_features(sources)
    expected = feature_columns(config)
    assert set(out) == set(expected), f"features not catalogued: {set(out) ^ set(expected)}"
    return {name: out[name] for name in expected}


def _ctes(config: CustomerFeaturesConfig, sources: q.SnapshotSources,
          cutoff: date, p: Params) -> tuple[list[str], list[str]]:
    ctes = [
        q.customer_lines_cte(config, sources, cutoff, p),
        q.customer_stats_ctes(config, cutoff),
        q.first_day_revenue_ctes(cutoff, p),
        q.label_ctes(config.horizon_days, cutoff, p),
    ]
    joins = ["LEFT JOIN first_day_revenue AS fd USING (customer_id)",
             "CROSS JOIN data_end AS e",
             "LEFT JOIN future_buyers AS f USING (customer_id)"]
    if sources.has("product_line"):
        ctes.append(q.product_line_presence_cte(cutoff, p))
        joins.append("CROSS JOIN product_line_presence AS pl")
    if sources.has("product_line") and not sources.product_lines:
        ctes.append(q.breadth_ctes(config, cutoff, p))
        joins.append("LEFT JOIN breadth AS b USING (customer_id)")
    if sources.surveys:
        ctes.append(q.survey_cte(cutoff, "surveys" in sources.lineage, p))
        joins.append("LEFT JOIN survey_scores AS s USING (customer_id)")
    if sources.opportunities:
        ctes.append(q.opportunity_ctes(cutoff, p))
        joins.append("LEFT JOIN open_opportunities AS o USING (customer_id)")
    if sources.customer_columns:
        ctes.append(q.customer_attributes_cte(sources))
        joins.append("LEFT JOIN customer_attributes AS ca USING (customer_id)")
    return ctes, joins


def _snapshot_at(config: CustomerFeaturesConfig, sources: q.SnapshotSources,
                 cutoff: date, p: Params) -> str:
    ctes, joins = _ctes(config, sources, cutoff, p)
    columns = [f"a.{CUTOFF}", f"a.{CUSTOMER_ID}"]
    columns += [f"{e} AS {quote(n)}" for n, e in feature_expressions(config, sources).items()]
    columns += q.label_columns(config.horizon_days)
    return "\n".join([
        "WITH " + ",\n".join(ctes),
        "SELECT\n    " + ",\n    ".join(columns),
        "FROM customer_stats AS a",
        *joins,
    ])


def build_snapshot_sql(
    con: duckdb.DuckDBPyConnection, config: CustomerFeaturesConfig, cutoffs: list[date]
) -> Query:
    """One SELECT producing the point-in-time customer snapshots at each cutoff.

    Reads the warehouse tables ``orders`` and, when present, ``customers``, ``surveys`` and
    ``opportunities``; it only inspects them here (no tables are created).

    Args:
        con: a warehouse connection.
        config: horizon, trailing windows and product-line window.
        cutoffs: snapshot dates; features use data strictly before each.

    Returns:
        A query (run it as ``con.execute(*query)``; the cutoffs and labels are parameters)
        whose rows are one per (customer with any order line before the cutoff, cutoff):
        ``cutoff`` (DATE), ``customer_id`` (VARCHAR), the feature columns of
        :func:`forecast.features.catalogue.describe_features`, ``churned`` (BOOLEAN, NULL when
        the label window runs past the data) and ``label_complete`` (BOOLEAN).

    Raises:
        ConfigError: no cutoffs were given.
        WorkspaceError: the warehouse has no usable ``orders`` table.
    """
    if not cutoffs:
        raise ConfigError("give at least one cutoff date for customer snapshots")
    sources = probe_sources(con)
    # One SELECT per cutoff with the cutoff as a constant (a parameter bound before planning):
    # constant date tests, row-group skipping, and no range join that copies every order line
    # once per cutoff.
    p = Params()
    return p.query("\nUNION ALL\n".join(
        f"SELECT * FROM (\n{_snapshot_at(config, sources, c, p)}\n)"
        for c in sorted(set(cutoffs))
    ))
