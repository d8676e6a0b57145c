"""Stretch policies and the targets config."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from pydantic import ValidationError as PydanticValidationError

from forecast.config import TargetsConfig, parse_config
from forecast.errors import ConfigError, ValidationError
from forecast.targets.policy import (
    company_target,
    describe_policy,
    management_from_targets,
    own_stretch,
)


def test_quantile_policy_is_the_quantile_of_the_company_forecast():
    # 1000 + z(0.6) x 100 = 1000 + 0.2533471 x 100.
    target = company_target(1000.0, (100.0, 100.0), None, TargetsConfig(stretch_quantile=0.6))
    assert target == pytest.approx(1025.334710, abs=1e-6)
    # z(0.8) = 0.8416212.
    assert company_target(1000.0, (100.0, 100.0), None, TargetsConfig(stretch_quantile=0.8)) == \
        pytest.approx(1084.16212, abs=1e-5)
    # The deviation above the median sets a stretch above it; the one below, one below it.
    assert company_target(1000.0, (100.0, 300.0), None, TargetsConfig(stretch_quantile=0.6)) == \
        pytest.approx(1076.004130, abs=1e-5)
    assert company_target(1000.0, (100.0, 300.0), None, TargetsConfig(stretch_quantile=0.4)) == \
        pytest.approx(974.665290, abs=1e-5)


def test_growth_policy_is_last_year_plus_growth_and_needs_last_year():
    config = TargetsConfig(policy="growth", growth_rate=0.1)
    assert company_target(1000.0, (100.0, 100.0), 450.0, config) == pytest.approx(495.0)
    with pytest.raises(ConfigError, match="same period last year"):
        company_target(1000.0, (100.0, 100.0), None, config)


def test_management_policy_takes_the_config_number_first_then_the_targets_table():
    config = TargetsConfig(policy="management", management_total=1234.5)
    assert company_target(1000.0, (100.0, 100.0), None, config, management_total=999.0) == 1234.5
    from_table = TargetsConfig(policy="management")
    assert company_target(1000.0, (100.0, 100.0), None, from_table, management_total=999.0) == 999.0
    with pytest.raises(ConfigError, match="management_total"):
        company_target(1000.0, (100.0, 100.0), None, from_table)


def test_a_policy_giving_no_positive_target_is_an_error():
    with pytest.raises(ValidationError, match="positive amount"):
        company_target(1000.0, (100.0, 100.0), 0.0, TargetsConfig(policy="growth"))


def test_own_stretch_of_each_unit():
    yhat, sd, last = np.array([100.0, 200.0]), np.array([10.0, 0.0]), np.array([80.0, np.nan])
    quantile = own_stretch(yhat, (sd, sd), last, TargetsConfig(stretch_quantile=0.6))
    np.testing.assert_allclose(quantile, [102.533471, 200.0], atol=1e-6)
    # A stretch above the median reads the deviation above it: a lopsided interval's.
    lopsided = own_stretch(yhat, (sd, 3 * sd), last, TargetsConfig(stretch_quantile=0.6))
    np.testing.assert_allclose(lopsided, [107.600413, 200.0], atol=1e-6)
    growth = own_stretch(yhat, (sd, sd), last, TargetsConfig(policy="growth", growth_rate=0.25))
    assert growth[0] == pytest.approx(100.0) and np.isnan(growth[1])
    assert np.isnan(own_stretch(yhat, (sd, sd), last,
                                TargetsConfig(policy="management"))).all()


def test_management_number_from_the_targets_table_needs_every_month():
    targets = pd.DataFrame({"period": pd.to_datetime(["2027-01-01", "2027-01-01", "2027-02-01"]),
                            "target": [10.0, 5.0, 7.0]})
    months = list(pd.to_datetime(["2027-01-01", "2027-02-01"]))
    assert management_from_targets(targets, months) == 22.0
    assert management_from_targets(targets, [pd.Timestamp("2027-01-01")]) == 15.0
    assert management_from_targets(targets, [*months, pd.Timestamp("2027-03-01")]) is None
    assert management_from_targets(targets.iloc[0:0], months) is None


def test_describe_policy_names_the_numbers():
    assert "60% quantile" in describe_policy(TargetsConfig())
    assert "probability 40%" in describe_policy(TargetsConfig())
    assert "plus 5.0%" in describe_policy(TargetsConfig(policy="growth"))


def test_config_defaults_and_validation(tmp_path):
    config = TargetsConfig()
    assert (config.policy, config.stretch_quantile, config.decomposition) == \
        ("quantile", 0.6, "forecast_share")
    assert config.levels is None and config.mismatch_tolerance == 0.05
    with pytest.raises(PydanticValidationError, match="order region, team, rep"):
        TargetsConfig(levels=["team", "region"])
    with pytest.raises(PydanticValidationError, match="leading levels"):
        TargetsConfig(levels=["region", "team"], forecast_levels=["team"])
    with pytest.raises(PydanticValidationError):
        TargetsConfig(stretch_quantile=1.0)
    with pytest.raises(ConfigError, match="targets.stretch_quantil: unknown key"):
        parse_config({"workspace": "ws", "targets": {"stretch_quantil": 0.7}}, tmp_path)
    parsed = parse_config({"workspace": "ws", "targets": {"policy": "growth",
                                                          "growth_rate": 0.08}}, tmp_path)
    assert parsed.targets.growth_rate == 0.08
