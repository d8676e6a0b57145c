"""Horizons, out-of-sample selection and month/quarter totals of revenue forecasts."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest
from scipy.stats import norm

from forecast.config.revenue import horizon_periods, resolve_horizon
from forecast.errors import ConfigError
from forecast.hierarchy.periods import (
    Z80,
    aggregate_to_periods,
    error_covariances,
    group_covariances,
    series_covariances,
)
from forecast.model_selection.selection import evaluate_selection
from forecast.schemas import ALL_SERIES


@pytest.mark.parametrize("horizon,freq,periods", [
    ("1Q", "W", 13), ("13W", "W", 13), ("3M", "W", 13), ("90D", "W", 13),
    ("1Q", "D", 91), ("91D", "D", 91), ("1Q", "M", 3), ("6M", "W", 26), ("2Q", "Q", 2),
])
def test_horizons_in_periods(horizon, freq, periods):
    assert horizon_periods(horizon, freq) == periods


@pytest.mark.parametrize("bad", ["", "Q", "0W", "13X", "-1Q"])
def test_bad_horizon_is_a_config_error(bad):
    with pytest.raises(ConfigError, match="horizon"):
        horizon_periods(bad, "W")


@pytest.mark.parametrize("freq,first,last_day,periods", [
    # Superstore: orders end Friday 2022-12-30, their partial week (from Monday 12-26) is left
    # out, so the forecast starts 12-26; 2023-Q1 ends on a Friday, in the 14th week (13 missed).
    ("W-MON", date(2022, 12, 26), date(2022, 12, 30), 14),
    # Data ending on the last day of a quarter plan the next one: 13 weeks reach 2027-03-31.
    ("W-FRI", date(2027, 1, 1), date(2026, 12, 31), 13),
    # Data ending mid-quarter plan the quarter after theirs: five months, 151 days.
    ("MS", date(2026, 11, 1), date(2026, 10, 31), 5),
    ("D", date(2026, 11, 1), date(2026, 10, 31), 151),
    ("QS-JAN", date(2026, 10, 1), date(2026, 9, 30), 1),
])
def test_next_quarter_reaches_the_end_of_the_quarter_after_the_data(freq, first, last_day,
                                                                    periods):
    assert resolve_horizon("next_quarter", freq, first, last_day) == periods
    assert resolve_horizon("13W", "W-FRI", first, last_day) == 13  # a length is a length


def _table():
    """Two series, three folds of two steps; model a is better in folds 0-1, b in fold 2."""
    rows = []
    for fold in range(3):
        for uid in ("s1", "s2"):
            for h in (1, 2):
                ds = pd.Timestamp("2024-01-01") + pd.Timedelta(days=7 * (2 * fold + h))
                y = 100.0
                err_a = 1.0 if fold < 2 else 30.0
                err_b = 10.0 if fold < 2 else 1.0
                for model, err in (("a", err_a), ("b", err_b)):
                    rows.append({"fold": fold, "cutoff": pd.Timestamp("2024-01-01")
                                 + pd.Timedelta(days=14 * fold), "unique_id": uid, "ds": ds,
                                 "h": h, "y": y, "model": model, "yhat": y + err,
                                 "yhat_lo_80": y + err - 5, "yhat_hi_80": y + err + 5,
                                 "scale_mae": 1.0, "scale_mse": 1.0})
    return pd.DataFrame(rows)


def test_each_fold_is_chosen_on_the_folds_before_it_only():
    rows, choices, selections = evaluate_selection(_table(), 2, "best", (80,))
    # Fold 2 is scored with the choice of folds 0-1 (model a), although b wins fold 2 itself.
    assert set(choices["fold"]) == {2}
    weights = choices.set_index(["unique_id", "model"])["weight"]
    assert weights[("s1", "a")] == 1.0 and weights[("s1", "b")] == 0.0
    selected = rows[rows["model"] == "selected"]
    np.testing.assert_allclose(selected["yhat"], 130.0)
    assert set(rows["fold"]) == {2}
    assert list(selections) == [2]


def test_too_few_folds_to_choose_and_score():
    with pytest.raises(Exception, match="at least 4"):
        evaluate_selection(_table(), 3, "best", (80,))


def _weekly(values_by_id: dict, start: str, sd: float = 0.0) -> pd.DataFrame:
    rows = []
    for uid, values in values_by_id.items():
        for k, v in enumerate(values):
            rows.append({"unique_id": uid, "ds": pd.Timestamp(start) + pd.Timedelta(weeks=k),
                         "yhat": v, "y": v, "yhat_lo_80": v - sd * Z80,
                         "yhat_hi_80": v + sd * Z80, "grain": "total"})
    return pd.DataFrame(rows)


def test_weeks_split_into_months_by_their_days_and_history_completes_the_first_month():
    # History: the week of Mon 2024-01-22 (70 = 10 a day); forecast weeks from Mon 2024-01-29
    # to Sun 2024-03-03, 7 a day (49 a week), sd 7 per week.
    history = _weekly({"t": [70.0]}, "2024-01-22")[["unique_id", "ds", "y"]]
    forecast = _weekly({"t": [49.0] * 5}, "2024-01-29", sd=7.0)
    out = aggregate_to_periods(forecast, history, "W-MON", ["grain"], [1.0, 0.5])
    months = out[out["period_type"] == "month"].set_index("period")
    # January: 21 known days... only 2024-01-22..28 are history here (7 x 10) plus the
    # forecast's Jan 29-31 (3 x 7); earlier January days have no history row, so they are 0.
    jan, feb = months.loc[pd.Timestamp("2024-01-01")], months.loc[pd.Timestamp("2024-02-01")]
    assert jan["yhat"] == pytest.approx(70 + 21)
    assert jan["actual_part"] == pytest.approx(70 / 91)
    # The forecast's week 1 gives 3/7 of its sd to January: sd 3, one row.
    assert jan["yhat_sd"] == pytest.approx(3.0)
    # February: 4 of week 1's days (sd 4), weeks 2-4 whole (sd 7 each), 4 of week 5 (sd 4):
    # independent they would add to variance 179, moving as one to sd 29; covariance 0.5.
    assert feb["yhat"] == pytest.approx(29 * 7)
    assert feb["yhat_sd"] == pytest.approx(np.sqrt(179 + 0.5 * (29**2 - 179)))
    assert feb["yhat_lo_80"] == pytest.approx(feb["yhat"] - Z80 * feb["yhat_sd"])
    z95 = norm.ppf(0.975)
    assert feb["yhat_hi_95"] == pytest.approx(feb["yhat"] + z95 * feb["yhat_sd"])
    # March is not covered to its last day, nor is Q1: neither is reported.
    assert pd.Timestamp("2024-03-01") not in months.index
    assert not (out["period_type"] == "quarter").any()


def test_data_dated_on_one_day_of_each_week_are_booked_on_that_day():
    # Weekly sales dated on their Monday: the week of Mon 2024-04-29 (70) is April's, as the
    # orders and the monthly report count it. Spread over its days, 2/7 of it went to April
    # and 5/7 into May, which April's revenue already held: counted twice in May and Q2.
    history = _weekly({"t": [70.0]}, "2024-04-29")[["unique_id", "ds", "y"]]
    forecast = _weekly({"t": [49.0] * 9}, "2024-05-06", sd=7.0)
    booked = aggregate_to_periods(forecast, history, "W-MON", ["grain"], booked=True)
    may = booked[(booked["period_type"] == "month")].set_index("period").loc[
        pd.Timestamp("2024-05-01")]
    assert may["yhat"] == pytest.approx(4 * 49) and may["actual_part"] == 0
    assert may["yhat_sd"] == pytest.approx(np.sqrt(4 * 49))
    spread = aggregate_to_periods(forecast, history, "W-MON", ["grain"])
    assert spread.set_index(["period_type", "period"]).loc[
        ("month", pd.Timestamp("2024-05-01")), "actual_part"] > 0


def test_booked_rows_cover_their_whole_period():
    """Regression: monthly data dated on the 1st are booked on that day, and the coverage of
    the forecast was taken from the booking days, so its last month (its forecast row dated
    March 1) was taken to end on March 1: March and the quarter were left out, and the
    chain's targets for that quarter were 'not applicable'."""
    months = pd.date_range("2023-01-01", periods=3, freq="MS")
    forecast = pd.DataFrame({"unique_id": "t", "grain": "total", "ds": months, "yhat": 10.0,
                             "yhat_lo_80": 10 - Z80, "yhat_hi_80": 10 + Z80})
    history = pd.DataFrame({"unique_id": "t", "ds": [pd.Timestamp("2022-12-01")], "y": [9.0]})
    out = aggregate_to_periods(forecast, history, "MS", ["grain"], booked=True)
    got = out.set_index(["period_type", "period"])["yhat"]
    assert got[("month", pd.Timestamp("2023-03-01"))] == pytest.approx(10.0)
    assert got[("quarter", pd.Timestamp("2023-01-01"))] == pytest.approx(30.0)


def test_months_of_booked_quarterly_data_share_their_quarter_by_days():
    """Regression: quarterly totals dated on each quarter's first day are booked on that day,
    and so were their months: October held the whole fourth quarter (920), November and
    December had no forecast, and the chain's targets for that quarter were 'not applicable'.
    A month cannot hold a whole quarterly row; it gets its days' share of it."""
    forecast = pd.DataFrame({"unique_id": "t", "grain": "total",
                             "ds": pd.to_datetime(["2022-10-01", "2023-01-01"]),
                             "yhat": [920.0, 900.0], "yhat_lo_80": [920.0 - 92 * Z80, 810.0],
                             "yhat_hi_80": [920.0 + 92 * Z80, 1080.0]})
    history = pd.DataFrame({"unique_id": "t", "ds": [pd.Timestamp("2022-07-01")], "y": [800.0]})
    out = aggregate_to_periods(forecast, history, "QS-OCT", ["grain"], booked=True)
    got = out.set_index(["period_type", "period"])
    months = got.loc["month", "yhat"]
    assert months.to_dict() == pytest.approx({
        pd.Timestamp("2022-10-01"): 310.0, pd.Timestamp("2022-11-01"): 300.0,
        pd.Timestamp("2022-12-01"): 310.0, pd.Timestamp("2023-01-01"): 310.0,
        pd.Timestamp("2023-02-01"): 280.0, pd.Timestamp("2023-03-01"): 310.0})
    # The days of one row move together: a month carries its share of the row's deviation.
    assert got.loc[("month", pd.Timestamp("2022-11-01")), "yhat_sd"] == pytest.approx(30.0)
    # The quarters are the rows themselves, with their own (lopsided) intervals.
    assert got.loc[("quarter", pd.Timestamp("2023-01-01")), "yhat"] == pytest.approx(900.0)
    assert got.loc[("quarter", pd.Timestamp("2023-01-01")), "yhat_hi_80"] == pytest.approx(1080.0)


def _fold_rows(errors: np.ndarray, uid: str, sd: float = 1.0) -> pd.DataFrame:
    """Backtest rows of one series: ``errors[fold, step]`` around a forecast of 10 in weekly
    periods, each row's 80 % interval that of Normal(10, sd)."""
    folds, steps = np.indices(errors.shape)
    return pd.DataFrame({"fold": folds.ravel(), "unique_id": uid,
                         "ds": pd.Timestamp("2024-01-01") + pd.to_timedelta(
                             7 * (folds.ravel() * errors.shape[1] + steps.ravel()), unit="D"),
                         "y": 10 + errors.ravel(), "yhat": 10.0,
                         "yhat_lo_80": 10 - sd * Z80, "yhat_hi_80": 10 + sd * Z80})


def _shared(rng: np.random.Generator, rho: float, folds: int, steps: int) -> np.ndarray:
    """Errors of sd 1 with a fold-wide part: correlation ``rho`` between any two steps."""
    return (np.sqrt(rho) * rng.normal(size=(folds, 1))
            + np.sqrt(1 - rho) * rng.normal(size=(folds, steps)))


def test_errors_that_move_as_one_covary_fully_at_every_lag():
    # Each fold misses by the same +-1 at all 4 steps: z = +-1, every product 1.
    errors = np.repeat(np.array([[-1.0], [1.0]] * 3), 4, axis=1)
    frame = pd.concat([_fold_rows(errors, u) for u in "abc"])
    np.testing.assert_allclose(error_covariances(frame), [1.0, 1.0, 1.0, 1.0])


def test_covariances_are_measured_by_lag():
    rng = np.random.default_rng(0)
    # A fold-wide part: 0.4 at every lag.
    errors = _shared(rng, 0.4, 400, 13)
    shared = error_covariances(pd.concat([_fold_rows(errors[i::4], f"s{i}") for i in range(4)]))
    assert shared[0] == pytest.approx(1.0, abs=0.05)
    np.testing.assert_allclose(shared[1:], 0.4, atol=0.1)
    # AR(1) errors with phi 0.7: 0.7 ** lag.
    ar = np.zeros((400, 13))
    ar[:, 0] = rng.normal(size=400)
    for t in range(1, 13):
        ar[:, t] = 0.7 * ar[:, t - 1] + np.sqrt(1 - 0.49) * rng.normal(size=400)
    decaying = error_covariances(pd.concat([_fold_rows(ar[i::4], f"s{i}") for i in range(4)]))
    np.testing.assert_allclose(decaying[:5], 0.7 ** np.arange(5), atol=0.08)
    # Errors twice as wide as the intervals say: c(0) = 4.
    wide = error_covariances(_fold_rows(2 * rng.normal(size=(300, 13)), "w"))
    assert wide[0] == pytest.approx(4.0, rel=0.1) and wide[1:].max() < 0.3


def test_a_month_gets_the_spread_of_its_own_weeks_not_of_a_whole_fold():
    """Regression: one spread factor, measured on 13-week fold totals, multiplied every
    period's deviation. With errors sharing a correlation of 0.4 that factor is
    sqrt(1 + 12 x 0.4) = 2.4, right for 13 weeks; a month of 4 weeks has sd
    sqrt(4 + 12 x 0.4) = 3.0, not 2 x 2.4 = 4.8: its interval was 60 % too wide."""
    rng = np.random.default_rng(1)
    rho = 0.4
    errors = _shared(rng, rho, 600, 13)
    covariances = error_covariances(pd.concat([_fold_rows(errors[i::3], f"s{i}")
                                              for i in range(3)]))
    history = _weekly({"t": [10.0]}, "2024-03-25")[["unique_id", "ds", "y"]]
    forecast = _weekly({"t": [10.0] * 9}, "2024-04-01", sd=1.0)
    out = aggregate_to_periods(forecast, history, "W-MON", ["grain"], covariances)
    may = out.set_index(["period_type", "period"]).loc[("month", pd.Timestamp("2024-05-01"))]
    # May: 3 days of the week of Mon Apr 29 (sd 3/7), the weeks of May 6 to 27 whole.
    shares = np.array([3 / 7, 1, 1, 1, 1])
    truth = np.sqrt((shares**2).sum() + rho * (shares.sum() ** 2 - (shares**2).sum()))
    assert may["yhat_sd"] == pytest.approx(truth, rel=0.08)
    # Totals drawn from the same process: the 80 % interval holds 80 % of them.
    draws = _shared(rng, rho, 4000, 5) @ shares + may["yhat"]
    inside = (draws >= may["yhat_lo_80"]) & (draws <= may["yhat_hi_80"])
    assert inside.mean() == pytest.approx(0.80, abs=0.03)


def test_covariances_leave_out_degenerate_intervals_and_cap_each_error():
    rng = np.random.default_rng(2)
    normal = pd.concat([_fold_rows(rng.normal(size=(6, 4)), f"n{i}") for i in range(30)])
    base = error_covariances(normal)
    # A sparse series forecast at ~0 with a zero-width interval, off by 5 each period.
    sparse = _fold_rows(np.full((6, 4), 5.0), "d").assign(yhat=1e-9, yhat_lo_80=1e-9,
                                                         yhat_hi_80=1e-9)
    np.testing.assert_allclose(error_covariances(pd.concat([normal, sparse])), base)
    # One row 50 deviations off counts as 10: c(0) rises by (100 - z^2) / 721, not 2500.
    outlier = _fold_rows(np.array([[50.0]]), "e")
    both = error_covariances(pd.concat([normal, outlier]))
    assert both[0] == pytest.approx((base[0] * 720 + 100) / 721)


def test_each_calibration_group_gets_its_own_covariances():
    """Regression: one profile for all series let sporadic product lines' errors (here 3x as
    wide as their intervals say) widen the company total's months: a young company's
    November read 39,878 to 331,669 around 185,773."""
    rng = np.random.default_rng(3)
    total = _fold_rows(_shared(rng, 0.5, 30, 6), "total")
    lines = pd.concat([_fold_rows(3 * rng.normal(size=(30, 6)), f"line{i}") for i in range(8)])
    groups = pd.Series({"total": "total", **{f"line{i}": "line (lumpy)" for i in range(8)},
                        "young": "line (erratic)"})
    profiles = group_covariances(pd.concat([total, lines]), groups)
    assert set(profiles) == {ALL_SERIES, "total", "line (lumpy)"}
    assert profiles["total"][0] == pytest.approx(1.0, abs=0.3)
    assert profiles["line (lumpy)"][0] == pytest.approx(9.0, rel=0.2)
    by_series = series_covariances(profiles, groups, ["total", "line0", "young", "new", "total"])
    assert by_series["total"] is profiles["total"]
    assert by_series["line0"] is profiles["line (lumpy)"]
    # A group without rows enough to measure (or a series of none) keeps its own intervals'
    # spread, c(0) = 1, and borrows how all the rows moved together.
    for uid in ("young", "new"):
        np.testing.assert_allclose(by_series[uid], profiles[ALL_SERIES] / profiles[ALL_SERIES][0])
    # The total's month is summed with its own covariances, not the lines'.
    history = _weekly({"total": [10.0], "line0": [10.0]}, "2024-04-22")[
        ["unique_id", "ds", "y"]]
    forecast = _weekly({"total": [10.0] * 6, "line0": [10.0] * 6}, "2024-04-29", sd=1.0)
    def may_sd(covariances, ids=("total", "line0")):
        out = aggregate_to_periods(forecast[forecast["unique_id"].isin(ids)], history,
                                   "W-MON", ["grain"], covariances)
        may = out[(out["period_type"] == "month") & (out["period"] == pd.Timestamp("2024-05-01"))]
        return may.set_index("unique_id")["yhat_sd"]

    sd = may_sd(by_series)
    assert sd["total"] == pytest.approx(may_sd(profiles["total"], ["total"])["total"])
    assert sd["line0"] == pytest.approx(may_sd(profiles["line (lumpy)"], ["line0"])["line0"])
    assert sd["total"] < may_sd(profiles["line (lumpy)"], ["total"])["total"] / 1.4


def test_too_few_rows_to_measure_leave_rows_independent():
    frame = _fold_rows(np.array([[3.0, 3.0, 3.0]]), "a")
    np.testing.assert_allclose(error_covariances(frame), [1.0])


def test_a_model_trained_before_covariances_were_measured_converts_its_spread_factor():
    from forecast.model_selection import RevenueForecaster
    from forecast.pipeline.forecasts import _error_covariances

    model = object.__new__(RevenueForecaster)
    model.h, model.inflation_ = 13, np.sqrt(1 + 12 * 0.5)
    np.testing.assert_allclose(_error_covariances(model, ["a"])["a"], [1.0, 0.5])


def test_lower_bounds_of_a_series_whose_months_never_summed_below_zero_stay_above_its_known_part():
    """Regression: a month's Normal interval put Online Retail's December at -30,903 to
    170,761 though no week's lower bound was below zero."""
    history = _weekly({"t": [70.0], "r": [-5.0]}, "2024-04-22")[["unique_id", "ds", "y"]]
    # A week of returns (-3) in a month that sold 97: its months never summed below zero.
    returns = _weekly({"t": [-3.0, 100.0]}, "2024-03-04")[["unique_id", "ds", "y"]]
    history = pd.concat([returns, history], ignore_index=True)
    forecast = _weekly({"t": [10.0] * 6, "r": [10.0] * 6}, "2024-04-29", sd=30.0)
    out = aggregate_to_periods(forecast, history, "W-MON", ["grain"], [1.0, 0.5])
    months = out[out["period_type"] == "month"].set_index(["unique_id", "period"])
    april = months.loc[("t", pd.Timestamp("2024-04-01"))]  # 70 known + 2 forecast days
    assert april["yhat_lo_80"] == pytest.approx(70.0)
    assert april["yhat_lo_95"] == pytest.approx(70.0)
    assert months.loc[("t", pd.Timestamp("2024-05-01")), "yhat_lo_80"] == 0.0
    # A series that sold below zero (returns beyond its sales) keeps its Normal bounds.
    may_r = months.loc[("r", pd.Timestamp("2024-05-01"))]
    assert may_r["yhat_lo_80"] == pytest.approx(may_r["yhat"] - Z80 * may_r["yhat_sd"])
    assert may_r["yhat_lo_80"] < 0


def test_the_known_days_of_a_partial_week_replace_its_forecast_for_those_days():
    # Weeks from Monday; the orders stop on Wednesday 2024-05-29, so the week of May 27 is
    # left out of the series and forecast (49, sd 7): its Monday to Wednesday sold 12 for
    # series t and nothing for u (no row).
    history = _weekly({"t": [70.0], "u": [70.0]}, "2024-05-20")[["unique_id", "ds", "y"]]
    forecast = _weekly({"t": [49.0] * 6, "u": [49.0] * 6}, "2024-05-27", sd=7.0)
    partial = pd.DataFrame({"unique_id": ["t"], "ds": [pd.Timestamp("2024-05-27")], "y": [12.0],
                            "through": [pd.Timestamp("2024-05-29")]})
    out = aggregate_to_periods(forecast, history, "W-MON", ["grain"], partial=partial)
    may = out[(out["period_type"] == "month")].set_index("unique_id").groupby(level=0).first()
    # May: the week of May 20 (70, the only history here), May 27-29 known, May 30-31 forecast.
    assert may.loc["t", "yhat"] == pytest.approx(70 + 12 + 2 * 7)
    assert may.loc["t", "actual_part"] == pytest.approx(82 / 96)
    assert may.loc["u", "yhat"] == pytest.approx(70 + 0 + 2 * 7)
    # Only May 30 and 31 are forecast: 2 of the week's 7 days of its deviation.
    assert may.loc["t", "yhat_sd"] == pytest.approx(2.0)
    june = out[(out["period_type"] == "month") & (out["period"] == pd.Timestamp("2024-06-01"))]
    assert june.set_index("unique_id").loc["t", "yhat"] == pytest.approx(30 * 7)


def test_a_month_of_monthly_data_keeps_its_rows_own_interval():
    """Regression: on Superstore by month the company's January 2023 read 41,823 with an 80 %
    interval of 30,409 to 78,871 in the forecast table and 17,592 to 66,054 in the month and
    quarter table the reports and targets read: one month, two intervals. A period that is
    one whole forecast row keeps that row's (calibrated, lopsided) interval and its spread."""
    history = pd.DataFrame({"unique_id": "t", "ds": pd.date_range("2023-01-01", periods=12,
                                                                   freq="MS"), "y": 50.0})
    forecast = pd.DataFrame({
        "unique_id": "t", "grain": "total", "ds": pd.date_range("2024-01-01", periods=3,
                                                               freq="MS"),
        "yhat": [40.0, 30.0, 60.0], "yhat_lo_80": [30.0, 20.0, 50.0],
        "yhat_hi_80": [80.0, 50.0, 90.0], "yhat_lo_95": [25.0, 15.0, 45.0],
        "yhat_hi_95": [100.0, 70.0, 120.0]})
    out = aggregate_to_periods(forecast, history, "MS", ["grain"], [1.0, 0.5])
    months = out[out["period_type"] == "month"].set_index("period")
    for _, row in forecast.iterrows():
        month = months.loc[row["ds"]]
        assert month["yhat"] == pytest.approx(row["yhat"])
        for column in ("yhat_lo_80", "yhat_hi_80", "yhat_lo_95", "yhat_hi_95"):
            assert month[column] == pytest.approx(row[column])
        assert month["yhat_sd"] == pytest.approx((row["yhat_hi_80"] - row["yhat_lo_80"])
                                                 / (2 * Z80))
    # The quarter sums three rows: a Normal spread with their covariances, as before.
    quarter = out[out["period_type"] == "quarter"].iloc[0]
    assert quarter["yhat"] == pytest.approx(130.0)
    assert quarter["yhat_lo_80"] == pytest.approx(130.0 - Z80 * quarter["yhat_sd"])
