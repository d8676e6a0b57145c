"""Nothing non-finite loads: NaN, infinities and overflowing numbers are quarantined with a reason
by every reader, so a sum over a loaded column is always a number."""

from __future__ import annotations

import math

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from ingest_cli import assert_reconciled, ingested, orders_source, rows, write_bytes

NON_FINITE = ["NaN", "inf", "-Infinity", "1e400"]


def _reasons(workspace) -> list[tuple]:
    return rows(workspace, "SELECT source_row, reason FROM quarantine ORDER BY source_row")


def test_csv_non_finite_amounts_are_quarantined(tmp_path, write_config):
    body = "".join(f"2024-01-0{i + 3},c{i},{v}\n" for i, v in enumerate(NON_FINITE))
    src = write_bytes(tmp_path / "o.csv", "date,customer,amount\n2024-01-02,a,10\n" + body)
    out = ingested(write_config(orders_source(src)))
    assert_reconciled(out["sources"][0], 5, 1, 4)
    assert out["sources"][0]["reasons"] == {"amount: … is not a finite number": 4}
    assert _reasons(tmp_path / "ws") == [
        (3, "amount: 'NaN' is not a finite number"),
        (4, "amount: 'inf' is not a finite number"),
        (5, "amount: '-Infinity' is not a finite number"),
        (6, "amount: '1e400' is not a finite number"),
    ]
    assert rows(tmp_path / "ws", "SELECT sum(amount) FROM orders") == [(10.0,)]


def test_excel_non_finite_cells_are_quarantined(tmp_path, write_config):
    frame = pd.DataFrame({"date": ["2024-01-02", "2024-01-03", "2024-01-04", "2024-01-05"],
                          "customer": ["a", "b", "c", "d"],
                          "amount": ["10", "nan", "-inf", "1e400"]})
    path = tmp_path / "o.xlsx"
    frame.to_excel(path, index=False)
    out = ingested(write_config(orders_source(path)))
    assert_reconciled(out["sources"][0], 4, 1, 3)
    assert [r for _, r in _reasons(tmp_path / "ws")] == [
        "amount: 'nan' is not a finite number", "amount: '-inf' is not a finite number",
        "amount: '1e400' is not a finite number"]
    assert rows(tmp_path / "ws", "SELECT sum(amount) FROM orders") == [(10.0,)]


def test_parquet_native_nan_and_infinity_are_quarantined(tmp_path, write_config):
    table = pa.table({
        "date": pa.array(["2024-01-02", "2024-01-03", "2024-01-04", "2024-01-05"]),
        "customer": pa.array(["a", "b", "c", "d"]),
        "amount": pa.array([10.0, math.nan, math.inf, -math.inf], pa.float64()),
        "weight": pa.array([1.0, 1.0, 1.0, math.nan], pa.float32()),
    })
    path = tmp_path / "o.parquet"
    pq.write_table(table, path)
    config = orders_source(path)
    config["sources"][0]["columns"]["weight"] = "weight"
    config["sources"][0]["types"] = {"weight": "DOUBLE"}
    out = ingested(write_config(config))
    assert_reconciled(out["sources"][0], 4, 1, 3)
    assert _reasons(tmp_path / "ws") == [
        (2, "amount: 'nan' is not a finite number"),
        (3, "amount: 'inf' is not a finite number"),
        (4, "amount: '-inf' is not a finite number; weight: 'nan' is not a finite number"),
    ]
    assert rows(tmp_path / "ws", "SELECT sum(amount), sum(weight) FROM orders") == [(10.0, 1.0)]


def test_derived_amount_that_overflows_is_quarantined(tmp_path, write_config):
    src = write_bytes(tmp_path / "o.csv", "date,customer,qty,price\n2024-01-02,a,2,1.5\n"
                      "2024-01-03,b,1e200,1e200\n")
    config = {"sources": [{"table": "orders", "path": str(src), "derive_amount": True,
                           "columns": {"order_date": "date", "customer_id": "customer",
                                       "quantity": "qty", "unit_price": "price"}}]}
    out = ingested(write_config(config))
    assert_reconciled(out["sources"][0], 2, 1, 1)
    assert _reasons(tmp_path / "ws") == [
        (3, "amount: quantity x unit_price is not a finite number")]
