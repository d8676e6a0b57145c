"""Exponential smoothing of the level and trend (statsforecast's AutoETS), per series.

A young business, a store that opened last quarter, a customer base that decays after an
acquisition burst: the series is too short for any season, and what matters is where its level
is now and where it is heading. The other candidates see that badly: the seasonal baselines fall
back to the last value, Prophet below two horizons of history to a flat trend that forecasts
the mean of the history, a stale level for a series that grows or decays. Exponential smoothing
weighs recent periods most and fits the trend's damping; statsforecast's AutoETS (the field's
reference implementation, after Hyndman et al.) chooses among additive and multiplicative
error, no, additive and damped trend by AICc.

``ETSForecaster`` is non-seasonal on purpose: seasonality is the job of the seasonal baselines,
Prophet and the global model, and a seasonal AutoETS with a 52-week season costs more than the
Prophet loop on thousands of weekly series (statsforecast's own benchmark). A series with fewer
than ``MIN_ETS`` observed periods cannot be fitted (statsforecast refuses "tiny datasets"); it
gets the last value with a random walk's spread, and :meth:`ETSForecaster.regime` says so, so
a selection weighs it on the folds where it did the same.

statsforecast is imported when fitting, so importing this module stays cheap.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from forecast.errors import ValidationError
from forecast.models.base import Forecaster, add_normal_intervals, future_dates
from forecast.models.baselines import _last_observed, _residual_sigma, tail_matrix
from forecast.schemas import YHAT, interval_columns

MIN_ETS = 8  # fewest observed periods statsforecast's ETS fits (fewer: "tiny datasets")
_ETS_MODELS = ("ZZN",)


class ETSForecaster(Forecaster):
    """Non-seasonal AutoETS per series (statsforecast), with its own prediction intervals.

    Args:
        model: statsforecast's ETS model string, three letters (error, trend, season); the
            season must be ``N`` (none). ``ZZN`` lets AICc choose error and trend.
        damped: None lets AICc choose a damped trend or not; True or False forces it.
        freq: pandas frequency alias; inferred from the frame when None.
    """

    def __init__(self, model: str = "ZZN", damped: bool | None = None, freq: str | None = None):
        self.model = model
        self.damped = damped
        self.freq = freq

    def regime(self, history: int, freq: str) -> str:
        """"ets" with ``MIN_ETS`` periods or more, else "last value" (the fallback)."""
        return "ets" if history >= MIN_ETS else "last value"

    def _fit(self, frame: pd.DataFrame) -> None:
        if len(self.model) != 3 or self.model[2] != "N":
            raise ValidationError(f"ETS model {self.model!r}: expected three letters ending in "
                                  "N (no season), such as ZZN")
        from statsforecast.models import AutoETS  # slow: imported when fitting

        ids, matrix = tail_matrix(frame)
        self.ids_ = ids
        # The fallback of a series too short for ETS is the naive forecaster's.
        self.last_ = _last_observed(matrix)
        self.sigma_ = _residual_sigma(np.diff(matrix, axis=1))
        self.fitted_ = []
        for row in matrix:
            y = _observed_tail(row)
            model = None
            if len(y) >= MIN_ETS:
                try:
                    model = AutoETS(season_length=1, model=self.model,
                                    damped=self.damped).fit(y)
                except (ValueError, ZeroDivisionError, np.linalg.LinAlgError):
                    model = None  # degenerate series (constant, ...): the last value
            self.fitted_.append(model)

    def _predict(self, h: int, future_exog, levels) -> pd.DataFrame:
        out = future_dates(self.last_ds_.loc[self.ids_], h, self.freq_)
        steps = np.arange(1, h + 1)
        point = np.repeat(self.last_[:, None], h, axis=1)
        sigma = self.sigma_[:, None] * np.sqrt(steps)[None, :]
        bounds: dict[float, tuple[np.ndarray, np.ndarray]] = {}
        for i, model in enumerate(self.fitted_):
            if model is None:
                continue
            made = model.predict(h=h, level=list(levels))
            point[i] = made["mean"]
            for level in levels:
                lo, hi = bounds.setdefault(level, (np.full((len(self.ids_), h), np.nan),
                                                   np.full((len(self.ids_), h), np.nan)))
                lo[i], hi[i] = made[f"lo-{level}"], made[f"hi-{level}"]
        out[YHAT] = point.ravel()
        out = add_normal_intervals(out, sigma.ravel(), levels)
        for level, (lo, hi) in bounds.items():
            lo_col, hi_col = interval_columns(level)
            have = ~np.isnan(lo.ravel())
            out.loc[have, lo_col] = lo.ravel()[have]
            out.loc[have, hi_col] = hi.ravel()[have]
        return out


def _observed_tail(row: np.ndarray) -> np.ndarray:
    """The observed values of a tail-matrix row, from its first observation, with gaps inside
    carried forward (ETS needs a regular series)."""
    seen = ~np.isnan(row)
    if not seen.any():
        return row[:0]
    values = pd.Series(row[np.argmax(seen):]).ffill().to_numpy()
    return values
