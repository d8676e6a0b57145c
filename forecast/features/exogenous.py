"""Exogenous regressors for series frames: order columns and dated warehouse tables, as SQL.

Order columns (Walmart's temperature, fuel price, ...) are averaged per series and period, and
booleans (a holiday flag) take their maximum. Dated tables (Favorita's daily oil price) are
made daily with missing days forward-filled, then averaged per period and joined by ``ds``.
"""

from __future__ import annotations

import duckdb

from forecast.config import ExogenousTable, Frequency
from forecast.errors import ConfigError
from forecast.features.calendar import period_start_sql
from forecast.io.warehouse import quote, table_columns, table_exists

_NUMERIC_TYPES = frozenset({
    "TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT", "UINTEGER",
    "UBIGINT", "UHUGEINT", "FLOAT", "DOUBLE", "REAL",
})


def is_numeric(dtype: str) -> bool:
    """Whether a DuckDB type name is a number."""
    return dtype.upper() in _NUMERIC_TYPES or dtype.upper().startswith("DECIMAL")


def check_order_exogenous(
    columns: list[str], orders: dict[str, str], taken: set[str]
) -> tuple[tuple[str, str], ...]:
    """Validate the order columns listed as exogenous.

    Args:
        columns: the configured column names.
        orders: the ``orders`` table's column name -> DuckDB type.
        taken: names already used by the frame (key, measure and calendar columns).

    Returns:
        (column, SQL aggregate) pairs: ``avg`` for numbers, ``bool_or`` (max) for booleans.

    Raises:
        ConfigError: a column is missing, is neither numeric nor boolean, or clashes.
    """
    out: list[tuple[str, str]] = []
    for column in dict.fromkeys(columns):
        if column not in orders:
            raise ConfigError(
                f"features.series.exogenous: column {column!r} is not in table orders; "
                f"available columns: {', '.join(orders)}"
            )
        if column in taken:
            raise ConfigError(
                f"features.series.exogenous: column {column!r} clashes with a column of the "
                "series frame (a key, measure or calendar column)"
            )
        dtype = orders[column]
        if dtype.upper() == "BOOLEAN":
            out.append((column, "bool_or"))
        elif is_numeric(dtype):
            out.append((column, "avg"))
        else:
            raise ConfigError(
                f"features.series.exogenous: column {column!r} of orders is {dtype}; "
                "exogenous columns must be numeric or boolean"
            )
    return tuple(out)


def check_exogenous_tables(
    con: duckdb.DuckDBPyConnection, tables: list[ExogenousTable], taken: set[str]
) -> tuple[str, ...]:
    """Validate the dated exogenous tables and return their value columns in frame order.

    Raises:
        ConfigError: a table or column is missing, a value column is not numeric, or a name
            clashes with another column of the frame.
    """
    names: list[str] = []
    for spec in tables:
        where = f"features.series.exogenous_tables: table {spec.table!r}"
        if not table_exists(con, spec.table):
            raise ConfigError(f"{where} is not in the warehouse; ingest it first")
        have = table_columns(con, spec.table)
        for column in [spec.date_column, *spec.columns]:
            if column not in have:
                raise ConfigError(
                    f"{where} has no column {column!r}; available columns: {', '.join(have)}"
                )
        for column in spec.columns:
            if not is_numeric(have[column]):
                raise ConfigError(f"{where}: column {column!r} is {have[column]}, not numeric")
            if column in taken or column in names:
                raise ConfigError(
                    f"{where}: column {column!r} clashes with another column of the series frame"
                )
            names.append(column)
    return tuple(names)


def exogenous_table_ctes(
    tables: list[ExogenousTable], freq: Frequency, week_anchor: int
) -> list[tuple[str, str]]:
    """CTEs that turn each dated table into one row per period start.

    Each table gets ``exo_days_<i>``: every day from its first to its last date, values averaged
    per date and forward-filled over missing days (weekends, holidays, blanks), and ``exo_<i>``:
    ``ds`` plus each value column averaged over the days of the period.

    Returns:
        (name, SQL) pairs in dependency order.
    """
    ctes: list[tuple[str, str]] = []
    for i, spec in enumerate(tables):
        table, day = quote(spec.table), quote(spec.date_column)
        cols = [quote(c) for c in spec.columns]
        daily = ", ".join(f"avg({c}) AS {c}" for c in cols)
        filled = ", ".join(
            f"last_value(t.{c} IGNORE NULLS) OVER (ORDER BY d.day ROWS BETWEEN UNBOUNDED "
            f"PRECEDING AND CURRENT ROW) AS {c}" for c in cols
        )
        ctes.append((f"exo_days_{i}", f"""SELECT d.day, {filled}
            FROM (SELECT CAST(unnest(generate_series(CAST(min({day}) AS DATE),
                        CAST(max({day}) AS DATE), INTERVAL 1 DAY)) AS DATE) AS day
                  FROM {table}) AS d
            LEFT JOIN (SELECT CAST({day} AS DATE) AS day, {daily} FROM {table}
                       WHERE {day} IS NOT NULL GROUP BY 1) AS t ON t.day = d.day"""))
        period = period_start_sql("day", freq, week_anchor)
        averaged = ", ".join(f"avg({c}) AS {c}" for c in cols)
        ctes.append((f"exo_{i}", f"SELECT {period} AS ds, {averaged} FROM exo_days_{i} GROUP BY 1"))
    return ctes


def exogenous_table_joins(tables: list[ExogenousTable], frame: str) -> tuple[str, list[str]]:
    """LEFT JOINs of the ``exo_<i>`` CTEs onto ``frame`` by ``ds``, and their select items."""
    joins: list[str] = []
    items: list[str] = []
    for i, spec in enumerate(tables):
        joins.append(f"LEFT JOIN exo_{i} ON exo_{i}.ds = {frame}.ds")
        items += [f"exo_{i}.{quote(c)}" for c in spec.columns]
    return " ".join(joins), items
