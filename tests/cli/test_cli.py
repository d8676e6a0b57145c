"""The command line: help everywhere, version, JSON on stdout only, errors without tracebacks."""

from __future__ import annotations

import json
import subprocess
import sys

import click
from click.testing import CliRunner

from forecast import __version__
from forecast.cli import main


def _commands(group: click.Group, prefix: tuple[str, ...] = ()):
    for name, command in group.commands.items():
        path = (*prefix, name)
        yield path
        if isinstance(command, click.Group):
            yield from _commands(command, path)


def test_every_command_has_help():
    runner = CliRunner()
    paths = list(_commands(main))
    assert ("data", "ingest") in paths and ("demo",) in paths
    for path in [(), *paths]:
        result = runner.invoke(main, [*path, "--help"])
        assert result.exit_code == 0, (path, result.output)
        assert "Usage:" in result.output


def test_version():
    result = CliRunner().invoke(main, ["--version"])
    assert result.exit_code == 0
    assert __version__ in result.output


def test_result_commands_accept_json_and_workspace_commands_accept_workspace():
    for path in _commands(main):
        command = main
        for name in path:
            command = command.commands[name]
        if isinstance(command, click.Group):
            continue
        options = {opt for p in command.params for opt in getattr(p, "opts", [])}
        # `serve` runs a server until stopped: it has no result to print.
        assert ("--json" in options) != (path == ("serve",)), path
        if "--config" in options and path != ("data", "check"):
            assert "--workspace" in options, path


def test_missing_config_is_an_error_message_not_a_traceback(tmp_path):
    result = CliRunner().invoke(main, ["data", "check", "--config", str(tmp_path / "nope.yaml")])
    assert result.exit_code == 2
    assert result.stderr.startswith("error: config file not found")
    assert "Traceback" not in result.output


def test_help_starts_fast_without_heavy_imports():
    code = ("import sys; from forecast.cli import main; "
            "heavy = [m for m in ('pandas', 'duckdb', 'mlflow', 'prophet', 'sklearn') "
            "if m in sys.modules]; print(','.join(heavy))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def _orders_config(tmp_path, write_config, text: str, columns: dict):
    src = tmp_path / "o.csv"
    src.write_text(text, encoding="utf-8")
    return write_config({"sources": [{"table": "orders", "path": str(src), "columns": columns}]})


def test_json_output_is_one_object_and_logs_go_to_stderr(tmp_path, write_config):
    config = _orders_config(tmp_path, write_config, "date,amount\n2024-01-02,3\n",
                            {"order_date": "date", "amount": "amount"})
    result = CliRunner().invoke(main, ["data", "ingest", "--config", str(config), "--json",
                                       "--workspace", str(tmp_path / "other")])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert payload["workspace"] == str((tmp_path / "other").resolve())
    assert (tmp_path / "other" / "warehouse.duckdb").exists()
    assert "reading" in result.stderr


def test_customer_snapshots_of_data_without_customers_is_a_clear_error(tmp_path, write_config):
    config = _orders_config(tmp_path, write_config, "date,store,amount\n2024-01-02,1,3\n",
                            {"order_date": "date", "store": "store", "amount": "amount"})
    runner = CliRunner()
    assert runner.invoke(main, ["data", "ingest", "--config", str(config)]).exit_code == 0
    result = runner.invoke(main, ["features", "customers", "--config", str(config),
                                  "--cutoff", "2024-02-01"])
    assert result.exit_code == 2
    assert "no order has a customer_id" in result.stderr


def test_the_chain_prints_the_notes_of_the_steps_that_ran():
    from forecast.cli.data import chain_text
    from forecast.pipeline.chain import ChainResult

    result = ChainResult(workspace="ws", reports=[], seconds=1.0, steps=[
        {"step": "series", "status": "ran", "seconds": 0.2,
         "summary": {"notes": ["the orders stop on 2025-06-18, 3 day(s) into the period"]}},
        {"step": "train churn", "status": "not applicable", "reason": "no customers"}])
    lines = chain_text(result).splitlines()
    assert lines[0].split() == ["series", "ran", "0.2", "s"]
    assert lines[1].strip() == "note: the orders stop on 2025-06-18, 3 day(s) into the period"
    assert lines[2].split()[:3] == ["train", "churn", "not"]
