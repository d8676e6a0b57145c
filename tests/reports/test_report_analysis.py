"""The report arithmetic on small frames whose answers are worked out by hand."""

from __future__ import annotations

import math
from datetime import date

import numpy as np
import pandas as pd
import pytest

from forecast.errors import ConfigError
from forecast.periods import add_months, month_start
from forecast.reports.analysis import (
    abc_classes,
    contribution,
    decompose_change,
    herfindahl,
    herfindahl_normalised,
    main_driver,
    population_stability,
    top_share,
)
from forecast.reports.i18n import Locale
from forecast.reports.monthly_outlook import forecast_against_targets, largest_series
from forecast.reports.periods import MonthWindow, default_month, parse_month


def test_contribution_shares_changes_and_share_of_change():
    frame = pd.DataFrame({"value": ["A", "B", "C"], "current": [60.0, 30.0, 30.0],
                          "previous": [50.0, 40.0, 0.0]})
    out = contribution(frame).set_index("value")
    # Totals 120 vs 90: the change is +30.
    assert list(out.index) == ["A", "B", "C"]
    assert out["share"].tolist() == pytest.approx([0.5, 0.25, 0.25])
    assert out["change"].tolist() == [10.0, -10.0, 30.0]
    assert out.loc["A", "change_pct"] == pytest.approx(0.2)
    assert out.loc["B", "change_pct"] == pytest.approx(-0.25)
    assert math.isnan(out.loc["C", "change_pct"])  # no base
    assert out["share_of_change"].tolist() == pytest.approx([1 / 3, -1 / 3, 1.0])
    assert out["share_previous"].tolist() == pytest.approx([50 / 90, 40 / 90, 0.0])


def test_share_of_change_is_undefined_when_the_total_did_not_move():
    frame = pd.DataFrame({"value": ["A", "B"], "current": [60.0, 40.0],
                          "previous": [40.0, 60.0]})
    assert contribution(frame)["share_of_change"].isna().all()


def test_volume_price_mix_and_other_add_up_to_the_change():
    items = pd.DataFrame({
        "unit": ["A", "A", "A", "B", "C"],
        "item": ["x", "y", "z", "w", "x"],
        "quantity_0": [10, 10, 0, 0, 10], "revenue_0": [100, 200, 0, 0, 100],
        "quantity_1": [12, 8, 1, 5, 15], "revenue_1": [132, 160, 50, 40, 150],
    })
    out = decompose_change(items).set_index("unit")
    # A: common items x (P0 10) and y (P0 20); Q0c = Q1c = 20, P0 = 300 / 20 = 15.
    # volume = 0; at base prices 12 x 10 + 8 x 20 = 280; mix = 280 - 20 x 15 = -20;
    # price = 292 - 280 = 12; z is new: other = 50. Change 342 - 300 = 42.
    assert out.loc["A"].to_dict() == pytest.approx({
        "revenue_0": 300, "revenue_1": 342, "change": 42, "volume": 0, "mix": -20, "price": 12,
        "other": 50})
    # B sells only a new item; C sells 5 more units at the same price: all volume.
    assert out.loc["B", ["volume", "mix", "price", "other"]].tolist() == [0, 0, 0, 40]
    assert out.loc["C", ["volume", "mix", "price", "other"]].tolist() == [50, 0, 0, 0]


def test_returns_and_missing_values_leave_an_item_out_of_the_common_set():
    items = pd.DataFrame({"unit": ["A", "A"], "item": ["x", "y"],
                          "quantity_0": [10, 4], "revenue_0": [100, 40],
                          "quantity_1": [10, -2], "revenue_1": [110, None]})
    out = decompose_change(items).iloc[0]
    # x: price +10; y: net returns this month, so its whole base revenue is "other".
    assert (out["volume"], out["mix"], out["price"], out["other"]) == pytest.approx(
        (0, 0, 10, -40))


def test_the_main_driver_is_the_effect_that_fell_most():
    assert main_driver({"volume": -5, "mix": 2, "price": -7, "other": 0}) == "price"
    assert main_driver({"volume": 5, "mix": 2, "price": 0, "other": 1}) is None


def test_herfindahl_and_its_normalised_form():
    assert herfindahl([50, 30, 20]) == pytest.approx(0.38)
    assert herfindahl([50, 30, 20, 0, -10]) == pytest.approx(0.38)  # returns left out
    assert herfindahl_normalised([50, 30, 20]) == pytest.approx((0.38 - 1 / 3) / (2 / 3))
    assert herfindahl_normalised([10, 10, 10, 10]) == pytest.approx(0.0)
    assert herfindahl_normalised([7]) == 1.0
    assert herfindahl([0, -1]) is None


def test_top_share():
    assert top_share([5, 4, 3, 2, 1], 2) == pytest.approx(9 / 15)
    assert top_share([5, -4], 10) == 1.0


def test_odds_and_p10_are_those_of_the_interval_shown():
    # A month of monthly data keeps its calibrated, lopsided 80 % interval: P10 is its lower
    # bound and a target at its upper bound has a 10 % chance (with one Normal of the
    # interval's width, P10 was 74.4 and the chance 2.7 %). Without an interval: Normal(yhat,
    # yhat_sd); without spread a step at yhat.
    z = 1.2815515655446004
    forecast = pd.DataFrame({
        "unique_id": ["total", "North", "South"], "grain": ["total", "region", "region"],
        "region": [None, "North", "South"], "yhat": [100.0, 100.0, 100.0],
        "yhat_sd": [20.0, 10.0, 0.0], "yhat_lo_80": [100.0 - z * 10, np.nan, np.nan],
        "yhat_hi_80": [100.0 + z * 30, np.nan, np.nan]})
    targets = {(): pd.DataFrame({"target": [100.0 + z * 30]}),
               ("region",): pd.DataFrame({"region": ["North", "South"], "target": [110.0, 101.0]})}
    out = forecast_against_targets(forecast, targets).set_index("unique_id")
    assert out.loc["total", "p10"] == pytest.approx(100.0 - z * 10)
    assert out.loc["total", "probability"] == pytest.approx(0.1)
    assert out.loc["North", "p10"] == pytest.approx(100 - 12.815515655446004)
    assert out.loc["North", "probability"] == pytest.approx(0.15865525393145707)
    assert out.loc["South", "probability"] == 0.0 and out.loc["South", "p10"] == 100.0


def test_forecast_tables_show_the_largest_series_of_a_level_with_thousands():
    # 2,882 products used to fill the monthly report's forecast table (and 11,532 rows of the
    # risk report's, one per month and product).
    products = [f"p{i:04d}" for i in range(250)]
    periods = pd.to_datetime(["2024-01-01", "2024-02-01"])
    rows = pd.DataFrame({
        "unique_id": ["total", "total", *(p for p in products for _ in periods)],
        "grain": ["total"] * 2 + ["product"] * 500, "depth": [0] * 2 + [1] * 500,
        "period": [*periods, *(d for _ in products for d in periods)],
        # Product i sells i in January and 250 - i in February, except the last ten: 1,000.
        "yhat": [1.0, 1.0, *(v for i in range(250) for v in (
            (1000.0, 1000.0) if i >= 240 else (float(i), 250.0 - i)))]})
    for loc in (Locale(), Locale("zh")):
        shown, notes = largest_series(rows, loc, most=100)
        kept = shown.loc[shown["grain"] == "product", "unique_id"].unique()
        assert len(kept) == 100 and set(products[240:]) <= set(kept)
        assert (shown["grain"] == "total").sum() == 2
        assert len(notes) == 1 and "250" in notes[0] and "100" in notes[0]
    assert largest_series(rows, Locale(), most=250)[0].equals(rows)


def test_population_stability_of_a_collapsed_feature():
    reference = pd.Series(np.arange(100, dtype=float))
    assert population_stability(reference, reference) == pytest.approx(0.0)
    # Deciles hold 10% each; every current value falls in the first: shares 1 and 9 x 1e-4.
    # PSI = 0.9 ln(10) + 9 x 0.0999 x ln(1000).
    current = pd.Series([5.0] * 50)
    expected = 0.9 * math.log(10) + 9 * 0.0999 * math.log(1000)
    assert population_stability(reference, current) == pytest.approx(expected)


def test_population_stability_counts_missing_values_as_their_own_bin():
    reference = pd.Series(np.arange(100, dtype=float))
    current = pd.Series([np.nan] * 10 + list(np.arange(90, dtype=float)))
    assert population_stability(reference, current) > 0.1


def test_abc_classes_at_the_cut_offs():
    revenue = pd.Series([10.0, 100.0, 30.0, 50.0, 10.0], index=list("vwxyz"))
    # Largest first: w (0 before), y (0.5), x (0.75) are A; v (0.9) is B; z (0.95) is C.
    assert abc_classes(revenue).to_dict() == {"v": "B", "w": "A", "x": "A", "y": "A", "z": "C"}


def test_month_arithmetic_and_parsing():
    # The report's months are month starts; add_months keeps the day (see tests/test_periods).
    assert add_months(month_start(date(2026, 1, 31)), -1) == date(2025, 12, 1)
    assert add_months(month_start(date(2026, 11, 5)), 14) == date(2028, 1, 1)
    assert parse_month(" 2026-3 ") == date(2026, 3, 1)
    for bad in ("2026-13", "Oct 2026", "2026/10", ""):
        with pytest.raises(ConfigError, match="YYYY-MM"):
            parse_month(bad)
    assert default_month(date(2026, 10, 31)) == date(2026, 10, 1)
    assert default_month(date(2026, 10, 30)) == date(2026, 9, 1)


def test_a_month_the_data_end_in_is_incomplete():
    w = MonthWindow(date(2026, 10, 1), date(2026, 10, 15))
    assert (w.end, w.last_day, w.observed_end, w.complete) == (
        date(2026, 11, 1), date(2026, 10, 31), date(2026, 10, 16), False)
    assert (w.previous, w.year_ago, w.year_ago_end, w.year_start, w.trailing_start) == (
        date(2026, 9, 1), date(2025, 10, 1), date(2025, 11, 1), date(2026, 1, 1),
        date(2025, 11, 1))
    assert MonthWindow(date(2026, 9, 1), date(2026, 10, 15)).complete


@pytest.mark.parametrize("current,expected", [
    # The total rose: the largest riser leads with its share, the largest faller follows.
    ([70.0, 30.0, 20.0], ("By Region, North added most (+20, 200.0% of the change); South "
                          "fell most (-10).")),
    # Regression: the total fell and a member rose; it was "North added most (+5, -14.3% of
    # the change)". The largest faller leads, with its share of the fall.
    ([55.0, 10.0, 10.0], ("By Region, South fell most (-30, 85.7% of the fall); North rose "
                          "most (+5).")),
    # Every member fell: none "added most".
    ([45.0, 35.0, 15.0], "By Region, North fell most (-5, 33.3% of the fall)."),
])
def test_the_contribution_sentence_follows_the_totals_direction(current, expected):
    from forecast.reports.i18n import Locale
    from forecast.reports.monthly import _contribution_sentence

    frame = contribution(pd.DataFrame({"value": ["North", "South", "West"],
                                       "current": current, "previous": [50.0, 40.0, 20.0]}))
    assert _contribution_sentence(frame, Locale(), "region") == expected
