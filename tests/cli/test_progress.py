"""Long steps show that they move: named units and periodic log lines when stderr is not a
terminal (a batch job's log), and the steps of ingest and features report each unit as it
starts (an ingest of 15M lines used to be 35 s of silence). Training and reports: see
``tests/pipeline/test_step_progress.py``."""

from __future__ import annotations

import json
import logging
import threading
import time

import pytest
from click.testing import CliRunner

from forecast.cli import main
from forecast.cli.common import Progress
from forecast.progress import Steps


@pytest.fixture
def lines(caplog, monkeypatch):
    """The messages the command line's logger logged (a CLI run turns propagation off)."""
    caplog.set_level(logging.INFO, logger="forecast")
    monkeypatch.setattr(logging.getLogger("forecast"), "propagate", True)

    def messages() -> list[str]:
        return [r.getMessage() for r in caplog.records if r.name == "forecast"]
    return messages


def test_steps_announce_each_unit_and_the_end():
    calls = []
    steps = Steps(3, lambda *args: calls.append(args))
    steps.start("reading a.csv")
    steps.start("checking a.csv")
    steps.start("writing 10 rows to orders")
    steps.finish()
    assert calls == [(0, 3, "reading a.csv"), (1, 3, "checking a.csv"),
                     (2, 3, "writing 10 rows to orders"), (3, 3, "done")]
    Steps(2).start("no callback, nothing reported")


def test_log_lines_name_each_unit_and_skip_repeats_of_alike_units(lines):
    with Progress("scoring chunks", every_seconds=3600) as progress:
        for done in range(1000):
            progress(done, 1000)
        progress(1000, 1000)
    assert lines() == ["scoring chunks: 0 of 1,000", "scoring chunks: 1,000 of 1,000"]
    with Progress("ingest", every_seconds=3600) as progress:
        progress(0, 4, "reading orders.csv")
        progress(1, 4, "checking orders.csv")
        progress(4, 4, "done")
    assert lines()[2:] == ["ingest: 0 of 4, reading orders.csv",
                           "ingest: 1 of 4, checking orders.csv", "ingest: 4 of 4"]


def test_a_long_unit_gets_heartbeat_lines(lines):
    beat = threading.Event()
    with Progress("ingest", every_seconds=0.05) as progress:
        progress(2, 4, "writing 15,000,000 rows to orders")
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not beat.is_set():
            if any("running for" in m for m in lines()):
                beat.set()
            time.sleep(0.02)
    assert beat.is_set()
    heartbeat = next(m for m in lines() if "running for" in m)
    assert heartbeat.startswith("ingest: 2 of 4, writing 15,000,000 rows to orders (running for")


def test_check_ingest_and_series_log_their_units(tmp_path, write_config):
    src = tmp_path / "orders.csv"
    src.write_text("date,customer,amount,region\n2024-01-01,a,10,north\n"
                   "2024-01-09,b,5,south\n2024-01-16,a,7,north\n", encoding="utf-8")
    config = write_config({
        "workspace": str(tmp_path / "ws"),
        "sources": [{"table": "orders", "path": str(src),
                     "columns": {"order_date": "date", "customer_id": "customer",
                                 "amount": "amount", "region": "region"}}],
        "features": {"series": {"freq": "W", "grains": [["region"]]}}})
    runner = CliRunner()
    logged = ""
    for command in (["data", "check"], ["data", "ingest"], ["features", "series"]):
        result = runner.invoke(main, [*command, "--config", str(config), "--json"])
        assert result.exit_code == 0, result.output
        json.loads(result.stdout)  # the progress is on stderr only
        logged += result.stderr
    for line in ("checking sources: 0 of 2, reading orders.csv",
                 "checking sources: 1 of 2, checking orders.csv", "checking sources: 2 of 2\n",
                 "ingest: 0 of 4, reading orders.csv", "ingest: 1 of 4, checking orders.csv",
                 "ingest: 2 of 4, writing 3 rows to orders", "ingest: 3 of 4, committing",
                 "ingest: 4 of 4\n", "series: 0 of 2, building W series (1 grain)",
                 "series: 1 of 2, writing", "series: 2 of 2\n"):
        assert line in logged, line
