"""The write side of ingest: staged sources -> warehouse tables, in one transaction.

What a table holds after an ingest depends on the mode of the sources that feed it:

- ``replace`` (the default): the table holds exactly what the config's sources for it hold now,
  with their quarantined rows. Every ingest rebuilds it, so a source renamed, pointed at another
  file or removed leaves nothing behind, and the summary names the rows that went.
- ``append``: the table keeps the rows of earlier loads and gains this file's rows. A file with
  a row whose ``unique_key`` the table already holds is refused (nothing is written); a file
  whose content was loaded before and is still in the table is skipped, not loaded twice.

A table an earlier ingest loaded that no source of the config feeds any more is dropped, and
the summary says so. Tables built by later steps (series, snapshots, forecasts...) are not
touched. Every load is recorded in the ingest log, with whether its rows are still in the table.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass
from pathlib import Path

import duckdb

from forecast.errors import SourceError, ValidationError
from forecast.io import warehouse
from forecast.io.staged import SourceSummary, StagedSource
from forecast.io.validate import quarantine_records
from forecast.io.warehouse import quote
from forecast.progress import Steps
from forecast.schemas import (
    CANONICAL_TABLES,
    INGEST_LOG_TABLE,
    QUARANTINE_TABLE,
    SOURCE,
    SOURCE_ROW,
)

log = logging.getLogger(__name__)
ALIAS = "wh"


def _plural(n: int, noun: str) -> str:
    return f"{n:,} {noun}" + ("" if n == 1 else "s")


@dataclass
class RemovedRows:
    """Rows an ingest removed because no source of the config holds them any more."""

    table: str
    source: str | None
    rows: int
    quarantined: int
    dropped: bool  # the whole table went: no source of the config feeds it

    @property
    def message(self) -> str:
        if self.source is None:
            return f"table {self.table} dropped (it was empty): no source of the config feeds it"
        counts = (f"removed {_plural(self.rows, 'row')} and "
                  f"{_plural(self.quarantined, 'quarantined row')} of source {self.source!r}")
        if self.dropped:
            return f"table {self.table} dropped: {counts}, no source of the config feeds it any more"
        return f"table {self.table}: {counts}, which is no longer in the config"

    def to_dict(self) -> dict[str, object]:
        return {**asdict(self), "message": self.message}


@dataclass
class UnchangedSource:
    """An append-mode source whose file content is already in its table."""

    table: str
    source: str
    path: str
    file_sha256: str

    @property
    def message(self) -> str:
        return f"{self.source}: already loaded (same file content), nothing appended"

    def to_dict(self) -> dict[str, object]:
        return {**asdict(self), "message": self.message}


@dataclass
class WriteResult:
    """What the write changed beyond the sources' own rows."""

    removed: list[RemovedRows]
    unchanged: list[UnchangedSource]


def write(con: duckdb.DuckDBPyConnection, workspace: Path, items: list[StagedSource],
          hashes: dict[int, str], steps: Steps | None = None) -> WriteResult:
    """Write staged sources into the workspace warehouse (created when missing), atomically.

    Args:
        con: the staging connection holding the staged temp tables.
        workspace: the workspace folder.
        items: the staged sources, in config order.
        hashes: ``id(item)`` -> SHA-256 of its file.
        steps: told as each source's write and the commit start (optional).

    Raises:
        WorkspaceError: another process holds the warehouse.
        SourceError: an append-mode file repeats keys the table holds; nothing was written.
        ValidationError: counts failed to reconcile; nothing was written.
    """
    Path(workspace).mkdir(parents=True, exist_ok=True)
    path = warehouse.warehouse_path(workspace)
    created = not path.exists()
    warehouse.attach(con, workspace, ALIAS)
    try:
        con.execute(f"USE {ALIAS}")
        result = _write_all(con, items, hashes, steps)
        con.execute(f"CHECKPOINT {ALIAS}")
    except BaseException:
        if created:
            # A first ingest that failed leaves no empty warehouse behind.
            con.execute("USE memory")
            con.execute(f"DETACH {ALIAS}")
            for leftover in (path, path.with_name(path.name + ".wal")):
                leftover.unlink(missing_ok=True)
        raise
    return result


def _write_all(con: duckdb.DuckDBPyConnection, items: list[StagedSource],
               hashes: dict[int, str], steps: Steps | None) -> WriteResult:
    steps = steps or Steps(1)
    con.execute("BEGIN TRANSACTION")
    try:
        warehouse.ensure_bookkeeping(con)
        removed = _clear(con, items)
        unchanged = []
        for item in items:
            sha = hashes[id(item)]
            if item.source.mode == "append" and _already_loaded(con, item, sha):
                s = item.summary
                unchanged.append(UnchangedSource(s.table, s.source, s.path, sha))
                log.info("%s", unchanged[-1].message)
                continue
            log.info("writing %s rows to %s", f"{item.summary.rows_loaded:,}", item.source.table)
            steps.start(f"writing {item.summary.rows_loaded:,} rows to {item.source.table}")
            _write_one(con, item, sha)
        steps.start("committing")
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    for note in removed:
        log.warning("%s", note.message)
    return WriteResult(removed, unchanged)


def _ingested_tables(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Tables of the warehouse that ingest loaded: the canonical ones and any in the log."""
    logged = [r[0] for r in con.execute(
        f"SELECT DISTINCT table_name FROM {INGEST_LOG_TABLE} ORDER BY 1").fetchall()]
    names = dict.fromkeys([*CANONICAL_TABLES, *logged])
    return [name for name in names if warehouse.table_exists(con, name)]


def _clear(con: duckdb.DuckDBPyConnection, items: list[StagedSource]) -> list[RemovedRows]:
    """Drop the tables the sources replace and those no source feeds; say what went."""
    feeds: dict[str, tuple[str, set[str]]] = {}
    for item in items:
        mode, names = feeds.setdefault(item.source.table, (item.source.mode, set()))
        names.add(item.summary.source)
    removed: list[RemovedRows] = []
    present = _ingested_tables(con)
    for table in dict.fromkeys([*present, *feeds]):
        mode, keep = feeds.get(table, ("drop", set()))
        if mode == "append":
            continue
        if table in present:
            removed += _sources_leaving(con, table, keep, dropped=mode == "drop")
            con.execute(f"DROP TABLE {quote(table)}")
        con.execute(f"DELETE FROM {QUARANTINE_TABLE} WHERE table_name = ?", [table])
        con.execute(f"UPDATE {INGEST_LOG_TABLE} SET in_table = FALSE WHERE table_name = ?",
                    [table])
    return removed


def _sources_leaving(con: duckdb.DuckDBPyConnection, table: str, keep: set[str],
                     dropped: bool) -> list[RemovedRows]:
    """Per source of ``table`` not in ``keep``: its rows and quarantined rows."""
    rows = con.execute(
        f"""WITH t AS (SELECT {SOURCE} AS source, count(*) AS n FROM {quote(table)} GROUP BY 1),
        q AS (SELECT source, count(*) AS n FROM {QUARANTINE_TABLE} WHERE table_name = ?
              GROUP BY 1),
        l AS (SELECT DISTINCT source FROM {INGEST_LOG_TABLE} WHERE table_name = ? AND in_table)
        SELECT s.source, coalesce(t.n, 0), coalesce(q.n, 0)
        FROM (SELECT source FROM t UNION SELECT source FROM q UNION SELECT source FROM l) AS s
        LEFT JOIN t ON t.source = s.source LEFT JOIN q ON q.source = s.source ORDER BY 1""",
        [table, table],
    ).fetchall()
    notes = [RemovedRows(table, name, int(n), int(nq), dropped)
             for name, n, nq in rows if name not in keep]
    if dropped and not rows:
        notes.append(RemovedRows(table, None, 0, 0, True))
    return notes


def _already_loaded(con: duckdb.DuckDBPyConnection, item: StagedSource, sha: str) -> bool:
    """Whether this source's file, same content, is a load still in its table."""
    return bool(con.execute(
        f"SELECT count(*) FROM {INGEST_LOG_TABLE} WHERE table_name = ? AND source = ? "
        "AND file_sha256 = ? AND in_table",
        [item.source.table, item.summary.source, sha],
    ).fetchone()[0])


def _target_types(item: StagedSource) -> dict[str, str]:
    table = CANONICAL_TABLES.get(item.source.table)
    types: dict[str, str] = {}
    for name in item.columns:
        if name in item.source.types:
            types[name] = item.source.types[name]
        elif table is not None:
            types[name] = table.column(name).dtype
    return types


def _write_one(con: duckdb.DuckDBPyConnection, item: StagedSource, sha: str) -> None:
    """Add one source's rows and quarantined rows to its table, log the load, check counts."""
    source, table, s = item.source, item.source.table, item.summary
    types = _target_types(item)
    if source.is_canonical:
        warehouse.ensure_canonical_table(con, CANONICAL_TABLES[table])
    else:
        cols = ", ".join(f"{quote(n)} {t}" for n, t in types.items())
        con.execute(
            f"CREATE TABLE IF NOT EXISTS {quote(table)} ({cols}, {SOURCE} VARCHAR NOT NULL, "
            f"{SOURCE_ROW} BIGINT NOT NULL)"
        )
    warehouse.ensure_columns(con, table, types)
    before = _counts(con, table, s.source)
    if source.mode == "append":
        _refuse_overlap(con, item)
    cols = ", ".join(quote(c) for c in item.columns)
    con.execute(
        f"INSERT INTO {quote(table)} ({cols}, {SOURCE}, {SOURCE_ROW}) "
        f"SELECT {cols}, ?, {SOURCE_ROW} FROM {quote(item.staged)} WHERE reason = ''",
        [s.source],
    )
    con.execute(
        f"INSERT INTO {QUARANTINE_TABLE} SELECT ?, ?, * FROM "
        f"({quarantine_records(item.read, item.staged)})",
        [table, s.source],
    )
    if item.read.rejected:
        con.executemany(
            f"INSERT INTO {QUARANTINE_TABLE} VALUES (?, ?, ?, ?, ?)",
            [(table, s.source, line, f"malformed CSV line {line}: {err}", raw)
             for line, err, raw in item.read.rejected],
        )
    con.execute(
        f"INSERT INTO {INGEST_LOG_TABLE} (ingested_at, table_name, source, path, file_sha256, "
        "rows_read, rows_loaded, rows_quarantined, mode, in_table) "
        "VALUES (now(), ?, ?, ?, ?, ?, ?, ?, ?, TRUE)",
        [table, s.source, s.path, sha, s.rows_read, s.rows_loaded, s.rows_quarantined,
         source.mode],
    )
    _reconcile(con, table, s, before)


def _counts(con: duckdb.DuckDBPyConnection, table: str, source: str) -> tuple[int, int]:
    """Rows of ``source`` in ``table`` and in the quarantine for it."""
    loaded = con.execute(f"SELECT count(*) FROM {quote(table)} WHERE {SOURCE} = ?",
                         [source]).fetchone()[0]
    quarantined = con.execute(
        f"SELECT count(*) FROM {QUARANTINE_TABLE} WHERE table_name = ? AND source = ?",
        [table, source],
    ).fetchone()[0]
    return int(loaded), int(quarantined)


def _reconcile(con: duckdb.DuckDBPyConnection, table: str, s: SourceSummary,
               before: tuple[int, int]) -> None:
    """Count what really landed; any difference aborts the transaction."""
    loaded, quarantined = (now - then for now, then in zip(_counts(con, table, s.source), before,
                                                           strict=True))
    if (loaded, quarantined) != (s.rows_loaded, s.rows_quarantined) or not s.reconciled:
        raise ValidationError(
            f"{s.path}: counts do not reconcile (read {s.rows_read}, loaded {loaded}, "
            f"quarantined {quarantined}); nothing was written"
        )


def _refuse_overlap(con: duckdb.DuckDBPyConnection, item: StagedSource) -> None:
    """Refuse an append whose rows repeat a unique key the table already holds."""
    key, table, staged = item.source.unique_key, item.source.table, quote(item.staged)
    same = " AND ".join(f"t.{quote(c)} IS NOT DISTINCT FROM s.{quote(c)}" for c in key)
    repeated = con.execute(
        f"SELECT count(*) FROM {staged} AS s WHERE s.reason = '' "
        f"AND EXISTS (SELECT 1 FROM {quote(table)} AS t WHERE {same})"
    ).fetchone()[0]
    if not repeated:
        return
    sample = con.execute(
        f"SELECT {', '.join(f't.{quote(c)}' for c in key)}, t.{SOURCE} FROM {quote(table)} AS t "
        f"WHERE EXISTS (SELECT 1 FROM {staged} AS s WHERE s.reason = '' AND {same}) "
        f"ORDER BY t.{SOURCE}, t.{SOURCE_ROW} LIMIT 1"
    ).fetchone()
    shown = ", ".join(f"{c} {_shown(v)}" for c, v in zip(key, sample[:-1], strict=True))
    s = item.summary
    raise SourceError(
        f"{s.path}: {repeated:,} of its {s.rows_read:,} rows repeat a unique key "
        f"({', '.join(key)}) already in table {table}, e.g. {shown} loaded from source "
        f"{sample[-1]!r}; mode append adds only new rows: remove them from the file, or use "
        "mode replace to reload the table from the config's files. Nothing was written"
    )


def _shown(value: object) -> str:
    """A key value as a user reads it: text quoted, dates and numbers bare, NULL as empty."""
    if value is None:
        return "(empty)"
    return repr(value) if isinstance(value, str) else str(value)


__all__ = ["RemovedRows", "UnchangedSource", "WriteResult", "write"]
