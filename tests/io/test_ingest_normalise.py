"""Values in their canonical form at ingest: money rounded to the currency's smallest unit
(``17.700000000000003`` from quantity x unit price was stored as is), and keys exported from a
float column (``12417.0``) read as the whole number they are."""

from __future__ import annotations

import duckdb
import pandas as pd
from ingest_cli import ingested, orders_source, write_bytes


def _orders(config_path, workspace) -> pd.DataFrame:
    con = duckdb.connect(str(workspace / "warehouse.duckdb"), read_only=True)
    try:
        return con.execute("SELECT * FROM orders ORDER BY source_row").df()
    finally:
        con.close()


def test_derived_and_given_amounts_are_rounded_to_cents(tmp_path, write_config):
    src = write_bytes(tmp_path / "lines.csv",
                      "date,customer,qty,price,amount\n"
                      "2024-01-02,a,3,5.9,0\n"          # 3 x 5.9 = 17.700000000000003
                      "2024-01-03,b,7,0.1,0\n"          # 7 x 0.1 = 0.7000000000000001
                      "2024-01-04,c,1,12.3456,0\n")
    config = orders_source(src)
    config["sources"][0]["columns"] = {"order_date": "date", "customer_id": "customer",
                                       "quantity": "qty", "unit_price": "price"}
    config["sources"][0]["derive_amount"] = True
    config["workspace"] = str(tmp_path / "ws")
    ingested(write_config(config))
    orders = _orders(config, tmp_path / "ws")
    assert orders["amount"].tolist() == [17.7, 0.7, 12.35]
    assert orders["unit_price"].tolist() == [5.9, 0.1, 12.3456]  # a price may have sub-cents


def test_money_decimals_follow_the_currency(tmp_path, write_config):
    src = write_bytes(tmp_path / "yen.csv", "date,customer,amount\n2024-01-02,a,1234.56\n")
    config = orders_source(src, money_decimals=0)
    config["workspace"] = str(tmp_path / "ws")
    ingested(write_config(config))
    assert _orders(config, tmp_path / "ws")["amount"].tolist() == [1235.0]


def test_keys_written_as_floats_keep_their_integer_form(tmp_path, write_config):
    src = write_bytes(tmp_path / "orders.csv",
                      "date,customer,amount\n2024-01-02,12417.0,5\n2024-01-03,12417,6\n"
                      "2024-01-04,-3.00,7\n2024-01-05,12417.5,8\n2024-01-06,A-1.0,9\n")
    config = orders_source(src)
    config["workspace"] = str(tmp_path / "ws")
    ingested(write_config(config))
    ids = _orders(config, tmp_path / "ws")["customer_id"].tolist()
    assert ids == ["12417", "12417", "-3", "12417.5", "A-1.0"]


def test_keys_from_a_parquet_float_column(tmp_path, write_config):
    path = tmp_path / "orders.parquet"
    pd.DataFrame({"date": pd.to_datetime(["2024-01-02", "2024-01-03"]),
                  "customer": [12417.0, float("nan")], "amount": [5.0, 6.0]}).to_parquet(path)
    config = orders_source(path)
    config["workspace"] = str(tmp_path / "ws")
    ingested(write_config(config))
    ids = _orders(config, tmp_path / "ws")["customer_id"].tolist()
    assert ids[0] == "12417" and pd.isna(ids[1])
