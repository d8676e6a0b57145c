"""Accuracy metrics of point forecasts and intervals, per series and pooled.

Scaled metrics (MASE, RMSSE) divide by each series' in-sample seasonal-naive error before the
forecast origin, which the backtest table carries as ``scale_mae`` and ``scale_mse``. Interval
metrics do not depend on float ties (coverage has a relative tolerance) and stay defined on
series whose actuals are all zero (the pinball loss then falls back to another scale).

Zero scales. Nothing here divides by zero or warns: a series whose history before the origin
is constant (all zeros, a product not sold yet) has no seasonal-naive error to scale by, so its
points are left out of MASE and RMSSE (which are then the figures of the series that have a
scale); WAPE and bias of rows without any actual sale are not defined and are NaN, as are MASE
and RMSSE of rows without any scale. Pooled over series with sales and history, every figure
is finite.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from forecast.errors import ValidationError
from forecast.evaluation.backtest import CUTOFF, MODEL, SCALE_MAE, SCALE_MSE, interval_levels
from forecast.schemas import UNIQUE_ID, YHAT, Y, interval_columns

# Relative tolerance of interval metrics: values closer than this times their size are equal.
TOLERANCE = 1e-9


def wape(y: np.ndarray, yhat: np.ndarray) -> float:
    """Weighted absolute percentage error: sum |y - yhat| / sum |y|; NaN without actual sales."""
    y, yhat = np.asarray(y, float), np.asarray(yhat, float)
    return _ratio(np.sum(np.abs(y - yhat)), np.sum(np.abs(y)))


def _ratio(numerator: float, denominator: float) -> float:
    """``numerator / denominator``, NaN when the denominator is not positive (no warning)."""
    return float(numerator / denominator) if denominator > 0 else float("nan")


# |y| + |yhat| below this is 0 + 0: a zero forecast that arithmetic left at 1e-17 (a
# reconciled sum of zeros) is not a 200 % error of a zero actual.
_SMAPE_ZERO = 1e-9


def smape(y: np.ndarray, yhat: np.ndarray) -> float:
    """Symmetric MAPE in [0, 2]: mean of 2|y - yhat| / (|y| + |yhat|), 0 where both are 0
    (below ``_SMAPE_ZERO`` together)."""
    y, yhat = np.asarray(y, float), np.asarray(yhat, float)
    denominator = np.abs(y) + np.abs(yhat)
    ratio = np.divide(2 * np.abs(y - yhat), denominator, out=np.zeros_like(y),
                      where=denominator > _SMAPE_ZERO)
    return float(np.mean(ratio))


def bias(y: np.ndarray, yhat: np.ndarray) -> float:
    """Relative bias: sum (yhat - y) / sum |y|; positive means over-forecasting; NaN without
    actual sales."""
    y, yhat = np.asarray(y, float), np.asarray(yhat, float)
    return _ratio(np.sum(yhat - y), np.sum(np.abs(y)))


def _usable(scale: np.ndarray) -> np.ndarray:
    """Which scales are positive and finite (the others, of a constant history, have nothing
    to scale an error by)."""
    return np.isfinite(scale) & (scale > 0)


def _scaled(errors: np.ndarray, scale: np.ndarray | float) -> np.ndarray:
    """``errors / scale`` of the points whose scale is :func:`_usable` (the others are left
    out)."""
    scale = np.broadcast_to(np.asarray(scale, float), errors.shape)
    usable = _usable(scale)
    return errors[usable] / scale[usable]


def mase(y: np.ndarray, yhat: np.ndarray, scale_mae: np.ndarray | float) -> float:
    """Mean absolute scaled error: mean of |y - yhat| / scale (the seasonal-naive in-sample MAE)
    over the points with a positive scale; NaN when none has one."""
    y, yhat = np.asarray(y, float), np.asarray(yhat, float)
    scaled = _scaled(np.abs(y - yhat), scale_mae)
    return float(np.mean(scaled)) if len(scaled) else float("nan")


def rmsse(y: np.ndarray, yhat: np.ndarray, scale_mse: np.ndarray | float) -> float:
    """Root mean squared scaled error: sqrt(mean((y - yhat)^2 / scale)), scale an in-sample MSE,
    over the points with a positive scale; NaN when none has one."""
    y, yhat = np.asarray(y, float), np.asarray(yhat, float)
    scaled = _scaled((y - yhat) ** 2, scale_mse)
    return float(np.sqrt(np.mean(scaled))) if len(scaled) else float("nan")


def pinball_loss(y: np.ndarray, quantile: np.ndarray, tau: float) -> float:
    """Mean pinball (quantile) loss of a forecast of the ``tau`` quantile."""
    y, quantile = np.asarray(y, float), np.asarray(quantile, float)
    diff = y - quantile
    return float(np.mean(np.maximum(tau * diff, (tau - 1) * diff)))


def _tolerance(y: np.ndarray, bound: np.ndarray) -> np.ndarray:
    """``TOLERANCE * max(1, |y|, |bound|)``: how far apart two values may be and still tie."""
    return TOLERANCE * np.maximum(1.0, np.maximum(np.abs(y), np.abs(bound)))


def coverage(y: np.ndarray, lower: np.ndarray, upper: np.ndarray) -> float:
    """Share of actuals inside [lower, upper], with a tolerance relative to their size.

    An actual counts as inside when ``lower - tol <= y <= upper + tol``, with ``tol = 1e-9 *
    max(1, |y|, |bound|)`` for each bound. Interval bounds are sums and differences of floats,
    so on integer data a bound meant to be 2 can come out as ``2 - 1e-16`` or as 2 depending on
    the order of a summation (which differs between pandas versions); without a tolerance such a
    tie would decide the coverage. The tolerance is far below any real difference of money or
    counts, and the rule is the same on every version. A missing actual or bound is outside.
    """
    y, lower, upper = (np.asarray(a, float) for a in (y, lower, upper))
    inside = (y >= lower - _tolerance(y, lower)) & (y <= upper + _tolerance(y, upper))
    return float(np.mean(inside))


def pinball_scale(y: np.ndarray, lower: np.ndarray, upper: np.ndarray,
                  scale_mae: np.ndarray | None = None) -> float:
    """What the pinball loss of an interval is divided by: the size of the actuals.

    The mean |y| of the rows, so the loss is a share of the actuals as WAPE is (the figure of
    any series with sales). Where the actuals are zero up to rounding (a series that stopped, a
    window without a sale) that share is not defined, and was divided by 0 or by float noise
    (losses of 1e7 and more). Then the first size that is not negligible (above ``TOLERANCE``
    times the largest of them) is used instead: the mean in-sample seasonal-naive MAE
    (``scale_mae``, what MASE divides by: how much the series moved before the origin), else
    the mean size of the interval bounds ``(|lower| + |upper|) / 2`` (with y = 0 the loss is
    then between the two tail probabilities). 0 when everything is 0 (so is the loss).
    """
    sizes = [float(np.mean(np.abs(np.asarray(y, float))))]
    if scale_mae is not None:
        scales = np.asarray(scale_mae, float)
        sizes.append(float(np.mean(scales[np.isfinite(scales)])) if np.isfinite(scales).any()
                     else np.nan)
    bounds = (np.abs(np.asarray(lower, float)) + np.abs(np.asarray(upper, float))) / 2
    sizes.append(float(np.mean(bounds)))
    largest = max((size for size in sizes if np.isfinite(size)), default=0.0)
    return next((size for size in sizes if size > TOLERANCE * largest), 0.0)


def scaled_pinball(y: np.ndarray, lower: np.ndarray, upper: np.ndarray, level: float,
                   scale_mae: np.ndarray | None = None) -> float:
    """Mean pinball loss of the two bounds of a ``level`` % interval over :func:`pinball_scale`.

    The lower bound is scored as the ``0.5 - level / 200`` quantile, the upper as ``0.5 + level
    / 200``; 0 when actuals and bounds are all 0.
    """
    tail = 0.5 - level / 200
    loss = (pinball_loss(y, lower, tail) + pinball_loss(y, upper, 1 - tail)) / 2
    scale = pinball_scale(y, lower, upper, scale_mae)
    return loss / scale if scale > 0 else loss


def _group_scores(group: pd.DataFrame, levels: Sequence[float]) -> pd.Series:
    y, yhat = group[Y].to_numpy(float), group[YHAT].to_numpy(float)
    scale_mae = group[SCALE_MAE].to_numpy(float) if SCALE_MAE in group else None
    scores = {"n": len(group), "wape": wape(y, yhat), "smape": smape(y, yhat),
              "bias": bias(y, yhat)}
    if SCALE_MAE in group:
        scores["mase"] = mase(y, yhat, scale_mae)
        # rmsse per (origin, series) as one grouped mean of the usable scaled squared errors.
        scale_mse = group[SCALE_MSE].to_numpy(float)
        usable = _usable(scale_mse)
        scaled = np.where(usable, (y - yhat) ** 2 / np.where(usable, scale_mse, 1.0), np.nan)
        per_series = pd.Series(scaled, index=group.index).groupby(
            [group[CUTOFF], group[UNIQUE_ID]], sort=False, observed=True).mean()
        scores["rmsse"] = float(np.sqrt(per_series).mean())
    for level in levels:
        lo, hi = interval_columns(level)
        label = f"{level:g}"
        scores[f"coverage_{label}"] = coverage(y, group[lo], group[hi])
        scores[f"pinball_{label}"] = scaled_pinball(y, group[lo], group[hi], level, scale_mae)
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
        (pinball is the mean loss of the two interval bounds over the size of the actuals, see
        :func:`pinball_scale`; coverage allows float noise, see :func:`coverage`). MASE is the
        mean of scaled absolute errors over all points; RMSSE the mean over (origin, series);
        both leave out series without an in-sample scale (see the module doc).
    """
    missing = [c for c in (*by, Y, YHAT) if c not in table.columns]
    if missing:
        raise ValidationError(f"backtest table: missing column(s) {missing}")
    levels = interval_levels(table) if levels is None else list(levels)
    scores = table.groupby(list(by), sort=True, observed=True)[list(table.columns)].apply(
        lambda g: _group_scores(g, levels))
    return scores.reset_index()
