"""Frame checks, frequencies, the regular grid and the baselines, on hand-worked series."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from forecast.errors import ValidationError
from forecast.models.base import (
    check_series_frame,
    future_dates,
    infer_freq,
    output_columns,
    regularize,
)
from forecast.models.baselines import (
    MovingAverageForecaster,
    NaiveForecaster,
    SeasonalGrowthForecaster,
    SeasonalNaiveForecaster,
    year_length_for,
)
from forecast.schemas import interval_columns


def weekly(values, start="2024-01-05", uid="a", freq="W-FRI"):
    ds = pd.date_range(start, periods=len(values), freq=freq)
    return pd.DataFrame({"unique_id": uid, "ds": ds, "y": np.asarray(values, float)})


def test_interval_column_names():
    assert interval_columns(80) == ("yhat_lo_80", "yhat_hi_80")
    assert interval_columns(97.5) == ("yhat_lo_97.5", "yhat_hi_97.5")
    assert output_columns((80,)) == ["unique_id", "ds", "yhat", "yhat_lo_80", "yhat_hi_80"]


@pytest.mark.parametrize("freq", ["W-FRI", "W-MON", "W-SUN", "D", "MS"])
def test_infer_freq_keeps_the_weekly_anchor(freq):
    frame = weekly(range(12), start="2024-01-01", freq=freq)
    assert infer_freq(frame["ds"]) == freq


def test_check_series_frame_names_the_problem():
    with pytest.raises(ValidationError, match="missing column"):
        check_series_frame(pd.DataFrame({"ds": [], "y": []}))
    dup = pd.concat([weekly([1, 2]), weekly([3])])
    with pytest.raises(ValidationError, match="duplicate"):
        check_series_frame(dup)


def test_regularize_fills_gaps_and_carries_keys():
    frame = weekly([1, 2, 3, 4]).assign(region="north").drop(index=[1, 2])
    out = regularize(frame.reset_index(drop=True), "W-FRI")
    assert len(out) == 4
    assert out["y"].isna().tolist() == [False, True, True, False]
    assert (out["region"] == "north").all()


def test_future_dates_follow_each_series_end():
    last = pd.Series(pd.to_datetime(["2024-03-01", "2024-03-08"]), index=["a", "b"])
    out = future_dates(last, 2, "W-FRI")
    assert out["ds"].dt.strftime("%m-%d").tolist() == ["03-08", "03-15", "03-15", "03-22"]
    assert (out["ds"].dt.day_of_week == 4).all()


def test_naive_repeats_last_observed_value_and_widens():
    frame = weekly([1, 2, 4, np.nan]).dropna()
    out = NaiveForecaster().fit(frame).predict(3, levels=(80,))
    assert out["yhat"].tolist() == [4.0, 4.0, 4.0]
    width = (out["yhat_hi_80"] - out["yhat_lo_80"]).to_numpy()
    # one-step errors 1 and 2: sigma = sqrt(2.5); width grows with sqrt(step)
    assert width[0] == pytest.approx(2 * 1.2815516 * np.sqrt(2.5), rel=1e-5)
    assert width[2] / width[0] == pytest.approx(np.sqrt(3))


def test_seasonal_naive_uses_last_observed_value_per_season_position():
    values = [10, 20, 30, 11, 21, 31, 12, np.nan, 32]
    frame = weekly(values).dropna()
    model = SeasonalNaiveForecaster(season_length=3).fit(frame)
    out = model.predict(4, levels=())
    # position 2 of the last season is missing: fall back one season to 21
    assert out["yhat"].tolist() == [12.0, 21.0, 32.0, 12.0]
    assert list(out.columns) == ["unique_id", "ds", "yhat"]


def test_seasonal_growth_scales_last_season_by_growth_over_the_window():
    frame = weekly([10, 20, 30, 12, 22, 33])
    model = SeasonalGrowthForecaster(season_length=3, window=2).fit(frame)
    out = model.predict(4, levels=(80,))
    # growth = (22 + 33) / (20 + 30) = 1.1 on last season's 12, 22, 33
    assert out["yhat"].to_numpy() == pytest.approx([13.2, 24.2, 36.3, 13.2])
    assert (out["yhat_lo_80"] < out["yhat"]).all() and (out["yhat"] < out["yhat_hi_80"]).all()
    width = (out["yhat_hi_80"] - out["yhat_lo_80"]).to_numpy()
    assert width[3] / width[0] == pytest.approx(np.sqrt(2))


def test_seasonal_growth_skips_missing_pairs_and_falls_back_to_growth_one():
    gap = weekly([10, 20, 30, 11, np.nan, 33]).dropna()
    out = SeasonalGrowthForecaster(season_length=3, window=2).fit(gap).predict(3, levels=())
    # only (33, 30) pairs up: growth 1.1; the missing position takes 20 from a season earlier
    assert out["yhat"].to_numpy() == pytest.approx([12.1, 22.0, 36.3])
    short = weekly([10, 20, 30])
    out = SeasonalGrowthForecaster(season_length=3, window=2).fit(short).predict(3, levels=())
    assert out["yhat"].tolist() == [10.0, 20.0, 30.0]
    zero = weekly([0, 0, 0, 5, 5, 5])
    out = SeasonalGrowthForecaster(season_length=3, window=3).fit(zero).predict(1, levels=())
    assert out["yhat"].tolist() == [5.0]


def test_seasonal_growth_is_bounded_when_last_years_base_is_near_zero():
    # A year ago the window sold 1 (a lone sale); now 30: the ratio 30 is not a trend.
    frame = weekly([0, 0, 1, 0, 10, 0, 10, 20])
    model = SeasonalGrowthForecaster(season_length=4, window=2).fit(frame)
    assert model.growth_[0] == pytest.approx(3.0)
    out = model.predict(4, levels=())
    assert out["yhat"].to_numpy() == pytest.approx([30.0, 0.0, 30.0, 60.0])
    falling = SeasonalGrowthForecaster(season_length=4, window=2).fit(
        weekly([5, 10, 40, 50, 5, 10, 1, 2]))
    assert falling.growth_[0] == pytest.approx(1 / 3)
    wider = SeasonalGrowthForecaster(season_length=4, window=2, max_growth=50).fit(frame)
    assert wider.growth_[0] == pytest.approx(30.0)
    with pytest.raises(ValidationError, match="max_growth"):
        SeasonalGrowthForecaster(season_length=4, max_growth=0.5).fit(frame)


def test_year_lengths_keep_weekdays_aligned():
    assert [year_length_for(f) for f in ("D", "W-FRI", "MS", "QS")] == [364, 52, 12, 4]
    with pytest.raises(ValidationError, match="year length"):
        year_length_for("h")


def test_moving_average_and_several_series():
    frame = pd.concat([weekly([1, 2, 3, 5], uid="a"), weekly([10, 10], uid="b")])
    out = MovingAverageForecaster(window=2).fit(frame).predict(2)
    assert out.groupby("unique_id")["yhat"].first().to_dict() == {"a": 4.0, "b": 10.0}
    assert (out["yhat_lo_95"] <= out["yhat_lo_80"]).all()
    assert (out["yhat_hi_80"] <= out["yhat_hi_95"]).all()


def test_predict_before_fit_and_bad_inputs_raise():
    with pytest.raises(ValidationError, match="not fitted"):
        NaiveForecaster().predict(3)
    model = NaiveForecaster().fit(weekly([1, 2, 3]))
    with pytest.raises(ValidationError, match="at least 1"):
        model.predict(0)
    with pytest.raises(ValidationError, match="between 0 and 100"):
        model.predict(2, levels=(120,))


def test_fit_does_not_change_its_input():
    frame = weekly([1, 2, 3]).dropna()
    before = frame.copy()
    SeasonalNaiveForecaster(season_length=2).fit(frame)
    pd.testing.assert_frame_equal(frame, before)


@pytest.mark.parametrize("seasonal", [SeasonalNaiveForecaster, SeasonalGrowthForecaster])
def test_a_series_shorter_than_a_season_gets_the_naive_forecast_and_spread(seasonal):
    """Under a season of history the seasonal baselines fall back to the last value; their
    intervals must then widen like the naive's (sqrt of the step), not stay flat for a season."""
    rng = np.random.default_rng(0)
    young = pd.DataFrame({"unique_id": "young", "ds": pd.date_range("2024-01-05", periods=20,
                                                                      freq="W-FRI"),
                          "y": 100 + np.cumsum(rng.normal(0, 5, 20))})
    old = pd.DataFrame({"unique_id": "old", "ds": pd.date_range("2022-01-07", periods=120,
                                                                  freq="W-FRI"),
                        "y": 100 + 10 * np.sin(np.arange(120) / 8.3)})
    frame = pd.concat([old, young], ignore_index=True)
    lo, hi = interval_columns(80)
    got = seasonal(freq="W-FRI").fit(frame).predict(26)
    naive = NaiveForecaster(freq="W-FRI").fit(young).predict(26)
    got = got[got["unique_id"] == "young"].reset_index(drop=True)
    np.testing.assert_allclose(got["yhat"], naive["yhat"])
    np.testing.assert_allclose(got[hi] - got[lo], naive[hi] - naive[lo])


@pytest.mark.parametrize("model", [SeasonalNaiveForecaster(freq="W-FRI"),
                                   SeasonalGrowthForecaster(freq="W-FRI")])
def test_under_a_season_of_history_every_step_is_the_last_value(model):
    """A company 39 weeks old, ramping up: its first weeks are not last year's same weeks.
    Steps 14..39 used to be those first weeks (a third of today's level); they are the last
    value, as the first 13 steps are and as the model's regime ("last value") says."""
    ds = pd.date_range("2024-01-05", periods=39, freq="W-FRI")
    y = np.minimum(np.arange(1, 40) * 30.0, 900.0)  # ramp-up to 900 a week
    young = pd.DataFrame({"unique_id": "young", "ds": ds, "y": y})
    # Beside a series with three years, so the frame's grid is longer than a season.
    old_ds = pd.date_range(ds[-1] - pd.Timedelta(weeks=155), periods=156, freq="W-FRI")
    old = pd.DataFrame({"unique_id": "old", "ds": old_ds, "y": 500.0 + np.arange(156) % 52})
    out = model.fit(pd.concat([young, old])).predict(39)
    young_out = out[out["unique_id"] == "young"]
    np.testing.assert_allclose(young_out["yhat"], 900.0)
    assert model.regime(39, "W-FRI") == "last value"
    old_out = out[out["unique_id"] == "old"]["yhat"].to_numpy()
    assert old_out.std() > 1  # a series with three years stays seasonal


def test_bound_intervals_hold_their_point_nest_and_stay_at_or_above_zero():
    from forecast.models.base import bound_intervals

    forecast = pd.DataFrame({
        "unique_id": ["a", "a", "b", "c"], "yhat": [10.0, 10.0, 5.0, 3.0],
        # a: a lower bound above the point (one-sided backtest errors), a 95 % bound inside
        # the 80 % one; b: bounds below zero on sales that never went negative; c: no interval.
        "yhat_lo_80": [11.0, 8.0, -4.0, np.nan], "yhat_hi_80": [20.0, 9.0, 9.0, np.nan],
        "yhat_lo_95": [12.0, 9.0, -6.0, np.nan], "yhat_hi_95": [19.0, 9.5, 12.0, np.nan]})
    out = bound_intervals(forecast.copy(), [95, 80], pd.Series({"a": True, "b": True}))
    assert out["yhat_lo_80"].tolist()[:3] == [10.0, 8.0, 0.0]
    assert out["yhat_hi_80"].tolist()[:3] == [20.0, 10.0, 9.0]
    assert out["yhat_lo_95"].tolist()[:3] == [10.0, 8.0, 0.0]
    assert out["yhat_hi_95"].tolist()[:3] == [20.0, 10.0, 12.0]
    assert out.loc[3, ["yhat_lo_80", "yhat_hi_95"]].isna().all()
    # A series that went below zero keeps its negative bounds.
    signed = bound_intervals(forecast.copy(), [80, 95], pd.Series({"b": False}))
    assert signed.loc[2, "yhat_lo_80"] == -4.0 and signed.loc[2, "yhat_lo_95"] == -6.0
