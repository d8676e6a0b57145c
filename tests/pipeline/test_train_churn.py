"""`forecast train churn` on a labelled one-row-per-customer table, tracked in MLflow."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
from click.testing import CliRunner

from forecast.cli import main


def _labelled_customers(n: int = 400, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    tenure = rng.integers(1, 72, n)
    charges = rng.uniform(20, 110, n)
    contract = rng.choice(["monthly", "yearly"], n)
    logit = 1.5 - 0.06 * tenure + 0.02 * (charges - 60) + np.where(contract == "yearly", -1.5, 0)
    churn = rng.random(n) < 1 / (1 + np.exp(-logit))
    return pd.DataFrame({"id": [f"K{i:04d}" for i in range(n)], "tenure": tenure,
                         "charges": charges.round(2), "contract": contract,
                         "left": np.where(churn, "Yes", "No")})


def test_train_churn_logs_a_registered_pyfunc_model(tmp_path, monkeypatch):
    import mlflow

    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    _labelled_customers().to_csv(tmp_path / "customers.csv", index=False)
    (tmp_path / "c.yaml").write_text(f"""
workspace: {tmp_path / 'ws'}
sources:
  - table: customers
    path: {tmp_path / 'customers.csv'}
    columns: {{customer_id: id, tenure: tenure, charges: charges, contract: contract, left: left}}
    types: {{tenure: BIGINT, charges: DOUBLE, contract: VARCHAR, left: VARCHAR}}
churn:
  label_column: left
  candidates: [logistic]
  n_folds: 3
""", encoding="utf-8")
    runner = CliRunner()
    assert runner.invoke(main, ["data", "ingest", "--config", str(tmp_path / "c.yaml")]).exit_code == 0
    result = runner.invoke(main, ["train", "churn", "--config", str(tmp_path / "c.yaml"), "--json"])
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert out["model_uri"] == "models:/churn-risk/1"
    assert out["rows"] == 400
    # A real signal: held-out AUC well above chance, probabilities calibrated-ish.
    assert out["metrics"]["roc_auc"] > 0.7
    assert out["metrics"]["ece"] < 0.1
    assert (tmp_path / "ws" / "mlflow.db").exists()
    mlflow.set_tracking_uri(out["tracking_uri"])
    model = mlflow.pyfunc.load_model(out["model_uri"])
    features = _labelled_customers(5, seed=1).rename(columns={"id": "customer_id"}).drop(
        columns="left")
    scored = model.predict(features)
    assert list(scored.columns) == ["churn_proba", "tier"]
    assert scored["churn_proba"].between(0, 1).all()
    assert set(scored["tier"]) <= {"high", "medium", "low"}
    run = mlflow.get_run(out["run_id"])
    assert abs(run.data.metrics["roc_auc"] - out["metrics"]["roc_auc"]) < 1e-4
    assert "chosen" in run.data.params
