"""The churn model on a synthetic company, judged against the generator's truth (slow).

The oracle (forecast.synth.oracle) is the probability of the label given the generator's churn
hazard and lifecycle at the cutoff; the model must come within 0.03 ROC-AUC of it, and stay
below the full-information oracle that also knows each customer's own purchase rate. The
reasons of high-risk customers must be the planted drivers (see
experiments/benchmarks/bench_churn_synth.py for the recorded figures).
"""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from forecast.config import ChurnConfig, SynthOptions
from forecast.factory import fit_churn_model
from forecast.models.reasons import explain_churn
from forecast.synth.oracle import churn_oracle

OPTIONS = SynthOptions(customers=3000, years=3, seed=0)
CUTOFFS = [date(2024, 7, 1), date(2024, 10, 1), date(2025, 1, 1), date(2025, 4, 1),
           date(2025, 7, 1), date(2025, 10, 1), date(2026, 1, 1), date(2026, 4, 1),
           date(2026, 7, 1)]
HELD_OUT = pd.Timestamp(CUTOFFS[-1])
DRIVER_FAMILIES = {"frequency": {"recency", "activity", "frequency"},
                   "satisfaction": {"satisfaction"}, "product_mix": {"product_mix"}}
# No survey answered: the generator stops surveys at churn, so it shows the customer has left.
DEPARTURE = {"surveys"}


@pytest.fixture(scope="module")
def company(tmp_path_factory, synthetic_snapshots):
    """Snapshots, the model fitted on the cutoffs known 90 days before the held-out one, the
    held-out rows with the model's and the oracles' probabilities, and the ground truth."""
    root = tmp_path_factory.mktemp("synthetic")
    frame = synthetic_snapshots(root, OPTIONS, CUTOFFS, "churned IS NOT NULL")
    model = fit_churn_model(frame[frame["cutoff"] <= HELD_OUT - pd.Timedelta(days=90)],
                            ChurnConfig())
    held = frame[frame["cutoff"] == HELD_OUT].reset_index(drop=True)
    held["proba"] = model.predict_proba(held)[:, 1]
    for name, knows_rate in (("hazard", False), ("full", True)):
        oracle = churn_oracle(OPTIONS, [HELD_OUT.date()], knows_rate=knows_rate)
        held = held.merge(oracle[["customer_id", "oracle_proba"]].rename(
            columns={"oracle_proba": name}), on="customer_id", how="left")
    truth = pd.read_parquet(root / "data" / "ground_truth" / "customers.parquet")
    return frame, model, held, truth


@pytest.mark.slow
def test_model_auc_is_within_003_of_the_churn_hazard_oracle(company):
    _, _, held, _ = company
    assert held[["hazard", "full"]].notna().all().all()
    y = held["churned"].astype(int)
    model, hazard, full = (roc_auc_score(y, held[c]) for c in ("proba", "hazard", "full"))
    assert abs(model - hazard) <= 0.03
    # Knowing each customer's own purchase rate is information no snapshot holds.
    assert model < full


@pytest.fixture(scope="module")
def high_risk(company):
    _, model, held, truth = company
    explained = explain_churn(model, held, families=True)
    out = held[["customer_id", "proba"]].join(explained.filter(like="family_"))
    out = out.merge(truth[["customer_id", "drivers"]], on="customer_id", how="left")
    return out[out["proba"] >= model.tier_high]


@pytest.mark.slow
def test_the_most_given_reasons_of_high_risk_customers_are_the_planted_drivers(high_risk):
    given = pd.concat([high_risk[f"family_{k}"] for k in (1, 2, 3)]).dropna()
    top = list(given.value_counts().index[:3])
    planted = set().union(*DRIVER_FAMILIES.values())
    assert set(top) <= planted | DEPARTURE
    assert len(set(top) & planted) >= 2


@pytest.mark.slow
def test_satisfaction_reasons_go_to_the_customers_with_the_satisfaction_driver(high_risk):
    has = high_risk["drivers"].fillna("").str.contains("satisfaction").to_numpy()
    shown = high_risk[["family_1", "family_2", "family_3"]].isin({"satisfaction"}).any(axis=1)
    shown = shown.to_numpy()
    assert has.sum() > 50 and (~has).sum() > 50
    assert shown[has].mean() >= 1.5 * shown[~has].mean()


@pytest.mark.slow
def test_a_narrowing_product_mix_means_more_churn(company):
    frame, _, _, _ = company
    with_basket = frame[frame["product_lines_change_90d"].notna()]
    sign = np.sign(with_basket["product_lines_change_90d"])
    rate = with_basket["churned"].astype(float).groupby(sign).mean()
    assert rate[-1] > rate[0] > rate[1]
