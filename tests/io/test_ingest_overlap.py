"""Two sources of one table that overlap: exports whose days overlap, or one file listed twice.

Regression: the rows of the overlap loaded from both files without a word, and the overlap's
revenue counted twice (a June export listed with the first half-year and with the second
doubled June's 154 order lines in the demo company's orders)."""

from __future__ import annotations

from ingest_cli import assert_reconciled, ingested, rows, run, write_bytes

HEADER = "order_id,date,customer,amount\n"
FIRST = HEADER + "1,2024-06-28,a,10\n2,2024-06-29,b,5\n3,2024-06-30,c,7\n"
# The second export starts on June 29: orders 2 and 3 again (order 3 corrected to 8), then July.
SECOND = HEADER + "2,2024-06-29,b,5\n3,2024-06-30,c,8\n4,2024-07-01,a,4\n"
COLUMNS = {"order_id": "order_id", "order_date": "date", "customer_id": "customer",
           "amount": "amount"}


def _config(tmp_path, write_config, **extra):
    first = write_bytes(tmp_path / "first.csv", FIRST)
    second = write_bytes(tmp_path / "second.csv", SECOND)
    return write_config({"sources": [
        {"table": "orders", "name": name, "path": str(path), "columns": COLUMNS, **extra}
        for name, path in (("h1", first), ("h2", second))]})


def test_rows_another_source_of_the_table_holds_load_and_are_counted(tmp_path, write_config):
    out = ingested(_config(tmp_path, write_config))
    first, second = out["sources"]
    assert_reconciled(second, 3, 3, 0)
    assert first["repeated_rows"] == {}
    # Order 2 repeats in every column; order 3 differs in its amount, so it is not counted.
    assert second["repeated_rows"] == {"h1": 1}
    assert rows(tmp_path / "ws", "SELECT count(*) FROM orders") == [(6,)]


def test_the_summary_says_what_the_repeats_do_and_what_to_set(tmp_path, write_config):
    config = _config(tmp_path, write_config)
    for command in ("check", "ingest"):
        result = run("data", command, "--config", str(config))
        assert result.exit_code == 0, result.output
        assert ("1 rows repeat rows of source 'h1' in every column (loaded: overlapping files "
                "count them twice; set unique_key to quarantine them)") in result.stdout


def test_with_a_key_the_later_source_s_repeats_are_quarantined(tmp_path, write_config):
    out = ingested(_config(tmp_path, write_config, unique_key=["order_id"]))
    first, second = out["sources"]
    assert_reconciled(first, 3, 3, 0)
    assert_reconciled(second, 3, 1, 2)
    assert rows(tmp_path / "ws", "SELECT source, source_row, reason FROM quarantine "
                "ORDER BY 2") == [
        ("h2", 2, "duplicate of source 'h1' row 3"),
        ("h2", 3, "duplicate key (order_id) of source 'h1' row 4"),
    ]
    assert rows(tmp_path / "ws", "SELECT order_id, amount FROM orders ORDER BY 1") == [
        ("1", 10.0), ("2", 5.0), ("3", 7.0), ("4", 4.0)]


def test_sources_of_other_tables_and_rows_with_another_key_are_left_alone(tmp_path,
                                                                          write_config):
    first = write_bytes(tmp_path / "first.csv", FIRST)
    targets = write_bytes(tmp_path / "targets.csv", "month,target\n2024-06-01,100\n")
    other = write_bytes(tmp_path / "other.csv", HEADER + "5,2024-06-28,a,10\n")
    out = ingested(write_config({"sources": [
        {"table": "orders", "name": "h1", "path": str(first), "columns": COLUMNS},
        {"table": "targets", "path": str(targets),
         "columns": {"period": "month", "target": "target"}},
        {"table": "orders", "name": "shop2", "path": str(other), "columns": COLUMNS,
         "unique_key": ["order_id"]}]}))
    assert [s["repeated_rows"] for s in out["sources"]] == [{}, {}, {}]
    assert_reconciled(out["sources"][2], 1, 1, 0)
