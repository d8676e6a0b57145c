"""Values never pasted into SQL text by hand: a workspace path with an apostrophe works, a bad
memory setting is one clear error, and no module of the package builds SQL with a value between
quotes of its own (they go through ``warehouse.literal`` / ``warehouse.date_literal`` or ``?``)."""

from __future__ import annotations

import ast
import json
from datetime import date
from pathlib import Path

import duckdb
import pytest
from click.testing import CliRunner

from forecast.cli import main

PACKAGE = Path(__file__).resolve().parents[2] / "forecast"
ORDERS = {"order_date": "date", "customer_id": "customer", "amount": "amount"}
# Strings that put a value between single quotes but are not SQL, with the reason.
NOT_SQL = {
    ("io/targets_workbook.py", "_sum_below"): "an Excel formula naming a sheet, not SQL",
}
HOLE = "\x00"


def _run(*args: str):
    return CliRunner().invoke(main, list(args))


def _orders_config(tmp_path: Path, write_config, workspace: Path) -> Path:
    src = tmp_path / "orders.csv"
    src.write_text("date,customer,amount\n2024-01-01,a,10\n2024-01-09,b,5\n2024-01-16,a,7\n",
                   encoding="utf-8")
    return write_config({"workspace": str(workspace),
                         "sources": [{"table": "orders", "path": str(src), "columns": ORDERS}]})


def test_workspace_path_with_an_apostrophe(tmp_path, write_config):
    workspace = tmp_path / "o'brien" / "ws"
    config = _orders_config(tmp_path, write_config, workspace)
    for command in (["data", "ingest"], ["features", "series"]):
        result = _run(*command, "--config", str(config), "--json")
        assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert out["parquet"] == str(workspace / "features" / "series.parquet")
    con = duckdb.connect()
    try:
        weeks = con.execute("SELECT count(*), sum(y) FROM read_parquet(?)",
                            [out["parquet"]]).fetchone()
    finally:
        con.close()
    assert weeks == (3, 22.0)
    assert (workspace / ".spill").is_dir()


@pytest.mark.parametrize("value", ["lots", "2GB'; SET threads = 1; --", "0", "12"])
def test_bad_duckdb_memory_setting_is_one_clear_error(tmp_path, write_config, monkeypatch, value):
    config = _orders_config(tmp_path, write_config, tmp_path / "ws")
    monkeypatch.setenv("FORECAST_DUCKDB_MEMORY", value)
    result = _run("-q", "data", "ingest", "--config", str(config))
    assert result.exit_code == 2
    assert "Traceback" not in result.output
    assert result.stderr == (
        f"error: FORECAST_DUCKDB_MEMORY={value!r} is not a memory size: expected a positive "
        "number with a unit (KB, MB, GB, TB, KiB, MiB, GiB, TiB), e.g. 2GB or 512MiB, or a "
        "share of the machine's memory such as 50%\n")
    assert not (tmp_path / "ws").exists()


def test_duckdb_memory_setting_is_applied(tmp_path, monkeypatch):
    from forecast.io import warehouse

    monkeypatch.setenv("FORECAST_DUCKDB_MEMORY", "512MiB")
    with warehouse.connect(tmp_path / "ws", create=True) as con:
        assert con.execute("SELECT current_setting('memory_limit')").fetchone() == ("512.0 MiB",)


def test_literals_survive_quotes():
    from forecast.io.warehouse import date_literal, literal

    con = duckdb.connect()
    try:
        value = "o'brien''s \"x\""
        assert con.execute(f"SELECT {literal(value)}").fetchone() == (value,)
        assert con.execute(f"SELECT {date_literal(date(2024, 2, 29))}").fetchone() == (
            date(2024, 2, 29),)
    finally:
        con.close()


def _flatten(node: ast.AST) -> str | None:
    """The text of a string expression with HOLE for each value put into it; None otherwise."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        return "".join(v.value if isinstance(v, ast.Constant) else HOLE for v in node.values)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        left, right = _flatten(node.left), _flatten(node.right)
        if left is None and right is None:
            return None
        return (HOLE if left is None else left) + (HOLE if right is None else right)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mod):
        left = _flatten(node.left)
        return None if left is None else left.replace("%s", HOLE).replace("%r", HOLE)
    if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
            and node.func.attr == "format"):
        base = _flatten(node.func.value)
        return None if base is None else base.replace("{}", HOLE)
    return None


def _value_between_quotes(text: str) -> bool:
    """Whether a value (HOLE) lands inside a single-quoted SQL string; an apostrophe between
    two letters (the model's) is English, not a quote."""
    quoted = False
    for i, ch in enumerate(text):
        if ch == "'" and not (text[i - 1:i].isalpha() and text[i + 1:i + 2].isalpha()):
            quoted = not quoted
        elif ch == HOLE and quoted:
            return True
    return False


def _functions(tree: ast.AST) -> dict[int, str]:
    """Line -> name of the innermost function defined around it."""
    functions = [n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)]
    owner: dict[int, str] = {}
    for node in sorted(functions, key=lambda n: n.end_lineno - n.lineno, reverse=True):
        for line in range(node.lineno, node.end_lineno + 1):
            owner[line] = node.name
    return owner


def _pasted_values(path: Path) -> list[str]:
    source = path.read_text(encoding="utf-8")
    tree = ast.parse(source)
    owner = _functions(tree)
    relative = path.relative_to(PACKAGE).as_posix()
    found: dict[int, str] = {}
    for node in ast.walk(tree):
        text = _flatten(node) if isinstance(node, ast.JoinedStr | ast.BinOp | ast.Call) else None
        if text is None or HOLE not in text or not _value_between_quotes(text):
            continue
        function = owner.get(node.lineno, "")
        if (relative, function) in NOT_SQL or (relative, function) == ("io/warehouse.py",
                                                                       "literal"):
            continue
        segment = (ast.get_source_segment(source, node) or "").splitlines()[0]
        found.setdefault(node.lineno, f"forecast/{relative}:{node.lineno}: {segment.strip()}")
    return [found[line] for line in sorted(found)]


def test_no_sql_string_pastes_a_value_between_quotes():
    offenders = [hit for path in sorted(PACKAGE.rglob("*.py")) for hit in _pasted_values(path)]
    assert offenders == [], (
        "values pasted between quotes in SQL text; use warehouse.literal, warehouse.date_literal "
        "or a bound parameter (?):\n" + "\n".join(offenders))


def test_the_scan_finds_what_it_looks_for(tmp_path):
    cases = {
        "f\"SET x = '{value}'\"": True,
        "f\"DATE '{day.isoformat()}'\"": True,
        "\"delim = '\" + sep + \"'\"": True,
        "\"WHERE a = '%s'\" % value": True,
        "\"WHERE a = '{}'\".format(value)": True,
        "f\"WHERE a = 'x' AND b = {literal(value)}\"": False,
        "f\"the model's features: {names}\"": False,
        "f\"CASE WHEN a = 'x' THEN {col} ELSE 'y' END\"": False,
    }
    for code, expected in cases.items():
        node = ast.parse(code, mode="eval").body
        text = _flatten(node)
        assert (text is not None and _value_between_quotes(text)) is expected, code
