"""The catalog names each warehouse table once: no other module spells an output table's name.

A table's name may appear in prose (docstrings, comments, phrases), but not as code: SQL text
that reads or writes it (``FROM name``, ``JOIN name``, ``TABLE name``, ``INTO name``; the code
writes SQL keywords in capitals), a string literal that is the name of a table whose name is no
English word (``churn_scores``), or the name passed to a warehouse function
(``write_table(con, "series", ...)``). Such code uses the entry of :mod:`forecast.io.catalog`
instead. Words such as ``series`` and ``attainment`` also name commands, report sections and
phrases, so as bare literals they are not table names.
"""

from __future__ import annotations

import ast
import functools
import re
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from forecast.io import catalog

PACKAGE = Path(catalog.__file__).resolve().parents[1]
SQL_USE = r"(?:FROM|JOIN|TABLE|INTO|UPDATE|EXISTS|DESCRIBE)\s+{name}\b"
WAREHOUSE_CALL = re.compile(r"table|frame|export|exists|columns|write|read|count", re.IGNORECASE)


def _docstrings(tree: ast.AST) -> set[int]:
    """ids of the docstring nodes of a module, its classes and functions."""
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                found.add(id(body[0].value))
    return found


def _warehouse_arguments(tree: ast.AST) -> set[int]:
    """ids of the string literals passed to a function that reads or writes tables."""
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            func = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(
                node.func, "id", "")
            if WAREHOUSE_CALL.search(func):
                found.update(id(a) for a in node.args if isinstance(a, ast.Constant))
    return found


@functools.cache
def _literals(path: Path) -> list[tuple[int, str, bool]]:
    """(line, text, passed to a warehouse function) of every string literal of a module but its
    docstrings; the literal parts of an f-string count as literals."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    skip, calls = _docstrings(tree), _warehouse_arguments(tree)
    return [(node.lineno, node.value, id(node) in calls) for node in ast.walk(tree)
            if isinstance(node, ast.Constant) and isinstance(node.value, str)
            and id(node) not in skip]


def spelled(name: str) -> list[str]:
    """Where a module other than the catalog spells ``name`` as code."""
    use = re.compile(SQL_USE.format(name=re.escape(name)))
    places = []
    for path in sorted(PACKAGE.rglob("*.py")):
        relative = path.relative_to(PACKAGE).as_posix()
        if relative == "io/catalog.py":
            continue
        for line, text, in_call in _literals(path):
            if use.search(text) or (text == name and ("_" in name or in_call)):
                places.append(f"{relative}:{line}: {text.strip()[:80]!r}")
    return places


@pytest.mark.parametrize("dataset", catalog.OUTPUTS, ids=lambda d: d.name)
def test_an_output_table_is_named_only_in_the_catalog(dataset):
    assert spelled(dataset.name) == []


def test_the_check_finds_a_table_spelled_in_sql(tmp_path, monkeypatch):
    module = tmp_path / "forecast" / "io"
    module.mkdir(parents=True)
    (module / "catalog.py").write_text('SERIES = "series"\n')
    (tmp_path / "forecast" / "step.py").write_text(
        '"""Reads the series table."""\n'
        'SQL = f"SELECT * FROM series WHERE {1}"\n'
        'NAME = "churn_scores"\n'
        'TEXT = ("the series of every grain", "series", "attainment")\n'
        'write_table(con, "attainment", "SELECT 1")\n')
    monkeypatch.setattr(__import__(__name__), "PACKAGE", tmp_path / "forecast")
    assert [p.split(":")[1] for p in spelled("series")] == ["2"]
    assert [p.split(":")[1] for p in spelled("churn_scores")] == ["3"]
    assert [p.split(":")[1] for p in spelled("attainment")] == ["5"]


def test_every_entry_is_named_once_and_outputs_are_tables():
    names = [d.name for d in vars(catalog).values() if isinstance(d, catalog.Dataset)]
    assert len(names) == len(set(names)) == len(catalog.CATALOG)
    assert {d.kind for d in catalog.OUTPUTS} == {"table"}
    assert catalog.REVENUE_MODEL.kind == catalog.CHURN_MODEL.kind == "model"
    assert f"FROM {catalog.SERIES.sql}" == 'FROM "series"' and str(catalog.SERIES) == "series"


def test_reads_and_writes_go_through_the_entry(tmp_path):
    frame = pd.DataFrame({"unit": ["a", "b", "c"], "target": [3.0, 1.0, 2.0]})
    with duckdb.connect(str(tmp_path / "w.duckdb")) as con:
        assert not catalog.exists(con, catalog.ATTAINMENT)
        assert catalog.row_count(con, catalog.ATTAINMENT) == 0
        assert catalog.write_frame(con, catalog.ATTAINMENT, frame) == 3
        assert catalog.columns(con, catalog.ATTAINMENT) == {"unit": "VARCHAR",
                                                            "target": "DOUBLE"}
        read = catalog.read_frame(con, catalog.ATTAINMENT, ["unit"], where="target > ?",
                                  params=[1.5], order_by=["target"])
        assert read["unit"].tolist() == ["c", "a"]
        assert catalog.write_select(con, catalog.ATTAINMENT,
                                    f"SELECT * FROM {catalog.ATTAINMENT.sql} LIMIT 1") == 1
        path = catalog.export(con, catalog.ATTAINMENT,
                              catalog.export_path(tmp_path, catalog.ATTAINMENT, ".csv"))
    assert path == tmp_path / "outputs" / "attainment.csv"
    assert path.read_text().splitlines()[0] == "unit,target"


def test_a_table_digest_follows_content_not_row_order(tmp_path):
    with duckdb.connect(str(tmp_path / "w.duckdb")) as con:
        assert catalog.table_digest(con, "t") is None
        con.execute("CREATE TABLE t AS SELECT * FROM (VALUES (1, 'a'), (2, 'b')) v(k, v)")
        first = catalog.table_digest(con, "t")
        con.execute("CREATE OR REPLACE TABLE t AS SELECT * FROM (VALUES (2, 'b'), (1, 'a')) v(k, v)")
        assert catalog.table_digest(con, "t") == first
        con.execute("UPDATE t SET v = 'c' WHERE k = 2")
        assert catalog.table_digest(con, "t") != first


def test_an_input_frame_leaves_out_the_lineage_columns(tmp_path):
    with duckdb.connect(str(tmp_path / "w.duckdb")) as con:
        con.execute("CREATE TABLE customers AS SELECT 'c1' AS customer_id, 'A' AS name, "
                    "'file.csv' AS source, 2 AS source_row")
        assert list(catalog.input_frame(con, catalog.CUSTOMERS).columns) == ["customer_id",
                                                                             "name"]


def test_orders_on_series_dates_tells_dated_weeks_from_daily_orders():
    con = duckdb.connect()
    con.execute(f"CREATE TABLE {catalog.ORDERS.sql} (order_date DATE, amount DOUBLE)")
    con.execute(f"CREATE TABLE {catalog.SERIES.sql} (unique_id VARCHAR, ds DATE, y DOUBLE)")
    assert not catalog.orders_on_series_dates(con)  # no orders
    con.execute(f"INSERT INTO {catalog.SERIES.sql} VALUES ('total', '2024-01-05', 1), "
                "('total', '2024-01-12', 1)")
    con.execute(f"INSERT INTO {catalog.ORDERS.sql} VALUES ('2024-01-05', 1), ('2024-01-12', 1)")
    assert catalog.orders_on_series_dates(con)  # sales dated on their Friday
    con.execute(f"INSERT INTO {catalog.ORDERS.sql} VALUES ('2024-01-09', 1)")
    assert not catalog.orders_on_series_dates(con)  # an order inside a week


def test_monthly_figures_dated_on_the_first_cover_their_last_month():
    """Regression: a sheet of monthly figures (each dated on the 1st) ending with December was
    taken to end on December 1, so the monthly report's default month was November."""
    con = duckdb.connect()
    con.execute(f"CREATE TABLE {catalog.ORDERS.sql} (order_date DATE, amount DOUBLE)")
    assert catalog.orders_through(con) is None
    con.execute(f"INSERT INTO {catalog.ORDERS.sql} VALUES ('2022-10-01', 1), ('2022-11-01', 1)")
    assert str(catalog.orders_through(con)) == "2022-11-01"  # two months: too few to tell
    con.execute(f"INSERT INTO {catalog.ORDERS.sql} VALUES ('2022-12-01', 1)")
    assert str(catalog.orders_through(con)) == "2022-12-31"
    con.execute(f"INSERT INTO {catalog.ORDERS.sql} VALUES ('2022-12-02', 1)")
    assert str(catalog.orders_through(con)) == "2022-12-02"  # daily orders: the last day
