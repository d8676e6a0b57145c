"""The factory: configured revenue candidates (names, Prophet's short-history rule, horizon
blocks) and the configured revenue forecaster."""

from __future__ import annotations

import pytest

from forecast.config.revenue import RevenueConfig
from forecast.errors import ConfigError
from forecast.factory import revenue_candidates as build_candidates
from forecast.models.baselines import SeasonalGrowthForecaster
from forecast.models.global_model import GlobalForecaster, HorizonBlocksForecaster


def test_default_candidates_include_the_seasonal_naive_with_growth():
    made = build_candidates(RevenueConfig(), "W-FRI", 13, "US")
    # The models made for sporadic demand are candidates too; they are fitted only on data
    # with such series (tests/model_selection/test_demand_classes.py).
    # parent_share is the cold start of series too young for the backtest; statsforecast's
    # families are opt-in (their cost and accuracy: the config's description of candidates).
    assert list(made) == ["seasonal_naive", "seasonal_growth", "ets", "prophet", "global_hgb",
                          "parent_share", "croston_sba", "tsb", "adida", "imapa"]
    families = RevenueConfig(candidates=["auto_theta", "mstl", "auto_arima", "auto_ets"])
    assert [m.family for m in build_candidates(families, "W-FRI", 13, None).values()] == [
        "auto_theta", "mstl", "auto_arima", "auto_ets"]
    assert isinstance(made["seasonal_growth"], SeasonalGrowthForecaster)
    # Prophet flattens the trend of series shorter than two horizons unless told otherwise.
    assert made["prophet"].flat_below == 26
    config = RevenueConfig(candidates=["prophet"], prophet={"flat_below": 0})
    assert build_candidates(config, "W-FRI", 13, None)["prophet"].flat_below == 0


def test_global_blocks_shorter_than_the_horizon_get_their_own_models():
    config = RevenueConfig(candidates=["global_hgb"], global_model={"blocks": [28, 7, 91, 120]})
    assert config.global_model.blocks == (7, 28, 91, 120)
    model = build_candidates(config, "D", 91, "EC")["global_hgb"]
    assert isinstance(model, HorizonBlocksForecaster)
    assert model.blocks == (7, 28) and model.base.horizon == 91
    assert model.base.loss == "absolute_error"
    # A horizon no longer than every block: one plain global model.
    assert isinstance(build_candidates(config, "D", 7, "EC")["global_hgb"], GlobalForecaster)
    with pytest.raises(ValueError, match="positive"):
        RevenueConfig(global_model={"blocks": [0, 7]})


def test_the_revenue_forecaster_as_configured():
    from forecast.factory import fold_layout, revenue_forecaster
    from forecast.hierarchy import MinTraceShrink, WLSVar

    # 6 months of weekly periods is 26; the backtest forecasts 13 of them from each origin.
    config = RevenueConfig(horizon="6M", backtest_h=13, selection_folds=2, levels=[80],
                           regressors=["holiday_count"], candidates=["seasonal_naive",
                                                                     "global_hgb"])
    layout = fold_layout(config, "W-FRI", history=150)
    assert (layout.h, layout.selection_folds, layout.eval_folds) == (13, 2, 3)
    model = revenue_forecaster(config, "W-FRI", "US", layout)
    assert (model.h, model.horizon, model.selection_folds) == (13, 26, 2)
    assert model.levels == (80,) and model.exog == ("holiday_count",)
    assert model.candidates["global_hgb"].horizon == 26 and model.cap_multiple is None
    assert isinstance(model.reconciler, MinTraceShrink)
    assert isinstance(model.reconciler.fallback, WLSVar)
    logistic = RevenueConfig(prophet={"growth": "logistic", "cap_multiple": 2.0},
                             reconcile="none")
    # The default horizon, next_quarter, depends on where the data end: its periods are given.
    with pytest.raises(ConfigError, match="next_quarter"):
        fold_layout(logistic, "D", 1000)
    made = revenue_forecaster(logistic, "D", None, fold_layout(logistic, "D", 1000, 100), None,
                              100)
    assert made.cap_multiple == 2.0 and made.reconciler is None
    assert (made.h, made.horizon) == (100, 100)


@pytest.mark.parametrize(("freq", "least"), [("D", 14), ("B", 10), ("W-FRI", 14), ("MS", 14),
                                             ("QS-OCT", 8)])
def test_series_need_two_seasons_and_at_most_14_periods_before_a_backtest(freq, least):
    from forecast.factory import fold_layout, min_history_for, revenue_forecaster

    config = RevenueConfig(horizon="3M")
    assert min_history_for(config, freq) == least
    assert min_history_for(RevenueConfig(horizon="3M", min_history=20), freq) == 20
    if freq.startswith("QS"):
        # Superstore by quarter: 15 whole quarters. 14 quarters before the first fold left room
        # for one selection fold and no evaluation (so no accuracy, and one residual period).
        layout = fold_layout(config, freq, 15)
        assert (layout.selection_folds, layout.eval_folds) == (3, 3)
        assert revenue_forecaster(config, freq, None, layout).min_history == 8
