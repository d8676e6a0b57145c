"""The customers' purchase days behind each revenue series, for the customer-base candidate.

The customer-base model (``forecast.models.customer_base``) forecasts a series from the
customers who buy in it: one row per series, customer and day with that day's net amount. A
series at a grain (``region/channel``) holds the order lines whose key columns equal the
series' keys; the ``total`` holds them all. One SELECT per grain, stacked: each joins the order
lines to the series of its grain on the grain's keys (``IS NOT DISTINCT FROM``, so a missing
key value is a key of its own, as in the series builder) and sums per series, customer and day;
lines without a customer are left out (they stay in the series, which the model's net ratio
accounts for).
"""

from __future__ import annotations

from forecast.io.sql import Params, Query, quote
from forecast.schemas import GRAIN, TOTAL, UNIQUE_ID


def customer_activity_query(keys_relation: str, grains: dict[str, tuple[str, ...]],
                            orders: str = "orders") -> Query:
    """SQL of ``unique_id, customer_id, ds, amount`` for the series of ``keys_relation``.

    Args:
        keys_relation: a relation with ``unique_id, grain`` and the key columns, one row per
            series (registered on the connection by the caller).
        grains: grain label -> its key columns (``total`` -> none).
        orders: the order-lines table.
    """
    p = Params()
    selects = []
    for grain, keys in grains.items():
        match = " AND ".join(f"o.{quote(k)} IS NOT DISTINCT FROM s.{quote(k)}" for k in keys)
        selects.append(
            f"SELECT s.{UNIQUE_ID}, CAST(o.customer_id AS VARCHAR) AS customer_id, "
            f"CAST(o.order_date AS DATE) AS ds, sum(o.amount) AS amount "
            f"FROM {quote(keys_relation)} s JOIN {quote(orders)} o "
            f"ON s.{GRAIN} = {p(grain)}{' AND ' + match if match else ''} "
            f"WHERE o.customer_id IS NOT NULL GROUP BY ALL")
    return p.query("\nUNION ALL\n".join(selects) or "SELECT NULL LIMIT 0")


def grain_keys(grains: list[str]) -> dict[str, tuple[str, ...]]:
    """Grain labels (``region/channel``, ``total``) -> their key columns."""
    return {g: () if g == TOTAL else tuple(g.split("/")) for g in grains}
