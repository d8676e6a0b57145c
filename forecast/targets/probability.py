"""The chance of reaching a target under the forecast distribution.

A period's actual is taken as Normal(``yhat``, ``yhat_sd``) (the contract of
``revenue_forecast_periods``), so P(actual >= target) = 1 - Phi((target - yhat) / yhat_sd). A
quarter uses the quarter row's own ``yhat_sd``, which accounts for the months' errors moving
together, not a combination of the months' deviations. A forecast without spread (``yhat_sd``
zero) reaches a target at or below ``yhat`` for certain and one above it never; a missing
``yhat_sd`` gives a missing probability.
"""

from __future__ import annotations

import numpy as np
from scipy.special import ndtr, ndtri


def probability_of_reaching(target, yhat, yhat_sd) -> np.ndarray:
    """P(actual >= target) for Normal(yhat, yhat_sd) actuals, element-wise.

    Args:
        target: targets (scalars or arrays that broadcast together).
        yhat: the forecast medians.
        yhat_sd: the standard deviations of the actuals.

    Returns:
        Probabilities in [0, 1]; NaN where ``yhat_sd`` or an input is missing or negative.
    """
    target, yhat, sd = np.broadcast_arrays(*(np.asarray(v, dtype=float)
                                             for v in (target, yhat, yhat_sd)))
    with np.errstate(divide="ignore", invalid="ignore"):
        spread = 1.0 - ndtr((target - yhat) / np.where(sd > 0, sd, np.nan))
    certain = np.where(target <= yhat, 1.0, 0.0)
    result = np.where(sd > 0, spread, np.where(sd == 0, certain, np.nan))
    return np.where(np.isnan(target) | np.isnan(yhat), np.nan, result)


def normal_quantile(yhat, yhat_sd, quantile: float) -> np.ndarray:
    """The ``quantile`` of Normal(yhat, yhat_sd), element-wise: yhat + Phi^-1(q) yhat_sd."""
    if not 0 < quantile < 1:
        raise ValueError(f"quantile must lie strictly between 0 and 1, not {quantile}")
    return np.asarray(yhat, dtype=float) + float(ndtri(quantile)) * np.asarray(yhat_sd,
                                                                               dtype=float)
