"""Customer snapshot cutoffs must lie inside the data: at most the day after the last order day
(the scoring snapshot), whether they come from ``--cutoff`` or from the config."""

from __future__ import annotations

import duckdb
import pytest
from click.testing import CliRunner

from forecast.cli import main

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
