"""Batch churn scoring: chunked, bounded memory, resumable and idempotent, on any engine.

:func:`score_churn` scores every customer of one cutoff of a snapshot source (by default only
the customers active within ``ChurnConfig.active_within_days``). The scored rows are split into
``ceil(rows / chunk_rows)`` chunks of consecutive rows (see :mod:`forecast.io.scores`); each
chunk is read as Arrow, scored (``churn_proba``, threshold tier, ``act``, reasons,
``revenue_at_risk``) and committed together with its bookkeeping row. The run key is derived
from the model (its fitted state, not only its URI), the source, its cutoff, a digest of every
value scored (:func:`forecast.io.scores.content_digest`), the scoring settings and the DuckDB
version, so running the same job again skips every committed chunk and redoes any that a killed
process left uncommitted, while a rebuilt snapshot, a retrained model or other settings replace
the scores at that cutoff. ``force`` scores every chunk again; committed chunks whose scores
were lost are scored again on their own.

Throughput comes from three things: the model is compiled to array code
(:mod:`forecast.engines.compiled`; no pandas per chunk), reasons are ranked with the model's
additive attribution and worded with numpy string operations, and ``workers`` threads score
chunks while the calling thread reads the next chunk and writes the finished ones in chunk
order (NumPy, the tree evaluator and DuckDB release the GIL for their heavy work). At most
``workers + 1`` chunks are in memory at once.

That is the local engine (:class:`forecast.engine.LocalEngine`). Given another engine (such as
:class:`forecast.engines.spark.SparkEngine`), the pending chunks are scored there with the same
:meth:`~forecast.engines.chunk_scoring.ChunkScorer.score_arrow` and come back chunk by chunk, in
order, to be committed here exactly as above; the run key does not depend on the engine, so a
run started on one engine resumes on the other.

A ``capacity`` tier (the N highest probabilities over all customers are ``high``) is global, so it
is applied after the last chunk, in SQL over the whole run.
"""

from __future__ import annotations

import hashlib
import json
import math
import time
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Literal

import duckdb
import pandas as pd
from threadpoolctl import threadpool_limits

from forecast.config import ChurnConfig
from forecast.engine import Engine, LocalEngine, available_cores  # noqa: F401 (API)
from forecast.engines.chunk_scoring import ChunkScorer
from forecast.engines.chunks import SnapshotChunks
from forecast.errors import ValidationError
from forecast.io import scores
from forecast.models.churn import ChurnModel
from forecast.progress import ProgressCallback

ReasonMode = Literal["all", "at_risk", "none"]
DEFAULT_REVENUE_COLUMN = "revenue_365d"
# Changes whenever chunks are cut differently, so an older run is never resumed by this code.
CHUNKING = "position-ranges-v2"


@dataclass(frozen=True)
class ScoringOptions:
    """Settings of a batch scoring run.

    Attributes:
        cutoff: the snapshot cutoff to score; default the latest in the source.
        chunk_rows: customers per chunk, on average; bounds memory.
        reasons: ``all`` customers get reasons, only those ``at_risk`` (``churn_proba >=
            tier_medium``; the others get none), or ``none``.
        revenue_column: trailing-12-month revenue; ``revenue_at_risk = churn_proba x
            max(revenue, 0)``. None leaves ``revenue_at_risk`` empty.
        model_key: a name of the model (e.g. its MLflow URI) added to the run key; the digest
            of the fitted model is always part of it, so a URI such as ``.../latest`` that
            names another model after a retraining is another run.
        exports: Parquet or CSV files the run's scores are written to at the end.
        workers: threads scoring chunks; default every core this process may use.
        model_threads: BLAS/OpenMP threads inside each worker. One by default: the workers
            already use the cores, and nested threads only contend.
        force: score every chunk again, even those this run key has committed.
    """

    cutoff: date | None = None
    chunk_rows: int = 200_000
    reasons: ReasonMode = "at_risk"
    revenue_column: str | None = DEFAULT_REVENUE_COLUMN
    model_key: str | None = None
    exports: tuple[Path, ...] = ()
    workers: int | None = None
    model_threads: int | None = 1
    force: bool = False


def score_churn(con: duckdb.DuckDBPyConnection, model: ChurnModel, source: str | Path,
                config: ChurnConfig, *, options: ScoringOptions | None = None,
                progress: ProgressCallback | None = None, engine: Engine | None = None) -> dict:
    """Score the customers of one cutoff of a snapshot source into ``churn_scores``.

    Args:
        con: a writable warehouse connection.
        model: a fitted churn model.
        source: a warehouse table (e.g. ``customer_snapshots``) or a Parquet file with
            ``customer_id``, ``cutoff`` and the model's features.
        config: tier thresholds, capacity and ``active_within_days``.
        options: cutoff, chunk size, reasons, revenue column, model key, exports, workers.
        progress: called as ``progress(chunks_done, n_chunks)`` after each chunk, in order.
        engine: where the chunks are scored; default this machine with ``options.workers``
            threads. Whatever the engine, chunks are committed here, in order.

    Returns:
        ``run_key, source, cutoff, rows, active_within_days, excluded_inactive, chunks,
        skipped_chunks, scored_rows, seconds, customers_per_second, workers, tiers,
        revenue_at_risk, unseen_categories, exports``; ``unseen_categories`` maps each
        categorical feature with values the model never saw in training to its rows.

    Raises:
        ValidationError: the model's features differ from the source's (nothing is written).
        WorkspaceError: the source does not exist.
    """
    started = time.perf_counter()
    options = options or ScoringOptions()
    if options.chunk_rows < 1:
        raise ValidationError(f"chunk_rows must be at least 1, got {options.chunk_rows}")
    snapshot = scores.open_snapshot_source(con, source, options.cutoff,
                                           config.active_within_days)
    check_scoring_schema(model, scores.empty_frame(con, snapshot), snapshot.name, options)
    n_chunks = max(1, math.ceil(snapshot.rows / options.chunk_rows))
    scorer = ChunkScorer(model, config, options.reasons, options.revenue_column)
    content = scores.content_digest(con, snapshot, scorer.select_sql(snapshot.columns))
    key = run_key(model, snapshot, config, options, (n_chunks, content))
    done = scores.begin_run(con, key, snapshot)
    if done and (options.force or scores.changed_chunks(con, snapshot, n_chunks, done)):
        scores.reset_run(con, key)
        done = {}
    engine = engine or LocalEngine(threads=options.workers)
    pending = [chunk for chunk in range(n_chunks) if chunk not in done]
    chunks = SnapshotChunks(con, snapshot, scorer.select_sql(snapshot.columns), n_chunks, pending)
    with threadpool_limits(options.model_threads):
        scored = _score_chunks(chunks, scorer, (key, set(done)), engine, progress)
    summary = _finish_run(con, key, snapshot, config, options)
    seconds = time.perf_counter() - started
    return {
        "run_key": key, "source": snapshot.name, "cutoff": _iso(snapshot.cutoff),
        "rows": snapshot.rows, "active_within_days": snapshot.active_within_days,
        "excluded_inactive": snapshot.excluded, "chunks": n_chunks,
        "skipped_chunks": len(done), "scored_rows": scored, "seconds": round(seconds, 3),
        "customers_per_second": round(scored / seconds, 1) if scored else None,
        "workers": engine.workers, **summary,
    }


def _score_chunks(chunks: SnapshotChunks, scorer: ChunkScorer, run: tuple[str, set[int]],
                  engine: Engine, progress: ProgressCallback | None) -> int:
    """Score the pending chunks on the engine and commit each, with its bookkeeping row, in
    chunk order (:func:`forecast.io.scores.write_chunk`)."""
    key, done = run
    n_chunks = chunks.n_chunks
    results = engine.map_arrow(chunks, scorer.score_arrow, scorer.schema)
    scored = 0
    try:
        for chunk in range(n_chunks):
            if chunk not in done:
                part, table = next(results)
                if part != chunk:
                    raise RuntimeError(f"{engine.name} engine gave chunk {part}, not {chunk}")
                result = scorer.split(table)
                scores.write_chunk(chunks.con, key, chunk, n_chunks, result.scores,
                                   result.unseen)
                scored += result.scores.num_rows
            if progress is not None:
                progress(chunk + 1, n_chunks)
    finally:
        results.close()
    return scored


def _finish_run(con: duckdb.DuckDBPyConnection, key: str, snapshot: scores.SnapshotSource,
                config: ChurnConfig, options: ScoringOptions) -> dict:
    """Capacity tiers over the whole run, a count check, the exports; tiers and totals."""
    if config.capacity is not None:
        scores.apply_capacity(con, key, config.capacity, config.tier_medium)
    summary = scores.summarise_run(con, key)
    if summary["rows"] != snapshot.rows:
        raise ValidationError(f"{snapshot.name}: scored {summary['rows']} rows, expected "
                              f"{snapshot.rows}")
    exports = scores.export_scores(con, key, options.exports) if options.exports else []
    return {"tiers": summary["tiers"], "revenue_at_risk": round(summary["revenue_at_risk"], 2),
            "unseen_categories": scores.unseen_counts(con, key), "exports": exports}


def check_scoring_schema(model: ChurnModel, empty: pd.DataFrame, name: str,
                         options: ScoringOptions) -> None:
    """Refuse a source the model cannot score, before anything is written.

    Raises:
        ValidationError: missing or unexpected feature columns (from the model's own check), a
            numeric feature stored as text, or no revenue column.
    """
    try:
        model.check_schema(empty)
    except ValidationError as exc:
        raise ValidationError(f"{name}: {exc}") from None
    text = [c for c in model.numeric_features_ if not (
        pd.api.types.is_numeric_dtype(empty[c]) or pd.api.types.is_bool_dtype(empty[c]))]
    if text:
        raise ValidationError(f"{name}: feature column(s) {text} are not numeric, but the churn "
                              "model was trained on numbers there")
    revenue = options.revenue_column
    if revenue is not None and revenue not in empty.columns:
        raise ValidationError(f"{name}: no revenue column {revenue!r} for revenue_at_risk; "
                              "build snapshots with a 365-day window or set revenue_column")


def run_key(model: ChurnModel, snapshot: scores.SnapshotSource, config: ChurnConfig,
            options: ScoringOptions, chunks: tuple[int, int]) -> str:
    """A digest of everything that decides a run's scores and its chunks.

    Args:
        chunks: ``(n_chunks, content digest of the scored rows)``.
    """
    n_chunks, content = chunks
    parts = {
        "model": model_identity(model), "model_key": options.model_key, "source": snapshot.name,
        "cutoff": _iso(snapshot.cutoff), "rows": snapshot.rows,
        "customers": snapshot.fingerprint, "content": content, "n_chunks": n_chunks,
        "chunking": CHUNKING, "active_within_days": snapshot.active_within_days,
        "reasons": options.reasons, "revenue": options.revenue_column,
        "tiers": [config.tier_high, config.tier_medium], "capacity": config.capacity,
        "duckdb": duckdb.__version__,
    }
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()[:32]


def model_identity(model: ChurnModel) -> str:
    """A digest of a fitted model (its parameters and fitted state) that is the same in every
    process that loads it.

    ``joblib.hash`` pickles by value: a plain pickle also records which equal strings are one
    object, which depends on what the process interned before, so the same model loaded by two
    processes (a local run, then a Spark run resuming it) could get two digests.
    """
    from joblib import hash as value_hash

    return value_hash(vars(model), hash_name="sha1")


def _iso(day: date | None) -> str | None:
    return None if day is None else day.isoformat()
