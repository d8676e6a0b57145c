"""Numbers written with a decimal comma (1.234,50) or a thousands comma (1,234.50): the source's
``decimal`` and ``thousands`` read them; without them every row is quarantined and the message
names the separators to set."""

from __future__ import annotations

import re

import duckdb
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from ingest_cli import assert_user_error, ingested, orders_source, rows, write_bytes

from forecast.config import SourceConfig, parse_config
from forecast.errors import ConfigError
from forecast.io.source_checks import _number_settings
from forecast.io.sql import Params
from forecast.io.validate import number_text

EUROPEAN = ("date;customer;amount;Country\n2024-01-02;a;1.234,50;DE\n2024-01-03;b;12,5;FR\n"
            "2024-01-04;c;-3,25;DE\n2024-01-05;d;1.000.000,01;IT\n")


def test_decimal_comma_numbers_load_with_decimal_and_thousands(tmp_path, write_config):
    src = write_bytes(tmp_path / "o.csv", EUROPEAN)
    config = write_config(orders_source(src, decimal=",", thousands="."))
    summary = ingested(config)
    assert summary["sources"][0]["rows_loaded"] == 4
    got = rows(tmp_path / "ws", "SELECT customer_id, amount FROM orders ORDER BY customer_id")
    assert got == [("a", 1234.5), ("b", 12.5), ("c", -3.25), ("d", 1000000.01)]


def test_a_numeric_filter_reads_decimal_commas_too(tmp_path, write_config):
    src = write_bytes(tmp_path / "o.csv", EUROPEAN)
    config = write_config(orders_source(src, decimal=",", thousands=".",
                                        filters=[{"column": "amount", "op": "gt", "value": 12}]))
    ingested(config)
    got = rows(tmp_path / "ws", "SELECT customer_id FROM orders ORDER BY customer_id")
    assert got == [("a",), ("b",), ("d",)]


def test_decimal_commas_without_the_option_name_it(tmp_path, write_config):
    """Regression: a file of decimal commas stopped with 'amount: cannot parse' and no way
    to read it but rewriting the file."""
    src = write_bytes(tmp_path / "o.csv", EUROPEAN)
    assert_user_error(write_config(orders_source(src)), "all 4 rows were quarantined",
                      "numbers in column 'amount' look like 1.234,50 (a decimal comma)",
                      'set `decimal: ","` and `thousands: "."`')


def test_thousands_commas_without_the_option_name_it(tmp_path, write_config):
    src = write_bytes(tmp_path / "o.csv", 'date,customer,amount\n2024-01-02,a,"1,234.50"\n'
                      '2024-01-03,b,"12,000"\n')
    assert_user_error(write_config(orders_source(src)), "all 2 rows were quarantined",
                      "numbers in column 'amount' look like 1,234.50 (a thousands comma)",
                      'set `thousands: ","`')
    ingested(write_config(orders_source(src, thousands=",")))
    assert rows(tmp_path / "ws", "SELECT sum(amount) FROM orders") == [(13234.5,)]


def test_the_same_separator_for_both_is_refused(tmp_path):
    with pytest.raises(ConfigError, match="thousands and decimal are both ','"):
        parse_config({"workspace": str(tmp_path / "ws"), "sources": [
            {"table": "orders", "path": "o.csv", "decimal": ",", "thousands": ",",
             "columns": {"order_date": "date", "customer_id": "c", "amount": "a"}}]}, tmp_path)


CURRENCY = ('date,customer,amount\n2024-01-02,a,"$1,234.50"\n2024-01-03,b,$12\n'
            '2024-01-04,c,-$3.25\n2024-01-05,d,"€ 7.00"\n')


def test_a_currency_symbol_is_read_and_other_currencies_quarantined(tmp_path, write_config):
    """Regression: amounts written $1,234.50 (as spreadsheets export money) were all
    quarantined with 'cannot parse' and nothing said why. With the symbol named they load; an
    amount in another currency stays quarantined, so two currencies are never added up."""
    src = write_bytes(tmp_path / "o.csv", CURRENCY)
    summary = ingested(write_config(orders_source(src, currency_symbol="$", thousands=",")))
    assert summary["sources"][0]["rows_loaded"] == 3
    assert summary["sources"][0]["rows_quarantined"] == 1
    got = rows(tmp_path / "ws", "SELECT customer_id, amount FROM orders ORDER BY customer_id")
    assert got == [("a", 1234.5), ("b", 12.0), ("c", -3.25)]


def test_currency_signs_without_the_option_name_it(tmp_path, write_config):
    src = write_bytes(tmp_path / "o.csv", CURRENCY)
    assert_user_error(write_config(orders_source(src)), "all 4 rows were quarantined",
                      "numbers in column 'amount' look like $1,234.50 (a currency sign and a "
                      'thousands comma): set `currency_symbol: "$"` and `thousands: ","`')
    euro = write_bytes(tmp_path / "e.csv", "date;customer;amount\n2024-01-02;a;12,50 €\n"
                       "2024-01-03;b;1.000,00 €\n")
    assert_user_error(write_config(orders_source(euro)),
                      "numbers in column 'amount' look like 1.000,00 € (a currency sign and a "
                      'decimal comma): set `currency_symbol: "€"` and `decimal: ","` and '
                      '`thousands: "."`')
    ingested(write_config(orders_source(euro, currency_symbol="€", decimal=",", thousands=".")))
    assert rows(tmp_path / "ws", "SELECT sum(amount) FROM orders") == [(1012.5,)]


@pytest.mark.parametrize("symbol", ["1$", "$ ", ",", "-"])
def test_a_currency_symbol_with_digits_separators_or_spaces_is_refused(tmp_path, symbol):
    with pytest.raises(ConfigError, match="currency_symbol"):
        parse_config({"workspace": str(tmp_path / "ws"), "sources": [
            {"table": "orders", "path": "o.csv", "currency_symbol": symbol,
             "columns": {"order_date": "date", "customer_id": "c", "amount": "a"}}]}, tmp_path)


def _written(cents: int, symbol: str | None, before: bool, thousands: str | None,
             decimal: str) -> str:
    """An amount of ``cents`` as a file would write it."""
    whole, part = divmod(abs(cents), 100)
    digits = f"{whole:,}".replace(",", thousands or "")
    text = f"{digits}{decimal}{part:02d}"
    if symbol:
        text = f"{symbol}{text}" if before else f"{text} {symbol}"
    return f"-{text}" if cents < 0 else text


@settings(max_examples=200, deadline=None)
@given(cents=st.lists(st.integers(-10**9, 10**9), min_size=1, max_size=12),
       symbol=st.sampled_from([None, "$", "€", "EUR"]), before=st.booleans(),
       style=st.sampled_from([(None, "."), (",", "."), (".", ","), (" ", ","), (None, ",")]))
def test_the_settings_a_hint_names_read_every_amount_exactly(cents, symbol, before, style):
    """Whatever separators and currency sign amounts carry, the settings the hint names read
    each of them as the amount written (or nothing needed setting)."""
    thousands, decimal = style
    values = [_written(c, symbol, before, thousands, decimal) for c in cents]
    base = SourceConfig(table="orders", path="o.csv", columns={
        "order_date": "d", "customer_id": "c", "amount": "a"})
    _, _, sets = _number_settings(values, base)
    named = dict(re.findall(r'`(\w+): "([^"]*)"`', " ".join(sets)))
    source = base.model_copy(update=named)
    p = Params()
    sql = f"SELECT TRY_CAST({number_text('v', source, p)} AS DOUBLE) FROM unnest({p(values)}) t(v)"
    got = duckdb.execute(*p.query(sql)).fetchall()
    assert [r[0] for r in got] == pytest.approx([c / 100 for c in cents]), (values, sets)
