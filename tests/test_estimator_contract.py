"""The scikit-learn estimator contract, for every estimator; config and factory defaults.

Every estimator shows its hyperparameters as flat ``__init__`` arguments stored under the same
names, so ``clone``, ``get_params`` and ``set_params`` (nested ones too) work, and a clone of a
fitted estimator is unfitted. The config leaves each model option at None, meaning the
estimator's default, and :mod:`forecast.factory` passes only the options that have a value.

To cover a new estimator, add a :class:`Case` to :data:`CASES`; a package holding estimators is
added to :data:`PACKAGES`, so none of its estimators can be left out.
"""

from __future__ import annotations

import functools
import importlib
import inspect
import pkgutil
import typing
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pytest
from pydantic import BaseModel
from sklearn.base import BaseEstimator, clone

import forecast.config
from forecast import factory
from forecast.config import ChurnConfig, Config, RevenueConfig, SynthOptions
from forecast.hierarchy import OLS, BottomUp, MinTraceShrink, Reconciler, WLSVar
from forecast.model_selection import CombinationForecaster, RevenueForecaster
from forecast.models.base import Forecaster
from forecast.models.baselines import (
    MovingAverageForecaster,
    NaiveForecaster,
    SeasonalGrowthForecaster,
    SeasonalNaiveForecaster,
)
from forecast.models.churn import ChurnModel
from forecast.models.conformal import ConformalCalibrator
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
from forecast.models.statsforecast_family import StatsForecastForecaster

# Packages whose estimators must all be in CASES.
PACKAGES = ("forecast.models", "forecast.model_selection", "forecast.hierarchy")
# Base classes that are not estimators of their own.
ABSTRACT = (Forecaster, Reconciler)


@functools.cache
def weekly_panel() -> pd.DataFrame:
    """Three weekly series of two years: a yearly wave and noise."""
    rng = np.random.default_rng(0)
    ds = pd.date_range("2022-01-07", periods=104, freq="W-FRI")
    wave = 1 + 0.3 * np.sin(2 * np.pi * np.arange(104) / 52)
    return pd.concat([pd.DataFrame({"unique_id": f"s{i}", "ds": ds,
                                    "y": 100.0 * (i + 1) * wave * rng.uniform(0.95, 1.05, 104)})
                      for i in range(3)], ignore_index=True)


@functools.cache
def customers() -> tuple[pd.DataFrame, np.ndarray]:
    """One row per customer: a numeric and a categorical feature, and a label they explain."""
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"customer_id": [f"c{i}" for i in range(200)],
                          "recency_days": rng.integers(1, 200, 200).astype(float),
                          "segment": rng.choice(["small", "large"], 200)})
    logit = 0.03 * (frame["recency_days"] - 100) + (frame["segment"] == "small")
    return frame, (rng.uniform(size=200) < 1 / (1 + np.exp(-logit))).astype(int)


@functools.cache
def panel_activity() -> CustomerActivity:
    """Purchase days of 60 customers behind each series of :func:`weekly_panel`."""
    rng = np.random.default_rng(0)
    first = pd.Timestamp("2022-01-07")
    rows = []
    for i in range(3):
        for c in range(60):
            start = int(rng.integers(0, 300))
            days = np.unique(np.r_[start, rng.integers(start, 728, rng.poisson(6))])
            rows += [(f"s{i}", f"c{c}", first + pd.Timedelta(days=int(d)),
                      float(rng.uniform(10, 50))) for d in days]
    return CustomerActivity(pd.DataFrame(rows, columns=["unique_id", "customer_id", "ds",
                                                        "amount"]))


def fit_forecaster(model: Forecaster) -> Forecaster:
    return model.fit(weekly_panel())


def fit_classifier(model: ChurnModel) -> ChurnModel:
    return model.fit(*customers())


def fit_calibrator(model: ConformalCalibrator) -> ConformalCalibrator:
    rng = np.random.default_rng(0)
    yhat = rng.uniform(50, 150, 300)
    table = pd.DataFrame({"h": np.tile([1, 2, 3], 100), "yhat": yhat,
                          "y": yhat * rng.uniform(0.9, 1.1, 300)})
    return model.fit(table)


@dataclass(frozen=True)
class Case:
    """An estimator as it is made, and how it is fitted on small data.

    Attributes:
        make: returns the unfitted estimator, with parameters that keep its fit quick.
        fit: fits it and returns it; None for an estimator without a fit (a reconciler).
        nested: a ``<component>__<parameter>`` of a nested estimator and a value for it.
    """

    make: Callable[[], BaseEstimator]
    fit: Callable[[BaseEstimator], BaseEstimator] | None
    nested: tuple[str, object] | None = None


FAST_BOOSTING = {"max_iter": 20, "n_threads": 1}
CASES = {
    "naive": Case(NaiveForecaster, fit_forecaster),
    "seasonal_naive": Case(SeasonalNaiveForecaster, fit_forecaster),
    "seasonal_growth": Case(SeasonalGrowthForecaster, fit_forecaster),
    "moving_average": Case(MovingAverageForecaster, fit_forecaster),
    "croston_sba": Case(CrostonSBAForecaster, fit_forecaster),
    "tsb": Case(TSBForecaster, fit_forecaster),
    "adida": Case(ADIDAForecaster, fit_forecaster),
    "imapa": Case(IMAPAForecaster, fit_forecaster),
    "ets": Case(ETSForecaster, fit_forecaster),
    "customer_base": Case(lambda: CustomerBaseForecaster(panel_activity()), fit_forecaster),
    "statsforecast": Case(lambda: StatsForecastForecaster(n_jobs=1), fit_forecaster),
    "parent_share": Case(lambda: ParentShareForecaster(base=NaiveForecaster()), fit_forecaster,
                         nested=("base__freq", "W-FRI")),
    "prophet": Case(lambda: ProphetForecaster(uncertainty_samples=0, n_jobs=1), fit_forecaster),
    "global": Case(lambda: GlobalForecaster(4, **FAST_BOOSTING), fit_forecaster),
    "horizon_blocks": Case(
        lambda: HorizonBlocksForecaster(
            GlobalForecaster(8, holdout_intervals=False, **FAST_BOOSTING), blocks=(4,)),
        fit_forecaster, nested=("base__max_iter", 5)),
    "churn": Case(lambda: ChurnModel(candidates=("logistic",), blend=False, splines=False,
                                     n_folds=3), fit_classifier),
    "conformal": Case(ConformalCalibrator, fit_calibrator),
    "revenue": Case(
        lambda: RevenueForecaster({"naive": NaiveForecaster(), "snaive": SeasonalNaiveForecaster()},
                                  h=4, selection_folds=2, reconciler=MinTraceShrink(WLSVar())),
        fit_forecaster, nested=("reconciler__fallback", OLS())),
    "combination": Case(
        lambda: CombinationForecaster({"naive": NaiveForecaster(), "snaive":
                                       SeasonalNaiveForecaster()}), fit_forecaster),
    "bottom_up": Case(BottomUp, None),
    "ols": Case(OLS, None),
    "wls_var": Case(WLSVar, None),
    "mint_shrink": Case(lambda: MinTraceShrink(fallback=WLSVar()), None),
}


def _estimator_classes() -> set[type]:
    found = set()
    for package in PACKAGES:
        root = importlib.import_module(package)
        for info in pkgutil.iter_modules(root.__path__, f"{package}."):
            module = importlib.import_module(info.name)
            found |= {cls for _, cls in inspect.getmembers(module, inspect.isclass)
                      if issubclass(cls, BaseEstimator) and cls.__module__ == module.__name__
                      and not cls.__name__.startswith("_") and cls not in ABSTRACT}
    return found


def _plain(params: dict) -> dict:
    """The parameters that are not estimators themselves (those are compared by theirs); a
    mapping of estimators (an ensemble's candidates) compares by each one's class and params."""
    plain = {}
    for key, value in params.items():
        if isinstance(value, BaseEstimator):
            continue
        if isinstance(value, dict) and any(isinstance(v, BaseEstimator) for v in value.values()):
            value = {k: (type(v), _plain(v.get_params(deep=True))) for k, v in value.items()}
        plain[key] = value
    return plain


def _fitted_state(estimator: BaseEstimator) -> list[str]:
    return [name for name in vars(estimator) if name.endswith("_") and not name.startswith("__")]


def test_every_estimator_is_checked():
    checked = {type(case.make()) for case in CASES.values()}
    assert _estimator_classes() <= checked, "add a Case for every estimator to CASES"


@pytest.mark.parametrize("name", CASES)
def test_init_stores_its_arguments_under_their_names(name):
    estimator = CASES[name].make()
    names = estimator._get_param_names()
    assert set(vars(estimator)) == set(names)
    assert all(getattr(estimator, n) is v for n, v in estimator.get_params(deep=False).items())


@pytest.mark.parametrize("name", CASES)
def test_clone_keeps_every_parameter(name):
    estimator = CASES[name].make()
    copy = clone(estimator)
    assert copy is not estimator
    assert _plain(copy.get_params(deep=True)) == _plain(estimator.get_params(deep=True))
    assert sorted(copy.get_params(deep=True)) == sorted(estimator.get_params(deep=True))


@pytest.mark.parametrize("name", CASES)
def test_set_params_sets_each_parameter(name):
    estimator = CASES[name].make()
    for param in estimator.get_params(deep=False):
        marker = object()
        assert estimator.set_params(**{param: marker}) is estimator
        assert estimator.get_params(deep=False)[param] is marker


@pytest.mark.parametrize("name", [n for n, case in CASES.items() if case.nested])
def test_set_params_reaches_nested_estimators(name):
    estimator = CASES[name].make()
    param, value = CASES[name].nested
    estimator.set_params(**{param: value})
    assert estimator.get_params(deep=True)[param] == value
    component, inner = param.split("__", 1)
    assert getattr(getattr(estimator, component), inner) == value


@pytest.mark.parametrize("name", [n for n, case in CASES.items() if case.fit is not None])
def test_a_clone_of_a_fitted_estimator_is_unfitted(name):
    case = CASES[name]
    fitted = case.fit(case.make())
    assert _fitted_state(fitted)
    copy = clone(fitted)
    assert _fitted_state(copy) == []
    assert _plain(copy.get_params(deep=True)) == _plain(fitted.get_params(deep=True))


def test_global_model_params_are_flat():
    model = GlobalForecaster(13)
    model.set_params(max_iter=5, loss="squared_error", scale_window=26)
    assert model.get_params()["max_iter"] == 5
    blocks = HorizonBlocksForecaster(model, blocks=(4,))
    assert clone(blocks).get_params()["base__loss"] == "squared_error"


MODEL_OPTIONS = {
    "prophet": ("seasonality_mode", "growth", "uncertainty_samples"),
    "global_model": ("max_iter", "learning_rate", "min_samples_leaf", "loss", "scale_window",
                     "relative_window"),
    "revenue": ("n_jobs",),
    "churn": ("candidates", "blend", "splines", "calibration", "cost_missed_churner",
              "cost_wasted_action", "n_folds", "validation_cutoffs", "seed"),
}


def _defaults(cls: type) -> dict:
    return {name: p.default for name, p in inspect.signature(cls.__init__).parameters.items()
            if p.default is not inspect.Parameter.empty}


def test_config_leaves_model_options_to_the_estimators():
    revenue, churn = RevenueConfig(), ChurnConfig()
    sections = {"prophet": revenue.prophet, "global_model": revenue.global_model,
                "revenue": revenue, "churn": churn}
    for section, names in MODEL_OPTIONS.items():
        values = {name: getattr(sections[section], name) for name in names}
        assert values == dict.fromkeys(names), section


def test_the_factory_gives_the_estimators_their_own_defaults():
    made = factory.revenue_candidates(RevenueConfig(), "W-FRI", 13, None)
    prophet, booster = made["prophet"].get_params(), made["global_hgb"].get_params()
    for name in (*MODEL_OPTIONS["prophet"], "n_jobs"):
        assert prophet[name] == _defaults(ProphetForecaster)[name], name
    for name in MODEL_OPTIONS["global_model"]:
        assert booster[name] == _defaults(GlobalForecaster)[name], name
    model = factory.churn_model(ChurnConfig())
    for name in MODEL_OPTIONS["churn"]:
        assert model.get_params()[name] == _defaults(ChurnModel)[name], name


def test_the_factory_passes_the_options_that_are_set():
    config = RevenueConfig(n_jobs=2, prophet={"seasonality_mode": "additive"},
                           global_model={"max_iter": 50, "loss": "poisson", "blocks": [4]})
    made = factory.revenue_candidates(config, "W-FRI", 13, "US")
    assert made["prophet"].get_params()["seasonality_mode"] == "additive"
    assert made["prophet"].n_jobs == 2 and made["prophet"].flat_below == 26
    assert made["global_hgb"].get_params()["base__max_iter"] == 50
    assert made["global_hgb"].get_params()["base__loss"] == "poisson"
    churn = ChurnConfig(candidates=["logistic"], seed=3, tier_high=0.6, id_column="id")
    params = factory.churn_model(churn).get_params()
    assert (params["candidates"], params["seed"]) == (("logistic",), 3)
    assert (params["tier_high"], params["id_column"], params["n_folds"]) == (0.6, "id", 5)


def _config_models() -> list[type[BaseModel]]:
    found, todo = [], [Config, SynthOptions]
    while todo:
        model = todo.pop()
        if model in found:
            continue
        found.append(model)
        for field in model.model_fields.values():
            todo += [t for t in _types(field.annotation)
                     if isinstance(t, type) and issubclass(t, BaseModel)]
    return found


def _types(annotation) -> list:
    return [annotation, *(t for arg in typing.get_args(annotation) for t in _types(arg))]


def test_config_holds_tuples_not_lists():
    assert RevenueConfig(levels=[80, 90]).levels == (80, 90)
    with pytest.raises(AttributeError):
        RevenueConfig().levels.append(99)
    models = _config_models()
    assert forecast.config.RevenueConfig in models and forecast.config.SourceConfig in models
    for model in models:
        for name, field in model.model_fields.items():
            origins = {typing.get_origin(t) or t for t in _types(field.annotation)}
            assert list not in origins, f"{model.__name__}.{name} is a list: make it a tuple"
