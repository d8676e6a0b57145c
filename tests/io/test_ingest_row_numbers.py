"""One numbering for every row of a source, loaded or quarantined: the line a user opens the file
at. CSV: the file line the row starts on, the header being line 1 (malformed lines, blank lines
and quoted fields holding newlines included). Excel: the sheet row. Parquet: the 1-based row."""

from __future__ import annotations

import logging

import duckdb
import pandas as pd
import pytest
from ingest_cli import assert_reconciled, ingested, orders_source, rows, write_bytes

from forecast.io.readers import CsvOptions, read_source


def _lineage(workspace) -> list[tuple]:
    """(source_row, customer or reason) of every row, loaded or quarantined, in row order."""
    return rows(workspace, "SELECT source_row, customer_id FROM orders UNION ALL "
                "SELECT source_row, reason FROM quarantine ORDER BY 1")


def test_rows_after_malformed_lines_keep_their_file_line(tmp_path, write_config):
    src = write_bytes(tmp_path / "m.csv", "date,customer,amount\n2024-01-02,a,10\n"
                      "2024-01-03,b\n2024-01-04,c,1,extra\n2024-01-05,d,4\n2024-01-06,e,x\n")
    out = ingested(write_config(orders_source(src)))
    assert_reconciled(out["sources"][0], 5, 2, 3)
    lineage = _lineage(tmp_path / "ws")
    assert [(n, text.split(":")[0]) for n, text in lineage] == [
        (2, "a"), (3, "malformed CSV line 3"), (4, "malformed CSV line 4"), (5, "d"),
        (6, "amount")]


@pytest.mark.parametrize("newline", ["\n", "\r\n"])
def test_quoted_newlines_and_blank_lines_count_as_file_lines(tmp_path, write_config, newline):
    text = ('date,customer,amount\n2024-01-02,"a\nb",1\n\n2024-01-03,c,1,2\n'
            '2024-01-04,"say ""hi""\n\nthere",2\n2024-01-05,e,y\n\n\n2024-01-06,"f",3')
    src = write_bytes(tmp_path / "q.csv", text.replace("\n", newline))
    out = ingested(write_config(orders_source(src)))
    assert_reconciled(out["sources"][0], 5, 3, 2)
    lineage = _lineage(tmp_path / "ws")
    assert [n for n, _ in lineage] == [2, 5, 6, 9, 12]
    assert lineage[0][1] == f"a{newline}b"
    assert lineage[2][1] == f'say "hi"{newline}{newline}there'
    assert lineage[1][1].startswith("malformed CSV line 5")
    assert lineage[3][1].startswith("amount: cannot parse 'y'")
    assert lineage[4][1] == "f"


def test_the_quarantine_record_is_the_row_at_that_line(tmp_path, write_config):
    text = "date,customer,amount\n2024-01-02,a,1\n2024-01-03,b\n2024-01-04,c,z\n"
    src = write_bytes(tmp_path / "r.csv", text)
    ingested(write_config(orders_source(src)))
    lines = text.splitlines()
    for line, record in rows(tmp_path / "ws", "SELECT source_row, record FROM quarantine"):
        assert lines[line - 1].split(",")[1] in record


def test_excel_rows_are_sheet_rows(tmp_path, write_config):
    path = tmp_path / "o.xlsx"
    pd.DataFrame({"date": ["2024-01-02", None, "2024-01-04", "bad"],
                  "customer": ["a", None, "c", "d"],
                  "amount": [1.0, None, 3.0, 4.0]}).to_excel(path, index=False)
    out = ingested(write_config(orders_source(path)))
    assert_reconciled(out["sources"][0], 4, 2, 2)
    assert [n for n, _ in _lineage(tmp_path / "ws")] == [2, 3, 4, 5]


def test_parquet_rows_are_one_based(tmp_path, write_config):
    path = tmp_path / "o.parquet"
    pd.DataFrame({"date": ["2024-01-02", "x", "2024-01-04"], "customer": ["a", "b", "c"],
                  "amount": [1.0, 2.0, 3.0]}).to_parquet(path)
    ingested(write_config(orders_source(path)))
    assert [n for n, _ in _lineage(tmp_path / "ws")] == [1, 2, 3]


def _expected_lines(count: int, every: int) -> tuple[str, list[int], list[int]]:
    """A CSV with quoted newlines, blank lines and malformed lines spread over many rows; the
    file lines its good and its malformed rows start on."""
    parts, good, bad, line = ["id,note\n"], [], [], 2
    for i in range(count):
        if i % every == 7:
            parts.append(f'{i},"two\nlines"\n')
            good.append(line)
            line += 2
        elif i % every == 11:
            parts.append("\n")
            line += 1
        elif i % every == 13:
            parts.append(f"{i},x,too many\n")
            bad.append(line)
            line += 1
        else:
            parts.append(f"{i},n{i}\n")
            good.append(line)
            line += 1
    return "".join(parts), good, bad


@pytest.mark.parametrize("count, every", [(50, 17), (300_000, 9_973)])
def test_line_numbers_hold_across_a_large_file(tmp_path, count, every):
    text, good, bad = _expected_lines(count, every)
    path = write_bytes(tmp_path / "big.csv", text)
    con = duckdb.connect()
    try:
        read = read_source(con, path, "src", "csv", CsvOptions(), scratch=tmp_path)
        got = [r[0] for r in con.execute('SELECT "__row" FROM src ORDER BY 1').fetchall()]
    finally:
        con.close()
    assert got == good
    assert [r[0] for r in read.rejected] == bad


def test_a_quote_the_line_scan_cannot_follow_falls_back_to_record_numbers(tmp_path, caplog):
    # DuckDB reads a quote inside an unquoted field as text; the line scan would take it to open
    # a quoted field, so its count disagrees and rows are numbered by DuckDB's record count
    # (exact here: no record spans lines and no blank line comes before a row).
    path = write_bytes(tmp_path / "bare.csv", 'date,customer,amount\n2024-01-02,a,1\n'
                       '2024-01-03,5" screen,2\n2024-01-04,c,3\n2024-01-05,d,4,5\n'
                       '2024-01-06,e,6\n')
    logger = logging.getLogger("forecast.io.readers")  # the CLI stops "forecast" propagating
    logger.addHandler(caplog.handler)
    con = duckdb.connect()
    try:
        read = read_source(con, path, "src", "csv", CsvOptions(), scratch=tmp_path)
        got = con.execute('SELECT "__row", customer FROM src ORDER BY 1').fetchall()
    finally:
        con.close()
        logger.removeHandler(caplog.handler)
    assert got == [(2, "a"), (3, '5" screen'), (4, "c"), (6, "e")]
    assert [r[0] for r in read.rejected] == [5]
    assert "rows are numbered by record" in caplog.text
