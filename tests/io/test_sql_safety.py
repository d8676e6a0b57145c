"""Values are bound, never pasted into SQL text: paths and names with an apostrophe go through
ingest and series unharmed, a bad memory setting is one clear error, and no module of the
package builds SQL with a value between quotes (values are parameters, see
:mod:`forecast.io.sql`; :func:`forecast.io.sql.path_literal` is the one exception, for the
statements that take no parameter)."""

from __future__ import annotations

import ast
import json
import re
import string
from datetime import date
from pathlib import Path

import duckdb
import pandas as pd
import pytest
from click.testing import CliRunner

from forecast.cli import main
from forecast.io.sql import Params, Query, path_literal

PACKAGE = Path(__file__).resolve().parents[2] / "forecast"
ORDERS = {"order_date": "date", "customer_id": "customer", "amount": "amount"}
# Strings that put a value between single quotes but are not SQL, with the reason.
NOT_SQL = {
    ("io/targets_workbook.py", "_sum_below"): "an Excel formula naming a sheet, not SQL",
}
# The one function that writes a value between quotes, and the statements that may use it
# because they take no parameter (see forecast.io.sql): (module, function) -> statement.
PATH_LITERAL = ("io/sql.py", "path_literal")
PATH_LITERAL_USES = {
    ("io/warehouse.py", "attach"): "ATTACH",
    ("io/outputs.py", "export_query"): "COPY ... TO",
    ("io/readers.py", "_read_parquet"): "CREATE VIEW",
    ("engines/chunks.py", "copy_target"): "COPY ... TO",
}
HOLE = "\x00"
# A %-format conversion (%s, %r, %d, %(name)s, %5.2f, ...).
_PERCENT = re.compile(r"%(?:\([^)]*\))?[-#0 +]*(?:\d+|\*)?(?:\.\d+)?[a-zA-Z]")


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


def test_path_literal_survives_quotes_where_no_parameter_is_taken(tmp_path):
    folder = tmp_path / "o'brien's \"files\""
    folder.mkdir()
    con = duckdb.connect()
    try:
        con.execute(f"COPY (SELECT 42 AS x) TO {path_literal(folder / 'a.csv')} (FORMAT CSV)")
        con.execute(f"CREATE TEMP VIEW v AS SELECT * FROM read_csv({path_literal(folder / 'a.csv')})")
        assert con.execute("SELECT x FROM v").fetchall() == [(42,)]
    finally:
        con.close()


def test_params_bind_each_value_once_and_only_what_the_text_uses():
    p = Params()
    day, name = p(date(2024, 2, 29)), p("o'brien")
    assert (day, name, p(date(2024, 2, 29)), p(1), p(True)) == ("$v1", "$v2", "$v1", "$v3", "$v4")
    query = p.query(f"SELECT {day} AS d, {name} AS n, '$v3' AS s")
    assert query.params == {"v1": date(2024, 2, 29), "v2": "o'brien"}
    outer = Params()
    text = f"SELECT {outer('x')} AS x, * FROM ({outer.embed(query)})"
    both = outer.query(text)
    assert both.params == {"v1": "x", "v2": date(2024, 2, 29), "v3": "o'brien"}
    con = duckdb.connect()
    try:
        assert con.execute(*both).fetchall() == [("x", date(2024, 2, 29), "o'brien", "$v3")]
        assert con.execute(*Query("SELECT $a || $a", {"a": "it's"})).fetchall() == [
            ("it'sit's",)]
    finally:
        con.close()


def test_a_store_named_o_brien_from_a_folder_with_a_quote_to_series(tmp_path, write_config):
    """Values that would break pasted SQL, end to end: the source folder and the workspace have
    apostrophes, a store is O'Brien, a filter and a constant hold quotes, and a quarantined
    row's reason quotes its value."""
    folder = tmp_path / "it's data"
    folder.mkdir()
    orders = folder / "orders.csv"
    orders.write_text(
        "date,store,customer,amount\n2024-01-01,O'Brien,a,10\n2024-01-09,O'Brien,b,5\n"
        "2024-01-10,Smith's,a,7\n2024-01-11,Nobody's,c,99\n2024-01-12,O'Brien,c,x'1\n",
        encoding="utf-8")
    pd.DataFrame({"customer": ["a", "b"], "name": ["Ann O'Neil", "Bob"]}).to_parquet(
        folder / "customers.parquet")
    workspace = tmp_path / "o'brien ws"
    config = write_config({
        "workspace": str(workspace),
        "sources": [
            {"table": "orders", "path": str(orders),
             "columns": {**ORDERS, "store": "store"},
             "filters": [{"column": "store", "op": "ne", "value": "Nobody's"}],
             "constants": {"channel": "d'Artagnan"}},
            {"table": "customers", "path": str(folder / "customers.parquet"),
             "columns": {"customer_id": "customer", "name": "name"}}],
        "features": {"series": {"grains": [[], ["store"]], "freq": "W"}}})
    ingest = _run("data", "ingest", "--config", str(config), "--json")
    assert ingest.exit_code == 0, ingest.output
    loaded = json.loads(ingest.stdout)
    series = _run("features", "series", "--config", str(config), "--json")
    assert series.exit_code == 0, series.output
    parquet = json.loads(series.stdout)["parquet"]
    con = duckdb.connect()
    try:
        totals = dict(con.execute("SELECT unique_id, sum(y) FROM read_parquet(?) GROUP BY 1",
                                  [parquet]).fetchall())
        warehouse = str(workspace / "warehouse.duckdb")
        con.execute("ATTACH ? AS w (READ_ONLY)", [warehouse])
        channels = con.execute("SELECT DISTINCT channel FROM w.orders").fetchall()
        names = con.execute("SELECT name FROM w.customers ORDER BY 1").fetchall()
        reasons = [r for (r,) in con.execute(
            "SELECT reason FROM w.quarantine ORDER BY 1").fetchall()]
    finally:
        con.close()
    assert totals == {"total": 22.0, "O'Brien": 15.0, "Smith's": 7.0}
    assert channels == [("d'Artagnan",)] and names == [("Ann O'Neil",), ("Bob",)]
    assert reasons == ["amount: cannot parse 'x'1', expected a number",
                       "excluded by filter store ne Nobody's"]
    assert loaded is not None


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
        return None if left is None else _PERCENT.sub(HOLE, left.replace("%%", ""))
    if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
            and node.func.attr == "format"):
        base = _flatten(node.func.value)
        if base is None:
            return None
        try:
            fields = list(string.Formatter().parse(base))
        except ValueError:
            return base
        return "".join(text + ("" if name is None else HOLE) for text, name, _, _ in fields)
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


def _called(node: ast.Call) -> str:
    """The name a call calls (``f`` of ``f(...)`` and of ``m.f(...)``)."""
    func = node.func
    return func.id if isinstance(func, ast.Name) else getattr(func, "attr", "")


def _literal_helper(node: ast.AST, where: tuple[str, str]) -> bool:
    """A call or definition of a helper that renders a value as SQL text (``literal``,
    ``date_literal``, ...): only ``path_literal``, defined in io/sql.py and called by the
    statements that take no parameter, is allowed."""
    if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
        return node.name.endswith("literal") and (where[0], node.name) != PATH_LITERAL
    if not isinstance(node, ast.Call) or not _called(node).endswith("literal"):
        return False
    return _called(node) != PATH_LITERAL[1] or where not in PATH_LITERAL_USES


def _pasted_values(path: Path, package: Path = PACKAGE) -> list[str]:
    """``file:line: code`` of every string that puts a value between quotes, and of every use
    of a value-to-SQL-text helper, in one module."""
    source = path.read_text(encoding="utf-8")
    tree = ast.parse(source)
    owner = _functions(tree)
    relative = path.relative_to(package).as_posix()
    found: dict[int, str] = {}
    for node in ast.walk(tree):
        if not hasattr(node, "lineno"):
            continue
        where = (relative, owner.get(node.lineno, ""))
        text = _flatten(node) if isinstance(node, ast.JoinedStr | ast.BinOp | ast.Call) else None
        pasted = text is not None and HOLE in text and _value_between_quotes(text)
        if pasted and (where in NOT_SQL or where == PATH_LITERAL):
            continue
        if pasted or _literal_helper(node, where):
            segment = (ast.get_source_segment(source, node) or "").splitlines()[0]
            found.setdefault(node.lineno, f"forecast/{relative}:{node.lineno}: {segment.strip()}")
    return [found[line] for line in sorted(found)]


def test_no_sql_string_pastes_a_value_between_quotes():
    offenders = [hit for path in sorted(PACKAGE.rglob("*.py")) for hit in _pasted_values(path)]
    assert offenders == [], (
        "values pasted into SQL text; bind them as parameters (forecast.io.sql.Params, or ? / "
        "$name with the values passed to execute):\n" + "\n".join(offenders))


def test_the_scan_finds_what_it_looks_for():
    cases = {
        "f\"SET x = '{value}'\"": True,
        "f\"DATE '{day.isoformat()}'\"": True,
        "\"delim = '\" + sep + \"'\"": True,
        "\"WHERE a = '%s'\" % value": True,
        "\"WHERE a = '%(v)s' AND b = '%d'\" % values": True,
        "\"WHERE a = '{}'\".format(value)": True,
        "\"WHERE a = '{v}'\".format(v=value)": True,
        "\"WHERE a = '{0!r}'\".format(value)": True,
        "f\"WHERE a = 'x' AND b = {p(value)}\"": False,
        "f\"the model's features: {names}\"": False,
        "f\"CASE WHEN a = 'x' THEN {col} ELSE 'y' END\"": False,
        "f\"date_trunc('month', {day})\"": False,
        "\"100%% sure: {a}\".format(a=1)": False,
    }
    for code, expected in cases.items():
        node = ast.parse(code, mode="eval").body
        text = _flatten(node)
        assert (text is not None and _value_between_quotes(text)) is expected, code


def test_the_scan_fails_on_a_module_that_pastes_values(tmp_path):
    """The package test would fail on each of these lines, the old helpers included."""
    package = tmp_path / "forecast"
    (package / "io").mkdir(parents=True)
    bad = package / "io" / "bad.py"
    bad.write_text(
        "from forecast.io.sql import path_literal\n"
        "def literal(value):\n"
        "    return repr(value)\n"
        "def read(con, name, day, path):\n"
        "    con.execute(f\"SELECT * FROM t WHERE name = '{name}'\")\n"
        "    con.execute(f\"SELECT * FROM t WHERE day = {literal(day)}\")\n"
        "    con.execute(f\"SELECT * FROM t WHERE day = {date_literal(day)}\")\n"
        "    con.execute(f\"SELECT * FROM read_csv({path_literal(path)})\")\n"
        "    con.execute(\"SELECT * FROM t WHERE name = '%s'\" % name)\n"
        "    con.execute(\"SELECT * FROM t WHERE name = ?\", [name])\n",
        encoding="utf-8")
    hits = _pasted_values(bad, package)
    assert [int(h.split(":")[1]) for h in hits] == [2, 5, 6, 7, 8, 9], hits
    good = package / "io" / "outputs.py"
    good.write_text(
        "from forecast.io.sql import path_literal\n"
        "def export_query(con, sql, path):\n"
        "    con.execute(f\"COPY ({sql}) TO {path_literal(path)} (FORMAT CSV)\")\n",
        encoding="utf-8")
    assert _pasted_values(good, package) == []
