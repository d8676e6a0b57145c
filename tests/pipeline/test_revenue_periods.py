"""Horizons, out-of-sample selection and month/quarter totals of revenue forecasts."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest
from scipy.stats import norm

from forecast.config.revenue import horizon_periods, resolve_horizon
from forecast.errors import ConfigError
from forecast.hierarchy.periods import Z80, aggregate_to_periods, total_error_inflation
from forecast.model_selection.selection import evaluate_selection


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
    out = aggregate_to_periods(forecast, history, "W-MON", ["grain"], inflation=2.0)
    months = out[out["period_type"] == "month"].set_index("period")
    # January: 21 known days... only 2024-01-22..28 are history here (7 x 10) plus the
    # forecast's Jan 29-31 (3 x 7); earlier January days have no history row, so they are 0.
    jan, feb = months.loc[pd.Timestamp("2024-01-01")], months.loc[pd.Timestamp("2024-02-01")]
    assert jan["yhat"] == pytest.approx(70 + 21)
    assert jan["actual_part"] == pytest.approx(70 / 91)
    # The forecast's week 1 gives 3/7 of its sd to January: sd 3, times inflation 2.
    assert jan["yhat_sd"] == pytest.approx(2 * 3.0)
    # February: 4 of week 1's days (sd 4), weeks 2-4 whole (sd 7 each), 4 of week 5 (sd 4).
    assert feb["yhat"] == pytest.approx(29 * 7)
    assert feb["yhat_sd"] == pytest.approx(2 * np.sqrt(16 + 3 * 49 + 16))
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


def test_inflation_measures_the_spread_of_multi_period_totals():
    # Errors perfectly correlated across 4 steps: the total's error is 4 e, while independent
    # rows would imply sd 2 sd_row; z = 4e / (2 sd) with e = +-sd gives |z| = 2.
    rows = []
    for fold in range(6):
        e = 1.0 if fold % 2 else -1.0
        for h in range(4):
            rows.append({"fold": fold, "unique_id": "a", "y": 10 + e, "yhat": 10.0,
                         "yhat_lo_80": 10 - Z80, "yhat_hi_80": 10 + Z80})
    frame = pd.concat([pd.DataFrame(rows).assign(unique_id=u) for u in "abc"])
    assert total_error_inflation(frame) == pytest.approx(2.0)


def test_inflation_ignores_degenerate_intervals_and_caps_each_total():
    rows = []
    for fold in range(6):
        e = 1.0 if fold % 2 else -1.0
        for h in range(4):
            rows.append({"fold": fold, "y": 10 + e, "yhat": 10.0,
                         "yhat_lo_80": 10 - Z80, "yhat_hi_80": 10 + Z80})
    normal = pd.concat([pd.DataFrame(rows).assign(unique_id=u) for u in "abc"])
    # A sparse series forecast at ~0 with a zero-width interval, off by 5 each period.
    sparse = pd.DataFrame(rows).assign(unique_id="d", yhat=1e-9, yhat_lo_80=1e-9,
                                       yhat_hi_80=1e-9, y=5.0)
    assert total_error_inflation(pd.concat([normal, sparse])) == pytest.approx(2.0)
    # A series whose intervals are 10x too narrow counts, but at most |z| = 10 (not 20).
    narrow = pd.DataFrame(rows).assign(unique_id="e", yhat_lo_80=10 - Z80 / 10,
                                       yhat_hi_80=10 + Z80 / 10)
    both = total_error_inflation(pd.concat([normal, narrow]))
    assert both == pytest.approx(np.sqrt((3 * 4 + 100) / 4))
