"""The warehouse side of batch churn scoring: snapshot sources, chunks, and idempotent writes.

A scoring run reads a snapshot source (a warehouse table or a Parquet file) at one cutoff, in
chunks that partition its customers by ``hash(customer_id) % n_chunks``: membership depends only
on the customer id, never on row order, so a resumed run reads exactly the chunks it did not
finish. Each chunk's scores are inserted into ``churn_scores`` in one transaction together with
its row in ``churn_score_chunks``; a process killed mid-chunk leaves neither, and the next run
with the same run key skips the committed chunks and redoes the rest.

Tables:

* ``churn_scores``: ``customer_id, cutoff, churn_proba, tier, act, reason_1, reason_2,
  reason_3, revenue_at_risk, run_key, chunk``; one row per customer and cutoff.
* ``churn_score_chunks``: ``run_key, cutoff, chunk, n_chunks, rows, committed_at``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import duckdb
import pandas as pd

from forecast.errors import ValidationError, WorkspaceError
from forecast.io.outputs import export_table
from forecast.io.warehouse import literal, quote, table_exists
from forecast.schemas import CHURN_PROBA, CUSTOMER_ID, CUTOFF, TIER

SCORES_TABLE = "churn_scores"
CHUNKS_TABLE = "churn_score_chunks"
EXPORT_VIEW = "churn_scores_export"
N_REASONS = 3
REASON_COLUMNS = tuple(f"reason_{k + 1}" for k in range(N_REASONS))
REVENUE_AT_RISK = "revenue_at_risk"
# Columns a scoring chunk hands to write_chunk, in table order (run_key and chunk are added).
SCORE_COLUMNS: dict[str, str] = {
    CUSTOMER_ID: "VARCHAR", CUTOFF: "DATE", CHURN_PROBA: "DOUBLE", TIER: "VARCHAR",
    "act": "BOOLEAN", **{c: "VARCHAR" for c in REASON_COLUMNS}, REVENUE_AT_RISK: "DOUBLE",
}
TIERS = ("high", "medium", "low")


@dataclass(frozen=True)
class SnapshotSource:
    """One cutoff of a snapshot table or Parquet file, as a scoring run sees it.

    Attributes:
        name: the table name or the resolved Parquet path (part of the run key).
        relation: SQL FROM-expression reading the source.
        cutoff: the cutoff scored; None when the source has no ``cutoff`` column.
        rows: customers at that cutoff.
        fingerprint: xor of the customers' id hashes, so a changed population changes the key.
        columns: column names of the source.
    """

    name: str
    relation: str
    cutoff: date | None
    rows: int
    fingerprint: int
    columns: tuple[str, ...]

    @property
    def where(self) -> str:
        """SQL condition selecting the scored cutoff."""
        if self.cutoff is None:
            return "TRUE"
        return f"{quote(CUTOFF)} = DATE {literal(self.cutoff.isoformat())}"


def _relation(con: duckdb.DuckDBPyConnection, source: str | Path) -> tuple[str, str]:
    text = str(source)
    if isinstance(source, Path) or text.lower().endswith(".parquet"):
        path = Path(source).resolve()
        if not path.is_file():
            raise WorkspaceError(f"snapshot file not found: {path}")
        return str(path), f"read_parquet({literal(path.as_posix())})"
    if not table_exists(con, text):
        raise WorkspaceError(f"the warehouse has no table {text!r} to score: build it with "
                             "`forecast features customers --config ...` first")
    return text, quote(text)


def open_snapshot_source(con: duckdb.DuckDBPyConnection, source: str | Path,
                         cutoff: date | None = None) -> SnapshotSource:
    """Find the cutoff to score (default: the latest) and count its customers.

    Args:
        con: a warehouse connection.
        source: a warehouse table name, or a Parquet file (a ``Path`` or a ``.parquet`` name).
        cutoff: the cutoff to score; default the latest in the source.

    Raises:
        WorkspaceError: the table or file does not exist.
        ValidationError: no ``customer_id`` column, no rows at the cutoff, or a customer that
            appears twice at the cutoff.
    """
    name, relation = _relation(con, source)
    columns = tuple(r[0] for r in con.execute(f"DESCRIBE SELECT * FROM {relation}").fetchall())
    if CUSTOMER_ID not in columns:
        raise ValidationError(f"{name}: no {CUSTOMER_ID!r} column to score; columns are "
                              f"{list(columns)}")
    if CUTOFF in columns and cutoff is None:
        latest = con.execute(f"SELECT max({quote(CUTOFF)}) FROM {relation}").fetchone()[0]
        cutoff = None if latest is None else pd.Timestamp(latest).date()
    elif CUTOFF not in columns:
        cutoff = None
    probe = SnapshotSource(name, relation, cutoff, 0, 0, columns)
    rows, distinct, fingerprint = con.execute(
        f"SELECT count(*), count(DISTINCT {quote(CUSTOMER_ID)}), "
        f"coalesce(bit_xor(hash({quote(CUSTOMER_ID)})), 0) FROM {relation} WHERE {probe.where}"
    ).fetchone()
    if not rows:
        raise ValidationError(f"{name}: no customers at cutoff {cutoff}")
    if distinct != rows:
        raise ValidationError(f"{name}: {rows - distinct} duplicate customer_id row(s) at cutoff "
                              f"{cutoff}; expected one row per customer")
    return SnapshotSource(name, relation, cutoff, int(rows), int(fingerprint), columns)


def empty_frame(con: duckdb.DuckDBPyConnection, source: SnapshotSource) -> pd.DataFrame:
    """The source's columns and types with no rows, for schema checks before any write."""
    return con.execute(f"SELECT * FROM {source.relation} LIMIT 0").df()


def read_chunk(con: duckdb.DuckDBPyConnection, source: SnapshotSource, chunk: int,
               n_chunks: int) -> pd.DataFrame:
    """Rows of chunk ``chunk``: the customers with ``hash(customer_id) % n_chunks = chunk``."""
    return con.execute(
        f"SELECT * FROM {source.relation} WHERE {source.where} "
        f"AND hash({quote(CUSTOMER_ID)}) % {int(n_chunks)} = {int(chunk)}"
    ).df()


def ensure_score_tables(con: duckdb.DuckDBPyConnection) -> None:
    """Create ``churn_scores`` and ``churn_score_chunks`` if missing."""
    columns = [f"{quote(c)} {t}" for c, t in SCORE_COLUMNS.items()]
    columns += ["run_key VARCHAR NOT NULL", "chunk BIGINT NOT NULL"]
    con.execute(f"CREATE TABLE IF NOT EXISTS {SCORES_TABLE} ({', '.join(columns)})")
    con.execute(
        f"""CREATE TABLE IF NOT EXISTS {CHUNKS_TABLE} (
            run_key VARCHAR NOT NULL, cutoff DATE, chunk BIGINT NOT NULL,
            n_chunks BIGINT NOT NULL, rows BIGINT NOT NULL, committed_at TIMESTAMP NOT NULL)"""
    )


def _same_cutoff(source: SnapshotSource) -> str:
    return f"{quote(CUTOFF)} IS NOT DISTINCT FROM {literal(_iso(source.cutoff))}::DATE"


def _iso(day: date | None) -> str | None:
    return None if day is None else day.isoformat()


def begin_run(con: duckdb.DuckDBPyConnection, run_key: str, source: SnapshotSource) -> set[int]:
    """Start or resume a run: drop other runs' scores at this cutoff, list committed chunks.

    Returns:
        The chunk numbers this run key has already committed.
    """
    ensure_score_tables(con)
    con.execute("BEGIN TRANSACTION")
    try:
        for table in (SCORES_TABLE, CHUNKS_TABLE):
            con.execute(f"DELETE FROM {table} WHERE {_same_cutoff(source)} AND run_key <> ?",
                        [run_key])
        done = con.execute(f"SELECT chunk FROM {CHUNKS_TABLE} WHERE run_key = ?",
                           [run_key]).fetchall()
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    return {int(r[0]) for r in done}


def write_chunk(con: duckdb.DuckDBPyConnection, run_key: str, chunk: int, n_chunks: int,
                scores: pd.DataFrame) -> None:
    """Insert one chunk's scores and its bookkeeping row in a single transaction.

    Args:
        scores: one row per customer with the columns of ``SCORE_COLUMNS``.
    """
    select = ", ".join(f"CAST({quote(c)} AS {t})" for c, t in SCORE_COLUMNS.items())
    con.register("_chunk_scores", scores)
    con.execute("BEGIN TRANSACTION")
    try:
        con.execute(f"DELETE FROM {SCORES_TABLE} WHERE run_key = ? AND chunk = ?",
                    [run_key, chunk])
        con.execute(f"INSERT INTO {SCORES_TABLE} SELECT {select}, ?, ? FROM _chunk_scores",
                    [run_key, chunk])
        record_chunk(con, run_key, scores, chunk, n_chunks)
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    finally:
        con.unregister("_chunk_scores")


def record_chunk(con: duckdb.DuckDBPyConnection, run_key: str, scores: pd.DataFrame,
                 chunk: int, n_chunks: int) -> None:
    """The bookkeeping row of a chunk; called inside :func:`write_chunk`'s transaction."""
    cutoff = scores[CUTOFF].iloc[0] if len(scores) else None
    con.execute(
        f"INSERT INTO {CHUNKS_TABLE} VALUES (?, CAST(? AS DATE), ?, ?, ?, current_timestamp)",
        [run_key, None if cutoff is None or pd.isna(cutoff) else str(cutoff)[:10], chunk,
         n_chunks, len(scores)])


def apply_capacity(con: duckdb.DuckDBPyConnection, run_key: str, capacity: int,
                   tier_medium: float) -> None:
    """Make the ``capacity`` highest probabilities of the run ``high`` (ties: lower id first),
    the rest ``medium`` or ``low`` by ``tier_medium``, as :func:`assign_tiers` does."""
    con.execute(
        f"""UPDATE {SCORES_TABLE} AS s SET tier = CASE WHEN r.rank <= {int(capacity)} THEN 'high'
                WHEN s.churn_proba >= {float(tier_medium)!r} THEN 'medium' ELSE 'low' END
            FROM (SELECT customer_id, row_number() OVER (
                      ORDER BY churn_proba DESC, customer_id) AS rank
                  FROM {SCORES_TABLE} WHERE run_key = {literal(run_key)}) AS r
            WHERE s.run_key = {literal(run_key)} AND s.customer_id = r.customer_id""")


def summarise_run(con: duckdb.DuckDBPyConnection, run_key: str) -> dict:
    """Rows, distinct customers, tier counts and total revenue at risk of a run."""
    rows, distinct, at_risk = con.execute(
        f"SELECT count(*), count(DISTINCT customer_id), sum({REVENUE_AT_RISK}) "
        f"FROM {SCORES_TABLE} WHERE run_key = ?", [run_key]).fetchone()
    tiers = dict(con.execute(f"SELECT tier, count(*) FROM {SCORES_TABLE} WHERE run_key = ? "
                             "GROUP BY tier", [run_key]).fetchall())
    return {"rows": int(rows), "customers": int(distinct),
            "tiers": {t: int(tiers.get(t, 0)) for t in TIERS},
            "revenue_at_risk": float(at_risk or 0.0)}


def export_scores(con: duckdb.DuckDBPyConnection, run_key: str, paths: Sequence[Path]
                  ) -> list[str]:
    """Write a run's scores (without the bookkeeping columns) to each Parquet or CSV path."""
    columns = ", ".join(quote(c) for c in SCORE_COLUMNS)
    con.execute(f"CREATE OR REPLACE TEMP VIEW {EXPORT_VIEW} AS SELECT {columns} "
                f"FROM {SCORES_TABLE} WHERE run_key = {literal(run_key)}")
    try:
        return [str(export_table(con, EXPORT_VIEW, Path(p), order_by="churn_proba DESC, "
                                 "customer_id")) for p in paths]
    finally:
        con.execute(f"DROP VIEW IF EXISTS {EXPORT_VIEW}")
