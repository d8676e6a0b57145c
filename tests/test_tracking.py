"""MLflow tracking per workspace: every artifact under the workspace unless the user sets a
tracking URI, nothing shared between workspaces run from one folder, and a model URI that
names nothing is one message with exit code 2."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from forecast import tracking
from forecast.cli import main
from forecast.errors import WorkspaceError


def _labelled_customers(n: int = 300, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    tenure = rng.integers(1, 72, n)
    contract = rng.choice(["monthly", "yearly"], n)
    logit = 1.5 - 0.06 * tenure + np.where(contract == "yearly", -1.5, 0)
    churn = rng.random(n) < 1 / (1 + np.exp(-logit))
    return pd.DataFrame({"id": [f"K{i:04d}" for i in range(n)], "tenure": tenure,
                         "contract": contract, "left": np.where(churn, "Yes", "No")})


def _config(root: Path, name: str) -> Path:
    """A config whose workspace is ``root/name``, training churn on a labelled CSV."""
    (root / "customers.csv").write_text(_labelled_customers().to_csv(index=False),
                                        encoding="utf-8")
    path = root / f"{name}.yaml"
    path.write_text(f"""
workspace: {root / name}
sources:
  - table: customers
    path: {root / 'customers.csv'}
    columns: {{customer_id: id, tenure: tenure, contract: contract, left: left}}
    types: {{tenure: BIGINT, contract: VARCHAR, left: VARCHAR}}
churn:
  label_column: left
  candidates: [logistic]
  n_folds: 3
""", encoding="utf-8")
    return path


def _invoke(*args: str) -> object:
    return CliRunner().invoke(main, list(args))


@pytest.fixture(scope="module")
def two_workspaces(tmp_path_factory):
    """Workspaces ``a`` and ``b`` trained one after the other from one working folder, in one
    process, with no tracking URI set by the user."""
    root = tmp_path_factory.mktemp("tracking")
    trained = {}
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(root)
        mp.delenv("MLFLOW_TRACKING_URI", raising=False)
        for name in ("a", "b"):
            config = _config(root, name)
            assert _invoke("data", "ingest", "--config", str(config)).exit_code == 0
            result = _invoke("train", "churn", "--config", str(config), "--json")
            assert result.exit_code == 0, result.output
            trained[name] = {**json.loads(result.stdout), "config": config,
                             "leaked": os.environ.get("MLFLOW_TRACKING_URI"),
                             "stderr": result.stderr}
    return root, trained


def test_each_workspace_keeps_its_own_store_and_artifacts(two_workspaces):
    root, trained = two_workspaces
    assert not (root / "mlruns").exists()  # the working folder holds nothing of MLflow
    for name in ("a", "b"):
        workspace = root / name
        out = trained[name]
        # Each workspace registers its own first version in its own store.
        assert out["model_uri"] == "models:/churn-risk/1"
        assert out["tracking_uri"] == f"sqlite:///{workspace.resolve() / 'mlflow.db'}"
        assert out["leaked"] is None  # the process environment is left as it was
        pickles = sorted((workspace / "mlartifacts").rglob("model.pkl"))
        charts = sorted((workspace / "mlartifacts").rglob("reliability.png"))
        assert len(pickles) == 1 and len(charts) == 1
    model = tracking.load_model("models:/churn-risk/1", root / "b")
    assert model.chosen_ == "logistic"


def test_a_tracking_uri_set_by_the_user_is_respected(two_workspaces, tmp_path, monkeypatch):
    root, trained = two_workspaces
    store = tmp_path / "user" / "mlflow.db"
    store.parent.mkdir()
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{store}")
    workspace = tmp_path / "ws"
    assert tracking.tracking_uri(workspace) == f"sqlite:///{store}"
    with tracking.start_run(workspace, "churn-risk", "user store", {"k": 1}) as run:
        tracking.log_frame(pd.DataFrame({"x": [1]}), "table.csv")
    assert store.exists() and not (workspace / "mlflow.db").exists()
    assert not (workspace / "mlartifacts").exists()
    import mlflow

    assert mlflow.get_run(run.info.run_id).data.params == {"k": "1"}
    monkeypatch.delenv("MLFLOW_TRACKING_URI")
    # Without it, the workspaces are their own stores again.
    assert tracking.tracking_uri(root / "a") == trained["a"]["tracking_uri"]


@pytest.mark.parametrize("command", [["score", "churn"], ["predict", "revenue"]])
def test_a_model_uri_that_names_nothing_is_one_message(two_workspaces, monkeypatch, command):
    _, trained = two_workspaces
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    result = _invoke(*command, "--config", str(trained["a"]["config"]), "--model",
                     "models:/nonexistent/1")
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output and result.exception.__class__ is SystemExit
    message = result.stderr.strip()
    assert message.startswith("error: model 'models:/nonexistent/1' was not found in the "
                              f"tracking store {trained['a']['tracking_uri']}")
    assert "registered models: churn-risk (versions 1)" in message
    assert "forecast train" in message and len(message.splitlines()) == 1


def test_no_model_trained_yet_says_so_without_creating_a_store(tmp_path, monkeypatch):
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    workspace = tmp_path / "empty"
    workspace.mkdir()
    with pytest.raises(WorkspaceError, match=r"no MLflow tracking store at .*mlflow\.db.*"
                                             r"`forecast train churn`"):
        tracking.load_model("models:/churn-risk/latest", workspace)
    assert list(workspace.iterdir()) == []


def test_a_uri_of_a_missing_version_lists_the_versions(two_workspaces, monkeypatch):
    root, _ = two_workspaces
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    with pytest.raises(WorkspaceError, match=r"'models:/churn-risk/7' was not found.*"
                                             r"registered models: churn-risk \(versions 1\)"):
        tracking.load_model("models:/churn-risk/7", root / "a")


def test_train_churn_announces_its_steps(two_workspaces):
    _, trained = two_workspaces
    for line in ("train churn: 0 of 3, reading the training rows",
                 "train churn: 1 of 3, fitting and calibrating the candidates on 300 rows",
                 "train churn: 2 of 3, logging the model to MLflow", "train churn: 3 of 3\n"):
        assert line in trained["a"]["stderr"], line


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _get(url: str, body: bytes | None = None) -> tuple[int, bytes]:
    request = urllib.request.Request(url, data=body, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def test_serve_answers_the_models_own_input_example(two_workspaces, tmp_path):
    """``forecast serve`` serves a registered model on 127.0.0.1 with no virtualenv on PATH
    (where ``mlflow models serve --env-manager local`` fails with ``uvicorn: not found``), and
    answers the input example logged with the model as the model itself does."""
    root, trained = two_workspaces
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if k != "MLFLOW_TRACKING_URI"}
    env["PATH"] = "/usr/bin:/bin"
    server = subprocess.Popen(
        [sys.executable, "-c", "from forecast.cli import main; main()", "serve", "--config",
         str(trained["a"]["config"]), "--model", "models:/churn-risk/1", "--port", str(port)],
        env=env, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 180
        while True:
            assert server.poll() is None, server.stdout.read().decode(errors="replace")
            try:
                if _get(f"{url}/ping")[0] == 200:
                    break
            except OSError:
                pass
            assert time.monotonic() < deadline, "the server did not answer /ping"
            time.sleep(0.5)
        local = tracking.download_model("models:/churn-risk/1", root / "a")
        example = (local / "serving_input_example.json").read_bytes()
        status, body = _get(f"{url}/invocations", example)
        assert status == 200, body.decode(errors="replace")
        served = pd.DataFrame(json.loads(body)["predictions"])
        split = json.loads(example)["dataframe_split"]
        rows = pd.DataFrame(split["data"], columns=split["columns"])
        expected = tracking.load_model("models:/churn-risk/1", root / "a").predict_frame(rows)
        assert len(served) == len(rows) > 0
        np.testing.assert_allclose(served["churn_proba"], expected["churn_proba"], rtol=1e-9)
        assert served["tier"].tolist() == expected["tier"].tolist()
    finally:
        server.terminate()
        server.wait(timeout=60)
