"""MLflow tracking: the only module that imports mlflow.

By default runs go to ``sqlite:///<workspace>/mlflow.db`` with artifacts in
``<workspace>/mlartifacts``; a tracking URI the user sets (``MLFLOW_TRACKING_URI``) wins. Models
are logged as pyfunc with a signature and registered, so ``mlflow models serve`` and
``mlflow.pyfunc.spark_udf`` work on them; the ``forecast`` package travels with each model as its
code (``code_paths``) and the requirements are the project's dependencies, never a pin of
``forecast`` (PyPI's ``forecast`` is another project).

``mlflow.set_tracking_uri`` also writes ``MLFLOW_TRACKING_URI`` into the process environment;
:func:`use_workspace` puts the environment back as it was, so the variable only ever holds the
user's choice, and a process that works on two workspaces in turn never carries the first
one's store (nor its artifacts, which MLflow would put in ``./mlruns``) over to the second.
"""

from __future__ import annotations

import json
import math
import os
import pickle
import shutil
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import mlflow
import pandas as pd
from mlflow.exceptions import MlflowException
from mlflow.models import infer_signature

from forecast.errors import WorkspaceError

PACKAGE = "forecast"
# The requirements of a model logged from a source tree where forecast is not installed.
CORE_REQUIREMENTS = ("scikit-learn", "pandas", "numpy", "pyarrow", "duckdb", "pydantic",
                     "pyyaml", "holidays", "prophet")
DEFAULT_DB = "mlflow.db"
ARTIFACTS = "mlartifacts"
ENV = "MLFLOW_TRACKING_URI"
# The command that registers each model name, for messages about a missing model.
TRAINED_BY = {"churn-risk": "forecast train churn", "revenue-forecaster": "forecast train revenue"}


def user_tracking_uri() -> str | None:
    """The tracking URI the user set in ``MLFLOW_TRACKING_URI``, or None."""
    return os.environ.get(ENV) or None


def tracking_uri(workspace: Path) -> str:
    """The tracking URI in force: ``MLFLOW_TRACKING_URI`` if set, else the workspace's SQLite."""
    return user_tracking_uri() or f"sqlite:///{Path(workspace).resolve() / DEFAULT_DB}"


def use_workspace(workspace: Path) -> str:
    """Point MLflow at the workspace's tracking store (or the user's) and return its URI,
    leaving ``MLFLOW_TRACKING_URI`` in the environment as it was."""
    uri = tracking_uri(workspace)
    before = os.environ.get(ENV)
    try:
        mlflow.set_tracking_uri(uri)
    finally:
        if before is None:
            os.environ.pop(ENV, None)
        else:
            os.environ[ENV] = before
    return uri


def _experiment(name: str, workspace: Path) -> str:
    found = mlflow.get_experiment_by_name(name)
    if found is not None:
        return found.experiment_id
    location = None
    if user_tracking_uri() is None:
        location = (Path(workspace).resolve() / ARTIFACTS).as_uri()
    return mlflow.create_experiment(name, artifact_location=location)


@contextmanager
def start_run(workspace: Path, experiment: str, run_name: str, params: dict[str, Any]
              ) -> Iterator[mlflow.ActiveRun]:
    """Open a run in ``experiment`` with its parameters logged."""
    use_workspace(workspace)
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
            code_paths=_code_paths(Path(tmp) / "code"),
        )
    version = info.registered_model_version
    return f"models:/{registered_name}/{version}" if version else info.model_uri


def _requirements() -> list[str]:
    """The project's own dependencies (not its extras), pinned to the installed versions.

    The project itself is not a requirement: it travels with the model (:func:`_code_paths`).
    PyPI's ``forecast`` is an unrelated package, so a pin of ``forecast`` would have any
    environment-restoring mode (``spark_udf`` or ``mlflow models serve`` with virtualenv or
    conda) install the wrong code.
    """
    from importlib import metadata

    from packaging.requirements import Requirement

    try:
        declared = metadata.requires(PACKAGE) or []
    except metadata.PackageNotFoundError:  # run from a source tree that is not installed
        declared = list(CORE_REQUIREMENTS)
    pins = []
    for text in declared:
        requirement = Requirement(text)
        if requirement.marker is not None and not requirement.marker.evaluate({"extra": ""}):
            continue  # an extra's requirement (dev, spark)
        try:
            pins.append(f"{requirement.name}=={metadata.version(requirement.name)}")
        except metadata.PackageNotFoundError:
            pins.append(str(requirement))
    return pins


def _code_paths(folder: Path) -> list[str]:
    """A copy of the ``forecast`` package (without caches) under ``folder``, to log with the
    model as its code: a loaded pyfunc imports it from there when the environment has no
    ``forecast`` of its own."""
    source = Path(__file__).resolve().parent
    target = folder / PACKAGE
    shutil.copytree(source, target, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    return [str(target)]


def load_model(uri: str, workspace: Path) -> Any:
    """Load the forecast model object behind a model URI (not the pyfunc wrapper).

    Raises:
        WorkspaceError: the workspace has no tracking store yet, or the URI names no model in
            it (the message lists the registered models).
    """
    local = download_model(uri, workspace)
    try:
        with open(local / "artifacts" / "model.pkl", "rb") as fh:
            return pickle.load(fh)
    except (ModuleNotFoundError, AttributeError) as exc:
        # A model pickled by an earlier version names classes that have moved or gone.
        raise WorkspaceError(
            f"model {uri!r} was saved by an earlier version of forecast and cannot be loaded by "
            f"this one ({_first_line(exc)}); retrain it with {_train_hint(uri)}") from None
    except OSError as exc:
        raise WorkspaceError(f"model {uri!r} has no model.pkl ({_first_line(exc)}); retrain it "
                             f"with {_train_hint(uri)}") from None


def download_model(uri: str, workspace: Path) -> Path:
    """The local folder of the MLflow model behind ``uri`` in the workspace's tracking store.

    Raises:
        WorkspaceError: as :func:`load_model`.
    """
    store = Path(workspace).resolve() / DEFAULT_DB
    if user_tracking_uri() is None and not store.is_file():
        raise WorkspaceError(f"cannot load model {uri!r}: no MLflow tracking store at {store}; "
                             f"train a model in this workspace first ({_train_hint(uri)})")
    where = use_workspace(workspace)
    try:
        return Path(mlflow.artifacts.download_artifacts(artifact_uri=uri))
    except (MlflowException, OSError) as exc:
        registered = _registered_models()
        choose = "" if registered.startswith("no model") else (
            " or pass --model with one of the registered models")
        raise WorkspaceError(
            f"model {uri!r} was not found in the tracking store {where} "
            f"({_first_line(exc)}); {registered}; train one with {_train_hint(uri)}"
            f"{choose}") from None


def serve_command(uri: str, workspace: Path, host: str, port: int, workers: int = 1
                  ) -> tuple[list[str], dict[str, str]]:
    """The command and environment that serve the model behind ``uri`` over HTTP.

    MLflow's own scoring server (``/ping``, ``/invocations``, as ``mlflow models serve``),
    started as ``python -m uvicorn`` with this interpreter: ``mlflow models serve
    --env-manager local`` runs a bare ``uvicorn`` and so fails unless the virtualenv's ``bin``
    is on ``PATH``.
    """
    from mlflow.pyfunc import scoring_server

    local = download_model(uri, workspace)
    _, env = scoring_server.get_cmd(str(local), port=port, host=host, nworkers=workers)
    command = [sys.executable, "-m", "uvicorn", "--host", host, "--port", str(port),
               "--workers", str(workers), "mlflow.pyfunc.scoring_server.app:app"]
    return command, env


def _train_hint(uri: str) -> str:
    """The command that registers the model a ``models:/<name>/...`` URI names."""
    name = uri.split("/")[1] if uri.startswith("models:/") and uri.count("/") >= 2 else ""
    command = TRAINED_BY.get(name)
    return f"`{command}`" if command else " or ".join(f"`{c}`" for c in TRAINED_BY.values())


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _registered_models() -> str:
    """The registered models of the current tracking store and their versions, as text."""
    try:
        found = mlflow.MlflowClient().search_model_versions()
    except MlflowException as exc:
        return f"the registered models could not be listed ({_first_line(exc)})"
    versions: dict[str, list[int]] = {}
    for version in found:
        versions.setdefault(version.name, []).append(int(version.version))
    if not versions:
        return "no model is registered there"
    listed = ", ".join(f"{n} (versions {', '.join(map(str, sorted(v)))})"
                       for n, v in sorted(versions.items()))
    return f"registered models: {listed}"
