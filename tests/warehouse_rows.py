"""Filling warehouse tables with test rows, as ingest would leave them (with lineage)."""

from __future__ import annotations

import duckdb


def refill(con: duckdb.DuckDBPyConnection, table, columns: tuple[str, ...],
           rows: list[tuple]) -> None:
    """Replace the rows of the catalog ``table`` with ``rows`` (values of ``columns``), each
    with source ``t`` and its position as ``source_row``."""
    con.execute(f"DELETE FROM {table.name}")
    if rows:
        marks = ", ".join("?" for _ in columns)
        con.executemany(
            f"INSERT INTO {table.name} ({', '.join(columns)}, source, source_row) "
            f"VALUES ({marks}, 't', ?)", [(*row, i) for i, row in enumerate(rows)])
