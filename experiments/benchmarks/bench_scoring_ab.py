"""Churn scoring before and after a change, on the same table in the same run.

The recorded scoring benchmark (``bench_churn_scoring.py``) compares with figures of earlier
runs, which moved with the machine and the library versions (its own "previous code" runs were
16 % slower in a rerun although that code had not changed). This script times the scoring of
the 10M-row table by the current package and by the package of ``--before`` (a commit,
extracted with ``git archive``) alternately, in fresh processes, with and without reasons,
``--rounds`` times each, on the same model file, and records the medians and their ratio.

    .venv/bin/python experiments/benchmarks/bench_scoring_ab.py --before 6da3e65

Writes experiments/benchmarks/results/scoring_ab.json.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
from pathlib import Path

from bench_churn_scoring import DUCKDB_MEMORY, WORK, measure, prepare, previous_code, replicate
from benchlib import record, versions


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", required=True, help="commit whose package is the baseline")
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--chunk-rows", type=int, default=200_000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    started_load = os.getloadavg()
    workspace = prepare(WORK)
    replicate(workspace, "snapshots_big", args.rows)
    runs = []
    with tempfile.TemporaryDirectory() as tmp:
        before = previous_code(args.before, Path(tmp))
        for round_ in range(args.rounds):
            for reasons in ("none", "at_risk"):
                order = [None, before] if round_ % 2 == 0 else [before, None]
                for code in order:
                    label = "current" if code is None else args.before
                    run = measure(workspace, "snapshots_big", reasons, args.chunk_rows, code,
                                  model_file="model.pkl", code=label)
                    runs.append({**run, "round": round_})
                    print(round_, reasons, label, run["scoring_seconds"], flush=True)
    summary = {}
    for reasons in ("none", "at_risk"):
        medians = {label: statistics.median(r["scoring_seconds"] for r in runs
                                            if r["reasons"] == reasons and r["code"] == label)
                   for label in ("current", args.before)}
        peaks = {label: max(r["peak_rss_mb"] for r in runs
                            if r["reasons"] == reasons and r["code"] == label)
                 for label in ("current", args.before)}
        summary[reasons] = {"median_scoring_seconds": medians, "peak_rss_mb": peaks,
                            "current_over_before": round(medians["current"] /
                                                         medians[args.before], 4)}
    path = record("scoring_ab", {
        "versions": versions("duckdb", "pyarrow", "pandas", "scikit-learn", "numpy"),
        "before": args.before, "rows": args.rows, "chunk_rows": args.chunk_rows,
        "rounds": args.rounds, "duckdb_memory_limit": DUCKDB_MEMORY,
        "load_average_at_start": [round(x, 2) for x in started_load],
        "load_average_at_end": [round(x, 2) for x in os.getloadavg()],
        "summary": summary, "runs": runs})
    print(path.read_text(encoding="utf-8"))


if __name__ == "__main__":
    main()
