"""Split-conformal prediction intervals calibrated on backtest residuals.

Model-native intervals are often badly calibrated (Prophet's 80 % intervals covered about 90 %
on Walmart and Favorita). Here each interval bound is ``yhat + q * scale``, where ``q`` is an
empirical quantile of the scaled backtest errors ``(y - yhat) / scale`` at the same horizon step
(neighbouring steps are pooled until there are enough errors), and ``scale`` is ``|yhat|``
(errors proportional to the level of the series) or 1. The quantiles get the usual
finite-sample correction, and the two tails are estimated separately, so a biased model gets
asymmetric intervals.

Two cases the plain recipe gets wrong:

- **A point mass at a bound.** Sales cannot go below zero: on sporadic series many actuals are
  exactly 0, their scaled error is exactly -1, and the lower quantile sits on that tie. The
  lower bound (0) then misses nothing, the interval misses only on the upper side, and an 80 %
  interval covered about 90 %. When the lower quantile sits on a tie that holds more than its
  tail, the miss budget it cannot use goes to the upper tail (the upper quantile is taken at
  ``1 - (alpha - lower misses)``), so the interval as a whole misses ``alpha``.
- **Steps past the longest backtest fold** were never measured. Their bounds are the last
  measured step's, widened by ``(step / last step) ** growth``: ``growth`` is how the measured
  quantiles grew with the step (a least-squares slope of log width on log step), at least 0.5
  (errors that add up at least as a random walk's) and at most 1.5. A trend that is uncertain
  makes errors grow about linearly with the step, which a fixed square root under-covers.
- **One origin.** Errors at one step are exchangeable across backtest origins, not within
  one: with a single fold, the errors at step 12 are those of one calendar week (a holiday, say)
  and a per-step quantile would put that week's error on step 12 of every forecast. When the
  errors come from fewer than ``min_origins`` origins (2: a single fold, a young history's
  layout or one held-out horizon), the steps are pooled instead: each error
  is divided by ``step ** growth``, one set of quantiles is taken, and step ``h`` gets them
  times ``h ** growth``. ``growth`` is the slope of the log median absolute error on the log
  step (a median, so one holiday week does not set it), between 0.5 (a random walk) and 1.5:
  a forecast that misses a drift (a customer base decaying) errs more each step, about
  linearly.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator

from forecast.errors import ValidationError
from forecast.models.base import check_levels
from forecast.schemas import (
    ALL_SERIES,
    DEFAULT_LEVELS,
    DS,
    FOLD,
    MODEL,
    UNIQUE_ID,
    YHAT,
    H,
    Y,
    interval_columns,
)

# The levels a holdout calibration makes (a one-origin calibrator serves any of them later).
CALIBRATED_LEVELS = (50, 80, 90, 95, 99)


def _conformal_quantile(scores: np.ndarray, tail: float) -> float:
    """Quantile at ``tail`` with the split-conformal correction toward the outer side; beyond
    the sample (too few scores for the tail, see :func:`_beyond_sample`) the farther of the
    sample's extreme and a Student-t prediction bound."""
    n = len(scores)
    if tail >= 0.5:
        level = np.ceil((n + 1) * tail) / n
        if level > 1.0:
            return _beyond_sample(scores, tail, float(np.max(scores)), max)
    else:
        level = np.floor((n + 1) * tail) / n
        if level <= 0.0:  # rank 0: below the smallest score
            return _beyond_sample(scores, tail, float(np.min(scores)), min)
    return float(np.quantile(scores, level, method="higher" if tail >= 0.5 else "lower"))


def _beyond_sample(scores: np.ndarray, tail: float, extreme: float, farther) -> float:
    """A bound at ``tail`` that ``len(scores)`` scores cannot place: fewer than ``1 / (1 -
    tail) - 1`` of them (19 for the 80 % interval's upper tail, 39 for the 95 %'s). The
    split-conformal bound is then infinite, and the sample's extreme, taken for it before,
    made every such level the same interval: with 12 errors the 80 % and the 95 % intervals
    were equal, and on normal errors the "95 %" interval covered about 85 %. The normal
    prediction bound ``mean + t(n - 1) * sd * sqrt(1 + 1 / n)`` goes past the extreme as the
    level rises; the farther of the two is kept."""
    n = len(scores)
    sd = float(np.std(scores, ddof=1)) if n > 1 else 0.0
    if not np.isfinite(sd) or sd == 0.0:
        return extreme
    from scipy import stats  # slow: imported when calibrating

    bound = float(np.mean(scores)) + float(stats.t.ppf(tail, n - 1)) * sd * np.sqrt(1 + 1 / n)
    return float(farther(extreme, bound))


def _lower_and_upper_tail(scores: np.ndarray, tail: float) -> tuple[float, float]:
    """The lower quantile at ``tail`` and the tail the upper quantile should leave.

    Without ties the upper tail is ``tail``. When the lower quantile sits on a tie holding more
    than ``tail`` of the scores (a point mass: zero sales), fewer than ``tail`` fall below it;
    the upper tail gets the budget the lower one cannot use, ``2 * tail - misses below``.
    """
    lower = _conformal_quantile(scores, tail)
    n = len(scores)
    at_or_below = float(np.mean(scores <= lower))
    if at_or_below - tail <= 1.0 / n:  # no tie beyond the sample's own granularity
        return lower, tail
    below = float(np.mean(scores < lower))
    return lower, min(2 * tail - below, 0.5)


def _slope(steps: np.ndarray, size: np.ndarray) -> float:
    """Slope of log size on log step, between 0.5 and 1.5; 0.5 with fewer than three usable
    steps."""
    keep = (size > 0) & (steps > 0)
    if keep.sum() < 3:
        return 0.5
    slope = np.polyfit(np.log(steps[keep]), np.log(size[keep]), 1)[0]
    return float(np.clip(slope, 0.5, 1.5))


def _pooled_growth(scores: np.ndarray, steps: np.ndarray) -> float:
    """How errors grow with the step in one origin's errors: see :func:`_slope`, of the median
    absolute error per step."""
    median = pd.Series(np.abs(scores)).groupby(steps).median()
    return _slope(median.index.to_numpy(float), median.to_numpy(float))


def _growth(by_step: pd.DataFrame) -> float:
    """How the width of the measured intervals grows with the step: the slope of log width on
    log step, between 0.5 (a random walk) and 1.5; 0.5 with fewer than three measured steps."""
    width = (by_step["upper"] - by_step["lower"]).to_numpy(float)
    return _slope(by_step.index.to_numpy(float), width)


class ConformalCalibrator(BaseEstimator):
    """Learn interval widths from backtest errors and apply them to new forecasts.

    Args:
        levels: central interval levels in percent.
        by_horizon: separate quantiles per horizon step ``h``; else one set for all steps.
        scale: "level" scales errors by ``|yhat|``; "none" uses absolute errors.
        min_samples: fewest errors behind a step's quantiles; neighbouring steps are pooled.
        min_origins: fewest backtest origins (``fold`` values) per-step quantiles need; with
            fewer, every step is pooled (see the module docstring). A table without ``fold``
            is taken to have enough.
    """

    def __init__(
        self,
        levels: Sequence[float] = DEFAULT_LEVELS,
        by_horizon: bool = True,
        scale: Literal["level", "none"] = "level",
        min_samples: int = 100,
        min_origins: int = 2,
    ):
        self.levels = levels
        self.by_horizon = by_horizon
        self.scale = scale
        self.min_samples = min_samples
        self.min_origins = min_origins

    def _scale(self, yhat: np.ndarray) -> np.ndarray:
        if self.scale == "none":
            return np.ones_like(yhat)
        floor = max(float(np.nanmedian(np.abs(yhat))) * 1e-3, 1e-9) if len(yhat) else 1e-9
        return np.maximum(np.abs(yhat), floor)

    def fit(self, table: pd.DataFrame) -> ConformalCalibrator:
        """Learn error quantiles per model and horizon step.

        Args:
            table: backtest rows ``h, y, yhat`` (+ ``model``: one calibration per model).

        Returns:
            self, with ``quantiles_``: frame ``model, h, level, lower, upper`` of scaled errors,
            and ``pooled_``: model -> growth, of the models whose steps were pooled (too few
            origins).
        """
        levels = check_levels(self.levels)
        missing = [c for c in (H, Y, YHAT) if c not in table.columns]
        if missing:
            raise ValidationError(f"calibration table: missing column(s) {missing}")
        rows = table.dropna(subset=[Y, YHAT])
        if rows.empty:
            raise ValidationError("calibration table: no rows with both y and yhat")
        models = rows[MODEL] if MODEL in rows else pd.Series(ALL_SERIES, index=rows.index)
        records, self.pooled_ = [], {}
        for model, group in rows.groupby(models, sort=True):
            scores = (group[Y] - group[YHAT]).to_numpy(float) / self._scale(
                group[YHAT].to_numpy(float))
            steps = group[H].to_numpy() if self.by_horizon else np.ones(len(group), int)
            if self.by_horizon and FOLD in group and group[FOLD].nunique() < self.min_origins:
                growth = self.pooled_[model] = _pooled_growth(scores, steps)
                scores = scores / np.maximum(steps, 1) ** growth
                steps = np.ones(len(group), int)
            records.extend(self._step_quantiles(model, scores, steps, levels))
        self.quantiles_ = pd.DataFrame(records)
        self.max_h_ = int(rows[H].max())
        return self

    def _step_quantiles(self, model, scores, steps, levels) -> list[dict]:
        records = []
        unique = np.unique(steps)
        for step in unique:
            width = 0
            while True:
                near = np.abs(steps - step) <= width
                if near.sum() >= self.min_samples or near.all():
                    break
                width += 1
            for level in levels:
                tail = 0.5 - level / 200
                lower, upper_tail = _lower_and_upper_tail(scores[near], tail)
                records.append({MODEL: model, H: int(step), "level": float(level),
                                "lower": lower,
                                "upper": _conformal_quantile(scores[near], 1 - upper_tail)})
        return records

    def transform(self, forecast: pd.DataFrame, model: str | None = None) -> pd.DataFrame:
        """Replace the interval columns of a forecast with calibrated ones.

        Args:
            forecast: frame ``unique_id, ds, yhat`` (+ ``h``; else steps are counted per series
                from its first forecast date).
            model: which model's calibration to use; needed when several were calibrated.

        Returns:
            A copy with ``yhat_lo_<l>, yhat_hi_<l>`` for each calibrated level.
        """
        if not hasattr(self, "quantiles_"):
            raise ValidationError("ConformalCalibrator is not fitted: call fit(backtest) first")
        table = self.quantiles_
        names = table[MODEL].unique()
        name = model if model is not None else (names[0] if len(names) == 1 else None)
        if name not in set(names):
            raise ValidationError(f"no calibration for model {model!r}; calibrated: {list(names)}")
        out = forecast.copy()
        if H in out:
            steps = out[H].to_numpy()
        else:
            steps = out.sort_values(DS).groupby(UNIQUE_ID, sort=False).cumcount().reindex(
                out.index).to_numpy() + 1
        scale = self._scale(out[YHAT].to_numpy(float))
        growth = getattr(self, "pooled_", {}).get(name)
        # Past the last calibrated step the errors were never measured: the last step's
        # quantiles, widened as the measured ones grew with the step (see _growth).
        beyond = np.maximum(steps, self.max_h_) / self.max_h_ if self.by_horizon else 1.0
        # Pooled steps: one set of quantiles of errors over step ** growth.
        pooled = scale * np.maximum(steps, 1) ** growth if growth is not None else None
        steps = np.minimum(steps, self.max_h_) if self.by_horizon and pooled is None else \
            np.ones(len(out), int)
        for level, group in table[table[MODEL] == name].groupby("level"):
            by_step = group.set_index(H)
            widen = pooled if pooled is not None else (
                scale * beyond ** _growth(by_step) if self.by_horizon else scale)
            lo, hi = interval_columns(level)
            nearest = by_step.index.to_numpy()[np.abs(
                by_step.index.to_numpy()[None, :] - steps[:, None]).argmin(axis=1)]
            out[lo] = out[YHAT] + by_step.loc[nearest, "lower"].to_numpy() * widen
            out[hi] = out[YHAT] + by_step.loc[nearest, "upper"].to_numpy() * widen
        return out
