"""Writers for results: a warehouse table and a file copy, each replaced atomically."""

from __future__ import annotations

import os
from pathlib import Path

import duckdb

from forecast.io.warehouse import literal, quote


def write_table(con: duckdb.DuckDBPyConnection, name: str, select_sql: str) -> int:
    """Replace warehouse table ``name`` with the rows of ``select_sql`` in one transaction.

    Returns:
        The number of rows written.
    """
    con.execute("BEGIN TRANSACTION")
    try:
        con.execute(f"CREATE OR REPLACE TABLE {quote(name)} AS {select_sql}")
        rows = con.execute(f"SELECT count(*) FROM {quote(name)}").fetchone()[0]
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    return int(rows)


def export_table(
    con: duckdb.DuckDBPyConnection, name: str, path: Path, order_by: str | None = None
) -> Path:
    """Write a warehouse table to Parquet or CSV (by extension) through a temp file and rename."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    fmt = "PARQUET" if path.suffix.lower() == ".parquet" else "CSV, HEADER"
    order = f" ORDER BY {order_by}" if order_by else ""
    con.execute(
        f"COPY (SELECT * FROM {quote(name)}{order}) TO {literal(tmp.as_posix())} (FORMAT {fmt})"
    )
    os.replace(tmp, path)
    return path
