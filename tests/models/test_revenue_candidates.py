"""The configured revenue candidates: names, Prophet's short-history rule, horizon blocks."""

from __future__ import annotations

import pytest

from forecast.config.revenue import RevenueConfig
from forecast.models.baselines import SeasonalGrowthForecaster
from forecast.models.global_model import GlobalForecaster, HorizonBlocksForecaster
from forecast.models.revenue import build_candidates


def test_default_candidates_include_the_seasonal_naive_with_growth():
    made = build_candidates(RevenueConfig(), "W-FRI", 13, "US")
    assert list(made) == ["seasonal_naive", "seasonal_growth", "prophet", "global_hgb"]
    assert isinstance(made["seasonal_growth"], SeasonalGrowthForecaster)
    # Prophet flattens the trend of series shorter than two horizons unless told otherwise.
    assert made["prophet"].settings.flat_below == 26
    config = RevenueConfig(candidates=["prophet"], prophet={"flat_below": 0})
    assert build_candidates(config, "W-FRI", 13, None)["prophet"].settings.flat_below == 0


def test_global_blocks_shorter_than_the_horizon_get_their_own_models():
    config = RevenueConfig(candidates=["global_hgb"], global_model={"blocks": [28, 7, 91, 120]})
    assert config.global_model.blocks == [7, 28, 91, 120]
    model = build_candidates(config, "D", 91, "EC")["global_hgb"]
    assert isinstance(model, HorizonBlocksForecaster)
    assert model.blocks == (7, 28) and model.base.horizon == 91
    assert model.base.boosting.loss == "absolute_error"
    # A horizon no longer than every block: one plain global model.
    assert isinstance(build_candidates(config, "D", 7, "EC")["global_hgb"], GlobalForecaster)
    with pytest.raises(ValueError, match="positive"):
        RevenueConfig(global_model={"blocks": [0, 7]})
