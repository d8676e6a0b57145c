"""The default revenue horizon reaches the end of the quarter `forecast targets --period next`
plans, wherever the data end: `forecast run` sets next quarter's targets with default settings.

Regression: the default horizon was one quarter (13 weeks) from the first forecast week. Data
ending partway through a quarter, or partway through a week (whose partial week the series
leave out), left the forecast short of the next quarter's end, and the chain marked targets,
its headline deliverable, "not applicable" (Superstore: orders to Friday 2022-12-30, forecast
weeks from Monday 12-26, 13 weeks to 2023-03-26).
"""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import duckdb
import pytest
import yaml
from click.testing import CliRunner
from synthetic_company import company_config

from forecast.cli import main
from forecast.config import SynthOptions


@pytest.fixture(scope="module")
def mid_quarter_company(tmp_path_factory):
    """The synthetic company's orders up to Wednesday 2026-10-28, weekly series, the default
    revenue horizon and two quick candidates."""
    root = tmp_path_factory.mktemp("midquarter")
    config = company_config(root, SynthOptions(customers=80, years=2, seed=5),
                            {"column": "order_date", "op": "le", "value": "2026-10-28"})
    config["features"]["series"]["grains"] = [[], ["region"]]
    config["features"]["customers"].pop("cutoffs", None)  # chosen from the data
    config["revenue"] = {"candidates": ["naive", "seasonal_naive"]}  # horizon: the default
    path = root / "company.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


@pytest.fixture(scope="module")
def ran(mid_quarter_company):
    """``forecast run --until targets --json`` on the company: its steps by name."""
    result = CliRunner().invoke(main, ["run", "--config", str(mid_quarter_company), "--until",
                                       "targets", "--json"])
    assert result.exit_code == 0, result.output
    return {s["step"]: s for s in json.loads(result.stdout)["steps"]}


def test_default_horizon_reaches_next_quarter_and_targets_are_set(ran):
    steps = ran
    assert steps["targets"]["status"] == "ran", steps["targets"]
    assert steps["targets"]["summary"]["period"] == "2027-Q1"
    predict = steps["predict revenue"]["summary"]
    # From the week of 2026-10-26 (left out: the orders stop on its Wednesday) to the week
    # holding 2027-03-31: 23 weeks, where one quarter is 13.
    assert (predict["horizon"], predict["periods"]) == ("next_quarter", 23)
    assert predict["end"] >= "2027-03-25"


def test_the_orders_of_the_partial_week_count_in_their_month_and_quarter(ran,
                                                                         mid_quarter_company):
    """Regression: the week the orders stop partway through is left out of the series, and its
    forecast stood for all of it in October and in 2026-Q4, though its Monday to Wednesday
    orders were in the warehouse (Superstore's December read 95,543 where its orders to
    December 30 held 85,175 and one day was left)."""
    assert ran["predict revenue"]["status"] == "ran"
    workspace = Path(yaml.safe_load(mid_quarter_company.read_text())["workspace"])
    with duckdb.connect(str(workspace / "warehouse.duckdb"), read_only=True) as con:
        weeks = con.execute("SELECT ds, y FROM series WHERE grain = 'total' "
                            "AND ds >= '2026-09-21'").fetchall()
        sold = con.execute("SELECT sum(amount) FROM orders WHERE order_date >= '2026-10-26'"
                           ).fetchone()[0]
        known = dict(con.execute(
            "SELECT period_type, yhat * actual_part FROM revenue_forecast_periods "
            "WHERE grain = 'total' AND period = '2026-10-01'").fetchall())
        week = con.execute("SELECT yhat FROM revenue_forecast WHERE grain = 'total' "
                           "AND ds = '2026-10-26'").fetchone()[0]
        month = con.execute("SELECT yhat FROM revenue_forecast_periods WHERE grain = 'total' "
                            "AND period_type = 'month' AND period = '2026-10-01'").fetchone()[0]
    assert sold != 0  # the partial week has orders (here returns beyond its sales)
    # The series' weeks count in October by their days in it (the week of Sep 28: 4 of 7).
    weekly = sum(y * sum((start + timedelta(days=d)).month == 10 for d in range(7)) / 7
                 for start, y in weeks)
    # October and 2026-Q4 know the weeks and every order from Monday 26 to Wednesday 28 ...
    assert known["month"] == pytest.approx(weekly + sold)
    assert known["quarter"] == pytest.approx(weekly + sold)
    # ... and forecast the rest of October, the 29th to the 31st: 3 of the week's 7 days.
    assert month == pytest.approx(weekly + sold + week * 3 / 7)
