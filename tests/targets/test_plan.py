"""The targets plan of the tiny company, worked out by hand (see conftest.py)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.stats import norm

from forecast.config import TargetsConfig
from forecast.hierarchy.distribution import probability_of_reaching
from forecast.targets.attainment import parse_period
from forecast.targets.plan import PLAN_COLUMNS, PlanInputs, build_plan, summarise_plan

GRAINS, FORECAST_GRAINS = ["region", "team"], ["region"]


def _plan(inputs, config=None, period="2027-Q1"):
    return build_plan(inputs, config or TargetsConfig(), parse_period(period), GRAINS,
                      FORECAST_GRAINS)


def _targets(plan, span):
    rows = plan[plan["span"] == span]
    return {(u, str(s.date())): round(t, 2) for u, s, t in
            zip(rows["unit_id"], rows["start"], rows["target"], strict=True)}


def _cents(values) -> int:
    return int(np.round(np.sum(np.round(np.asarray(values) * 100))))


def test_quantile_targets_by_forecast_share(tiny_inputs):
    plan = _plan(tiny_inputs)
    assert list(plan.columns) == list(PLAN_COLUMNS)
    period = _targets(plan, "period")
    # Company: 1000 + z(0.6) x 100 = 1025.33. Regions 60/40: 61519.8 and 41013.2 cents; the
    # floors leave one cent, for North. Teams split North 3:1 by history: 461.40, 153.80.
    assert period == {("total", "2027-01-01"): 1025.33, ("North", "2027-01-01"): 615.20,
                      ("South", "2027-01-01"): 410.13, ("North|N1", "2027-01-01"): 461.40,
                      ("North|N2", "2027-01-01"): 153.80, ("South|S1", "2027-01-01"): 410.13}
    months = _targets(plan, "month")
    # Company months 30% / 30% / 40% of 102533 cents: 30759.9, 30759.9, 41013.2 -> the two
    # cents left go to the .9s. North's months are equal thirds (20506.67), South's follow
    # 1:1:2; of the two-way roundings the largest fractions give North the first two cents.
    expected = {"total": [307.60, 307.60, 410.13], "North": [205.07, 205.07, 205.06],
                "South": [102.53, 102.53, 205.07], "North|N1": [153.80, 153.80, 153.80],
                "North|N2": [51.27, 51.27, 51.26], "South|S1": [102.53, 102.53, 205.07]}
    for unit, values in expected.items():
        got = [months[(unit, m)] for m in ("2027-01-01", "2027-02-01", "2027-03-01")]
        assert got == values, unit


def test_probabilities_and_distributions_by_hand(tiny_inputs):
    plan = _plan(tiny_inputs).set_index(["unit_id", "span", "start"])
    q1 = pd.Timestamp("2027-01-01")
    company = plan.loc[("total", "period", q1)]
    # 1 - Phi((1025.33 - 1000) / 100) = 1 - Phi(0.2533) = 0.40002.
    assert company["probability"] == pytest.approx(0.400018, abs=1e-6)
    north = plan.loc[("North", "period", q1)]
    # 1 - Phi((615.20 - 600) / 80) = 1 - Phi(0.19) = 0.424655.
    assert north["probability"] == pytest.approx(0.424655, abs=1e-6)
    team = plan.loc[("North|N1", "period", q1)]
    # N1 is 3/4 of North: base 450, sd 80 x sqrt(3/4) = 69.282; 1 - Phi(11.40 / 69.282).
    assert team["base"] == pytest.approx(450.0)
    assert team["yhat_sd"] == pytest.approx(69.282032, abs=1e-6)
    assert team["probability"] == pytest.approx(0.434651, abs=1e-6)
    assert team["statement"] == ("Revenue of team N1 (North) of at least 461.40 from "
                                 "2027-01-01 to 2027-03-31; probability of reaching it 43% "
                                 "under the forecast")
    # Own stretch: N1's own 60% quantile, 450 + 0.2533471 x 69.282 = 467.55.
    assert team["stretch"] == pytest.approx(467.552402, abs=1e-5)
    assert team["last_year"] == pytest.approx(300.0)
    assert str(team["due"].date()) == "2027-03-31"


def test_growth_targets_by_history_and_the_mismatch_flags(tiny_inputs):
    config = TargetsConfig(policy="growth", growth_rate=0.1, decomposition="historical")
    plan = _plan(tiny_inputs, config)
    period = _targets(plan, "period")
    # Last year 450 x 1.1 = 495; history North 400 : South 50 -> 440 and 55; N1:N2 = 3:1.
    assert period[("total", "2027-01-01")] == 495.00
    assert (period[("North", "2027-01-01")], period[("South", "2027-01-01")]) == (440.0, 55.0)
    assert (period[("North|N1", "2027-01-01")], period[("North|N2", "2027-01-01")]) == \
        (330.0, 110.0)
    rows = plan[plan["span"] == "period"].set_index("unit_id")
    # Bottom-up of North = N1 450 + N2 150 = 600: |440 - 600| / 440 = 0.36 > 0.05.
    assert rows.loc["North", "bottom_up"] == pytest.approx(600.0)
    assert rows.loc["total", "bottom_up"] == pytest.approx(1000.0)
    assert rows["mismatch"].all()
    # N2 sold nothing last year: its own growth stretch is 0.
    assert rows.loc["North|N2", "stretch"] == 0.0


def test_no_mismatch_when_the_target_is_within_tolerance(tiny_inputs):
    plan = _plan(tiny_inputs, TargetsConfig(mismatch_tolerance=0.03))
    rows = plan[plan["span"] == "period"].set_index("unit_id")
    # 1025.33 against 1000 is 2.5 % off: inside 3 %, outside 2 %.
    assert not rows.loc["total", "mismatch"]
    plan = _plan(tiny_inputs, TargetsConfig(mismatch_tolerance=0.02))
    rows = plan[plan["span"] == "period"].set_index("unit_id")
    assert rows.loc["total", "mismatch"]


def test_every_target_adds_up_to_its_parent_to_the_cent(tiny_inputs):
    for config in (TargetsConfig(), TargetsConfig(decomposition="historical",
                                                  policy="management", management_total=987.65)):
        plan = _plan(tiny_inputs, config)
        for (span, start), rows in plan.groupby(["span", "start"]):
            for parent, children in rows.groupby("parent_id"):
                own = rows.loc[rows["unit_id"] == parent, "target"]
                assert _cents(children["target"]) == _cents(own), (span, start, parent)
        for unit, rows in plan.groupby("unit_id"):
            whole = rows.loc[rows["span"] == "period", "target"]
            assert _cents(rows.loc[rows["span"] == "month", "target"]) == _cents(whole), unit
            for month, weeks in rows[rows["span"] == "week"].groupby("month"):
                own = rows.loc[(rows["span"] == "month") & (rows["start"] == month), "target"]
                assert _cents(weeks["target"]) == _cents(own), (unit, month)


def test_weeks_are_cut_at_month_ends_and_split_by_the_weekly_forecast(tiny_inputs):
    plan = _plan(tiny_inputs)
    weeks = plan[(plan["unit_id"] == "total") & (plan["span"] == "week")]
    january = weeks[weeks["month"] == pd.Timestamp("2027-01-01")]
    # 2027-01-01 is a Friday: the first piece is 3 days of the week of 2026-12-28, then four
    # whole weeks. 30760 cents x 3/31 = 2976.77 and x 7/31 = 6945.81: the floors leave four
    # cents, for the four .81s.
    assert [str(d.date()) for d in january["start"]] == [
        "2027-01-01", "2027-01-04", "2027-01-11", "2027-01-18", "2027-01-25"]
    assert [str(d.date()) for d in january["due"]] == [
        "2027-01-03", "2027-01-10", "2027-01-17", "2027-01-24", "2027-01-31"]
    assert january["target"].round(2).tolist() == [29.76, 69.46, 69.46, 69.46, 69.46]
    assert january["base"].tolist() == pytest.approx([33.0, 77.0, 77.0, 77.0, 77.0])
    # A piece of 3 of 7 days carries 3/7 of its week's deviation.
    assert january["yhat_sd"].iloc[0] == pytest.approx(30.0 / 7)
    assert len(weeks) == 14 and len(plan[plan["span"] == "week"]) == 6 * 14


def test_weeks_are_left_out_without_a_weekly_forecast_or_when_asked(tiny_inputs):
    from dataclasses import replace

    assert not (_plan(replace(tiny_inputs, weekly=None))["span"] == "week").any()
    assert not (_plan(tiny_inputs, TargetsConfig(weeks=False))["span"] == "week").any()
    short = tiny_inputs.weekly[tiny_inputs.weekly["ds"] < pd.Timestamp("2027-03-20")]
    assert not (_plan(replace(tiny_inputs, weekly=short))["span"] == "week").any()


def test_a_month_period(tiny_inputs):
    plan = _plan(tiny_inputs, period="2027-03")
    company = plan[(plan["unit_id"] == "total") & (plan["span"] == "period")].iloc[0]
    # March alone: 400 + z(0.6) x 57.735 = 414.63, due 2027-03-31.
    assert company["target"] == pytest.approx(414.63)
    assert str(company["due"].date()) == "2027-03-31"
    assert company["last_year"] == pytest.approx(150.0)


def test_summary(tiny_inputs):
    config = TargetsConfig()
    summary = summarise_plan(_plan(tiny_inputs, config), config)
    assert summary["period"] == "2027-Q1" and summary["weeks"] is True
    assert summary["company"]["target"] == 1025.33
    assert summary["company"]["probability"] == pytest.approx(0.4, abs=1e-4)
    assert summary["levels"]["team"]["units"] == 3
    assert summary["levels"]["team"]["target"] == 1025.33


def test_grains_are_matched_by_their_columns_with_either_separator():
    from forecast.targets.units import series_of_grain

    frame = pd.DataFrame({"grain": ["total", "region", "region|channel", "channel/region"],
                          "region": [None, "N", "N", "S"], "channel": [None, None, "a", "b"]})
    assert series_of_grain(frame, ["region", "channel"])["unit_id"].tolist() == ["N|a", "S|b"]
    assert series_of_grain(frame, [])["unit_id"].tolist() == ["total"]
    assert series_of_grain(frame, ["region", "team"]).empty


def test_teams_taken_from_a_forecast_grain_split_by_their_own_forecasts(tiny_inputs):
    from dataclasses import replace

    rows = []
    for team, quarter in (("N1", 400.0), ("N2", 200.0), ("S1", 400.0)):
        region = "North" if team.startswith("N") else "South"
        key = {"unique_id": f"{region}|{team}", "grain": "region/team", "region": region,
               "team": team}
        rows.append({**key, "period_type": "quarter", "period": pd.Timestamp("2027-01-01"),
                     "yhat": quarter, "yhat_sd": 40.0})
        rows += [{**key, "period_type": "month", "period": pd.Timestamp(m),
                  "yhat": quarter / 3, "yhat_sd": 20.0}
                 for m in ("2027-01-01", "2027-02-01", "2027-03-01")]
    inputs = replace(tiny_inputs, forecast=pd.concat([tiny_inputs.forecast, pd.DataFrame(rows)],
                                                     ignore_index=True))
    plan = build_plan(inputs, TargetsConfig(), parse_period("2027-Q1"), GRAINS,
                      ["region", "team"])
    whole = plan[plan["span"] == "period"].set_index("unit_id")
    # North's 61520 cents by the teams' forecasts 2:1: 41013.33 and 20506.67 -> the cent to
    # N2. Their distributions are their own: 1 - Phi((410.13 - 400) / 40).
    assert whole.loc["North|N1", "target"] == pytest.approx(410.13)
    assert whole.loc["North|N2", "target"] == pytest.approx(205.07)
    assert whole.loc["North|N1", "yhat_sd"] == 40.0
    assert whole.loc["North|N1", "probability"] == pytest.approx(0.4000375, abs=1e-6)


def test_a_lopsided_interval_sets_the_stretch_and_the_probabilities(tiny_inputs):
    # A quarter that is one forecast row (quarterly data) keeps its calibrated interval, here
    # 1.28 x 100 below the median and 1.28 x 300 above it (yhat_sd 200, the Normal of its
    # width). With that Normal the 60 % stretch was 1050.67 and the interval's upper bound had a
    # 2.7 % chance; the interval's own deviations give 1076.00 and 10 %.
    z = 1.2815515655446004
    forecast = tiny_inputs.forecast.copy()
    company = (forecast["unique_id"] == "total") & (forecast["period_type"] == "quarter")
    forecast.loc[company, ["yhat_sd", "yhat_lo_80", "yhat_hi_80"]] = [
        200.0, 1000.0 - z * 100.0, 1000.0 + z * 300.0]
    inputs = PlanInputs(forecast, tiny_inputs.history, tiny_inputs.last_year, None)
    plan = _plan(inputs).set_index(["unit_id", "span", "start"])
    q1 = pd.Timestamp("2027-01-01")
    top = plan.loc[("total", "period", q1)]
    assert top["target"] == pytest.approx(1000.0 + 0.2533471 * 300.0, abs=0.01)
    assert top["probability"] == pytest.approx(0.4, abs=1e-4)
    reach = probability_of_reaching(1000.0 + z * 300.0, 1000.0, 100.0, 300.0)
    assert float(reach) == pytest.approx(0.1)
    # Series without an interval keep their Normal: North's 60 % of 1076.00 against its 600 and
    # sd 80.
    north = plan.loc[("North", "period", q1)]
    assert north["target"] == pytest.approx(645.60, abs=0.01)
    assert north["probability"] == pytest.approx(1 - norm.cdf((645.60 - 600.0) / 80.0), abs=1e-4)
