"""The production revenue forecaster: nested cross-validation, fit, predict and reconciliation."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone

from forecast.errors import ValidationError
from forecast.hierarchy import OLS, MinTraceShrink, WLSVar, build_hierarchy, coherence_error
from forecast.model_selection import RevenueForecaster
from forecast.model_selection.selection import select_on
from forecast.models.baselines import NaiveForecaster, SeasonalNaiveForecaster
from forecast.schemas import ALL_SERIES

CANDIDATES = {"naive": NaiveForecaster(), "snaive": SeasonalNaiveForecaster()}


def _stacked(panel: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Bottom series s0..s5 with their regions and the total: frame and series keys."""
    bottom = panel.assign(grain="region/store", store=panel["unique_id"])
    regions = panel.groupby(["region", "ds"], as_index=False)["y"].sum().assign(
        unique_id=lambda f: f["region"], grain="region", store=None)
    total = panel.groupby("ds", as_index=False)["y"].sum().assign(
        unique_id="total", grain="total", region=None, store=None)
    stacked = pd.concat([bottom, regions, total], ignore_index=True)
    series = stacked[["unique_id", "grain", "region", "store"]].drop_duplicates("unique_id")
    return stacked[["unique_id", "ds", "y"]], series.reset_index(drop=True)


def test_fit_chooses_on_the_last_folds_calibrates_and_forecasts_every_series(make_panel):
    frame = make_panel(n_series=3, n_weeks=120, seed=5)[["unique_id", "ds", "y"]]
    model = RevenueForecaster(CANDIDATES, h=4, levels=(80,), selection_folds=3).fit(frame)
    assert model.selection_.strategy in ("best", "inverse_error", "pooled_inverse_error")
    out = model.predict(4)
    assert len(out) == 12 and np.isfinite(out[["yhat_lo_80", "yhat_hi_80"]]).all().all()
    assert list(out["h"].unique()) == [1, 2, 3, 4]
    choice = model.selection_.choice
    assert set(choice["model"]) == {"naive", "snaive"}
    assert choice.groupby("unique_id")["weight"].sum().round(9).eq(1).all()
    # 3 series x 2 candidates x 3 folds x 4 steps
    assert len(model.backtest_) == 3 * 2 * 3 * 4
    with pytest.raises(ValidationError, match="trained to forecast 4 periods ahead, not 5"):
        model.predict(5)


def test_cross_validation_scores_only_folds_no_choice_saw(make_panel):
    frame = make_panel(n_series=3, n_weeks=120, seed=5)[["unique_id", "ds", "y"]]
    model = RevenueForecaster(CANDIDATES, h=4, levels=(80,), selection_folds=2)
    cv = model.cross_validation(frame, n_windows=2)
    assert sorted(cv.table["fold"].unique()) == [0, 1, 2, 3]
    assert sorted(cv.rows["fold"].unique()) == [2, 3]
    assert set(cv.rows["model"]) == {"naive", "snaive", "selected"}
    assert cv.final == "selected" and cv.accuracy_by_grain is None
    # The choice scored on fold 3 is the one made on folds 1 and 2 alone.
    alone = RevenueForecaster(CANDIDATES, h=4, levels=(80,), selection_folds=2)
    window = cv.table[cv.table["fold"].isin([1, 2])]
    expected = select_on(window, "auto", (80,)).choice
    got = cv.choices[cv.choices["fold"] == 3].drop(columns=["fold", "cutoff", "strategy"])
    pd.testing.assert_frame_equal(got.reset_index(drop=True), expected.reset_index(drop=True))
    # A fit given the cross-validation reuses its last folds: the same choice as its own backtest.
    reused = clone(alone).fit(frame, cv=cv)
    fresh = clone(alone).fit(frame)
    pd.testing.assert_frame_equal(reused.selection_.choice, fresh.selection_.choice)
    pd.testing.assert_frame_equal(reused.predict(4), fresh.predict(4))
    assert reused.error_covariances_ is cv.covariances
    with pytest.raises(ValidationError, match="not the same data"):
        clone(alone).fit(frame[frame["ds"] < frame["ds"].max()], cv=cv)


@pytest.mark.parametrize("reconciler", [OLS(), WLSVar(), MinTraceShrink(fallback=WLSVar())])
def test_forecasts_of_a_hierarchy_add_up_and_are_scored_per_grain(make_panel, reconciler):
    frame, series = _stacked(make_panel(n_series=4, n_weeks=120, seed=2))
    hierarchy = build_hierarchy(frame.merge(series, on="unique_id"))
    # "best" picks per series, so the base forecasts of a region and its stores disagree.
    model = RevenueForecaster(CANDIDATES, h=4, levels=(80,), strategy="best",
                              selection_folds=2, reconciler=reconciler)
    cv = model.cross_validation(frame, hierarchy, series, n_windows=1)
    assert cv.final == "selected_reconciled"
    assert list(cv.accuracy_by_grain["grain"]) == ["total", "region", "region/store"]
    assert set(cv.rows["grain"]) == {"total", "region", "region/store"}
    model.fit(frame, hierarchy, series, cv=cv)
    reconciled, base = model.predict_with_base(4)
    assert coherence_error(reconciled, hierarchy) < 1e-6
    assert coherence_error(base, hierarchy) > 1e-6
    assert {"grain", "region", "store"} <= set(reconciled.columns)
    # Intervals are calibrated per grain: the total's are not its stores' relative widths.
    assert set(model.selection_.calibrator.quantiles_["model"]) == {
        "total", "region", "region/store"}


def test_without_a_reconciler_forecasts_stay_as_selected(make_panel):
    frame, series = _stacked(make_panel(n_series=4, n_weeks=120, seed=2))
    hierarchy = build_hierarchy(frame.merge(series, on="unique_id"))
    model = RevenueForecaster(CANDIDATES, h=4, selection_folds=2).fit(frame, hierarchy, series)
    reconciled, base = model.predict_with_base(4)
    pd.testing.assert_frame_equal(reconciled, base)
    assert model.hierarchy_ is None


def test_regressors_and_pyfunc_frame(make_panel):
    panel = make_panel(n_series=2, n_weeks=100, seed=1)
    frame = panel[["unique_id", "ds", "y", "promo"]]
    model = RevenueForecaster(CANDIDATES, h=3, levels=(80,), selection_folds=2,
                              exog=("promo",)).fit(frame)
    with pytest.raises(ValidationError, match="predict needs X"):
        model.predict(3)
    last = frame["ds"].max()
    dates = pd.date_range(last, periods=4, freq="W-FRI")[1:]
    # One series given: the other takes the same date's value.
    future = pd.DataFrame({"unique_id": "s0", "ds": dates, "h": [1, 2, 3], "promo": 0.0})
    out = model.predict(3, future)
    assert sorted(out["unique_id"].unique()) == ["s0", "s1"] and len(out) == 6
    only = model.predict_frame(future)
    assert list(only["unique_id"].unique()) == ["s0"] and only["h"].dtype == np.int64
    with pytest.raises(ValidationError, match="missing column"):
        model.predict_frame(future.drop(columns="promo"))


class _Fragile(NaiveForecaster):
    """A naive forecaster that cannot fit fewer than ``need`` or more than ``most`` periods (as
    the global model's lags cannot fit a short history)."""

    def __init__(self, need: int = 0, most: int = 10_000, freq: str | None = None):
        self.need = need
        self.most = most
        self.freq = freq

    def _fit(self, frame):
        length = frame.groupby("unique_id").size().max()
        if not self.need <= length <= self.most:
            raise ValidationError(f"series frame: no rows with {self.need} periods of history")
        super()._fit(frame)


def test_a_candidate_that_cannot_fit_is_dropped_with_its_reason(make_panel, caplog):
    frame = make_panel(n_series=2, n_weeks=60, seed=4)[["unique_id", "ds", "y"]]
    # Fits all 60 weeks but not the backtest origins (56 weeks and fewer): dropped everywhere.
    model = RevenueForecaster({**CANDIDATES, "fragile": _Fragile(need=58)}, h=4,
                              selection_folds=2)
    cv = model.cross_validation(frame, n_windows=1)
    assert set(cv.dropped) == {"fragile"} and "no rows with 58 periods" in cv.dropped["fragile"]
    assert "fragile" not in set(cv.table["model"]) | set(cv.rows["model"])
    model.fit(frame, cv=cv)
    assert set(model.models_) == {"naive", "snaive"}
    assert "fragile" not in set(model.selection_.choice["model"])
    assert "candidate fragile dropped" in caplog.text
    # One that fits every origin but not all the history is dropped at the final fit.
    late = RevenueForecaster({**CANDIDATES, "late": _Fragile(most=58)}, h=4, selection_folds=2)
    late.fit(frame)
    assert list(late.dropped_) == ["late"] and late.dropped_["late"].startswith("final fit")
    assert "late" not in set(late.selection_.choice["model"]) and len(late.predict(4)) == 8
    with pytest.raises(ValidationError, match="no candidate could be fitted: only: origin"):
        RevenueForecaster({"only": _Fragile(need=10_000)}, h=4, selection_folds=2).fit(frame)


def test_a_series_sold_once_leaves_prophet_to_the_others(make_panel):
    from forecast.models.prophet_model import ProphetForecaster

    pytest.importorskip("prophet")
    frame = make_panel(n_series=2, n_weeks=40, seed=3)[["unique_id", "ds", "y"]]
    new = pd.DataFrame({"unique_id": ["new"], "ds": [frame["ds"].max()], "y": [5.0]})
    prophet = ProphetForecaster(n_jobs=1, yearly_seasonality=False)
    model = RevenueForecaster({**CANDIDATES, "prophet": prophet}, h=4, levels=(80,),
                              selection_folds=2).fit(pd.concat([frame, new], ignore_index=True))
    # A product first sold in the last week used to drop Prophet for every series ("final
    # fit: ... fewer than 2 observed values").
    assert model.dropped_ == {} and "prophet" in model.models_
    assert "prophet" in set(model.selection_.choice["model"])
    out = model.predict(4).set_index("unique_id")
    assert len(out) == 12 and np.isfinite(out.loc["new", "yhat"]).all()
    assert any(n.startswith("candidate prophet does not forecast 1 series with too few "
                            "observed values ('new')") for n in model.notes())


def test_a_discontinued_series_is_forecast_as_zero_and_flagged():
    from forecast.synth.beds import stopping_and_new

    frame = stopping_and_new(n_series=6)[["unique_id", "ds", "y"]]
    model = RevenueForecaster(CANDIDATES, h=13, levels=(80,), selection_folds=2)
    # Alone, a series that stopped a year ago used to stop training ("calibration table: no
    # rows with both y and yhat").
    alone = frame[frame["unique_id"] == "stopped_01"]
    out = clone(model).fit(alone).predict(13)
    assert (out[["yhat", "yhat_lo_80", "yhat_hi_80"]] == 0).all().all()
    assert out["discontinued"].all()
    cv = clone(model).cross_validation(alone, n_windows=1)
    assert (cv.rows.loc[cv.rows["model"] == "selected", "yhat"] == 0).all()
    # Beside other series: they go on as without it.
    fitted = clone(model).fit(frame)
    out = fitted.predict(13).set_index("unique_id")
    assert set(fitted.selection_.discontinued) == {"stopped_01", "stopped_04"}
    assert (out.loc[["stopped_01", "stopped_04"], "yhat"] == 0).all()
    assert not out.drop(index=["stopped_01", "stopped_04"])["discontinued"].any()
    others = clone(model).fit(frame[~frame["unique_id"].str.startswith("stopped")])
    pd.testing.assert_frame_equal(
        out.drop(index=["stopped_01", "stopped_04"]).reset_index(),
        others.predict(13), check_like=True)


def test_seasonal_candidates_are_weighted_only_where_the_backtest_exercised_them():
    from forecast.models.baselines import SeasonalGrowthForecaster
    from forecast.synth.beds import decaying_base

    # 60 weeks: every backtest origin (47 and 34 weeks) has less than a season, so the seasonal
    # candidates forecast the last value there; at the end they would paste last year in.
    full = decaying_base(n_weeks=86, seed=1)
    train, test = full.iloc[:60], full.iloc[60:]
    candidates = {**CANDIDATES, "growth": SeasonalGrowthForecaster()}
    model = RevenueForecaster(candidates, h=13, horizon=26, selection_folds=2).fit(train)
    excluded = model.selection_.excluded.set_index("model")["reason"]
    assert set(excluded.index) == {"snaive", "growth"}
    assert "'last value' with 34 periods" in excluded["snaive"] and "'seasonal'" in \
        excluded["snaive"]
    assert set(model.selection_.choice["model"]) == {"naive"}
    wape = (model.predict(26)["yhat"].to_numpy() - test["y"].to_numpy()).__abs__().sum() \
        / test["y"].sum()
    naive = NaiveForecaster().fit(train).predict(26)["yhat"].to_numpy()
    assert wape <= 1.05 * np.abs(naive - test["y"].to_numpy()).sum() / test["y"].sum()
    # The cross-validation's choices say why, fold by fold: with 70 weeks the scored origin
    # (57 weeks) has a season, the two before it (44 and 31) do not. With three years of
    # history at every origin nothing is excluded.
    cv = RevenueForecaster(candidates, h=13, selection_folds=2).cross_validation(
        full.iloc[:70])
    reasons = cv.choices.dropna(subset=["reason"])
    assert set(reasons["model"]) == {"snaive", "growth"} and (reasons["weight"] == 0).all()
    long = decaying_base(n_weeks=160, seed=1)
    assert RevenueForecaster(candidates, h=13, selection_folds=2).fit(long).selection_.excluded \
        .empty


def test_notes_say_what_was_not_validated(make_panel):
    from forecast.synth.beds import decaying_base

    model = RevenueForecaster(CANDIDATES, h=13, horizon=26, selection_folds=2).fit(
        decaying_base(n_weeks=60, seed=1))
    notes = model.notes()
    assert any(n.startswith("candidate snaive not weighted for 1 series") for n in notes)
    assert "steps 14..26 are forecast but no backtest fold reached them" in notes[-1]
    frame = make_panel(n_series=2, n_weeks=160, seed=3)[["unique_id", "ds", "y"]]
    assert RevenueForecaster(CANDIDATES, h=4, selection_folds=2).fit(frame).notes() == []
    # One fold: the intervals rest on one window, and the note says so.
    one = RevenueForecaster(CANDIDATES, h=4, selection_folds=1).fit(frame)
    assert one.notes() == [("intervals calibrated on one backtest fold: their coverage rests on "
                            "one stretch of history (its steps pooled)")]
    assert set(one.selection_.calibrator.pooled_) == set(one.selection_.calibrator.quantiles_[
        "model"])


def test_without_selection_folds_candidates_are_averaged_and_forecast(make_panel):
    frame, series = _stacked(make_panel(n_series=4, n_weeks=10, seed=2))
    hierarchy = build_hierarchy(frame.merge(series, on="unique_id"))
    model = RevenueForecaster(CANDIDATES, h=4, levels=(80,), selection_folds=0,
                              reconciler=MinTraceShrink(fallback=WLSVar()))
    model.fit(frame, hierarchy, series)
    out = model.predict(4)
    assert len(out) == 7 * 4 and coherence_error(out, hierarchy) < 1e-6
    assert (model.selection_.choice["weight"] == 0.5).all()
    assert {k: list(v) for k, v in model.error_covariances_.items()} == {ALL_SERIES: [1.0]}
    assert np.isfinite(out[["yhat_lo_80", "yhat_hi_80"]]).all().all()
    assert any("no backtest" in n and "OLS" in n for n in model.notes())


def test_predict_frame_names_the_series_it_does_not_know(make_panel):
    """A served model asked for series it was not trained on says which and which it knows
    (it used to drop them without a word, or fail on their missing regressor values)."""
    frame = make_panel(n_series=3, n_weeks=80, seed=2)[["unique_id", "ds", "y"]]
    model = RevenueForecaster(CANDIDATES, h=2, levels=(80,), selection_folds=1).fit(frame)
    future = model.predict(2)[["unique_id", "ds", "h"]]
    assert len(model.predict_frame(future)) == len(future)
    stranger = future.assign(unique_id=future["unique_id"].where(
        future["unique_id"] != future["unique_id"].iloc[0], "store_99"))
    known = sorted(frame["unique_id"].unique())
    with pytest.raises(ValidationError) as caught:
        model.predict_frame(stranger)
    message = str(caught.value)
    assert "1 series id(s) the model does not know: 'store_99'" in message
    assert f"it forecasts 3 series: {', '.join(repr(k) for k in known)}" in message


def test_a_sporadic_series_quiet_through_the_window_is_not_taken_for_stopped():
    """A product sold about once in 60 days, silent through 3 folds of 13 days (39 days: a
    52 % chance at its rate), is forecast by its models; one sold every day that falls silent
    has stopped. Only the silence was looked at before, so both were forecast as zero."""
    days = pd.date_range("2023-01-01", periods=400, freq="D")
    sporadic = np.zeros(len(days))
    sporadic[[20, 80, 150, 205, 270, 330]] = [5.0, 8.0, 4.0, 6.0, 7.0, 5.0]
    stopped = np.r_[np.full(340, 10.0), np.zeros(60)]
    frame = pd.concat([pd.DataFrame({"unique_id": "sporadic", "ds": days, "y": sporadic}),
                       pd.DataFrame({"unique_id": "stopped", "ds": days, "y": stopped})])
    model = RevenueForecaster(CANDIDATES, h=13, levels=(80,), selection_folds=3).fit(frame)
    assert set(model.selection_.discontinued) == {"stopped"}
    out = model.predict(13).set_index("unique_id")
    assert out.loc["stopped", "discontinued"].all() and (out.loc["stopped", "yhat"] == 0).all()
    assert not out.loc["sporadic", "discontinued"].any()


def test_silence_is_judged_against_the_sales_rate_before_the_window():
    from forecast.model_selection.selection import discontinued_series

    window = pd.DataFrame({"unique_id": np.repeat(["a", "b"], 30), "fold": 0,
                           "ds": np.tile(pd.date_range("2024-01-01", periods=30), 2),
                           "y": 0.0})
    assert discontinued_series(window) == {"a", "b"}  # no rate known: silence is enough
    rates = pd.Series({"a": 0.9, "b": 0.02})  # (0.1) ** 30 against (0.98) ** 30 = 0.55
    assert discontinued_series(window, rates) == {"a"}


def test_intervals_hold_their_point_and_stay_above_zero_on_sales_that_never_were_negative():
    # 40 weeks of a growing store, forecast 26 ahead from one backtest fold: the naive candidates
    # under-forecast every step of it, so conformal bounds of those one-sided errors lay above
    # the point forecast (the store's and the company total's point outside its own 80 % and
    # 95 % intervals at every step), and the level-scaled errors put lower bounds below zero.
    frame, hierarchy, series = _growing_stores("2024-09-02", 40)
    model = RevenueForecaster(CANDIDATES, h=13, horizon=26, levels=(80, 95), selection_folds=1)
    _assert_bounded(model.fit(frame, hierarchy, series).predict(26))


def _growing_stores(start: str, weeks: int):
    """Two stores whose sales grow by 5 % of their first level a week, and their total."""
    rng = np.random.default_rng(8)
    ds = pd.date_range(start, periods=weeks, freq="W-MON")
    frame = pd.concat([pd.DataFrame({
        "unique_id": store, "ds": ds,
        "y": scale * rng.gamma(10, 0.1, weeks) * (1 + np.arange(weeks) / 20)})
        for store, scale in (("a", 3000.0), ("b", 300.0))], ignore_index=True)
    total = frame.groupby("ds", as_index=False)["y"].sum().assign(unique_id="total")
    frame = pd.concat([frame, total], ignore_index=True)
    series = pd.DataFrame({"unique_id": ["a", "b", "total"], "grain": ["store", "store", "total"],
                           "store": ["a", "b", None]})
    return frame, build_hierarchy(frame.merge(series, on="unique_id")), series


def _assert_bounded(out: pd.DataFrame) -> None:
    """Each interval holds its point, 95 % holds 80 %, no lower bound is below zero."""
    for level in (80, 95):
        lo, hi = out[f"yhat_lo_{level}"], out[f"yhat_hi_{level}"]
        assert (lo <= out["yhat"]).all() and (out["yhat"] <= hi).all()
        assert (lo >= 0).all()
    assert (out["yhat_lo_95"] <= out["yhat_lo_80"]).all()
    assert (out["yhat_hi_95"] >= out["yhat_hi_80"]).all()


def test_a_series_that_stopped_within_the_window_is_forecast_as_zero_and_calibrates_nothing():
    # A store sold every week, then nothing for its last 20 weeks (no rows: it closed). The
    # selection window (3 folds of 13 weeks) still held its sales, so it was forecast to go on
    # selling. A seasonal product quiet for 20 weeks has been quiet for 26 every year and is
    # not taken for stopped.
    rng = np.random.default_rng(4)
    weeks = pd.date_range("2023-01-02", periods=130, freq="W-MON")
    season = ((weeks.isocalendar().week >= 14) & (weeks.isocalendar().week < 40)).to_numpy()
    frame = pd.concat([
        pd.DataFrame({"unique_id": "steady", "ds": weeks, "y": rng.gamma(50, 60, 130)}),
        pd.DataFrame({"unique_id": "closed", "ds": weeks[:110], "y": rng.gamma(50, 20, 110)}),
        pd.DataFrame({"unique_id": "seasonal", "ds": weeks,
                      "y": np.where(season, rng.gamma(20, 10, 130), 0.0)})], ignore_index=True)
    model = RevenueForecaster(CANDIDATES, h=13, levels=(80,), selection_folds=3).fit(frame)
    assert set(model.selection_.discontinued) == {"closed"}
    out = model.predict(13).set_index("unique_id")
    assert out.loc["closed", "discontinued"].all()
    assert (out.loc["closed", ["yhat", "yhat_lo_80", "yhat_hi_80"]] == 0).all().all()
    assert not out.loc[["steady", "seasonal"], "discontinued"].any()
    assert any("stopped selling" in note for note in model.notes())


def test_the_backtest_scores_the_intervals_a_forecast_would_have():
    # The same growing stores as above, backtested: the selected and reconciled rows of the
    # evaluation folds carried the raw conformal bounds (points outside their own intervals,
    # negative lower bounds), so the reported coverage was that of intervals no user gets.
    frame, hierarchy, series = _growing_stores("2023-09-04", 66)
    model = RevenueForecaster(CANDIDATES, h=13, levels=(80, 95), selection_folds=1,
                              reconciler=MinTraceShrink())
    rows = model.cross_validation(frame, hierarchy, series, n_windows=2).rows
    ours = rows[rows["model"].isin(["selected", "selected_reconciled"])]
    assert set(ours["model"]) == {"selected", "selected_reconciled"}
    _assert_bounded(ours)
