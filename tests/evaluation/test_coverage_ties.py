"""Interval metrics that float noise cannot decide: coverage with a relative tolerance, and a
scaled pinball loss that stays defined on series whose actuals are zero (issue 14, points 3, 7)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from forecast.evaluation.metrics import (
    coverage,
    pinball_loss,
    pinball_scale,
    scaled_pinball,
    score_backtest,
)


def _table(y, lo, hi, scale_mae=1.0) -> pd.DataFrame:
    return pd.DataFrame({
        "model": "m", "cutoff": pd.Timestamp("2024-01-01"), "unique_id": "a",
        "y": np.asarray(y, float), "yhat": (np.asarray(lo, float) + np.asarray(hi, float)) / 2,
        "yhat_lo_80": lo, "yhat_hi_80": hi, "scale_mae": scale_mae, "scale_mse": 1.0,
    })


def test_integer_actuals_on_bounds_one_ulp_off_are_inside():
    y = np.array([0.0, 1.0, 2.0, 7.0, 1e6])
    lower = np.nextafter(y, np.inf)   # 2 -> 2 + 4e-16: was "2 < lower", so outside
    upper = np.nextafter(y, -np.inf)  # 2 -> 2 - 4e-16: was "2 > upper", so outside
    assert coverage(y, lower, y + 1) == 1.0
    assert coverage(y, y - 1, upper) == 1.0
    # The same bounds from a sum whose order changed (as between pandas versions).
    sums = np.array([0.1 + 0.2 - 0.3, 0.7 + 0.1 + 1.2, 3.0 - 1e-16 * 3])
    assert coverage(np.array([0.0, 2.0, 3.0]), sums, sums + 5) == 1.0
    table = _table(y, lower, upper)
    assert score_backtest(table).loc[0, "coverage_80"] == 1.0


def test_real_misses_stay_outside_and_missing_values_are_outside():
    y = np.array([2.0, 2.0, 1e6, 1e6, np.nan])
    lower = np.array([2.0 + 1e-6, 0.0, 1e6 + 1.0, 0.0, 0.0])
    upper = np.array([3.0, 2.0 - 1e-6, 2e6, 1e6 - 1.0, 5.0])
    assert coverage(y, lower, upper) == 0.0
    # The tolerance grows with the size of the values: 1e-9 of 1e6 is 1e-3.
    assert coverage(np.array([1e6]), np.array([1e6 + 5e-4]), np.array([2e6])) == 1.0
    assert coverage(np.array([1e6]), np.array([1e6 + 5e-3]), np.array([2e6])) == 0.0


def test_pinball_of_ordinary_series_is_relative_to_mean_absolute_actuals():
    y, lo, hi = np.array([10.0, 20.0, 30.0]), np.array([8.0, 22.0, 25.0]), np.full(3, 28.0)
    expected = (pinball_loss(y, lo, 0.1) + pinball_loss(y, hi, 0.9)) / 2 / 20.0
    assert scaled_pinball(y, lo, hi, 80) == expected
    assert scaled_pinball(y, lo, hi, 80, np.full(3, 1e-3)) == expected
    assert score_backtest(_table(y, lo, hi)).loc[0, "pinball_80"] == expected


def test_pinball_of_a_series_without_sales_uses_its_history_then_its_bounds():
    zero, lo, hi = np.zeros(28), np.zeros(28), np.full(28, 2.0)
    # Loss: the upper bound is the 0.9 quantile: 0.1 * 2 per row, halved with the lower bound.
    assert pinball_scale(zero, lo, hi, np.full(28, 0.5)) == 0.5
    assert scaled_pinball(zero, lo, hi, 80, np.full(28, 0.5)) == pytest.approx(0.1 / 0.5)
    # No history scale either: relative to the bounds, between the tail probabilities.
    assert scaled_pinball(zero, lo, hi, 80, np.zeros(28)) == pytest.approx(0.1)
    assert scaled_pinball(zero, lo + 3, hi + 3, 80) == pytest.approx((0.9 * 3 + 0.1 * 5) / 8)
    assert scaled_pinball(zero, lo, lo, 80, np.zeros(28)) == 0.0
    # Actuals that are zero up to float noise (netted returns) scale as zero does.
    noise = np.where(np.arange(28) % 7 == 0, 3.5e-15, 0.0)
    assert scaled_pinball(noise, lo, hi, 80, np.full(28, 0.5)) == pytest.approx(0.2)


# WAPE and bias of the stopped product divide by its zero sales (not an interval metric).
@pytest.mark.filterwarnings("ignore:divide by zero:RuntimeWarning")
def test_mostly_zero_daily_series_score_finite_and_pooled_like_the_others():
    rng = np.random.default_rng(14)
    days = 56
    sales = np.where(rng.random((3, days)) < 0.1, rng.integers(1, 4, (3, days)), 0).astype(float)
    sales[2] = 0.0  # a product that stopped selling
    frame = pd.concat([
        _table(sales[i], np.zeros(days), np.full(days, 2.0), 0.4).assign(unique_id=f"p{i}")
        for i in range(3)])
    per_series = score_backtest(frame, by=("model", "unique_id")).set_index("unique_id")
    assert np.isfinite(per_series["pinball_80"]).all()
    assert per_series["pinball_80"].max() < 10
    pooled = score_backtest(frame).loc[0, "pinball_80"]
    y = frame["y"].to_numpy()
    assert pooled == pytest.approx(
        (pinball_loss(y, 0.0 * y, 0.1) + pinball_loss(y, 0.0 * y + 2, 0.9)) / 2 / y.mean())
