"""Ingest: sources -> checked rows -> warehouse, atomically, idempotently, nothing lost.

Every source row ends in exactly one place: its canonical table or the ``quarantine`` table with
its reasons. The summary reconciles per source: rows read = rows loaded + rows quarantined.
All sources of a config are staged first; only when every one of them staged cleanly are they
written (:mod:`forecast.io.load`), in one transaction: by default each table then holds exactly
what the config's sources hold now. A failure anywhere leaves the warehouse as it was; a
repeated ingest replaces, never duplicates.
"""

from __future__ import annotations

import logging
import tempfile
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import duckdb

from forecast.config import Config, SourceConfig, format_from_path
from forecast.errors import SourceError
from forecast.io import load, overlap, warehouse
from forecast.io.load import RemovedRows, UnchangedSource
from forecast.io.readers import CsvOptions, file_sha256, read_source
from forecast.io.source_checks import check_loads_something, filter_modes
from forecast.io.staged import SourceSummary, StagedSource
from forecast.io.validate import identical_rows, quarantine_records, stage_source
from forecast.io.warehouse import quote
from forecast.progress import ProgressCallback, Steps
from forecast.schemas import SOURCE_ROW

log = logging.getLogger(__name__)


def _register_lookups(
    con: duckdb.DuckDBPyConnection, source: SourceConfig, index: int, scratch: Path
) -> tuple[str, dict[str, tuple[str, str]]]:
    joins: list[str] = []
    columns: dict[str, tuple[str, str]] = {}
    for j, lookup in enumerate(source.lookups):
        name = f"lookup_{index}_{j}"
        read = read_source(con, lookup.path, name, format_from_path(lookup.path),
                           CsvOptions(lookup.encoding), scratch=scratch)
        key = lookup.right_on or lookup.left_on
        for col in [key, *lookup.columns.values()]:
            if col not in read.columns:
                raise SourceError(
                    f"{lookup.path}: column {col!r} not found; columns found: "
                    f"{', '.join(read.columns)}"
                )
        dupes = con.execute(
            f"SELECT CAST({quote(key)} AS VARCHAR) AS k, count(*) FROM {quote(name)} "
            f"GROUP BY k HAVING count(*) > 1 LIMIT 3"
        ).fetchall()
        if dupes:
            raise SourceError(
                f"{lookup.path}: key column {key!r} is not unique (e.g. {dupes[0][0]!r} appears "
                f"{dupes[0][1]} times); a lookup must have one row per key"
            )
        alias = f"lk{j}"
        joins.append(
            f"LEFT JOIN {quote(name)} AS {alias} ON CAST({alias}.{quote(key)} AS VARCHAR) = "
            f"CAST(src.{quote(lookup.left_on)} AS VARCHAR)"
        )
        for target, col in lookup.columns.items():
            columns[target] = (f"{alias}.{quote(col)}", read.columns[col])
    return " ".join(joins), columns


def _summarise(con: duckdb.DuckDBPyConnection, item: StagedSource, sample_size: int = 5) -> None:
    staged = quote(item.staged)
    loaded, quarantined = con.execute(
        f"SELECT count(*) FILTER (WHERE reason = ''), count(*) FILTER (WHERE reason <> '') "
        f"FROM {staged}"
    ).fetchone()
    rejected = len(item.read.rejected)
    parsed_rows = con.execute(f"SELECT count(*) FROM {quote(item.read.relation)}").fetchone()[0]
    summary = item.summary
    summary.rows_read = int(parsed_rows) + rejected
    summary.rows_loaded = int(loaded)
    summary.rows_quarantined = int(quarantined) + rejected
    # Reason kinds: quoted values and numbers masked, so counts group like with like.
    kinds = con.execute(
        f"""SELECT regexp_replace(regexp_replace(r, '''[^'']*''', '…', 'g'), '[0-9][0-9.:-]*', '#', 'g'),
                   count(*)
            FROM (SELECT unnest(string_split(reason, '; ')) AS r FROM {staged} WHERE reason <> '')
            GROUP BY 1 ORDER BY 2 DESC, 1"""
    ).fetchall()
    summary.reasons = {k.strip(): int(n) for k, n in kinds}
    if rejected:
        summary.reasons["malformed CSV line"] = rejected
    rows = con.execute(
        f"SELECT * FROM ({quarantine_records(item.read, item.staged)}) ORDER BY {SOURCE_ROW} "
        f"LIMIT {sample_size}"
    ).fetchall()
    summary.sample = [{"source_row": r[0], "reason": r[1], "record": r[2]} for r in rows]
    if not item.source.unique_key and summary.rows_loaded:
        summary.identical_rows = identical_rows(con, item.staged, item.columns)


def stage_all(
    con: duckdb.DuckDBPyConnection, config: Config, scratch: Path, today: date | None = None,
    steps: Steps | None = None,
) -> list[StagedSource]:
    """Read, parse and check every source of a config into temp tables (no warehouse writes).

    ``steps`` (optional) is told as each source's reading and checking starts.

    Raises:
        SourceError: a source cannot be read as configured, or would load no row (unless the
            source sets ``allow_empty``).
        ConfigError: a filter cannot compare with its column.
    """
    if not config.sources:
        raise SourceError("the config has no `sources:` to ingest")
    steps = steps or Steps(1)
    items: list[StagedSource] = []
    for index, source in enumerate(config.sources):
        log.info("reading %s (%s) for table %s", source.path, source.file_format, source.table)
        steps.start(f"reading {source.path.name}")
        name = f"src_{index}"
        read = read_source(
            con, source.path, name, source.file_format,
            CsvOptions(source.encoding, source.delimiter), source.sheet, scratch,
        )
        lookups = _register_lookups(con, source, index, scratch)
        steps.start(f"checking {source.path.name}")
        staged = f"staged_{index}"
        numeric = filter_modes(con, source, read)
        columns = stage_source(con, source, read, staged, lookups, today, numeric)
        summary = SourceSummary(source.table, source.source_name, str(source.path),
                                read.encoding, 0, 0, 0)
        item = StagedSource(source, read, staged, columns, summary)
        if source.unique_key and source.mode == "replace":  # an append refuses them instead
            overlap.quarantine_repeated_keys(con, item, items)
        _summarise(con, item)
        if not source.unique_key and summary.rows_loaded:
            summary.repeated_rows = overlap.repeated_rows(con, item, items)
        if not summary.rows_loaded:
            check_loads_something(con, source, read, summary.rows_read, summary.reasons)
        items.append(item)
    return items


def check_sources(config: Config, today: date | None = None,
                  progress: ProgressCallback | None = None) -> list[SourceSummary]:
    """Validate every source without touching the warehouse (``forecast data check``).

    ``progress`` is called as ``(done, total, what)`` as each source's reading and checking
    starts (see :mod:`forecast.progress`).
    """
    steps = Steps(2 * len(config.sources), progress)
    with tempfile.TemporaryDirectory(prefix="forecast-check-") as tmp:
        con = duckdb.connect()
        try:
            warehouse.configure(con, Path(tmp) / "spill")
            summaries = [item.summary for item in stage_all(con, config, Path(tmp), today, steps)]
        finally:
            con.close()
    steps.finish()
    return summaries


@dataclass
class IngestReport:
    """What an ingest did: one summary per source, plus the rows it removed because no source
    of the config holds them any more and the append-mode files it skipped as already loaded."""

    sources: list[SourceSummary]
    removed: list[RemovedRows] = field(default_factory=list)
    unchanged: list[UnchangedSource] = field(default_factory=list)


def ingest(config: Config, today: date | None = None) -> list[SourceSummary]:
    """Load every source of a config into the workspace warehouse, atomically.

    See :func:`ingest_report`; this returns its per-source summaries.
    """
    return ingest_report(config, today).sources


def ingest_report(config: Config, today: date | None = None,
                  progress: ProgressCallback | None = None) -> IngestReport:
    """Load every source of a config into the workspace warehouse, atomically.

    Sources are staged in a separate in-memory database; the warehouse file is opened (and, the
    first time, created) only once every source has staged cleanly. Each table then holds what
    its sources' modes say (see :mod:`forecast.io.load`): by default exactly the config's
    current sources.

    Returns:
        Per source a summary, plus the rows removed and the append-mode files skipped.

    Raises:
        SourceError: a source cannot be read, or an append repeats loaded keys; the warehouse
            is unchanged.
        ValidationError: counts failed to reconcile; the warehouse is unchanged.
        WorkspaceError: another process holds the warehouse.

    ``progress`` is called as ``(done, total, what)`` as each step starts: reading and checking
    each source, writing each one's rows, the commit (see :mod:`forecast.progress`).
    """
    steps = Steps(3 * len(config.sources) + 1, progress)
    with tempfile.TemporaryDirectory(prefix="forecast-ingest-") as tmp:
        con = duckdb.connect()
        try:
            warehouse.configure(con, Path(tmp) / "spill")
            items = stage_all(con, config, Path(tmp), today, steps)
            hashes = {id(i): file_sha256(i.source.path) for i in items}
            written = load.write(con, config.workspace, items, hashes, steps)
        finally:
            con.close()
    steps.finish()
    return IngestReport([i.summary for i in items], written.removed, written.unchanged)


__all__ = ["IngestReport", "SourceSummary", "check_sources", "ingest", "ingest_report",
           "stage_all"]
