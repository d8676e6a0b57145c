"""Helpers of the ingest tests: small source files, configs and both CLI commands over them.

``data check`` and ``data ingest`` must agree on every input, so the tests of a bad input run
both (:func:`check_and_ingest`) and assert the same exit code and message.
"""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
from click.testing import CliRunner, Result

from forecast.cli import main

ORDERS_MAP = {"order_date": "date", "customer_id": "customer", "amount": "amount"}


def write_bytes(path: Path, text: str | bytes, encoding: str = "utf-8") -> Path:
    """Write a source file (text encoded as given) and return its path."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text if isinstance(text, bytes) else text.encode(encoding))
    return path


def orders_source(path: Path, **extra) -> dict:
    """A config with one orders source mapping date/customer/amount."""
    return {"sources": [{"table": "orders", "path": str(path), "columns": dict(ORDERS_MAP), **extra}]}


def run(*args: str) -> Result:
    return CliRunner().invoke(main, list(args))


def check_and_ingest(config: Path) -> tuple[Result, Result]:
    """``data check`` then ``data ingest`` (both with --json) on one config."""
    check = run("data", "check", "--config", str(config), "--json")
    ingest = run("data", "ingest", "--config", str(config), "--json")
    return check, ingest


def ingested(config: Path) -> dict:
    """The JSON summary of a successful ``data check`` and ``data ingest``; both must agree."""
    check, ingest = check_and_ingest(config)
    assert check.exit_code == 0, check.output
    assert ingest.exit_code == 0, ingest.output
    checked, loaded = json.loads(check.stdout), json.loads(ingest.stdout)
    assert checked["sources"] == loaded["sources"]
    return loaded


def assert_user_error(config: Path, *fragments: str) -> str:
    """Both commands exit 2 with one message holding every fragment, no traceback, no warehouse.

    Returns:
        The message of ``data ingest``.
    """
    messages = []
    for result in check_and_ingest(config):
        assert result.exit_code == 2, result.output
        assert "Traceback" not in result.output
        assert result.stderr.count("error: ") == 1, result.stderr
        message = result.stderr[result.stderr.index("error: "):]
        for fragment in fragments:
            assert fragment in message, (fragment, message)
        messages.append(message)
    assert messages[0] == messages[1]
    assert not (config.parent / "ws" / "warehouse.duckdb").exists()
    return messages[1]


def assert_reconciled(source: dict, read: int, loaded: int, quarantined: int) -> None:
    assert (source["rows_read"], source["rows_loaded"], source["rows_quarantined"]) == (
        read, loaded, quarantined), source
    assert source["reconciled"] is True


def rows(workspace: Path, sql: str) -> list[tuple]:
    con = duckdb.connect(str(workspace / "warehouse.duckdb"), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()
