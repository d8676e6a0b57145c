"""The warehouse side of batch churn scoring: snapshot sources, chunks, and idempotent writes.

A scoring run reads a snapshot source (a warehouse table or a Parquet file) at one cutoff, in
chunks of consecutive rows: chunk ``k`` holds the rows whose position (``rowid`` of a table,
``file_row_number`` of a Parquet file) lies in the k-th of ``n_chunks`` equal position ranges
over the scored rows. A range read skips every row group outside it, so reading all chunks
costs one pass over the source (a filter on ``hash(customer_id)`` would cost one pass per
chunk). Each chunk's scores are inserted into ``churn_scores`` in one transaction together with
its row in ``churn_score_chunks``, which records the xor of its customers' id hashes; a process
killed mid-chunk leaves neither, and the next run with the same run key checks that the
committed chunks still hold the same customers (else it starts the run over), skips them and
redoes the rest. The run key covers the content scored (:func:`content_digest`, a hash of every
value a chunk is read with), so a snapshot rebuilt with other values is a new run; a committed
chunk whose scores are gone or incomplete is forgotten and scored again (:func:`heal_run`).

Tables:

* ``churn_scores``: ``customer_id, cutoff, churn_proba, tier, act, reason_1, reason_2,
  reason_3, revenue_at_risk, run_key, chunk``; one row per customer and cutoff.
* ``churn_score_chunks``: ``run_key, cutoff, chunk, n_chunks, rows, committed_at, digest``.
* ``churn_score_unseen``: ``run_key, cutoff, chunk, feature, rows``: per chunk and categorical
  feature, the rows whose value the model never saw in training; committed with the chunk.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import duckdb
import pandas as pd
import pyarrow as pa

from forecast.errors import ValidationError, WorkspaceError
from forecast.io.catalog import CHURN_SCORE_CHUNKS, CHURN_SCORE_UNSEEN, CHURN_SCORES
from forecast.io.outputs import export_query
from forecast.io.sql import Query, bound, quote
from forecast.io.warehouse import table_exists
from forecast.schemas import CHURN_PROBA, CUSTOMER_ID, CUTOFF, TIER

SCORES_TABLE = CHURN_SCORES.name
CHUNKS_TABLE = CHURN_SCORE_CHUNKS.name
UNSEEN_TABLE = CHURN_SCORE_UNSEEN.name
RUN_TABLES = (SCORES_TABLE, CHUNKS_TABLE, UNSEEN_TABLE)
CHUNK_VIEW = "_chunk_scores"
N_REASONS = 3
REASON_COLUMNS = tuple(f"reason_{k + 1}" for k in range(N_REASONS))
REVENUE_AT_RISK = "revenue_at_risk"
RECENCY = "recency_days"
# Columns a scoring chunk hands to write_chunk, in table order (run_key and chunk are added).
SCORE_COLUMNS: dict[str, str] = {
    CUSTOMER_ID: "VARCHAR", CUTOFF: "DATE", CHURN_PROBA: "DOUBLE", TIER: "VARCHAR",
    "act": "BOOLEAN", **{c: "VARCHAR" for c in REASON_COLUMNS}, REVENUE_AT_RISK: "DOUBLE",
}
TIERS = ("high", "medium", "low")
_FILE_ROW = "file_row_number"

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SnapshotSource:
    """One cutoff of a snapshot table or Parquet file, as a scoring run sees it.

    Attributes:
        name: the table name or the resolved Parquet path (part of the run key).
        relation: SQL FROM-expression reading the source (a Parquet file's path is the
            parameter ``$snapshot_file``, see :meth:`query`).
        position: its row-position column (``rowid`` or ``file_row_number``).
        cutoff: the cutoff scored; None when the source has no ``cutoff`` column.
        rows: customers scored at that cutoff.
        fingerprint: xor of the scored customers' id hashes, so a changed population changes
            the run key.
        columns: column names of the source.
        first, last: the smallest and largest position of a scored row.
        active_within_days: only customers with a purchase in the last N days before the cutoff
            (``recency_days <= N``) are scored; None scores every customer.
        excluded: customers at the cutoff left out by ``active_within_days``.
    """

    name: str
    relation: str
    position: str
    cutoff: date | None
    rows: int
    fingerprint: int
    columns: tuple[str, ...]
    first: int = 0
    last: int = 0
    active_within_days: int | None = None
    excluded: int = 0

    @property
    def at_cutoff(self) -> str:
        """SQL condition selecting the cutoff (the parameter ``$cutoff``)."""
        if self.cutoff is None:
            return "TRUE"
        return f"{quote(CUTOFF)} = $cutoff"

    def query(self, sql: str) -> Query:
        """``sql`` over the source with the values it names: the Parquet file
        (``$snapshot_file``) and the cutoff (``$cutoff``)."""
        file = {"snapshot_file": self.name} if self.position == _FILE_ROW else {}
        return bound(sql, {**file, "cutoff": self.cutoff})

    @property
    def where(self) -> str:
        """SQL condition selecting the scored rows (cutoff and activity)."""
        if self.active_within_days is None:
            return self.at_cutoff
        return f"{self.at_cutoff} AND {quote(RECENCY)} <= {int(self.active_within_days)}"

    def chunk_width(self, n_chunks: int) -> int:
        """Positions per chunk."""
        return max(1, math.ceil((self.last - self.first + 1) / n_chunks))

    def chunk_of(self, n_chunks: int) -> str:
        """SQL expression of a row's chunk number."""
        return (f"CAST(({self.position} - {int(self.first)}) // {self.chunk_width(n_chunks)} "
                "AS BIGINT)")


def _relation(con: duckdb.DuckDBPyConnection, source: str | Path) -> tuple[str, str, str]:
    text = str(source)
    if isinstance(source, Path) or text.lower().endswith(".parquet"):
        path = Path(source).resolve()
        if not path.is_file():
            raise WorkspaceError(f"snapshot file not found: {path}")
        relation = f"read_parquet($snapshot_file, {_FILE_ROW} = true)"
        return str(path), relation, _FILE_ROW
    if not table_exists(con, text):
        raise WorkspaceError(f"the warehouse has no table {text!r} to score: build it with "
                             "`forecast features customers --config ...` first")
    return text, quote(text), "rowid"


def _latest_cutoff(con: duckdb.DuckDBPyConnection, source: SnapshotSource) -> date | None:
    latest = con.execute(*source.query(
        f"SELECT max({quote(CUTOFF)}) FROM {source.relation}")).fetchall()[0][0]
    return None if latest is None else pd.Timestamp(latest).date()


def open_snapshot_source(con: duckdb.DuckDBPyConnection, source: str | Path,
                         cutoff: date | None = None,
                         active_within_days: int | None = None) -> SnapshotSource:
    """Find the cutoff to score (default: the latest), count and fingerprint its customers.

    Args:
        con: a warehouse connection.
        source: a warehouse table name, or a Parquet file (a ``Path`` or a ``.parquet`` name).
        cutoff: the cutoff to score; default the latest in the source.
        active_within_days: score only customers with ``recency_days <= N``; None: all.

    Raises:
        WorkspaceError: the table or file does not exist.
        ValidationError: no ``customer_id`` column, no ``recency_days`` column for
            ``active_within_days``, no customer to score at the cutoff, or a customer that
            appears twice at the cutoff.
    """
    name, relation, position = _relation(con, source)
    shape = SnapshotSource(name, relation, position, None, 0, 0, ())
    columns = tuple(r[0] for r in con.execute(*shape.query(
        f"DESCRIBE SELECT * FROM {relation}")).fetchall() if r[0] != position)
    if CUSTOMER_ID not in columns:
        raise ValidationError(f"{name}: no {CUSTOMER_ID!r} column to score; columns are "
                              f"{list(columns)}")
    if active_within_days is not None and RECENCY not in columns:
        raise ValidationError(
            f"{name}: no {RECENCY!r} column, so customers active within {active_within_days} "
            "days cannot be told apart; set churn.active_within_days to null to score every "
            "customer")
    cutoff = (cutoff or _latest_cutoff(con, shape)) if CUTOFF in columns else None
    probe = SnapshotSource(name, relation, position, cutoff, 0, 0, columns,
                           active_within_days=active_within_days)
    total, rows, distinct, fingerprint, first, last = con.execute(*probe.query(
        f"SELECT count(*), count(*) FILTER (WHERE {probe.where}), "
        f"count(DISTINCT {quote(CUSTOMER_ID)}) FILTER (WHERE {probe.where}), "
        f"coalesce(bit_xor(hash({quote(CUSTOMER_ID)})) FILTER (WHERE {probe.where}), 0), "
        f"min({position}) FILTER (WHERE {probe.where}), "
        f"max({position}) FILTER (WHERE {probe.where}) "
        f"FROM {relation} WHERE {probe.at_cutoff}")).fetchall()[0]
    if not rows:
        within = "" if active_within_days is None else (
            f" with a purchase in the last {active_within_days} days ({total} customers in all)")
        raise ValidationError(f"{name}: no customers at cutoff {cutoff}{within}")
    if distinct != rows:
        raise ValidationError(f"{name}: {rows - distinct} duplicate customer_id row(s) at cutoff "
                              f"{cutoff}; expected one row per customer")
    return SnapshotSource(name, relation, position, cutoff, int(rows), int(fingerprint),
                          columns, int(first), int(last), active_within_days,
                          int(total - rows))


def empty_frame(con: duckdb.DuckDBPyConnection, source: SnapshotSource) -> pd.DataFrame:
    """The source's columns and types with no rows, for schema checks before any write."""
    columns = ", ".join(quote(c) for c in source.columns)
    return con.execute(*source.query(f"SELECT {columns} FROM {source.relation} LIMIT 0")).df()


def read_chunk(con: duckdb.DuckDBPyConnection, source: SnapshotSource, chunk: int,
               n_chunks: int, select: str) -> pa.Table:
    """Chunk ``chunk`` of the scored rows, as Arrow, with the SELECT list ``select``."""
    width = source.chunk_width(n_chunks)
    low = source.first + chunk * width
    sql, params = source.query(
        f"SELECT {select} FROM {source.relation} WHERE {source.position} >= {low} "
        f"AND {source.position} < {low + width} AND {source.where}")
    return con.sql(sql, params=params).to_arrow_table()


def content_digest(con: duckdb.DuckDBPyConnection, source: SnapshotSource, select: str) -> int:
    """The xor of the hashes of the scored rows as read with the SELECT list ``select``, in one
    pass: any changed value (a feature, the revenue, a customer id) changes it, the row order
    does not."""
    digest = con.execute(*source.query(
        f"SELECT coalesce(bit_xor(hash(t)), 0) FROM (SELECT {select} FROM {source.relation} "
        f"WHERE {source.where}) AS t")).fetchall()[0][0]
    return int(digest)


def ensure_score_tables(con: duckdb.DuckDBPyConnection) -> None:
    """Create ``churn_scores``, ``churn_score_chunks`` and ``churn_score_unseen`` if missing
    (and add the chunk digest to a bookkeeping table of an older version)."""
    columns = [f"{quote(c)} {t}" for c, t in SCORE_COLUMNS.items()]
    columns += ["run_key VARCHAR NOT NULL", "chunk BIGINT NOT NULL"]
    con.execute(f"CREATE TABLE IF NOT EXISTS {SCORES_TABLE} ({', '.join(columns)})")
    con.execute(
        f"""CREATE TABLE IF NOT EXISTS {CHUNKS_TABLE} (
            run_key VARCHAR NOT NULL, cutoff DATE, chunk BIGINT NOT NULL,
            n_chunks BIGINT NOT NULL, rows BIGINT NOT NULL, committed_at TIMESTAMP NOT NULL,
            digest UBIGINT)""")
    con.execute(f"ALTER TABLE {CHUNKS_TABLE} ADD COLUMN IF NOT EXISTS digest UBIGINT")
    con.execute(f"""CREATE TABLE IF NOT EXISTS {UNSEEN_TABLE} (
            run_key VARCHAR NOT NULL, cutoff DATE, chunk BIGINT NOT NULL,
            feature VARCHAR NOT NULL, rows BIGINT NOT NULL)""")


def _in_transaction(con: duckdb.DuckDBPyConnection,
                    statements: list[tuple[str, list | dict]]) -> None:
    con.execute("BEGIN TRANSACTION")
    try:
        for sql, parameters in statements:
            con.execute(sql, parameters)
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise


def begin_run(con: duckdb.DuckDBPyConnection, run_key: str, source: SnapshotSource
              ) -> dict[int, int | None]:
    """Start or resume a run: drop other runs' scores at this cutoff, forget committed chunks
    whose scores were lost (:func:`heal_run`), list the committed chunks.

    Returns:
        Chunk number -> customer digest of the chunks this run key has already committed.
    """
    ensure_score_tables(con)
    same_cutoff = f"{quote(CUTOFF)} IS NOT DISTINCT FROM CAST(? AS DATE)"
    _in_transaction(con, [
        (f"DELETE FROM {table} WHERE {same_cutoff} AND run_key <> ?", [source.cutoff, run_key])
        for table in RUN_TABLES])
    heal_run(con, run_key)
    done = con.execute(f"SELECT chunk, digest FROM {CHUNKS_TABLE} WHERE run_key = ?",
                       [run_key]).fetchall()
    return {int(chunk): None if digest is None else int(digest) for chunk, digest in done}


def changed_chunks(con: duckdb.DuckDBPyConnection, source: SnapshotSource, n_chunks: int,
                   committed: dict[int, int | None]) -> list[int]:
    """Committed chunks whose customers in the source are not the ones scored (the source was
    rewritten in another row order since), found in one pass over the source."""
    now = dict(con.execute(*source.query(
        f"SELECT {source.chunk_of(n_chunks)} AS chunk, bit_xor(hash({quote(CUSTOMER_ID)})) "
        f"FROM {source.relation} WHERE {source.where} GROUP BY ALL")).fetchall())
    return sorted(c for c, digest in committed.items() if now.get(c, 0) != digest)


def heal_run(con: duckdb.DuckDBPyConnection, run_key: str) -> list[int]:
    """Forget the committed chunks of a run whose scores are gone or incomplete (the scores
    table was dropped or rows were deleted), so they are scored again.

    Returns:
        The chunks forgotten.
    """
    recorded = con.execute(
        f"""SELECT c.chunk, c.rows, coalesce(s.n, 0) FROM {CHUNKS_TABLE} AS c
            LEFT JOIN (SELECT chunk, count(*) AS n FROM {SCORES_TABLE} WHERE run_key = ?
                       GROUP BY chunk) AS s USING (chunk)
            WHERE c.run_key = ? ORDER BY c.chunk""", [run_key, run_key]).fetchall()
    lost = [int(chunk) for chunk, rows, found in recorded if rows != found]
    if lost:
        log.warning("%d of %d committed chunks have lost their scores (%s); scoring them again",
                    len(lost), len(recorded), ", ".join(map(str, lost[:10])))
        _in_transaction(con, [
            (f"DELETE FROM {table} WHERE run_key = ? AND list_contains(?, chunk)",
             [run_key, lost]) for table in RUN_TABLES])
    return lost


def reset_run(con: duckdb.DuckDBPyConnection, run_key: str) -> None:
    """Delete every score and chunk record of a run."""
    _in_transaction(con, [(f"DELETE FROM {table} WHERE run_key = ?", [run_key])
                          for table in RUN_TABLES])


def write_chunk(con: duckdb.DuckDBPyConnection, run_key: str, chunk: int, n_chunks: int,
                scores: pa.Table, unseen: dict[str, int] | None = None) -> None:
    """Insert one chunk's scores, its unseen-category counts and its bookkeeping row in a
    single transaction.

    Args:
        scores: one row per customer with the columns of ``SCORE_COLUMNS``.
        unseen: categorical feature -> rows whose value was not seen in training.
    """
    select = ", ".join(f"CAST({quote(c)} AS {t})" for c, t in SCORE_COLUMNS.items())
    con.register(CHUNK_VIEW, scores)
    con.execute("BEGIN TRANSACTION")
    try:
        for table in (SCORES_TABLE, UNSEEN_TABLE):
            con.execute(f"DELETE FROM {table} WHERE run_key = ? AND chunk = ?", [run_key, chunk])
        con.execute(f"INSERT INTO {SCORES_TABLE} SELECT {select}, ?, ? FROM {CHUNK_VIEW}",
                    [run_key, chunk])
        if unseen:
            con.execute(
                f"""INSERT INTO {UNSEEN_TABLE} SELECT ?, (SELECT max({quote(CUTOFF)})
                    FROM {CHUNK_VIEW}), ?, unnest(?::VARCHAR[]), unnest(?::BIGINT[])""",
                [run_key, chunk, list(unseen), list(unseen.values())])
        record_chunk(con, run_key, scores, chunk, n_chunks)
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    finally:
        con.unregister(CHUNK_VIEW)


def record_chunk(con: duckdb.DuckDBPyConnection, run_key: str, scores: pa.Table,
                 chunk: int, n_chunks: int) -> None:
    """The bookkeeping row of a chunk (its rows, cutoff and customer digest); called inside
    :func:`write_chunk`'s transaction while the chunk's scores are registered."""
    con.execute(
        f"""INSERT INTO {CHUNKS_TABLE}
            SELECT ?, max({quote(CUTOFF)}), ?, ?, count(*), current_timestamp,
                   coalesce(bit_xor(hash({quote(CUSTOMER_ID)})), 0)
            FROM {CHUNK_VIEW}""", [run_key, chunk, n_chunks])


def apply_capacity(con: duckdb.DuckDBPyConnection, run_key: str, capacity: int,
                   tier_medium: float) -> None:
    """Make the ``capacity`` highest probabilities of the run ``high`` (ties: lower id first),
    the rest ``medium`` or ``low`` by ``tier_medium``, as :func:`assign_tiers` does."""
    con.execute(
        f"""UPDATE {SCORES_TABLE} AS s SET tier = CASE WHEN r.rank <= {int(capacity)} THEN 'high'
                WHEN s.churn_proba >= {float(tier_medium)!r} THEN 'medium' ELSE 'low' END
            FROM (SELECT customer_id, row_number() OVER (
                      ORDER BY churn_proba DESC, customer_id) AS rank
                  FROM {SCORES_TABLE} WHERE run_key = $run_key) AS r
            WHERE s.run_key = $run_key AND s.customer_id = r.customer_id""",
        {"run_key": run_key})


def summarise_run(con: duckdb.DuckDBPyConnection, run_key: str) -> dict:
    """Rows, tier counts and total revenue at risk of a run."""
    rows = con.execute(
        f"SELECT tier, count(*), sum({REVENUE_AT_RISK}) FROM {SCORES_TABLE} WHERE run_key = ? "
        "GROUP BY tier", [run_key]).fetchall()
    tiers = {tier: int(n) for tier, n, _ in rows}
    return {"rows": sum(tiers.values()), "tiers": {t: tiers.get(t, 0) for t in TIERS},
            "revenue_at_risk": float(sum(r[2] or 0.0 for r in rows))}


def unseen_counts(con: duckdb.DuckDBPyConnection, run_key: str) -> dict[str, int]:
    """Rows of a run per categorical feature whose value was not seen in training, over all
    its chunks (also those committed by an earlier, interrupted attempt); features with none
    are left out."""
    rows = con.execute(
        f"SELECT feature, sum(rows) AS n FROM {UNSEEN_TABLE} WHERE run_key = ? GROUP BY feature "
        "HAVING n > 0 ORDER BY n DESC, feature", [run_key]).fetchall()
    return {feature: int(n) for feature, n in rows}


def export_scores(con: duckdb.DuckDBPyConnection, run_key: str, paths: Sequence[Path]
                  ) -> list[str]:
    """Write a run's scores (without the bookkeeping columns) to each Parquet or CSV path."""
    columns = ", ".join(quote(c) for c in SCORE_COLUMNS)
    select = Query(f"SELECT {columns} FROM {SCORES_TABLE} WHERE run_key = $run_key "
                   "ORDER BY churn_proba DESC, customer_id", {"run_key": run_key})
    return [str(export_query(con, select, Path(p))) for p in paths]
