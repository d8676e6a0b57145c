"""Reasons: ranked by the customer's own contribution to risk, true to the features, fast."""

from __future__ import annotations

import re
from typing import ClassVar

import numpy as np
import pandas as pd
import pytest

from forecast.models.churn import ChurnModel
from forecast.models.reason_rules import ReasonRule, Sentence, default_rules, render
from forecast.models.reasons import (
    FeatureEffect,
    choose_reasons,
    explain_churn,
    rule_contributions,
    usable_rules,
)

FEATURES = ["orders_trend_90d", "satisfaction_latest", "satisfaction_change",
            "product_lines_90d", "product_lines_prev_90d", "recency_days",
            "recency_to_interval", "segment"]


class LinearStub:
    """A model whose churn probability is a known logistic function of the features."""

    feature_names_in_ = np.array(FEATURES, dtype=object)
    numeric_features_ = FEATURES[:-1]
    reference_values_: ClassVar[dict] = {"orders_trend_90d": 0.0, "satisfaction_latest": 8.0,
                         "satisfaction_change": 0.0, "product_lines_90d": 2.0,
                         "product_lines_prev_90d": 2.0, "recency_days": 30.0,
                         "recency_to_interval": 1.0, "segment": "mid-market"}

    def predict_proba(self, frame: pd.DataFrame) -> np.ndarray:
        logit = (-2.0 * frame["orders_trend_90d"] - 0.5 * frame["satisfaction_change"]
                 - 0.3 * (frame["product_lines_90d"] - frame["product_lines_prev_90d"])
                 + 0.01 * frame["recency_days"] + 0.5 * frame["recency_to_interval"]
                 + (frame["segment"] == "small") * 0.2 - 2.0)
        p = 1 / (1 + np.exp(-logit.to_numpy(float)))
        return np.column_stack([1 - p, p])


def customers() -> pd.DataFrame:
    return pd.DataFrame({
        "customer_id": ["falling", "typical", "overdue"],
        "orders_trend_90d": [-0.6, 0.0, 0.0],
        "satisfaction_latest": [5.2, 8.0, 8.0],
        "satisfaction_change": [-2.9, 0.0, 0.0],
        "product_lines_90d": [1, 2, 2],
        "product_lines_prev_90d": [3, 2, 2],
        "recency_days": [30, 30, 75],
        "recency_to_interval": [1.0, 1.0, 3.0],
        "segment": ["mid-market", "mid-market", "small"],
    })


def test_reasons_are_ranked_by_contribution_and_worded_from_the_features():
    out = explain_churn(LinearStub(), customers())
    falling = out.iloc[0]
    # Logit contributions: trend -2 x -0.6 = 1.2; satisfaction -0.5 x -2.9 = 1.45;
    # product lines -0.3 x (1 - 3) = 0.6. Orders fell 2 x .6 / 1.6 = 75%.
    assert falling["reason_1"] == "satisfaction fell from 8.1 to 5.2"
    assert falling["reason_2"] == "orders in the last 90 days fell 75% vs the 90 days before"
    assert falling["reason_3"] == "bought 1 product line(s) in the last 90 days vs 3 before"


def test_typical_customer_gets_no_reasons_and_only_risk_raising_reasons_are_given():
    out = explain_churn(LinearStub(), customers())
    assert out.iloc[1][["reason_1", "reason_2", "reason_3"]].isna().all()
    overdue = out.iloc[2]
    # recency 75 vs 30 and ratio 3 vs 1: 0.45 + 1.0 logit; small segment 0.2; nothing else.
    assert overdue["reason_1"] == "no order for 75 days, 3.0x the usual interval"
    assert overdue["reason_2"] == "in the small segment, riskier than mid-market"
    assert overdue["reason_3"] is None


def test_contributions_are_probability_differences_to_the_typical_customer():
    stub, frame = LinearStub(), customers()
    rules = usable_rules(stub)
    contribution = rule_contributions(stub, frame, rules)
    assert contribution.shape == (3, len(rules))
    np.testing.assert_allclose(contribution[1], 0.0, atol=1e-12)
    # The overdue customer's recency rule sets recency 75 -> 30 and ratio 3 -> 1: log-odds
    # 0.75 + 1.5 + 0.2 - 2 = 0.45 against 0.3 + 0.5 + 0.2 - 2 = -1.
    recency = [r.family for r in rules].index("recency")
    expected = 1 / (1 + np.exp(-0.45)) - 1 / (1 + np.exp(1.0))
    assert contribution[2, recency] == pytest.approx(expected, rel=1e-9)


def _rule(family: str) -> ReasonRule:
    return ReasonRule(family, (), lambda c, r: np.ones(1, bool), lambda c, r: np.array([""]))


def test_one_reason_per_family_and_only_positive_holding_candidates():
    rules = [_rule("recency"), _rule("activity"), _rule("activity"), _rule("satisfaction")]
    contribution = np.array([[0.5, 0.9, 0.8, 0.1],
                             [0.5, -0.2, 0.3, 0.7],
                             [0.0, 0.0, 0.0, 0.0]])
    holds = np.array([[True, True, True, True],
                      [True, True, True, False],
                      [True, True, True, True]])
    chosen = choose_reasons(contribution, holds, rules, n_reasons=3)
    # Row 0: activity's best (rule 1) beats its sibling; row 1: rule 3 does not hold and
    # rule 1 lowers the risk; row 2: nothing raises the risk.
    assert chosen.tolist() == [[1, 0, 3], [0, 2, -1], [-1, -1, -1]]


def test_feature_effect_interpolates_holds_the_ends_and_knows_missing_values():
    effect = FeatureEffect(np.array([0.0, 10.0, 20.0]), np.array([-1.0, 0.0, 2.0]), 0.7, True)
    got = effect.of(np.array([5.0, 15.0, -3.0, 99.0, np.nan]))
    np.testing.assert_allclose(got, [-0.5, 1.0, -1.0, 2.0, 0.7])
    categories = FeatureEffect(np.array(["a", "b"], dtype=object), np.array([0.0, 0.4]), 0.2,
                               False)
    got = categories.of(np.array(["b", "zzz", None, "a"], dtype=object))
    np.testing.assert_allclose(got, [0.4, 0.0, 0.2, 0.0])


def test_sentences_print_rounded_numbers_and_the_first_matching_template_wins():
    days = np.array([30.4, 30.6, 7.0, 30.4])
    ratio = np.array([2.25, 1.04, 0.5, 2.24])
    sentences = [Sentence("{:.0f} days, {:.1f}x", (days, ratio), ratio > 1),
                 Sentence("{:.0f} days", (days,), days > 10),
                 Sentence("{:num} and {:num}", (days * 100, ratio))]
    assert render(sentences, 4).tolist() == ["30 days, 2.2x", "31 days, 1.0x",
                                             "700 and 0.5", "30 days, 2.2x"]
    assert render([Sentence("none", (), days > 100)], 4).tolist() == [None] * 4
    assert render([Sentence("{} is {{x}}", (np.array(["a", None], dtype=object),))],
                  2).tolist() == ["a is {x}", "None is {x}"]


def test_product_mix_reason_needs_fewer_lines_per_order_not_just_fewer_orders():
    rule = next(r for r in default_rules() if r.family == "product_mix")
    columns = {"product_lines_90d": np.array([1.0, 1.0, 0.0]),
               "product_lines_prev_90d": np.array([3.0, 3.0, 2.0]),
               # 1 vs 3 orders (trend -0.5): as many lines per order; 3 vs 3 orders: narrower.
               "orders_90d": np.array([1.0, 3.0, 0.0]),
               "orders_trend_90d": np.array([-0.5, 0.0, -1.0])}
    assert rule.holds(columns, {}).tolist() == [False, True, False]


def make_snapshot_features(n: int, seed: int) -> tuple[pd.DataFrame, np.ndarray]:
    """Snapshot-like features of n customers and labels from a known logistic risk."""
    rng = np.random.default_rng(seed)
    prev = rng.integers(0, 5, n)
    frame = pd.DataFrame({
        "customer_id": [f"c{i}" for i in range(n)],
        "orders_trend_90d": rng.uniform(-1, 1, n).round(3),
        "satisfaction_latest": rng.uniform(2, 10, n).round(1),
        "satisfaction_change": rng.uniform(-4, 2, n).round(1),
        "days_since_survey": rng.integers(1, 200, n),
        "product_lines_90d": np.maximum(prev + rng.integers(-2, 2, n), 0),
        "product_lines_prev_90d": prev,
        "recency_days": rng.integers(1, 200, n),
        "recency_to_interval": rng.uniform(0.2, 4, n).round(2),
        "interval_mean_days": rng.uniform(10, 200, n).round(1),
        "tenure_days": rng.integers(30, 1500, n),
        "monetary_mean": rng.lognormal(5, 1, n).round(2),
        "segment": rng.choice(["key account", "mid-market", "small"], n),
        "region": rng.choice(["North", "South", "West"], n),
    })
    logit = (-1.5 * frame["orders_trend_90d"] - 0.4 * frame["satisfaction_change"]
             + 0.01 * frame["days_since_survey"] + 0.005 * frame["interval_mean_days"]
             - 0.001 * frame["tenure_days"] + 0.4 * (frame["region"] == "West") - 1.0)
    y = (rng.uniform(size=n) < 1 / (1 + np.exp(-logit))).astype(int)
    return frame, y


PATTERNS = {
    "activity": r"orders in the last 90 days fell (\d+)% vs the 90 days before",
    "fell": r"satisfaction fell from (\S+) to (\S+)",
    "low": r"satisfaction score (\S+), below the typical (\S+)",
    "surveys": r"no satisfaction survey answered for (\d+) days, typical (\d+)",
    "mix": r"bought (\d+) product line\(s\) in the last 90 days vs (\d+) before",
    "overdue": r"no order for (\d+) days, (\S+)x the usual interval",
    "recency": r"no order for (\d+) days, typical (\d+)",
    "rare": r"orders every (\d+) days on average, typical (\d+)",
    "tenure": r"a customer for only (\d+) days, typical (\d+)",
    "value": r"average order (\S+), typical (\S+)",
    "segment": r"in the (.+) segment, riskier than (.+)",
    "region": r"in region (.+), riskier than (.+)",
}


def _check_sentence(sentence: str, row: pd.Series, ref: dict) -> str:
    """Assert the sentence is true of the row; return its kind."""
    for kind, pattern in PATTERNS.items():
        match = re.fullmatch(pattern, sentence)
        if match:
            break
    else:
        pytest.fail(f"unexpected reason {sentence!r}")
    a = match.group(1)
    if kind == "activity":
        t = row["orders_trend_90d"]
        assert t < 0 and float(a) == round(100 * -2 * t / (1 - t))
    elif kind == "fell":
        before = row["satisfaction_latest"] - row["satisfaction_change"]
        assert (float(a), float(match.group(2))) == (round(before, 1),
                                                     round(row["satisfaction_latest"], 1))
        assert float(a) > float(match.group(2))
    elif kind == "low":
        assert float(a) == round(row["satisfaction_latest"], 1) < ref["satisfaction_latest"]
    elif kind in ("surveys", "recency", "rare", "tenure"):
        column = {"surveys": "days_since_survey", "recency": "recency_days",
                  "rare": "interval_mean_days", "tenure": "tenure_days"}[kind]
        assert float(a) == round(row[column])
        assert float(match.group(2)) == round(ref[column])
        assert (row[column] < ref[column]) if kind == "tenure" else (row[column] > ref[column])
    elif kind == "mix":
        assert (float(a), float(match.group(2))) == (row["product_lines_90d"],
                                                     row["product_lines_prev_90d"])
        assert 1 <= float(a) < float(match.group(2))
    elif kind == "overdue":
        assert float(a) == row["recency_days"] and row["recency_to_interval"] > 1
        assert float(match.group(2)) == round(row["recency_to_interval"], 1)
    elif kind == "value":
        assert row["monetary_mean"] < ref["monetary_mean"]
    else:
        assert a == row[kind] and match.group(2) == ref[kind] != a
    return kind


@pytest.fixture(scope="module")
def fitted():
    frame, y = make_snapshot_features(800, seed=0)
    model = ChurnModel(candidates=("logistic",), blend=False, splines=False, n_folds=3,
                       calibration="sigmoid")
    return frame, model.fit(frame, y)


def test_reasons_of_a_fitted_model_are_true_statements_about_each_customer(fitted):
    frame, model = fitted
    scored = frame.head(200)
    out = explain_churn(model, scored)
    assert out["customer_id"].tolist() == scored["customer_id"].tolist()
    kinds = []
    for (_, row), (_, reasons) in zip(scored.iterrows(), out.iterrows(), strict=True):
        given = reasons[["reason_1", "reason_2", "reason_3"]].dropna()
        kinds += [_check_sentence(s, row, model.reference_values_) for s in given]
    assert len(kinds) > 300
    # The planted risks come out: falling orders, satisfaction, survey silence, the West.
    assert {"activity", "fell", "surveys", "region"} <= set(kinds)


def test_additive_attribution_of_a_logistic_model_is_its_scaled_coefficients(fitted):
    _, model = fitted
    (_, pipeline, calibrator), = model.members_
    prep, regression = pipeline.named_steps["prep"], pipeline.named_steps["model"]
    weights = regression.coef_.ravel()[prep.output_indices_["num"]]
    scale = prep.named_transformers_["num"][-1].scale_
    slope = calibrator.model_.coef_.ravel()[0]  # sigmoid calibration: a linear map of log-odds
    for i, feature in enumerate(model.numeric_features_):
        effect = model.attribution_[feature]
        reference = model.reference_values_[feature]
        inside = np.linspace(effect.grid[0], effect.grid[-1], 7)
        np.testing.assert_allclose(effect.of(inside),
                                   slope * weights[i] / scale[i] * (inside - reference),
                                   atol=1e-9)


def test_additive_and_exact_reasons_agree_for_a_logistic_model(fitted):
    frame, model = fitted
    scored = frame.head(300)
    additive = explain_churn(model, scored, method="additive")
    exact = explain_churn(model, scored, method="exact")
    pd.testing.assert_frame_equal(additive, exact)


def test_reason_families_can_be_returned_for_counting(fitted):
    frame, model = fitted
    out = explain_churn(model, frame.head(50), families=True)
    for k in (1, 2, 3):
        given = out[f"reason_{k}"].notna()
        assert (out[f"family_{k}"].notna() == given).all()
    satisfaction = out["reason_1"].fillna("").str.startswith("satisfaction fell")
    assert (out.loc[satisfaction, "family_1"] == "satisfaction").all() and satisfaction.any()
