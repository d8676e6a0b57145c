"""Conformal intervals: coverage on fresh errors, horizon-dependent widths, bias handling."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from forecast.errors import ValidationError
from forecast.models.conformal import ConformalCalibrator


def errors_table(n: int, seed: int, bias: float = 0.0) -> pd.DataFrame:
    """Relative errors whose spread grows with the step: sd = 0.02 * h."""
    rng = np.random.default_rng(seed)
    h = np.tile(np.arange(1, 6), n)
    yhat = rng.uniform(50, 500, len(h))
    y = yhat * (1 + bias + 0.02 * h * rng.standard_normal(len(h)))
    return pd.DataFrame({"unique_id": np.repeat(np.arange(n), 5), "h": h, "y": y, "yhat": yhat})


def test_calibrated_intervals_cover_fresh_errors_at_nominal_rate():
    calibrator = ConformalCalibrator(levels=(80, 95), min_samples=200).fit(errors_table(600, 0))
    fresh = errors_table(2000, 1)
    out = calibrator.transform(fresh.drop(columns="y"))
    for level in (80, 95):
        inside = (fresh["y"] >= out[f"yhat_lo_{level}"]) & (fresh["y"] <= out[f"yhat_hi_{level}"])
        assert inside.mean() == pytest.approx(level / 100, abs=0.02)
    width = (out["yhat_hi_80"] - out["yhat_lo_80"]) / out["yhat"]
    by_step = width.groupby(fresh["h"]).mean()
    assert by_step.is_monotonic_increasing
    assert by_step[5] / by_step[1] == pytest.approx(5, rel=0.25)


def test_biased_errors_give_asymmetric_intervals():
    calibrator = ConformalCalibrator(levels=(80,), by_horizon=False).fit(
        errors_table(500, 2, bias=0.1))
    out = calibrator.transform(pd.DataFrame({"unique_id": 1, "ds": pd.date_range(
        "2024-01-01", periods=2), "yhat": [100.0, 100.0]}))
    assert (out["yhat_lo_80"] > 100).all()


def test_steps_beyond_calibration_widen_the_last_step_and_models_are_separate():
    """Step 9 was never measured (folds of 5 steps): its bounds are step 5's, widened as a
    random walk's errors grow, by sqrt(9 / 5), never as narrow as a measured step."""
    table = pd.concat([errors_table(100, 3).assign(model="a"),
                       errors_table(100, 4).assign(model="b")])
    calibrator = ConformalCalibrator(levels=(80,), min_samples=50).fit(table)
    forecast = pd.DataFrame({"unique_id": 1, "h": [5, 9], "yhat": [100.0, 100.0]})
    out = calibrator.transform(forecast, model="a")
    offsets = out[["yhat_lo_80", "yhat_hi_80"]].to_numpy() - 100.0
    np.testing.assert_allclose(offsets[1], offsets[0] * np.sqrt(9 / 5))
    with pytest.raises(ValidationError, match="no calibration"):
        calibrator.transform(forecast)
