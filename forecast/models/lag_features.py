"""Array features of the global model: lags, rolling means and a seasonal-growth baseline of
series stored one after another (rows sorted by series and date), without a group-by."""

from __future__ import annotations

import numpy as np
import pandas as pd

from forecast.models.baselines import MAX_GROWTH
from forecast.periods import freq_code, year_length


def default_lags(horizon: int, season_length: int, year: int) -> tuple[int, ...]:
    """Lags >= horizon: a block of 8 after the horizon, two seasonal lags and a year back +- 1."""
    lags = set(range(horizon, horizon + 8))
    first_seasonal = -(-horizon // season_length) * season_length
    lags.update({first_seasonal, first_seasonal + season_length})
    if year >= horizon + 1:
        lags.update({year - 1, year, year + 1})
    return tuple(sorted(lag for lag in lags if lag >= horizon))


def periods_per_year(freq: str) -> int:
    return year_length(freq) or 4


def default_windows(freq: str) -> tuple[int, ...]:
    return {"D": (7, 28, 91, 364), "W": (4, 13, 26, 52)}.get(freq_code(freq), (3, 6, 12))


def per_row(values: pd.Series, ids: np.ndarray) -> np.ndarray:
    """Per-series values repeated onto the rows of a frame whose series are contiguous."""
    starts = np.flatnonzero(np.r_[True, ids[1:] != ids[:-1]])
    counts = np.diff(np.r_[starts, len(ids)])
    return np.repeat(values.reindex(ids[starts]).to_numpy(), counts)


def group_positions(ids: np.ndarray) -> np.ndarray:
    """Position of each row within its (contiguous) series."""
    starts = np.r_[True, ids[1:] != ids[:-1]]
    index = np.arange(len(ids))
    return index - np.maximum.accumulate(np.where(starts, index, 0))


def lagged(values: np.ndarray, position: np.ndarray, lag: int) -> np.ndarray:
    out = np.full(len(values), np.nan)
    ok = position >= lag
    out[ok] = values[np.flatnonzero(ok) - lag]
    return out


def rolling_mean(values: np.ndarray, position: np.ndarray, end_lag: int, window: int):
    """Mean of the observed values in the ``window`` periods ending ``end_lag`` periods back."""
    filled = np.nan_to_num(values)
    total = np.r_[0.0, np.cumsum(filled)]
    count = np.r_[0, np.cumsum(~np.isnan(values))]
    index = np.arange(len(values))
    hi = index - end_lag + 1
    lo = np.maximum(hi - window, index - position)
    ok = hi > index - position
    lo, hi = np.where(ok, lo, 0), np.where(ok, hi, 0)
    n = count[hi] - count[lo]
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(ok & (n > 0), (total[hi] - total[lo]) / n, np.nan)


def seasonal_growth(values: np.ndarray, position: np.ndarray, horizon: int, year: int,
                    window: int, max_growth: float = MAX_GROWTH) -> np.ndarray:
    """Last year's value times the growth since: ``y[t - year] * mean(window ending horizon
    back) / mean(the same window a year earlier)``, the growth bounded to ``[1 / max_growth,
    max_growth]`` as in ``SeasonalGrowthForecaster``: what the seasonal naive with growth would
    forecast for ``t`` from ``horizon`` periods back. NaN where last year's value or a whole
    year-earlier window is missing, or that window's mean is not positive. Trees cannot multiply a
    lag by a ratio of means; given the product, they learn when to trust it (a series' own
    holiday lift, a growing series)."""
    if year < horizon:
        return np.full(len(values), np.nan)
    recent = rolling_mean(values, position, horizon, window)
    earlier = rolling_mean(values, position, horizon + year, window)
    full = position >= horizon + year + window - 1  # both windows whole: like against like
    with np.errstate(invalid="ignore", divide="ignore"):
        growth = np.where(full & (earlier > 0), recent / earlier, np.nan)
    return lagged(values, position, year) * np.clip(growth, 1 / max_growth, max_growth)

