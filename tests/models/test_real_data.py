"""Real-data checks (slow): the global model on Walmart, Prophet in worker processes."""

from __future__ import annotations

import pandas as pd
import pytest

from forecast.evaluation.backtest import BacktestSpec, backtest
from forecast.evaluation.metrics import score_backtest
from forecast.models.baselines import SeasonalNaiveForecaster
from forecast.models.global_model import GlobalForecaster
from forecast.models.prophet_model import ProphetForecaster


def load_walmart(shared_data) -> pd.DataFrame:
    raw = pd.read_csv(shared_data / "walmart_weekly" / "walmart_store_sales_weekly.csv")
    return pd.DataFrame({"unique_id": raw["Store"].astype(str), "ds": pd.to_datetime(raw["Date"]),
                         "y": raw["Weekly_Sales"], "holiday_flag": raw["Holiday_Flag"] * 1.0})


@pytest.mark.slow
def test_global_model_beats_seasonal_naive_on_walmart(shared_data):
    frame = load_walmart(shared_data)
    spec = BacktestSpec(h=13, n_folds=3, exog=("holiday_flag",), levels=(80,))
    # The booster this figure was recorded with (before absolute_error and 400 iterations).
    model = GlobalForecaster(13, max_iter=300, loss="squared_error", country="US", n_threads=1)
    table = backtest({"global": model,
                      "snaive": SeasonalNaiveForecaster()}, frame, spec)
    scores = score_backtest(table).set_index("model")
    assert scores.loc["global", "wape"] < 0.045 < scores.loc["snaive", "wape"]


@pytest.mark.slow
def test_prophet_in_two_processes_matches_one(shared_data):
    frame = load_walmart(shared_data)
    frame = frame[frame["unique_id"].isin(["1", "2", "3", "4"])][["unique_id", "ds", "y"]]
    settings = {"seasonality_mode": "additive", "uncertainty_samples": 0}
    one = ProphetForecaster(**settings, n_jobs=1).fit(frame).predict(13, levels=())
    two = ProphetForecaster(**settings, n_jobs=2).fit(frame).predict(13, levels=())
    pd.testing.assert_frame_equal(one, two)
