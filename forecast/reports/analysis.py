"""The arithmetic of the reports: contribution, volume/price/mix, concentration, drift.

Pure functions over frames and numbers; each formula is stated in its docstring, and the reports
quote the same formulas in their definitions section.
"""

from __future__ import annotations

import numpy as np
import pandas as pd


def contribution(frame: pd.DataFrame, current: str = "current", previous: str = "previous"
                 ) -> pd.DataFrame:
    """Each member's value, share, change and share of the total change.

    ``share = current / total current``; ``change = current - previous``;
    ``change_pct = change / previous``; ``share_of_change = change / total change`` (the members'
    shares of change sum to 1; undefined when the total did not change). A missing, NaN or
    infinite value is missing, never 0: the member's change is missing, and so is every share
    whose total includes it.

    Args:
        frame: one row per member with the columns ``current`` and ``previous``.

    Returns:
        The frame sorted by ``current`` descending (missing last) with the columns ``share``,
        ``share_previous``, ``change``, ``change_pct`` and ``share_of_change`` added.
    """
    out = frame.copy()
    out[[current, previous]] = out[[current, previous]].astype(float).replace(
        [np.inf, -np.inf], np.nan)

    def total(column: str | pd.Series) -> float:
        values = out[column] if isinstance(column, str) else column
        return float(values.sum(skipna=False)) if len(values) else 0.0

    total_current, total_previous = total(current), total(previous)
    out["share"] = out[current] / total_current if total_current else np.nan
    out["share_previous"] = out[previous] / total_previous if total_previous else np.nan
    out["change"] = out[current] - out[previous]
    out["change_pct"] = out["change"] / out[previous].where(out[previous] != 0)
    total_change = total(out["change"])
    out["share_of_change"] = (out["change"] / total_change if abs(total_change) > 1e-9
                              else np.nan)
    return out.sort_values(current, ascending=False, kind="stable").reset_index(drop=True)


def decompose_change(items: pd.DataFrame) -> pd.DataFrame:
    """Split each unit's revenue change into volume, mix, price and other effects.

    Over the items sold (positive net quantity) in both periods, with ``P0_i = R0_i / Q0_i``
    and ``P0 = R0c / Q0c`` (the base period's average price of those items):

    - volume = (Q1c - Q0c) x P0
    - mix    = sum_i Q1_i x P0_i - Q1c x P0
    - price  = sum_i Q1_i x (P1_i - P0_i) = R1c - sum_i Q1_i x P0_i
    - other  = revenue of items sold in only one of the two periods: (R1 - R1c) - (R0 - R0c)

    so volume + mix + price + other = R1 - R0 exactly.

    Args:
        items: ``unit, item, quantity_0, revenue_0, quantity_1, revenue_1`` (0 = base period,
            1 = current period; missing values count as 0).

    Returns:
        One row per unit: ``unit, revenue_0, revenue_1, change, volume, mix, price, other``.
    """
    f = items.copy()
    value_cols = ["quantity_0", "revenue_0", "quantity_1", "revenue_1"]
    f[value_cols] = f[value_cols].astype(float).fillna(0.0)
    common = (f["quantity_0"] > 0) & (f["quantity_1"] > 0)
    f["price_0"] = np.where(common, f["revenue_0"] / f["quantity_0"].where(common, 1.0), 0.0)
    f["at_base_price"] = np.where(common, f["quantity_1"] * f["price_0"], 0.0)
    for col in value_cols:
        f[col + "_c"] = np.where(common, f[col], 0.0)
    g = f.groupby("unit", sort=True)[
        value_cols + [c + "_c" for c in value_cols] + ["at_base_price"]].sum()
    base_price = g["revenue_0_c"] / g["quantity_0_c"].where(g["quantity_0_c"] > 0)
    base_price = base_price.fillna(0.0)
    out = pd.DataFrame({
        "revenue_0": g["revenue_0"],
        "revenue_1": g["revenue_1"],
        "change": g["revenue_1"] - g["revenue_0"],
        "volume": (g["quantity_1_c"] - g["quantity_0_c"]) * base_price,
        "mix": g["at_base_price"] - g["quantity_1_c"] * base_price,
        "price": g["revenue_1_c"] - g["at_base_price"],
        "other": (g["revenue_1"] - g["revenue_1_c"]) - (g["revenue_0"] - g["revenue_0_c"]),
    })
    return out.reset_index()


def main_driver(row: pd.Series | dict) -> str | None:
    """The effect (volume, mix, price, other) that fell most in a row; None when none fell."""
    effects = {k: float(row[k]) for k in ("volume", "mix", "price", "other")
               if row[k] is not None and not pd.isna(row[k])}
    worst = min(effects, key=lambda k: effects[k], default=None)
    return worst if worst is not None and effects[worst] < 0 else None


def herfindahl(values: pd.Series | np.ndarray) -> float | None:
    """Herfindahl-Hirschman index of the positive values: sum of squared shares, in (0, 1].

    1 is one member holding everything; 1/n is n equal members. Members with zero or negative
    totals (net returns) are left out. None when nothing is positive.
    """
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v) & (v > 0)]
    if v.size == 0:
        return None
    shares = v / v.sum()
    return float((shares ** 2).sum())


def herfindahl_normalised(values: pd.Series | np.ndarray) -> float | None:
    """The HHI rescaled so that n equal members give 0 and one member 1:
    ``(HHI - 1/n) / (1 - 1/n)`` over the n positive members (1 when n is 1)."""
    v = np.asarray(values, dtype=float)
    n = int((np.isfinite(v) & (v > 0)).sum())
    h = herfindahl(v)
    if h is None:
        return None
    return 1.0 if n == 1 else (h - 1 / n) / (1 - 1 / n)


def top_share(values: pd.Series | np.ndarray, n: int) -> float | None:
    """Share of the positive total held by the ``n`` largest positive values."""
    v = np.asarray(values, dtype=float)
    v = np.sort(v[np.isfinite(v) & (v > 0)])[::-1]
    return None if v.size == 0 else float(v[:n].sum() / v.sum())


def population_stability(reference: pd.Series, current: pd.Series, bins: int = 10
                         ) -> float | None:
    """Population stability index of ``current`` against ``reference``.

    Bins are the reference's deciles (fewer when values repeat), plus one bin for missing values;
    ``PSI = sum (c - r) x ln(c / r)`` over the bins' shares, each share floored at 1e-4. Below 0.1
    is stable, 0.1-0.2 a moderate shift, above 0.2 a large shift.
    """
    ref = pd.to_numeric(reference, errors="coerce").astype(float)
    cur = pd.to_numeric(current, errors="coerce").astype(float)
    if ref.notna().sum() == 0 or len(cur) == 0:
        return None
    edges = np.unique(np.quantile(ref.dropna(), np.linspace(0, 1, bins + 1)[1:-1]))

    def shares(x: pd.Series) -> np.ndarray:
        known = x.dropna().to_numpy()
        counts = np.bincount(np.searchsorted(edges, known, side="right"),
                             minlength=len(edges) + 1).astype(float)
        counts = np.append(counts, float(x.isna().sum()))
        return np.maximum(counts / max(len(x), 1), 1e-4)

    r, c = shares(ref), shares(cur)
    return float(((c - r) * np.log(c / r)).sum())


def abc_classes(revenue: pd.Series, a: float = 0.8, b: float = 0.95) -> pd.Series:
    """ABC (Pareto) class per member: A while the cumulative share of revenue, largest first,
    is within ``a`` (the member that crosses it included), B within ``b``, C the rest."""
    v = revenue.astype(float).clip(lower=0)
    order = v.sort_values(ascending=False, kind="stable")
    total = order.sum()
    if total <= 0:
        return pd.Series("C", index=revenue.index)
    before = (order.cumsum() - order) / total
    classes = np.where(before < a, "A", np.where(before < b, "B", "C"))
    return pd.Series(classes, index=order.index).reindex(revenue.index)
