"""P(actual >= target) under the forecast distribution, and its quantiles."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from forecast.hierarchy.distribution import forecast_quantile, probability_of_reaching, sides


def test_probability_by_hand():
    # 1 - Phi(0) = 0.5; 1 - Phi(1) = 0.158655; 1 - Phi(-2) = Phi(2) = 0.977250.
    p = probability_of_reaching([1000.0, 1100.0, 800.0], 1000.0, 100.0)
    np.testing.assert_allclose(p, [0.5, 0.1586553, 0.9772499], atol=1e-7)


def test_probability_without_spread_is_certain_or_impossible_and_unknown_without_sd():
    p = probability_of_reaching([900.0, 1000.0, 1000.01, 5.0], [1000.0, 1000.0, 1000.0, 1.0],
                                [0.0, 0.0, 0.0, np.nan])
    assert p[:3].tolist() == [1.0, 1.0, 0.0]
    assert np.isnan(p[3])


def test_quantile_target_is_reached_with_one_minus_q():
    # z(0.6) = 0.2533471, so the 60% quantile of N(1000, 100) is 1025.33471.
    assert float(forecast_quantile(1000.0, 100.0, 0.6)) == pytest.approx(1025.334710, abs=1e-6)
    for q in (0.1, 0.5, 0.6, 0.9):
        target = forecast_quantile(5e6, 3e5, q)
        assert float(probability_of_reaching(target, 5e6, 3e5)) == pytest.approx(1 - q)


def test_quantile_must_lie_inside_zero_and_one():
    with pytest.raises(ValueError, match="strictly between"):
        forecast_quantile(1.0, 1.0, 1.0)


def test_a_lopsided_interval_is_the_distributions_own():
    # Superstore by quarter: the company's 2023-Q1 forecast 136,619, its calibrated 80 %
    # interval 117,623 to 210,593. One Normal with the interval's width gave its upper bound a
    # 2.1 % chance and put the 60 % stretch at 145,808.
    row = pd.DataFrame({"yhat": [136_619.0], "yhat_sd": [36_272.25],
                        "yhat_lo_80": [117_623.0], "yhat_hi_80": [210_593.0]})
    below, above = sides(row)
    reach = probability_of_reaching([210_593.0, 117_623.0, 136_619.0], 136_619.0, below, above)
    np.testing.assert_allclose(reach, [0.1, 0.9, 0.5], atol=1e-9)
    stretch = float(forecast_quantile(136_619.0, below, 0.6, above)[0])
    assert stretch == pytest.approx(136_619.0 + 0.2533471 * (210_593.0 - 136_619.0) / 1.2815516)
    assert float(probability_of_reaching(stretch, 136_619.0, below, above)[0]) == pytest.approx(0.4)
    assert float(probability_of_reaching(210_593.0, 136_619.0, 36_272.25)) < 0.03  # one Normal
    # Without an interval both sides are yhat_sd: one Normal.
    plain = sides(row.drop(columns=["yhat_lo_80", "yhat_hi_80"]))
    assert [float(v[0]) for v in plain] == [36_272.25, 36_272.25]
