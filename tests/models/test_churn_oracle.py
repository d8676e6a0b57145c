"""The synthetic generator's churn oracle: calibrated, certain about the departed, a ceiling."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from forecast.config import SynthOptions
from forecast.synth.oracle import churn_oracle

OPTIONS = SynthOptions(customers=1500, years=2, seed=3)
CUTOFFS = [date(2026, 4, 1), date(2026, 7, 1)]


@pytest.fixture(scope="module")
def labelled(tmp_path_factory, synthetic_snapshots):
    """Snapshot labels of a small company with both oracles' probabilities."""
    frame = synthetic_snapshots(tmp_path_factory.mktemp("oracle"), OPTIONS, CUTOFFS)
    frame = frame[["customer_id", "cutoff", "churned"]]
    full = churn_oracle(OPTIONS, CUTOFFS)
    hazard = churn_oracle(OPTIONS, CUTOFFS, knows_rate=False)
    out = frame.merge(full, on=["customer_id", "cutoff"], how="left")
    return out.merge(hazard[["customer_id", "cutoff", "oracle_proba"]].rename(
        columns={"oracle_proba": "hazard_proba"}), on=["customer_id", "cutoff"], how="left")


def test_every_snapshot_customer_has_both_oracle_probabilities(labelled):
    assert labelled[["oracle_proba", "hazard_proba"]].notna().all().all()
    assert labelled[["oracle_proba", "hazard_proba"]].stack().between(0, 1).all()


def test_customers_who_already_left_are_certain_churners(labelled):
    gone = labelled[labelled["state"] == "churned"]
    assert len(gone) > 100
    assert (gone["oracle_proba"] == 1).all() and (gone["hazard_proba"] == 1).all()
    assert gone["churned"].all()  # nobody buys after the churn day


def test_the_oracles_are_calibrated(labelled):
    y = labelled["churned"].astype(float)
    for column in ("oracle_proba", "hazard_proba"):
        assert labelled[column].mean() == pytest.approx(y.mean(), abs=0.02)
        # And within deciles of their own probability.
        bins = pd.qcut(labelled[column].rank(method="first"), 5, labels=False)
        table = pd.DataFrame({"p": labelled[column], "y": y}).groupby(bins).mean()
        np.testing.assert_allclose(table["p"], table["y"], atol=0.08)


def test_knowing_the_purchase_rate_ranks_better(labelled):
    y = labelled["churned"].astype(int)
    assert roc_auc_score(y, labelled["oracle_proba"]) > roc_auc_score(
        y, labelled["hazard_proba"]) + 0.01
