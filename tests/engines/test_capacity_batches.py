"""A churn model's pyfunc output does not depend on how rows are batched: ``capacity`` (the N
riskiest customers are ``high``) is a global step after scoring, never applied per batch."""

from __future__ import annotations

import numpy as np
import pandas as pd
from scoring_helpers import clone_with

from forecast.models.churn import assign_tiers


def test_predict_frame_gives_the_same_tiers_at_once_and_in_batches(snapshot_frame,
                                                                    churn_models):
    model = clone_with(churn_models[0], capacity=10)
    rows = snapshot_frame.drop(columns=["churned", "label_complete"]).head(400)
    at_once = model.predict_frame(rows)
    batched = pd.concat([model.predict_frame(rows.iloc[k:k + 50]) for k in range(0, 400, 50)],
                        ignore_index=True)
    pd.testing.assert_frame_equal(batched, at_once)
    proba = at_once["churn_proba"].to_numpy()
    expected = np.where(proba >= model.tier_high, "high",
                        np.where(proba >= model.tier_medium, "medium", "low"))
    assert at_once["tier"].tolist() == expected.tolist()
    # Capacity is applied once, over every probability of the run.
    capped = assign_tiers(proba, model.tier_high, model.tier_medium, model.capacity)
    assert (capped == "high").sum() == 10
    whole = model.score_customers(rows)
    assert (whole["tier"] == "high").sum() == 10
    assert whole["tier"].tolist() == capped.tolist()
