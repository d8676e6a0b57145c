"""Customer snapshots: exact values worked out by hand for every feature family and the label,
the catalogue against the produced columns, absent optional data, and real data sets.

The hand-made warehouse (cutoff 2024-07-01, horizon 90 days, windows 30 and 90):

customer a  2024-01-01  o1: +100 (x, online, 2 x cost 30), +50 (y, online, 1 x cost 20)
            2024-03-01  o2: +200 (x, offline, 4 x cost 25); o3: +40 (z, online, 1 x cost 10)
            2024-06-01  o4: +60 (x, online, 3 x cost 10); r1: -30 (x, online, return)
            2024-06-21  r2: -20 (y, online, return; region South)
            2024-08-01  o5: +70 (after the cutoff: a has not churned)
customer b  2024-06-30  +80, no order id, product line, channel or cost; nothing after
customer d  2024-05-01  -10 (a return only); 2024-07-10 +5 (inside the label window)
customer e  2024-07-15  +5 only: not in the snapshot at 2024-07-01
customer f  2024-03-01  +30; 2024-09-29 +30 (= cutoff + 90, just outside the window)
customer g  2024-06-15  +10; 2024-07-01 +10 (on the cutoff day, inside the window)
customer z  2024-12-31  +1 (the last order: the data end)
"""

from __future__ import annotations

import math
from datetime import date, timedelta
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from forecast.config import Config, CustomerFeaturesConfig, FeaturesConfig, load_config
from forecast.errors import ConfigError, WorkspaceError
from forecast.features.catalogue import (
    FEATURES,
    LABEL_COLUMNS,
    describe_features,
    feature_columns,
    snapshot_columns,
)
from forecast.features.customers import build_snapshot_sql
from forecast.io import warehouse
from forecast.schemas import CUSTOMERS, OPPORTUNITIES, ORDERS, SURVEYS, Table

REPO = Path(__file__).resolve().parents[2]
SHARED_DATA = REPO.parent / "shared" / "data"
CUTOFF = date(2024, 7, 1)
CONFIG = CustomerFeaturesConfig(horizon_days=90, windows=[30, 90], product_window_days=90)

ORDER_ROWS = [
    # order_id, day, customer, product_line, channel, quantity, amount, unit_cost, segment, region
    ("o1", "2024-01-01", "a", "x", "online", 2, 100, 30, "small", "North"),
    ("o1", "2024-01-01", "a", "y", "online", 1, 50, 20, "small", "North"),
    ("o2", "2024-03-01", "a", "x", "offline", 4, 200, 25, "small", "North"),
    ("o3", "2024-03-01", "a", "z", "online", 1, 40, 10, "small", "North"),
    ("o4", "2024-06-01", "a", "x", "online", 3, 60, 10, "small", "North"),
    ("r1", "2024-06-01", "a", "x", "online", -1, -30, 10, "small", "North"),
    ("r2", "2024-06-21", "a", "y", "online", -1, -20, None, None, "South"),
    ("o5", "2024-08-01", "a", "x", "online", 1, 70, 10, "small", "West"),
    (None, "2024-06-30", "b", None, None, None, 80, None, "small", "East"),
    ("d1", "2024-05-01", "d", "x", "online", -1, -10, None, None, None),
    ("d2", "2024-07-10", "d", "x", "online", 1, 5, None, None, None),
    ("e1", "2024-07-15", "e", "x", "online", 1, 5, None, None, None),
    ("f1", "2024-03-01", "f", "y", "distributor", 1, 30, None, None, None),
    ("f2", "2024-09-29", "f", "y", "distributor", 1, 30, None, None, None),
    ("g1", "2024-06-15", "g", "y", "offline", 1, 10, None, None, None),
    ("g2", "2024-07-01", "g", "y", "offline", 1, 10, None, None, None),
    ("z1", "2024-12-31", "z", "x", "online", 1, 1, None, None, None),
]
ORDER_COLUMNS = ("order_id", "order_date", "customer_id", "product_line", "channel", "quantity",
                 "amount", "unit_cost", "segment", "region")


def insert_rows(con: duckdb.DuckDBPyConnection, table: Table, columns: tuple[str, ...],
                rows: list[tuple]) -> None:
    """Create a canonical table and insert rows (with lineage columns) into it."""
    warehouse.ensure_canonical_table(con, table)
    names = ", ".join(columns)
    marks = ", ".join("?" for _ in columns)
    con.executemany(
        f"INSERT INTO {table.name} ({names}, source, source_row) VALUES ({marks}, 'test', ?)",
        [(*row, i) for i, row in enumerate(rows)],
    )


def _build_full(con: duckdb.DuckDBPyConnection) -> None:
    insert_rows(con, ORDERS, ORDER_COLUMNS, ORDER_ROWS)
    insert_rows(con, CUSTOMERS, ("customer_id", "segment", "region", "industry", "satisfaction"),
                [("a", "key account", None, "retail", 1.0)])
    insert_rows(con, SURVEYS, ("customer_id", "survey_date", "score"), [
        ("a", "2024-02-01", 8.0), ("a", "2024-05-01", 6.0), ("a", "2024-07-01", 2.0),
        ("g", "2024-06-01", 9.0),
    ])
    insert_rows(con, OPPORTUNITIES, ("opportunity_id", "customer_id", "stage", "stage_date",
                                     "amount"), [
        ("op1", "a", "initial contact", "2024-02-01", 1000.0),
        ("op1", "a", "proposal", "2024-04-01", 1200.0),
        ("op2", "a", "proposal", "2024-03-01", 500.0),
        ("op2", "a", "won", "2024-05-01", 500.0),
        ("op3", "a", "negotiation", "2024-06-15", 300.0),
        ("op3", "a", "lost", "2024-07-05", 300.0),
        ("op4", "a", "initial contact", "2024-07-01", 50.0),
        ("op5", "a", "negotiation", "2024-06-01", 700.0),
        ("op5", "a", "won", "2024-06-01", 700.0),
        ("op6", "g", "lost", "2024-06-01", 80.0),
    ])


def snapshot(con: duckdb.DuckDBPyConnection, cutoffs: list[date],
             config: CustomerFeaturesConfig = CONFIG) -> pd.DataFrame:
    """The snapshot rows, indexed by (cutoff, customer_id)."""
    frame = con.execute(*build_snapshot_sql(con, config, cutoffs)).df()
    frame["cutoff"] = pd.to_datetime(frame["cutoff"]).dt.date
    return frame.set_index(["cutoff", "customer_id"]).sort_index()


@pytest.fixture(scope="module")
def full(tmp_path_factory) -> Path:
    """A workspace whose warehouse holds orders, customers, surveys and opportunities."""
    workspace = tmp_path_factory.mktemp("full")
    with warehouse.connect(workspace, create=True) as con:
        _build_full(con)
    return workspace


@pytest.fixture(scope="module")
def rows(full: Path) -> pd.DataFrame:
    with warehouse.connect(full, read_only=True) as con:
        return snapshot(con, [CUTOFF, date(2024, 10, 3), date(2024, 10, 4), date(2024, 11, 1)])


def _assert_row(frame: pd.DataFrame, customer: str, expected: dict, cutoff: date = CUTOFF) -> None:
    row = frame.loc[(cutoff, customer)]
    for name, want in expected.items():
        got = row[name]
        if want is None:
            assert pd.isna(got), f"{customer}.{name}: expected NULL, got {got!r}"
        elif isinstance(want, float):
            assert not pd.isna(got) and math.isclose(got, want, rel_tol=1e-12, abs_tol=1e-12), (
                f"{customer}.{name}: expected {want}, got {got!r}")
        else:
            assert got == want, f"{customer}.{name}: expected {want!r}, got {got!r}"


def test_population_is_customers_with_any_line_before_the_cutoff(rows):
    at_cutoff = sorted(rows.loc[CUTOFF].index)
    assert at_cutoff == ["a", "b", "d", "f", "g"]  # e buys only later, z only at the data end
    assert rows.index.is_unique


def test_rfm_and_tenure_of_a(rows):
    _assert_row(rows, "a", {
        "recency_days": 30, "frequency_orders": 4, "purchase_days": 3,
        "monetary_sum": 400.0, "monetary_mean": 112.5, "tenure_days": 182,
    })


def test_lifetimes_columns_of_a(rows):
    # Repeat days 2024-03-01 (200 + 40) and 2024-06-01 (60; the return is not a purchase).
    _assert_row(rows, "a", {"lt_frequency": 2.0, "lt_recency": 152.0, "lt_T": 181.0,
                            "lt_monetary_value": 150.0})


def test_windows_and_trends_of_a(rows):
    _assert_row(rows, "a", {
        # [06-01, 07-01): o4 and both returns; the 30 days before: nothing.
        "orders_30d": 1, "revenue_30d": 10.0, "orders_trend_30d": 1.0, "revenue_trend_30d": 1.0,
        # [04-02, 07-01) vs [01-03, 04-02): o4 vs o2 + o3.
        "orders_90d": 1, "revenue_90d": 10.0,
        "orders_trend_90d": -1 / 3, "revenue_trend_90d": (10 - 240) / 250,
    })


def test_intervals_of_a(rows):
    # Purchase-day gaps: 60 (01-01 -> 03-01) and 92 (03-01 -> 06-01).
    _assert_row(rows, "a", {
        "interval_mean_days": 76.0, "interval_std_days": 32 / math.sqrt(2),
        "interval_last_days": 92, "recency_to_interval": 30 / 76,
    })


def test_product_breadth_narrows_for_a(rows):
    _assert_row(rows, "a", {"product_lines_total": 3, "product_lines_90d": 1,
                            "product_lines_prev_90d": 2, "product_lines_change_90d": -1})


def test_channel_returns_and_margin_of_a(rows):
    _assert_row(rows, "a", {
        "channel_share_online": 250 / 450, "channel_share_offline": 200 / 450,
        "channel_share_distributor": 0.0,
        "return_line_share": 2 / 7, "return_revenue_share": 50 / 450,
        "gross_margin_share": 230 / 450,
    })


def test_attributes_prefer_customers_table_then_latest_order(rows):
    # Segment and industry from `customers`; its region is NULL, so the latest line's (r2).
    _assert_row(rows, "a", {"segment": "key account", "region": "South", "industry": "retail"})
    _assert_row(rows, "b", {"segment": "small", "region": "East", "industry": None})


def test_satisfaction_uses_surveys_before_the_cutoff_not_the_customers_column(rows):
    # The 2024-07-01 survey (score 2) is on the cutoff, and customers.satisfaction (1) leaks.
    _assert_row(rows, "a", {"satisfaction_latest": 6.0, "satisfaction_change": -2.0,
                            "days_since_survey": 61})
    _assert_row(rows, "g", {"satisfaction_latest": 9.0, "satisfaction_change": None})
    _assert_row(rows, "b", {"satisfaction_latest": None, "days_since_survey": None})


def test_open_opportunities_at_the_cutoff(rows):
    # op1 (proposal, 1200) and op3 (lost only after the cutoff, 300) are open; op2 and op5 are
    # won (op5's "won" beats the same-day "negotiation"); op4 starts on the cutoff.
    _assert_row(rows, "a", {"open_opportunities": 2, "open_opportunity_amount": 1500.0})
    _assert_row(rows, "g", {"open_opportunities": 0, "open_opportunity_amount": 0.0})


def test_single_id_less_purchase(rows):
    _assert_row(rows, "b", {
        "recency_days": 1, "frequency_orders": 1, "purchase_days": 1, "monetary_sum": 80.0,
        "monetary_mean": 80.0, "tenure_days": 1,
        "lt_frequency": 0.0, "lt_recency": 0.0, "lt_T": 0.0, "lt_monetary_value": 0.0,
        "orders_30d": 1, "orders_trend_30d": 1.0, "revenue_90d": 80.0,
        "interval_mean_days": None, "interval_std_days": None, "interval_last_days": None,
        "recency_to_interval": None,
        "product_lines_total": 0, "product_lines_change_90d": None,
        "channel_share_online": None, "return_line_share": 0.0, "return_revenue_share": 0.0,
        "gross_margin_share": None,
    })


def test_returns_only_customer_is_in_the_snapshot_without_purchases(rows):
    _assert_row(rows, "d", {
        "recency_days": None, "frequency_orders": 0, "purchase_days": 0, "monetary_sum": -10.0,
        "monetary_mean": None, "tenure_days": 61,
        "lt_frequency": None, "lt_recency": None, "lt_T": None, "lt_monetary_value": None,
        "orders_90d": 0, "orders_trend_90d": 0.0, "revenue_90d": -10.0,
        "revenue_trend_90d": -1.0, "revenue_trend_30d": 0.0,
        "return_line_share": 1.0, "return_revenue_share": None,
        "channel_share_online": None, "product_lines_total": 0,
    })


def test_label_window_is_half_open(rows):
    churned = rows.loc[CUTOFF, "churned"].to_dict()
    # a buys 08-01, d 07-10, g on the cutoff day; b never again; f only on cutoff + 90.
    assert churned == {"a": False, "b": True, "d": False, "f": True, "g": False}
    assert rows.loc[CUTOFF, "label_complete"].all()


def test_label_is_null_when_the_window_runs_past_the_data(rows):
    # The data end on 2024-12-31: 2024-10-03 + 90 days = 2025-01-01 = data end + 1 day.
    assert rows.loc[date(2024, 10, 3), "label_complete"].all()
    assert rows.loc[date(2024, 10, 3), "churned"].notna().all()
    for cutoff in (date(2024, 10, 4), date(2024, 11, 1)):
        assert not rows.loc[cutoff, "label_complete"].any()
        assert rows.loc[cutoff, "churned"].isna().all()


def test_stacked_cutoffs_recompute_features(rows):
    assert sorted(rows.loc[date(2024, 11, 1)].index) == ["a", "b", "d", "e", "f", "g"]
    _assert_row(rows, "a", {"recency_days": 92, "lt_frequency": 3.0, "frequency_orders": 5},
                cutoff=date(2024, 11, 1))


def test_catalogue_matches_the_produced_columns_and_types(full):
    with warehouse.connect(full, read_only=True) as con:
        for config in (CONFIG, CustomerFeaturesConfig()):
            sql, params = build_snapshot_sql(con, config, [CUTOFF])
            described = con.execute(f"DESCRIBE ({sql})", params).fetchall()
            assert [r[0] for r in described] == snapshot_columns(config)
            types = {r[0]: r[1] for r in described}
            for name, feature in describe_features(config).items():
                assert types[name] == feature.dtype, name
            assert all(types[c] == "BOOLEAN" for c in LABEL_COLUMNS)


def test_catalogue_documents_every_feature():
    features = describe_features(CustomerFeaturesConfig())
    assert len(features) >= 30
    assert len(feature_columns(CustomerFeaturesConfig())) == len(set(features))
    assert all(len(f.description) > 20 for f in features.values())
    assert not any("{" in f.name or "{" in f.description for f in features.values())
    families = {f.family for f in FEATURES}
    assert {"rfm", "lifetimes", "window", "trend", "interval", "product", "channel", "returns",
            "margin", "attribute", "satisfaction", "opportunity"} <= families


def test_features_of_absent_tables_and_empty_columns_are_null(tmp_path):
    with warehouse.connect(tmp_path, create=True) as con:
        insert_rows(con, ORDERS, ("order_date", "customer_id", "amount", "segment"), [
            ("2024-01-01", "a", 10.0, "small"), ("2024-02-01", "a", 20.0, None),
            ("2024-03-01", "a", -5.0, None),
        ])
        frame = snapshot(con, [CUTOFF])
    _assert_row(frame, "a", {
        "frequency_orders": 2, "monetary_sum": 25.0, "lt_monetary_value": 20.0,
        "segment": "small", "region": None, "industry": None,
        "product_lines_total": None, "product_lines_90d": None, "channel_share_online": None,
        "gross_margin_share": None, "satisfaction_latest": None, "days_since_survey": None,
        "open_opportunities": None, "open_opportunity_amount": None,
        "return_line_share": 1 / 3,
    })


def test_errors_name_what_is_missing(tmp_path):
    with warehouse.connect(tmp_path, create=True) as con:
        with pytest.raises(WorkspaceError, match="no `orders` table"):
            build_snapshot_sql(con, CONFIG, [CUTOFF])
        insert_rows(con, ORDERS, ("order_date", "customer_id", "amount"),
                    [("2024-01-01", "a", 1.0)])
        with pytest.raises(ConfigError, match="cutoff"):
            build_snapshot_sql(con, CONFIG, [])


def test_pipeline_writes_table_and_parquet(tmp_path):
    from forecast.pipeline import build_customer_snapshots

    with warehouse.connect(tmp_path, create=True) as con:
        _build_full(con)
    config = Config(workspace=tmp_path, features=FeaturesConfig(customers=CONFIG))
    result = build_customer_snapshots(config, [CUTOFF, date(2024, 11, 1)])
    assert result.rows == 5 + 6
    assert [c["labelled"] for c in result.cutoffs] == [5, 0]
    frame = pd.read_parquet(result.parquet)
    assert list(frame.columns) == snapshot_columns(CONFIG)


# Real data sets: invariants that hold for any order log, checked against independent SQL.

def _ingest(name: str, workspace: Path) -> Path:
    from forecast.io.ingest import ingest

    if not SHARED_DATA.is_dir():
        pytest.skip(f"real data not found at {SHARED_DATA} (../shared/data is absent)")
    ingest(load_config(REPO / "configs" / f"{name}.yaml").with_workspace(workspace))
    return workspace


@pytest.mark.parametrize("name, cutoffs", [
    ("online_retail", [date(2010, 6, 1), date(2011, 3, 1), date(2011, 11, 1)]),
    ("superstore", [date(2020, 1, 1), date(2022, 1, 1), date(2022, 12, 1)]),
])
def test_snapshot_on_real_data(tmp_path, name, cutoffs):
    workspace = _ingest(name, tmp_path / name)
    with warehouse.connect(workspace) as con:
        frame = snapshot(con, cutoffs, CustomerFeaturesConfig())
        expected = con.execute(
            "SELECT c.cutoff, o.customer_id, bool_or(o.amount > 0 AND o.order_date >= c.cutoff "
            "AND o.order_date < c.cutoff + 90) AS active "
            "FROM orders o, (SELECT unnest(?::DATE[]) AS cutoff) c "
            "WHERE o.customer_id IS NOT NULL GROUP BY ALL "
            "HAVING min(o.order_date) < c.cutoff", [cutoffs]).df()
        last_day = con.execute("SELECT max(order_date) FROM orders").fetchall()[0][0]
    expected["cutoff"] = pd.to_datetime(expected["cutoff"]).dt.date
    expected = expected.set_index(["cutoff", "customer_id"]).sort_index()
    assert frame.index.equals(expected.index)
    complete = [c for c in cutoffs if c + timedelta(days=90) <= last_day + timedelta(days=1)]
    labelled = frame[frame["label_complete"]]
    assert sorted(set(labelled.index.get_level_values("cutoff"))) == complete
    assert (labelled["churned"] == ~expected.loc[labelled.index, "active"]).all()
    assert frame.loc[~frame["label_complete"], "churned"].isna().all()
    buyers = frame[frame["purchase_days"] > 0]
    assert (buyers["lt_frequency"] == buyers["purchase_days"] - 1).all()
    assert (buyers["recency_days"] <= buyers["tenure_days"]).all()
    assert (buyers["lt_recency"] <= buyers["lt_T"]).all()
    for column in [c for c in frame.columns if "trend" in c]:
        assert frame[column].between(-1, 1).all(), column
    assert frame["return_line_share"].between(0, 1).all()
    assert frame["region"].notna().all()
    if name == "superstore":
        assert frame["product_lines_total"].between(1, 3).all()
        assert frame["segment"].notna().all()
    else:
        assert (frame["return_line_share"] > 0).any()
        assert frame["product_lines_total"].isna().all()


def test_breadth_without_the_bitmask_gives_the_same_values(full, rows, monkeypatch):
    from forecast.features import customer_sql

    monkeypatch.setattr(customer_sql, "MAX_BITMASK_LINES", 1)  # x, y, z are too many now
    with warehouse.connect(full, read_only=True) as con:
        sql, _ = build_snapshot_sql(con, CONFIG, [CUTOFF])
        assert "line_recency" in sql
        frame = snapshot(con, [CUTOFF])
    pd.testing.assert_frame_equal(frame, rows.loc[[CUTOFF]], check_dtype=False)
