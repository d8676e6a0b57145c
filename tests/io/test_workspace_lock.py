"""One workspace, one writing process: a second forecast process gets one message naming the
process that holds the warehouse, exit 2, no traceback."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from forecast.cli import main

# Opens the warehouse for writing through the one place that opens it, says so, and holds it
# until its stdin closes.
HOLDER = """
import sys
from pathlib import Path
from forecast.io import warehouse

with warehouse.connect(Path(sys.argv[1])):
    print("holding", flush=True)
    sys.stdin.read()
"""


@pytest.fixture
def ingested(tmp_path: Path, write_config) -> Path:
    src = tmp_path / "orders.csv"
    src.write_text("date,customer,amount\n2024-01-01,a,10\n2024-01-08,b,5\n", encoding="utf-8")
    config = write_config({"sources": [{
        "table": "orders", "path": str(src),
        "columns": {"order_date": "date", "customer_id": "customer", "amount": "amount"}}]})
    result = CliRunner().invoke(main, ["data", "ingest", "--config", str(config)])
    assert result.exit_code == 0, result.output
    return config


@pytest.fixture
def holder(tmp_path: Path):
    """A second process holding the workspace's warehouse open for writing."""
    proc = subprocess.Popen([sys.executable, "-c", HOLDER, str(tmp_path / "ws")],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline() == "holding\n"
        yield proc
    finally:
        proc.stdin.close()
        proc.wait(timeout=60)


@pytest.mark.parametrize("command", [["data", "ingest"], ["features", "series"]],
                         ids=["ingest (attach)", "features series (connect)"])
def test_second_process_is_told_who_holds_the_workspace(ingested, holder, tmp_path, command):
    result = CliRunner().invoke(main, ["-q", *command, "--config", str(ingested)])
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    warehouse = tmp_path / "ws" / "warehouse.duckdb"
    assert result.stderr == (
        f"error: {warehouse} is in use by another forecast process (PID {holder.pid}); wait "
        "for it to finish (or stop it) and run the command again\n")
