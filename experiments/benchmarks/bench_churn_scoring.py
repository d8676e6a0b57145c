"""Benchmark: batch churn scoring of 10,000,000 customer snapshot rows (forecast.engines.local).

Steps (the first three are cached in ``work/churn_scoring``):

1. generate a small synthetic company (2,000 customers, 3 years, seed 0), ingest it with the
   demo config and build customer snapshots at 11 cutoffs;
2. fit the default :class:`ChurnModel` (logistic + gradient boosting, calibrated, chosen on
   log-loss) on the labelled cutoffs;
3. replicate the latest cutoff's rows with new customer ids into a 10M-row warehouse table
   (and a small one for the runs with reasons);
4. score in a fresh subprocess each (peak RSS is the scoring's own): 10M rows without reasons,
   and smaller tables with reasons for at-risk customers and for all customers.

Usage::

    .venv/bin/python experiments/benchmarks/bench_churn_scoring.py [--rows 10000000]
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
from datetime import date
from pathlib import Path

from benchlib import record, run_python, versions

from forecast.config import ChurnConfig, SynthOptions
from forecast.io import warehouse
from forecast.io.ingest import ingest
from forecast.models.churn import fit_churn_model
from forecast.pipeline import build_customer_snapshots, demo_config
from forecast.synth import generate_company

HERE = Path(__file__).resolve().parent
WORK = HERE / "work" / "churn_scoring"
CUTOFFS = [date(2025, m, 1) for m in range(1, 13, 2)] + [date(2026, m, 1) for m in range(1, 11, 2)]
GOAL = {"peak_rss_mb": 2048, "customers_per_second": 200_000}
DUCKDB_MEMORY = "1GB"

SCORE = """
import json, pickle, sys
from forecast.config import ChurnConfig
from forecast.engines.local import ScoringOptions, score_churn
from forecast.io import warehouse
workspace, table, reasons, chunk_rows = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
model = pickle.loads(open(workspace + "/model.pkl", "rb").read())
with warehouse.connect(workspace) as con:
    summary = score_churn(con, model, table, ChurnConfig(), options=ScoringOptions(
        chunk_rows=chunk_rows, reasons=reasons, model_key=table + reasons + "-bench"))
print(json.dumps(summary))
"""


def prepare(work: Path) -> Path:
    """Company, snapshots and fitted model in ``work``; returns the workspace."""
    workspace = work / "ws"
    if (workspace / "model.pkl").exists():
        return workspace
    generate_company(SynthOptions(customers=2000, years=3, seed=0), work / "data")
    config = demo_config(work / "data", workspace)
    ingest(config)
    build_customer_snapshots(config, CUTOFFS)
    with warehouse.connect(workspace, read_only=True) as con:
        frame = con.execute("SELECT * FROM customer_snapshots WHERE label_complete").df()
    model = fit_churn_model(frame, ChurnConfig())
    (workspace / "model.pkl").write_bytes(pickle.dumps(model))
    return workspace


def replicate(workspace: Path, table: str, rows: int) -> None:
    """``table``: the latest cutoff's snapshot rows repeated with new customer ids to ``rows``."""
    with warehouse.connect(workspace) as con:
        if warehouse.table_exists(con, table) and con.execute(
                f"SELECT count(*) FROM {table}").fetchone()[0] == rows:
            return
        con.execute(f"""CREATE OR REPLACE TABLE {table} AS
            WITH base AS (
                SELECT *, row_number() OVER (ORDER BY customer_id) - 1 AS k,
                       count(*) OVER () AS n
                FROM customer_snapshots
                WHERE cutoff = (SELECT max(cutoff) FROM customer_snapshots))
            SELECT * EXCLUDE (k, n, i) REPLACE (
                'R' || lpad(CAST(i * n + k AS VARCHAR), 9, '0') AS customer_id)
            FROM base CROSS JOIN range(CAST(ceil({rows} / (SELECT count(*) FROM base)) AS BIGINT))
                AS g(i)
            WHERE i * n + k < {rows}""")


def measure(workspace: Path, table: str, reasons: str, chunk_rows: int) -> dict:
    """Score ``table`` in a fresh process; its summary, wall seconds and peak RSS."""
    with warehouse.connect(workspace) as con:  # every measured run starts from no scores
        for name in ("churn_scores", "churn_score_chunks"):
            con.execute(f"DROP TABLE IF EXISTS {name}")
    run = run_python(SCORE, [str(workspace), table, reasons, str(chunk_rows)],
                     env={"FORECAST_DUCKDB_MEMORY": DUCKDB_MEMORY})
    summary = json.loads(run["stdout"].strip().splitlines()[-1])
    return {"table": table, "reasons": reasons, "chunk_rows": chunk_rows,
            "rows": summary["rows"], "chunks": summary["chunks"],
            "scoring_seconds": summary["seconds"],
            "customers_per_second": summary["customers_per_second"],
            "process_seconds": run["seconds"], "peak_rss_mb": run["peak_rss_mb"],
            "tiers": summary["tiers"], "revenue_at_risk": summary["revenue_at_risk"]}


def model_only_rate(workspace: Path, model, rows: int = 200_000) -> float:
    """Customers/s of ``model.predict_proba`` alone on one chunk (one thread), for comparison."""
    import time

    from threadpoolctl import threadpool_limits

    with warehouse.connect(workspace, read_only=True) as con:
        frame = con.execute(f"SELECT * FROM snapshots_big LIMIT {rows}").df()
    with threadpool_limits(1):
        started = time.perf_counter()
        model.predict_proba(frame)
    return round(len(frame) / (time.perf_counter() - started), 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--reason-rows", type=int, default=20_000)
    parser.add_argument("--chunk-rows", type=int, default=200_000)
    args = parser.parse_args()
    workspace = prepare(WORK)
    replicate(workspace, "snapshots_big", args.rows)
    replicate(workspace, "snapshots_small", args.reason_rows)
    model = pickle.loads((workspace / "model.pkl").read_bytes())
    runs = [measure(workspace, "snapshots_big", "none", args.chunk_rows),
            measure(workspace, "snapshots_small", "at_risk", args.chunk_rows),
            measure(workspace, "snapshots_small", "all", args.chunk_rows)]
    big = runs[0]
    path = record("churn_scoring", {
        "versions": versions("duckdb", "pyarrow", "pandas", "scikit-learn", "numpy"),
        "load_average_at_end": os.getloadavg(),
        "model": {"chosen": model.chosen_, "features": len(model.feature_names_in_),
                  "threshold": model.threshold_,
                  "predict_proba_only_customers_per_second": model_only_rate(workspace, model)},
        "duckdb_memory_limit": DUCKDB_MEMORY, "model_threads": 1,
        "goal": GOAL,
        "goal_met": {"peak_rss": big["peak_rss_mb"] <= GOAL["peak_rss_mb"],
                     "throughput_without_reasons":
                         big["customers_per_second"] >= GOAL["customers_per_second"]},
        "runs": runs,
    })
    print(path.read_text(encoding="utf-8"))


if __name__ == "__main__":
    main()
