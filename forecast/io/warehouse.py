"""The workspace warehouse: one DuckDB file holding the canonical tables and every output.

Only this package opens it. Connections get a memory limit and a spill folder inside the workspace,
so large builds run out of core instead of exhausting the machine.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb

from forecast.errors import ConfigError, WorkspaceError
from forecast.io.sql import path_literal, quote
from forecast.schemas import (
    CANONICAL_TABLES,
    INGEST_LOG_TABLE,
    QUARANTINE_TABLE,
    SOURCE,
    SOURCE_ROW,
    Table,
)

WAREHOUSE_FILE = "warehouse.duckdb"
MEMORY_ENV = "FORECAST_DUCKDB_MEMORY"
DEFAULT_MEMORY_LIMIT = "2GB"
# DuckDB's memory sizes: a number with a unit (K, KB, KiB, ... T, TB, TiB) or a share in %.
_MEMORY_SIZE = re.compile(r"\s*(\d+(?:\.\d+)?)\s*(?:([KMGT])(?:B|iB)?|(%))\s*", re.IGNORECASE)
_LOCK_HOLDER = re.compile(r"\(PID (\d+)\)")


def warehouse_path(workspace: Path) -> Path:
    """Path of the warehouse file inside a workspace."""
    return Path(workspace) / WAREHOUSE_FILE


def memory_limit() -> str:
    """The DuckDB memory limit: ``FORECAST_DUCKDB_MEMORY`` when set, else 2GB.

    Raises:
        ConfigError: the variable holds something that is not a positive memory size.
    """
    value = os.environ.get(MEMORY_ENV, DEFAULT_MEMORY_LIMIT)
    match = _MEMORY_SIZE.fullmatch(value)
    amount = float(match.group(1)) if match else 0.0
    if amount <= 0 or (match and match.group(3) and amount > 100):
        raise ConfigError(
            f"{MEMORY_ENV}={value!r} is not a memory size: expected a positive number with a "
            "unit (KB, MB, GB, TB, KiB, MiB, GiB, TiB), e.g. 2GB or 512MiB, or a share of the "
            "machine's memory such as 50%"
        )
    return value.strip()


def configure(con: duckdb.DuckDBPyConnection, spill_dir: Path | None = None) -> None:
    """Set the limits every forecast connection runs with.

    Raises:
        ConfigError: ``FORECAST_DUCKDB_MEMORY`` is not a memory size.
    """
    con.execute("SET memory_limit = ?", [memory_limit()])
    con.execute(f"SET threads = {int(os.cpu_count() or 1)}")
    # DuckDB draws its progress bar on stdout, which must hold only results (--json).
    con.execute("SET enable_progress_bar = false")
    con.execute("SET preserve_insertion_order = false")
    if spill_dir is not None:
        spill_dir.mkdir(parents=True, exist_ok=True)
        con.execute("SET temp_directory = ?", [spill_dir.as_posix()])


def _in_use(exc: duckdb.Error, path: Path) -> WorkspaceError | None:
    """The user's message when DuckDB could not lock the warehouse file, else None.

    DuckDB names the process holding the lock: ``... Conflicting lock is held in
    /usr/bin/python3 (PID 1234) ...``.
    """
    text = str(exc)
    if "Could not set lock" not in text and "Conflicting lock" not in text:
        return None
    pid = _LOCK_HOLDER.search(text)
    holder = f" (PID {pid.group(1)})" if pid else ""
    return WorkspaceError(
        f"{path} is in use by another forecast process{holder}; wait for it to finish "
        "(or stop it) and run the command again"
    )


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
        WorkspaceError: the warehouse does not exist and ``create`` is false, or another
            process holds it (the message names its PID).
        ConfigError: ``FORECAST_DUCKDB_MEMORY`` is not a memory size.
    """
    workspace = Path(workspace)
    path = warehouse_path(workspace)
    memory_limit()
    if not path.exists():
        if not create:
            raise WorkspaceError(
                f"no warehouse at {path}: run `forecast data ingest --config ...` first"
            )
        workspace.mkdir(parents=True, exist_ok=True)
    try:
        con = duckdb.connect(str(path), read_only=read_only)
    except duckdb.IOException as exc:
        error = _in_use(exc, path)
        if error is None:
            raise
        raise error from None
    try:
        configure(con, None if read_only else workspace / ".spill")
        yield con
    finally:
        con.close()


def attach(con: duckdb.DuckDBPyConnection, workspace: Path, alias: str) -> Path:
    """Attach the workspace warehouse (created when missing) to ``con`` as ``alias``.

    Returns:
        The warehouse file's path.

    Raises:
        WorkspaceError: another process holds the warehouse (the message names its PID).
    """
    path = warehouse_path(workspace)
    try:
        con.execute(f"ATTACH {path_literal(path)} AS {quote(alias)}")
    except duckdb.IOException as exc:
        error = _in_use(exc, path)
        if error is None:
            raise
        raise error from None
    return path


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
    """Create the quarantine and ingest-log tables if missing.

    The ingest log has a row per load: its source, file hash and counts, its ``mode`` (replace
    or append) and ``in_table``, whether its rows are still in the table (a later replace, or
    the table dropped, turns it false).
    """
    con.execute(
        f"""CREATE TABLE IF NOT EXISTS {QUARANTINE_TABLE} (
            table_name VARCHAR NOT NULL, source VARCHAR NOT NULL, source_row BIGINT NOT NULL,
            reason VARCHAR NOT NULL, record VARCHAR)"""
    )
    con.execute(
        f"""CREATE TABLE IF NOT EXISTS {INGEST_LOG_TABLE} (
            ingested_at TIMESTAMP NOT NULL, table_name VARCHAR NOT NULL, source VARCHAR NOT NULL,
            path VARCHAR NOT NULL, file_sha256 VARCHAR, rows_read BIGINT NOT NULL,
            rows_loaded BIGINT NOT NULL, rows_quarantined BIGINT NOT NULL, mode VARCHAR,
            in_table BOOLEAN)"""
    )
    # Logs written before loads had modes gain the columns, NULL for the old loads.
    ensure_columns(con, INGEST_LOG_TABLE, {"mode": "VARCHAR", "in_table": "BOOLEAN"})


def canonical_tables_present(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Names of the canonical tables the warehouse holds."""
    return [name for name in CANONICAL_TABLES if table_exists(con, name)]
