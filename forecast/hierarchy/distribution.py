"""The distribution of a forecast span as its 80 % interval shows it, and the chance of reaching
a target under it.

A span's actual is taken as two halves of Normals joined at the forecast median ``yhat``: below
it with the deviation ``sd_below``, above it with ``sd_above``, so P(actual >= target) =
1 - Phi((target - yhat) / s), ``s`` the deviation of the target's side. The deviations are read
from the span's 80 % interval (:func:`sides`), so the interval the forecast tables show is the
distribution's own: its upper bound is reached with probability 10 %, its lower bound with
90 %. A symmetric interval gives ``sd_below = sd_above = yhat_sd``, the Normal(``yhat``,
``yhat_sd``) of ``revenue_forecast_periods``. A lopsided one (the calibrated interval of a
single forecast row, a month of monthly or a quarter of quarterly data; a lower bound held at
the part of the month already booked) keeps its shape: with one Normal, a quarter of
Superstore's quarterly forecast at 136,619, its 80 % interval 117,623 to 210,593, gave that
upper bound a 2.1 % chance, not 10 %, and put the 60 % stretch at 145,808 instead of 151,243.
A quarter uses the quarter row's own interval, which accounts for the months' errors moving
together, not a combination of the months'. A forecast without spread reaches a target at or
below ``yhat`` for certain and one above it never; a missing deviation gives a missing
probability.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.special import ndtr, ndtri

from forecast.schemas import YHAT, interval_columns

SD_BELOW, SD_ABOVE = "sd_below", "sd_above"
Z80 = float(ndtri(0.9))


def sides(frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """``sd_below`` and ``sd_above`` of each row from its 80 % interval about ``yhat``;
    ``yhat_sd`` for both where the row has no interval."""
    yhat = frame[YHAT].to_numpy(float)
    spread = frame["yhat_sd"].to_numpy(float)
    lo, hi = interval_columns(80)
    if lo not in frame or hi not in frame:
        return spread, spread
    below = (yhat - frame[lo].to_numpy(float)) / Z80
    above = (frame[hi].to_numpy(float) - yhat) / Z80
    below = np.where(np.isnan(below), spread, np.maximum(below, 0.0))
    above = np.where(np.isnan(above), spread, np.maximum(above, 0.0))
    return below, above


def probability_of_reaching(target, yhat, sd_below, sd_above=None) -> np.ndarray:
    """P(actual >= target), element-wise, for actuals Normal about the median ``yhat`` with
    ``sd_below`` below it and ``sd_above`` above it (default ``sd_below``: one Normal).

    Args:
        target: targets (scalars or arrays that broadcast together).
        yhat: the forecast medians.
        sd_below, sd_above: the deviations of the actuals below and above the median.

    Returns:
        Probabilities in [0, 1]; NaN where the deviation of the target's side or an input is
        missing or negative.
    """
    sd_above = sd_below if sd_above is None else sd_above
    target, yhat, below, above = np.broadcast_arrays(*(
        np.asarray(v, dtype=float) for v in (target, yhat, sd_below, sd_above)))
    sd = np.where(target >= yhat, above, below)
    with np.errstate(divide="ignore", invalid="ignore"):
        spread = 1.0 - ndtr((target - yhat) / np.where(sd > 0, sd, np.nan))
    certain = np.where(target <= yhat, 1.0, 0.0)
    result = np.where(sd > 0, spread, np.where(sd == 0, certain, np.nan))
    return np.where(np.isnan(target) | np.isnan(yhat), np.nan, result)


def forecast_quantile(yhat, sd_below, quantile: float, sd_above=None) -> np.ndarray:
    """The ``quantile`` of the forecast distribution, element-wise: ``yhat + Phi^-1(q) s``,
    ``s`` being ``sd_above`` above the median and ``sd_below`` below it (default
    ``sd_below``: one Normal)."""
    if not 0 < quantile < 1:
        raise ValueError(f"quantile must lie strictly between 0 and 1, not {quantile}")
    side = sd_below if quantile <= 0.5 or sd_above is None else sd_above
    return np.asarray(yhat, dtype=float) + float(ndtri(quantile)) * np.asarray(side, dtype=float)
