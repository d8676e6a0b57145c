"""A logged model carries the forecast package as its code and requires the project's own
dependencies, never ``forecast==...`` (PyPI's ``forecast`` is another project)."""

from __future__ import annotations

from pathlib import Path

import mlflow
import numpy as np
import pandas as pd

from forecast import tracking


def test_a_logged_model_ships_the_package_and_serves_the_same(tmp_path, monkeypatch,
                                                               snapshot_frame, churn_models):
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    model = churn_models[0]
    rows = snapshot_frame.drop(columns=["churned", "label_complete"]).head(60)
    with tracking.start_run(tmp_path / "ws", "churn-risk", "train churn", {}):
        uri = tracking.log_model(model, rows.head(20), "churn-risk")
    local = Path(mlflow.artifacts.download_artifacts(artifact_uri=uri))
    requirements = (local / "requirements.txt").read_text().splitlines()
    names = [line.split("==")[0].strip().lower() for line in requirements]
    assert "forecast" not in names
    assert {"scikit-learn", "pandas", "numpy", "duckdb", "pydantic"} <= set(names)
    code = local / "code" / "forecast"
    assert (code / "__init__.py").is_file() and (code / "models" / "churn.py").is_file()
    assert not list(code.rglob("__pycache__"))
    served = mlflow.pyfunc.load_model(uri).predict(rows)
    expected = model.predict_frame(rows)
    np.testing.assert_allclose(served["churn_proba"], expected["churn_proba"], rtol=1e-12)
    pd.testing.assert_series_equal(served["tier"], expected["tier"])
