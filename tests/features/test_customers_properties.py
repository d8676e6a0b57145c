"""Point-in-time correctness of customer snapshots, as properties over random small data.

1. Features see only the past: replacing everything dated on or after the cutoff (orders,
   surveys, opportunity stages: added, changed or deleted) leaves every feature unchanged.
2. The label sees only its window: replacing everything outside [cutoff, cutoff + H) leaves
   `churned` unchanged for every customer in both snapshots, and it equals a direct count.
3. The lifetimes columns equal a direct computation from their definition (checked on the
   snapshots of property 1).

A sentinel order far after the cutoff, for a customer of its own, keeps the end of the data (and
so the label-completeness rule) fixed across the compared logs. Amounts are multiples of 0.25,
so sums are exact and results can be compared with ==.
"""

from __future__ import annotations

from datetime import date, timedelta

import duckdb
import pandas as pd
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from warehouse_rows import refill

from forecast.config import CustomerFeaturesConfig
from forecast.features.catalogue import KEY_COLUMNS, LABEL_COLUMNS
from forecast.features.customers import build_snapshot_sql
from forecast.io import warehouse
from forecast.schemas import OPPORTUNITIES, ORDERS, SURVEYS

CUTOFF = date(2024, 7, 1)
CONFIG = CustomerFeaturesConfig(horizon_days=30, windows=[7, 30], product_window_days=14)
H = CONFIG.horizon_days
SENTINEL = ("sentinel", CUTOFF + timedelta(days=400), 1.0)
ORDER_COLUMNS = ("customer_id", "order_date", "amount", "order_id", "product_line", "channel",
                 "quantity", "unit_cost", "segment")

customers = st.sampled_from(["a", "b", "c"])
amounts = st.sampled_from([-30.0, -2.5, 0.0, 0.25, 12.5, 40.0, 100.75])


def _order(offsets: st.SearchStrategy[int]) -> st.SearchStrategy[tuple]:
    return st.tuples(
        customers, offsets.map(lambda d: CUTOFF + timedelta(days=d)), amounts,
        st.sampled_from([None, "o1", "o2", "o3"]), st.sampled_from([None, "x", "y", "z"]),
        st.sampled_from([None, "online", "offline", "distributor"]),
        st.sampled_from([None, 1.0, 3.0]), st.sampled_from([None, 0.5, 8.0]),
        st.sampled_from([None, "small", "mid-market"]),
    )


def _survey(offsets):
    return st.tuples(customers, offsets.map(lambda d: CUTOFF + timedelta(days=d)),
                     st.integers(0, 10).map(float))


def _stage(offsets):
    return st.tuples(st.sampled_from(["p1", "p2"]), customers,
                     st.sampled_from(["initial contact", "proposal", "won", "lost"]),
                     offsets.map(lambda d: CUTOFF + timedelta(days=d)),
                     st.sampled_from([None, 10.0, 250.5]))


def _log(offsets, size: int) -> st.SearchStrategy[dict]:
    return st.fixed_dictionaries({
        "orders": st.lists(_order(offsets), max_size=size),
        "surveys": st.lists(_survey(offsets), max_size=3),
        "stages": st.lists(_stage(offsets), max_size=3),
    })


BEFORE = st.integers(-120, -1)
FROM_CUTOFF = st.integers(0, 120)


_CON = duckdb.connect()
TABLES = [
    (ORDERS, ORDER_COLUMNS),
    (SURVEYS, ("customer_id", "survey_date", "score")),
    (OPPORTUNITIES, ("opportunity_id", "customer_id", "stage", "stage_date", "amount")),
]
for _table, _ in TABLES:
    warehouse.ensure_canonical_table(_CON, _table)


def _snapshot(log: dict) -> pd.DataFrame:
    """The snapshot at CUTOFF of a log, indexed by customer_id (one in-memory warehouse, refilled
    for every call: connecting anew each time would dominate the run time)."""
    rows = [[*log["orders"], (*SENTINEL, *[None] * 6)], log["surveys"], log["stages"]]
    for (table, columns), table_rows in zip(TABLES, rows, strict=True):
        refill(_CON, table, columns, table_rows)
    frame = _CON.execute(*build_snapshot_sql(_CON, CONFIG, [CUTOFF])).df()
    return frame.set_index("customer_id").sort_index()


def _merge(first: dict, second: dict) -> dict:
    return {k: first[k] + second[k] for k in first}


def _features(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.drop(columns=[c for c in (*KEY_COLUMNS, *LABEL_COLUMNS) if c in frame])


_NO_LOG = {"orders": [], "surveys": [], "stages": []}
# A product line first recorded on the cutoff day: the past names none, so the product-line
# features must be NULL in both snapshots (they were NULL in one and 0 in the other).
_LINE_ONLY_IN_FUTURE = {
    **_NO_LOG,
    "orders": [("a", CUTOFF, -30.0, None, "x", None, None, None, None)],
}


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(past=_log(BEFORE, 12), future=_log(FROM_CUTOFF, 8), other_future=_log(FROM_CUTOFF, 8))
@example(past={**_NO_LOG, "orders": [("a", CUTOFF - timedelta(days=1), 0.25, *[None] * 6)]},
         future=_NO_LOG, other_future=_LINE_ONLY_IN_FUTURE)
def test_features_ignore_everything_from_the_cutoff_on(past, future, other_future):
    first = _snapshot(_merge(past, future))
    second = _snapshot(_merge(past, other_future))
    pd.testing.assert_frame_equal(_features(first), _features(second), check_exact=True)
    assert set(first.index) == {o[0] for o in past["orders"]}
    _assert_lifetimes_by_definition(first, past["orders"] + future["orders"])


def _outside_window(size: int) -> st.SearchStrategy[dict]:
    offsets = st.one_of(BEFORE, st.integers(H, H + 90))
    return _log(offsets, size)


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(window=_log(st.integers(0, H - 1), 6), outside=_outside_window(10),
       other_outside=_outside_window(10))
def test_label_depends_only_on_its_window(window, outside, other_outside):
    first = _snapshot(_merge(window, outside))
    second = _snapshot(_merge(window, other_outside))
    common = first.index.intersection(second.index)
    assert first.loc[common, "churned"].tolist() == second.loc[common, "churned"].tolist()
    active = {o[0] for o in window["orders"] if o[2] > 0}
    assert first["label_complete"].all()
    assert first["churned"].to_dict() == {c: c not in active for c in first.index}


def _lifetimes_by_definition(orders: list[tuple]) -> dict[str, tuple]:
    per_day: dict[str, dict[date, float]] = {}
    for customer, day, amount, *_ in orders:
        if amount > 0 and day < CUTOFF:
            days = per_day.setdefault(customer, {})
            days[day] = days.get(day, 0.0) + amount
    out = {}
    for customer, days in per_day.items():
        ordered = sorted(days)
        repeat = [days[d] for d in ordered[1:]]
        out[customer] = (
            float(len(ordered) - 1), float((ordered[-1] - ordered[0]).days),
            float((CUTOFF - timedelta(days=1) - ordered[0]).days),
            sum(repeat) / len(repeat) if repeat else 0.0,
        )
    return out


def _assert_lifetimes_by_definition(frame: pd.DataFrame, orders: list[tuple]) -> None:
    expected = _lifetimes_by_definition(orders)
    columns = ["lt_frequency", "lt_recency", "lt_T", "lt_monetary_value"]
    got = {c: tuple(r) for c, r in frame[columns].iterrows() if not pd.isna(r["lt_frequency"])}
    assert got == expected
    assert frame.loc[~frame.index.isin(list(expected)), "lt_frequency"].isna().all()
