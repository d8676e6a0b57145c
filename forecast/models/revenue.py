"""The revenue model a planner uses: selected candidates, calibrated intervals, coherent levels.

:func:`build_candidates` makes the configured forecasters; :class:`RevenueModel` holds them
fitted on all the history with the choice (weights per series) and conformal intervals of the
last backtest folds, and forecasts every series of the hierarchy, reconciled so that children
add up to their parents. It is what ``forecast train revenue`` logs to MLflow.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from forecast.config.revenue import RevenueConfig
from forecast.errors import ValidationError
from forecast.evaluation.selection import Selection, apply_selection
from forecast.hierarchy import Hierarchy, reconcile
from forecast.hierarchy.reconcile import usable_method
from forecast.models.base import Forecaster
from forecast.models.baselines import (
    MovingAverageForecaster,
    NaiveForecaster,
    SeasonalGrowthForecaster,
    SeasonalNaiveForecaster,
)
from forecast.models.selection import member_forecasts
from forecast.schemas import DS, UNIQUE_ID, YHAT, H, interval_columns

CAP = "cap"


def build_candidates(
    config: RevenueConfig, freq: str, horizon: int, country: str | None,
) -> dict[str, Forecaster]:
    """The configured candidate forecasters, unfitted.

    Args:
        config: the revenue config (candidates, Prophet and global-model options, regressors).
        freq: pandas frequency alias of the series.
        horizon: periods the global model forecasts directly (its lags start there).
        country: holiday country code for Prophet and the global model's calendar.
    """
    made: dict[str, Forecaster] = {}
    for name in config.candidates:
        if name == "naive":
            made[name] = NaiveForecaster(freq=freq)
        elif name == "seasonal_naive":
            made[name] = SeasonalNaiveForecaster(freq=freq)
        elif name == "seasonal_growth":
            made[name] = SeasonalGrowthForecaster(freq=freq)
        elif name == "moving_average":
            made[name] = MovingAverageForecaster(freq=freq)
        elif name == "prophet":
            made[name] = _prophet(config, freq, horizon, country)
        elif name == "global_hgb":
            made[name] = _global(config, freq, horizon, country)
    return made


def _prophet(config: RevenueConfig, freq: str, horizon: int, country: str | None
             ) -> Forecaster:
    from forecast.models.prophet_model import ProphetForecaster, ProphetSettings

    options = config.prophet
    flat_below = 2 * horizon if options.flat_below is None else options.flat_below
    settings = ProphetSettings(growth=options.growth, seasonality_mode=options.seasonality_mode,
                               uncertainty_samples=options.uncertainty_samples,
                               flat_below=flat_below)
    return ProphetForecaster(settings, country=country, regressors=tuple(config.regressors),
                             n_jobs=config.n_jobs, freq=freq)


def _global(config: RevenueConfig, freq: str, horizon: int, country: str | None) -> Forecaster:
    from forecast.models.global_model import (
        BoostingParams,
        FeatureSpec,
        GlobalForecaster,
        HorizonBlocksForecaster,
    )

    options = config.global_model
    features = FeatureSpec(exog=tuple(config.regressors), level_columns=(),
                           scale_window=options.scale_window,
                           relative_window=options.relative_window)
    boosting = BoostingParams(max_iter=options.max_iter, learning_rate=options.learning_rate,
                              min_samples_leaf=options.min_samples_leaf, loss=options.loss)
    # The ensemble calibrates its own intervals on the backtest, so no holdout refit here.
    model = GlobalForecaster(horizon=horizon, features=features, boosting=boosting,
                             country=country, freq=freq, n_threads=1, holdout_intervals=False)
    blocks = tuple(b for b in options.blocks if b < horizon)
    return HorizonBlocksForecaster(model, blocks, freq=freq) if blocks else model


def add_caps(frame: pd.DataFrame, caps: pd.Series) -> pd.DataFrame:
    """The frame with a ``cap`` column (logistic growth's capacity) from per-series caps."""
    return frame.assign(**{CAP: frame[UNIQUE_ID].map(caps).to_numpy(float)})


@dataclass(frozen=True)
class RevenueModelSettings:
    """What a :class:`RevenueModel` needs besides its fitted parts.

    Attributes:
        series: ``unique_id, grain`` and level columns of every series.
        inflation: spread factor for multi-period totals (see ``hierarchy.periods``).
        horizon: the most periods the model forecasts.
        levels: interval levels.
        regressors: columns known ahead that the candidates use.
        caps: per-series capacity for logistic growth, or None.
    """

    series: pd.DataFrame
    inflation: float
    horizon: int
    levels: tuple[float, ...]
    regressors: tuple[str, ...] = ()
    caps: pd.Series | None = None


class RevenueModel:
    """Fitted candidates + a selection + reconciliation: the forecast of every series.

    Attributes:
        models: name -> forecaster fitted on all the history.
        selection: weights and calibrated intervals from the last backtest folds.
        hierarchy: the series structure, or None for a flat set of series.
        method: reconciliation method ("none", "bottom_up", "ols", "wls_var", "mint_shrink").
        settings: see :class:`RevenueModelSettings`; its fields are also attributes.
    """

    def __init__(self, models: dict[str, Forecaster], selection: Selection,
                 hierarchy: Hierarchy | None, method: str, settings: RevenueModelSettings):
        self.models = models
        self.selection = selection
        self.hierarchy = hierarchy
        self.method = method
        self.series = settings.series
        self.inflation = float(settings.inflation)
        self.horizon = int(settings.horizon)
        self.levels = tuple(settings.levels)
        self.caps = settings.caps
        self.regressors = tuple(settings.regressors)

    def forecast(self, future: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
        """Forecast the periods of ``future`` for every series.

        Args:
            future: ``unique_id, ds, h`` (+ the regressor columns), one row per series and
                future period, ``h`` counting periods after the end of the history.

        Returns:
            ``(reconciled, base)``: frames ``unique_id, ds, h, yhat, yhat_lo_<l>, yhat_hi_<l>``
            with the series' ``grain`` and level columns; ``base`` before reconciliation.
        """
        missing = [c for c in (UNIQUE_ID, DS, H, *self.regressors) if c not in future.columns]
        if missing:
            raise ValidationError(f"future frame: missing column(s) {missing}")
        h = int(future[H].max())
        if h > self.horizon:
            raise ValidationError(
                f"the model was trained to forecast {self.horizon} periods ahead, not {h}; "
                "retrain with a longer revenue.horizon")
        exog = self._exogenous(future)
        if self.caps is not None:
            exog = add_caps(exog, self.caps)
        candidates = member_forecasts(self.models, h, exog, self.levels)
        candidates[H] = candidates.groupby(["model", UNIQUE_ID], sort=False).cumcount() + 1
        base = apply_selection(candidates, self.selection)
        reconciled = base
        if self.hierarchy is not None and self.method != "none":
            residuals = self.selection.residuals
            method = usable_method(self.method, self.hierarchy, residuals)
            reconciled = reconcile(base, self.hierarchy, method, residuals)
        keep = future[[UNIQUE_ID, DS]].assign(**{DS: pd.to_datetime(future[DS])})
        return tuple(self._finish(frame.merge(keep, on=[UNIQUE_ID, DS]))
                     for frame in (reconciled, base))

    def _exogenous(self, future: pd.DataFrame) -> pd.DataFrame:
        """Regressors for every series of the model on the dates of ``future``.

        Series the frame leaves out (a caller asking for a few series) take the first value
        given for the same date: known-ahead regressors are calendar values shared by all.
        """
        given = future[[UNIQUE_ID, DS, *self.regressors]].assign(
            **{DS: pd.to_datetime(future[DS])})
        dates = given[[DS]].drop_duplicates()
        grid = self.series[[UNIQUE_ID]].merge(dates, how="cross")
        exog = grid.merge(given, on=[UNIQUE_ID, DS], how="left")
        if self.regressors:
            by_date = given.groupby(DS)[list(self.regressors)].first()
            fill = by_date.reindex(exog[DS]).set_axis(exog.index)
            exog[list(self.regressors)] = exog[list(self.regressors)].fillna(fill)
        return exog

    def _finish(self, frame: pd.DataFrame) -> pd.DataFrame:
        columns = [UNIQUE_ID, DS, H, YHAT]
        for level in self.levels:
            columns += list(interval_columns(level))
        out = frame[columns].merge(self.series, on=UNIQUE_ID, how="left")
        return out.sort_values([UNIQUE_ID, DS], kind="stable").reset_index(drop=True)

    def predict_frame(self, future: pd.DataFrame) -> pd.DataFrame:
        """The pyfunc entry point: the reconciled forecast of :meth:`forecast`."""
        reconciled, _ = self.forecast(future)
        return pyfunc_output(reconciled)


def pyfunc_output(reconciled: pd.DataFrame) -> pd.DataFrame:
    """A reconciled forecast in the pyfunc's output types (nanosecond dates, 64-bit steps)."""
    return reconciled.assign(**{DS: reconciled[DS].astype("datetime64[ns]")}).astype(
        {H: np.int64})
