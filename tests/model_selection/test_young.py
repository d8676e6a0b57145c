"""Intervals of series too young for any backtest fold, measured on older series cut to their
age at the same point of the year."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from forecast.model_selection import RevenueForecaster
from forecast.model_selection.young import YoungCalibration, measured_ages, origins
from forecast.models.baselines import NaiveForecaster, SeasonalNaiveForecaster
from forecast.models.conformal import ConformalCalibrator
from forecast.synth.beds import stopping_and_new

CANDIDATES = {"naive": NaiveForecaster(), "snaive": SeasonalNaiveForecaster()}
WEEK = pd.offsets.Week(weekday=4)


def _bed() -> pd.DataFrame:
    """Seasonal weekly series (+-30 % over the year) and four new ones, 21 to 52 weeks old at
    the end; the stopped ones are left out."""
    frame = stopping_and_new(n_series=12, n_weeks=156, seed=0, new_weeks=(21, 30, 43, 52))
    return frame[frame["kind"] != "stopped"][["unique_id", "ds", "y"]]


@pytest.fixture(scope="module")
def fitted():
    frame = _bed()
    origin = frame["ds"].max() - 26 * WEEK  # the new series are 4, 17 and 26 weeks old here
    history, future = frame[frame["ds"] <= origin], frame[frame["ds"] > origin]
    model = RevenueForecaster(CANDIDATES, h=13, levels=(80,), selection_folds=3,
                              min_history=14).fit(history)
    return model, history, future


def test_young_series_intervals_hold_their_coverage(fitted):
    model, _, future = fitted
    young = model.selection_.young
    assert young is not None
    assert young.series.to_dict() == {"new_05": 4, "new_08": 17, "new_11": 26}
    assert young.ages == (4, 17, 26)
    out = model.predict(13).merge(future, on=["unique_id", "ds"])
    rows = out[out["unique_id"].isin(young.series.index)]
    covered = (rows["y"] >= rows["yhat_lo_80"]) & (rows["y"] <= rows["yhat_hi_80"])
    by_series = covered.groupby(rows["unique_id"]).mean()
    # With the calibration of the grown series and the candidates' own intervals, the series
    # 4 weeks old covered 1 of the next 13 weeks (7.7 %; all three 56 %): the season turned
    # down, and the selection window's origins had seen it rise. Measured on the grown series
    # cut to 4, 17 and 26 weeks a year before the origin, where the season turned the same way,
    # it covers 77 % (all three 92 %).
    assert by_series["new_05"] >= 0.6
    assert covered.mean() >= 0.75


def test_the_grown_series_are_forecast_as_without_the_young_ones(fitted):
    model, history, _ = fitted
    grown = history[history["unique_id"].str.startswith("steady")]
    alone = RevenueForecaster(CANDIDATES, h=13, levels=(80,), selection_folds=3,
                              min_history=14).fit(grown)
    assert alone.selection_.young is None
    mine = model.predict(13)
    pd.testing.assert_frame_equal(
        mine[mine["unique_id"].str.startswith("steady")].reset_index(drop=True),
        alone.predict(13))


def test_probes_are_cut_a_year_before_the_origin_where_the_history_allows():
    end, first = pd.Timestamp("2024-12-27"), pd.Timestamp("2022-01-07")
    window = [end - 13 * WEEK * k for k in (3, 2, 1)]
    got = origins(end, first, window, h=13, freq="W-FRI", oldest=26)
    assert got == [end - 104 * WEEK, end - 52 * WEEK]  # three years back lacks 26 weeks before
    # Less than a year and the oldest age before the origin: the selection window's origins.
    assert origins(end, end - 60 * WEEK, window, h=13, freq="W-FRI", oldest=26) == window


def test_ages_measured_and_the_age_each_young_series_takes():
    assert measured_ages(pd.Series([4, 4, 17])) == (4, 17)
    assert measured_ages(pd.Series([4, 8, 17, 26, 30])) == (4, 17, 30)
    young = YoungCalibration(ConformalCalibrator(), (4, 17, 30), pd.Series(dtype=int))
    # The oldest measured age at or below the series' own (younger is wider); below all of
    # them, the youngest.
    assert [young.label(a) for a in (2, 4, 16, 17, 29, 40)] == [
        "age 4", "age 4", "age 4", "age 17", "age 17", "age 30"]


def test_young_series_intervals_are_finite_around_the_forecast(fitted):
    model, _, _ = fitted
    young = model.selection_.young.series.index
    out = model.predict(13)
    rows = out[out["unique_id"].isin(young)]
    assert np.isfinite(rows[["yhat_lo_80", "yhat_hi_80"]]).all().all()
    assert (rows["yhat_lo_80"] <= rows["yhat"]).all() and (rows["yhat_hi_80"] >= rows["yhat"]).all()


def test_the_cross_validation_measures_the_young_series_of_each_evaluation_fold():
    """The evaluation folds score the young series' intervals as the fitted forecaster makes
    them: each fold's selection measures the series its window lacks, on the history before
    the fold's origin."""
    from forecast.evaluation.backtest import BacktestSpec, backtest
    from forecast.model_selection.selection import evaluate_selection

    frame = _bed()
    table = backtest(CANDIDATES, frame, BacktestSpec(h=13, n_folds=4, levels=(80,),
                                                     min_history=14))
    seen = {}

    def young(selection, window, rows):
        seen["young"] = sorted(set(rows["unique_id"]) - set(selection.choice["unique_id"]))
        seen["before"] = window["cutoff"].max() < rows["cutoff"].iloc[0]
        errors = pd.DataFrame({"h": 1, "y": [0.0, 10.0], "yhat": 5.0, "fold": 0,
                               "model": "age 1"})  # errors of +-100 %: very wide
        calibrator = ConformalCalibrator(levels=(80,), min_samples=1).fit(errors)
        return YoungCalibration(calibrator, (1,), pd.Series({uid: 5 for uid in seen["young"]}))

    rows, _, selections = evaluate_selection(table, 3, "auto", (80,), young=young)
    assert seen == {"young": ["new_05"], "before": True}  # 17 weeks old; new_02 has 8 < 14
    assert next(iter(selections.values())).young is not None
    picked = rows[(rows["model"] == "selected") & rows["unique_id"].isin(seen["young"])]
    assert (picked["yhat_hi_80"] >= 1.9 * picked["yhat"]).all()
    grown = rows[(rows["model"] == "selected") & rows["unique_id"].str.startswith("steady")]
    assert (grown["yhat_hi_80"] < 1.5 * grown["yhat"]).all()
