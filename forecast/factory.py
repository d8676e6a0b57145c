"""The one place that maps the config to estimators.

An option of the config that configures an estimator defaults to None, meaning the estimator's
own default: only the options that have a value are passed on, so the estimators' ``__init__``
defaults are the one source of defaults. Options that are not the estimator's (the revenue
horizon, the churn tiers and columns) are always passed.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from forecast import periods
from forecast.config import ChurnConfig, RevenueConfig
from forecast.config.revenue import horizon_periods
from forecast.errors import ConfigError
from forecast.hierarchy import reconciler
from forecast.model_selection import RevenueForecaster
from forecast.model_selection.layout import FoldLayout, plan_layout
from forecast.models.base import Forecaster
from forecast.models.baselines import (
    MovingAverageForecaster,
    NaiveForecaster,
    SeasonalGrowthForecaster,
    SeasonalNaiveForecaster,
)
from forecast.models.churn import ChurnModel
from forecast.models.churn_data import build_training_set
from forecast.models.customer_base import CustomerActivity, CustomerBaseForecaster
from forecast.models.global_model import GlobalForecaster, HorizonBlocksForecaster
from forecast.models.intermittent import (
    ADIDAForecaster,
    CrostonSBAForecaster,
    IMAPAForecaster,
    TSBForecaster,
)
from forecast.models.parent_share import ParentShareForecaster
from forecast.models.prophet_model import ProphetForecaster
from forecast.models.statistical import ETSForecaster
from forecast.models.statsforecast_family import FAMILIES, StatsForecastForecaster

_BASELINES = {"naive": NaiveForecaster, "seasonal_naive": SeasonalNaiveForecaster,
              "seasonal_growth": SeasonalGrowthForecaster,
              "moving_average": MovingAverageForecaster, "ets": ETSForecaster,
              "parent_share": ParentShareForecaster}
# Made for sporadic demand (erratic, intermittent, lumpy series): weighted only for those.
_INTERMITTENT = {"croston_sba": CrostonSBAForecaster, "tsb": TSBForecaster,
                 "adida": ADIDAForecaster, "imapa": IMAPAForecaster}
# The candidates of a config that names none: the intermittent ones are fitted only on data
# with such series (see RevenueForecaster), so they cost nothing elsewhere.
# Non-seasonal ETS is there for the level and trend of young, growing or decaying series.
# parent_share is the cold start of series too young for the backtest (hierarchies only).
# statsforecast's families (FAMILIES) are opt-in: see the config's description of candidates.
DEFAULT_CANDIDATES = ("seasonal_naive", "seasonal_growth", "ets", "prophet", "global_hgb",
                      "parent_share", *_INTERMITTENT)
_PROPHET_OPTIONS = ("growth", "seasonality_mode", "uncertainty_samples")
_GLOBAL_OPTIONS = ("max_iter", "learning_rate", "min_samples_leaf", "loss", "scale_window",
                   "relative_window")
_CHURN_OPTIONS = ("candidates", "blend", "splines", "calibration", "cost_missed_churner",
                  "cost_wasted_action", "n_folds", "validation_cutoffs", "seed")
_CHURN_SETTINGS = ("horizon_days", "id_column", "drop_columns", "label_column", "tier_high",
                   "tier_medium", "capacity")


def _given(options: object, names: tuple[str, ...]) -> dict:
    """The named options that have a value (not None), as keyword arguments."""
    values = {name: getattr(options, name) for name in names}
    return {name: value for name, value in values.items() if value is not None}


def revenue_candidates(config: RevenueConfig, freq: str, horizon: int, country: str | None,
                       activity: CustomerActivity | None = None) -> dict[str, Forecaster]:
    """The configured candidate forecasters, unfitted, by name.

    The config's ``candidates``, or :data:`DEFAULT_CANDIDATES` when it names none.

    Args:
        config: the revenue config (candidates, Prophet and global-model options, regressors).
        freq: pandas frequency alias of the series.
        horizon: periods the global model forecasts directly (its lags start there).
        country: holiday country code for Prophet and the global model's calendar.
        activity: the customers' purchase days behind each series, for ``customer_base``
            (the customer-base model: BG/NBD or Pareto/NBD, and Gamma-Gamma); without it that
            candidate cannot be made.

    Raises:
        ConfigError: ``customer_base`` is configured without customer activity.
    """
    made: dict[str, Forecaster] = {}
    for name in config.candidates or DEFAULT_CANDIDATES:
        if name in _BASELINES:
            made[name] = _BASELINES[name](freq=freq)
        elif name in _INTERMITTENT:
            made[name] = _INTERMITTENT[name](freq=freq)
        elif name == "customer_base":
            if activity is None:
                raise ConfigError("revenue candidate customer_base needs the customers' "
                                  "purchases behind each series (CustomerActivity); pass "
                                  "activity, or leave customer_base out of the candidates")
            made[name] = CustomerBaseForecaster(activity=activity, freq=freq)
        elif name in FAMILIES:
            made[name] = StatsForecastForecaster(family=name, freq=freq)
        elif name == "prophet":
            made[name] = prophet(config, freq, horizon, country)
        elif name == "global_hgb":
            made[name] = global_model(config, freq, horizon, country)
    return made


# The most periods of history a series needs before it is backtested, by default.
MIN_HISTORY = 14


def min_history_for(config: RevenueConfig, freq: str) -> int:
    """The config's ``min_history``, or by default two seasons of ``freq`` and at most
    ``MIN_HISTORY`` periods: 14 days, weeks or months, 10 business days, 8 quarters (14
    quarters would hold a young business's quarterly series out of every fold)."""
    if config.min_history is not None:
        return config.min_history
    season = periods.season_length(freq)
    return min(MIN_HISTORY, 2 * season) if season else MIN_HISTORY


def fold_layout(config: RevenueConfig, freq: str, history: int,
                horizon: int | None = None) -> FoldLayout:
    """The backtest layout of the config for ``history`` periods (the longest series): its
    explicit settings, the rest fitted to the history (see ``model_selection.layout``).
    ``horizon``: the periods forecast, when the config's horizon depends on the data
    (``next_quarter``, see ``config.revenue.resolve_horizon``)."""
    return plan_layout(history, horizon or horizon_periods(config.horizon, freq),
                       backtest_h=config.backtest_h, step=config.step,
                       selection_folds=config.selection_folds, eval_folds=config.eval_folds,
                       min_history=min_history_for(config, freq))


def revenue_forecaster(config: RevenueConfig, freq: str, country: str | None,
                       layout: FoldLayout, activity: CustomerActivity | None = None,
                       horizon: int | None = None) -> RevenueForecaster:
    """The configured revenue forecaster, unfitted, with the backtest ``layout``.

    Backtest origins forecast ``layout.h`` periods; the candidates are made to forecast the
    longer of that and the horizon (``horizon`` periods when given, as for
    :func:`fold_layout`), and the backtest measures those same candidates on its first
    ``layout.h`` steps. Logistic growth gives every series a cap of ``cap_multiple`` times its
    largest value.
    """
    horizon = max(layout.h, horizon or horizon_periods(config.horizon, freq))
    cap = config.prophet.cap_multiple if config.prophet.growth == "logistic" else None
    return RevenueForecaster(
        revenue_candidates(config, freq, horizon, country, activity), h=layout.h, horizon=horizon,
        levels=tuple(config.levels), strategy=config.strategy,
        selection_folds=layout.selection_folds, step=layout.step,
        min_history=min_history_for(config, freq), exog=tuple(config.regressors),
        cap_multiple=cap, reconciler=reconciler(config.reconcile))


def prophet(config: RevenueConfig, freq: str, horizon: int, country: str | None
            ) -> ProphetForecaster:
    """Prophet as configured; ``flat_below`` None is twice the horizon."""
    options = config.prophet
    flat_below = 2 * horizon if options.flat_below is None else options.flat_below
    return ProphetForecaster(**_given(options, _PROPHET_OPTIONS), **_given(config, ("n_jobs",)),
                             flat_below=flat_below, country=country,
                             regressors=tuple(config.regressors), freq=freq)


def global_model(config: RevenueConfig, freq: str, horizon: int, country: str | None
                 ) -> GlobalForecaster | HorizonBlocksForecaster:
    """The global model as configured, in horizon blocks when ``blocks`` cut the horizon."""
    options = config.global_model
    # The ensemble calibrates its own intervals on the backtest, so no holdout refit here.
    # The booster takes every core (its library default): the candidates are fitted one after
    # the other, so nothing else runs beside it, and its forecasts are the same to the bit on
    # any number of threads (10,000 weekly series: 26.6 s on one thread, 14.3 s on two).
    model = GlobalForecaster(horizon, exog=tuple(config.regressors), key_columns=(),
                             **_given(options, _GLOBAL_OPTIONS), country=country, freq=freq,
                             n_threads=None, holdout_intervals=False)
    blocks = tuple(b for b in options.blocks if b < horizon)
    return HorizonBlocksForecaster(model, blocks, freq=freq) if blocks else model


def churn_model(config: ChurnConfig) -> ChurnModel:
    """The churn classifier as configured, unfitted."""
    return ChurnModel(**_given(config, _CHURN_OPTIONS),
                      **{name: getattr(config, name) for name in _CHURN_SETTINGS})


def churn_training_set(frame: pd.DataFrame, config: ChurnConfig
                       ) -> tuple[pd.DataFrame, np.ndarray]:
    """``(X, y)`` of a labelled table, its label named by the config (see
    :func:`forecast.models.churn_data.build_training_set`)."""
    return build_training_set(frame, config.label_column, config.positive_label,
                              config.negative_label)


def fit_churn_model(frame: pd.DataFrame, config: ChurnConfig) -> ChurnModel:
    """Train the configured churn model on a labelled table."""
    return churn_model(config).fit(*churn_training_set(frame, config))
