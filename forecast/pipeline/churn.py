"""Orchestration of churn training and scoring."""

from __future__ import annotations

import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from forecast import tracking
from forecast.config import Config
from forecast.engines import open_engine
from forecast.engines.local import ScoringOptions
from forecast.engines.local import score_churn as run_scoring
from forecast.errors import ConfigError, DataError
from forecast.evaluation.classification import (
    classification_metrics,
    gains_chart,
    no_skill_note,
    ranking_skill,
    reliability_curve,
)
from forecast.factory import churn_model, churn_training_set
from forecast.features.customers import build_snapshot_sql
from forecast.io import catalog, churn_skill, warehouse
from forecast.io.catalog import CHURN_MODEL, CHURN_SCORES, CUSTOMER_SNAPSHOTS, CUSTOMERS
from forecast.models.churn_data import label_counts
from forecast.pipeline.data import FROM_DATA, configured_cutoffs
from forecast.pipeline.results import Result
from forecast.progress import ProgressCallback, Steps
from forecast.reports.charts import render_gains_png, render_reliability_png
from forecast.schemas import CHURN_PROBA, LABEL


@dataclass(frozen=True)
class ChurnTrainResult(Result):
    """The churn model trained and registered.

    Attributes:
        model_uri, run_id, tracking_uri: where MLflow keeps the model and its run.
        chosen: the winning candidate; threshold: its cost-based decision threshold.
        rows: training rows; labels: rows per label value.
        validation: how the model was validated (out-of-time or across customers).
        metrics: held-out metrics (ROC-AUC, PR-AUC, Brier, log-loss, ECE, ...).
        candidates: one row of validation scores per candidate.
        seconds: wall time.
        notes: what a reader of the scores should know (a model without skill).
    """

    model_uri: str
    run_id: str
    tracking_uri: str
    chosen: str
    threshold: float
    rows: int
    labels: Mapping[str, int]
    validation: str
    metrics: Mapping[str, float]
    candidates: Sequence[Mapping[str, Any]]
    seconds: float
    notes: Sequence[str] = ()


@dataclass(frozen=True)
class ChurnScoreResult(Result):
    """The customers of one cutoff scored: the scoring engine's summary (see
    :func:`forecast.engines.local.score_churn`) with the model and the table written."""

    model_uri: str
    table: str
    run_key: str
    source: str
    cutoff: str | None
    rows: int
    active_within_days: int | None
    excluded_inactive: int
    chunks: int
    skipped_chunks: int
    scored_rows: int
    seconds: float
    customers_per_second: float | None
    workers: int
    tiers: Mapping[str, int]
    revenue_at_risk: float
    unseen_categories: Mapping[str, int]
    exports: Sequence[str]
    notes: Sequence[str] = ()


def _churn_training_frame(config: Config) -> pd.DataFrame:
    churn = config.churn
    with warehouse.connect(config.workspace, read_only=True) as con:
        if churn.label_column:
            frame = catalog.input_frame(con, CUSTOMERS)
            if churn.label_column not in frame.columns:
                raise ConfigError(
                    f"churn.label_column {churn.label_column!r} is not a column of the "
                    f"customers table; columns: {', '.join(frame.columns)}")
            # Canonical columns the source did not provide are empty, not features.
            return frame.dropna(axis=1, how="all")
        cutoffs, origin = (list(churn.cutoffs), "churn.cutoffs") if churn.cutoffs else (
            configured_cutoffs(con, config)[:2])
        if len(cutoffs) < 2 and origin == FROM_DATA:
            horizon = config.features.customers.horizon_days
            raise DataError(
                f"the orders span too little time for churn training on snapshots: no cutoff "
                f"before the scoring one ({cutoffs[-1]}) has {horizon} days of history before "
                f"it and a complete {horizon}-day churn label after it")
        if len(cutoffs) < 2:
            raise ConfigError(
                "churn training on snapshots needs at least two cutoffs (churn.cutoffs or "
                "features.customers.cutoffs): earlier ones to train, later ones to validate")
        return con.execute(*build_snapshot_sql(con, config.features.customers, cutoffs)).df()


def train_churn(config: Config, progress: ProgressCallback | None = None) -> ChurnTrainResult:
    """Train, calibrate and evaluate the churn model; log it to MLflow as ``churn-risk``.

    ``progress`` is called as ``(done, total, what)`` as each phase starts: reading the
    training rows (labelled customers or snapshots), the candidates' fits, the MLflow logging.
    """
    started = time.perf_counter()
    steps = Steps(3, progress)
    steps.start("reading the training rows")
    frame = _churn_training_frame(config)
    X, y = churn_training_set(frame, config.churn)
    steps.start(f"fitting and calibrating the candidates on {len(X):,} rows")
    model = churn_model(config.churn).fit(X, y)
    held_out = model.validation_predictions_
    y_held, p_held = held_out[LABEL].to_numpy(), held_out[CHURN_PROBA].to_numpy()
    metrics = classification_metrics(y_held, p_held)
    if model.baseline_auc_ is not None:  # validated across customers, not out-of-time
        metrics["baseline_auc"] = model.baseline_auc_
    # The options the config leaves to the model (None) are logged with the model's values.
    params = {**config.churn.model_dump(mode="json"), **model.get_params(), "rows": len(X),
              "chosen": model.chosen_}
    steps.start("logging the model to MLflow")
    with tracking.start_run(config.workspace, CHURN_MODEL.name, "train churn", params) as run:
        tracking.log_metrics(metrics)
        tracking.log_metrics({"threshold": model.threshold_})
        tracking.log_frame(model.validation_, "candidates.csv")
        with tempfile.TemporaryDirectory() as tmp:
            charts = [
                render_reliability_png(reliability_curve(y_held, p_held),
                                       Path(tmp) / "reliability.png"),
                render_gains_png(gains_chart(y_held, p_held), Path(tmp) / "gains.png"),
            ]
            tracking.log_files([Path(c) for c in charts], "charts")
        uri = tracking.log_model(model, X.head(50), CHURN_MODEL.name)
        run_id = run.info.run_id
    steps.finish()
    return ChurnTrainResult(
        model_uri=uri,
        run_id=run_id,
        tracking_uri=tracking.tracking_uri(config.workspace),
        chosen=model.chosen_,
        threshold=round(float(model.threshold_), 4),
        rows=len(X),
        labels=label_counts(frame, config.churn.label_column),
        validation=model.validation_scheme_,
        metrics={k: round(float(v), 4) for k, v in metrics.items()},
        candidates=model.validation_.drop(columns=["params"]).round(4).to_dict("records"),
        seconds=round(time.perf_counter() - started, 3),
        notes=_notes(_skill(model)),
    )


def _skill(model) -> dict[str, float] | None:
    """How well a model's held-out predictions rank churners (``ranking_skill``), or None
    without them."""
    held_out = getattr(model, "validation_predictions_", None)
    if held_out is None or held_out.empty:
        return None
    return ranking_skill(held_out[LABEL].to_numpy(), held_out[CHURN_PROBA].to_numpy())


def _notes(skill: dict[str, float] | None) -> tuple[str, ...]:
    """The note of a model that ranks churners no better than chance."""
    note = no_skill_note(skill)
    return (note,) if note else ()


def score_churn(config: Config, model_uri: str | None = None,
                progress: ProgressCallback | None = None, force: bool = False
                ) -> ChurnScoreResult:
    """Score the customers of the latest snapshot cutoff with a registered churn model.

    Only customers with a purchase in the ``churn.active_within_days`` days before the cutoff
    are scored (all when it is null); the summary counts the others as ``excluded_inactive``.
    The chunks are scored on the config's ``engine`` (this machine, or Spark) and committed
    to the warehouse here, so resuming and rerunning behave the same on either.

    Args:
        config: the job config (workspace, churn tiers).
        model_uri: an MLflow model URI; default the latest ``churn-risk`` version.
        progress: called as (chunks done, chunks).
        force: score every chunk again instead of resuming the run's committed chunks.
    """
    uri = model_uri or f"models:/{CHURN_MODEL}/latest"
    model = tracking.load_model(uri, config.workspace)
    exports = tuple(catalog.export_path(config.workspace, CHURN_SCORES, suffix)
                    for suffix in (".parquet", ".csv"))
    options = ScoringOptions(model_key=uri, exports=exports, force=force)
    with open_engine(config.engine, config.workspace) as engine, \
            warehouse.connect(config.workspace) as con:
        result = run_scoring(con, model, CUSTOMER_SNAPSHOTS.name, config.churn, options=options,
                             progress=progress, engine=engine)
        skill = _skill(model)  # what the reports say of the tiers these scores make
        churn_skill.record_skill(con, result["run_key"], skill)
    return ChurnScoreResult(model_uri=uri, table=CHURN_SCORES.name, **result,
                            notes=_notes(skill))
