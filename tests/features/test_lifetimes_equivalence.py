"""The snapshot's lifetimes columns equal lifetimes' own summary on real data.

Online Retail II is ingested into a temporary workspace; for several cutoffs the columns
lt_frequency, lt_recency, lt_T and lt_monetary_value of every customer must equal
``lifetimes.utils.summary_data_from_transaction_data`` (freq "D", observation_period_end =
cutoff - 1 day) fed the same purchase rows: the warehouse's order lines with a positive amount.
Customers whose lines before the cutoff are all returns have no purchases: lifetimes leaves them
out and the snapshot's columns are NULL.

lifetimes 0.11.3 runs unchanged on pandas 3 for this call; the only adaptation is the input:
the warehouse's DATE column arrives as datetime64 and customer ids as strings, which lifetimes
handles as is.
"""

from __future__ import annotations

import math
from datetime import date, timedelta
from pathlib import Path

import pandas as pd
import pytest

from forecast.config import CustomerFeaturesConfig, load_config
from forecast.features.customers import build_snapshot_sql
from forecast.io import warehouse

REPO = Path(__file__).resolve().parents[2]
SHARED_DATA = REPO.parent / "shared" / "data"
COLUMNS = {"frequency": "lt_frequency", "recency": "lt_recency", "T": "lt_T",
           "monetary_value": "lt_monetary_value"}
CUTOFFS = [date(2010, 3, 1), date(2010, 12, 1), date(2011, 6, 15), date(2011, 12, 10)]


@pytest.fixture(scope="module")
def online_retail(tmp_path_factory) -> Path:
    """A workspace with Online Retail II ingested."""
    from forecast.io.ingest import ingest

    if not SHARED_DATA.is_dir():
        pytest.skip(f"real data not found at {SHARED_DATA} (../shared/data is absent)")
    workspace = tmp_path_factory.mktemp("online_retail")
    ingest(load_config(REPO / "configs" / "online_retail.yaml").with_workspace(workspace))
    return workspace


@pytest.fixture(scope="module")
def snapshots_and_purchases(online_retail):
    with warehouse.connect(online_retail, read_only=True) as con:
        snapshots = con.execute(
            *build_snapshot_sql(con, CustomerFeaturesConfig(), CUTOFFS)).df()
        purchases = con.execute(
            "SELECT customer_id, order_date, amount FROM orders WHERE amount > 0").df()
    snapshots["cutoff"] = pd.to_datetime(snapshots["cutoff"]).dt.date
    return snapshots, purchases


@pytest.mark.parametrize("cutoff", CUTOFFS)
def test_lifetimes_columns_equal_summary_data_from_transaction_data(
        snapshots_and_purchases, cutoff):
    from lifetimes.utils import summary_data_from_transaction_data

    snapshots, purchases = snapshots_and_purchases
    expected = summary_data_from_transaction_data(
        purchases, "customer_id", "order_date", monetary_value_col="amount",
        observation_period_end=cutoff - timedelta(days=1), freq="D",
    ).rename(columns=COLUMNS)
    ours = snapshots[snapshots["cutoff"] == cutoff].set_index("customer_id")
    buyers = ours[ours["lt_frequency"].notna()]
    assert len(expected) > 30
    assert sorted(buyers.index) == sorted(expected.index)
    assert ours.loc[~ours.index.isin(expected.index), list(COLUMNS.values())].isna().all().all()
    for column in COLUMNS.values():
        for customer, want in expected[column].items():
            got = buyers.at[customer, column]
            assert math.isclose(got, want, rel_tol=1e-9, abs_tol=1e-9), (
                f"{customer} at {cutoff}: {column} = {got}, lifetimes says {want}")


def test_returns_only_customers_exist_and_have_no_lifetimes_columns(snapshots_and_purchases):
    snapshots, _ = snapshots_and_purchases
    without = snapshots[snapshots["purchase_days"] == 0]
    assert without[list(COLUMNS.values())].isna().all().all()
    assert (snapshots.loc[snapshots["purchase_days"] > 0, "lt_frequency"].notna()).all()
