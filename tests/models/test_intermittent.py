"""Croston SBA, TSB, ADIDA and IMAPA: statsforecast's forecasts, intervals, and accuracy on a
generated intermittent bed against the zero forecast and the absolute-error global model."""

from __future__ import annotations

import functools

import numpy as np
import pandas as pd
import pytest

from forecast.evaluation.backtest import BacktestSpec, backtest
from forecast.evaluation.metrics import score_backtest
from forecast.models.global_model import GlobalForecaster
from forecast.models.intermittent import (
    ADIDAForecaster,
    CrostonSBAForecaster,
    IMAPAForecaster,
    TSBForecaster,
)
from forecast.synth.beds import intermittent_demand

MODELS = {"croston_sba": CrostonSBAForecaster, "tsb": TSBForecaster, "adida": ADIDAForecaster,
          "imapa": IMAPAForecaster}


def _daily(values: list[float], uid: str = "a") -> pd.DataFrame:
    return pd.DataFrame({"unique_id": uid, "ds": pd.date_range("2024-01-01", periods=len(values)),
                         "y": values})


@pytest.mark.parametrize("name", MODELS)
def test_the_forecast_is_statsforecasts_flat_mean_with_intervals_above_zero(name):
    from statsforecast import models as sf

    y = [0, 0, 3, 0, 0, 0, 5, 0, 2, 0, 0, 4, 0, 0, 0, 6, 0, 0, 3, 0]
    out = MODELS[name]().fit(_daily(y)).predict(5, levels=(80, 95))
    reference = {"croston_sba": sf.CrostonSBA(), "tsb": sf.TSB(alpha_d=0.1, alpha_p=0.1),
                 "adida": sf.ADIDA(), "imapa": sf.IMAPA()}[name]
    expected = reference.forecast(np.array(y, float), h=5)["mean"]
    assert out["yhat"].to_numpy() == pytest.approx(expected)
    assert out["ds"].iloc[0] == pd.Timestamp("2024-01-21")
    assert (out["yhat_lo_95"] >= 0).all() and (out["yhat_lo_95"] <= out["yhat_lo_80"]).all()
    assert (out["yhat_hi_80"] > out["yhat"]).all() and (out["yhat_hi_95"] > out["yhat_hi_80"]).all()


@pytest.mark.parametrize("name", MODELS)
def test_the_opening_sale_of_a_history_is_not_taken_for_its_rate(name):
    from statsforecast import models as sf

    # A product sold every third week since its launch: its history starts with that sale, by
    # construction. Counted as a sale after an interval of one week, it made Croston SBA read
    # 7.9 a week where 10 every third week is 3.3.
    y = [10.0, 0, 0, 10, 0, 0, 10, 0, 0]
    out = MODELS[name](seasonal=False).fit(_daily(y)).predict(2, levels=())
    reference = {"croston_sba": sf.CrostonSBA(), "tsb": sf.TSB(alpha_d=0.1, alpha_p=0.1),
                 "adida": sf.ADIDA(), "imapa": sf.IMAPA()}[name]
    assert out["yhat"].to_numpy() == pytest.approx(reference.forecast(
        np.array(y[1:]), h=2)["mean"])
    if name == "croston_sba":
        assert out["yhat"].iloc[0] == pytest.approx(0.95 * 10 / 3)
    # A history that opens without a sale keeps every period.
    later = [0.0, *y]
    out = MODELS[name](seasonal=False).fit(_daily(later)).predict(2, levels=())
    assert out["yhat"].to_numpy() == pytest.approx(reference.forecast(
        np.array(later), h=2)["mean"])


@pytest.mark.parametrize("name", MODELS)
def test_gaps_returns_and_series_without_sales(name):
    frame = pd.concat([_daily([0, 2, np.nan, 0, 3, -1, 0, 2], "gappy"),
                       _daily([0.0] * 8, "never")], ignore_index=True).dropna()
    out = MODELS[name]().fit(frame).predict(3, levels=(80,)).set_index("unique_id")
    assert np.isfinite(out[["yhat", "yhat_lo_80", "yhat_hi_80"]]).all().all()
    assert (out.loc["never", ["yhat", "yhat_lo_80", "yhat_hi_80"]] == 0).all().all()
    assert (out.loc["gappy", "yhat"] > 0).all()


def test_the_models_say_what_demand_they_are_made_for():
    assert CrostonSBAForecaster().made_for() == {"erratic", "intermittent", "lumpy"}
    assert TSBForecaster(classes=None).made_for() is None
    assert GlobalForecaster(4).made_for() is None


@functools.cache
def _bed_scores() -> pd.DataFrame:
    """Scores of every candidate, the global model and the zero forecast on the sporadic items
    (intermittent and lumpy) of a generated bed, 3 origins of 28 days."""
    frame = intermittent_demand(n_series=24, n_days=730, seed=2)
    frame = frame[frame["kind"].isin(["intermittent", "lumpy"])][["unique_id", "ds", "y"]]
    models = {name: cls() for name, cls in MODELS.items()}
    models["global_abs"] = GlobalForecaster(28, loss="absolute_error", n_threads=1,
                                            holdout_intervals=False)
    table = backtest(models, frame, BacktestSpec(h=28, n_folds=3, levels=(80,)))
    zero = table[table["model"] == "tsb"].assign(model="zero", yhat=0.0, yhat_lo_80=0.0,
                                                 yhat_hi_80=0.0)
    return score_backtest(pd.concat([table, zero], ignore_index=True)).set_index("model")


@pytest.mark.parametrize("name", MODELS)
def test_each_beats_the_zero_forecast_and_the_absolute_error_global_model(name):
    # On sporadic sales the median is 0, so absolute errors (MASE, WAPE) favour forecasting 0,
    # which orders nothing. RMSSE (the M5's measure) and bias reward the mean demand a plan
    # and a stock level need: there each of these models must win.
    scores = _bed_scores()
    for other in ("zero", "global_abs"):
        assert scores.loc[name, "rmsse"] < scores.loc[other, "rmsse"], other
        assert abs(scores.loc[name, "bias"]) < abs(scores.loc[other, "bias"]), other
    assert abs(scores.loc[name, "bias"]) < 0.15
    assert scores.loc["global_abs", "bias"] < -0.5
