"""Which rows a table holds after an ingest: a source repointed, renamed or removed never leaves
stale rows behind, and the append mode adds a new file's rows but refuses rows already loaded."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
from click.testing import CliRunner

from forecast.cli import main

ORDERS_MAP = {"order_id": "id", "order_date": "date", "customer_id": "customer",
              "amount": "amount"}
HEADER = "id,date,customer,amount\n"


def _csv(path: Path, lines: str) -> Path:
    path.write_text(HEADER + lines, encoding="utf-8")
    return path


def _orders(path: Path, **extra) -> dict:
    return {"table": "orders", "path": str(path), "columns": ORDERS_MAP, **extra}


def _customers(path: Path) -> dict:
    return {"table": "customers", "path": str(path), "columns": {"customer_id": "customer"}}


def _run(*args: str):
    return CliRunner().invoke(main, list(args))


def _ingest(config: Path, *extra: str):
    result = _run("data", "ingest", "--config", str(config), *extra)
    assert result.exit_code == 0, result.output
    return result


def _ingest_json(config: Path) -> dict:
    return json.loads(_ingest(config, "--json").stdout)


def _rows(workspace: Path, sql: str) -> list[tuple]:
    con = duckdb.connect(str(workspace / "warehouse.duckdb"), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def test_repointed_source_replaces_the_old_files_rows_and_says_so(tmp_path, write_config):
    october = _csv(tmp_path / "orders_2026-10.csv",
                   "A1,2026-10-02,a,10\nA2,2026-10-30,b,20\nA3,2026-10-31,c,oops\n")
    _ingest(write_config({"sources": [_orders(october)]}))
    # The November export repeats the end of October: A2 is in both files.
    november = _csv(tmp_path / "orders_2026-11.csv", "A2,2026-10-30,b,20\nA4,2026-11-03,d,5\n")
    out = _ingest_json(write_config({"sources": [_orders(november)]}))
    ws = tmp_path / "ws"
    assert _rows(ws, "SELECT order_id, source FROM orders ORDER BY 1") == [
        ("A2", "orders_2026-11"), ("A4", "orders_2026-11")]
    assert _rows(ws, "SELECT count(*) FROM quarantine") == [(0,)]
    assert out["removed"] == [{
        "table": "orders", "source": "orders_2026-10", "rows": 2, "quarantined": 1,
        "dropped": False,
        "message": "table orders: removed 2 rows and 1 quarantined row of source "
                   "'orders_2026-10', which is no longer in the config",
    }]


def test_renamed_source_leaves_no_rows_under_its_old_name(tmp_path, write_config):
    src = _csv(tmp_path / "o.csv", "A1,2024-01-02,a,10\n")
    _ingest(write_config({"sources": [_orders(src)]}))
    result = _ingest(write_config({"sources": [_orders(src, name="shop")]}))
    assert _rows(tmp_path / "ws", "SELECT source, count(*) FROM orders GROUP BY 1") == [
        ("shop", 1)]
    assert ("warning: table orders: removed 1 row and 0 quarantined rows of source 'o', "
            "which is no longer in the config") in result.stdout


def test_table_no_source_feeds_any_more_is_dropped_with_a_warning(tmp_path, write_config):
    orders = _csv(tmp_path / "o.csv", "A1,2024-01-02,a,10\n")
    customers = tmp_path / "c.csv"
    customers.write_text("customer\na\nb\n", encoding="utf-8")
    _ingest(write_config({"sources": [_orders(orders), _customers(customers)]}))
    assert _rows(tmp_path / "ws", "SELECT count(*) FROM customers") == [(2,)]
    result = _ingest(write_config({"sources": [_orders(orders)]}))
    tables = {t for (t,) in _rows(tmp_path / "ws", "SELECT table_name FROM duckdb_tables()")}
    assert "customers" not in tables
    assert "orders" in tables
    assert ("warning: table customers dropped: removed 2 rows and 0 quarantined rows of source "
            "'c', no source of the config feeds it any more") in result.stdout
    assert _rows(tmp_path / "ws", "SELECT count(*) FROM quarantine WHERE table_name = "
                 "'customers'") == [(0,)]


def test_every_load_is_logged_and_the_log_says_which_are_in_the_table(tmp_path, write_config):
    first = _csv(tmp_path / "a.csv", "A1,2024-01-02,a,10\n")
    second = _csv(tmp_path / "b.csv", "A2,2024-01-03,b,20\n")
    _ingest(write_config({"sources": [_orders(first)]}))
    _ingest(write_config({"sources": [_orders(second)]}))
    log = _rows(tmp_path / "ws", "SELECT source, mode, rows_loaded, in_table FROM ingest_log "
                "ORDER BY ingested_at")
    assert log == [("a", "replace", 1, False), ("b", "replace", 1, True)]


def _append(path: Path) -> dict:
    return _orders(path, mode="append", unique_key=["order_id"])


def test_append_mode_adds_a_new_files_rows(tmp_path, write_config):
    october = _csv(tmp_path / "orders_2026-10.csv", "A1,2026-10-02,a,10\nA2,2026-10-30,b,20\n")
    _ingest(write_config({"sources": [_append(october)]}))
    november = _csv(tmp_path / "orders_2026-11.csv", "A3,2026-11-03,d,5\nA4,2026-11-04,e,x\n")
    out = _ingest_json(write_config({"sources": [_append(november)]}))
    ws = tmp_path / "ws"
    assert _rows(ws, "SELECT order_id, source FROM orders ORDER BY 1") == [
        ("A1", "orders_2026-10"), ("A2", "orders_2026-10"), ("A3", "orders_2026-11")]
    assert _rows(ws, "SELECT source, reason FROM quarantine") == [
        ("orders_2026-11", "amount: cannot parse 'x', expected a number")]
    assert out["removed"] == [] and out["unchanged"] == []
    assert _rows(ws, "SELECT source, mode, rows_loaded, rows_quarantined, in_table FROM "
                 "ingest_log ORDER BY ingested_at") == [
        ("orders_2026-10", "append", 2, 0, True), ("orders_2026-11", "append", 1, 1, True)]


def test_append_mode_refuses_a_file_that_repeats_loaded_keys(tmp_path, write_config):
    october = _csv(tmp_path / "orders_2026-10.csv", "A1,2026-10-02,a,10\nA2,2026-10-30,b,20\n")
    _ingest(write_config({"sources": [_append(october)]}))
    november = _csv(tmp_path / "orders_2026-11.csv", "A2,2026-10-30,b,20\nA3,2026-11-03,d,5\n")
    result = _run("-q", "data", "ingest", "--config",
                  str(write_config({"sources": [_append(november)]})))
    assert result.exit_code == 2
    assert "Traceback" not in result.output
    assert result.stderr == (
        f"error: {november}: 1 of its 2 rows repeat a unique key (order_id) already in table "
        "orders, e.g. order_id 'A2' loaded from source 'orders_2026-10'; mode append adds only "
        "new rows: remove them from the file, or use mode replace to reload the table from the "
        "config's files. Nothing was written\n")
    ws = tmp_path / "ws"
    assert _rows(ws, "SELECT order_id FROM orders ORDER BY 1") == [("A1",), ("A2",)]
    assert _rows(ws, "SELECT source FROM ingest_log") == [("orders_2026-10",)]


def test_append_mode_ingesting_the_same_file_again_changes_nothing(tmp_path, write_config):
    october = _csv(tmp_path / "orders_2026-10.csv", "A1,2026-10-02,a,10\nA2,2026-10-30,b,x\n")
    config = write_config({"sources": [_append(october)]})
    _ingest(config)
    result = _ingest(config)
    ws = tmp_path / "ws"
    assert _rows(ws, "SELECT order_id FROM orders") == [("A1",)]
    assert _rows(ws, "SELECT count(*) FROM quarantine") == [(1,)]
    assert _rows(ws, "SELECT count(*) FROM ingest_log") == [(1,)]
    assert ("orders_2026-10: already loaded (same file content), nothing appended"
            in result.stdout)


def test_append_mode_needs_a_unique_key(tmp_path, write_config):
    src = _csv(tmp_path / "o.csv", "A1,2024-01-02,a,10\n")
    result = _run("data", "ingest", "--config",
                  str(write_config({"sources": [_orders(src, mode="append")]})))
    assert result.exit_code == 2
    assert "Traceback" not in result.output
    assert "mode 'append' needs `unique_key:`" in result.stderr
    assert not (tmp_path / "ws").exists()


def test_one_table_cannot_mix_append_and_replace_sources(tmp_path, write_config):
    a = _csv(tmp_path / "a.csv", "A1,2024-01-02,a,10\n")
    b = _csv(tmp_path / "b.csv", "B1,2024-01-02,a,10\n")
    result = _run("data", "ingest", "--config",
                  str(write_config({"sources": [_append(a), _orders(b)]})))
    assert result.exit_code == 2
    assert "Traceback" not in result.output
    assert ("table 'orders' is fed in mode append by 'a' and in mode replace by 'b'; "
            "give every source of a table the same mode") in result.stderr
    assert not (tmp_path / "ws").exists()


def test_a_refused_first_ingest_leaves_no_warehouse(tmp_path, write_config):
    a = _csv(tmp_path / "a.csv", "A1,2024-01-02,a,10\n")
    b = _csv(tmp_path / "b.csv", "A1,2024-01-02,a,10\nB1,2024-01-03,b,5\n")
    result = _run("data", "ingest", "--config",
                  str(write_config({"sources": [_append(a), _append(b)]})))
    assert result.exit_code == 2
    assert "order_id 'A1' loaded from source 'a'" in result.stderr
    assert not (tmp_path / "ws" / "warehouse.duckdb").exists()


def test_a_warehouse_from_before_modes_is_replaced_and_its_log_kept(tmp_path, write_config):
    ws = tmp_path / "ws"
    ws.mkdir()
    con = duckdb.connect(str(ws / "warehouse.duckdb"))
    con.execute("CREATE TABLE quarantine (table_name VARCHAR NOT NULL, source VARCHAR NOT NULL, "
                "source_row BIGINT NOT NULL, reason VARCHAR NOT NULL, record VARCHAR)")
    con.execute("CREATE TABLE ingest_log (ingested_at TIMESTAMP NOT NULL, table_name VARCHAR NOT "
                "NULL, source VARCHAR NOT NULL, path VARCHAR NOT NULL, file_sha256 VARCHAR, "
                "rows_read BIGINT NOT NULL, rows_loaded BIGINT NOT NULL, rows_quarantined "
                "BIGINT NOT NULL)")
    con.execute("INSERT INTO ingest_log VALUES ('2024-01-01', 'orders', 'old', 'old.csv', 'x', "
                "1, 1, 0)")
    con.execute("CREATE TABLE orders (order_date DATE, amount DOUBLE, source VARCHAR NOT NULL, "
                "source_row BIGINT NOT NULL)")
    con.execute("INSERT INTO orders VALUES ('2023-12-31', 3, 'old', 1)")
    con.close()
    src = _csv(tmp_path / "new.csv", "A1,2024-01-02,a,10\n")
    out = _ingest_json(write_config({"sources": [_orders(src)]}))
    assert [r["message"] for r in out["removed"]] == [(
        "table orders: removed 1 row and 0 quarantined rows of source 'old', which is no longer "
        "in the config")]
    assert _rows(ws, "SELECT source, amount FROM orders") == [("new", 10.0)]
    assert _rows(ws, "SELECT source, mode, in_table FROM ingest_log ORDER BY ingested_at") == [
        ("old", None, False), ("new", "replace", True)]
