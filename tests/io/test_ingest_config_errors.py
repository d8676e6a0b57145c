"""A config mistake is one message and exit 2 from both ``data check`` and ``data ingest``: unknown
columns in required / unique_key / types / filters, filters that cannot compare with their column,
non-finite filter values, bad date formats and file paths SQL would choke on."""

from __future__ import annotations

from ingest_cli import (
    assert_reconciled,
    assert_user_error,
    ingested,
    orders_source,
    rows,
    write_bytes,
)

ORDERS = "date,customer,amount\n2024-01-02,a,10\n2024-01-03,b,5\n"
MAPPED = "columns found: amount, customer_id, order_date"  # the config's order (YAML sorted)


def _orders(tmp_path):
    return write_bytes(tmp_path / "o.csv", ORDERS)


def test_unknown_required_column_is_a_config_error(tmp_path, write_config):
    config = write_config(orders_source(_orders(tmp_path), required=["custmer_id"]))
    assert_user_error(config, "required", "'custmer_id'", MAPPED)


def test_unknown_unique_key_column_is_a_config_error(tmp_path, write_config):
    config = write_config(orders_source(_orders(tmp_path), unique_key=["order_idd"]))
    assert_user_error(config, "unique_key", "'order_idd'", MAPPED)


def test_unknown_typed_column_is_a_config_error(tmp_path, write_config):
    config = write_config(orders_source(_orders(tmp_path), types={"custmer": "VARCHAR"}))
    assert_user_error(config, "types", "'custmer'", MAPPED)


def test_mapped_lookup_constant_and_derived_columns_are_known(tmp_path, write_config):
    src = write_bytes(tmp_path / "o.csv", "date,customer,qty,price,store\n"
                      "2024-01-02,a,2,1.5,1\n2024-01-02,a,2,1.5,1\n")
    stores = write_bytes(tmp_path / "stores.csv", "store,state\n1,Pichincha\n")
    config = {"sources": [{
        "table": "orders", "path": str(src), "derive_amount": True,
        "columns": {"order_date": "date", "customer_id": "customer", "quantity": "qty",
                    "unit_price": "price"},
        "constants": {"channel": "online"},
        "lookups": [{"path": str(stores), "left_on": "store", "columns": {"region": "state"}}],
        "required": ["region", "channel", "amount"],
        "unique_key": ["customer_id", "region", "channel", "amount"],
    }]}
    out = ingested(write_config(config))
    assert_reconciled(out["sources"][0], 2, 1, 1)


def test_unknown_filter_column_names_the_files_columns(tmp_path, write_config):
    filters = [{"column": "Contry", "op": "eq", "value": "UK"}]
    config = write_config(orders_source(_orders(tmp_path), filters=filters))
    assert_user_error(config, "filter column 'Contry' not found",
                      "columns found: date, customer, amount")


def test_text_filter_value_against_a_numeric_column_is_a_config_error(tmp_path, write_config):
    src = write_bytes(tmp_path / "o.csv", "date,customer,amount,Quantity\n"
                      "2024-01-02,a,10,1\n2024-01-03,b,5,-2\n2024-01-04,c,5,12\n")
    filters = [{"column": "Quantity", "op": "gt", "value": "abc"}]
    assert_user_error(write_config(orders_source(src, filters=filters)),
                      "filter Quantity gt 'abc'", "column 'Quantity'", "'1', '-2', '12'")


def test_numeric_filter_value_against_a_text_column_is_a_config_error(tmp_path, write_config):
    src = write_bytes(tmp_path / "o.csv", "date,customer,amount,Country\n"
                      "2024-01-02,a,10,UK\n2024-01-03,b,5,France\n2024-01-04,c,5,\n")
    filters = [{"column": "Country", "op": "gt", "value": 5}]
    assert_user_error(write_config(orders_source(src, filters=filters)),
                      "filter Country gt 5", "column 'Country'", "'UK', 'France'")


def test_numeric_comparison_of_a_numeric_column_keeps_matching_rows(tmp_path, write_config):
    src = write_bytes(tmp_path / "o.csv", "date,customer,amount,Quantity\n"
                      "2024-01-02,a,10,1\n2024-01-03,b,5,-2\n2024-01-04,c,5,12\n")
    for value in (5, "5"):  # as text, '12' > '5' would be false
        filters = [{"column": "Quantity", "op": "gt", "value": value}]
        out = ingested(write_config(orders_source(src, filters=filters)))
        assert_reconciled(out["sources"][0], 3, 1, 2)
        assert out["sources"][0]["reasons"] == {"excluded by filter Quantity gt #": 2}
        assert rows(tmp_path / "ws", "SELECT customer_id FROM orders") == [("c",)]


def test_text_comparison_of_a_text_column_still_works(tmp_path, write_config):
    src = write_bytes(tmp_path / "o.csv", "date,customer,amount,Country\n"
                      "2024-01-02,a,10,UK\n2024-01-03,b,5,France\n")
    filters = [{"column": "Country", "op": "ne", "value": "UK"}]
    out = ingested(write_config(orders_source(src, filters=filters)))
    assert_reconciled(out["sources"][0], 2, 1, 1)


def test_non_finite_filter_value_is_a_config_error(tmp_path, write_config):
    for value in (float("nan"), float("inf")):
        filters = [{"column": "amount", "op": "gt", "value": value}]
        config = write_config(orders_source(_orders(tmp_path), filters=filters))
        assert_user_error(config, "sources.0.filters.0", "a finite number")


def test_non_finite_constant_is_a_config_error(tmp_path, write_config):
    config = write_config(orders_source(_orders(tmp_path), constants={"unit_cost": float("nan")}))
    assert_user_error(config, "sources.0.constants", "a finite number")


def test_unknown_date_format_directive_is_named(tmp_path, write_config):
    config = write_config(orders_source(_orders(tmp_path), date_format="%Q/%m"))
    assert_user_error(config, "date_format '%Q/%m'", "'%Q'")


def test_per_column_date_format_is_checked_too(tmp_path, write_config):
    config = write_config(orders_source(_orders(tmp_path),
                                        date_formats={"order_date": "%Y-%m-%k"}))
    assert_user_error(config, "date_formats", "'%k'")


def test_date_format_without_directives_is_a_config_error(tmp_path, write_config):
    config = write_config(orders_source(_orders(tmp_path), date_format="YYYY-MM-DD"))
    assert_user_error(config, "date_format 'YYYY-MM-DD'", "%Y-%m-%d")


def test_path_with_an_apostrophe_reads(tmp_path, write_config):
    for name in ("o.csv", "o.parquet"):
        src = tmp_path / "o'brien" / name
        if name.endswith(".csv"):
            write_bytes(src, ORDERS)
        else:
            import pandas as pd

            pd.DataFrame({"date": ["2024-01-02"], "customer": ["a"], "amount": [1.0]}).to_parquet(
                src)
        stores = write_bytes(tmp_path / "o'brien" / "lookup's.csv", "customer,region\na,north\n")
        config = orders_source(src, lookups=[{"path": str(stores), "left_on": "customer",
                                              "columns": {"region": "region"}}])
        out = ingested(write_config(config))
        assert out["sources"][0]["rows_loaded"] == (2 if name.endswith(".csv") else 1)
        assert rows(tmp_path / "ws", "SELECT DISTINCT region FROM orders WHERE customer_id = 'a'"
                    ) == [("north",)]


def test_text_filter_value_against_a_numeric_parquet_column(tmp_path, write_config):
    import pandas as pd

    path = tmp_path / "o.parquet"
    pd.DataFrame({"date": ["2024-01-02", "2024-01-03"], "customer": ["a", "b"],
                  "amount": [1.0, 2.0], "Quantity": [3, 7]}).to_parquet(path)
    for value in ("many", "nan"):
        filters = [{"column": "Quantity", "op": "lt", "value": value}]
        assert_user_error(write_config(orders_source(path, filters=filters)),
                          f"filter Quantity lt {value!r}", "'3', '7'")
    filters = [{"column": "Quantity", "op": "lt", "value": "5"}]
    out = ingested(write_config(orders_source(path, filters=filters)))
    assert_reconciled(out["sources"][0], 2, 1, 1)


def test_filter_on_an_empty_column_is_named_as_what_excluded_every_row(tmp_path, write_config):
    src = write_bytes(tmp_path / "o.csv", "date,customer,amount,Discount\n2024-01-02,a,10,\n"
                      "2024-01-03,b,5,\n")
    filters = [{"column": "Discount", "op": "gt", "value": 0}]
    assert_user_error(write_config(orders_source(src, filters=filters)),
                      "all 2 rows were quarantined", "excluded by filter Discount gt # (2 rows)")
