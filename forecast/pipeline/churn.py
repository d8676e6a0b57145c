"""Orchestration of churn training and scoring."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from forecast.config import Config


def _churn_training_frame(config: Config):
    from forecast.errors import ConfigError
    from forecast.io import warehouse

    churn = config.churn
    with warehouse.connect(config.workspace, read_only=True) as con:
        if churn.label_column:
            frame = con.execute(
                "SELECT * EXCLUDE (source, source_row) FROM customers").df()
            if churn.label_column not in frame.columns:
                raise ConfigError(
                    f"churn.label_column {churn.label_column!r} is not a column of the "
                    f"customers table; columns: {', '.join(frame.columns)}")
            # Canonical columns the source did not provide are empty, not features.
            return frame.dropna(axis=1, how="all")
        from forecast.features.customers import build_snapshot_sql

        cutoffs = churn.cutoffs or config.features.customers.cutoffs
        if len(cutoffs) < 2:
            raise ConfigError(
                "churn training on snapshots needs at least two cutoffs (churn.cutoffs or "
                "features.customers.cutoffs): earlier ones to train, later ones to validate")
        return con.execute(build_snapshot_sql(con, config.features.customers, cutoffs)).df()


def train_churn(config: Config) -> dict:
    """Train, calibrate and evaluate the churn model; log it to MLflow as ``churn-risk``."""
    import tempfile

    from forecast import tracking
    from forecast.evaluation.classification import (
        classification_metrics,
        gains_chart,
        reliability_curve,
    )
    from forecast.models.churn import ChurnModel, build_training_set
    from forecast.reports.charts import render_gains_png, render_reliability_png
    from forecast.schemas import CHURN_PROBA, LABEL

    started = time.perf_counter()
    frame = _churn_training_frame(config)
    X, y = build_training_set(frame, config.churn)
    model = ChurnModel(config.churn).fit(X, y)
    held_out = model.validation_predictions_
    y_held, p_held = held_out[LABEL].to_numpy(), held_out[CHURN_PROBA].to_numpy()
    metrics = classification_metrics(y_held, p_held)
    params = {**config.churn.model_dump(mode="json"), "rows": len(X), "chosen": model.chosen_}
    with tracking.start_run(config.workspace, "churn-risk", "train churn", params) as run:
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
        uri = tracking.log_model(model, X.head(50), "churn-risk")
        run_id = run.info.run_id
    return {
        "model_uri": uri,
        "run_id": run_id,
        "tracking_uri": tracking.tracking_uri(config.workspace),
        "chosen": model.chosen_,
        "threshold": round(float(model.threshold_), 4),
        "rows": len(X),
        "metrics": {k: round(float(v), 4) for k, v in metrics.items()},
        "candidates": model.validation_.drop(columns=["params"]).round(4).to_dict("records"),
        "seconds": round(time.perf_counter() - started, 3),
    }


def score_churn(config: Config, model_uri: str | None = None,
                progress: Callable[[int, int], None] | None = None, force: bool = False
                ) -> dict:
    """Score the customers of the latest snapshot cutoff with a registered churn model.

    Only customers with a purchase in the ``churn.active_within_days`` days before the cutoff
    are scored (all when it is null); the summary counts the others as ``excluded_inactive``.

    Args:
        config: the job config (workspace, churn tiers).
        model_uri: an MLflow model URI; default the latest ``churn-risk`` version.
        progress: called as (chunks done, chunks).
        force: score every chunk again instead of resuming the run's committed chunks.
    """
    from forecast import tracking
    from forecast.engines.local import ScoringOptions
    from forecast.engines.local import score_churn as run
    from forecast.io import warehouse

    uri = model_uri or "models:/churn-risk/latest"
    model = tracking.load_model(uri, config.workspace)
    exports = (config.workspace / "outputs" / "churn_scores.parquet",
               config.workspace / "outputs" / "churn_scores.csv")
    options = ScoringOptions(model_key=uri, exports=exports, force=force)
    with warehouse.connect(config.workspace) as con:
        result = run(con, model, "customer_snapshots", config.churn, options=options,
                     progress=progress)
    return {"model_uri": uri, "table": "churn_scores", **result}
