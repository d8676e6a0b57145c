"""Commands that train the revenue model and forecast with it."""

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
from forecast.cli.groups import predict, train

if TYPE_CHECKING:
    from forecast.pipeline.forecasts import RevenuePredictResult
    from forecast.pipeline.revenue import RevenueTrainResult


def _train_text(r: RevenueTrainResult) -> str:
    lines = [(f"trained the revenue model on {r.series:,} series ({r.freq}) in "
              f"{r.seconds:.1f} s; strategies per fold: {', '.join(r.strategies) or '-'}")]
    s = r.selected
    if s is not None:
        coverage = "  ".join(f"{k.replace('_', ' ')}% {v:.3f}" for k, v in s.items()
                             if k.startswith("coverage_"))
        lines += [
            (f"  selected forecast at grain {s['grain']!r} ({s['model']}): WAPE {s['wape']:.4f}"
             f"  MASE {s['mase']:.4f}  {coverage}"),
            "  pooled backtest WAPE per model: " + ", ".join(
                f"{p['model']} {p['wape']:.4f}" for p in r.pooled),
        ]
    else:
        lines.append("  no accuracy measured: the history holds no evaluation fold")
    if r.by_level:
        lines.append("  WAPE by level (unreconciled -> reconciled): " + ", ".join(
            f"{b['grain']} {b['unreconciled']:.4f} -> {b['reconciled']:.4f}" for b in r.by_level))
    lines += [f"  note: {note}" for note in r.notes]
    lines.append(f"  model: {r.model_uri}  (tracking: {r.tracking_uri})")
    return "\n".join(lines)


@train.command("revenue")
@config_option
@workspace_option
@engine_option
@json_option
def train_revenue(config_path: Path, workspace: Path | None, engine: str | None,
                  as_json: bool) -> None:
    """Backtest the candidates, select and calibrate out of sample, fit the final model and
    register it in MLflow as revenue-forecaster."""
    from forecast.pipeline import train_revenue as run

    with Progress("backtest fits") as progress:
        result = run(load_config_for(config_path, workspace, engine), progress)
    emit(result, as_json, _train_text)


def _predict_text(r: RevenuePredictResult) -> str:
    lines = [(f"forecast {r.series:,} series for {r.periods} periods ({r.start}.."
              f"{r.end}) with {r.model_uri} in {r.seconds:.1f} s; coherence error "
              f"{r.coherence_error:.2e}")]
    lines += [f"  {q['unique_id']} {q['period']}: {q['yhat']:,.0f} (80%: {q['yhat_lo_80']:,.0f}"
              f"..{q['yhat_hi_80']:,.0f})" for q in r.quarters]
    lines += [f"  tables: {', '.join(r.tables)}", *[f"  file: {p}" for p in r.exports]]
    return "\n".join(lines)


@predict.command("revenue")
@config_option
@workspace_option
@click.option("--horizon", help="How far ahead: next_quarter (through the end of the quarter "
              "after the data's), 1Q, 13W, 3M, 90D ... [default: revenue.horizon].")
@click.option("--model", "model_uri",
              help="MLflow model URI [default: models:/revenue-forecaster/latest].")
@engine_option
@json_option
def predict_revenue(config_path: Path, workspace: Path | None, horizon: str | None,
                    model_uri: str | None, engine: str | None, as_json: bool) -> None:
    """Forecast every series with intervals, and their month and quarter totals, to the
    warehouse and to CSV / Parquet / Excel."""
    from forecast.pipeline import predict_revenue as run

    with Progress("forecasting") as progress:
        result = run(load_config_for(config_path, workspace, engine), horizon, model_uri,
                     progress)
    emit(result, as_json, _predict_text)
