"""The chunks of a scoring run as an :class:`forecast.engine.ArrowSource`.

A chunk is read from the warehouse as Arrow on the calling thread (the local engine), or every
pending chunk is exported at once as Parquet, partitioned by chunk, with ``DuckDB COPY`` and the
scorer's explicit casts (an engine that runs elsewhere, such as Spark). Both read the same rows:
chunk ``k`` is the k-th range of row positions (:mod:`forecast.io.scores`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pyarrow as pa

from forecast.config.engine import is_uri
from forecast.io import scores
from forecast.io.sql import path_literal, quote


@dataclass(frozen=True)
class SnapshotChunks:
    """The pending chunks of a scoring run over one snapshot source.

    Attributes:
        con: the warehouse connection (used on the calling thread only).
        snapshot: the source at its cutoff.
        select: the SELECT list the scorer reads (:meth:`ChunkScorer.select_sql`).
        n_chunks: chunks of the run.
        parts: the chunks to score, in order.
    """

    con: duckdb.DuckDBPyConnection
    snapshot: scores.SnapshotSource
    select: str
    n_chunks: int
    parts: Sequence[int]

    def read(self, part: int) -> pa.Table:
        """Chunk ``part`` as Arrow."""
        return scores.read_chunk(self.con, self.snapshot, part, self.n_chunks, self.select)

    def export(self, folder: str, part: str, row: str) -> str:
        """Every pending chunk as Parquet under ``folder`` (``part=<chunk>/`` folders), its row
        position in ``row``; returns ``folder``."""
        if not is_uri(folder):
            Path(folder).mkdir(parents=True, exist_ok=True)
        source = self.snapshot
        chunk = source.chunk_of(self.n_chunks)
        wanted = ", ".join(str(int(part)) for part in self.parts)
        target, params = copy_target(folder)
        sql, values = source.query(
            f"COPY (SELECT {self.select}, {chunk} AS {quote(part)}, "
            f"CAST({source.position} AS BIGINT) AS {quote(row)} FROM {source.relation} "
            f"WHERE {source.where} AND {chunk} IN ({wanted})) TO {target} "
            f"(FORMAT parquet, PARTITION_BY ({quote(part)}), OVERWRITE_OR_IGNORE true)")
        self.con.execute(sql, {**values, **params})
        return folder


def copy_target(path: str) -> tuple[str, dict[str, str]]:
    """The target of a ``COPY ... TO`` and its parameters: a local path as a literal (every
    DuckDB takes it), a URI (``s3://...``, whose ``//`` a path would fold) as the parameter
    ``$exchange_path`` (DuckDB 1.4 and later)."""
    if is_uri(path):
        return "$exchange_path", {"exchange_path": path}
    return path_literal(path), {}
