"""Identical rows: real in transaction logs (the same customer buying the same thing twice in a
day), so without a declared key they load and are counted; with a ``unique_key`` a repeated key
is quarantined as a duplicate."""

from __future__ import annotations

from ingest_cli import assert_reconciled, ingested, orders_source, rows, run, write_bytes

LINES = ("date,customer,amount\n2024-01-02,a,10\n2024-01-03,b,5\n2024-01-02,a,10\n"
         "2024-01-02,a,10\n2024-01-03,b,6\n")


def test_identical_rows_without_a_key_load_and_are_counted(tmp_path, write_config):
    src = write_bytes(tmp_path / "d.csv", LINES)
    out = ingested(write_config(orders_source(src)))
    source = out["sources"][0]
    assert_reconciled(source, 5, 5, 0)
    assert source["identical_rows"] == 2
    assert rows(tmp_path / "ws", "SELECT sum(amount) FROM orders") == [(41.0,)]


def test_identical_rows_with_a_key_are_quarantined_as_duplicates(tmp_path, write_config):
    src = write_bytes(tmp_path / "d.csv", LINES)
    out = ingested(write_config(orders_source(src, unique_key=["order_date", "customer_id"])))
    source = out["sources"][0]
    assert_reconciled(source, 5, 2, 3)
    assert source["identical_rows"] == 0
    assert rows(tmp_path / "ws", "SELECT source_row, reason FROM quarantine ORDER BY 1") == [
        (4, "duplicate of source row 2"),
        (5, "duplicate of source row 2"),
        (6, "duplicate key (order_date, customer_id) of source row 3"),
    ]


def test_the_summary_line_shows_identical_rows(tmp_path, write_config):
    src = write_bytes(tmp_path / "d.csv", LINES)
    config = write_config(orders_source(src))
    for command in ("check", "ingest"):
        result = run("data", command, "--config", str(config))
        assert result.exit_code == 0, result.output
        assert "identical rows 2 (loaded; set unique_key to quarantine repeats)" in result.stdout
