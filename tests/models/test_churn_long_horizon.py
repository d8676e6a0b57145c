"""A churn horizon long against the history: validated across customers, not in time.

The test bed is a generated company with two years of orders and a one-year churn horizon,
snapshots every quarter: no two cutoffs with known labels are a horizon apart, so no cutoff can
be validated by a model trained on labels known by then. Training used to stop there; now the
latest complete cutoff is validated by stratified K-fold across customers, with a warning that
it is not out-of-time, and the model must beat a logistic regression on recency, frequency and
monetary value alone on the same folds.
"""

from __future__ import annotations

import logging
from datetime import date

import numpy as np
import pandas as pd
import pytest
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_limits

from forecast.config import Config, SynthOptions
from forecast.errors import ValidationError
from forecast.factory import churn_training_set
from forecast.models.churn_data import (
    RFM_FEATURES,
    TimeAwareSplit,
    customer_folds,
    plan_validation,
)

HORIZON = 365
OPTIONS = SynthOptions(customers=1500, years=2, seed=0)  # orders from 2024-11 to 2026-10
# Labels are known up to 2025-11-01 (a year before the data end); 2026-11-01 is for scoring.
CUTOFFS = (date(2025, 5, 1), date(2025, 8, 1), date(2025, 11, 1), date(2026, 11, 1))
LATEST_COMPLETE = "2025-11-01"


def long_horizon_config(root) -> Config:
    """The demo config of the company generated under ``root`` with a one-year horizon."""
    from forecast.pipeline import demo_config

    config = demo_config(root / "data", root / "ws")
    customers = config.features.customers.model_copy(
        update={"horizon_days": HORIZON, "cutoffs": CUTOFFS})
    return config.model_copy(update={
        "features": config.features.model_copy(update={"customers": customers}),
        "churn": config.churn.model_copy(update={"horizon_days": HORIZON})})


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """The training summary of ``train_churn`` on the long-horizon company, and its table."""
    from forecast.features.customers import build_snapshot_sql
    from forecast.io import warehouse
    from forecast.io.ingest import ingest
    from forecast.pipeline import train_churn
    from forecast.synth import generate_company

    root = tmp_path_factory.mktemp("long_horizon")
    generate_company(OPTIONS, root / "data")
    config = long_horizon_config(root)
    ingest(config)
    # One OpenMP thread: on a busy machine, boosting's threads otherwise contend for cores.
    with pytest.MonkeyPatch.context() as patch, threadpool_limits(1):
        patch.delenv("MLFLOW_TRACKING_URI", raising=False)
        summary = train_churn(config)
    with warehouse.connect(config.workspace, read_only=True) as con:
        frame = con.execute(*build_snapshot_sql(con, config.features.customers, CUTOFFS)).df()
    return summary, frame, config


def test_the_test_bed_has_no_cutoff_that_can_be_validated_in_time(trained):
    _, frame, config = trained
    X, _ = churn_training_set(frame, config.churn)
    assert sorted(X["cutoff"].astype(str).str[:10].unique()) == [
        "2025-05-01", "2025-08-01", LATEST_COMPLETE]
    assert TimeAwareSplit(2, HORIZON).folds(X["cutoff"]) == []


def test_training_validates_across_customers_and_says_it_is_not_out_of_time(trained):
    summary, _, _ = trained
    assert summary.validation.startswith(
        f"stratified k-fold across customers on cutoff {LATEST_COMPLETE} (not out-of-time")
    rows_at_latest = summary.candidates[0]["n_validated"]
    assert summary.metrics["n"] == rows_at_latest > 500


def test_the_model_beats_recency_frequency_monetary_on_the_same_folds(trained):
    summary, frame, config = trained
    metrics = summary.metrics
    assert metrics["roc_auc"] >= metrics["baseline_auc"]
    # The recorded baseline is a logistic regression on R, F and M over the model's own folds.
    X, y = churn_training_set(frame, config.churn)
    X = X.reset_index(drop=True)
    splits = plan_validation(X, y, validation_cutoffs=2, horizon_days=HORIZON, n_folds=5,
                             seed=0, id_column="customer_id").splits
    rfm = X[list(RFM_FEATURES)].astype(float).to_numpy()
    baseline = make_pipeline(SimpleImputer(strategy="median"), StandardScaler(),
                             LogisticRegression(max_iter=1000))
    rows = np.concatenate([test for _, test in splits])
    proba = np.concatenate([baseline.fit(rfm[train], y[train]).predict_proba(rfm[test])[:, 1]
                            for train, test in splits])
    assert metrics["baseline_auc"] == pytest.approx(roc_auc_score(y[rows], proba), abs=1e-4)


def _stacked(n_customers: int, cutoffs: list[str], seed: int = 0) -> tuple[pd.DataFrame,
                                                                           np.ndarray]:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({
        "customer_id": np.tile([f"c{i}" for i in range(n_customers)], len(cutoffs)),
        "cutoff": pd.to_datetime(np.repeat(cutoffs, n_customers)),
        "recency_days": rng.integers(1, 300, n_customers * len(cutoffs))})
    return frame, (rng.uniform(size=len(frame)) < 0.3).astype(int)


def test_customer_folds_validate_each_latest_row_once_and_never_train_on_its_customer():
    X, y = _stacked(100, ["2025-01-01", "2025-04-01", "2025-07-01"])
    folds = customer_folds(X["cutoff"], y, X["customer_id"], n_folds=5, seed=0)
    latest = np.flatnonzero(X["cutoff"] == pd.Timestamp("2025-07-01"))
    validated = np.concatenate([test for _, test in folds])
    assert sorted(validated) == sorted(latest)
    for train, test in folds:
        held_out = set(X["customer_id"].iloc[test])
        assert held_out.isdisjoint(X["customer_id"].iloc[train])
        # Every other customer's rows, at every cutoff, are training rows.
        assert len(train) == 3 * (100 - len(held_out))
        assert abs(y[test].mean() - y[latest].mean()) < 0.1


def test_the_fallback_is_logged_as_a_warning_and_time_aware_folds_are_kept(caplog):
    X, y = _stacked(100, ["2025-01-01", "2025-04-01"])
    with caplog.at_level(logging.WARNING, logger="forecast.models.churn_data"):
        validation = plan_validation(X, y, validation_cutoffs=2, horizon_days=365, n_folds=5,
                                     seed=0, id_column="customer_id")
    assert not validation.out_of_time
    assert "not out-of-time" in caplog.text and "2025-04-01" in caplog.text
    in_time = plan_validation(X, y, validation_cutoffs=2, horizon_days=90, n_folds=5, seed=0,
                              id_column="customer_id")
    assert in_time.out_of_time and in_time.scheme.startswith("out-of-time on cutoffs 2025-04-01")
    assert len(in_time.splits) == 1


def test_too_few_churners_at_the_latest_cutoff_is_an_error_that_says_so():
    X, y = _stacked(50, ["2025-01-01", "2025-04-01"])
    y[50:] = 0
    y[50:53] = 1
    with pytest.raises(ValidationError, match="3 churners and 47 stayers"):
        plan_validation(X, y, validation_cutoffs=2, horizon_days=365, n_folds=5, seed=0,
                        id_column="customer_id")
