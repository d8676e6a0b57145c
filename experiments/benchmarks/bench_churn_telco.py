"""Benchmark: churn model on IBM Telco, 5-fold stratified CV (seed 0), out-of-fold pooled.

Every fold trains :class:`forecast.models.churn.ChurnModel` on the other four folds only (its
tuning, calibration and candidate choice use inner folds of that training part), then scores the
held-out fold. The pooled out-of-fold probabilities give the figures in
``results/churn_telco.json``.

Usage::

    .venv/bin/python experiments/benchmarks/bench_churn_telco.py [--data PATH] [--jobs 2]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

import numpy as np
import pandas as pd
import sklearn
from joblib import Parallel, delayed
from sklearn.model_selection import StratifiedKFold

from forecast.config import ChurnConfig
from forecast.evaluation.classification import classification_metrics
from forecast.factory import churn_training_set, fit_churn_model

HERE = Path(__file__).resolve().parent
DEFAULT_DATA = HERE.parents[2] / "shared" / "data" / "telco_churn" / "Telco-Customer-Churn.csv"
SERVICES = ("PhoneService", "MultipleLines", "OnlineSecurity", "OnlineBackup",
            "DeviceProtection", "TechSupport", "StreamingTV", "StreamingMovies")
GOAL = {"roc_auc": 0.850, "brier": 0.134}
CONFIG = ChurnConfig(label_column="Churn", id_column="customerID", n_folds=5, seed=0)


def prepare_telco(raw: pd.DataFrame) -> pd.DataFrame:
    """Telco as read: blank TotalCharges (tenure-0 customers) become NaN, and three derived
    features: ``n_services``, ``avg_monthly_charge`` (TotalCharges / tenure) and
    ``charge_change`` (MonthlyCharges - avg_monthly_charge)."""
    frame = raw.copy()
    frame["TotalCharges"] = pd.to_numeric(frame["TotalCharges"].astype(str).str.strip()
                                          .replace("", np.nan))
    frame["n_services"] = (frame[list(SERVICES)] == "Yes").sum(axis=1)
    frame["avg_monthly_charge"] = frame["TotalCharges"] / frame["tenure"].replace(0, np.nan)
    frame["charge_change"] = frame["MonthlyCharges"] - frame["avg_monthly_charge"]
    return frame


def _fold(frame: pd.DataFrame, train: np.ndarray, test: np.ndarray, config: ChurnConfig):
    model = fit_churn_model(frame.iloc[train], config)
    X_test, _ = churn_training_set(frame.iloc[test], config)
    return test, model.predict_proba(X_test)[:, 1], model.chosen_, model.threshold_


def run_cv(frame: pd.DataFrame, config: ChurnConfig, jobs: int) -> dict:
    """Outer 5-fold stratified CV; returns pooled out-of-fold metrics and per-fold choices."""
    _, y = churn_training_set(frame, config)
    folds = StratifiedKFold(5, shuffle=True, random_state=0).split(np.zeros(len(y)), y)
    results = Parallel(n_jobs=jobs)(delayed(_fold)(frame, tr, te, config) for tr, te in folds)
    proba = np.empty(len(y))
    for test, p, _, _ in results:
        proba[test] = p
    metrics = classification_metrics(y, proba)
    metrics["chosen_per_fold"] = [r[2] for r in results]
    metrics["threshold_per_fold"] = [round(r[3], 4) for r in results]
    return metrics


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--jobs", type=int, default=1, help="outer folds run in parallel")
    parser.add_argument("--out", type=Path, default=HERE / "results" / "churn_telco.json")
    args = parser.parse_args()
    raw = pd.read_csv(args.data)
    record = {"protocol": "5-fold stratified CV, seed 0, out-of-fold pooled; tuning, calibration "
                          "and model choice inside each training fold (inner 5-fold, seed 0)",
              "goal": GOAL, "config": CONFIG.model_dump(mode="json"), "variants": {}}
    for name, frame in (("raw_features", prepare_telco(raw).drop(
            columns=["n_services", "avg_monthly_charge", "charge_change"])),
                        ("engineered_features", prepare_telco(raw))):
        start = time.perf_counter()
        metrics = run_cv(frame, CONFIG, args.jobs)
        metrics["seconds"] = round(time.perf_counter() - start, 1)
        metrics["meets_goal"] = bool(metrics["roc_auc"] >= GOAL["roc_auc"]
                                     and metrics["brier"] <= GOAL["brier"])
        record["variants"][name] = metrics
        print(name, json.dumps(metrics), flush=True)
    record["environment"] = {
        "cores": os.cpu_count(), "python": platform.python_version(),
        "sklearn": sklearn.__version__, "pandas": pd.__version__, "numpy": np.__version__,
        "machine": platform.machine(), "outer_jobs": args.jobs}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
