"""Attainment never turns a missing or non-finite actual into 0: a month without any order is
unknown, and a unit whose amounts do not add up to a number has no actual, no attainment and
no rank, while a unit that sold nothing in a month with orders is a real 0."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest

from forecast.targets.attainment import build_attainment, parse_period, summarise_attainment

SPAN = (date(2024, 10, 1), date(2025, 10, 31))
UNITS = {"r1": ("N", "N1"), "r2": ("N", "N1"), "r3": ("S", "S1")}


def _frame(rows: list[tuple[str, str, float]], value: str) -> pd.DataFrame:
    return pd.DataFrame([
        {"period": pd.Timestamp(month), "region": UNITS[rep][0], "team": UNITS[rep][1],
         "rep_id": rep, value: amount} for month, rep, amount in rows])


TARGETS = _frame([("2025-10-01", "r1", 100), ("2025-10-01", "r2", 200),
                  ("2025-10-01", "r3", 300)], "target")


def _table(rows: list[tuple[str, str, float]]) -> pd.DataFrame:
    return build_attainment(_frame(rows, "actual"), TARGETS, parse_period("2025-10"),
                            ["company", "region", "rep"], SPAN)


@pytest.mark.parametrize("bad", [float("nan"), float("inf")])
def test_a_non_finite_actual_is_missing_not_zero_nor_left_out(bad):
    table = _table([("2024-10-01", "r1", 50), ("2025-09-01", "r1", 80),
                    ("2025-10-01", "r1", bad), ("2025-10-01", "r2", 150),
                    ("2025-10-01", "r3", 0.0)])
    company = table[table["level"] == "company"].iloc[0]
    assert np.isnan(company["actual"]) and np.isnan(company["attainment"])
    assert pd.isna(company["rank"]) and np.isnan(company["growth_vs_previous"])
    regions = table[table["level"] == "region"].set_index("region")
    assert np.isnan(regions.loc["N", "actual"]) and regions.loc["S", "actual"] == 0
    reps = table[table["level"] == "rep"].set_index("rep_id")
    assert np.isnan(reps.loc["r1", "actual"]) and pd.isna(reps.loc["r1", "rank"])
    assert reps.loc["r2", "actual"] == 150 and reps.loc["r3", "attainment"] == 0
    summary = summarise_attainment(table, 3)
    assert summary["company"]["actual"] is None and summary["company"]["attainment"] is None
    assert summary["levels"]["rep"]["actual"] is None
    assert summary["levels"]["region"]["target"] == 600


def test_a_month_without_any_order_is_unknown_not_zero():
    # September 2025 has no order at all: the month before October is unknown.
    table = _table([("2024-10-01", "r1", 50), ("2025-08-01", "r1", 70),
                    ("2025-10-01", "r1", 120), ("2025-10-01", "r2", 150)])
    company = table[table["level"] == "company"].iloc[0]
    assert company["actual"] == 270
    assert np.isnan(company["previous_actual"]) and np.isnan(company["growth_vs_previous"])
    reps = table[table["level"] == "rep"].set_index("rep_id")
    # r3 sold nothing in October, a month with orders: a real 0.
    assert reps.loc["r3", "actual"] == 0 and reps.loc["r3", "attainment"] == 0
    assert reps.loc["r1", "year_ago_actual"] == 50 and reps.loc["r2", "year_ago_actual"] == 0
