"""Ingest: one test per malformed-input class, plus atomicity, idempotence and the formats.

Each malformed-input test asserts the message, the exit code and that the counts reconcile.
"""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pandas as pd
from click.testing import CliRunner

from forecast.cli import main

ORDERS_MAP = {"order_date": "date", "customer_id": "customer", "amount": "amount"}


def _csv(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.write_bytes(text.encode(encoding))
    return path


def _orders_source(path: Path, **extra) -> dict:
    return {"sources": [{"table": "orders", "path": str(path), "columns": ORDERS_MAP, **extra}]}


def _run(*args: str):
    result = CliRunner().invoke(main, list(args))
    return result


def _ingest_json(config: Path) -> dict:
    result = _run("data", "ingest", "--config", str(config), "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def _rows(workspace: Path, sql: str) -> list[tuple]:
    con = duckdb.connect(str(workspace / "warehouse.duckdb"), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def _assert_reconciled(source: dict, read: int, loaded: int, quarantined: int) -> None:
    assert (source["rows_read"], source["rows_loaded"], source["rows_quarantined"]) == (
        read, loaded, quarantined)
    assert source["reconciled"] is True


def test_missing_column_names_file_column_and_columns_found(tmp_path, write_config):
    src = _csv(tmp_path / "orders.csv", "date,client,amount\n2024-01-02,a,10\n")
    result = _run("data", "ingest", "--config", str(write_config(_orders_source(src))))
    assert result.exit_code == 2
    assert "Traceback" not in result.output
    assert str(src) in result.stderr
    assert "column 'customer' (mapped to 'customer_id') not found" in result.stderr
    assert "columns found: date, client, amount" in result.stderr
    assert not (tmp_path / "ws").exists()


def test_unparseable_date_is_quarantined_with_reason(tmp_path, write_config):
    src = _csv(tmp_path / "o.csv", "date,customer,amount\n2024-01-02,a,10\n2024-13-45,b,20\n"
               "yesterday,c,5\n")
    out = _ingest_json(write_config(_orders_source(src)))
    _assert_reconciled(out["sources"][0], 3, 1, 2)
    reasons = _rows(tmp_path / "ws", "SELECT source_row, reason FROM quarantine ORDER BY 1")
    assert reasons == [  # source_row: the file line, the header being line 1
        (3, "order_date (column date): cannot parse '2024-13-45', expected an ISO date (YYYY-MM-DD)"),
        (4, "order_date (column date): cannot parse 'yesterday', expected an ISO date (YYYY-MM-DD)"),
    ]


def test_non_numeric_amount_is_quarantined_with_reason(tmp_path, write_config):
    src = _csv(tmp_path / "o.csv", "date,customer,amount\n2024-01-02,a,10.5\n2024-01-03,b,ten\n"
               "2024-01-04,c,\n")
    out = _ingest_json(write_config(_orders_source(src)))
    _assert_reconciled(out["sources"][0], 3, 1, 2)
    reasons = dict(_rows(tmp_path / "ws", "SELECT source_row, reason FROM quarantine"))
    assert reasons[3] == "amount: cannot parse 'ten', expected a number"
    assert reasons[4] == "amount: empty, a value is required"
    assert _rows(tmp_path / "ws", "SELECT amount FROM orders") == [(10.5,)]


def test_empty_file_fails_with_message(tmp_path, write_config):
    src = _csv(tmp_path / "empty.csv", "")
    result = _run("data", "ingest", "--config", str(write_config(_orders_source(src))))
    assert result.exit_code == 2
    assert f"{src}: file is empty" in result.stderr
    assert "Traceback" not in result.output


def test_header_only_file_loads_nothing_and_reconciles(tmp_path, write_config):
    src = _csv(tmp_path / "header.csv", "date,customer,amount\n")
    out = _ingest_json(write_config(_orders_source(src, allow_empty=True)))
    _assert_reconciled(out["sources"][0], 0, 0, 0)


def test_gbk_file_with_chinese_headers(tmp_path, write_config):
    src = _csv(tmp_path / "订单.csv", "订单日期,客户编号,金额\n2024-01-05,客户甲,100.5\n"
               "2024-01-06,客户乙,-20\n", encoding="gbk")
    config = {"sources": [{"table": "orders", "path": str(src),
                           "columns": {"order_date": "订单日期", "customer_id": "客户编号",
                                       "amount": "金额"}}]}
    out = _ingest_json(write_config(config))
    _assert_reconciled(out["sources"][0], 2, 2, 0)
    assert out["sources"][0]["encoding"] == "gb18030"
    rows = _rows(tmp_path / "ws", "SELECT customer_id, amount FROM orders ORDER BY source_row")
    assert rows == [("客户甲", 100.5), ("客户乙", -20.0)]


def test_bom_and_day_first_dates(tmp_path, write_config):
    src = _csv(tmp_path / "bom.csv", "\ufeffdate,customer,amount\n03/01/19,a,1\n31/12/22,b,2\n")
    out = _ingest_json(write_config(_orders_source(src, date_format="%d/%m/%y")))
    _assert_reconciled(out["sources"][0], 2, 2, 0)
    assert out["sources"][0]["encoding"] == "utf-8-sig"
    dates = _rows(tmp_path / "ws", "SELECT CAST(order_date AS VARCHAR) FROM orders ORDER BY 1")
    assert dates == [("2019-01-03",), ("2022-12-31",)]


def test_duplicate_rows_are_quarantined_as_duplicates_of_the_first(tmp_path, write_config):
    src = _csv(tmp_path / "d.csv", "date,customer,amount\n2024-01-02,a,10\n2024-01-03,b,5\n"
               "2024-01-02,a,10\n2024-01-02,a,10\n")
    key = ["order_date", "customer_id"]  # without a key, identical rows load
    out = _ingest_json(write_config(_orders_source(src, unique_key=key)))
    _assert_reconciled(out["sources"][0], 4, 2, 2)
    reasons = _rows(tmp_path / "ws", "SELECT source_row, reason FROM quarantine ORDER BY 1")
    assert reasons == [(4, "duplicate of source row 2"), (5, "duplicate of source row 2")]


def test_unknown_config_key_is_rejected_with_its_path(tmp_path, write_config):
    src = _csv(tmp_path / "o.csv", "date,customer,amount\n2024-01-02,a,10\n")
    config = write_config(_orders_source(src, date_fromat="%Y-%m-%d"))
    result = _run("data", "check", "--config", str(config))
    assert result.exit_code == 2
    assert "sources.0.date_fromat: unknown key" in result.stderr
    assert "Traceback" not in result.output


def test_malformed_csv_lines_are_quarantined_not_dropped(tmp_path, write_config):
    src = _csv(tmp_path / "m.csv", "date,customer,amount\n2024-01-02,a,10\n2024-01-03,b\n"
               "2024-01-04,c,1,extra\n2024-01-05,d,4\n")
    out = _ingest_json(write_config(_orders_source(src)))
    source = out["sources"][0]
    _assert_reconciled(source, 4, 2, 2)
    assert source["reasons"] == {"malformed CSV line": 2}


def test_date_outside_range_and_future_orders_are_quarantined(tmp_path, write_config):
    src = _csv(tmp_path / "o.csv", "date,customer,amount\n1850-01-01,a,1\n2024-01-02,a,1\n"
               "2999-01-01,b,1\n")
    out = _ingest_json(write_config(_orders_source(src)))
    _assert_reconciled(out["sources"][0], 3, 1, 2)
    reasons = [r for (r,) in _rows(tmp_path / "ws", "SELECT reason FROM quarantine ORDER BY 1")]
    assert reasons[0].startswith("order_date (column date): date 1850-01-01 outside 1900-01-01..")
    assert reasons[1].startswith("order_date (column date): date 2999-01-01 outside 1900-01-01..")


def test_ingest_is_idempotent(tmp_path, write_config):
    src = _csv(tmp_path / "o.csv", "date,customer,amount\n2024-01-02,a,10\n2024-01-03,b,x\n")
    config = write_config(_orders_source(src))
    first = _ingest_json(config)
    second = _ingest_json(config)
    assert first["sources"] == second["sources"]
    assert _rows(tmp_path / "ws", "SELECT count(*) FROM orders") == [(1,)]
    assert _rows(tmp_path / "ws", "SELECT count(*) FROM quarantine") == [(1,)]


def test_failed_ingest_leaves_the_warehouse_as_it_was(tmp_path, write_config):
    good = _csv(tmp_path / "o.csv", "date,customer,amount\n2024-01-02,a,10\n")
    _ingest_json(write_config(_orders_source(good)))
    before = _rows(tmp_path / "ws", "SELECT * FROM orders")
    # A changed orders file plus a second source with a missing column: nothing may land.
    _csv(tmp_path / "o.csv", "date,customer,amount\n2024-02-02,z,99\n2024-02-03,y,1\n")
    bad = _csv(tmp_path / "t.csv", "month,amount\n2024-01-01,5\n")
    config = _orders_source(good)
    config["sources"].append({"table": "targets", "path": str(bad),
                              "columns": {"period": "month", "target": "target"}})
    result = _run("data", "ingest", "--config", str(write_config(config)))
    assert result.exit_code == 2
    assert "column 'target' (mapped to 'target') not found" in result.stderr
    assert _rows(tmp_path / "ws", "SELECT * FROM orders") == before


def test_excel_source_with_derived_amount_and_filter(tmp_path, write_config):
    frame = pd.DataFrame({
        "Invoice": ["1", "1", "C2", "3"], "When": ["2024-01-02", "2024-01-02", "2024-01-05",
                                                   "2024-01-06"],
        "Qty": [2, 1, -1, 5], "Price": [1.5, 4.0, 1.5, 2.0], "Cust": ["a", "a", "a", "b"],
        "Country": ["UK", "UK", "UK", "Unspecified"],
    })
    path = tmp_path / "lines.xlsx"
    frame.to_excel(path, index=False)
    config = {"sources": [{
        "table": "orders", "path": str(path), "derive_amount": True,
        "columns": {"order_id": "Invoice", "order_date": "When", "quantity": "Qty",
                    "unit_price": "Price", "customer_id": "Cust", "region": "Country"},
        "filters": [{"column": "Country", "op": "ne", "value": "Unspecified"}],
    }]}
    out = _ingest_json(write_config(config))
    _assert_reconciled(out["sources"][0], 4, 3, 1)
    assert out["sources"][0]["reasons"] == {"excluded by filter Country ne Unspecified": 1}
    amounts = _rows(tmp_path / "ws", "SELECT order_id, amount FROM orders ORDER BY source_row")
    assert amounts == [("1", 3.0), ("1", 4.0), ("C2", -1.5)]


def test_lookup_brings_attributes_and_requires_a_unique_key(tmp_path, write_config):
    src = _csv(tmp_path / "t.csv", "date,store_nbr,n\n2024-01-02,1,10\n2024-01-02,2,7\n")
    stores = _csv(tmp_path / "stores.csv", "store_nbr,state\n1,Pichincha\n2,Guayas\n")
    config = {"sources": [{
        "table": "orders", "path": str(src),
        "columns": {"order_date": "date", "store": "store_nbr", "amount": "n"},
        "lookups": [{"path": str(stores), "left_on": "store_nbr", "columns": {"region": "state"}}],
    }]}
    _ingest_json(write_config(config))
    rows = _rows(tmp_path / "ws", "SELECT store, region FROM orders ORDER BY store")
    assert rows == [("1", "Pichincha"), ("2", "Guayas")]
    _csv(tmp_path / "stores.csv", "store_nbr,state\n1,Pichincha\n1,Guayas\n")
    result = _run("data", "ingest", "--config", str(write_config(config)))
    assert result.exit_code == 2
    assert "key column 'store_nbr' is not unique" in result.stderr


def test_check_writes_nothing(tmp_path, write_config):
    src = _csv(tmp_path / "o.csv", "date,customer,amount\n2024-01-02,a,10\n")
    result = _run("data", "check", "--config", str(write_config(_orders_source(src))), "--json")
    assert result.exit_code == 0
    _assert_reconciled(json.loads(result.stdout)["sources"][0], 1, 1, 0)
    assert not (tmp_path / "ws").exists()
