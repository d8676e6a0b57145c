"""The non-seasonal ETS candidate: statsforecast's AutoETS per series, the last value below
the length ETS can fit."""

from __future__ import annotations

import numpy as np
import pandas as pd
from statsforecast.models import AutoETS

from forecast.models.statistical import MIN_ETS, ETSForecaster
from forecast.schemas import interval_columns


def _series(uid: str, values, start="2024-01-05") -> pd.DataFrame:
    return pd.DataFrame({"unique_id": uid, "y": np.asarray(values, float),
                         "ds": pd.date_range(start, periods=len(values), freq="W-FRI")})


def test_forecasts_are_statsforecast_autoets_per_series():
    rng = np.random.default_rng(1)
    growing = 100 + 3 * np.arange(30) + rng.normal(0, 2, 30)
    decaying = 500 * 0.97 ** np.arange(40) + rng.normal(0, 3, 40)
    frame = pd.concat([_series("growing", growing), _series("decaying", decaying)])
    got = ETSForecaster(freq="W-FRI").fit(frame).predict(6, levels=(80,))
    lo, hi = interval_columns(80)
    for uid, y in (("decaying", decaying), ("growing", growing)):
        want = AutoETS(season_length=1, model="ZZN").fit(y).predict(h=6, level=[80])
        rows = got[got["unique_id"] == uid]
        np.testing.assert_allclose(rows["yhat"], want["mean"])
        np.testing.assert_allclose(rows[lo], want["lo-80"])
        np.testing.assert_allclose(rows[hi], want["hi-80"])
    # The trend carries on: the growing series' forecast rises past its last value.
    assert got[got["unique_id"] == "growing"]["yhat"].iloc[-1] > growing[-1]


def test_a_series_too_short_for_ets_gets_the_last_value_and_says_so():
    model = ETSForecaster(freq="W-FRI")
    assert model.regime(MIN_ETS - 1, "W-FRI") == "last value"
    assert model.regime(MIN_ETS, "W-FRI") == "ets"
    frame = pd.concat([_series("young", [10.0, 12.0, 11.0, 13.0]),
                       _series("old", 50 + np.arange(20.0))])
    got = model.fit(frame).predict(3)
    young = got[got["unique_id"] == "young"]
    assert (young["yhat"] == 13.0).all()
    lo, hi = interval_columns(80)
    width = (young[hi] - young[lo]).to_numpy()
    np.testing.assert_allclose(width / width[0], np.sqrt([1, 2, 3]))


def test_a_constant_series_is_forecast_flat():
    got = ETSForecaster(freq="W-FRI").fit(_series("flat", [7.0] * 20)).predict(4)
    np.testing.assert_allclose(got["yhat"], 7.0)
