"""The workspace warehouse: one DuckDB file holding the canonical tables and every output.

Only this package opens it. Connections get a memory limit and a spill folder inside the workspace,
so large builds run out of core instead of exhausting the machine.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb

from forecast.errors import WorkspaceError
from forecast.schemas import (
    CANONICAL_TABLES,
    INGEST_LOG_TABLE,
    QUARANTINE_TABLE,
    SOURCE,
    SOURCE_ROW,
    Table,
)

WAREHOUSE_FILE = "warehouse.duckdb"
DEFAULT_MEMORY_LIMIT = os.environ.get("FORECAST_DUCKDB_MEMORY", "2GB")


def warehouse_path(workspace: Path) -> Path:
    """Path of the warehouse file inside a workspace."""
    return Path(workspace) / WAREHOUSE_FILE


def configure(con: duckdb.DuckDBPyConnection, spill_dir: Path | None = None) -> None:
    """Set the limits every forecast connection runs with."""
    con.execute(f"SET memory_limit = '{DEFAULT_MEMORY_LIMIT}'")
    con.execute(f"SET threads = {os.cpu_count() or 1}")
    # DuckDB draws its progress bar on stdout, which must hold only results (--json).
    con.execute("SET enable_progress_bar = false")
    con.execute("SET preserve_insertion_order = false")
    if spill_dir is not None:
        spill_dir.mkdir(parents=True, exist_ok=True)
        con.execute(f"SET temp_directory = '{spill_dir.as_posix()}'")


@contextmanager
def connect(workspace: Path, read_only: bool = False, create: bool = False) -> Iterator[
    duckdb.DuckDBPyConnection
]:
    """Open the workspace warehouse.

    Args:
        workspace: the workspace folder.
        read_only: open without write access (several readers may share the file).
        create: create the workspace and an empty warehouse when missing.

    Raises:
        WorkspaceError: the warehouse does not exist and ``create`` is false.
    """
    workspace = Path(workspace)
    path = warehouse_path(workspace)
    if not path.exists():
        if not create:
            raise WorkspaceError(
                f"no warehouse at {path}: run `forecast data ingest --config ...` first"
            )
        workspace.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(str(path), read_only=read_only)
    try:
        configure(con, None if read_only else workspace / ".spill")
        yield con
    finally:
        con.close()


def table_exists(con: duckdb.DuckDBPyConnection, name: str) -> bool:
    """Whether a table or view of that name is in the main schema."""
    row = con.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_catalog = current_database() "
        "AND table_schema = 'main' "
        "AND table_name = ?",
        [name],
    ).fetchall()
    return bool(row and row[0][0])


def table_columns(con: duckdb.DuckDBPyConnection, name: str) -> dict[str, str]:
    """Column name -> DuckDB type of a table, in table order."""
    rows = con.execute(
        "SELECT column_name, data_type FROM information_schema.columns "
        "WHERE table_catalog = current_database() AND table_schema = 'main' AND table_name = ? "
        "ORDER BY ordinal_position",
        [name],
    ).fetchall()
    return {r[0]: r[1] for r in rows}


def quote(identifier: str) -> str:
    """Quote an identifier for DuckDB SQL."""
    return '"' + identifier.replace('"', '""') + '"'


def literal(value: object) -> str:
    """Render a Python scalar as a SQL literal."""
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int | float):
        return repr(value)
    return "'" + str(value).replace("'", "''") + "'"


def ensure_canonical_table(con: duckdb.DuckDBPyConnection, table: Table) -> None:
    """Create a canonical table with lineage columns if it does not exist."""
    cols = [f"{quote(c.name)} {c.dtype}" for c in table.columns]
    cols += [f"{SOURCE} VARCHAR NOT NULL", f"{SOURCE_ROW} BIGINT NOT NULL"]
    con.execute(f"CREATE TABLE IF NOT EXISTS {quote(table.name)} ({', '.join(cols)})")


def ensure_columns(con: duckdb.DuckDBPyConnection, table: str, columns: dict[str, str]) -> None:
    """Add missing columns (name -> type) to an existing table."""
    have = table_columns(con, table)
    for name, dtype in columns.items():
        if name not in have:
            con.execute(f"ALTER TABLE {quote(table)} ADD COLUMN {quote(name)} {dtype}")


def ensure_bookkeeping(con: duckdb.DuckDBPyConnection) -> None:
    """Create the quarantine and ingest-log tables if missing."""
    con.execute(
        f"""CREATE TABLE IF NOT EXISTS {QUARANTINE_TABLE} (
            table_name VARCHAR NOT NULL, source VARCHAR NOT NULL, source_row BIGINT NOT NULL,
            reason VARCHAR NOT NULL, record VARCHAR)"""
    )
    con.execute(
        f"""CREATE TABLE IF NOT EXISTS {INGEST_LOG_TABLE} (
            ingested_at TIMESTAMP NOT NULL, table_name VARCHAR NOT NULL, source VARCHAR NOT NULL,
            path VARCHAR NOT NULL, file_sha256 VARCHAR, rows_read BIGINT NOT NULL,
            rows_loaded BIGINT NOT NULL, rows_quarantined BIGINT NOT NULL)"""
    )


def canonical_tables_present(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Names of the canonical tables the warehouse holds."""
    return [name for name in CANONICAL_TABLES if table_exists(con, name)]
