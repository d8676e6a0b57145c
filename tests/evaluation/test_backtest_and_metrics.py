"""Rolling-origin backtest layout, leakage, and metrics worked out by hand."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from forecast.errors import ValidationError
from forecast.evaluation.backtest import BacktestSpec, backtest, make_cutoffs, seasonal_scales
from forecast.evaluation.metrics import (
    bias,
    coverage,
    mase,
    pinball_loss,
    rmsse,
    score_backtest,
    smape,
    wape,
)
from forecast.models.base import Forecaster, future_dates
from forecast.models.baselines import NaiveForecaster


def ramp(n: int = 20, uid: str = "a", start: str = "2024-01-05") -> pd.DataFrame:
    ds = pd.date_range(start, periods=n, freq="W-FRI")
    return pd.DataFrame({"unique_id": uid, "ds": ds, "y": np.arange(1.0, n + 1)})


class LastSeen(Forecaster):
    """Forecasts the last training date's ordinal, so leakage would show."""

    def __init__(self, freq=None):
        self.freq = freq

    def _fit(self, frame):
        self.seen_max_ = frame["ds"].max()

    def _predict(self, h, future_exog, levels):
        out = future_dates(self.last_ds_, h, self.freq_)
        out["yhat"] = float(self.seen_max_.toordinal())
        for level in levels:
            out[f"yhat_lo_{level:g}"] = out["yhat"] - 1
            out[f"yhat_hi_{level:g}"] = out["yhat"] + 1
        return out


def test_cutoffs_count_back_from_the_end_in_periods():
    spec = BacktestSpec(h=13, n_folds=3)
    cutoffs = make_cutoffs(pd.Timestamp("2012-10-26"), spec, "W-FRI")
    assert [c.strftime("%Y-%m-%d") for c in cutoffs] == ["2012-01-27", "2012-04-27", "2012-07-27"]
    step = make_cutoffs(pd.Timestamp("2024-12-31"), BacktestSpec(h=91, n_folds=2, step=7), "D")
    assert (step[1] - step[0]).days == 7


def test_backtest_table_layout_and_no_peeking():
    frame = pd.concat([ramp(uid="a"), ramp(uid="b")])
    table = backtest({"last": LastSeen(), "naive": NaiveForecaster()}, frame,
                     BacktestSpec(h=3, n_folds=2, step=2, levels=(80,)))
    assert {"fold", "cutoff", "unique_id", "ds", "h", "y", "model", "yhat", "yhat_lo_80",
            "yhat_hi_80", "scale_mae", "scale_mse"} <= set(table.columns)
    assert len(table) == 2 * 2 * 2 * 3
    last = table[table["model"] == "last"]
    assert (last["yhat"] == last["cutoff"].map(lambda c: float(c.toordinal()))).all()
    assert (table["ds"] > table["cutoff"]).all()
    naive = table[(table["model"] == "naive") & (table["fold"] == 0)]
    # 20 weekly values, origins at 17 and 19 periods: the naive forecast is y at the origin = 15
    assert (naive["yhat"] == 15.0).all() and naive["h"].tolist() == [1, 2, 3] * 2


def test_backtest_skips_unobserved_targets_and_short_series():
    frame = pd.concat([ramp(uid="a"), ramp(n=4, uid="young", start="2024-04-12")])
    frame.loc[frame["ds"] == frame["ds"].max(), "y"] = np.nan
    table = backtest({"naive": NaiveForecaster()}, frame, BacktestSpec(h=2, n_folds=1,
                                                                        min_history=3))
    assert set(table["unique_id"]) == {"a"}
    assert table["y"].notna().all() and len(table) == 1


def test_too_many_folds_is_an_error():
    with pytest.raises(ValidationError, match="fold 0"):
        backtest({"naive": NaiveForecaster()}, ramp(n=5), BacktestSpec(h=3, n_folds=3))


def test_metric_values_by_hand():
    y, yhat = np.array([10.0, 20.0, 30.0]), np.array([12.0, 18.0, 30.0])
    assert wape(y, yhat) == pytest.approx(4 / 60)
    assert bias(y, yhat) == pytest.approx(0.0)
    assert smape(y, yhat) == pytest.approx(np.mean([4 / 22, 4 / 38, 0]))
    # A zero forecast left at 1e-17 by arithmetic (a reconciled sum of zeros) of a zero actual
    # is exact, not a 200 % error.
    assert smape(np.zeros(3), np.array([1e-17, -1e-17, 0.0])) == 0.0
    assert mase(y, yhat, 2.0) == pytest.approx(4 / 3 / 2)
    assert rmsse(y, yhat, 4.0) == pytest.approx(np.sqrt(8 / 3 / 4))
    assert pinball_loss(y, np.array([11.0, 11.0, 11.0]), 0.9) == pytest.approx(
        (0.1 * 1 + 0.9 * 9 + 0.9 * 19) / 3)
    assert coverage(y, yhat - 1, yhat + 1) == pytest.approx(1 / 3)


def test_seasonal_scale_is_mean_seasonal_difference():
    frame = pd.DataFrame({"unique_id": "a", "ds": pd.date_range("2024-01-01", periods=6),
                          "y": [1.0, 2.0, 4.0, 1.0, 3.0, 7.0]})
    scales = seasonal_scales(frame, 3)
    assert scales.loc["a", "scale_mae"] == pytest.approx((0 + 1 + 3) / 3)
    assert scales.loc["a", "scale_mse"] == pytest.approx((0 + 1 + 9) / 3)


def test_score_backtest_pools_and_splits_by_series():
    table = pd.DataFrame({
        "model": "m", "cutoff": pd.Timestamp("2024-01-01"), "unique_id": ["a", "a", "b", "b"],
        "y": [10.0, 10.0, 100.0, 100.0], "yhat": [11.0, 9.0, 90.0, 100.0],
        "yhat_lo_80": [9.5, 9.5, 95.0, 95.0], "yhat_hi_80": [10.5, 10.5, 105.0, 105.0],
        "scale_mae": [1.0, 1.0, 10.0, 10.0], "scale_mse": [1.0, 1.0, 100.0, 100.0]})
    pooled = score_backtest(table).iloc[0]
    assert pooled["wape"] == pytest.approx(12 / 220)
    assert pooled["mase"] == pytest.approx((1 + 1 + 1 + 0) / 4)
    assert pooled["rmsse"] == pytest.approx((1 + np.sqrt(0.5)) / 2)
    assert pooled["coverage_80"] == 1.0
    per_series = score_backtest(table, by=("model", "unique_id")).set_index("unique_id")
    assert per_series.loc["b", "wape"] == pytest.approx(0.05)
