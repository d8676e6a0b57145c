"""Every shipped real-data config ingests, and its counts agree with an independent read."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pandas as pd
import pytest

from forecast.config import load_config
from forecast.io.ingest import ingest

CONFIGS = Path(__file__).resolve().parents[2] / "configs"


def _ingest(name: str, tmp_path: Path) -> tuple[dict, duckdb.DuckDBPyConnection]:
    config = load_config(CONFIGS / f"{name}.yaml").with_workspace(tmp_path / name)
    summaries = {(s.table, s.source): s for s in ingest(config)}
    for s in summaries.values():
        assert s.reconciled, s
    con = duckdb.connect(str(tmp_path / name / "warehouse.duckdb"), read_only=True)
    return summaries, con


def test_walmart(shared_data, tmp_path):
    raw = pd.read_csv(shared_data / "walmart_weekly" / "walmart_store_sales_weekly.csv")
    summaries, con = _ingest("walmart", tmp_path)
    s = summaries[("orders", "walmart_weekly")]
    assert (s.rows_read, s.rows_loaded, s.rows_quarantined) == (len(raw), 6435, 0)
    stores, weeks, total, flags = con.execute(
        "SELECT count(DISTINCT store), count(DISTINCT order_date), sum(amount), "
        "count(*) FILTER (WHERE holiday_flag) FROM orders").fetchone()
    assert (stores, weeks, flags) == (45, 143, int(raw["Holiday_Flag"].sum()))
    assert total == pytest.approx(raw["Weekly_Sales"].sum(), rel=1e-12)


def test_favorita(shared_data, tmp_path):
    summaries, con = _ingest("favorita", tmp_path)
    assert summaries[("orders", "favorita_transactions")].rows_loaded == 83488
    assert summaries[("oil", "favorita_oil")].rows_loaded == 1218
    assert summaries[("holiday_events", "favorita_holidays")].rows_loaded == 350
    missing_region, stores = con.execute(
        "SELECT count(*) FILTER (WHERE region IS NULL OR city IS NULL), count(DISTINCT store) "
        "FROM orders").fetchone()
    assert (missing_region, stores) == (0, 54)
    blank_oil = con.execute("SELECT count(*) FROM oil WHERE oil_price IS NULL").fetchone()[0]
    raw_oil = pd.read_csv(shared_data / "favorita" / "oil.csv")
    assert blank_oil == int(raw_oil["oil_price"].isna().sum())


def test_online_retail_accounts_for_cancellations_and_missing_ids(shared_data, tmp_path):
    raw = pd.read_csv(shared_data / "online_retail_ii" / "online_retail_II_10countries.csv",
                      dtype=str, keep_default_na=False)
    no_id = raw["Customer ID"].str.strip() == ""
    # Invoice lines have no key: identical lines load (a product scanned twice is two sales)
    # and are counted.
    identical = raw[~no_id].duplicated(keep="first")
    summaries, con = _ingest("online_retail", tmp_path)
    s = summaries[("orders", "online_retail_ii")]
    assert (s.rows_read, s.rows_loaded) == (len(raw), len(raw) - int(no_id.sum()))
    assert s.rows_quarantined == int(no_id.sum())
    assert s.identical_rows == int(identical.sum()) > 0
    assert s.reasons == {
        "customer_id (column Customer ID): empty, a value is required": int(no_id.sum()),
    }
    kept = raw[~no_id]
    cancellations = kept["Invoice"].str.startswith("C")
    loaded_cancellations, negative = con.execute(
        "SELECT count(*) FILTER (WHERE order_id LIKE 'C%'), "
        "count(*) FILTER (WHERE order_id LIKE 'C%' AND amount < 0) FROM orders").fetchone()
    assert loaded_cancellations == negative == int(cancellations.sum()) > 0
    expected_revenue = (kept["Quantity"].astype(float) * kept["Price"].astype(float)).sum()
    assert con.execute("SELECT sum(amount) FROM orders").fetchone()[0] == pytest.approx(
        expected_revenue, rel=1e-9)


def test_superstore_reads_bom_and_day_first_dates(shared_data, tmp_path):
    raw = pd.read_csv(shared_data / "superstore" / "superstore.csv", encoding="utf-8-sig")
    summaries, con = _ingest("superstore", tmp_path)
    s = summaries[("orders", "superstore")]
    assert (s.rows_read, s.rows_loaded, s.rows_quarantined) == (len(raw), len(raw), 0)
    first = con.execute(
        "SELECT row_id, CAST(order_date AS VARCHAR), amount FROM orders ORDER BY row_id LIMIT 1"
    ).fetchone()
    # Sales of 16.448 (after a discount) load as 16.45: money is rounded to cents at ingest.
    assert first == (1, "2019-01-03", 16.45)
    expected = pd.to_datetime(raw["Order Date"], format="%d/%m/%y")
    lo, hi = con.execute("SELECT min(order_date), max(order_date) FROM orders").fetchone()
    assert (pd.Timestamp(lo), pd.Timestamp(hi)) == (expected.min(), expected.max())


def test_telco(shared_data, tmp_path):
    summaries, con = _ingest("telco", tmp_path)
    assert summaries[("customers", "telco_customers")].rows_loaded == 7043
    blanks, churners = con.execute(
        "SELECT count(*) FILTER (WHERE total_charges IS NULL), "
        "count(*) FILTER (WHERE churn = 'Yes') FROM customers").fetchone()
    assert (blanks, churners) == (11, 1869)
