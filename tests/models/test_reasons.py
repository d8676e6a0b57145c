"""Reasons: ranked by the customer's own contribution to risk, and true to the features."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from forecast.config import ChurnConfig
from forecast.models.churn import ChurnModel
from forecast.models.reasons import default_rules, explain_churn, rule_contributions

FEATURES = ["orders_trend_90d", "satisfaction_latest", "satisfaction_change",
            "product_lines_90d", "product_lines_prev_90d", "recency_days",
            "recency_to_interval", "segment"]


class LinearStub:
    """A model whose churn probability is a known logistic function of the features."""

    feature_names_in_ = np.array(FEATURES, dtype=object)
    numeric_features_ = FEATURES[:-1]
    reference_values_ = {"orders_trend_90d": 0.0, "satisfaction_latest": 8.0,
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
    assert overdue["reason_2"] == "segment is small"
    assert overdue["reason_3"] is None


def test_contributions_are_probability_differences_to_the_typical_customer():
    stub, frame = LinearStub(), customers()
    rules = [r for r in default_rules() if set(r.features) <= set(FEATURES)]
    contribution = rule_contributions(stub, frame, rules)
    assert contribution.shape == (3, len(rules))
    np.testing.assert_allclose(contribution[1], 0.0, atol=1e-12)


def make_snapshot_features(n: int, seed: int) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(seed)
    prev = rng.integers(0, 5, n)
    frame = pd.DataFrame({
        "customer_id": [f"c{i}" for i in range(n)],
        "orders_trend_90d": rng.uniform(-1, 1, n).round(3),
        "satisfaction_latest": rng.uniform(2, 10, n).round(1),
        "satisfaction_change": rng.uniform(-4, 2, n).round(1),
        "product_lines_90d": np.maximum(prev + rng.integers(-2, 2, n), 0),
        "product_lines_prev_90d": prev,
        "recency_days": rng.integers(1, 200, n),
        "recency_to_interval": rng.uniform(0.2, 4, n).round(2),
        "segment": rng.choice(["key account", "mid-market", "small"], n),
    })
    stub = LinearStub()
    y = (rng.uniform(size=n) < stub.predict_proba(frame)[:, 1]).astype(int)
    return frame, y


def _check_sentence(sentence: str, row: pd.Series) -> None:
    numbers = [float(x) for x in re.findall(r"-?\d+(?:\.\d+)?", sentence)]
    if sentence.startswith("orders in the last 90 days fell"):
        t = row["orders_trend_90d"]
        assert t < 0 and numbers[1] == round(100 * -2 * t / (1 - t))
    elif sentence.startswith("satisfaction fell"):
        before = row["satisfaction_latest"] - row["satisfaction_change"]
        assert numbers == [round(before, 1), round(row["satisfaction_latest"], 1)]
        assert numbers[0] > numbers[1]
    elif sentence.startswith("bought"):
        assert numbers == [row["product_lines_90d"], 90, row["product_lines_prev_90d"]]
        assert numbers[0] < numbers[2]
    elif sentence.startswith("no order for"):
        assert numbers == [row["recency_days"], round(row["recency_to_interval"], 1)]
        assert row["recency_to_interval"] > 1
    elif sentence.startswith("segment is"):
        assert sentence == f"segment is {row['segment']}"
    else:
        pytest.fail(f"unexpected reason {sentence!r}")


def test_reasons_of_a_fitted_model_are_true_statements_about_each_customer():
    frame, y = make_snapshot_features(600, seed=0)
    config = ChurnConfig(candidates=["logistic"], blend=False, splines=False, n_folds=3)
    model = ChurnModel(config).fit(frame, y)
    scored = frame.head(100)
    out = explain_churn(model, scored)
    assert out["customer_id"].tolist() == scored["customer_id"].tolist()
    sentences = 0
    for (_, row), (_, reasons) in zip(scored.iterrows(), out.iterrows(), strict=True):
        for sentence in reasons[["reason_1", "reason_2", "reason_3"]].dropna():
            _check_sentence(sentence, row)
            sentences += 1
    assert sentences > 100
