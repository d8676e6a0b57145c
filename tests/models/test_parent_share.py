"""Cold start: a young series forecast as its recent share of its parent, the parents taken from
the hierarchy, and the RevenueForecaster giving it the series too young for any backtest."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from forecast.errors import ValidationError
from forecast.hierarchy import build_hierarchy
from forecast.model_selection import RevenueForecaster
from forecast.models.baselines import NaiveForecaster, SeasonalNaiveForecaster
from forecast.models.parent_share import ParentShareForecaster, SeriesParents

WEEKS = 160
DAYS = pd.date_range("2021-01-01", periods=WEEKS, freq="W-FRI")


def _season(level: float, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.arange(WEEKS)
    return level * (1 + 0.4 * np.sin(2 * np.pi * t / 52)) * (1 + rng.normal(0, 0.02, WEEKS))


def _company(young_weeks: int = 10) -> pd.DataFrame:
    """total > region (north, south) > store; store s2 opened ``young_weeks`` weeks ago."""
    stores = {("north", "n1"): _season(100, 1), ("north", "n2"): _season(60, 2),
              ("south", "s1"): _season(80, 3)}
    young = _season(40, 4)
    young[:-young_weeks] = np.nan
    stores[("south", "s2")] = young
    rows = []
    for (region, store), values in stores.items():
        for ds, y in zip(DAYS, values):
            if np.isnan(y):
                continue
            rows += [(f"{region}/{store}", ds, y, "region/store", region, store),
                     (region, ds, y, "region", region, None),
                     ("total", ds, y, "total", None, None)]
    frame = pd.DataFrame(rows, columns=["unique_id", "ds", "y", "grain", "region", "store"])
    keys = ["unique_id", "ds", "grain", "region", "store"]
    return frame.groupby(keys, dropna=False, as_index=False)["y"].sum()


def test_parents_are_the_smallest_aggregate_containing_each_series():
    parents = SeriesParents.of(build_hierarchy(_company()))
    assert parents.get("total") is None
    assert parents.get("north") == "total"
    assert parents.get("south/s2") == "south"
    assert parents.get("north/n1") == "north"
    assert len(parents) == 6


def test_a_young_series_inherits_its_parents_season_at_its_own_scale():
    frame = _company()
    parents = SeriesParents.of(build_hierarchy(frame))
    model = ParentShareForecaster(parents=parents, base=SeasonalNaiveForecaster(),
                                  share_window=8).fit(frame[["unique_id", "ds", "y"]])
    got = model.predict(26, levels=(80,)).set_index(["unique_id", "ds"])
    own = SeasonalNaiveForecaster().fit(frame[["unique_id", "ds", "y"]]).predict(26)
    own = own.set_index(["unique_id", "ds"])
    # The parent's forecast is the base model's own (not the parent's share of its parent).
    south = own.loc["south", "yhat"].to_numpy()
    young = got.loc["south/s2", "yhat"].to_numpy()
    # Its share is measured on the latter half of its 10 weeks (5, under the window of 8):
    # a new series' first weeks are its opening, not its level.
    recent = frame[frame["ds"] > DAYS[-6]]
    share = (recent.loc[recent["unique_id"] == "south/s2", "y"].sum()
             / recent.loc[recent["unique_id"] == "south", "y"].sum())
    np.testing.assert_allclose(young, share * south)
    # The parent's season carries over: the young store's forecast is not flat.
    assert young.max() / young.min() > 1.5
    # A series without a parent (the total) keeps the base model's own forecast.
    np.testing.assert_allclose(got.loc["total", "yhat"], own.loc["total", "yhat"])


def test_the_share_window_is_at_most_half_the_series_history():
    """8 weeks for a series of 16 or more, half its weeks for a younger one: a store's opening
    weeks (Favorita's store 22 sold 50 % more in its second week than in its fifth) stay out."""
    for weeks, window in ((10, 5), (16, 8), (40, 8), (3, 2)):
        frame = _company(young_weeks=weeks)
        parents = SeriesParents.of(build_hierarchy(frame))
        model = ParentShareForecaster(parents=parents, base=SeasonalNaiveForecaster()).fit(
            frame[["unique_id", "ds", "y"]])
        recent = frame[frame["ds"] > DAYS[-window - 1]]
        share = (recent.loc[recent["unique_id"] == "south/s2", "y"].sum()
                 / recent.loc[recent["unique_id"] == "south", "y"].sum())
        assert model.shares_.loc["south/s2", "share"] == pytest.approx(share)


def test_without_parents_every_series_gets_the_base_forecast_and_the_window_is_checked():
    frame = _company()[["unique_id", "ds", "y"]]
    got = ParentShareForecaster(base=NaiveForecaster()).fit(frame).predict(4)
    want = NaiveForecaster().fit(frame).predict(4)
    pd.testing.assert_frame_equal(got.reset_index(drop=True), want)
    with pytest.raises(ValidationError, match="share_window"):
        ParentShareForecaster(share_window=0).fit(frame)


def _forecaster(with_cold_start: bool) -> RevenueForecaster:
    candidates = {"naive": NaiveForecaster(), "seasonal_naive": SeasonalNaiveForecaster()}
    if with_cold_start:
        candidates["parent_share"] = ParentShareForecaster()
    return RevenueForecaster(candidates, h=13, selection_folds=2, min_history=14)


def test_the_revenue_forecaster_forecasts_too_young_series_from_their_parent_and_says_so():
    frame = _company(young_weeks=12)
    hierarchy = build_hierarchy(frame)
    data = frame[["unique_id", "ds", "y"]]
    model = _forecaster(True).fit(data, hierarchy)
    assert "south/s2" not in set(model.selection_.choice["unique_id"])
    assert model.selection_.cold_start == "parent_share"
    # It is there for the young: the series the backtest tested never weigh it.
    assert "parent_share" not in set(model.selection_.choice["model"])
    assert "parent_share" in model.models_
    notes = " ".join(model.notes())
    assert "1 series too young for any backtest fold ('south/s2')" in notes
    assert "cold start, parent_share" in notes
    assert ("widest of those measured on older series cut to their age, the calibrated ones "
            "and their candidates' own") in notes
    assert model.selection_.young is not None
    # Half the parent share, half the mean weights of the others: the series' own level and
    # its parent's season, which no fold could weigh against each other.
    got = model.predict_with_base(13)[1].set_index("unique_id")
    means = model.selection_.choice.groupby("model")["weight"].mean()
    own = sum(weight * model.models_[name].predict(13).set_index("unique_id").loc[
        "south/s2", "yhat"].to_numpy() for name, weight in (means / means.sum()).items())
    share_model = model.models_["parent_share"].predict(13).set_index("unique_id")
    np.testing.assert_allclose(got.loc["south/s2", "yhat"],
                               0.5 * share_model.loc["south/s2", "yhat"] + 0.5 * own)
    # Without a cold-start candidate the young store takes the mean weights, and says so.
    plain = _forecaster(False).fit(data, hierarchy)
    assert "mean weights of the others" in " ".join(plain.notes())


def test_without_a_hierarchy_the_cold_start_candidate_is_left_out():
    data = _company()[["unique_id", "ds", "y"]]
    model = _forecaster(True).fit(data[data["unique_id"] != "south/s2"])
    assert "parent_share" not in model.models_
    assert model.selection_.cold_start is None


def test_a_too_young_series_keeps_its_candidates_own_intervals_where_they_are_wider():
    """The calibration measured the series in the backtest; a series too young for any fold
    was never measured, so its interval is the wider of the calibrated one and its candidates'
    own (weighted as its forecast). The series the backtest measured keep the calibrated ones."""
    from forecast.model_selection.weights import (
        combine_forecasts,
        extend_choice,
        member_forecasts,
    )

    frame = _company(young_weeks=12)
    model = _forecaster(True).fit(frame[["unique_id", "ds", "y"]], build_hierarchy(frame))
    got = model.predict_with_base(13)[1].set_index(["unique_id", "ds"]).sort_index()
    members = member_forecasts(model.models_, 13, None, model.levels)
    members["h"] = members.groupby(["model", "unique_id"]).cumcount() + 1
    choice = extend_choice(model.selection_.choice, members["unique_id"].unique(),
                           model.selection_.cold_start)
    own = combine_forecasts(members, choice).set_index(["unique_id", "ds"]).sort_index()
    young, old = own.loc["south/s2"], own.loc["north/n1"]
    assert (got.loc["south/s2", "yhat_lo_80"] <= young["yhat_lo_80"] + 1e-9).all()
    assert (got.loc["south/s2", "yhat_hi_80"] >= young["yhat_hi_80"] - 1e-9).all()
    # Here its own intervals are the wider ones (the calibrated errors are about 2 %).
    assert (got.loc["south/s2", "yhat_hi_80"] - young["yhat_hi_80"]).abs().max() < 1e-9
    assert not np.allclose(got.loc["north/n1", "yhat_hi_80"], old["yhat_hi_80"])
