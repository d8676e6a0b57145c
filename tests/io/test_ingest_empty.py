"""A source that loads nothing is an error naming the likely cause (header only, every row
quarantined, day-first dates without a date_format), from ``data check`` and ``data ingest``
alike, unless the config says the source may be empty; nothing is written then."""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest
from ingest_cli import (
    assert_reconciled,
    assert_user_error,
    ingested,
    orders_source,
    rows,
    write_bytes,
)


def test_header_only_csv_is_an_error(tmp_path, write_config):
    src = write_bytes(tmp_path / "h.csv", "date,customer,amount\n")
    assert_user_error(write_config(orders_source(src)), str(src), "no data rows",
                      "allow_empty: true")


def test_header_only_excel_and_parquet_are_errors(tmp_path, write_config):
    frame = pd.DataFrame({"date": pd.Series([], dtype=str), "customer": pd.Series([], dtype=str),
                          "amount": pd.Series([], dtype=float)})
    for path in (tmp_path / "h.xlsx", tmp_path / "h.parquet"):
        if path.suffix == ".xlsx":
            frame.to_excel(path, index=False)
        else:
            frame.to_parquet(path)
        assert_user_error(write_config(orders_source(path)), str(path), "no data rows")


def test_every_row_quarantined_is_an_error_naming_the_main_reason(tmp_path, write_config):
    src = write_bytes(tmp_path / "o.csv", "date,customer,amount\n2024-01-02,a,ten\n"
                      "2024-01-03,b,eleven\n2024-01-04,,\n")
    message = assert_user_error(write_config(orders_source(src)), str(src),
                                "all 3 rows were quarantined",
                                "amount: cannot parse …, expected a number (2 rows)",
                                "allow_empty: true")
    assert "date_format" not in message


def test_day_first_dates_without_a_format_name_the_format_to_set(tmp_path, write_config):
    src = write_bytes(tmp_path / "o.csv", "date,customer,amount\n31/01/2024,a,1\n"
                      "03/02/2024,b,2\n15/02/2024,c,3\n")
    assert_user_error(write_config(orders_source(src)), "all 3 rows were quarantined",
                      "dates in column 'date' look like 31/01/2024 (day first)",
                      'set `date_format: "%d/%m/%Y"`')


def test_month_first_and_two_digit_year_dates_name_their_format(tmp_path, write_config):
    src = write_bytes(tmp_path / "o.csv", "date,customer,amount\n01/31/24,a,1\n02/03/24,b,2\n")
    assert_user_error(write_config(orders_source(src)),
                      "dates in column 'date' look like 01/31/24 (month first)",
                      'set `date_format: "%m/%d/%y"`')


def test_ambiguous_dates_with_dots_name_both_formats(tmp_path, write_config):
    src = write_bytes(tmp_path / "o.csv", "date,customer,amount\n01.02.2024,a,1\n"
                      "03.04.2024,b,2\n")
    assert_user_error(write_config(orders_source(src)),
                      "dates in column 'date' look like 01.02.2024",
                      '`date_format: "%d.%m.%Y"`', '`date_format: "%m.%d.%Y"`')


def test_iso_months_load_as_their_first_day(tmp_path, write_config):
    """Regression: a planner's monthly sheet (2019-01, an ISO month) was all quarantined as
    'expected an ISO date'; it loads as each month's first day."""
    src = write_bytes(tmp_path / "m.csv", "date,customer,amount\n2019-01,a,1\n2019-12,b,2\n"
                      "2020-02-15,c,3\n")
    ingested(write_config(orders_source(src)))
    assert rows(tmp_path / "ws", "SELECT order_date FROM orders ORDER BY order_date") == [
        (date(2019, 1, 1),), (date(2019, 12, 1),), (date(2020, 2, 15),)]


@pytest.mark.parametrize("text,fmt", [
    ("Jan 2019\nFeb 2019\n", "%b %Y"), ("January 2019\nMay 2019\n", "%B %Y"),
    ("2019/01\n2019/02\n", "%Y/%m"), ("2019年1月\n2019年2月\n", "%Y年%m月"),
])
def test_months_in_other_layouts_name_the_format_to_set(tmp_path, write_config, text, fmt):
    body = "".join(f"{value},c{i},1\n" for i, value in enumerate(text.split("\n")[:-1]))
    src = write_bytes(tmp_path / "m.csv", "date,customer,amount\n" + body)
    assert_user_error(write_config(orders_source(src)), "(a month)",
                      f'set `date_format: "{fmt}"`')
    ingested(write_config(orders_source(src, date_format=fmt)))
    assert rows(tmp_path / "ws", "SELECT min(order_date) FROM orders") == [(date(2019, 1, 1),)]


def test_allow_empty_loads_nothing_without_an_error(tmp_path, write_config):
    header = write_bytes(tmp_path / "h.csv", "date,customer,amount\n")
    bad = write_bytes(tmp_path / "b.csv", "date,customer,amount\n31/01/2024,a,1\n")
    good = write_bytes(tmp_path / "g.csv", "date,customer,amount\n2024-01-31,a,1\n")
    config = {"sources": [
        {"table": "orders", "path": str(p), "columns": {"order_date": "date",
                                                        "customer_id": "customer",
                                                        "amount": "amount"},
         "allow_empty": True}
        for p in (header, bad, good)]}
    out = ingested(write_config(config))
    assert_reconciled(out["sources"][0], 0, 0, 0)
    assert_reconciled(out["sources"][1], 1, 0, 1)
    assert_reconciled(out["sources"][2], 1, 1, 0)
    assert rows(tmp_path / "ws", "SELECT count(*) FROM orders") == [(1,)]


def test_an_empty_source_beside_a_good_one_writes_nothing(tmp_path, write_config):
    good = write_bytes(tmp_path / "g.csv", "date,customer,amount\n2024-01-31,a,1\n")
    empty = write_bytes(tmp_path / "c.csv", "customer_id,name\n")
    config = orders_source(good)
    config["sources"].append({"table": "customers", "path": str(empty),
                              "columns": {"customer_id": "customer_id", "name": "name"}})
    assert_user_error(write_config(config), str(empty), "no data rows")
