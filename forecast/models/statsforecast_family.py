"""statsforecast's model families as candidates: AutoETS, AutoTheta, AutoARIMA and MSTL.

These are the field's reference implementations of exponential smoothing (Hyndman et al.),
the theta method with its optimised variants (Fiorucci et al.), ARIMA chosen by the
Hyndman-Khandakar search, and MSTL (a multiple seasonal-trend decomposition by Loess whose
seasonally adjusted part is forecast by non-seasonal AutoETS). :class:`StatsForecastForecaster`
fits one of them per series through statsforecast and keeps its own prediction intervals; the
``RevenueForecaster`` backtests, selects and recalibrates it like every other candidate.

Every family here fits and forecasts in one call (statsforecast's ``forecast``), so the
forecaster keeps each series' history at ``fit`` and runs the models when asked for a forecast:
the forecast of a fitted model is the same function of the same history, and a backtest fold
(``fit_predict``) costs one pass. The series are spread over the engine's workers
(:func:`forecast.engine.current_engine`; by default this machine's processes), as Prophet's are.

Seasonality needs history: a series with fewer than two seasons of observations is fitted
without a season (theta's seasonality test and MSTL's decomposition need two seasons), and one with fewer than ``MIN_PERIODS``
observations gets the last value with a random walk's spread; :meth:`regime` says which, so a
selection weighs each regime on the folds where the model forecast the same way. A model that
fails on a degenerate series (constant, all zero) falls back the same way.

None of them runs by default (see ``forecast.factory.DEFAULT_CANDIDATES``): on the shipped
protocols adding them left the selected forecast unchanged or worse
(``experiments/benchmarks/results/families_accuracy_<data>.json``), and AutoARIMA with a
52-week season costs 11 times the Prophet forecaster on weekly series and 2 processes
(``bench_statsforecast_families.py``, ``results/statsforecast_families.json``).
"""

from __future__ import annotations

from functools import partial

import numpy as np
import pandas as pd

from forecast.engine import Engine, LocalEngine, current_engine
from forecast.errors import ValidationError
from forecast.models.base import (
    Forecaster,
    add_normal_intervals,
    forecast_schema,
    future_dates,
)
from forecast.models.baselines import season_length_for
from forecast.schemas import DS, UNIQUE_ID, YHAT, StatsForecastFamily, Y, interval_columns

MIN_PERIODS = 8  # fewest observations a family is fitted on (statsforecast: "tiny datasets")
FAMILIES: tuple[StatsForecastFamily, ...] = ("auto_ets", "auto_theta", "auto_arima", "mstl")
ETS_MAX_SEASON = 24  # statsforecast's ETS ignores longer seasons
_SPREAD = "sigma_rw"  # the random walk's step spread, carried to the workers with the history


class StatsForecastForecaster(Forecaster):
    """One statsforecast model family per series, with its own prediction intervals.

    Args:
        family: ``auto_ets``, ``auto_theta``, ``auto_arima`` or ``mstl``.
        season_length: periods in a season; None: the frequency's (52 weekly, 12 monthly, 7
            daily).
        n_jobs: worker processes when no engine is set (-1: every core; 1: this process).
        freq: pandas frequency alias; inferred from the frame when None.
    """

    def __init__(self, family: StatsForecastFamily = "auto_theta",
                 season_length: int | None = None, n_jobs: int = -1, freq: str | None = None):
        self.family = family
        self.season_length = season_length
        self.n_jobs = n_jobs
        self.freq = freq

    def _season(self, freq: str) -> int:
        if self.family not in FAMILIES:
            raise ValidationError(f"statsforecast family {self.family!r}: expected one of "
                                  f"{list(FAMILIES)}")
        season = int(self.season_length or season_length_for(freq))
        if season < 1:
            raise ValidationError(f"season_length must be at least 1, got {season}")
        # statsforecast's ETS has no season longer than 24 periods (as R's): AutoETS of weekly
        # data with a 52-week season is non-seasonal, and it is honest to say so.
        return 1 if self.family == "auto_ets" and season > ETS_MAX_SEASON else season

    def regime(self, history: int, freq: str) -> str:
        """"last value" below ``MIN_PERIODS`` periods, "non-seasonal" below two seasons (and
        always for AutoETS with a season over ``ETS_MAX_SEASON``), else "seasonal"."""
        return _regime(history, self._season(freq))

    def _fit(self, frame: pd.DataFrame) -> None:
        season = self._season(self.freq_)
        observed = frame.dropna(subset=[Y])
        counts = observed.groupby(UNIQUE_ID, observed=True).size()
        empty = sorted(set(self.last_ds_.index) - set(counts.index))
        if empty:
            raise ValidationError(f"series frame: series {empty[:5]} have no observed value")
        history = frame[[UNIQUE_ID, DS, Y]].copy()
        # Gaps inside a series are carried forward (the families need a regular series); the
        # periods before a series' first observation are left out.
        history[Y] = history.groupby(UNIQUE_ID, observed=True)[Y].ffill()
        history = history.dropna(subset=[Y])
        steps = history.groupby(UNIQUE_ID, observed=True)[Y].diff()
        spread = np.sqrt((steps ** 2).groupby(history[UNIQUE_ID], observed=True).mean())
        pooled = float(np.nanmedian(spread)) if np.isfinite(spread).any() else 0.0
        history[_SPREAD] = history[UNIQUE_ID].map(spread.fillna(pooled)).astype(float)
        self.season_ = season
        self.history_ = history.astype({UNIQUE_ID: str}).reset_index(drop=True)

    def _predict(self, h: int, future_exog, levels) -> pd.DataFrame:
        future = future_dates(self.last_ds_, h, self.freq_)
        future[UNIQUE_ID] = future[UNIQUE_ID].astype(str)
        data = pd.concat([self.history_, future.assign(**{Y: np.nan})], ignore_index=True)
        out = self._engine().map_groups(data, [UNIQUE_ID], partial(
            forecast_series, family=self.family, season=self.season_, levels=levels),
            forecast_schema(levels))
        id_map = {str(uid): uid for uid in self.last_ds_.index}
        out[UNIQUE_ID] = out[UNIQUE_ID].map(id_map)
        return out.sort_values([UNIQUE_ID, DS], kind="stable")

    def _engine(self) -> Engine:
        return current_engine() or LocalEngine(n_jobs=self.n_jobs)


def _regime(history: int, season: int) -> str:
    if history < MIN_PERIODS:
        return "last value"
    if season == 1 or history < 2 * season:
        return "non-seasonal"
    return "seasonal"


def _model(family: StatsForecastFamily, season: int):
    from statsforecast import models  # slow (numba): imported in the worker that fits

    if family == "auto_ets":
        return models.AutoETS(season_length=season)
    if family == "auto_theta":
        return models.AutoTheta(season_length=season)
    if family == "auto_arima":
        return models.AutoARIMA(season_length=season)
    if season == 1:  # MSTL without a season is its trend forecaster alone
        return models.AutoETS(model="ZZN")
    return models.MSTL(season_length=season, trend_forecaster=models.AutoETS(model="ZZN"))


def forecast_series(group: pd.DataFrame, family: StatsForecastFamily, season: int,
                    levels: tuple[float, ...]) -> pd.DataFrame:
    """The forecast rows of one series: ``group`` holds its history (``y`` observed) and its
    future periods (``y`` missing), sorted by ``ds``; runs in an engine worker."""
    future = group[group[Y].isna()]
    y = group.loc[group[Y].notna(), Y].to_numpy(dtype=float)
    h = len(future)
    out = pd.DataFrame({UNIQUE_ID: future[UNIQUE_ID].to_numpy(), DS: future[DS].to_numpy()})
    regime = _regime(len(y), season)
    # statsforecast names its interval columns by the level as given: lo-80, not lo-80.0.
    keys = {level: int(level) if float(level).is_integer() else level for level in levels}
    made = None
    if regime != "last value":
        model = _model(family, season if regime == "seasonal" else 1)
        try:
            made = model.forecast(y=y, h=h, level=list(keys.values()))
        except (ValueError, ZeroDivisionError, FloatingPointError, np.linalg.LinAlgError):
            made = None  # degenerate series (constant, all zero, ...): the last value
        if made is not None and not np.isfinite(made["mean"]).all():
            made = None
    if made is None:
        sigma = float(group[_SPREAD].iloc[0]) * np.sqrt(np.arange(1, h + 1))
        out[YHAT] = y[-1]
        return add_normal_intervals(out, sigma, levels)
    out[YHAT] = made["mean"]
    for level, key in keys.items():
        lo, hi = interval_columns(level)
        out[lo], out[hi] = made[f"lo-{key}"], made[f"hi-{key}"]
    return out

