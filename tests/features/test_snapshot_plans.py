"""The one-pass plan over many cutoffs gives the rows and values of building each cutoff alone.

``build_snapshot_sql(..., plan="one_pass")`` aggregates the order lines once into pieces of time
and composes every cutoff from them; ``plan="per_cutoff"`` at one cutoff reads the order lines
before that cutoff directly. On random warehouses (returns, zero amounts, lines without order
id, several channels, segments and regions with gaps, costs, product lines within and past the
64 of the bitmask, surveys, opportunities, customer attributes) and cutoffs before the first
order, between orders, on order days, closer together and farther apart than the windows,
on the day after the last order and past it, both must agree exactly. Amounts are multiples of
0.25 (and small), so every sum is exact in any order and frames compare with ==.
"""

from __future__ import annotations

import random
from datetime import date, timedelta

import duckdb
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from warehouse_rows import refill

from forecast.config import CustomerFeaturesConfig
from forecast.features import customer_sql
from forecast.features.customers import build_snapshot_sql
from forecast.io import warehouse
from forecast.schemas import CHANNELS, CUSTOMERS, FUNNEL_STAGES, OPPORTUNITIES, ORDERS, SURVEYS

START = date(2023, 1, 1)
DAYS = 700
ORDER_COLUMNS = ("customer_id", "order_date", "amount", "order_id", "product_line", "channel",
                 "quantity", "unit_cost", "segment", "region")
CONFIGS = [
    CustomerFeaturesConfig(horizon_days=60, windows=[30, 90], product_window_days=45),
    CustomerFeaturesConfig(),  # windows 30, 90, 180, 365: edges reach before the data
]


def _fill(con: duckdb.DuckDBPyConnection, table, columns: tuple[str, ...], rows: list[tuple]):
    warehouse.ensure_canonical_table(con, table)
    refill(con, table, columns, rows)


def _orders(rng: random.Random, lines: int, product_lines: list[str]) -> list[tuple]:
    rows = []
    for _ in range(lines):
        day = START + timedelta(days=rng.randrange(DAYS))
        customer = rng.choice("abcdefghij")
        rows.append((
            customer, day,
            rng.choice([-40.0, -2.5, 0.0, 0.25, 3.5, 12.75, 20.0, 99.5]),
            rng.choice([None, f"{customer}{day:%j}", f"{customer}{day:%j}x", "shared"]),
            rng.choice([None, *product_lines]),
            rng.choice([None, *CHANNELS]),
            rng.choice([None, 1.0, 2.0]),
            rng.choice([None, 0.5, 4.25]),
            rng.choice([None, "small", "mid-market"]),
            rng.choice([None, "North", "South"]),
        ))
    return rows


def random_warehouse(con: duckdb.DuckDBPyConnection, seed: int, lines: int = 400,
                     product_lines: int = 3, context: bool = True) -> None:
    """Fill ``con`` with a random company: orders, and when ``context`` surveys, opportunities
    and customer attributes."""
    rng = random.Random(seed)
    names = [f"line {i:02d}" for i in range(product_lines)]
    _fill(con, ORDERS, ORDER_COLUMNS, _orders(rng, lines, names))
    if not context:
        return
    days = [START + timedelta(days=rng.randrange(DAYS)) for _ in range(80)]
    _fill(con, SURVEYS, ("customer_id", "survey_date", "score"),
          [(rng.choice("abcdefgz"), d, rng.choice([None, 1.0, 5.0, 9.0])) for d in days])
    _fill(con, OPPORTUNITIES, ("opportunity_id", "customer_id", "stage", "stage_date", "amount"),
          [(f"p{rng.randrange(12)}", rng.choice("abcdez"), rng.choice(FUNNEL_STAGES),
            START + timedelta(days=rng.randrange(0, DAYS, 20)), rng.choice([None, 10.0, 2.5]))
           for _ in range(60)])
    _fill(con, CUSTOMERS, ("customer_id", "segment", "region", "industry"),
          [("a", "key account", None, "retail"), ("c", None, "West", None),
           ("q", "small", "East", "food")])


def cutoffs_of(con: duckdb.DuckDBPyConnection) -> list[date]:
    """Cutoffs before the first order, between and on order days, 10 days apart and a year
    apart, on the day after the last order and past it."""
    first, last = con.execute("SELECT min(order_date), max(order_date) FROM orders").fetchone()
    on_order_day = con.execute(
        "SELECT order_date FROM orders ORDER BY order_date LIMIT 1 OFFSET 100").fetchone()[0]
    return sorted({
        first - timedelta(days=5), first, first + timedelta(days=37), on_order_day,
        first + timedelta(days=300), first + timedelta(days=310), first + timedelta(days=400),
        last - timedelta(days=45), last, last + timedelta(days=1), last + timedelta(days=60),
    })


def snapshots(con: duckdb.DuckDBPyConnection, config: CustomerFeaturesConfig,
              cutoffs: list[date], plan: str) -> pd.DataFrame:
    frame = con.execute(*build_snapshot_sql(con, config, cutoffs, plan=plan)).df()
    return frame.sort_values(["cutoff", "customer_id"]).reset_index(drop=True)


def each_alone(con: duckdb.DuckDBPyConnection, config: CustomerFeaturesConfig,
               cutoffs: list[date]) -> pd.DataFrame:
    frames = [f for c in cutoffs if len(f := snapshots(con, config, [c], "per_cutoff"))]
    if not frames:
        return pd.DataFrame()
    frame = pd.concat(frames, ignore_index=True)
    return frame.sort_values(["cutoff", "customer_id"]).reset_index(drop=True)


def assert_same(one_pass: pd.DataFrame, alone: pd.DataFrame) -> None:
    # Empty cutoffs make no rows, so a column can be all NULL on one side only; compare values.
    pd.testing.assert_frame_equal(one_pass, alone, check_exact=True, check_dtype=False)


@pytest.fixture
def con():
    connection = duckdb.connect()
    yield connection
    connection.close()


@pytest.mark.parametrize("config", CONFIGS, ids=["short windows", "default windows"])
@pytest.mark.parametrize("product_lines", [3, 70], ids=["bitmask", "past 64 lines"])
@pytest.mark.parametrize("seed", [1, 2])
def test_one_pass_equals_each_cutoff_alone(con, config, product_lines, seed):
    random_warehouse(con, seed, product_lines=product_lines)
    cutoffs = cutoffs_of(con)
    one_pass = snapshots(con, config, cutoffs, "one_pass")
    assert_same(one_pass, each_alone(con, config, cutoffs))
    assert set(one_pass["cutoff"].dt.date) < set(cutoffs)  # the first cutoff has no customer
    assert len(one_pass) > 30
    stacked = snapshots(con, config, cutoffs, "per_cutoff")
    assert_same(one_pass, stacked)


def test_one_pass_without_optional_tables_and_columns(con):
    rng = random.Random(7)
    rows = [(c, d, a) for c, d, a, *_ in _orders(rng, 300, [])]
    _fill(con, ORDERS, ("customer_id", "order_date", "amount"), rows)
    cutoffs = cutoffs_of(con)
    for config in CONFIGS:
        assert_same(snapshots(con, config, cutoffs, "one_pass"), each_alone(con, config, cutoffs))


def test_one_pass_on_the_hand_made_warehouse_past_the_bitmask(con, monkeypatch):
    random_warehouse(con, 3, lines=200)
    monkeypatch.setattr(customer_sql, "MAX_BITMASK_LINES", 1)  # three lines are too many now
    cutoffs = cutoffs_of(con)
    sql, _ = build_snapshot_sql(con, CONFIGS[0], cutoffs, plan="one_pass")
    assert "line_buckets" in sql and "bit_or" not in sql
    assert_same(snapshots(con, CONFIGS[0], cutoffs, "one_pass"),
                each_alone(con, CONFIGS[0], cutoffs))


def test_auto_plan_reads_the_orders_once_for_several_cutoffs(con):
    random_warehouse(con, 4, lines=50)
    config = CONFIGS[0]
    one = build_snapshot_sql(con, config, [date(2024, 1, 1)]).sql
    several = build_snapshot_sql(con, config, [date(2024, 1, 1), date(2024, 3, 1)]).sql
    assert "slice_lines" not in one and "UNION ALL" not in one
    assert "slice_lines" in several
    with pytest.raises(ValueError, match="plan"):
        build_snapshot_sql(con, config, [date(2024, 1, 1)], plan="fast")


days = st.integers(0, DAYS + 30).map(lambda d: START + timedelta(days=d))


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10_000), lines=st.integers(1, 60),
       cutoffs=st.lists(days, min_size=2, max_size=5),
       windows=st.lists(st.integers(1, 120), min_size=1, max_size=3, unique=True),
       product_window=st.integers(1, 60), horizon=st.integers(1, 90))
def test_one_pass_equals_each_cutoff_alone_on_random_logs(seed, lines, cutoffs, windows,
                                                          product_window, horizon):
    config = CustomerFeaturesConfig(horizon_days=horizon, windows=windows,
                                    product_window_days=product_window)
    connection = duckdb.connect()
    try:
        random_warehouse(connection, seed, lines=lines)
        one_pass = snapshots(connection, config, cutoffs, "one_pass")
        alone = each_alone(connection, config, sorted(set(cutoffs)))
        if len(alone):
            assert_same(one_pass, alone)
        else:
            assert one_pass.empty
    finally:
        connection.close()
