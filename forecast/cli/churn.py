"""Commands that train and score the churn model."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from forecast.cli.common import (
    Progress,
    config_option,
    emit,
    engine_option,
    json_option,
    load_config_for,
    workspace_option,
)
from forecast.cli.groups import score, train

if TYPE_CHECKING:
    from forecast.pipeline.churn import ChurnScoreResult, ChurnTrainResult


def _train_churn_text(r: ChurnTrainResult) -> str:
    m = r.metrics
    return "\n".join([
        f"trained churn model ({r.chosen}) on {r.rows:,} rows in {r.seconds:.1f} s",
        (f"  held-out ROC-AUC {m['roc_auc']:.4f}  PR-AUC {m['pr_auc']:.4f}  Brier {m['brier']:.4f}"
        f"  log-loss {m['log_loss']:.4f}  ECE {m['ece']:.4f}"),
        f"  threshold {r.threshold}",
        f"  model: {r.model_uri}  (tracking: {r.tracking_uri})",
        *[f"  note: {note}" for note in r.notes],
    ])


@train.command("churn")
@config_option
@workspace_option
@json_option
def train_churn(config_path: Path, workspace: Path | None, as_json: bool) -> None:
    """Train, calibrate and evaluate the churn model; register it in MLflow as churn-risk."""
    from forecast.pipeline import train_churn as run

    with Progress("train churn") as progress:
        result = run(load_config_for(config_path, workspace), progress)
    emit(result, as_json, _train_churn_text)


def _score_churn_text(r: ChurnScoreResult) -> str:
    tiers = ", ".join(f"{k} {v:,}" for k, v in r.tiers.items())
    excluded = [] if r.active_within_days is None else [
        (f"  not scored: {r.excluded_inactive:,} customers without a purchase in the "
        f"{r.active_within_days} days before the cutoff (churn.active_within_days)")]
    unseen = ", ".join(f"{c} {n:,} rows" for c, n in r.unseen_categories.items())
    unseen_line = [(f"  categories never seen in training (scored as unknown): {unseen} of "
                    f"{r.rows:,}")] if unseen else []
    return "\n".join([
        (f"scored {r.rows:,} customers at cutoff {r.cutoff} with {r.model_uri} "
        f"in {r.seconds:.1f} s ({r.skipped_chunks} of {r.chunks} chunks already done)"),
        *excluded, *unseen_line,
        f"  tiers: {tiers}",
        f"  revenue at risk: {r.revenue_at_risk:,.0f}",
        "  table: churn_scores", *[f"  file: {p}" for p in r.exports],
        *[f"  note: {note}" for note in r.notes],
    ])


@score.command("churn")
@config_option
@workspace_option
@click.option("--model", "model_uri", help="MLflow model URI [default: models:/churn-risk/latest].")
@click.option("--force", is_flag=True,
              help="Score every customer again instead of resuming the chunks already done.")
@engine_option
@json_option
def score_churn(config_path: Path, workspace: Path | None, model_uri: str | None, force: bool,
                engine: str | None, as_json: bool) -> None:
    """Score the customers at the latest snapshot cutoff: churn_proba, tier, reasons and
    revenue at risk (resumable: an interrupted run continues where it stopped; changed
    snapshot values, another model or other settings are scored again). Customers without a
    purchase in churn.active_within_days (default 365) are left out and counted."""
    from forecast.pipeline import score_churn as run

    with Progress("scoring chunks") as progress:
        result = run(load_config_for(config_path, workspace, engine), model_uri, progress,
                     force)
    emit(result, as_json, _score_churn_text)
