"""Prophet per series: holidays, regressors, logistic growth, quiet fitting, JSON round trip."""

from __future__ import annotations

import json
import logging

import numpy as np
import pandas as pd
import pytest

from forecast.errors import ValidationError
from forecast.models.prophet_model import ProphetForecaster
from forecast.models.prophet_series import quiet_stan, yearly_order

pytest.importorskip("prophet")


@pytest.fixture(scope="module")
def panel(make_panel) -> pd.DataFrame:
    return make_panel(n_series=2, n_weeks=130, seed=3)


@pytest.fixture(scope="module")
def fitted(panel) -> ProphetForecaster:
    train = panel[panel["ds"] <= panel["ds"].max() - pd.Timedelta(weeks=8)]
    holidays = pd.DataFrame({"holiday": "xmas", "ds": pd.to_datetime(
        ["2021-12-24", "2022-12-23"]), "lower_window": 0, "upper_window": 0})
    return ProphetForecaster(seasonality_mode="multiplicative", uncertainty_samples=100,
                             holidays=holidays, regressors=("promo",), n_jobs=1).fit(train)


def test_forecasts_every_series_with_ordered_intervals(fitted, panel):
    future = panel[panel["ds"] > fitted.last_ds_.max()]
    out = fitted.predict(8, future_exog=future[["unique_id", "ds", "promo"]])
    assert out.groupby("unique_id").size().to_dict() == {"s0": 8, "s1": 8}
    assert (out["yhat_lo_95"] <= out["yhat_lo_80"]).all()
    assert (out["yhat_lo_80"] <= out["yhat"]).all() and (out["yhat"] <= out["yhat_hi_80"]).all()
    merged = future.merge(out, on=["unique_id", "ds"])
    wape = (merged["y"] - merged["yhat"]).abs().sum() / merged["y"].sum()
    assert wape < 0.1
    with pytest.raises(ValidationError, match="future_exog"):
        fitted.predict(8)


def test_json_round_trip_predicts_the_same(fitted, panel):
    future = panel[panel["ds"] > fitted.last_ds_.max()][["unique_id", "ds", "promo"]]
    text = fitted.to_json()
    assert "stan_backend" not in text[:2000]
    loaded = ProphetForecaster.from_json(text)
    before = fitted.predict(8, future_exog=future, levels=())
    after = loaded.predict(8, future_exog=future, levels=())
    pd.testing.assert_frame_equal(before, after)


def test_logistic_growth_needs_and_respects_a_cap():
    ds = pd.date_range("2022-01-07", periods=80, freq="W-FRI")
    noise = np.random.default_rng(0).normal(0, 2, 80)  # a noiseless curve makes Stan crawl
    y = 100 / (1 + np.exp(-(np.arange(80) - 40) / 8)) + noise
    frame = pd.DataFrame({"unique_id": "a", "ds": ds, "y": y, "cap": 100.0})
    settings = {"growth": "logistic", "seasonality_mode": "additive", "uncertainty_samples": 0,
                "yearly_seasonality": False}
    with pytest.raises(ValidationError, match="cap"):
        ProphetForecaster(**settings, n_jobs=1).fit(frame.drop(columns="cap"))
    model = ProphetForecaster(**settings, n_jobs=1).fit(frame)
    future = pd.DataFrame({"unique_id": "a", "ds": pd.date_range(ds[-1], periods=27,
                                                                    freq="W-FRI")[1:]})
    out = model.predict(26, future_exog=future.assign(cap=100.0), levels=())
    assert out["yhat"].max() <= 100.5


def test_quiet_stan_silences_and_restores_loggers():
    logger = logging.getLogger("cmdstanpy")
    before = logger.level
    logger.setLevel(logging.INFO)
    try:
        with quiet_stan():
            assert logger.level == logging.WARNING
        assert logger.level == logging.INFO
    finally:
        logger.setLevel(before)


def test_series_too_short_for_prophet_are_left_out_and_named():
    # A product first sold in the last week used to take every other series' Prophet with it
    # (the candidate was dropped for the whole run).
    weeks = pd.date_range("2024-01-05", periods=12, freq="W-FRI")
    frame = pd.concat([
        pd.DataFrame({"unique_id": "a", "ds": weeks, "y": np.linspace(10.0, 21.0, 12)}),
        pd.DataFrame({"unique_id": "b", "ds": weeks[-1:], "y": [3.0]}),
        pd.DataFrame({"unique_id": "c", "ds": weeks, "y": [np.nan] * 11 + [4.0]}),
    ])
    settings = {"n_jobs": 1, "freq": "W-FRI", "yearly_seasonality": False}
    model = ProphetForecaster(**settings).fit(frame)
    assert model.short_series_ == ("b", "c")
    assert set(model.predict(2)["unique_id"]) == {"a"}
    out = ProphetForecaster(**settings).fit_predict(frame, 2)
    assert set(out["unique_id"]) == {"a"} and len(out) == 2
    with pytest.raises(ValidationError, match="fewer than 2"):
        ProphetForecaster(**settings).fit(frame[frame["unique_id"] != "a"])


def test_series_shorter_than_flat_below_get_a_flat_trend():
    # A new store: 20 steep weeks. A linear trend carried 26 weeks on keeps climbing; flat stays.
    ds = pd.date_range("2023-01-06", periods=20, freq="W-FRI")
    noise = np.random.default_rng(1).normal(0, 1, 20)
    young = pd.DataFrame({"unique_id": "new", "ds": ds, "y": 50 + 5 * np.arange(20) + noise})
    old_ds = pd.date_range("2022-01-07", periods=72, freq="W-FRI")
    old = pd.DataFrame({"unique_id": "old", "ds": old_ds,
                        "y": 200 + 2 * np.arange(72) + np.random.default_rng(2).normal(0, 1, 72)})
    settings = {"seasonality_mode": "additive", "uncertainty_samples": 0,
                "yearly_seasonality": False}
    model = ProphetForecaster(**settings, flat_below=26, n_jobs=1).fit(pd.concat([young, old]))
    growth = {uid: json.loads(text)["growth"] for uid, text in model.models_.items()}
    assert growth == {"new": "flat", "old": "linear"}
    out = model.predict(26, levels=()).set_index("unique_id")
    assert np.ptp(out.loc["new", "yhat"]) < 1.0  # flat: the level of the latest weeks
    assert out.loc["new", "yhat"].iloc[0] == pytest.approx(young["y"].mean(), rel=0.1)
    assert np.ptp(out.loc["old", "yhat"]) > 40  # still trending by ~2 a week
    linear = ProphetForecaster(**settings, n_jobs=1).fit(young).predict(26, levels=())
    assert linear["yhat"].iloc[-1] > 200


def test_regime_changes_only_at_the_flat_trend_fallback():
    """A short series' flat trend is a fallback (it forecasts a level, like another model), so
    folds below ``flat_below`` do not validate Prophet's trend; yearly seasonality switching on at
    two years adds a component to the same model and is not a regime change."""
    model = ProphetForecaster(flat_below=10)
    assert model.regime(5, "W") != model.regime(20, "W")
    assert model.regime(60, "W") == model.regime(120, "W")
    assert ProphetForecaster().regime(2, "W") == ProphetForecaster().regime(200, "W")


@pytest.mark.parametrize("samples", [0, 60])
def test_fit_predict_in_one_pass_is_fit_then_predict(panel, samples):
    """A backtest fold fits and forecasts each series in one task (no model JSON round trip):
    the same forecast and intervals as fit then predict, and the same fitted models."""
    train = panel[panel["ds"] <= panel["ds"].max() - pd.Timedelta(weeks=8)]
    future = panel[panel["ds"] > train["ds"].max()][["unique_id", "ds", "promo"]]
    settings = {"uncertainty_samples": samples, "regressors": ("promo",), "n_jobs": 1}
    separate = ProphetForecaster(**settings).fit(train)
    expected = separate.predict(8, future_exog=future)
    together = ProphetForecaster(**settings)
    got = together.fit_predict(train, 8, future_exog=future)
    pd.testing.assert_frame_equal(got, expected, rtol=1e-9)
    assert together.models_.keys() == separate.models_.keys()
    pd.testing.assert_frame_equal(together.predict(8, future_exog=future), expected, rtol=1e-9)


def test_without_sampling_intervals_are_normal_with_the_fitted_noise(panel):
    train = panel[panel["ds"] <= panel["ds"].max() - pd.Timedelta(weeks=8)][
        ["unique_id", "ds", "y"]]
    model = ProphetForecaster(n_jobs=1).fit(train)
    assert model.uncertainty_samples == 0
    out = model.predict(8, levels=(80, 95))
    half80 = (out["yhat_hi_80"] - out["yhat"]).groupby(out["unique_id"]).agg(["min", "max"])
    np.testing.assert_allclose(half80["min"], half80["max"])  # one spread per series
    np.testing.assert_allclose(out["yhat"] - out["yhat_lo_80"], out["yhat_hi_80"] - out["yhat"])
    ratio = (out["yhat_hi_95"] - out["yhat"]) / (out["yhat_hi_80"] - out["yhat"])
    np.testing.assert_allclose(ratio, 1.959964 / 1.281552, rtol=1e-5)
    # The spread is the in-sample noise: about the residuals' standard deviation.
    from prophet.serialize import model_from_json

    fitted = model_from_json(model.models_["s0"])
    history = train[train["unique_id"] == "s0"]
    residual = history["y"].to_numpy() - fitted.predict(history[["ds"]])["yhat"].to_numpy()
    sigma = (out.loc[out["unique_id"] == "s0", "yhat_hi_80"] - out.loc[
        out["unique_id"] == "s0", "yhat"]).iloc[0] / 1.281552
    assert sigma == pytest.approx(residual.std(), rel=0.15)


def test_country_holidays_made_once_forecast_as_prophet_makes_them(panel):
    """The one-pass path gives every series the country's holidays made once; Prophet's own
    add_country_holidays (the fit path) makes the same days, so the forecasts are the same."""
    train = panel[panel["ds"] <= panel["ds"].max() - pd.Timedelta(weeks=8)][
        ["unique_id", "ds", "y"]]
    holidays = pd.DataFrame({"holiday": "fair", "ds": pd.to_datetime(["2021-06-04"]),
                             "lower_window": -1, "upper_window": 1})
    settings = {"country": "US", "holidays": holidays, "n_jobs": 1}
    expected = ProphetForecaster(**settings).fit(train).predict(8)
    got = ProphetForecaster(**settings).fit_predict(train, 8)
    pd.testing.assert_frame_equal(got, expected, rtol=1e-9)


@pytest.mark.parametrize(("freq", "years", "order"), [
    ("QS", 4, 2), ("MS", 4, 6), ("W-FRI", 3, 10), ("D", 3, 10), ("MS", 1.5, False)])
def test_yearly_seasonality_is_no_finer_than_the_dates(freq, years, order):
    # Prophet's 10 yearly harmonics on 4 points a year alias onto each other: on quarterly
    # sales the optimiser took ten times as long and the forecasts erred half as much again.
    dates = pd.Series(pd.date_range("2019-01-01", periods=int(years * PER_YEAR[freq]),
                                    freq=freq))
    assert yearly_order("auto", dates) == order
    assert yearly_order(True, dates) == (order or min(10, PER_YEAR[freq] // 2))
    assert yearly_order(4, dates) == 4 and yearly_order(False, dates) is False


PER_YEAR = {"QS": 4, "MS": 12, "W-FRI": 52, "D": 365}


def test_quarterly_series_get_two_yearly_harmonics():
    ds = pd.date_range("2018-01-01", periods=20, freq="QS")
    season = np.tile([0.7, 1.0, 1.1, 1.6], 5)
    rng = np.random.default_rng(4)
    frame = pd.DataFrame({"unique_id": "region", "ds": ds,
                          "y": 100 * season * (1 + 0.03 * np.arange(20)) * rng.lognormal(0, 0.05,
                                                                                        20)})
    model = ProphetForecaster(seasonality_mode="multiplicative", n_jobs=1).fit(frame)
    names, seasonalities = json.loads(model.models_["region"])["seasonalities"]
    assert names == ["yearly"] and seasonalities["yearly"]["fourier_order"] == 2
