"""Metrics on series whose actuals or in-sample scales are zero: defined, finite when pooled,
and never a division by zero (no RuntimeWarning)."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from forecast.evaluation.backtest import BacktestSpec, backtest
from forecast.evaluation.metrics import bias, mase, rmsse, score_backtest, wape
from forecast.models.baselines import NaiveForecaster


def _table() -> pd.DataFrame:
    """A selling series, one that never sold (zero actuals, zero scale) and one that sold for
    the first time after a constant history (a zero scale under real actuals)."""
    rows = {"sells": ([10.0, 12.0], [11.0, 11.0], 2.0),
            "never": ([0.0, 0.0], [0.0, 0.5], 0.0),
            "first": ([3.0, 0.0], [0.0, 0.0], 0.0)}
    pieces = [pd.DataFrame({"model": "m", "cutoff": pd.Timestamp("2024-01-01"),
                            "unique_id": uid, "y": y, "yhat": yhat,
                            "yhat_lo_80": np.array(yhat) - 1, "yhat_hi_80": np.array(yhat) + 1,
                            "scale_mae": scale, "scale_mse": scale ** 2})
              for uid, (y, yhat, scale) in rows.items()]
    return pd.concat(pieces, ignore_index=True)


def test_pooled_metrics_are_finite_and_per_series_ones_defined_without_warnings():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        pooled = score_backtest(_table()).iloc[0]
        per_series = score_backtest(_table(), by=("model", "unique_id")).set_index("unique_id")
    numbers = pooled.drop(["model"]).astype(float)
    assert np.isfinite(numbers).all(), numbers
    # MASE and RMSSE are those of the series with a scale; WAPE and bias pool every row.
    assert pooled["mase"] == pytest.approx(1 / 2)
    assert pooled["rmsse"] == pytest.approx(np.sqrt(1 / 4))
    assert pooled["wape"] == pytest.approx((1 + 1 + 0.5 + 3) / 25)
    # Without a sale (WAPE, bias) or a scale (MASE, RMSSE) a series' own figure is undefined.
    assert per_series.loc["never", ["wape", "bias", "mase", "rmsse"]].isna().all()
    assert np.isfinite(per_series.loc["never", ["coverage_80", "pinball_80", "smape"]].astype(
        float)).all()
    assert per_series.loc["first", "wape"] == pytest.approx(1.0)


def test_the_metric_functions_leave_zero_scales_out():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert mase([1.0, 2.0], [0.0, 0.0], [0.0, 2.0]) == pytest.approx(1.0)
        assert rmsse([1.0, 2.0], [0.0, 0.0], [np.nan, 4.0]) == pytest.approx(1.0)
        assert np.isnan(mase([1.0], [0.0], 0.0)) and np.isnan(wape([0.0], [1.0]))
        assert np.isnan(bias([0.0], [0.0]))


def test_a_backtest_with_a_series_that_has_not_sold_yet_scores_finite():
    ds = pd.date_range("2024-01-01", periods=30)
    steady = pd.DataFrame({"unique_id": "steady", "ds": ds, "y": 5.0 + np.arange(30) % 3})
    late = pd.DataFrame({"unique_id": "late", "ds": ds,
                         "y": np.r_[np.zeros(24), [2.0, 0, 3, 0, 1, 0]]})
    frame = pd.concat([steady, late], ignore_index=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        table = backtest({"naive": NaiveForecaster()}, frame, BacktestSpec(h=7, n_folds=2))
        scores = score_backtest(table).iloc[0]
    assert np.isfinite(scores.drop("model").astype(float)).all()
