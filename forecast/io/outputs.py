"""Writers for results: a warehouse table and a file copy, each replaced atomically."""

from __future__ import annotations

import os
from pathlib import Path

import duckdb

from forecast.io.sql import Query, as_query, path_literal, quote


def write_table(con: duckdb.DuckDBPyConnection, name: str, select: str | Query) -> int:
    """Replace warehouse table ``name`` with the rows of ``select`` in one transaction.

    Returns:
        The number of rows written.
    """
    sql, params = as_query(select)
    con.execute("BEGIN TRANSACTION")
    try:
        con.execute(f"CREATE OR REPLACE TABLE {quote(name)} AS {sql}", params)
        rows = con.execute(f"SELECT count(*) FROM {quote(name)}").fetchone()[0]
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    return int(rows)


def export_query(con: duckdb.DuckDBPyConnection, select: str | Query, path: Path) -> Path:
    """Write the rows of ``select`` to Parquet or CSV (by extension) through a temp file and
    rename."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    fmt = "PARQUET" if path.suffix.lower() == ".parquet" else "CSV, HEADER"
    sql, params = as_query(select)
    con.execute(f"COPY ({sql}) TO {path_literal(tmp)} (FORMAT {fmt})", params)
    os.replace(tmp, path)
    return path


def export_table(
    con: duckdb.DuckDBPyConnection, name: str, path: Path, order_by: str | None = None
) -> Path:
    """Write a warehouse table to Parquet or CSV (by extension) through a temp file and rename."""
    order = f" ORDER BY {order_by}" if order_by else ""
    return export_query(con, f"SELECT * FROM {quote(name)}{order}", path)
