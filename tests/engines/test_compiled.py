"""The compiled churn model predicts what the scikit-learn pipelines predict."""

from __future__ import annotations

import copy
import functools

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from forecast.engines.compiled import compile_churn_model
from forecast.engines.trees import compile_boosting
from forecast.models.churn import ChurnModel


def make_customers(n: int, seed: int) -> tuple[pd.DataFrame, np.ndarray]:
    """Numbers with gaps, a flag, a category with a rare value and gaps, and a known risk."""
    rng = np.random.default_rng(seed)
    recency = rng.integers(1, 300, n).astype(float)
    recency[rng.random(n) < 0.05] = np.nan
    trend = rng.uniform(-1, 1, n)
    sat = rng.uniform(2, 10, n).round(1)
    sat[rng.random(n) < 0.2] = np.nan
    segment = rng.choice(["key account", "mid-market", "small"], n, p=[0.2, 0.3, 0.5])
    segment = np.where(rng.random(n) < 0.005, "rare", segment).astype(object)
    segment[rng.random(n) < 0.05] = None
    frame = pd.DataFrame({"customer_id": [f"c{i}" for i in range(n)], "recency_days": recency,
                          "orders_trend_90d": trend, "satisfaction_latest": sat,
                          "promo": rng.random(n) < 0.3, "segment": segment})
    logit = (0.012 * (np.nan_to_num(recency, nan=150) - 150) - 1.2 * trend
             - 0.3 * (np.nan_to_num(sat, nan=6) - 6) + 0.8 * (segment == "small"))
    return frame, (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)


def scoring_frame() -> pd.DataFrame:
    """New customers, with a category the model never saw and gaps everywhere."""
    frame, _ = make_customers(400, seed=7)
    frame.loc[:9, "segment"] = "brand new segment"
    frame.loc[10:19, "recency_days"] = np.nan
    frame.loc[20:29, "satisfaction_latest"] = np.nan
    frame.loc[30:39, "recency_days"] = 5000.0  # beyond every training value
    return frame


@functools.cache
def fit(candidate: str) -> ChurnModel:
    frame, y = make_customers(600, seed=0)
    return ChurnModel(candidates=(candidate,), n_folds=3).fit(frame, y)


@pytest.fixture(scope="module", params=["logistic", "gradient_boosting", "blend"])
def model(request):
    if request.param != "blend":
        return fit(request.param)
    # A blend of both kinds of member: the mean of their calibrated probabilities.
    blend = copy.deepcopy(fit("logistic"))
    blend.members_ = [*blend.members_, *fit("gradient_boosting").members_]
    return blend


def test_compiled_probabilities_equal_the_pipelines(model):
    frame = scoring_frame()
    compiled = compile_churn_model(model)
    expected = model.predict_proba(frame)[:, 1]
    got = compiled.predict(compiled.arrays_from_frame(frame))
    np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-15)
    arrow = pa.Table.from_pandas(frame, preserve_index=False)
    np.testing.assert_array_equal(compiled.predict(compiled.arrays_from_arrow(arrow)), got)


def test_unknown_and_missing_categories_have_their_own_slot(model):
    compiled = compile_churn_model(model)
    (vocabulary,) = compiled.vocabularies
    assert "missing" in vocabulary and "small" in vocabulary
    codes = compiled.arrays_from_frame(scoring_frame()).codes[0]
    assert (codes[:10] == len(vocabulary)).all()


def test_compiled_trees_give_scikit_learns_raw_predictions_bit_for_bit():
    model = fit("gradient_boosting")
    (_, pipeline, _), = model.members_
    prep, boosting = pipeline.named_steps["prep"], pipeline.named_steps["model"]
    inputs = boosting._preprocess_X(prep.transform(model._features(scoring_frame())),
                                    reset=False)
    expected = boosting._raw_predict(inputs)[:, 0]
    got = compile_boosting(boosting).raw_predict(np.ascontiguousarray(inputs.T), block_rows=97)
    np.testing.assert_array_equal(got, expected)


def test_a_model_with_empty_feature_columns_compiles():
    frame, y = make_customers(600, seed=3)
    frame["days_since_survey"] = np.nan
    model = ChurnModel(candidates=("logistic", "gradient_boosting"), n_folds=3,
                       blend=True).fit(frame, y)
    scoring = scoring_frame().assign(days_since_survey=np.nan)
    compiled = compile_churn_model(model)
    assert "days_since_survey" not in compiled.numeric
    np.testing.assert_allclose(compiled.predict(compiled.arrays_from_frame(scoring)),
                               model.predict_proba(scoring)[:, 1], rtol=1e-12, atol=1e-15)
