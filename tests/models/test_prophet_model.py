"""Prophet per series: holidays, regressors, logistic growth, quiet fitting, JSON round trip."""

from __future__ import annotations

import json
import logging

import numpy as np
import pandas as pd
import pytest

from forecast.errors import ValidationError
from forecast.models.prophet_model import ProphetForecaster, quiet_stan

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


def test_series_too_short_for_prophet_are_named():
    frame = pd.DataFrame({"unique_id": ["a", "a", "b"], "ds": pd.to_datetime(
        ["2024-01-05", "2024-01-12", "2024-01-05"]), "y": [1.0, 2.0, 3.0]})
    with pytest.raises(ValidationError, match="fewer than 2"):
        ProphetForecaster(n_jobs=1, freq="W-FRI").fit(frame)


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
