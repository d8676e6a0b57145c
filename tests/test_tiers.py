"""Tier rules on tiny frames, every expected value worked out by hand in the comments."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from forecast.config import parse_config
from forecast.config.tiers import DEFAULT_ACTIONS, TiersConfig
from forecast.errors import ConfigError, ValidationError
from forecast.tiers import (
    RFM_SEGMENTS,
    build_customer_tiers,
    classify_abc,
    classify_value,
    pareto_shares,
    score_quintiles,
    score_rfm,
    segment_rfm,
    summarise_tiers,
)

# --- RFM quintiles -------------------------------------------------------------------------


def test_quintiles_of_seven_by_customers_worse():
    # n = 7, score = 1 + floor(5 w / 7), w = customers strictly worse: w = 0..6 -> 0, .71, 1.43,
    # 2.14, 2.86, 3.57, 4.29. Sorted: b10 (w0), d20 and g20 (both w1), c30 (w3), f40, e50, a60.
    assert score_quintiles(pd.Series([60, 10, 30, 20, 50, 40, 20])).tolist() == [
        5, 1, 3, 1, 4, 3, 1]


def test_equal_values_get_equal_scores_whatever_the_order():
    # Five equal values: nobody is worse than anyone, so all score 1 (before: 1..5 by id).
    assert score_quintiles(pd.Series([5, 5, 5, 5, 5])).tolist() == [1, 1, 1, 1, 1]
    # A tie across the boundary at 2/5 takes the score of its worst place: w = 0, 1, 1, 1, 4.
    assert score_quintiles(pd.Series([1, 2, 2, 2, 3])).tolist() == [1, 2, 2, 2, 5]


def test_recency_scores_recent_high_and_ties_equal():
    # Worst first = most days: d400 (w0 -> 1), e90 (w1 -> 2), b30 and c30 (w2 -> 3), a1 (w4 -> 5).
    values = pd.Series([1, 30, 30, 400, 90])
    assert score_quintiles(values, higher_is_better=False).tolist() == [5, 3, 3, 1, 2]


def test_quintile_sizes_of_distinct_values_differ_by_at_most_one():
    # n = 12: floor(5w/12) is 0 for w 0..2, 1 for 3..4, 2 for 5..7, 3 for 8..9, 4 for 10..11.
    scores = score_quintiles(pd.Series(np.arange(12.0)[::-1] * 3))
    assert np.bincount(scores, minlength=6)[1:].tolist() == [3, 2, 3, 2, 2]
    assert score_quintiles(pd.Series([], dtype=float)).size == 0


def _rfm_frame() -> pd.DataFrame:
    # n = 5, so every score is position + 1. Wanted (R, F, M):
    # a (5,5,4) b (1,4,5) c (3,3,3) d (4,1,2) e (2,2,1)
    return pd.DataFrame({
        "customer_id": list("abcde"),
        "recency_days": [5, 300, 100, 50, 200],
        "frequency": [5, 4, 3, 1, 2],
        "monetary": [400.0, 500.0, 300.0, 200.0, 100.0],
    })


def test_rfm_scores_fm_average_and_segments():
    out = score_rfm(_rfm_frame())
    assert out["rfm_score"].tolist() == ["554", "145", "333", "412", "221"]
    # FM = floor((F + M + 1) / 2): (5+4+1)//2=5, (4+5+1)//2=5, 3, (1+2+1)//2=2, (2+1+1)//2=2.
    assert out["fm_score"].tolist() == [5, 5, 3, 2, 2]
    assert out["rfm_segment"].tolist() == [
        "champions", "can't lose", "need attention", "potential loyalists", "hibernating"]


def test_zero_or_negative_monetary_scores_m_one_whatever_the_position():
    frame = _rfm_frame().assign(monetary=[30.0, -50.0, 0.0, 10.0, 20.0])
    # Positions: b-50 (1), c0 (2 -> forced 1), d10 (3), e20 (4), a30 (5).
    assert score_rfm(frame)["m_score"].tolist() == [5, 1, 1, 3, 4]


def test_segment_grid_cells():
    cells = {(5, 1): "new", (4, 1): "promising", (3, 1): "about to sleep",
             (3, 2): "about to sleep", (3, 3): "need attention", (3, 4): "loyal",
             (4, 5): "loyal", (4, 2): "potential loyalists", (5, 3): "potential loyalists",
             (5, 4): "champions", (5, 5): "champions", (2, 5): "can't lose",
             (1, 5): "can't lose", (1, 3): "at risk", (2, 4): "at risk",
             (2, 2): "hibernating", (1, 1): "hibernating"}
    r, fm = np.array(list(cells)).T
    assert segment_rfm(r, fm).tolist() == list(cells.values())
    every = segment_rfm(np.repeat(np.arange(1, 6), 5), np.tile(np.arange(1, 6), 5))
    assert set(every) == set(RFM_SEGMENTS)


# --- ABC and value tiers -------------------------------------------------------------------


def _value_frame() -> pd.DataFrame:
    # Positive revenue totals 100: shares .5 .3 .1 .06 .04; shares before 0 .5 .8 .9 .96.
    return pd.DataFrame({
        "customer_id": list("gfedcba"),  # reversed, so order of rows is not order of revenue
        "recency_days": [200, 150, 9, 30, 60, 10, 1],
        "frequency": [0, 1, 1, 2, 1, 4, 9],
        "monetary": [-5.0, 10.0, 4.0, 6.0, 10.0, 30.0, 50.0],
        "revenue": [-5.0, 0.0, 4.0, 6.0, 10.0, 30.0, 50.0],
        "revenue_prior": [0.0, 10.0, 0.0, 5.0, 8.0, 20.0, 40.0],
    })


def test_pareto_shares_and_abc_classes():
    frame = _value_frame()
    pareto = pareto_shares(frame["revenue"], frame["customer_id"])
    assert pareto["share_before"].tolist() == pytest.approx([1, 1, .96, .9, .8, .5, 0])
    assert pareto["cumulative_share"].tolist() == pytest.approx([1, 1, 1, .96, .9, .8, .5])
    assert pareto["revenue_share"].tolist() == pytest.approx([0, 0, .04, .06, .1, .3, .5])
    abc = classify_abc(frame["revenue"], pareto["share_before"], (0.8, 0.95))
    # a: before 0 -> A; b: .5 -> A; c: .8 is not below .8 -> B; d: .9 -> B; e: .96 -> C;
    # f (zero) and g (negative) -> C.
    assert abc.tolist() == ["C", "C", "C", "B", "B", "A", "A"]
    # One customer with 90% of revenue is still A (share before 0); y's share before is .9: B.
    big = pd.Series([90.0, 10.0])
    shares = pareto_shares(big, pd.Series(["x", "y"]))["share_before"]
    assert classify_abc(big, shares, (0.8, 0.95)).tolist() == ["A", "B"]


def test_pareto_of_no_positive_revenue_is_all_c():
    revenue = pd.Series([0.0, -3.0])
    pareto = pareto_shares(revenue, pd.Series(["x", "y"]))
    assert pareto.to_numpy().tolist() == [[0, 0, 0], [0, 0, 0]]
    assert classify_abc(revenue, pareto["share_before"], (0.8, 0.95)).tolist() == ["C", "C"]


def _value_tiers(**settings) -> list[str]:
    frame = _value_frame()
    before = pareto_shares(frame["revenue"], frame["customer_id"])["share_before"]
    config = TiersConfig(**{"potential_min_quantile": 0.0, **settings})
    return classify_value(frame, before, config).tolist()


def test_value_tiers_by_share_growth_and_newness():
    # key_account_share .5: only a (share before 0); b's share before is .5, not below.
    # Growth: b 30/20-1 = .5, c 10/8-1 = .25 (exactly the threshold), d 6/5-1 = .2.
    # e has no prior revenue and 4 now: new -> potential. f has no revenue, g is negative.
    assert _value_tiers() == ["regular", "regular", "potential", "regular", "potential",
                              "potential", "key account"]


def test_value_tiers_size_rules():
    # A minimum revenue of 30 makes b a key account too.
    assert _value_tiers(key_account_min_revenue=30)[5] == "key account"
    # Median of the positive revenues 50 30 10 6 4 is 10: c (10) stays potential, e (4) is not.
    median = _value_tiers(potential_min_quantile=0.5)
    assert median == ["regular", "regular", "regular", "regular", "potential", "potential",
                      "key account"]
    # An absolute floor of 20 leaves only b among the growing.
    assert _value_tiers(potential_min_revenue=20)[2:5] == ["regular", "regular", "regular"]
    # A higher growth threshold: .3 drops c (.25) but keeps b (.5) and new e.
    assert _value_tiers(potential_growth=0.3)[2:6] == [
        "potential", "regular", "regular", "potential"]


def test_expected_value_makes_a_customer_the_model_sees_growing_potential():
    """d (6 now, 5 before: +20 %, below the 25 % bar) is potential once the model expects 7.5
    (+25 %) next window, not at 7.4; a missing expectation changes nothing; the expectation
    needs the floor too (median 10: d's 7.5 is below it) and positive revenue (f has none)."""
    frame = _value_frame()
    before = pareto_shares(frame["revenue"], frame["customer_id"])["share_before"]
    plain = classify_value(frame, before, TiersConfig(potential_min_quantile=0.0)).tolist()

    def tiers(expected, **settings):
        config = TiersConfig(**{"potential_min_quantile": 0.0, **settings})
        return classify_value(frame.assign(expected_value=expected), before, config).tolist()

    rows = frame["customer_id"].tolist()
    d, f = rows.index("d"), rows.index("f")
    for value, tier in ((7.5, "potential"), (7.4, "regular")):
        assert tiers([np.nan if i != d else value for i in range(len(rows))])[d] == tier
    assert tiers([np.nan] * len(rows)) == plain
    assert tiers([np.nan if i != d else 7.5 for i in range(len(rows))],
                 potential_min_quantile=0.5)[d] == "regular"
    assert tiers([np.nan if i != f else 1e6 for i in range(len(rows))])[f] == plain[f]


# --- the whole table and its summary -------------------------------------------------------


def _risk() -> pd.DataFrame:
    return pd.DataFrame({"customer_id": ["a", "b", "c", "zz"],
                         "churn_proba": [0.9, 0.1, 0.3, 0.5],
                         "tier": ["high", "low", "medium", "medium"]})


def test_customer_tiers_join_risk_and_pick_the_action():
    frame = _value_frame()
    before = frame.copy()
    config = TiersConfig(potential_min_quantile=0.0,
                         actions={"regular|unknown": "send the newsletter"})
    tiers = build_customer_tiers(frame, config, _risk())
    pd.testing.assert_frame_equal(frame, before)  # the input is not changed
    assert tiers["customer_id"].tolist() == list("abcdefg")  # largest revenue first
    assert tiers["risk_tier"].tolist() == ["high", "low", "medium"] + ["unknown"] * 4
    assert tiers["churn_proba"].iloc[:3].tolist() == [0.9, 0.1, 0.3]
    assert tiers["churn_proba"].iloc[3:].isna().all()
    assert tiers["action"].tolist() == [
        "executive visit this week",            # key account | high
        DEFAULT_ACTIONS["potential|low"],       # b
        DEFAULT_ACTIONS["potential|medium"],    # c
        "send the newsletter",                  # d regular | unknown, overridden
        DEFAULT_ACTIONS["potential|unknown"],   # e, new
        "send the newsletter", "send the newsletter",
    ]
    assert tiers["abc_class"].tolist() == ["A", "A", "B", "B", "C", "C", "C"]
    assert tiers["growth"].iloc[:4].tolist() == pytest.approx([.25, .5, .25, .2])
    assert math.isnan(tiers["growth"].iloc[4]) and tiers["growth"].iloc[5] == -1.0


def test_without_churn_scores_every_risk_is_unknown():
    tiers = build_customer_tiers(_value_frame(), TiersConfig())
    assert set(tiers["risk_tier"]) == {"unknown"}
    assert tiers.loc[0, "action"] == DEFAULT_ACTIONS["key account|unknown"]


def test_summary_counts_and_revenue_shares():
    config = TiersConfig(potential_min_quantile=0.0)
    summary = summarise_tiers(build_customer_tiers(_value_frame(), config, _risk()), config)
    assert len(summary) == 10 + 3 + 3 + 4 + 12  # every tier, empty ones included
    abc = summary[summary["dimension"] == "abc_class"].set_index("tier")
    # Net revenue 95: A = a + b = 80, B = c + d = 16, C = e + f + g = 4 + 0 - 5 = -1.
    assert abc["customers"].tolist() == [2, 2, 3]
    assert abc["revenue"].tolist() == [80.0, 16.0, -1.0]
    assert abc["revenue_share"].tolist() == pytest.approx([80 / 95, 16 / 95, -1 / 95])
    assert abc["customer_share"].tolist() == pytest.approx([2 / 7, 2 / 7, 3 / 7])
    cells = summary[summary["dimension"] == "matrix"].set_index("tier")
    assert cells.loc["key account|high", "customers"] == 1
    assert cells.loc["potential|unknown", "revenue"] == 4.0
    assert cells.loc["regular|unknown", "customers"] == 3  # d, f, g
    assert cells.loc["key account|low", "customers"] == 0
    assert cells.loc["key account|high", "action"] == "executive visit this week"
    assert summary.loc[summary["dimension"] != "matrix", "action"].isna().all()
    for _, part in summary.groupby("dimension"):
        assert part["revenue_share"].sum() == pytest.approx(1.0)
        assert part["customers"].sum() == 7


def test_bad_measures_are_errors_that_name_the_problem():
    frame = _value_frame()
    with pytest.raises(ValidationError, match="revenue_prior"):
        build_customer_tiers(frame.drop(columns="revenue_prior"), TiersConfig())
    with pytest.raises(ValidationError, match="repeated customer_id"):
        build_customer_tiers(pd.concat([frame, frame.head(1)]), TiersConfig())
    with pytest.raises(ValidationError, match="'monetary' has 1 empty"):
        build_customer_tiers(frame.assign(monetary=[None, *frame["monetary"][1:]]),
                             TiersConfig())
    bad_risk = _risk().assign(tier=["high", "severe", "low", "low"])
    with pytest.raises(ValidationError, match="severe"):
        build_customer_tiers(frame, TiersConfig(), bad_risk)


# --- config --------------------------------------------------------------------------------


def test_config_defaults_and_partial_actions(tmp_path):
    config = parse_config({"workspace": "ws", "tiers": {"actions": {"key account|high": "fly"}}},
                          tmp_path)
    assert config.tiers.abc_cutoffs == (0.8, 0.95)
    assert config.tiers.actions["key account|high"] == "fly"
    assert config.tiers.actions["regular|low"] == DEFAULT_ACTIONS["regular|low"]
    assert len(config.tiers.actions) == 12


@pytest.mark.parametrize("tiers, message", [
    ({"actions": {"vip|high": "x"}}, "unknown matrix cells"),
    ({"actions": {"regular|low": " "}}, "give an action text"),
    ({"abc_cutoffs": [0.95, 0.8]}, "abc_cutoffs must rise"),
    ({"key_account_share": 0}, "key_account_share"),
    ({"rfm_window": 3}, "unknown key"),
])
def test_config_rejects_bad_settings(tiers, message, tmp_path):
    with pytest.raises(ConfigError, match=message):
        parse_config({"workspace": "ws", "tiers": tiers}, tmp_path)
