"""RFM scores respect ties (issue 14, point 10): equal values score equal, better values never
score lower, and a customer base of mostly one-time buyers keeps meaningful segments."""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from forecast.config.tiers import TiersConfig
from forecast.tiers import build_customer_tiers, score_quintiles, score_rfm

# Few distinct values, so most draws hold ties that straddle a quintile boundary.
VALUES = st.lists(st.integers(min_value=0, max_value=6), min_size=1, max_size=60)


@settings(max_examples=200, deadline=None)
@given(values=VALUES, higher_is_better=st.booleans(), seed=st.integers(0, 2**32 - 1))
def test_equal_values_score_equal_and_scores_follow_the_value(values, higher_is_better, seed):
    series = pd.Series(values, dtype=float)
    scores = score_quintiles(series, higher_is_better=higher_is_better)
    assert set(scores) <= {1, 2, 3, 4, 5}
    per_value = pd.Series(scores).groupby(series.to_numpy()).nunique()
    assert (per_value == 1).all()
    order = np.argsort(series.to_numpy() * (1 if higher_is_better else -1), kind="stable")
    assert (np.diff(scores[order]) >= 0).all()  # a better value never scores lower
    worst = series.min() if higher_is_better else series.max()
    assert (scores[series.to_numpy() == worst] == 1).all()
    # Row order does not matter.
    shuffle = np.random.default_rng(seed).permutation(len(values))
    again = score_quintiles(series.iloc[shuffle].reset_index(drop=True), higher_is_better)
    assert again.tolist() == scores[shuffle].tolist()


@settings(max_examples=100, deadline=None)
@given(n=st.integers(min_value=1, max_value=80))
def test_distinct_values_still_make_equal_count_quintiles(n):
    scores = score_quintiles(pd.Series(np.random.default_rng(n).permutation(n), dtype=float))
    counts = np.bincount(scores, minlength=6)[1:]
    assert counts.max() - counts.min() <= 1
    assert counts.sum() == n


@settings(max_examples=100, deadline=None)
@given(rows=st.lists(st.tuples(st.integers(1, 4), st.integers(1, 3), st.integers(-1, 3)),
                     min_size=1, max_size=40),
       seed=st.integers(0, 2**32 - 1))
def test_customers_with_equal_measures_get_equal_scores_and_segments(rows, seed):
    recency, frequency, monetary = (np.array(column, dtype=float) for column in zip(*rows))
    ids = [f"c{i:03d}" for i in np.random.default_rng(seed).permutation(len(rows))]
    measures = pd.DataFrame({"customer_id": ids, "recency_days": recency * 100,
                             "frequency": frequency, "monetary": monetary * 50.0})
    out = score_rfm(measures)
    keys = measures[["recency_days", "frequency", "monetary"]].astype(str).agg("|".join, axis=1)
    assert (out.groupby(keys)[["rfm_score", "rfm_segment"]].nunique() == 1).all().all()


def _one_time_base(n: int = 1000, seed: int = 10) -> pd.DataFrame:
    """70 % one-time buyers; the others bought 2 to 12 times, fewer the more often."""
    rng = np.random.default_rng(seed)
    repeat = n * 3 // 10
    frequency = np.concatenate([np.ones(n - repeat), 2 + rng.geometric(0.35, repeat) - 1])
    frequency = np.minimum(frequency, 12)
    monetary = np.round(frequency * rng.lognormal(4, 0.6, n), 2)
    return pd.DataFrame({
        "customer_id": [f"C{i:05d}" for i in rng.permutation(n)],
        "recency_days": rng.integers(1, 730, n), "frequency": frequency, "monetary": monetary,
        "revenue": monetary / 2, "revenue_prior": monetary / 3,
    })


def test_one_time_buyers_all_score_f_one_and_repeat_buyers_score_higher():
    measures = _one_time_base()
    scores = score_rfm(measures)
    once = measures["frequency"] == 1
    # Before: the 700 tied one-time buyers filled F = 1 to 4 (200, 200, 200, 100) by their id.
    assert (scores.loc[once, "f_score"] == 1).all()
    # Repeat buyers beat 70 % of the customers: F = 4 (at least 70 % worse) or 5 (80 %).
    assert set(scores.loc[~once, "f_score"]) == {4, 5}
    by_frequency = scores.groupby(measures["frequency"])["f_score"]
    assert (by_frequency.nunique() == 1).all()
    assert by_frequency.first().is_monotonic_increasing
    # Recency and monetary have (almost) no ties: still about 200 customers per score.
    for column in ("r_score", "m_score"):
        counts = scores[column].value_counts()
        assert set(counts.index) == {1, 2, 3, 4, 5} and counts.between(180, 220).all(), column


def test_one_time_buyers_are_never_champions_loyal_or_cant_lose():
    measures = _one_time_base()
    tiers = build_customer_tiers(measures, TiersConfig()).set_index("customer_id")
    once = tiers[tiers["frequency"] == 1]
    # F = 1 caps FM at (1 + 5 + 1) // 2 = 3. Before, by their id, 66 of them were champions,
    # loyal or can't lose (F = 4 and M = 5 made FM = 5).
    assert once["fm_score"].max() <= 3
    assert not once["rfm_segment"].isin(["champions", "loyal", "can't lose"]).any()
    # Lapsed one-time buyers with the same recency and monetary score are in one segment.
    lapsed = once[once["recency_days"].between(450, 540)]
    assert (lapsed.groupby(["r_score", "m_score"])["rfm_segment"].nunique() == 1).all()
    # And the repeat buyers still fill the valuable segments.
    assert {"champions", "loyal"} <= set(tiers.loc[tiers["frequency"] > 1, "rfm_segment"])
