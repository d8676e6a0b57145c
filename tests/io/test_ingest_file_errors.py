"""Unreadable files get a message that says what is wrong: encodings (a real GBK file is read, a
UTF-8 file with one bad byte is named as such with its byte and line), corrupt workbooks and
missing sheets."""

from __future__ import annotations

import pandas as pd
from ingest_cli import (
    assert_reconciled,
    assert_user_error,
    ingested,
    orders_source,
    rows,
    write_bytes,
)

CHINESE_MAP = {"order_date": "日期", "customer_id": "客户", "amount": "金额"}


def _chinese_source(path, **extra) -> dict:
    return {"sources": [{"table": "orders", "path": str(path), "columns": CHINESE_MAP, **extra}]}


def test_gbk_file_with_ascii_header_is_read_as_gb18030(tmp_path, write_config):
    text = "date,customer,amount\n2024-01-02,北京客户,10\n2024-01-03,上海客户,5\n"
    src = write_bytes(tmp_path / "o.csv", text, encoding="gbk")
    out = ingested(write_config(orders_source(src)))
    assert out["sources"][0]["encoding"] == "gb18030"
    assert rows(tmp_path / "ws", "SELECT customer_id FROM orders ORDER BY source_row") == [
        ("北京客户",), ("上海客户",)]


def test_utf8_file_with_one_bad_byte_names_the_byte_and_line(tmp_path, write_config):
    head = "日期,客户,金额\n2024-01-02,客户甲,1\n".encode()
    data = head + b"2024-01-03,\xff\xfe,2\n"
    src = write_bytes(tmp_path / "o.csv", data)
    message = assert_user_error(write_config(_chinese_source(src)),
                                f"not valid UTF-8 at byte {len(head) + 11} (line 3)",
                                "`encoding:`")
    assert "gb18030" not in message.split("`encoding:`")[0]


def test_latin1_bytes_in_an_ascii_file_are_not_taken_for_gbk(tmp_path, write_config):
    head = b"date,customer,amount\n2024-01-02,a,1\n2024-01-03,Caf"
    src = write_bytes(tmp_path / "o.csv", head + b"\xe9t,2\n2024-01-04,\xe9a,3\n")
    assert_user_error(write_config(orders_source(src)),
                      f"not valid UTF-8 at byte {len(head)} (line 3)")


def test_bad_byte_after_the_sniffed_start_names_its_byte_and_line(tmp_path, write_config):
    lines = ["date,customer,amount\n"] + [f"2024-01-02,客户{i},1\n" for i in range(200_000)]
    head = "".join(lines).encode()
    src = write_bytes(tmp_path / "o.csv", head + b"2024-01-03,\xc3(,2\n")
    assert len(head) > 4 << 20
    assert_user_error(write_config(orders_source(src)),
                      f"not valid UTF-8 at byte {len(head) + 11} (line {len(lines) + 1})")


def test_declared_utf8_with_a_bad_byte_names_the_byte_and_line(tmp_path, write_config):
    head = b"date,customer,amount\n2024-01-02,a,1\n2024-01-03,"
    src = write_bytes(tmp_path / "o.csv", head + b"\x80b,2\n")
    assert_user_error(write_config(orders_source(src, encoding="utf-8")),
                      f"not valid UTF-8 at byte {len(head)} (line 3)")


def test_gbk_file_with_an_invalid_byte_names_the_byte_and_line(tmp_path, write_config):
    head = "date,customer,amount\n2024-01-02,北京客户,10\n2024-01-03,".encode("gbk")
    src = write_bytes(tmp_path / "o.csv", head + b"\xff,5\n")
    assert_user_error(write_config(orders_source(src)),
                      f"not valid gb18030 at byte {len(head)} (line 3)", "`encoding:`")


def test_corrupt_workbook_says_it_cannot_be_read(tmp_path, write_config):
    for content in (b"date,customer,amount\n", b"PK\x03\x04 this is not really a workbook"):
        src = write_bytes(tmp_path / "o.xlsx", content)
        message = assert_user_error(write_config(orders_source(src)), str(src),
                                    "cannot read as Excel (.xlsx)")
        assert "sheet None" not in message


def test_missing_sheet_lists_the_sheets_found(tmp_path, write_config):
    path = tmp_path / "o.xlsx"
    frame = pd.DataFrame({"date": ["2024-01-02"], "customer": ["a"], "amount": [1.0]})
    with pd.ExcelWriter(path) as writer:
        frame.to_excel(writer, sheet_name="Orders", index=False)
        frame.to_excel(writer, sheet_name="Notes", index=False)
    assert_user_error(write_config(orders_source(path, sheet="Ordres")),
                      "sheet 'Ordres' not found", "sheets found: Orders, Notes")
    assert_user_error(write_config(orders_source(path, sheet=2)),
                      "sheet 2 not found", "sheets found: Orders, Notes")
    out = ingested(write_config(orders_source(path, sheet="Notes")))
    assert_reconciled(out["sources"][0], 1, 1, 0)


def test_excel_text_that_pandas_would_call_missing_is_kept(tmp_path, write_config):
    path = tmp_path / "o.xlsx"
    pd.DataFrame({"date": ["2024-01-02", "2024-01-03"], "customer": ["NA", "null"],
                  "amount": [1.0, 2.0]}).to_excel(path, index=False)
    out = ingested(write_config(orders_source(path, required=["customer_id"])))
    assert_reconciled(out["sources"][0], 2, 2, 0)
    assert rows(tmp_path / "ws", "SELECT customer_id FROM orders ORDER BY source_row") == [
        ("NA",), ("null",)]
