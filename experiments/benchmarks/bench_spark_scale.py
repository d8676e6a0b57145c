"""Benchmark: the local and the Spark engine side by side on one machine, in one run.

Three workloads, each run on the local engine and on Spark (``--master``, default ``local[2]``),
every run in a fresh process while a monitor samples the resident memory of the whole process
tree (the Python driver, loky or Spark Python workers and the JVM):

1. ``prophet``: 1,000 weekly series x 156 weeks, one Prophet per series fitted and forecast
   13 weeks with 80/95 % intervals (``ProphetForecaster``);
2. ``backtest``: 200 of those series, Prophet refitted at 6 rolling origins
   (``evaluation.backtest``, 13 weeks per fold);
3. ``scoring``: 2,000,000 customers scored with reasons for every customer
   (``engines.local.score_churn``), the model fitted once on 20,000 labelled rows (cached in
   ``work/spark_scale``).

Recorded per run: wall seconds, the seconds to start the Spark session, where the Spark
engine's time went (Parquet export, Spark jobs, reading results back), peak RSS of the process
tree; per workload: the Spark overhead ratio (Spark wall / local wall) and the largest
difference between the two engines' numbers (0 expected: the engines compute the same bits).
Results go to ``results/spark_scale.json``; ``--tiny`` runs a smoke-test size and records nothing.

Usage::

    .venv/bin/python experiments/benchmarks/bench_spark_scale.py [--tiny] [--master local[2]]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import psutil
from benchlib import record, versions

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
WORK = HERE / "work" / "spark_scale"
FULL = {"series": 1000, "weeks": 156, "backtest_series": 200, "folds": 6, "customers": 2_000_000}
TINY = {"series": 8, "weeks": 110, "backtest_series": 4, "folds": 2, "customers": 5_000}

# Each step runs in its own interpreter: builds its data (seeded), runs on the engine, writes
# its result frame to Parquet and prints a JSON line with its timings.
STEP = r'''
import json, sys, time
from pathlib import Path
sys.path.insert(0, {here!r})
import bench_spark_scale as bench
from forecast.config import EngineConfig
from forecast.engine import use_engine
from forecast.engines import open_engine

step, engine_kind, master, out = sys.argv[1:5]
sizes = json.loads(sys.argv[5])
config = EngineConfig(kind=engine_kind, master=master)
started = time.perf_counter()
with open_engine(config, Path(out).parent / "ws_spark") as engine, use_engine(engine):
    session_seconds = time.perf_counter() - started
    began = time.perf_counter()
    result = getattr(bench, "run_" + step)(sizes, engine)
    seconds = time.perf_counter() - began
    timings = dict(getattr(engine, "timings", {{}}))
result.to_parquet(out)
print(json.dumps({{"session_seconds": round(session_seconds, 3), "seconds": round(seconds, 3),
                   "phases": {{k: round(v, 3) for k, v in timings.items()}}}}))
'''


def panel(n_series: int, n_weeks: int, seed: int = 0):
    """Weekly series with a trend, a yearly wave and noise (seeded)."""
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(seed)
    ds = pd.date_range("2022-01-07", periods=n_weeks, freq="W-FRI")
    t = np.arange(n_weeks)
    frames = []
    for i in range(n_series):
        level = rng.uniform(50, 5000)
        wave = 1 + rng.uniform(0.05, 0.4) * np.sin(2 * np.pi * (t / 52 + rng.uniform()))
        trend = 1 + rng.normal(0, 0.002) * t
        y = level * wave * trend * (1 + 0.05 * rng.standard_normal(n_weeks))
        frames.append(pd.DataFrame({"unique_id": f"s{i:05d}", "ds": ds, "y": y}))
    return pd.concat(frames, ignore_index=True)


def run_prophet(sizes: dict, engine):
    from forecast.models.prophet_model import ProphetForecaster

    frame = panel(sizes["series"], sizes["weeks"])
    return ProphetForecaster().fit(frame).predict(13)


def run_backtest(sizes: dict, engine):
    from forecast.evaluation.backtest import BacktestSpec, backtest
    from forecast.models.prophet_model import ProphetForecaster

    frame = panel(sizes["backtest_series"], sizes["weeks"], seed=1)
    return backtest({"prophet": ProphetForecaster()}, frame,
                    BacktestSpec(h=13, n_folds=sizes["folds"], min_history=26))


def run_scoring(sizes: dict, engine):
    import pickle

    from forecast.config import ChurnConfig
    from forecast.engines.local import ScoringOptions, score_churn
    from forecast.io import warehouse

    workspace = scoring_workspace(sizes["customers"])
    model = pickle.loads((workspace / "model.pkl").read_bytes())
    with warehouse.connect(workspace) as con:
        for table in ("churn_scores", "churn_score_chunks", "churn_score_unseen"):
            con.execute(f"DROP TABLE IF EXISTS {table}")
        score_churn(con, model, "snapshots_scale", ChurnConfig(),
                    options=ScoringOptions(reasons="all"), engine=engine)
        return con.execute("SELECT * EXCLUDE (run_key) FROM churn_scores "
                           "ORDER BY customer_id").df()


SNAPSHOT_SQL = """
SELECT 'C' || lpad(CAST(i AS VARCHAR), 9, '0') AS customer_id, DATE '{cutoff}' AS cutoff,
       1 + (hash(i, 1) % 300)::DOUBLE AS recency_days,
       ((hash(i, 2) % 2000)::DOUBLE / 1000) - 1 AS orders_trend_90d,
       ((hash(i, 3) % 1000000)::DOUBLE / 100) - 1000 AS revenue_365d,
       ['key account', 'mid-market', 'small'][1 + (hash(i, 4) % 3)::INT] AS segment
FROM range({rows}) AS r(i)
"""


def scoring_workspace(customers: int) -> Path:
    """A warehouse with ``customers`` snapshot rows to score and a model fitted on 20,000
    labelled rows (built once per size)."""
    import pickle

    import numpy as np

    from forecast.config import ChurnConfig
    from forecast.factory import fit_churn_model
    from forecast.io import warehouse

    workspace = WORK / f"scoring_{customers}"
    if (workspace / "model.pkl").exists():
        return workspace
    with warehouse.connect(workspace, create=True) as con:
        con.execute("CREATE OR REPLACE TABLE snapshots_scale AS "
                    + SNAPSHOT_SQL.format(cutoff="2026-01-01", rows=customers))
        train = con.execute(SNAPSHOT_SQL.format(cutoff="2025-06-01", rows=20_000)).df()
    logit = (0.015 * (train["recency_days"] - 150) - 1.5 * train["orders_trend_90d"]
             + 0.8 * (train["segment"] == "small"))
    rng = np.random.default_rng(0)
    train["churned"] = rng.uniform(size=len(train)) < 1 / (1 + np.exp(-logit))
    model = fit_churn_model(train, ChurnConfig())
    (workspace / "model.pkl").write_bytes(pickle.dumps(model))
    return workspace


def tree_rss(proc: psutil.Process) -> int:
    """Resident bytes of a process and all its descendants (JVM and workers included)."""
    total = 0
    for p in [proc, *proc.children(recursive=True)]:
        try:
            total += p.memory_info().rss
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            pass
    return total


def measure(step: str, engine: str, master: str, sizes: dict) -> dict:
    """One step on one engine in a fresh process: timings and peak RSS of its process tree."""
    out = WORK / f"{step}_{engine}.parquet"
    code = STEP.format(here=str(HERE))
    started = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-c", code, step, engine, master, str(out),
                             json.dumps(sizes)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, cwd=REPO)
    peak, watched = [0], psutil.Process(proc.pid)

    def watch() -> None:
        while proc.poll() is None:
            peak[0] = max(peak[0], tree_rss(watched))
            time.sleep(0.2)

    monitor = threading.Thread(target=watch, daemon=True)
    monitor.start()
    stdout, stderr = proc.communicate()
    monitor.join()
    if proc.returncode != 0:
        raise RuntimeError(f"{step} on {engine} failed:\n{stderr[-4000:]}")
    summary = json.loads(stdout.strip().splitlines()[-1])
    return {**summary, "wall_seconds": round(time.perf_counter() - started, 3),
            "peak_tree_rss_mb": round(peak[0] / 2**20, 1), "result": str(out)}


def largest_difference(step: str) -> float:
    """The largest absolute difference of a numeric column between the two engines' results,
    on identical rows (inf when the rows differ)."""
    import numpy as np
    import pandas as pd

    local, spark = (pd.read_parquet(WORK / f"{step}_{e}.parquet") for e in ("local", "spark"))
    keys = [c for c in ("fold", "unique_id", "ds", "customer_id") if c in local.columns]
    local, spark = (f.sort_values(keys).reset_index(drop=True) for f in (local, spark))
    if not local[keys].equals(spark[keys]):
        return float("inf")
    numeric = local.select_dtypes("number").columns
    return float(np.nanmax(np.abs(local[numeric].to_numpy(float)
                                  - spark[numeric].to_numpy(float)), initial=0.0))


def java_version() -> str | None:
    try:
        run = subprocess.run(["java", "-version"], capture_output=True, text=True, check=False)
    except OSError:
        return None
    return run.stderr.splitlines()[0] if run.stderr else None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tiny", action="store_true", help="a smoke-test size")
    parser.add_argument("--master", default="local[2]")
    parser.add_argument("--steps", default="prophet,backtest,scoring")
    args = parser.parse_args()
    sizes = TINY if args.tiny else FULL
    WORK.mkdir(parents=True, exist_ok=True)
    load_before = [round(x, 2) for x in os.getloadavg()]
    results = {}
    for step in args.steps.split(","):
        if step == "scoring":
            scoring_workspace(sizes["customers"])  # prepared outside the measured runs
        runs = {engine: measure(step, engine, args.master, sizes)
                for engine in ("local", "spark")}
        results[step] = {**runs, "spark_overhead_ratio": round(
            runs["spark"]["wall_seconds"] / runs["local"]["wall_seconds"], 2),
            "largest_difference": largest_difference(step)}
        print(step, json.dumps(results[step]), flush=True)
    payload = {"sizes": sizes, "master": args.master, "load_average_before": load_before,
               "versions": {**versions("pyspark", "prophet", "pandas", "numpy", "duckdb",
                                       "pyarrow", "scikit-learn"), "java": java_version()},
               "results": results}
    if args.tiny:  # a smoke test of the script: nothing is recorded
        print(json.dumps(payload, indent=2))
        return
    print(f"recorded {record('spark_scale', payload)}")


if __name__ == "__main__":
    main()
