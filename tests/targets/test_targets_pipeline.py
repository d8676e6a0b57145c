"""forecast targets on a small synthetic company with a hand-made revenue forecast."""

from __future__ import annotations

import json
import shutil

import duckdb
import numpy as np
import pandas as pd
import pytest
import yaml
from click.testing import CliRunner

from forecast.cli import main
from forecast.config import SynthOptions, TargetsConfig, load_config
from forecast.errors import ConfigError, DataError, WorkspaceError
from forecast.pipeline import build_targets, run_demo

MONTHS = pd.to_datetime(["2027-01-01", "2027-02-01", "2027-03-01"])
SHAPE = (0.3, 0.3, 0.4)
COMPANY_SD = 150_000.0


def _write_forecast(warehouse) -> list[str]:
    """Regions forecast 100k, 200k, ... for 2027-Q1 (30/30/40 % by month, 13 equal weeks);
    the company is their sum with a quarter sd of 150k."""
    con = duckdb.connect(str(warehouse))
    regions = [r[0] for r in con.execute("SELECT DISTINCT region FROM orders ORDER BY 1")
               .fetchall()]
    periods, weeks = [], []
    for unique_id, grain, region, quarter, sd in [
        ("total", "total", None, 100_000.0 * sum(range(1, len(regions) + 1)), COMPANY_SD),
        *((r, "region", r, 100_000.0 * (i + 1), 10_000.0 * (i + 1))
          for i, r in enumerate(regions))]:
        key = {"unique_id": unique_id, "grain": grain, "region": region, "channel": None}
        periods.append({**key, "period_type": "quarter", "period": MONTHS[0], "yhat": quarter,
                        "yhat_sd": sd})
        periods += [{**key, "period_type": "month", "period": m, "yhat": quarter * s,
                     "yhat_sd": sd / np.sqrt(3)} for m, s in zip(MONTHS, SHAPE, strict=True)]
        weeks += [{**key, "ds": ds, "h": h, "yhat": quarter / 13, "yhat_sd": sd / 13}
                  for h, ds in enumerate(pd.date_range("2026-12-28", "2027-03-29",
                                                       freq="W-MON"), 1)]
    frames = {"revenue_forecast_periods": pd.DataFrame(periods),
              "revenue_forecast": pd.DataFrame(weeks)}
    for name, frame in frames.items():
        con.register("_frame", frame)
        date_column = "period" if "period" in frame else "ds"
        con.execute(f"CREATE OR REPLACE TABLE {name} AS SELECT * REPLACE "
                    f"(CAST({date_column} AS DATE) AS {date_column}, "
                    "CAST(region AS VARCHAR) AS region, CAST(channel AS VARCHAR) AS channel) "
                    "FROM _frame")
        con.unregister("_frame")
    con.close()
    return regions


@pytest.fixture(scope="module")
def demo_workspace(tmp_path_factory):
    workspace = tmp_path_factory.mktemp("targets") / "ws"
    run_demo(workspace, SynthOptions(customers=100, years=2), until="customer snapshots")
    regions = _write_forecast(workspace / "warehouse.duckdb")
    return workspace, regions


@pytest.fixture
def workspace(demo_workspace, tmp_path):
    copy = tmp_path / "ws"
    shutil.copytree(demo_workspace[0], copy)
    return copy


def _config(workspace, **targets):
    config = load_config(workspace / "demo.yaml").with_workspace(workspace)
    return config.model_copy(update={"targets": TargetsConfig(**targets)})


def _orders(workspace) -> pd.DataFrame:
    with duckdb.connect(str(workspace / "warehouse.duckdb"), read_only=True) as con:
        return con.execute("SELECT order_date, region, team, amount FROM orders").df()


def _plan(workspace) -> pd.DataFrame:
    with duckdb.connect(str(workspace / "warehouse.duckdb"), read_only=True) as con:
        return con.execute("SELECT * FROM targets_plan").df()


def test_quantile_targets_for_the_synthetic_company(workspace, demo_workspace):
    result = build_targets(_config(workspace), "next")
    regions = demo_workspace[1]
    base = 100_000.0 * sum(range(1, len(regions) + 1))
    # Data end 2026-10-31, so next is 2027-Q1; target = base + z(0.6) x 150000.
    assert result.period == "2027-Q1"
    assert result.company["target"] == round(base + 0.2533471031 * COMPANY_SD, 2)
    assert result.company["probability"] == pytest.approx(0.4, abs=1e-6)
    assert result.company["due"] == "2027-03-31"
    assert result.levels_used == ["company", "region", "team"]
    assert result.forecast_levels == ["company", "region"]
    assert result.weeks is True
    orders = _orders(workspace)
    window = orders[pd.to_datetime(orders["order_date"]) >= pd.Timestamp("2025-11-01")]
    teams = window.groupby(["region", "team"])["amount"].sum()
    assert result.levels["region"]["units"] == len(regions)
    assert result.levels["team"]["units"] == len(teams)
    plan = _plan(workspace)
    # Every unit has the quarter, three months and the 14 week pieces of 2027-Q1.
    assert len(plan) == result.table_rows == (1 + len(regions) + len(teams)) * (1 + 3 + 14)
    whole = plan[plan["span"] == "period"].set_index("unit_id")
    for (region, team), revenue in teams.items():
        share = revenue / teams[region].sum()
        assert whole.loc[f"{region}|{team}", "target"] == pytest.approx(
            whole.loc[region, "target"] * share, abs=0.01)
    assert (workspace / "outputs" / "targets_2027-Q1.xlsx").is_file()


def test_the_table_adds_up_to_the_cent(workspace):
    build_targets(_config(workspace, decomposition="historical"), "2027-Q1")
    plan = _plan(workspace)
    cents = (plan["target"] * 100).round().astype("int64")
    plan = plan.assign(cents=cents)
    parents = plan.set_index(["unit_id", "span", "start"])["cents"]
    children = plan.dropna(subset=["parent_id"]).groupby(["parent_id", "span", "start"])[
        "cents"].sum()
    assert (children == parents.reindex(children.index)).all()
    months = plan[plan["span"] == "month"].groupby("unit_id")["cents"].sum()
    whole = plan[plan["span"] == "period"].set_index("unit_id")["cents"]
    assert (months == whole.reindex(months.index)).all() and len(months) == len(whole)
    statements = plan.loc[plan["unit_id"] == "total", "statement"]
    assert statements.str.startswith("Revenue of the company of at least").all()


def test_growth_over_last_years_same_quarter(workspace):
    result = build_targets(_config(workspace, policy="growth", growth_rate=0.05), "2027-Q1")
    orders = _orders(workspace)
    days = pd.to_datetime(orders["order_date"])
    last_year = orders.loc[(days >= "2026-01-01") & (days <= "2026-03-31"), "amount"].sum()
    assert result.company["last_year"] == pytest.approx(last_year, abs=1e-4)
    assert result.company["target"] == round(last_year * 1.05, 2)


def test_management_number_defaults_to_the_targets_table(workspace):
    with duckdb.connect(str(workspace / "warehouse.duckdb"), read_only=True) as con:
        january = con.execute("SELECT sum(target) FROM targets WHERE period = DATE "
                              "'2027-01-01'").fetchone()[0]
    result = build_targets(_config(workspace, policy="management"), "2027-01")
    assert result.company["target"] == round(january, 2)
    # The demo's targets end in 2027-01, so a quarter has no management number.
    with pytest.raises(Exception, match="management_total"):
        build_targets(_config(workspace, policy="management"), "2027-Q1")


def test_another_period_keeps_the_rows_of_the_first(workspace):
    first = build_targets(_config(workspace), "2027-Q1")
    second = build_targets(_config(workspace), "2027-02")
    again = build_targets(_config(workspace), "2027-Q1")
    counts = _plan(workspace).groupby("period").size().to_dict()
    assert counts == {"2027-Q1": first.table_rows, "2027-02": second.table_rows}
    assert again.table_rows == first.table_rows


def test_a_missing_or_short_forecast_says_to_forecast_further(workspace):
    # A forecast that ends too early is a DataError: `forecast run` marks targets not
    # applicable with this message and goes on (the command alone still exits 2).
    with pytest.raises(DataError, match=r"does not cover 2027-Q2 .*2027-03.*"
                                             r"forecast predict revenue.*2027-06-30"):
        build_targets(_config(workspace), "2027-Q2")
    with pytest.raises(WorkspaceError, match="grain 'region|team'"):
        build_targets(_config(workspace, forecast_levels=["region", "team"]), "2027-Q1")
    # A forecast too short for a whole month (a 28-day horizon) has no monthly rows; it was
    # reported as "there is no company ('total') forecast".
    with duckdb.connect(str(workspace / "warehouse.duckdb")) as con:
        con.execute("DELETE FROM revenue_forecast_periods WHERE grain = 'total'")
        last = con.execute("SELECT max(ds) FROM revenue_forecast WHERE unique_id = 'total'"
                           ).fetchone()[0]
    with pytest.raises(DataError, match=f"the company forecast ends with the period from "
                                        f"{last:%Y-%m-%d} and covers no whole month"):
        build_targets(_config(workspace), "2027-Q1")
    with duckdb.connect(str(workspace / "warehouse.duckdb")) as con:
        con.execute("DROP TABLE revenue_forecast_periods")
    with pytest.raises(WorkspaceError, match="no revenue_forecast_periods table: run "
                                             "`forecast predict revenue`"):
        build_targets(_config(workspace), "2027-Q1")


def test_cli_prints_the_summary_as_json_and_errors_without_traceback(workspace, tmp_path):
    config = yaml.safe_load((workspace / "demo.yaml").read_text())
    config["targets"] = {"stretch_quantile": 0.7}
    path = tmp_path / "targets.yaml"
    path.write_text(yaml.safe_dump(config))
    result = CliRunner().invoke(main, ["targets", "--config", str(path), "--workspace",
                                       str(workspace), "--period", "2027-Q1", "--json"])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert payload["company"]["probability"] == pytest.approx(0.3, abs=1e-6)
    assert payload["workbook"].endswith("targets_2027-Q1.xlsx")
    text = CliRunner().invoke(main, ["targets", "--config", str(path), "--workspace",
                                     str(workspace), "--period", "2027-Q1"])
    assert text.exit_code == 0 and "probability of reaching it 30%" in text.stdout
    bad = CliRunner().invoke(main, ["targets", "--config", str(path), "--workspace",
                                    str(workspace), "--period", "2027-Q5"])
    assert bad.exit_code == 2
    assert bad.stderr.startswith("error: period '2027-Q5'")
    assert "Traceback" not in bad.output


def test_a_past_period_is_refused_as_past_not_as_a_short_forecast(workspace):
    """``--period 2020-Q1`` used to advise forecasting with a horizon that reaches 2020."""
    with duckdb.connect(str(workspace / "warehouse.duckdb"), read_only=True) as con:
        first, last = con.execute("SELECT min(order_date), max(order_date) FROM orders").fetchone()
    for period in ("2020-Q1", f"{first:%Y-%m}"):
        with pytest.raises(ConfigError) as caught:
            build_targets(_config(workspace), period)
        message = str(caught.value)
        assert f"period {period} (" in message and "is in the past" in message
        assert f"the orders run from {first} to {last}" in message
        assert "--period next (" in message and f"forecast attainment --period {period}" in message
        assert "predict revenue" not in message
