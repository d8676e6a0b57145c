"""Customer snapshot cutoffs must lie inside the data: at most the day after the last order day
(the scoring snapshot), whether they come from ``--cutoff`` or from the config; without either,
they are chosen from the data."""

from __future__ import annotations

import json
from datetime import date, timedelta

import duckdb
import pytest
from click.testing import CliRunner

from forecast.cli import main
from forecast.pipeline.data import FROM_DATA, default_cutoffs

ORDERS = "date,customer,amount\n2024-01-05,a,10\n2024-02-10,b,20\n2024-03-31,a,5\n"


@pytest.fixture
def ingested(tmp_path, write_config):
    """A config over three orders (last order day 2024-03-31), ingested; ``cutoffs`` in the
    config when given."""

    def make(cutoffs: list[str] | None = None):
        src = tmp_path / "orders.csv"
        src.write_text(ORDERS, encoding="utf-8")
        config = {"sources": [{"table": "orders", "path": str(src),
                               "columns": {"order_date": "date", "customer_id": "customer",
                                           "amount": "amount"}}]}
        if cutoffs:
            config["features"] = {"customers": {"cutoffs": cutoffs}}
        path = write_config(config)
        result = CliRunner().invoke(main, ["data", "ingest", "--config", str(path)])
        assert result.exit_code == 0, result.output
        return path

    return make


def _snapshot_cutoffs(workspace) -> list[str]:
    with duckdb.connect(str(workspace / "warehouse.duckdb"), read_only=True) as con:
        return [str(c) for (c,) in con.execute(
            "SELECT DISTINCT cutoff FROM customer_snapshots ORDER BY 1").fetchall()]


def test_a_cutoff_after_the_day_after_the_data_is_refused_and_keeps_the_snapshots(
        ingested, tmp_path):
    config = ingested()
    runner = CliRunner()
    ok = runner.invoke(main, ["features", "customers", "--config", str(config),
                              "--cutoff", "2024-03-01"])
    assert ok.exit_code == 0, ok.output
    result = runner.invoke(main, ["features", "customers", "--config", str(config),
                                  "--cutoff", "2099-01-01"])
    assert result.exit_code == 2, result.output
    message = result.stderr
    assert message.startswith("error: ")
    assert "2099-01-01" in message and "2024-03-31" in message and "2024-04-01" in message
    assert "--cutoff" in message
    assert "Traceback" not in result.output
    assert _snapshot_cutoffs(tmp_path / "ws") == ["2024-03-01"]


def test_the_day_after_the_last_order_day_is_the_latest_cutoff_allowed(ingested, tmp_path):
    config = ingested()
    result = CliRunner().invoke(main, ["features", "customers", "--config", str(config),
                                       "--cutoff", "2024-04-01", "--cutoff", "2024-03-31"])
    assert result.exit_code == 0, result.output
    assert _snapshot_cutoffs(tmp_path / "ws") == ["2024-03-31", "2024-04-01"]
    late = CliRunner().invoke(main, ["features", "customers", "--config", str(config),
                                     "--cutoff", "2024-04-02"])
    assert late.exit_code == 2 and "2024-04-02" in late.stderr


def test_config_cutoffs_after_the_data_are_refused_and_named(ingested, tmp_path):
    config = ingested(["2024-02-01", "2025-01-01"])
    result = CliRunner().invoke(main, ["features", "customers", "--config", str(config)])
    assert result.exit_code == 2, result.output
    assert "2025-01-01" in result.stderr and "features.customers.cutoffs" in result.stderr
    assert "2024-04-01" in result.stderr
    assert not (tmp_path / "ws" / "features" / "customer_snapshots.parquet").exists()
    with duckdb.connect(str(tmp_path / "ws" / "warehouse.duckdb"), read_only=True) as con:
        tables = {t for (t,) in con.execute("SHOW TABLES").fetchall()}
    assert "customer_snapshots" not in tables


def test_without_cutoffs_they_are_chosen_from_the_data_and_said_so(ingested, tmp_path):
    # Before, a config without cutoffs stopped with "give at least one cutoff date", and so did
    # `forecast run` at the customer snapshots, skipping every later step.
    config = ingested()
    result = CliRunner().invoke(main, ["features", "customers", "--config", str(config),
                                       "--json"])
    assert result.exit_code == 0, result.output
    # Orders from 2024-01-05 to 2024-03-31: the scoring cutoff, and no earlier one 90 days
    # apart that has 90 days of history before it.
    assert _snapshot_cutoffs(tmp_path / "ws") == ["2024-04-01"]
    assert json.loads(result.stdout)["cutoffs_from"] == FROM_DATA


def test_default_cutoffs_are_a_label_horizon_apart_and_end_at_the_scoring_cutoff():
    last = date(2024, 6, 30)
    # 2023-04-08 would be 90 days apart too, but has less than 90 days of history before it.
    assert default_cutoffs(date(2023, 1, 10), last, 90) == [
        date(2023, 7, 7), date(2023, 10, 5), date(2024, 1, 3), date(2024, 4, 2),
        date(2024, 7, 1)]
    long = default_cutoffs(date(2015, 1, 1), last, 30)  # at most six in all
    assert len(long) == 6 and long[-1] == date(2024, 7, 1)
    assert all(b - a == timedelta(days=30) for a, b in zip(long, long[1:], strict=False))
    assert default_cutoffs(date(2024, 1, 1), last, 90) == [date(2024, 4, 2), date(2024, 7, 1)]
    assert default_cutoffs(date(2024, 5, 1), last, 90) == [date(2024, 7, 1)]
