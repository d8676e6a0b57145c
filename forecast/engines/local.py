"""Batch churn scoring on one machine: chunked, bounded memory, resumable and idempotent.

:func:`score_churn` scores every customer of one cutoff of a snapshot source. The customers are
split into ``ceil(rows / chunk_rows)`` chunks by ``hash(customer_id)``; each chunk is read, scored
(``churn_proba``, threshold tier, ``act``, reasons, ``revenue_at_risk``) and committed together
with its bookkeeping row (see :mod:`forecast.io.scores`). The run key is derived from the model,
the source, its cutoff and customers, the scoring settings and the DuckDB version (which fixes the
hash), so running the same job again skips every committed chunk and redoes any that a killed
process left uncommitted, and a run with another model replaces the scores at that cutoff.

A ``capacity`` tier (the N highest probabilities over all customers are ``high``) is global, so it
is applied after the last chunk, in SQL over the whole run.
"""

from __future__ import annotations

import hashlib
import json
import math
import pickle
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Literal

import duckdb
import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits

from forecast.config import ChurnConfig
from forecast.errors import ValidationError
from forecast.io import scores
from forecast.models.churn import ChurnModel, assign_tiers
from forecast.models.reasons import explain_churn
from forecast.schemas import CHURN_PROBA, CUSTOMER_ID, CUTOFF, TIER

ReasonMode = Literal["all", "at_risk", "none"]
Progress = Callable[[int, int], None]
DEFAULT_REVENUE_COLUMN = "revenue_365d"


@dataclass(frozen=True)
class ScoringOptions:
    """Settings of a batch scoring run.

    Attributes:
        cutoff: the snapshot cutoff to score; default the latest in the source.
        chunk_rows: customers per chunk, on average; bounds memory.
        reasons: ``all`` customers get reasons, only those ``at_risk`` (``churn_proba >=
            tier_medium``; the others get none, which saves most of the cost), or ``none``.
        revenue_column: trailing-12-month revenue; ``revenue_at_risk = churn_proba x
            max(revenue, 0)``. None leaves ``revenue_at_risk`` empty.
        model_key: identity of the model in the run key (e.g. its MLflow URI); default a hash of
            the pickled model.
        exports: Parquet or CSV files the run's scores are written to at the end.
        model_threads: BLAS/OpenMP threads for the model. One by default: a boosted model
            synchronises its threads once per tree, which on a busy or small machine costs more
            than it saves (measured 10x slower with 2 threads on a loaded 2-core machine), and
            DuckDB keeps reading and writing on the other cores. None leaves the default.
    """

    cutoff: date | None = None
    chunk_rows: int = 200_000
    reasons: ReasonMode = "at_risk"
    revenue_column: str | None = DEFAULT_REVENUE_COLUMN
    model_key: str | None = None
    exports: tuple[Path, ...] = ()
    model_threads: int | None = 1


def score_churn(con: duckdb.DuckDBPyConnection, model: ChurnModel, source: str | Path,
                config: ChurnConfig, *, options: ScoringOptions | None = None,
                progress: Progress | None = None) -> dict:
    """Score every customer of one cutoff of a snapshot source into ``churn_scores``.

    Args:
        con: a writable warehouse connection.
        model: a fitted churn model.
        source: a warehouse table (e.g. ``customer_snapshots``) or a Parquet file with
            ``customer_id``, ``cutoff`` and the model's features.
        config: tier thresholds and capacity.
        options: cutoff, chunk size, reasons, revenue column, model key, exports.
        progress: called as ``progress(chunks_done, n_chunks)`` after each chunk.

    Returns:
        ``run_key, source, cutoff, rows, chunks, skipped_chunks, scored_rows, seconds,
        customers_per_second, tiers, revenue_at_risk, exports``.

    Raises:
        ValidationError: the model's features differ from the source's (nothing is written).
        WorkspaceError: the source does not exist.
    """
    started = time.perf_counter()
    options = options or ScoringOptions()
    if options.chunk_rows < 1:
        raise ValidationError(f"chunk_rows must be at least 1, got {options.chunk_rows}")
    snapshot = scores.open_snapshot_source(con, source, options.cutoff)
    check_scoring_schema(model, scores.empty_frame(con, snapshot), snapshot.name, options)
    n_chunks = max(1, math.ceil(snapshot.rows / options.chunk_rows))
    key = run_key(model, snapshot, config, options, n_chunks)
    done = scores.begin_run(con, key, snapshot)
    scored = 0
    with threadpool_limits(options.model_threads):
        for chunk in range(n_chunks):
            if chunk not in done:
                frame = scores.read_chunk(con, snapshot, chunk, n_chunks)
                scores.write_chunk(con, key, chunk, n_chunks,
                                   score_chunk(model, frame, config, options))
                scored += len(frame)
            if progress is not None:
                progress(chunk + 1, n_chunks)
    summary = _finish_run(con, key, snapshot, config, options)
    seconds = time.perf_counter() - started
    return {
        "run_key": key, "source": snapshot.name, "cutoff": _iso(snapshot.cutoff),
        "rows": snapshot.rows, "chunks": n_chunks, "skipped_chunks": len(done),
        "scored_rows": scored, "seconds": round(seconds, 3),
        "customers_per_second": round(scored / seconds, 1) if scored else None,
        **summary,
    }


def _finish_run(con: duckdb.DuckDBPyConnection, key: str, snapshot: scores.SnapshotSource,
                config: ChurnConfig, options: ScoringOptions) -> dict:
    """Capacity tiers over the whole run, a count check, the exports; tiers and totals."""
    if config.capacity is not None:
        scores.apply_capacity(con, key, config.capacity, config.tier_medium)
    summary = scores.summarise_run(con, key)
    if summary["rows"] != snapshot.rows or summary["customers"] != snapshot.rows:
        raise ValidationError(f"{snapshot.name}: scored {summary['rows']} rows for "
                              f"{summary['customers']} customers, expected {snapshot.rows}")
    exports = scores.export_scores(con, key, options.exports) if options.exports else []
    return {"tiers": summary["tiers"], "revenue_at_risk": round(summary["revenue_at_risk"], 2),
            "exports": exports}


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
            options: ScoringOptions, n_chunks: int) -> str:
    """A digest of everything that decides a run's scores and its chunks."""
    parts = {
        "model": options.model_key or model_identity(model), "source": snapshot.name,
        "cutoff": _iso(snapshot.cutoff),
        "rows": snapshot.rows, "customers": snapshot.fingerprint, "n_chunks": n_chunks,
        "reasons": options.reasons, "revenue": options.revenue_column,
        "tiers": [config.tier_high, config.tier_medium], "duckdb": duckdb.__version__,
    }
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()[:32]


def model_identity(model: ChurnModel) -> str:
    """A digest of a fitted model that is the same in every process that loads it.

    The config is hashed as JSON: a pickled pydantic model carries the set of fields that were
    set, whose order changes with the process's string hash seed.
    """
    digest = hashlib.sha256()
    config = getattr(model, "config", None)
    digest.update(config.model_dump_json().encode() if config is not None else b"default")
    state = {k: v for k, v in vars(model).items() if k != "config"}
    digest.update(pickle.dumps(state, protocol=5))
    return digest.hexdigest()


def score_chunk(model: ChurnModel, frame: pd.DataFrame, config: ChurnConfig,
                options: ScoringOptions) -> pd.DataFrame:
    """Scores of one chunk of customers.

    Returns:
        The columns of :data:`forecast.io.scores.SCORE_COLUMNS`: ``customer_id, cutoff,
        churn_proba, tier`` (by ``tier_high``/``tier_medium``; capacity comes later),
        ``act`` (``churn_proba >= threshold_``), ``reason_1..3``, ``revenue_at_risk``.
    """
    frame = frame.reset_index(drop=True)
    proba = model.predict_proba(frame)[:, 1]
    out = pd.DataFrame({CUSTOMER_ID: frame[CUSTOMER_ID].astype(object).to_numpy()})
    out[CUTOFF] = frame[CUTOFF].to_numpy() if CUTOFF in frame.columns else None
    out[CHURN_PROBA] = proba
    out[TIER] = assign_tiers(proba, config.model_copy(update={"capacity": None}))
    out["act"] = proba >= model.threshold_
    reasons = explain_some(model, frame, _reason_rows(proba, config, options.reasons))
    for column in scores.REASON_COLUMNS:
        out[column] = reasons[column]
    if options.revenue_column is None:
        out[scores.REVENUE_AT_RISK] = np.nan
    else:
        revenue = pd.to_numeric(frame[options.revenue_column]).astype(float).to_numpy()
        out[scores.REVENUE_AT_RISK] = proba * np.clip(revenue, 0, None)
    return out


def _reason_rows(proba: np.ndarray, config: ChurnConfig, mode: ReasonMode) -> np.ndarray:
    if mode == "all":
        return np.arange(len(proba))
    if mode == "at_risk":
        return np.flatnonzero(proba >= config.tier_medium)
    return np.array([], dtype=int)


def explain_some(model: ChurnModel, frame: pd.DataFrame, rows: np.ndarray) -> dict:
    """``reason_1..3`` for every row of ``frame``: from :func:`explain_churn` for ``rows``,
    None for the others."""
    out = {c: np.full(len(frame), None, dtype=object) for c in scores.REASON_COLUMNS}
    if len(rows):
        explained = explain_churn(model, frame.iloc[rows], n_reasons=scores.N_REASONS)
        for column in scores.REASON_COLUMNS:
            out[column][rows] = explained[column].to_numpy(dtype=object)
    return out


def _iso(day: date | None) -> str | None:
    return None if day is None else day.isoformat()
