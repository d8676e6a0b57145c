"""Dates written as spreadsheet day numbers (a date column formatted as a number in Excel or
Google Sheets, then exported): 45292 is 2024-01-01.

Regression: such a file was wholly quarantined with "expected an ISO date", and nothing said
what the numbers were or how to read them."""

from __future__ import annotations

from datetime import date, datetime

import openpyxl
from ingest_cli import (
    assert_reconciled,
    assert_user_error,
    ingested,
    orders_source,
    rows,
    write_bytes,
)

DAYS = "date,customer,amount\n45292,a,1\n45293.75,b,2\n45351,c,3\n"


def test_day_numbers_name_the_setting_that_reads_them(tmp_path, write_config):
    src = write_bytes(tmp_path / "o.csv", DAYS)
    assert_user_error(write_config(orders_source(src)), "all 3 rows were quarantined",
                      "dates in column 'date' look like 45292 (a spreadsheet day number: "
                      "2024-01-01)", 'set `date_format: "excel"`')


def test_day_numbers_load_as_their_dates_the_time_of_day_dropped(tmp_path, write_config):
    src = write_bytes(tmp_path / "o.csv", DAYS + "abc,d,4\n0,e,5\n")
    out = ingested(write_config(orders_source(src, date_format="excel")))
    assert_reconciled(out["sources"][0], 5, 3, 2)
    assert rows(tmp_path / "ws", "SELECT customer_id, order_date FROM orders ORDER BY 1") == [
        ("a", date(2024, 1, 1)), ("b", date(2024, 1, 2)), ("c", date(2024, 2, 29))]
    reasons = rows(tmp_path / "ws", "SELECT reason FROM quarantine ORDER BY source_row")
    expected = "expected a spreadsheet day number (45292 = 2024-01-01)"
    assert reasons == [(f"order_date (column date): cannot parse {v!r}, {expected}",)
                       for v in ("abc", "0")]


def test_day_numbers_of_a_sheet_load_per_column(tmp_path, write_config):
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["date", "customer", "amount"])
    sheet.append([45292, "a", 1.0])
    sheet.append([45658.5, "b", 2.0])
    book.save(tmp_path / "o.xlsx")
    config = orders_source(tmp_path / "o.xlsx", date_formats={"order_date": "excel"})
    ingested(write_config(config))
    assert rows(tmp_path / "ws", "SELECT order_date FROM orders ORDER BY 1") == [
        (date(2024, 1, 1),), (date(2025, 1, 1),)]


def test_date_cells_of_a_sheet_are_dates_whatever_the_text_format(tmp_path, write_config):
    """Regression: a sheet made from a CSV with day-first text dates, its dates now Excel date
    cells, kept the CSV's config (``date_format: "%d/%m/%y"``): every row was quarantined
    ("cannot parse '2019-01-03 00:00:00', expected a date in format %d/%m/%y"). A date cell is a
    date; the format reads text, and text dates in another column still need it."""
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["date", "customer", "amount"])
    sheet.append([datetime(2019, 1, 3), "a", 1.0])
    sheet.append([datetime(2019, 12, 31, 15, 30), "b", 2.0])
    sheet.append([None, "c", 3.0])
    book.save(tmp_path / "o.xlsx")
    out = ingested(write_config(orders_source(tmp_path / "o.xlsx", date_format="%d/%m/%y")))
    assert_reconciled(out["sources"][0], 3, 2, 1)  # the row without a date is still refused
    assert rows(tmp_path / "ws", "SELECT customer_id, order_date FROM orders ORDER BY 1") == [
        ("a", date(2019, 1, 3)), ("b", date(2019, 12, 31))]
    # A column of text dates (typed in as text) is read with the format, as before.
    text = openpyxl.Workbook()
    text.active.append(["date", "customer", "amount"])
    text.active.append(["03/01/19", "a", 1.0])
    text.save(tmp_path / "t.xlsx")
    ingested(write_config(orders_source(tmp_path / "t.xlsx", date_format="%d/%m/%y")))
    assert rows(tmp_path / "ws", "SELECT order_date FROM orders") == [(date(2019, 1, 3),)]
