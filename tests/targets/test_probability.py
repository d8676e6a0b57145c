"""P(actual >= target) under Normal(yhat, yhat_sd), and normal quantiles."""

from __future__ import annotations

import numpy as np
import pytest

from forecast.targets.probability import normal_quantile, probability_of_reaching


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
    assert float(normal_quantile(1000.0, 100.0, 0.6)) == pytest.approx(1025.334710, abs=1e-6)
    for q in (0.1, 0.5, 0.6, 0.9):
        target = normal_quantile(5e6, 3e5, q)
        assert float(probability_of_reaching(target, 5e6, 3e5)) == pytest.approx(1 - q)


def test_quantile_must_lie_inside_zero_and_one():
    with pytest.raises(ValueError, match="strictly between"):
        normal_quantile(1.0, 1.0, 1.0)
