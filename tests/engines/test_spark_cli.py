"""`forecast score churn --engine spark` in other processes: through a Spark Connect session
(``remote("local[2]")``) it scores as the local engine does, and a Spark run killed with
``kill -9`` mid-commit resumes with each customer scored once. Run with ``make test-spark``."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from forecast import tracking
from forecast.cli import main
from forecast.config import ChurnConfig
from forecast.engines.local import ScoringOptions, score_churn
from forecast.io import warehouse

pytestmark = pytest.mark.spark

REPO = Path(__file__).resolve().parents[2]
CLI = "from forecast.cli import main; main()"


@pytest.fixture
def workspace(tmp_path, snapshot_frame, churn_models, monkeypatch, spark):
    """A workspace with ``customer_snapshots`` and ``churn-risk`` version 1, and its config,
    whose engine is a Spark Connect session on ``local[2]`` when ``--engine spark`` is given."""
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    ws = tmp_path / "ws"
    with warehouse.connect(ws, create=True) as con:
        con.register("frame", snapshot_frame)
        con.execute("CREATE TABLE customer_snapshots AS SELECT * FROM frame")
    example = snapshot_frame.drop(columns=["churned", "label_complete"]).head(20)
    with tracking.start_run(ws, "churn-risk", "train churn", {}):
        tracking.log_model(churn_models[0], example, "churn-risk")
    config = tmp_path / "c.yaml"
    config.write_text(textwrap.dedent(f"""\
        workspace: {ws}
        churn: {{candidates: [logistic], blend: false, splines: false, capacity: 15}}
        engine: {{master: "local[2]", connect: true, partitions: 2}}
        """), encoding="utf-8")
    return ws, config


def read_scores(ws: Path):
    with warehouse.connect(ws, read_only=True) as con:
        return con.execute("SELECT * FROM churn_scores ORDER BY customer_id").df()


def test_score_churn_through_spark_connect_scores_as_locally(workspace):
    ws, config = workspace
    local = CliRunner().invoke(main, ["score", "churn", "--config", str(config), "--json"])
    assert local.exit_code == 0, local.output
    before = read_scores(ws)
    env = {k: v for k, v in os.environ.items() if k != "MLFLOW_TRACKING_URI"}
    run = subprocess.run([sys.executable, "-c", CLI, "score", "churn", "--config", str(config),
                          "--engine", "spark", "--force", "--json"], capture_output=True,
                         text=True, cwd=REPO, env=env, timeout=600, check=False)
    assert run.returncode == 0, run.stderr[-3000:]
    summary = json.loads(run.stdout)
    assert (summary["scored_rows"], summary["workers"]) == (300, 2)
    assert summary["run_key"] == json.loads(local.stdout)["run_key"]
    after = read_scores(ws)
    assert after.equals(before) and (after["tier"] == "high").sum() == 15
    again = CliRunner().invoke(main, ["score", "churn", "--config", str(config), "--json"])
    assert json.loads(again.stdout)["skipped_chunks"] == summary["chunks"]
    assert read_scores(ws).equals(before)


KILL_SCRIPT = textwrap.dedent("""
    import pickle, sys, time
    from pathlib import Path
    from forecast.config import ChurnConfig, EngineConfig
    from forecast.engines import open_engine
    from forecast.engines.local import ScoringOptions, score_churn
    from forecast.io import scores, warehouse

    workspace, model_path = sys.argv[1], sys.argv[2]
    record = scores.record_chunk

    def record_then_hang(con, run_key, frame, chunk, n_chunks):
        record(con, run_key, frame, chunk, n_chunks)
        if chunk == 2:  # inside the chunk's open transaction
            print("HANG", chunk, flush=True)
            time.sleep(300)

    scores.record_chunk = record_then_hang
    model = pickle.loads(open(model_path, "rb").read())
    config = EngineConfig(kind="spark", master="local[2]", partitions=2)
    with open_engine(config, Path(workspace)) as engine, warehouse.connect(workspace) as con:
        score_churn(con, model, "customer_snapshots",
                    ChurnConfig(candidates=["logistic"], blend=False, splines=False),
                    options=ScoringOptions(chunk_rows=60, reasons="none"), engine=engine,
                    progress=lambda done, n: print("DONE", done, flush=True))
""")


def test_a_spark_run_killed_mid_commit_resumes(tmp_path, snapshot_frame, churn_models,
                                               spark_engine):
    import pickle

    with warehouse.connect(tmp_path / "ws", create=True) as con:
        con.register("frame", snapshot_frame)
        con.execute("CREATE TABLE customer_snapshots AS SELECT * FROM frame")
    (tmp_path / "model.pkl").write_bytes(pickle.dumps(churn_models[0]))
    model = pickle.loads((tmp_path / "model.pkl").read_bytes())  # as the killed run loaded it
    (tmp_path / "score.py").write_text(KILL_SCRIPT, encoding="utf-8")
    proc = subprocess.Popen([sys.executable, str(tmp_path / "score.py"), str(tmp_path / "ws"),
                             str(tmp_path / "model.pkl")], stdout=subprocess.PIPE, text=True,
                            cwd=REPO, start_new_session=True)
    deadline, lines = time.monotonic() + 300, []
    try:
        while time.monotonic() < deadline and not (lines and lines[-1].startswith("HANG")):
            line = proc.stdout.readline()
            if not line and proc.poll() is not None:
                break
            lines.append(line.strip())
    finally:
        os.killpg(proc.pid, signal.SIGKILL)  # the driver and its JVM
        proc.wait(timeout=30)
    assert lines[-3:] == ["DONE 1", "DONE 2", "HANG 2"]
    with warehouse.connect(tmp_path / "ws") as con:
        assert con.execute("SELECT count(*) FROM churn_score_chunks").fetchone()[0] == 2
        resumed = score_churn(con, model, "customer_snapshots",
                              ChurnConfig(candidates=["logistic"], blend=False, splines=False),
                              options=ScoringOptions(chunk_rows=60, reasons="none"),
                              engine=spark_engine)
        got = con.execute("SELECT customer_id FROM churn_scores ORDER BY 1").df()
    assert (resumed["skipped_chunks"], resumed["scored_rows"]) == (2, 180)
    assert len(got) == got["customer_id"].nunique() == 300
