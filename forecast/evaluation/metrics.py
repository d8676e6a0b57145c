"""Accuracy metrics of point forecasts and intervals, per series and pooled.

Scaled metrics (MASE, RMSSE) divide by each series' in-sample seasonal-naive error before the
forecast origin, which the backtest table carries as ``scale_mae`` and ``scale_mse``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from forecast.errors import ValidationError
from forecast.evaluation.backtest import CUTOFF, MODEL, SCALE_MAE, SCALE_MSE, interval_levels
from forecast.schemas import UNIQUE_ID, YHAT, Y, interval_columns


def wape(y: np.ndarray, yhat: np.ndarray) -> float:
    """Weighted absolute percentage error: sum |y - yhat| / sum |y|."""
    y, yhat = np.asarray(y, float), np.asarray(yhat, float)
    return float(np.sum(np.abs(y - yhat)) / np.sum(np.abs(y)))


def smape(y: np.ndarray, yhat: np.ndarray) -> float:
    """Symmetric MAPE in [0, 2]: mean of 2|y - yhat| / (|y| + |yhat|), 0 where both are 0."""
    y, yhat = np.asarray(y, float), np.asarray(yhat, float)
    denominator = np.abs(y) + np.abs(yhat)
    ratio = np.divide(2 * np.abs(y - yhat), denominator, out=np.zeros_like(y),
                      where=denominator > 0)
    return float(np.mean(ratio))


def bias(y: np.ndarray, yhat: np.ndarray) -> float:
    """Relative bias: sum (yhat - y) / sum |y|; positive means over-forecasting."""
    y, yhat = np.asarray(y, float), np.asarray(yhat, float)
    return float(np.sum(yhat - y) / np.sum(np.abs(y)))


def mase(y: np.ndarray, yhat: np.ndarray, scale_mae: np.ndarray | float) -> float:
    """Mean absolute scaled error: mean of |y - yhat| / scale (the seasonal-naive in-sample MAE)."""
    y, yhat = np.asarray(y, float), np.asarray(yhat, float)
    return float(np.mean(np.abs(y - yhat) / np.asarray(scale_mae, float)))


def rmsse(y: np.ndarray, yhat: np.ndarray, scale_mse: np.ndarray | float) -> float:
    """Root mean squared scaled error: sqrt(mean((y - yhat)^2 / scale)), scale an in-sample MSE."""
    y, yhat = np.asarray(y, float), np.asarray(yhat, float)
    return float(np.sqrt(np.mean((y - yhat) ** 2 / np.asarray(scale_mse, float))))


def pinball_loss(y: np.ndarray, quantile: np.ndarray, tau: float) -> float:
    """Mean pinball (quantile) loss of a forecast of the ``tau`` quantile."""
    y, quantile = np.asarray(y, float), np.asarray(quantile, float)
    diff = y - quantile
    return float(np.mean(np.maximum(tau * diff, (tau - 1) * diff)))


def coverage(y: np.ndarray, lower: np.ndarray, upper: np.ndarray) -> float:
    """Share of actuals inside [lower, upper]."""
    y = np.asarray(y, float)
    return float(np.mean((y >= np.asarray(lower, float)) & (y <= np.asarray(upper, float))))


def _group_scores(group: pd.DataFrame, levels: Sequence[float]) -> pd.Series:
    y, yhat = group[Y].to_numpy(float), group[YHAT].to_numpy(float)
    scores = {"n": len(group), "wape": wape(y, yhat), "smape": smape(y, yhat),
              "bias": bias(y, yhat)}
    if SCALE_MAE in group:
        scores["mase"] = mase(y, yhat, group[SCALE_MAE].to_numpy(float))
        per_series = group.groupby([CUTOFF, UNIQUE_ID], sort=False)[[Y, YHAT, SCALE_MSE]].apply(
            lambda g: rmsse(g[Y], g[YHAT], g[SCALE_MSE]))
        scores["rmsse"] = float(per_series.mean())
    for level in levels:
        lo, hi = interval_columns(level)
        label = f"{level:g}"
        scores[f"coverage_{label}"] = coverage(y, group[lo], group[hi])
        tail = 0.5 - level / 200
        scores[f"pinball_{label}"] = (pinball_loss(y, group[lo], tail)
                                      + pinball_loss(y, group[hi], 1 - tail)) / 2 / np.mean(
                                          np.abs(y))
    return pd.Series(scores)


def score_backtest(
    table: pd.DataFrame, by: Sequence[str] = (MODEL,), levels: Sequence[float] | None = None
) -> pd.DataFrame:
    """Metrics of a backtest table, grouped by the given columns.

    Args:
        table: output of :func:`forecast.evaluation.backtest.backtest` (``y, yhat`` and interval
            columns; ``cutoff, unique_id, scale_mae, scale_mse`` for MASE and RMSSE).
        by: grouping columns: ``("model",)`` for pooled scores, ``("model", "unique_id")`` per
            series.
        levels: interval levels to score; default every level present in the table.

    Returns:
        One row per group with ``n, wape, smape, bias, mase, rmsse, coverage_<l>, pinball_<l>``
        (pinball is the mean loss of the two interval bounds, relative to mean |y|). MASE is the
        mean of scaled absolute errors over all points; RMSSE the mean over (origin, series).
    """
    missing = [c for c in (*by, Y, YHAT) if c not in table.columns]
    if missing:
        raise ValidationError(f"backtest table: missing column(s) {missing}")
    levels = interval_levels(table) if levels is None else list(levels)
    scores = table.groupby(list(by), sort=True, observed=True)[list(table.columns)].apply(
        lambda g: _group_scores(g, levels))
    return scores.reset_index()
