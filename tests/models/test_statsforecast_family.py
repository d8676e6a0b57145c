"""statsforecast's model families as candidates: the same forecasts and intervals as
statsforecast per series, the season dropped below two seasons of history, the last value
below ``MIN_PERIODS``, and the same forecasts on one process or two."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from statsforecast.models import MSTL, AutoETS, AutoTheta

from forecast.engine import LocalEngine, use_engine
from forecast.errors import ValidationError
from forecast.models.statsforecast_family import MIN_PERIODS, StatsForecastForecaster
from forecast.schemas import interval_columns

LO, HI = interval_columns(80)


def _series(uid: str, values, start="2021-01-01", freq="W-FRI") -> pd.DataFrame:
    return pd.DataFrame({"unique_id": uid, "y": np.asarray(values, float),
                         "ds": pd.date_range(start, periods=len(values), freq=freq)})


def _seasonal(n: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.arange(n)
    return 200 + 40 * np.sin(2 * np.pi * t / 52) + 0.3 * t + rng.normal(0, 4, n)


def test_forecasts_are_statsforecasts_per_series_with_its_intervals():
    a, b = _seasonal(130, 1), _seasonal(120, 2)
    frame = pd.concat([_series("a", a), _series("b", b)])
    for family, reference in (("auto_theta", AutoTheta(season_length=52)),
                              ("mstl", MSTL(season_length=52,
                                            trend_forecaster=AutoETS(model="ZZN")))):
        got = StatsForecastForecaster(family=family, n_jobs=1).fit(frame).predict(
            13, levels=(80,))
        for uid, y in (("a", a), ("b", b)):
            want = reference.forecast(y=y, h=13, level=[80])
            rows = got[got["unique_id"] == uid]
            np.testing.assert_allclose(rows["yhat"], want["mean"])
            np.testing.assert_allclose(rows[LO], want["lo-80"])
            np.testing.assert_allclose(rows[HI], want["hi-80"])


def test_the_season_needs_two_seasons_of_history_and_the_regime_says_so():
    model = StatsForecastForecaster(family="auto_theta")
    assert model.regime(MIN_PERIODS - 1, "W-FRI") == "last value"
    assert model.regime(103, "W-FRI") == "non-seasonal"
    assert model.regime(104, "W-FRI") == "seasonal"
    # statsforecast's ETS ignores seasons over 24 periods: weekly AutoETS is non-seasonal.
    assert StatsForecastForecaster(family="auto_ets").regime(200, "W-FRI") == "non-seasonal"
    assert StatsForecastForecaster(family="auto_ets").regime(30, "MS") == "seasonal"
    young = _seasonal(60, 3)
    got = StatsForecastForecaster(family="mstl", n_jobs=1).fit(_series("young", young)).predict(5)
    want = AutoETS(model="ZZN").forecast(y=young, h=5)
    np.testing.assert_allclose(got["yhat"], want["mean"])


def test_a_very_short_or_degenerate_series_gets_the_last_value_with_a_random_walk_spread():
    frame = pd.concat([_series("short", [10.0, 12.0, 11.0, 13.0]),
                       _series("zeros", np.zeros(40)), _series("ok", _seasonal(40, 4))])
    got = StatsForecastForecaster(family="auto_theta", n_jobs=1).fit(frame).predict(
        3, levels=(80,))
    short = got[got["unique_id"] == "short"]
    np.testing.assert_allclose(short["yhat"], 13.0)
    width = (short[HI] - short[LO]).to_numpy()
    np.testing.assert_allclose(width / width[0], np.sqrt([1, 2, 3]))
    zeros = got[got["unique_id"] == "zeros"]
    np.testing.assert_allclose(zeros["yhat"], 0.0, atol=1e-9)
    assert np.isfinite(got[["yhat", LO, HI]].to_numpy()).all()


def test_gaps_are_carried_forward_and_no_period_before_the_first_observation_counts():
    y = _seasonal(30, 5)
    gappy = y.copy()
    gappy[10] = np.nan
    frame = pd.concat([_series("late", np.r_[np.full(5, np.nan), gappy])])
    got = StatsForecastForecaster(family="auto_ets", n_jobs=1).fit(frame).predict(4)
    filled = pd.Series(gappy).ffill().to_numpy()
    want = AutoETS(season_length=1).forecast(y=filled, h=4)
    np.testing.assert_allclose(got["yhat"], want["mean"])


def test_two_processes_forecast_what_one_does_and_ids_keep_their_type():
    frame = pd.concat([_series(uid, _seasonal(110, seed)) for seed, uid in enumerate(range(6))])
    one = StatsForecastForecaster(family="auto_theta", n_jobs=1).fit_predict(frame, 13)
    with use_engine(LocalEngine(n_jobs=2)):
        two = StatsForecastForecaster(family="auto_theta").fit_predict(frame, 13)
    pd.testing.assert_frame_equal(one, two)
    assert one["unique_id"].tolist() == sorted(one["unique_id"].tolist())
    assert isinstance(one["unique_id"].iloc[0], (int, np.integer))


def test_unknown_family_and_bad_season_are_refused():
    frame = _series("a", _seasonal(30, 6))
    with pytest.raises(ValidationError, match="statsforecast family"):
        StatsForecastForecaster(family="prophet").fit(frame)
    with pytest.raises(ValidationError, match="season_length"):
        StatsForecastForecaster(season_length=-1).fit(frame)
