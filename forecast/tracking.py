"""MLflow tracking: the only module that imports mlflow.

By default runs go to ``sqlite:///<workspace>/mlflow.db`` with artifacts in
``<workspace>/mlartifacts``; a tracking URI the user sets (``MLFLOW_TRACKING_URI``) wins. Models
are logged as pyfunc with a signature and registered, so ``mlflow models serve`` and
``mlflow.pyfunc.spark_udf`` work on them.
"""

from __future__ import annotations

import json
import math
import os
import pickle
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import mlflow
import pandas as pd
from mlflow.models import infer_signature

DEFAULT_DB = "mlflow.db"
ARTIFACTS = "mlartifacts"


def tracking_uri(workspace: Path) -> str:
    """The tracking URI in force: ``MLFLOW_TRACKING_URI`` if set, else the workspace's SQLite."""
    return os.environ.get("MLFLOW_TRACKING_URI") or f"sqlite:///{Path(workspace).resolve() / DEFAULT_DB}"


def _experiment(name: str, workspace: Path) -> str:
    found = mlflow.get_experiment_by_name(name)
    if found is not None:
        return found.experiment_id
    location = None
    if "MLFLOW_TRACKING_URI" not in os.environ:
        location = (Path(workspace).resolve() / ARTIFACTS).as_uri()
    return mlflow.create_experiment(name, artifact_location=location)


@contextmanager
def start_run(workspace: Path, experiment: str, run_name: str, params: dict[str, Any]
              ) -> Iterator[mlflow.ActiveRun]:
    """Open a run in ``experiment`` with its parameters logged."""
    mlflow.set_tracking_uri(tracking_uri(workspace))
    experiment_id = _experiment(experiment, workspace)
    with mlflow.start_run(experiment_id=experiment_id, run_name=run_name) as run:
        mlflow.log_params({k: _param(v) for k, v in params.items()})
        yield run


def _param(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    return text[:6000]


def log_metrics(metrics: dict[str, float], prefix: str = "") -> None:
    """Log finite numeric metrics, names prefixed."""
    clean = {f"{prefix}{k}": float(v) for k, v in metrics.items()
             if isinstance(v, int | float) and math.isfinite(v)}
    mlflow.log_metrics(clean)


def log_frame(frame: pd.DataFrame, name: str) -> None:
    """Log a table as a CSV artifact."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / name
        frame.to_csv(path, index=False)
        mlflow.log_artifact(str(path))


def log_files(paths: list[Path], folder: str | None = None) -> None:
    """Log files (charts, reports) as artifacts."""
    for path in paths:
        mlflow.log_artifact(str(path), artifact_path=folder)


class PickledModel(mlflow.pyfunc.PythonModel):
    """A pyfunc around a pickled forecast model with a ``predict_frame(frame)`` method."""

    def load_context(self, context: mlflow.pyfunc.PythonModelContext) -> None:
        with open(context.artifacts["model"], "rb") as fh:
            self.model = pickle.load(fh)

    def predict(self, context: Any, model_input: pd.DataFrame, params: dict | None = None
                ) -> pd.DataFrame:
        return self.model.predict_frame(model_input)


def log_model(model: Any, example_input: pd.DataFrame, registered_name: str,
              example_output: pd.DataFrame | None = None) -> str:
    """Log ``model`` as a pyfunc with a signature inferred from an example, and register it.

    ``example_output`` is ``model.predict_frame(example_input)`` when the caller already has
    it (a forecast can take minutes); else it is computed here.

    Returns:
        The model URI (``models:/<name>/<version>``).
    """
    # Nullable integers (with missing values) cannot be integers in a signature.
    nullable = [c for c, t in example_input.dtypes.items()
                if isinstance(t, pd.api.extensions.ExtensionDtype) and t.kind in "iub"]
    example_input = example_input.astype({c: "float64" for c in nullable})
    if example_output is None:
        example_output = model.predict_frame(example_input)
    signature = infer_signature(example_input, example_output)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "model.pkl"
        path.write_bytes(pickle.dumps(model))
        info = mlflow.pyfunc.log_model(
            name="model",
            python_model=PickledModel(),
            artifacts={"model": str(path)},
            signature=signature,
            input_example=example_input.head(5),
            registered_model_name=registered_name,
            pip_requirements=_requirements(),
        )
    version = info.registered_model_version
    return f"models:/{registered_name}/{version}" if version else info.model_uri


def _requirements() -> list[str]:
    from importlib import metadata

    pins = []
    for name in ("forecast", "scikit-learn", "pandas", "numpy"):
        try:
            pins.append(f"{name}=={metadata.version(name)}")
        except metadata.PackageNotFoundError:
            pins.append(name)
    return pins


def load_model(uri: str, workspace: Path) -> Any:
    """Load the forecast model object behind a model URI (not the pyfunc wrapper)."""
    mlflow.set_tracking_uri(tracking_uri(workspace))
    local = mlflow.artifacts.download_artifacts(artifact_uri=uri)
    with open(Path(local) / "artifacts" / "model.pkl", "rb") as fh:
        return pickle.load(fh)
