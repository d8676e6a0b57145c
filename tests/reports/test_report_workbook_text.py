"""A customer whose name starts like a formula stays text in the monthly report's workbook."""

from __future__ import annotations

import openpyxl

from forecast.config import load_config
from forecast.pipeline import build_monthly_report, ingest

EVIL = '=HYPERLINK("http://example.invalid/x","Red Dragon")'
ORDERS = """date,customer,amount
2026-09-03,c3,150
2026-10-02,c1,300
2026-10-11,c2,40
"""


def test_a_customer_named_like_a_formula_is_text_in_the_monthly_workbook(tmp_path,
                                                                        write_config):
    (tmp_path / "orders.csv").write_text(ORDERS, encoding="utf-8")
    (tmp_path / "customers.csv").write_text(f'id,name\nc1,"{EVIL.replace(chr(34), 2 * chr(34))}"'
                                            "\nc2,-Minus Ltd\n", encoding="utf-8")
    path = write_config({"sources": [
        {"table": "orders", "path": str(tmp_path / "orders.csv"),
         "columns": {"order_date": "date", "customer_id": "customer", "amount": "amount"}},
        {"table": "customers", "path": str(tmp_path / "customers.csv"),
         "columns": {"customer_id": "id", "name": "name"}}],
        "reports": {"formats": ["xlsx"]}})
    config = load_config(path)
    ingest(config)
    result = build_monthly_report(config, "2026-10")
    book = openpyxl.load_workbook(result.files["xlsx"])
    cells = [c for sheet in book.worksheets for row in sheet.iter_rows() for c in row]
    named = [c for c in cells if c.value in (EVIL, "-Minus Ltd")]
    assert {c.value for c in named} == {EVIL, "-Minus Ltd"}
    assert all(c.data_type == "s" and c.quotePrefix for c in named)
    assert not [c for c in cells if c.data_type == "f"]
    revenue = [c for c in cells if c.data_type == "n" and c.value == 340]
    assert revenue, "the month's revenue is a number"
