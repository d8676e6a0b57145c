"""Benchmark: batch churn scoring of 10,000,000 customer snapshot rows (forecast.engines.local).

Steps (the first three are cached in ``work/churn_scoring``):

1. generate a small synthetic company (2,000 customers, 3 years, seed 0), ingest it with the
   demo config and build customer snapshots at 11 cutoffs;
2. fit the default :class:`ChurnModel` (logistic + gradient boosting, calibrated, chosen on
   log-loss) on the labelled cutoffs;
3. replicate the latest cutoff's active rows (a purchase in the last 365 days, the customers the
   default config scores) with new customer ids into a 10M-row warehouse table;
4. score it in a fresh subprocess each (peak RSS is the scoring's own): without reasons, and
   with reasons for the at-risk customers (the default);
5. the previous scoring path, in the same run: (a) per chunk and thread, the pandas pipeline's
   ``predict_proba`` and the per-rule re-predicting reasons against the compiled model and the
   additive reasons; (b) end to end, the engine of the commit before the compiled scorer
   (``--previous-ref``, run from ``git archive``) and the current one on the same 1M-row table
   without reasons and the same 100k-row table with at-risk reasons.

Usage::

    .venv/bin/python experiments/benchmarks/bench_churn_scoring.py [--rows 10000000]
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import pickle
import subprocess
import tarfile
import tempfile
import time
from datetime import date
from pathlib import Path

import numpy as np
from benchlib import record, run_python, versions
from threadpoolctl import threadpool_limits

from forecast.config import ChurnConfig, SynthOptions
from forecast.engines.compiled import compile_churn_model
from forecast.factory import fit_churn_model
from forecast.io import warehouse
from forecast.io.ingest import ingest
from forecast.models.reasons import explain_churn
from forecast.pipeline import build_customer_snapshots, demo_config
from forecast.synth import generate_company

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
WORK = HERE / "work" / "churn_scoring"
PREPARED = "prepared-v2"  # snapshots and model of the current feature and model code
CUTOFFS = [date(2025, m, 1) for m in range(1, 13, 2)] + [date(2026, m, 1) for m in range(1, 11, 2)]
GOAL = {"peak_rss_mb": 2048, "customers_per_second": 200_000}
DUCKDB_MEMORY = "1GB"
PREVIOUS_REF = "852a3dc"  # the last commit with the pandas scoring path

SCORE = """
import json, pickle, sys
from forecast.config import ChurnConfig
from forecast.engines.local import ScoringOptions, score_churn
from forecast.io import warehouse
workspace, table, reasons, chunk_rows, model_file = sys.argv[1:6]
model = pickle.loads(open(workspace + "/" + model_file, "rb").read())
with warehouse.connect(workspace) as con:
    summary = score_churn(con, model, table, ChurnConfig(), options=ScoringOptions(
        chunk_rows=int(chunk_rows), reasons=reasons, model_key=table + reasons + "-bench"))
print(json.dumps(summary))
"""


def prepare(work: Path) -> Path:
    """Company, snapshots and fitted model in ``work``; returns the workspace."""
    workspace = work / "ws"
    if (workspace / PREPARED).exists():
        return workspace
    if not (work / "data" / "manifest.json").exists():
        generate_company(SynthOptions(customers=2000, years=3, seed=0), work / "data")
    config = demo_config(work / "data", workspace)
    if not warehouse.warehouse_path(workspace).exists():
        ingest(config)
    build_customer_snapshots(config, CUTOFFS)
    with warehouse.connect(workspace, read_only=True) as con:
        frame = con.execute("SELECT * FROM customer_snapshots WHERE label_complete").df()
    model = fit_churn_model(frame, ChurnConfig())
    (workspace / "model.pkl").write_bytes(pickle.dumps(model))
    previous = copy.copy(model)  # the previous code has no attribution to unpickle
    del previous.attribution_
    (workspace / "model_previous.pkl").write_bytes(pickle.dumps(previous))
    with warehouse.connect(workspace) as con:
        for name in ("snapshots_big", "snapshots_1m", "snapshots_small"):
            con.execute(f"DROP TABLE IF EXISTS {name}")
    (workspace / PREPARED).write_text("ok\n", encoding="utf-8")
    return workspace


def replicate(workspace: Path, table: str, rows: int) -> None:
    """``table``: the latest cutoff's active snapshot rows repeated with new ids to ``rows``."""
    with warehouse.connect(workspace) as con:
        if warehouse.table_exists(con, table) and con.execute(
                f"SELECT count(*) FROM {table}").fetchone()[0] == rows:
            return
        con.execute(f"""CREATE OR REPLACE TABLE {table} AS
            WITH base AS (
                SELECT *, row_number() OVER (ORDER BY customer_id) - 1 AS k,
                       count(*) OVER () AS n
                FROM customer_snapshots
                WHERE cutoff = (SELECT max(cutoff) FROM customer_snapshots)
                  AND recency_days <= 365)
            SELECT * EXCLUDE (k, n, i) REPLACE (
                'R' || lpad(CAST(i * n + k AS VARCHAR), 9, '0') AS customer_id)
            FROM base CROSS JOIN range(CAST(ceil({rows} / (SELECT count(*) FROM base)) AS BIGINT))
                AS g(i)
            WHERE i * n + k < {rows}""")


def _clear_scores(workspace: Path) -> None:
    with warehouse.connect(workspace) as con:  # every measured run starts from no scores
        for name in ("churn_scores", "churn_score_chunks"):
            con.execute(f"DROP TABLE IF EXISTS {name}")


def measure(workspace: Path, table: str, reasons: str, chunk_rows: int,
            pythonpath: Path | None = None, model_file: str | None = None,
            code: str | None = None) -> dict:
    """Score ``table`` in a fresh process; its summary, wall seconds and peak RSS.

    ``pythonpath``: the ``forecast`` package of another commit (default: this one), which
    reads ``model_previous.pkl`` unless ``model_file`` says otherwise; ``code`` labels the run.
    """
    _clear_scores(workspace)
    env = {"FORECAST_DUCKDB_MEMORY": DUCKDB_MEMORY}
    model_file = model_file or ("model.pkl" if pythonpath is None else "model_previous.pkl")
    if pythonpath is not None:
        env["PYTHONPATH"] = str(pythonpath)
    load = os.getloadavg()
    run = run_python(SCORE, [str(workspace), table, reasons, str(chunk_rows), model_file],
                     env=env)
    summary = json.loads(run["stdout"].strip().splitlines()[-1])
    return {"table": table, "code": code or ("previous" if pythonpath else "current"),
            "reasons": reasons, "chunk_rows": chunk_rows, "rows": summary["rows"],
            "chunks": summary["chunks"], "workers": summary.get("workers", 1),
            "scoring_seconds": summary["seconds"],
            "customers_per_second": summary["customers_per_second"],
            "process_seconds": run["seconds"], "peak_rss_mb": run["peak_rss_mb"],
            "load_average_before": [round(x, 2) for x in load],
            "tiers": summary["tiers"], "revenue_at_risk": summary["revenue_at_risk"]}


def _rate(rows: int, started: float) -> float:
    return round(rows / (time.perf_counter() - started), 1)


def per_chunk_rates(workspace: Path, model, rows: int = 200_000) -> dict:
    """Customers/s of each step on one chunk and one thread: the pandas pipeline and the
    re-predicting reasons (the previous path) against the compiled model and additive reasons."""
    with warehouse.connect(workspace, read_only=True) as con:
        frame = con.execute(f"SELECT * FROM snapshots_big LIMIT {rows}").df()
    compiled = compile_churn_model(model)
    out = {"rows": len(frame)}
    with threadpool_limits(1):
        started = time.perf_counter()
        proba = model.predict_proba(frame)[:, 1]
        out["pandas_predict_proba"] = _rate(len(frame), started)
        started = time.perf_counter()
        fast = compiled.predict(compiled.arrays_from_frame(frame))
        out["compiled_predict"] = _rate(len(frame), started)
        out["max_abs_difference"] = float(np.abs(fast - proba).max())
        risky = frame[proba >= ChurnConfig().tier_medium].head(5_000)
        started = time.perf_counter()
        exact = explain_churn(model, risky, method="exact")
        out["exact_reasons_at_risk"] = _rate(len(risky), started)
        started = time.perf_counter()
        additive = explain_churn(model, risky, method="additive")
        out["additive_reasons_at_risk"] = _rate(len(risky), started)
    out["same_first_reason_share"] = round(float(
        (exact["reason_1"].fillna("") == additive["reason_1"].fillna("")).mean()), 4)
    return out


def previous_code(ref: str, into: Path) -> Path:
    """The ``forecast`` package of commit ``ref``, extracted into ``into``."""
    archive = subprocess.run(["git", "-C", str(REPO), "archive", ref, "forecast"],
                             capture_output=True, check=True).stdout
    path = into / "previous.tar"
    path.write_bytes(archive)
    with tarfile.open(path) as tar:
        tar.extractall(into, filter="data")
    return into


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--previous-rows", type=int, default=1_000_000)
    parser.add_argument("--previous-reason-rows", type=int, default=100_000)
    parser.add_argument("--chunk-rows", type=int, default=200_000)
    parser.add_argument("--previous-ref", default=PREVIOUS_REF)
    args = parser.parse_args()
    started_load = os.getloadavg()
    workspace = prepare(WORK)
    replicate(workspace, "snapshots_big", args.rows)
    replicate(workspace, "snapshots_1m", args.previous_rows)
    replicate(workspace, "snapshots_small", args.previous_reason_rows)
    model = pickle.loads((workspace / "model.pkl").read_bytes())
    runs = [measure(workspace, "snapshots_big", "none", args.chunk_rows),
            measure(workspace, "snapshots_big", "at_risk", args.chunk_rows),
            measure(workspace, "snapshots_1m", "none", args.chunk_rows),
            measure(workspace, "snapshots_small", "at_risk", args.chunk_rows)]
    with tempfile.TemporaryDirectory() as tmp:
        previous = previous_code(args.previous_ref, Path(tmp))
        runs += [measure(workspace, "snapshots_1m", "none", args.chunk_rows, previous),
                 measure(workspace, "snapshots_small", "at_risk", args.chunk_rows, previous)]
    plain, reasons = runs[0], runs[1]
    path = record("churn_scoring", {
        "versions": versions("duckdb", "pyarrow", "pandas", "scikit-learn", "numpy"),
        "load_average_at_start": [round(x, 2) for x in started_load],
        "load_average_at_end": [round(x, 2) for x in os.getloadavg()],
        "model": {"chosen": model.chosen_, "features": len(model.feature_names_in_),
                  "members": [name for name, _, _ in model.members_],
                  "threshold": model.threshold_},
        "duckdb_memory_limit": DUCKDB_MEMORY, "model_threads": 1,
        "previous_ref": args.previous_ref,
        "per_chunk_single_thread": per_chunk_rates(workspace, model),
        "goal": GOAL,
        "goal_met": {
            "peak_rss": max(plain["peak_rss_mb"], reasons["peak_rss_mb"]) <= GOAL["peak_rss_mb"],
            "throughput_without_reasons":
                plain["customers_per_second"] >= GOAL["customers_per_second"],
            "throughput_with_at_risk_reasons":
                reasons["customers_per_second"] >= GOAL["customers_per_second"]},
        "runs": runs,
    })
    print(path.read_text(encoding="utf-8"))


if __name__ == "__main__":
    main()
