"""Per-series choice and inverse-error weighting from backtest tables built by hand."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from forecast.errors import ValidationError
from forecast.model_selection import CombinationForecaster
from forecast.model_selection.weights import (
    choose_models,
    combine_forecasts,
    crossfit_combination,
    extend_choice,
    pick_strategy,
    young_weights,
)
from forecast.models.baselines import NaiveForecaster, SeasonalNaiveForecaster


def hand_table() -> pd.DataFrame:
    # series a: model x errs by 1, y errs by 3 (y = 10); series b: x errs by 4, y by 1 (y = 10)
    rows = []
    for fold in (0, 1):
        for uid, err in (("a", {"x": 1.0, "y": 3.0}), ("b", {"x": 4.0, "y": 1.0})):
            for model, e in err.items():
                rows.append({"fold": fold, "unique_id": uid, "ds": pd.Timestamp("2024-01-05")
                             + pd.Timedelta(weeks=fold), "model": model, "y": 10.0,
                             "yhat": 10.0 + e})
    return pd.DataFrame(rows)


def test_best_picks_lowest_error_per_series():
    choice = choose_models(hand_table(), "best").set_index(["unique_id", "model"])
    assert choice.loc[("a", "x"), "weight"] == 1.0 and choice.loc[("a", "y"), "weight"] == 0.0
    assert choice.loc[("b", "y"), "weight"] == 1.0
    assert choice.loc[("a", "x"), "error"] == pytest.approx(0.1)


def test_inverse_error_weights_and_combination():
    choice = choose_models(hand_table(), "inverse_error")
    weights = choice.set_index(["unique_id", "model"])["weight"]
    assert weights[("a", "x")] == pytest.approx((1 / 0.1) / (1 / 0.1 + 1 / 0.3))
    combined = combine_forecasts(hand_table().drop(columns="y"), choice)
    a = combined[combined["unique_id"] == "a"]["yhat"].iloc[0]
    assert a == pytest.approx(10 + 0.75 * 1 + 0.25 * 3)


def test_pooled_and_grouped_weights_are_shared():
    pooled = choose_models(hand_table(), "pooled_inverse_error")
    assert pooled.groupby("model")["weight"].nunique().max() == 1
    grouped = choose_models(hand_table(), "best", groups=pd.Series({"a": "g", "b": "g"}))
    assert grouped.groupby("model")["weight"].nunique().max() == 1


def test_crossfit_uses_only_other_folds():
    table = hand_table()
    table.loc[(table["fold"] == 1) & (table["model"] == "x"), "yhat"] = 100.0
    combined = crossfit_combination(table, "best")
    fold0 = combined[(combined["fold"] == 0) & (combined["unique_id"] == "a")]
    # weights for fold 0 come from fold 1, where x is terrible: y is chosen
    assert fold0["yhat"].iloc[0] == pytest.approx(13.0)


def test_auto_strategy_picks_lowest_crossfit_error_and_extends_choice():
    table = hand_table()
    strategy, combined = pick_strategy(table)
    errors = {s: (lambda c: (c["y"] - c["yhat"]).abs().sum())(crossfit_combination(table, s))
              for s in ("best", "inverse_error", "pooled_inverse_error")}
    assert errors[strategy] == min(errors.values())
    assert len(combined) == 4
    extended = extend_choice(choose_models(table, "best"), ["a", "b", "new"])
    new = extended[extended["unique_id"] == "new"].set_index("model")["weight"]
    assert new.to_dict() == {"x": 0.5, "y": 0.5}


def test_young_series_get_the_mean_weights_of_all_the_chosen_series():
    # 99 series chose a and b, one (the only series no specialist serves, say) chose c alone:
    # c's weight there is not what the backtest chose for series like a new one.
    rows = [(f"s{i:02d}", m, w) for i in range(99) for m, w in (("a", 0.6), ("b", 0.4))]
    choice = pd.DataFrame([*rows, ("odd", "c", 1.0)], columns=["unique_id", "model", "weight"])
    means = young_weights(choice)
    assert means.to_dict() == pytest.approx({"a": 0.594, "b": 0.396, "c": 0.01})
    cold = young_weights(choice, "c")
    assert cold.to_dict() == pytest.approx({"a": 0.3, "b": 0.2, "c": 0.5})


def test_a_young_series_leaves_out_the_candidates_its_class_excludes():
    choice = pd.DataFrame({"unique_id": ["a", "a", "b", "b"], "model": ["x", "s", "x", "s"],
                           "weight": [0.8, 0.2, 0.4, 0.6]})
    exclude = pd.DataFrame({"unique_id": ["young", "young", "a"], "model": ["x", "cold", "s"],
                            "reason": ["demand class", "cold only", "regime"]})

    def weights(out: pd.DataFrame, uid: str) -> dict:
        return out[out["unique_id"] == uid].set_index("model")["weight"].to_dict()

    # Without a cold-start candidate the others take the excluded one's share.
    out = extend_choice(choice, ["a", "b", "young", "other"], exclude=exclude)
    assert weights(out, "young") == pytest.approx({"s": 1.0})
    assert weights(out, "other") == pytest.approx({"x": 0.6, "s": 0.4})
    assert weights(out, "a") == {"x": 0.8, "s": 0.2}  # chosen series keep their choice
    # With one, its half stays (its own pairs keep it from the tested series only).
    cold = pd.concat([choice, pd.DataFrame({"unique_id": ["a"], "model": ["cold"],
                                            "weight": [0.0]})], ignore_index=True)
    out = extend_choice(cold, ["a", "b", "young"], "cold", exclude)
    assert weights(out, "young") == pytest.approx({"s": 0.5, "cold": 0.5})
    # A series every mean candidate is excluded for: the cold-start one's alone, or, without
    # one, all of them (nothing better is known).
    every = pd.DataFrame({"unique_id": ["young", "young"], "model": ["x", "s"]})
    assert weights(extend_choice(cold, ["young"], "cold", every), "young") == {"cold": 1.0}
    assert weights(extend_choice(choice, ["young"], exclude=every), "young") == \
        pytest.approx({"x": 0.6, "s": 0.4})


def test_combination_averages_members_points_and_quantiles_with_fixed_weights(make_panel):
    frame = make_panel(n_series=2, n_weeks=80, seed=3)[["unique_id", "ds", "y"]]
    members = {"naive": NaiveForecaster(), "snaive": SeasonalNaiveForecaster()}
    out = CombinationForecaster(members, {"naive": 1.0, "snaive": 3.0}).fit(frame).predict(
        5, levels=(80,))
    naive = NaiveForecaster().fit(frame).predict(5, levels=(80,))
    snaive = SeasonalNaiveForecaster().fit(frame).predict(5, levels=(80,))
    for column in ("yhat", "yhat_lo_80", "yhat_hi_80"):
        expected = (naive[column].to_numpy() + 3 * snaive[column].to_numpy()) / 4
        np.testing.assert_allclose(out[column].to_numpy(), expected, rtol=1e-12)
    assert out[["unique_id", "ds"]].equals(naive[["unique_id", "ds"]])
    equal = CombinationForecaster(members).fit(frame).predict(5, levels=())
    np.testing.assert_allclose(equal["yhat"], (naive["yhat"] + snaive["yhat"]) / 2, rtol=1e-12)
    with pytest.raises(ValidationError, match="name exactly the members"):
        CombinationForecaster(members, {"naive": 1.0}).fit(frame)
    with pytest.raises(ValidationError, match="positive"):
        CombinationForecaster(members, {"naive": 1.0, "snaive": 0.0}).fit(frame)


def _noisy_levels(n_series: int, weeks: int, seed: int) -> pd.DataFrame:
    """Series that wander slowly around their level with weekly noise of 10 %."""
    rng = np.random.default_rng(seed)
    ds = pd.date_range("2022-01-07", periods=weeks, freq="W-FRI")
    level = rng.uniform(50, 500, (n_series, 1))
    walk = np.cumsum(rng.normal(0, 0.01, (n_series, weeks)), axis=1)
    y = level * (1 + walk) * (1 + 0.1 * rng.standard_normal((n_series, weeks)))
    return pd.DataFrame({"unique_id": np.repeat(np.arange(n_series), weeks),
                         "ds": np.tile(ds, n_series), "y": y.ravel()})


def test_a_holdout_calibrates_the_combinations_own_intervals():
    """The average of a naive and a 13-week mean errs less than either (their errors partly
    cancel), so the average of their intervals over-covers; calibrated on the average's own
    errors over a held-out horizon its 80 % intervals cover about 80 % of the next horizon."""
    from forecast.models.baselines import MovingAverageForecaster

    frame = _noisy_levels(600, 120, seed=5)
    train, test = frame[frame["ds"] <= frame["ds"].max() - pd.Timedelta(weeks=8)], frame
    members = {"naive": NaiveForecaster(), "mean": MovingAverageForecaster(window=13)}
    inside = {}
    for holdout in (None, 8):
        out = CombinationForecaster(members, holdout=holdout).fit(train).predict(
            8, levels=(80,)).merge(test, on=["unique_id", "ds"])
        inside[holdout] = ((out["y"] >= out["yhat_lo_80"]) & (out["y"] <= out["yhat_hi_80"])
                           ).mean()
    assert inside[None] > 0.88
    assert inside[8] == pytest.approx(0.80, abs=0.04)
    with pytest.raises(ValidationError, match="holdout must be at least 1"):
        CombinationForecaster(members, holdout=0).fit(train)
    with pytest.raises(ValidationError, match="not calibrated"):
        CombinationForecaster(members, holdout=8).fit(train).predict(8, levels=(70,))
    # A young series (all its weeks held out) and an old one that stopped: nothing to calibrate.
    young = train[train["unique_id"] == 0].tail(8).assign(unique_id=1)
    stopped = train[train["unique_id"] == 0].head(60)
    with pytest.raises(ValidationError, match="no series has both history"):
        CombinationForecaster(members, holdout=8).fit(pd.concat([young, stopped]))


def test_the_fast_path_forecasts_stopped_series_as_zero_and_calibrates_without_them():
    # Seasonal products, four of them stopped a year before the end: the combination forecast
    # them at their old level and calibrated its intervals on their errors too.
    from forecast.synth.beds import stopping_and_new

    frame = stopping_and_new(n_series=12, n_weeks=156, seed=0)[["unique_id", "ds", "y"]]
    frame = frame[frame["unique_id"].str.startswith(("steady", "stopped"))]
    members = {"naive": NaiveForecaster(), "seasonal": SeasonalNaiveForecaster(season_length=52)}
    model = CombinationForecaster(members, holdout=13).fit(frame)
    stopped = {"stopped_01", "stopped_04", "stopped_07", "stopped_10"}
    assert model.stopped_ == stopped
    out = model.predict(13, levels=(80, 95))
    gone = out["unique_id"].isin(stopped)
    assert (out.loc[gone, ["yhat", "yhat_lo_80", "yhat_hi_80", "yhat_hi_95"]] == 0).all().all()
    steady = frame[~frame["unique_id"].isin(stopped)]
    alone = CombinationForecaster(members, holdout=13).fit(steady).predict(13, levels=(80, 95))
    pd.testing.assert_frame_equal(out[~gone].reset_index(drop=True), alone)
