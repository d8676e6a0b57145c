"""Attainment and the period parser on a tiny organisation worked out by hand.

Region N has teams N1 (reps r1, r2) and N2 (r3); region S has team S1 (r4). Rep r5 of team S2
in region S sells without a target. Orders run from 2024-10-01 to 2025-10-31.

    month     r1   r2   r3   r4   r5   | targets 2025-10: r1 100, r2 200, r3 300, r4 400
    2024-10  200    .    .    .    .
    2025-09  100  100  400    .    .
    2025-10  120  150  300  200   50

2025-10: company 820 / 1000 = 0.82 (gap 180, shortage 0.18), vs 2025-09 (600) +36.7 %, vs
2024-10 (200) +310 %. Regions: N 570 / 600 = 0.95, S 250 / 400 = 0.625 (r5 counts in S).
Teams: N2 300 / 300 = 1.0, N1 270 / 300 = 0.9, S1 200 / 400 = 0.5 (S2 has no target, so its 50
is unattributed). Reps: r1 1.2, r3 1.0, r2 0.75, r4 0.5.
"""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest

from forecast.errors import ConfigError, ValidationError
from forecast.periods import add_months
from forecast.targets.attainment import (
    Period,
    available_grains,
    build_attainment,
    parse_period,
    resolve_grains,
    summarise_attainment,
)

SPAN = (date(2024, 10, 1), date(2025, 10, 31))
OCTOBER = parse_period("2025-10")
UNITS = {"r1": ("N", "N1"), "r2": ("N", "N1"), "r3": ("N", "N2"), "r4": ("S", "S1"),
         "r5": ("S", "S2")}
GRAINS = ["company", "region", "team", "rep"]


def _frame(rows: list[tuple[str, str, float]], value: str) -> pd.DataFrame:
    return pd.DataFrame([
        {"period": pd.Timestamp(month), "region": UNITS[rep][0], "team": UNITS[rep][1],
         "rep_id": rep, value: amount} for month, rep, amount in rows])


@pytest.fixture
def actuals() -> pd.DataFrame:
    return _frame([
        ("2024-10-01", "r1", 200),
        ("2025-09-01", "r1", 100), ("2025-09-01", "r2", 100), ("2025-09-01", "r3", 400),
        ("2025-10-01", "r1", 120), ("2025-10-01", "r2", 150), ("2025-10-01", "r3", 300),
        ("2025-10-01", "r4", 200), ("2025-10-01", "r5", 50),
    ], "actual")


@pytest.fixture
def targets() -> pd.DataFrame:
    return _frame([("2025-10-01", "r1", 100), ("2025-10-01", "r2", 200),
                   ("2025-10-01", "r3", 300), ("2025-10-01", "r4", 400)], "target")


@pytest.fixture
def table(actuals, targets) -> pd.DataFrame:
    return build_attainment(actuals, targets, OCTOBER, GRAINS, SPAN)


def _level(table: pd.DataFrame, level: str, key: str) -> pd.DataFrame:
    return table[table["level"] == level].set_index(key)


def test_company(table):
    company = table[table["level"] == "company"].iloc[0]
    assert (company["actual"], company["target"]) == (820, 1000)
    assert company["attainment"] == pytest.approx(0.82)
    assert company["gap"] == pytest.approx(180) and company["shortage"] == pytest.approx(0.18)
    assert company["previous_actual"] == 600 and company["year_ago_actual"] == 200
    assert company["growth_vs_previous"] == pytest.approx(820 / 600 - 1)
    assert company["growth_vs_year_ago"] == pytest.approx(3.1)
    assert company["period"] == "2025-10" and bool(company["complete"])
    assert pd.isna(company["region"]) and pd.isna(company["rep_id"])


def test_regions_count_every_order_of_the_region(table):
    regions = _level(table, "region", "region")
    assert regions["actual"].to_dict() == {"N": 570, "S": 250}
    assert regions["attainment"].to_dict() == pytest.approx({"N": 0.95, "S": 0.625})
    assert regions["shortage"].to_dict() == pytest.approx({"N": 0.05, "S": 0.375})
    assert regions["rank"].to_dict() == {"N": 1, "S": 2}


def test_teams_ranked_with_growth(table):
    teams = _level(table, "team", "team")
    assert teams.index.tolist() == ["N2", "N1", "S1"]  # by rank; S2 has no target
    assert teams["rank"].tolist() == [1, 2, 3]
    assert teams["attainment"].tolist() == pytest.approx([1.0, 0.9, 0.5])
    assert teams["gap"].tolist() == pytest.approx([0, 30, 200])
    assert teams["shortage"].tolist() == pytest.approx([0, 0.1, 0.5])
    assert teams["previous_actual"].tolist() == [400, 200, 0]
    assert teams["growth_vs_previous"].tolist()[:2] == pytest.approx([-0.25, 0.35])
    assert np.isnan(teams.loc["S1", "growth_vs_previous"])  # nothing sold the month before
    assert teams.loc["N1", "growth_vs_year_ago"] == pytest.approx(0.35)
    assert np.isnan(teams.loc["N2", "growth_vs_year_ago"])


def test_reps(table):
    reps = _level(table, "rep", "rep_id")
    assert reps.index.tolist() == ["r1", "r3", "r2", "r4"]
    assert reps["attainment"].tolist() == pytest.approx([1.2, 1.0, 0.75, 0.5])
    assert reps.loc["r1", "gap"] == -20 and reps.loc["r1", "shortage"] == 0
    assert reps.loc["r2", "team"] == "N1" and reps.loc["r2", "region"] == "N"


def test_ties_share_a_rank_after_the_actual():
    targets = pd.DataFrame({"period": pd.Timestamp("2025-10-01"), "region": ["A", "B", "C", "D"],
                            "team": None, "rep_id": None, "target": [100, 200, 100, 100]})
    actuals = targets.rename(columns={"target": "actual"}).assign(actual=[100, 200, 100, 50])
    table = build_attainment(actuals, targets, OCTOBER, ["region"], SPAN).set_index("region")
    # All of A, B, C attain 100 %: B sold most; A and C tie on both and share rank 2.
    assert table["rank"].to_dict() == {"B": 1, "A": 2, "C": 2, "D": 4}


def test_quarter_sums_its_months(actuals, targets):
    months = ["2025-07-01", "2025-08-01", "2025-09-01"]
    quarter_targets = _frame([(m, "r1", 100) for m in months], "target")
    quarter_actuals = _frame([("2025-04-01", "r1", 120), ("2025-06-01", "r1", 80),
                              ("2025-07-01", "r1", 50), ("2025-08-01", "r1", 100),
                              ("2025-09-01", "r1", 90)], "actual")
    table = build_attainment(quarter_actuals, quarter_targets, parse_period("2025-Q3"),
                             ["company"], SPAN)
    row = table.iloc[0]
    assert (row["actual"], row["target"]) == (240, 300)
    assert row["attainment"] == pytest.approx(0.8)
    assert row["previous_actual"] == 200 and row["growth_vs_previous"] == pytest.approx(0.2)
    # 2024-Q3 lies before the data start: unknown, not zero.
    assert np.isnan(row["year_ago_actual"]) and np.isnan(row["growth_vs_year_ago"])


def test_partial_period_has_attainment_but_no_growth(actuals, targets):
    table = build_attainment(actuals, targets, parse_period("2025-Q4"), ["company"], SPAN)
    row = table.iloc[0]
    assert not row["complete"] and row["actual"] == 820 and row["target"] == 1000
    assert np.isnan(row["growth_vs_previous"]) and np.isnan(row["growth_vs_year_ago"])


def test_year_ago_not_covered_is_unknown(actuals, targets):
    table = build_attainment(actuals, targets, OCTOBER, ["company"],
                             (date(2024, 10, 2), SPAN[1]))
    assert np.isnan(table.iloc[0]["year_ago_actual"])
    assert table.iloc[0]["growth_vs_previous"] == pytest.approx(820 / 600 - 1)


def test_period_without_data_or_targets_is_an_error(actuals, targets):
    with pytest.raises(ValidationError, match="no orders in 2025-11.*2024-10-01 to 2025-10-31"):
        build_attainment(actuals, targets, parse_period("2025-11"), GRAINS, SPAN)
    with pytest.raises(ValidationError, match="no row for 2025-09; targets cover 2025-10..2025-10"):
        build_attainment(actuals, targets, parse_period("2025-09"), GRAINS, SPAN)


def test_grains_follow_the_targets(targets):
    team_only = targets.assign(rep_id=None)
    assert available_grains(targets, OCTOBER) == GRAINS
    assert available_grains(team_only, OCTOBER) == ["company", "region", "team"]
    assert resolve_grains(GRAINS, team_only, OCTOBER, explicit=False) == [
        "company", "region", "team"]
    with pytest.raises(ConfigError, match="level 'rep' needs target rows with region, team, "
                                          "rep_id.*support: company, region, team"):
        resolve_grains(["rep"], team_only, OCTOBER, explicit=True)


def test_summary_lists_best_and_worst(table):
    summary = summarise_attainment(table, top=2)
    assert summary["company"]["attainment"] == pytest.approx(0.82)
    teams = summary["levels"]["team"]
    assert teams["units"] == 3 and teams["on_target"] == 1
    assert teams["unattributed_actual"] == 50  # team S2 sold without a target
    assert [t["team"] for t in teams["best"]] == ["N2", "N1"]
    assert [t["team"] for t in teams["worst"]] == ["S1", "N1"]
    assert "rep_id" not in teams["best"][0]
    assert summary["levels"]["region"]["unattributed_actual"] == 0


@pytest.mark.parametrize(("text", "start", "end", "kind", "label"), [
    ("2026-10", date(2026, 10, 1), date(2026, 11, 1), "month", "2026-10"),
    ("2026-1", date(2026, 1, 1), date(2026, 2, 1), "month", "2026-01"),
    ("2026-12", date(2026, 12, 1), date(2027, 1, 1), "month", "2026-12"),
    ("2026-Q3", date(2026, 7, 1), date(2026, 10, 1), "quarter", "2026-Q3"),
    (" 2026q4 ", date(2026, 10, 1), date(2027, 1, 1), "quarter", "2026-Q4"),
])
def test_parse_period(text, start, end, kind, label):
    period = parse_period(text)
    assert tuple(period) == (start, end, kind)
    assert period.label == label


@pytest.mark.parametrize(("last_day", "start"), [
    (date(2026, 9, 30), date(2026, 10, 1)),
    (date(2026, 10, 31), date(2027, 1, 1)),
    (date(2026, 12, 31), date(2027, 1, 1)),
    (date(2026, 1, 1), date(2026, 4, 1)),
])
def test_next_is_the_quarter_after_the_last_order(last_day, start):
    assert parse_period("next", last_day) == Period(start, add_months(start, 3), "quarter")


@pytest.mark.parametrize("text", ["2026-13", "2026-00", "2026-Q5", "Q3 2026", "soon", ""])
def test_bad_periods_say_what_is_expected(text):
    with pytest.raises(ConfigError, match=r"expected a month \(2026-10\), a quarter"):
        parse_period(text)


def test_next_needs_data():
    with pytest.raises(ConfigError, match="there are no orders"):
        parse_period("next", None)


def test_period_arithmetic():
    q1 = parse_period("2026-Q1")
    assert q1.shifted(-1).label == "2025-Q4" and q1.year_before().label == "2025-Q1"
    assert parse_period("2026-01").shifted(-1).label == "2025-12"
    assert q1.last_day == date(2026, 3, 31)
