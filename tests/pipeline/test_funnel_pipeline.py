"""``forecast funnel`` and ``forecast attainment`` end to end: tiny warehouses worked out by hand,
then the synthetic company."""

from __future__ import annotations

import json
import math
from pathlib import Path

import duckdb
import pandas as pd
import pytest
import yaml
from click.testing import CliRunner

from forecast.cli import main
from forecast.io import warehouse
from forecast.schemas import CANONICAL_TABLES

IC, NA = "initial contact", "needs analysis"


def _load(workspace: Path, table: str, rows: list[dict]) -> None:
    """Put rows into a canonical table of the workspace warehouse (created when missing)."""
    frame = pd.DataFrame(rows)
    with warehouse.connect(workspace, create=True) as con:
        warehouse.ensure_canonical_table(con, CANONICAL_TABLES[table])
        con.register("incoming", frame)
        con.execute(f"INSERT INTO {table} BY NAME SELECT *, 'test' AS source, "
                    "row_number() OVER () AS source_row FROM incoming")
        con.unregister("incoming")


def _run(*args: str):
    return CliRunner().invoke(main, list(args))


# As of 2025-06-30 (the last order): A won, B lost at needs analysis, C won; D, E, F open.
# Closed A, B, C all reached needs analysis (A by winning): P(win) = 2/3 at both early stages.
# 2025-Q3 pipeline: D (needs analysis, 1000) and E (initial contact, 400): (1000 + 400) * 2/3.
_OPPORTUNITIES = [
    ("A", IC, "2025-01-01", 90, "2025-02-15", "r1", "online", "small"),
    ("A", "won", "2025-02-01", 100, "2025-02-01", "r1", "online", "small"),
    ("B", IC, "2025-01-10", 60, "2025-03-01", "r2", "offline", "small"),
    ("B", NA, "2025-01-20", 60, "2025-03-01", "r2", "offline", "small"),
    ("B", "lost", "2025-02-10", 60, "2025-02-10", "r2", "offline", "small"),
    ("C", IC, "2025-03-01", 150, "2025-04-15", "r2", "offline", "key account"),
    ("C", NA, "2025-03-11", 180, "2025-04-10", "r2", "offline", "key account"),
    ("C", "won", "2025-04-01", 200, "2025-04-01", "r2", "offline", "key account"),
    ("D", IC, "2025-06-01", 800, "2025-07-20", "r1", "online", "small"),
    ("D", NA, "2025-06-15", 1000, "2025-08-01", "r1", "online", "small"),
    ("E", IC, "2025-06-20", 400, "2025-09-15", "r1", "online", "small"),
    ("F", IC, "2025-06-25", 50, "2025-12-01", "r2", "online", "small"),
]


@pytest.fixture
def funnel_config(tmp_path, write_config) -> Path:
    workspace = tmp_path / "ws"
    _load(workspace, "opportunities", [
        dict(zip(["opportunity_id", "stage", "stage_date", "amount", "expected_close_date",
                  "rep_id", "channel", "segment"], row, strict=True)) | {"team": "T", "region": "N"}
        for row in _OPPORTUNITIES])
    _load(workspace, "orders", [{"order_date": "2025-01-02", "amount": 10.0},
                                {"order_date": "2025-06-30", "amount": 20.0}])
    return write_config({})


def _forecast_rows(workspace: Path, rows: list[tuple]) -> None:
    with warehouse.connect(workspace) as con:
        con.execute("CREATE TABLE revenue_forecast_periods (unique_id VARCHAR, grain VARCHAR, "
                    "region VARCHAR, period_type VARCHAR, period DATE, yhat DOUBLE, "
                    "yhat_sd DOUBLE, yhat_lo_80 DOUBLE, yhat_hi_80 DOUBLE, yhat_lo_95 DOUBLE, "
                    "yhat_hi_95 DOUBLE)")
        con.executemany("INSERT INTO revenue_forecast_periods VALUES "
                        "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)


def test_funnel_without_a_forecast(funnel_config, tmp_path):
    result = _run("funnel", "--config", str(funnel_config), "--json")
    assert result.exit_code == 0, result.output
    r = json.loads(result.stdout)
    assert r["as_of"] == "2025-06-30"
    assert r["opportunities"] == {"total": 6, "history": 6, "open": 3, "won": 2, "lost": 1}
    assert r["win_rate"] == round(2 / 3, 4)
    stages = {s["stage"]: s for s in r["stages"]}
    assert stages[IC]["reached"] == 6 and stages[IC]["conversion"] == round(4 / 6, 4)
    assert stages[NA]["p_win"] == round(2 / 3, 4)
    assert stages[IC]["median_days"] == 12.0  # A 31, B 10, C 10, D 14 days; E, F still there
    p = r["pipeline"]
    assert (p["period"], p["start"], p["end"]) == ("2025-Q3", "2025-07-01", "2025-09-30")
    assert p["opportunities"] == 2 and p["amount"] == 1400
    assert p["weighted"] == pytest.approx(1400 * 2 / 3, abs=0.01)
    assert r["forecast"] is None and "no revenue_forecast_periods" in r["notes"][0]
    assert [v["value"] for v in r["win_rates"]["segment"]] == ["key account", "small"]
    outputs = tmp_path / "ws" / "outputs"
    for table in ("funnel_conversion", "funnel_win_rates", "funnel_pipeline"):
        assert (outputs / f"{table}.csv").is_file()
    con = duckdb.connect(str(tmp_path / "ws" / "warehouse.duckdb"), read_only=True)
    types = dict(con.execute("SELECT column_name, data_type FROM information_schema.columns "
                             "WHERE table_name = 'funnel_conversion'").fetchall())
    assert types["as_of"] == "DATE" and types["converted"] == "BIGINT"
    assert con.execute("SELECT sum(weighted_amount) FROM funnel_pipeline").fetchone()[0] == (
        pytest.approx(1400 * 2 / 3))
    con.close()


def test_funnel_against_the_forecast(funnel_config, tmp_path):
    _forecast_rows(tmp_path / "ws", [
        ("total", "total", None, "quarter", "2025-07-01", 1000.0, 100.0, 872, 1128, 804, 1196),
        ("N", "region", "N", "quarter", "2025-07-01", 1.0, 1.0, 0, 2, 0, 2),
        ("total", "total", None, "month", "2025-07-01", 1.0, 1.0, 0, 2, 0, 2),
    ])
    r = json.loads(_run("funnel", "--config", str(funnel_config), "--json").stdout)
    f = r["forecast"]
    assert f["yhat"] == 1000.0 and f["yhat_lo_80"] == 872.0
    assert f["coverage"] == pytest.approx(0.9333, abs=1e-4)
    # Below the median: the deviation the 80 % interval shows below it, (1000 - 872) / z_0.9.
    z = (1400 * 2 / 3 - 1000.0) / ((1000.0 - 872.0) / 1.2815515655446004)
    assert f["percentile"] == pytest.approx(0.5 * (1 + math.erf(z / math.sqrt(2))), abs=1e-4)
    assert r["notes"] == []
    # A quarter the forecast does not hold: F alone, and a note instead of a comparison.
    other = json.loads(_run("funnel", "--config", str(funnel_config), "--period", "2025-Q4",
                            "--json").stdout)
    assert other["pipeline"]["weighted"] == pytest.approx(50 * 2 / 3, abs=0.01)
    assert other["forecast"] is None and "no total quarter row for 2025-Q4" in other["notes"][0]


def test_funnel_text_output(funnel_config):
    result = _run("funnel", "--config", str(funnel_config))
    assert result.exit_code == 0, result.output
    assert "weighted pipeline 2025-Q3 (2025-07-01..2025-09-30): 933 from 2 open" in result.stdout
    assert "win rate by segment: key account 100.0% (1), small 50.0% (2)" in result.stdout


def test_funnel_errors_are_messages(tmp_path, write_config, funnel_config):
    bad = _run("funnel", "--config", str(funnel_config), "--period", "2025-Q7")
    assert bad.exit_code == 2 and bad.stderr.startswith("error: period '2025-Q7'")
    _load(tmp_path / "ws", "opportunities", [{"opportunity_id": "Z", "stage": "Prospecting",
                                              "stage_date": "2025-01-01"}])
    unknown = _run("funnel", "--config", str(funnel_config))
    assert unknown.exit_code == 2 and "'Prospecting' (1 rows)" in unknown.stderr
    empty = write_config({"workspace": str(tmp_path / "empty")}, "empty.yaml")
    _load(tmp_path / "empty", "orders", [{"order_date": "2025-01-02", "amount": 1.0}])
    missing = _run("funnel", "--config", str(empty))
    assert missing.exit_code == 2 and "no opportunities table" in missing.stderr
    assert "Traceback" not in missing.output


# The organisation of test_attainment.py, as order lines: returns, month edges.
_ORDERS = [
    ("2024-10-01", "r1", 200.0),
    ("2025-09-03", "r1", 100.0), ("2025-09-10", "r2", 100.0), ("2025-09-30", "r3", 400.0),
    ("2025-10-01", "r1", 70.0), ("2025-10-20", "r1", 50.0), ("2025-10-05", "r2", 150.0),
    ("2025-10-08", "r3", 320.0), ("2025-10-09", "r3", -20.0), ("2025-10-31", "r4", 200.0),
    ("2025-10-12", "r5", 50.0),
]
_UNITS = {"r1": ("N", "N1"), "r2": ("N", "N1"), "r3": ("N", "N2"), "r4": ("S", "S1"),
          "r5": ("S", "S2")}


@pytest.fixture
def attainment_config(tmp_path, write_config) -> Path:
    workspace = tmp_path / "ws"
    _load(workspace, "orders", [
        {"order_date": day, "amount": amount, "rep_id": rep, "region": _UNITS[rep][0],
         "team": _UNITS[rep][1]} for day, rep, amount in _ORDERS])
    _load(workspace, "targets", [
        {"period": "2025-10-01", "region": _UNITS[rep][0], "team": _UNITS[rep][1],
         "rep_id": rep, "target": target}
        for rep, target in (("r1", 100.0), ("r2", 200.0), ("r3", 300.0), ("r4", 400.0))])
    return write_config({"attainment": {"top": 2}})


def test_attainment_command(attainment_config, tmp_path):
    result = _run("attainment", "--config", str(attainment_config), "--period", "2025-10",
                  "--json")
    assert result.exit_code == 0, result.output
    r = json.loads(result.stdout)
    assert (r["period"], r["start"], r["end"], r["complete"]) == (
        "2025-10", "2025-10-01", "2025-10-31", True)
    company = r["company"]
    assert (company["actual"], company["target"], company["attainment"]) == (820, 1000, 0.82)
    assert company["gap"] == 180 and company["shortage"] == 0.18
    assert company["growth_vs_previous"] == round(820 / 600 - 1, 4)
    assert company["growth_vs_year_ago"] == 3.1
    assert list(r["levels"]) == ["company", "region", "team", "rep"]
    teams = r["levels"]["team"]
    assert [(t["team"], t["rank"], t["attainment"]) for t in teams["best"]] == [
        ("N2", 1, 1.0), ("N1", 2, 0.9)]
    assert teams["unattributed_actual"] == 50
    assert [t["rep_id"] for t in r["levels"]["rep"]["best"]] == ["r1", "r3"]
    frame = pd.read_csv(r["csv"])
    assert len(frame) == 1 + 2 + 3 + 4 and r["rows"] == 10
    con = duckdb.connect(str(tmp_path / "ws" / "warehouse.duckdb"), read_only=True)
    s1 = con.execute("SELECT actual, target, shortage, rank FROM attainment "
                     "WHERE level = 'team' AND team = 'S1'").fetchone()
    assert s1 == (200.0, 400.0, 0.5, 3)
    con.close()


def test_attainment_of_one_level_and_text(attainment_config):
    result = _run("attainment", "--config", str(attainment_config), "--period", "2025-10",
                  "--level", "team")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == "attainment 2025-10 (2025-10-01..2025-10-31)"
    assert "team: 3 units, 1 on target" in result.stdout
    assert any(line.split()[:4] == ["#3", "S", "/", "S1"] and "50.0%" in line for line in lines)
    assert "region:" not in result.stdout


def test_attainment_errors_are_messages(attainment_config, tmp_path):
    bad = _run("attainment", "--config", str(attainment_config), "--period", "2025-13")
    assert bad.exit_code == 2 and "expected a month (2026-10)" in bad.stderr
    future = _run("attainment", "--config", str(attainment_config), "--period", "2025-12")
    assert future.exit_code == 2 and "no orders in 2025-12" in future.stderr
    with warehouse.connect(tmp_path / "ws") as con:
        con.execute("UPDATE targets SET rep_id = NULL")
    no_reps = _run("attainment", "--config", str(attainment_config), "--period", "2025-10",
                   "--level", "rep")
    assert no_reps.exit_code == 2 and "level 'rep' needs target rows with" in no_reps.stderr
    default = json.loads(_run("attainment", "--config", str(attainment_config), "--period",
                              "2025-10", "--json").stdout)
    assert list(default["levels"]) == ["company", "region", "team"]
    with warehouse.connect(tmp_path / "ws") as con:
        con.execute("DROP TABLE targets")
    missing = _run("attainment", "--config", str(attainment_config), "--period", "2025-10")
    assert missing.exit_code == 2 and "no targets table" in missing.stderr


@pytest.fixture(scope="module")
def company(tmp_path_factory) -> Path:
    """The synthetic company (1,000 customers, three years to 2026-09-30), ingested."""
    from forecast.config import SynthOptions
    from forecast.pipeline import demo_config, ingest, synthesise

    workspace = tmp_path_factory.mktemp("company")
    synthesise(SynthOptions(customers=1000, years=3, end_date="2026-09-30"), workspace / "src")
    config = demo_config(workspace / "src", workspace)
    ingest(config)
    path = workspace / "company.yaml"
    path.write_text(yaml.safe_dump(config.model_dump(mode="json", exclude_defaults=True)),
                    encoding="utf-8")
    return path


def test_funnel_of_the_synthetic_company(company):
    from forecast.synth.params import STAGE_ADVANCE

    result = _run("funnel", "--config", str(company), "--json")
    assert result.exit_code == 0, result.output
    r = json.loads(result.stdout)
    assert r["as_of"] == "2026-09-30" and r["pipeline"]["period"] == "2026-Q4"
    con = duckdb.connect(str(company.parent / "warehouse.duckdb"), read_only=True)
    total = con.execute("SELECT count(DISTINCT opportunity_id) FROM opportunities").fetchone()[0]
    open_q4 = con.execute(
        "SELECT count(*) FROM (SELECT arg_max(stage, stage_date) AS stage, "
        "arg_max(expected_close_date, stage_date) AS close FROM opportunities "
        "GROUP BY opportunity_id) WHERE stage NOT IN ('won', 'lost') "
        "AND close BETWEEN '2026-10-01' AND '2026-12-31'").fetchone()[0]
    con.close()
    o = r["opportunities"]
    assert o["total"] == total == o["open"] + o["won"] + o["lost"]
    assert r["pipeline"]["opportunities"] == open_q4 > 0
    assert 0 < r["pipeline"]["weighted"] < r["pipeline"]["amount"]
    # The generator moves a deal on from each open stage with STAGE_ADVANCE; among deals that
    # have left a stage the share that moved on is within 3 standard errors, less up to 0.05
    # for deals cut short by their customer's churn.
    for stage, advance in zip(r["stages"][:4], STAGE_ADVANCE, strict=True):
        left = stage["reached"] - stage["open_at_stage"]
        moved = stage["converted"] / left
        error = 3 * math.sqrt(advance * (1 - advance) / left)
        assert advance - error - 0.05 < moved < advance + error, stage
    p_wins = [s["p_win"] for s in r["stages"][:4]]
    assert p_wins == sorted(p_wins)  # later stages are likelier to be won


def test_attainment_of_the_synthetic_company(company):
    result = _run("attainment", "--config", str(company), "--period", "2026-Q3", "--json")
    assert result.exit_code == 0, result.output
    r = json.loads(result.stdout)
    con = duckdb.connect(str(company.parent / "warehouse.duckdb"), read_only=True)
    actual, previous = con.execute(
        "SELECT sum(amount) FILTER (order_date >= '2026-07-01'), "
        "sum(amount) FILTER (order_date < '2026-07-01') FROM orders "
        "WHERE order_date BETWEEN '2026-04-01' AND '2026-09-30'").fetchone()
    target = con.execute("SELECT sum(target) FROM targets WHERE period BETWEEN '2026-07-01' "
                         "AND '2026-09-01'").fetchone()[0]
    table = con.execute("SELECT * FROM attainment").df()
    con.close()
    assert r["company"]["actual"] == pytest.approx(actual, abs=0.01)
    assert r["company"]["target"] == pytest.approx(target)
    assert r["company"]["growth_vs_previous"] == pytest.approx(actual / previous - 1, abs=1e-4)
    assert list(r["levels"]) == ["company", "region", "team"]  # the targets have no reps
    teams = table[table["level"] == "team"].sort_values("rank")
    assert len(teams) == 14 and teams["rank"].tolist() == list(range(1, 15))
    assert teams["attainment"].is_monotonic_decreasing
    assert teams["actual"].sum() == pytest.approx(actual)
    assert (teams["actual"] / teams["target"]).tolist() == pytest.approx(
        teams["attainment"].tolist())
    regions = table[table["level"] == "region"].set_index("region")
    assert regions["actual"].to_dict() == pytest.approx(
        teams.groupby("region")["actual"].sum().to_dict())
    assert r["levels"]["team"]["unattributed_actual"] == 0


def test_funnel_notes_rows_after_the_data_and_past_windows(funnel_config, tmp_path):
    _load(tmp_path / "ws", "opportunities", [{"opportunity_id": "G", "stage": IC,
                                              "stage_date": "2025-07-05", "amount": 5.0,
                                              "expected_close_date": "2025-08-01"}])
    r = json.loads(_run("funnel", "--config", str(funnel_config), "--period", "2025-06",
                        "--json").stdout)
    assert r["opportunities"]["total"] == 6  # G starts after the as-of day
    assert r["notes"][0] == ("1 opportunity rows dated after the last order day 2025-06-30 are "
                             "ignored")
    assert r["notes"][1].startswith("2025-06 starts on or before the as-of day 2025-06-30")
    assert r["pipeline"]["opportunities"] == 0  # no open deal was due in June
