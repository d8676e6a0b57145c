"""Customer tiers: RFM scores and segments, ABC (Pareto) classes, value tiers, value x risk.

Pure: every function takes frames and returns new ones; nothing is read, written or changed in
place. The input is one row per customer with measures built as of a day (see
:func:`forecast.pipeline.tiers.build_tiers`); revenue is net of returns.

Rules, in the order they are applied:

* **RFM scores** 1..5 are quintiles of the value that never split a tie. A customer with ``w``
  of the ``n`` customers strictly worse scores ``1 + floor(5 w / n)``: the worst fifth 1, the
  best fifth 5 when values are distinct, so every score then holds ``n / 5`` customers (give or
  take one). Worse means: more days since the last order for recency (so recent = 5), fewer
  orders for frequency, less revenue for monetary. Customers with equal values get equal
  scores (a quintile boundary inside a tie moves down to where the tie starts, so the tie takes
  the score of its worst place) and a better value never scores lower; the customer id plays no
  part. When most customers bought once, they all score F = 1 and the repeat buyers, who beat
  all of them, score by how many customers they beat (with 70 % one-time buyers, F = 4 or 5).
  A customer whose monetary value is zero or negative (returns cancelled the purchases) scores
  M = 1 whatever the value.
* **FM** is the average of F and M rounded half up: ``floor((F + M + 1) / 2)``.
* **RFM segment** from the (R, FM) grid, the usual published map::

      R \\ FM   1               2               3               4        5
      5        new             pot. loyalists  pot. loyalists  champions champions
      4        promising       pot. loyalists  pot. loyalists  loyal    loyal
      3        about to sleep  about to sleep  need attention  loyal    loyal
      2        hibernating     hibernating     at risk         at risk  can't lose
      1        hibernating     hibernating     at risk         at risk  can't lose

* **ABC**: customers sorted by revenue, largest first (ties by ``customer_id``). A customer's
  *share before* is the revenue of everyone ahead of it over the total positive revenue. Class A
  while the share before is below the first cut-off (so the customer that crosses 80% is still
  A, and the largest customer always is), B while below the second, C after. Customers with zero
  or negative revenue are C and do not count in the total.
* **Value tier**: *key account* when the share before is below ``key_account_share`` or the
  revenue reaches ``key_account_min_revenue``; otherwise *potential* when the revenue is
  positive, reaches ``potential_min_revenue`` and the ``potential_min_quantile`` quantile of
  the positive revenues (linear interpolation; by default the median customer), and either
  grew by at least ``potential_growth`` over the prior window or the prior window had no
  positive revenue (new or won back); also *potential*, where the measures hold an
  ``expected_value`` (the customer-base model's expected spend over the next window of the same
  length), a customer with positive revenue whose expected value reaches that floor and the
  revenue times ``1 + potential_growth`` (the model sees them growing: a recent customer
  buying often); otherwise *regular* (including everyone with zero or negative revenue).
* **Risk tier** is the churn tier (high, medium, low) where a churn score is given, else
  ``unknown``; the **action** is ``config.actions["<value tier>|<risk tier>"]``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from forecast.config.tiers import (
    ABC_CLASSES,
    RISK_TIERS,
    VALUE_TIERS,
    TiersConfig,
    matrix_key,
)
from forecast.errors import ValidationError
from forecast.schemas import CHURN_PROBA, CUSTOMER_ID, TIER

RFM_SEGMENTS: tuple[str, ...] = (
    "champions", "loyal", "potential loyalists", "new", "promising", "need attention",
    "about to sleep", "at risk", "can't lose", "hibernating",
)
# Rows are R = 1..5, columns FM = 1..5 (see the module docstring).
_SEGMENT_GRID = np.array([
    ["hibernating", "hibernating", "at risk", "at risk", "can't lose"],
    ["hibernating", "hibernating", "at risk", "at risk", "can't lose"],
    ["about to sleep", "about to sleep", "need attention", "loyal", "loyal"],
    ["promising", "potential loyalists", "potential loyalists", "loyal", "loyal"],
    ["new", "potential loyalists", "potential loyalists", "champions", "champions"],
], dtype=object)

MEASURE_COLUMNS: tuple[str, ...] = (
    CUSTOMER_ID, "recency_days", "frequency", "monetary", "revenue", "revenue_prior",
)
SUMMARY_DIMENSIONS: tuple[str, ...] = (
    "rfm_segment", "abc_class", "value_tier", "risk_tier", "matrix",
)
RISK_COLUMN = "risk_tier"


def score_quintiles(values: pd.Series, higher_is_better: bool = True) -> np.ndarray:
    """Quintile scores 1..5 of a measure that give equal values equal scores.

    Args:
        values: the measure, one finite value per customer.
        higher_is_better: False for recency, where fewer days since the last order is better.

    Returns:
        Integer scores aligned with ``values``: ``1 + floor(5 w / n)`` where ``w`` customers of
        ``n`` have a strictly worse value (rank by the minimum of a tie).
    """
    n = len(values)
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    key = values.to_numpy(dtype=float)
    key = key if higher_is_better else -key
    worse = np.searchsorted(np.sort(key), key, side="left")
    return 1 + (5 * worse) // n


def segment_rfm(r_score: np.ndarray, fm_score: np.ndarray) -> np.ndarray:
    """RFM segment names from R and FM scores (1..5) by the grid of the module docstring."""
    return _SEGMENT_GRID[np.asarray(r_score) - 1, np.asarray(fm_score) - 1]


def score_rfm(measures: pd.DataFrame) -> pd.DataFrame:
    """RFM scores and segments.

    Args:
        measures: ``recency_days, frequency, monetary`` (one row per customer).

    Returns:
        Same index, columns ``r_score, f_score, m_score, fm_score`` (1..5), ``rfm_score`` (the
        three digits, e.g. ``"545"``) and ``rfm_segment``.
    """
    r = score_quintiles(measures["recency_days"], higher_is_better=False)
    f = score_quintiles(measures["frequency"])
    m = score_quintiles(measures["monetary"])
    m = np.where(measures["monetary"].to_numpy(dtype=float) <= 0, 1, m)
    fm = (f + m + 1) // 2
    out = pd.DataFrame({"r_score": r, "f_score": f, "m_score": m, "fm_score": fm},
                       index=measures.index)
    out["rfm_score"] = (pd.Series(r, index=measures.index).astype(str)
                        + pd.Series(f, index=measures.index).astype(str)
                        + pd.Series(m, index=measures.index).astype(str))
    out["rfm_segment"] = segment_rfm(r, fm)
    return out


def pareto_shares(revenue: pd.Series, ids: pd.Series) -> pd.DataFrame:
    """Where each customer sits on the revenue Pareto curve.

    Customers are sorted by revenue, largest first, ties by id. Only positive revenue counts.

    Returns:
        Same index, columns ``revenue_share`` (own positive revenue over the total positive
        revenue), ``share_before`` (of everyone ahead) and ``cumulative_share`` (the two
        added). All zero when no customer has positive revenue.
    """
    positive = revenue.to_numpy(dtype=float).clip(min=0)
    keys = pd.DataFrame({"k": -revenue.to_numpy(dtype=float), "id": ids.to_numpy()})
    order = keys.sort_values(["k", "id"], kind="stable").index.to_numpy()
    total = positive.sum()
    share = positive / total if total > 0 else np.zeros_like(positive)
    before = np.empty_like(share)
    # Exclusive running sum, so a share that lands exactly on a cut-off stays exact.
    before[order] = np.concatenate([[0.0], np.cumsum(share[order])[:-1]]) if len(share) else []
    return pd.DataFrame(
        {"revenue_share": share, "share_before": before, "cumulative_share": before + share},
        index=revenue.index,
    )


def classify_abc(revenue: pd.Series, share_before: pd.Series,
                 cutoffs: tuple[float, float]) -> np.ndarray:
    """ABC classes from each customer's share before it on the Pareto curve.

    Args:
        revenue: net revenue per customer; zero or negative is always C.
        share_before: from :func:`pareto_shares`.
        cutoffs: cumulative shares closing A and B, e.g. ``(0.8, 0.95)``.
    """
    before = share_before.to_numpy(dtype=float)
    positive = revenue.to_numpy(dtype=float) > 0
    return np.select(
        [positive & (before < cutoffs[0]), positive & (before < cutoffs[1])],
        ["A", "B"], default="C",
    ).astype(object)


def revenue_growth(revenue: pd.Series, revenue_prior: pd.Series) -> np.ndarray:
    """``revenue / revenue_prior - 1``; NaN when the prior window had no positive revenue."""
    current = revenue.to_numpy(dtype=float)
    prior = revenue_prior.to_numpy(dtype=float)
    safe = np.where(prior > 0, prior, 1.0)
    return np.where(prior > 0, current / safe - 1.0, np.nan)


def classify_value(measures: pd.DataFrame, share_before: pd.Series,
                   config: TiersConfig) -> np.ndarray:
    """Value tiers: key account, potential or regular (rules in the module docstring).

    Args:
        measures: ``revenue, revenue_prior`` per customer, and ``expected_value`` (missing
            values: no expectation) when there is one.
        share_before: from :func:`pareto_shares`.
        config: ``key_account_share``, ``key_account_min_revenue``, ``potential_growth``,
            ``potential_min_quantile``, ``potential_min_revenue``.
    """
    revenue = measures["revenue"].to_numpy(dtype=float)
    prior = measures["revenue_prior"].to_numpy(dtype=float)
    growth = revenue_growth(measures["revenue"], measures["revenue_prior"])
    key = (revenue > 0) & (share_before.to_numpy(dtype=float) < config.key_account_share)
    if config.key_account_min_revenue is not None:
        key |= revenue >= config.key_account_min_revenue
    positive = revenue[revenue > 0]
    floor = max(config.potential_min_revenue,
                float(np.quantile(positive, config.potential_min_quantile)) if positive.size else 0)
    sized = (revenue > 0) & (revenue >= floor)
    growing = (prior <= 0) | (np.nan_to_num(growth, nan=-np.inf) >= config.potential_growth)
    potential = sized & growing
    if "expected_value" in measures.columns:
        expected = np.nan_to_num(measures["expected_value"].to_numpy(dtype=float), nan=-np.inf)
        potential |= (revenue > 0) & (expected >= floor) & (
            expected >= (1 + config.potential_growth) * revenue)
    return np.select([key, potential], ["key account", "potential"],
                     default="regular").astype(object)


def _check_measures(measures: pd.DataFrame) -> None:
    missing = [c for c in MEASURE_COLUMNS if c not in measures.columns]
    if missing:
        raise ValidationError(
            f"customer measures lack columns {missing}; expected {list(MEASURE_COLUMNS)}")
    dupes = measures[CUSTOMER_ID][measures[CUSTOMER_ID].duplicated()]
    if len(dupes):
        raise ValidationError(
            f"customer measures hold {len(dupes)} repeated customer_id values, e.g. "
            f"{dupes.iloc[0]!r}; expected one row per customer")
    for column in MEASURE_COLUMNS:
        values = measures[column]
        bad = values.isna()
        if column != CUSTOMER_ID and pd.api.types.is_numeric_dtype(values):
            bad |= ~np.isfinite(values.astype(float).fillna(0.0))
        if bad.any():
            example = measures.loc[bad, CUSTOMER_ID].iloc[0]
            raise ValidationError(
                f"customer measures: column {column!r} has {int(bad.sum())} empty or "
                f"non-finite values (NaN or infinite), e.g. customer {example!r}; expected a "
                "number for every customer (an order amount in the warehouse may be NaN or "
                "infinite: correct it and ingest again)")


def _risk_tiers(measures: pd.DataFrame, risk: pd.DataFrame | None) -> pd.DataFrame:
    """``risk_tier`` and ``churn_proba`` per customer, aligned with ``measures``."""
    if risk is None:
        return pd.DataFrame({RISK_COLUMN: "unknown", CHURN_PROBA: np.nan}, index=measures.index)
    bad = sorted(set(risk[TIER].dropna()) - set(RISK_TIERS))
    if bad:
        raise ValidationError(f"churn scores hold tiers {bad}; expected high, medium or low")
    scores = risk.drop_duplicates(CUSTOMER_ID).set_index(CUSTOMER_ID)
    keys = measures[CUSTOMER_ID]
    tier = keys.map(scores[TIER]).fillna("unknown")
    proba = keys.map(scores[CHURN_PROBA]) if CHURN_PROBA in scores else np.nan
    return pd.DataFrame({RISK_COLUMN: tier, CHURN_PROBA: proba}, index=measures.index)


def build_customer_tiers(measures: pd.DataFrame, config: TiersConfig,
                         risk: pd.DataFrame | None = None) -> pd.DataFrame:
    """Every tier of every customer.

    Args:
        measures: one row per customer with ``customer_id``, ``recency_days`` (days from the
            last order to the as-of day), ``frequency`` (orders in the RFM window),
            ``monetary`` (net revenue in the RFM window), ``revenue`` (net revenue in the
            revenue window) and ``revenue_prior`` (the window before); other columns are kept.
        config: the tiers settings.
        risk: churn scores ``customer_id, tier`` (high / medium / low) and optionally
            ``churn_proba``; customers without a score, or all when None, are ``unknown``.

    Returns:
        The measures plus ``growth``, ``revenue_share``, ``cumulative_share``, ``r_score``,
        ``f_score``, ``m_score``, ``fm_score``, ``rfm_score``, ``rfm_segment``, ``abc_class``,
        ``value_tier``, ``risk_tier``, ``churn_proba`` and ``action``, sorted by revenue
        (largest first, ties by id).

    Raises:
        ValidationError: a measure column is missing or empty, or a customer repeats.
    """
    _check_measures(measures)
    frame = measures.reset_index(drop=True)
    ids = frame[CUSTOMER_ID].astype(str)
    pareto = pareto_shares(frame["revenue"], ids)
    out = frame.assign(growth=revenue_growth(frame["revenue"], frame["revenue_prior"]),
                       revenue_share=pareto["revenue_share"],
                       cumulative_share=pareto["cumulative_share"])
    out = pd.concat([out, score_rfm(frame)], axis=1)
    out["abc_class"] = classify_abc(frame["revenue"], pareto["share_before"], config.abc_cutoffs)
    out["value_tier"] = classify_value(frame, pareto["share_before"], config)
    out = pd.concat([out, _risk_tiers(frame, risk)], axis=1)
    cells = out["value_tier"] + "|" + out[RISK_COLUMN]
    out["action"] = cells.map(config.actions)
    order = pd.DataFrame({"k": -frame["revenue"].to_numpy(dtype=float), "id": ids})
    return out.loc[order.sort_values(["k", "id"], kind="stable").index].reset_index(drop=True)


def _tier_orders(config: TiersConfig) -> dict[str, list[str]]:
    cells = [matrix_key(v, r) for v in VALUE_TIERS for r in RISK_TIERS]
    return {"rfm_segment": list(RFM_SEGMENTS), "abc_class": list(ABC_CLASSES),
            "value_tier": list(VALUE_TIERS), "risk_tier": list(RISK_TIERS), "matrix": cells}


def summarise_tiers(tiers: pd.DataFrame, config: TiersConfig) -> pd.DataFrame:
    """Count and revenue share per tier of every dimension, empty tiers included.

    Args:
        tiers: from :func:`build_customer_tiers`.
        config: gives the action of each matrix cell.

    Returns:
        One row per dimension and tier: ``dimension`` (rfm_segment, abc_class, value_tier,
        risk_tier, matrix), ``tier`` (for the matrix ``"value|risk"``), ``customers``,
        ``customer_share``, ``revenue`` (net, revenue window), ``revenue_share`` (over the net
        revenue of all customers; NaN when that is not positive) and ``action`` (matrix cells
        only). The shares of one dimension add up to 1.
    """
    frame = tiers.assign(matrix=tiers["value_tier"] + "|" + tiers[RISK_COLUMN])
    total_customers = len(frame)
    total_revenue = float(frame["revenue"].sum())
    parts = []
    for dimension, order in _tier_orders(config).items():
        grouped = frame.groupby(dimension)["revenue"].agg(["size", "sum"]).reindex(order)
        parts.append(pd.DataFrame({
            "dimension": dimension,
            "tier": order,
            "customers": grouped["size"].fillna(0).astype("int64").to_numpy(),
            "revenue": grouped["sum"].fillna(0.0).to_numpy(),
        }))
    summary = pd.concat(parts, ignore_index=True)
    summary["customer_share"] = summary["customers"] / total_customers if total_customers else 0.0
    summary["revenue_share"] = (summary["revenue"] / total_revenue if total_revenue > 0
                                else np.nan)
    is_cell = summary["dimension"] == "matrix"
    summary["action"] = summary["tier"].where(is_cell).map(config.actions)
    return summary[["dimension", "tier", "customers", "customer_share", "revenue",
                    "revenue_share", "action"]]
