"""The global HistGradientBoosting model: direct lags, scaling, exogenous and holiday features."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from forecast.errors import ValidationError
from forecast.features.holiday_features import build_calendar_features, build_holiday_calendar
from forecast.models.global_model import GlobalForecaster, HorizonBlocksForecaster, default_lags

# A quick booster; squared_error as these tests were written with (the default is absolute_error).
FAST = {"max_iter": 60, "learning_rate": 0.1, "loss": "squared_error"}


def split(frame: pd.DataFrame, h: int):
    cut = frame["ds"].max() - pd.Timedelta(weeks=h)
    return frame[frame["ds"] <= cut], frame[frame["ds"] > cut]


def test_default_lags_are_never_shorter_than_the_horizon():
    lags = default_lags(13, 52, 52)
    assert min(lags) == 13 and {51, 52, 53} <= set(lags)
    assert min(default_lags(91, 7, 364)) == 91


def test_learns_seasonal_panel_and_uses_future_promo(weekly_panel):
    train, test = split(weekly_panel, 13)
    model = GlobalForecaster(horizon=13, **FAST, n_threads=1).fit(train)
    out = model.predict(13, future_exog=test[["unique_id", "ds", "promo"]])
    merged = test.merge(out, on=["unique_id", "ds"])
    assert len(merged) == 6 * 13
    wape = (merged["y"] - merged["yhat"]).abs().sum() / merged["y"].sum()
    assert wape < 0.08
    lift = merged.groupby("promo")["yhat"].sum() / merged.groupby("promo")["y"].sum()
    assert lift[1.0] == pytest.approx(1.0, abs=0.12)
    assert set(model.exog_) == {"promo"} and model.keys_ == ["region"]


@pytest.mark.parametrize("relative_window", [None, 8])
def test_scaling_makes_forecasts_proportional_to_series_size(weekly_panel, relative_window):
    frame = weekly_panel[["unique_id", "ds", "y"]]
    big = frame.assign(y=frame["y"] * 1000.0)
    spec = {"id_as_category": False, "scale_window": 26, "relative_window": relative_window}
    small_fc = GlobalForecaster(13, **spec, **FAST, n_threads=1).fit(frame).predict(13, levels=())
    big_fc = GlobalForecaster(13, **spec, **FAST, n_threads=1).fit(big).predict(13, levels=())
    np.testing.assert_allclose(big_fc["yhat"], small_fc["yhat"] * 1000.0, rtol=1e-6)


def test_requires_future_exog_and_respects_horizon(weekly_panel):
    model = GlobalForecaster(horizon=4, **FAST, n_threads=1).fit(weekly_panel)
    with pytest.raises(ValidationError, match="future_exog"):
        model.predict(4)
    with pytest.raises(ValidationError, match="exceeds the horizon"):
        model.predict(5, future_exog=weekly_panel)
    with pytest.raises(ValidationError, match=">= horizon"):
        GlobalForecaster(horizon=4, lags=(1, 4)).fit(weekly_panel)


def test_holiday_features_mark_the_week_that_contains_the_holiday():
    holidays = pd.DataFrame({"holiday": ["thanksgiving"], "ds": ["2024-11-28"],
                             "lower_window": [0], "upper_window": [1]})
    calendar = build_holiday_calendar(pd.Series(pd.to_datetime(["2024-01-05"])), holidays, None)
    assert calendar.to_dict() == {pd.Timestamp("2024-11-28"): "thanksgiving",
                                  pd.Timestamp("2024-11-29"): "thanksgiving+1"}
    weeks = pd.Series(pd.date_range("2024-11-22", periods=3, freq="W-FRI"))
    features = build_calendar_features(weeks, "W-FRI", calendar)
    assert features["holiday"].astype(str).tolist() == ["none", "thanksgiving", "none"]
    assert features["days_to_holiday"].iloc[0] == 6
    assert features["days_since_holiday"].iloc[2] == 7


def test_country_holidays_and_gaps_are_handled(weekly_panel):
    frame = weekly_panel.drop(index=weekly_panel.index[5:9])[["unique_id", "ds", "y"]]
    model = GlobalForecaster(horizon=8, **FAST, country="US", n_threads=1).fit(frame)
    out = model.predict(8)
    assert out["yhat"].notna().all() and len(out) == 6 * 8
    assert "Christmas Day" in set(model.calendar_.to_numpy())


def test_holdout_intervals_are_wider_than_in_sample_ones(weekly_panel):
    frame = weekly_panel[["unique_id", "ds", "y"]]
    train, _ = split(frame, 8)
    calibrated = GlobalForecaster(8, **FAST, n_threads=1).fit(train)
    raw = GlobalForecaster(8, **FAST, n_threads=1, holdout_intervals=False).fit(train)
    width = {}
    for name, model in (("calibrated", calibrated), ("raw", raw)):
        out = model.predict(8, levels=(80,))
        width[name] = (out["yhat_hi_80"] - out["yhat_lo_80"]).mean()
    assert calibrated.calibrator_ is not None and raw.calibrator_ is None
    assert width["calibrated"] > width["raw"]
    # levels the holdout did not calibrate fall back to normal intervals
    assert calibrated.predict(8, levels=(85,))["yhat_lo_85"].notna().all()


def test_horizon_blocks_take_each_step_from_the_model_of_its_block(weekly_panel):
    train, test = split(weekly_panel, 13)
    exog = test[["unique_id", "ds", "promo"]]
    base = GlobalForecaster(horizon=13, **FAST, n_threads=1, holdout_intervals=False)
    blocked = HorizonBlocksForecaster(base, blocks=(4,)).fit(train)
    assert blocked.ends_ == [4, 13]
    assert [m.horizon for m in blocked.models_] == [4, 13]
    assert min(blocked.models_[0].lags_) == 4 and min(blocked.models_[1].lags_) == 13
    out = blocked.predict(13, exog, levels=(80,))
    near = blocked.models_[0].predict(4, exog, levels=(80,))
    far = blocked.models_[1].predict(13, exog, levels=(80,))
    step = out.groupby("unique_id").cumcount() + 1
    pd.testing.assert_frame_equal(out[step <= 4].reset_index(drop=True),
                                  near.reset_index(drop=True))
    far_step = far.groupby("unique_id").cumcount() + 1
    pd.testing.assert_frame_equal(out[step > 4].reset_index(drop=True),
                                  far[far_step > 4].reset_index(drop=True))
    assert len(blocked.predict(3, exog, levels=())) == 6 * 3
    with pytest.raises(ValidationError, match="exceeds the horizon"):
        blocked.predict(14, exog)
    with pytest.raises(ValidationError, match="between 1 and the horizon"):
        HorizonBlocksForecaster(base, blocks=(20,)).fit(train)


def test_forecasts_are_the_same_on_one_thread_or_two(weekly_panel):
    """The pipeline lets the booster take every core (``factory.global_model``): that is safe
    only because its forecasts do not depend on the number of threads."""
    from forecast import factory
    from forecast.config import RevenueConfig

    frame = weekly_panel[["unique_id", "ds", "y"]]
    one = GlobalForecaster(8, **FAST, n_threads=1).fit(frame).predict(8, levels=(80,))
    two = GlobalForecaster(8, **FAST, n_threads=2).fit(frame).predict(8, levels=(80,))
    pd.testing.assert_frame_equal(one, two, check_exact=True)
    made = factory.global_model(RevenueConfig(), "W-SUN", 8, None)  # no blocks: one booster
    assert isinstance(made, GlobalForecaster) and made.n_threads is None


def test_the_seasonal_growth_feature_is_last_years_value_times_the_growth_since(weekly_panel):
    """On a series that repeats its year grown by 10 %, last year's value times the growth of a
    quarter's window (ending h back) over the same window a year earlier is the value itself;
    rows without two years of the window have none, and the growth is bounded to 1/3-3."""
    from forecast.models.lag_features import seasonal_growth

    t = np.arange(200)
    shape = 1 + 0.5 * np.sin(2 * np.pi * t / 52) + 0.3 * (t % 52 == 47)
    values = 100 * shape * 1.1 ** (t / 52)
    position = t.copy()
    got = seasonal_growth(values, position, horizon=13, year=52, window=13)
    defined = np.isfinite(got)
    assert not defined[: 13 + 52 + 12].any() and defined[13 + 52 + 12:].all()
    np.testing.assert_allclose(got[defined], values[defined], rtol=1e-9)
    jump = np.r_[np.ones(100), 10 * np.ones(100)]
    bounded = seasonal_growth(jump, position, horizon=1, year=52, window=13)
    growth = bounded[52:] / jump[:-52]  # a tenfold jump in a year is growth 3
    assert np.nanmax(growth) == pytest.approx(3.0)
    # Two series one after the other: the second's features never read the first's values.
    both = seasonal_growth(np.r_[values, values], np.r_[position, position], 13, 52, 13)
    np.testing.assert_array_equal(np.isfinite(both[200:]), defined)
    # The model has it as a feature where the frequency has a year, unless switched off.
    frame = weekly_panel[["unique_id", "ds", "y"]]
    for on in (True, False):
        model = GlobalForecaster(horizon=4, **FAST, growth_feature=on).fit(frame)
        assert ("seasonal_growth" in model.feature_names_) is on


@pytest.mark.parametrize("learn_from_stopped", [False, True])
def test_series_that_stopped_do_not_teach_the_model_that_sales_vanish(learn_from_stopped):
    # Generated seasonal products, four of them stopped a year before the origin. Trained on
    # their quiet tails too, the model forecast the four still selling 40 % low.
    from forecast.synth.beds import stopping_and_new

    frame = stopping_and_new(n_series=12, n_weeks=156, seed=0)[["unique_id", "ds", "y"]]
    frame = frame[frame["unique_id"].str.startswith(("steady", "stopped"))]
    history, future = frame[frame["ds"] <= "2024-03-29"], frame[frame["ds"] > "2024-03-29"]
    model = GlobalForecaster(13, n_threads=1, holdout_intervals=False,
                             learn_from_stopped=learn_from_stopped).fit(history)
    assert model.stopped_ == (frozenset() if learn_from_stopped else
                              {"stopped_01", "stopped_04", "stopped_07", "stopped_10"})
    out = model.predict(13).merge(future, on=["unique_id", "ds"])
    steady = out[out["unique_id"].str.startswith("steady")]
    bias = steady["yhat"].sum() / steady["y"].sum() - 1
    if learn_from_stopped:
        assert bias < -0.2
    else:
        assert abs(bias) < 0.08
