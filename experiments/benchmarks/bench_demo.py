"""How long ``make demo`` takes after install: ``forecast demo`` in a fresh workspace.

The demo generates the 2,000-customer synthetic company (3 years) and runs the whole chain on it
(ingest, features, revenue, churn, tiers, targets, funnel, attainment, both reports). Each round
runs the command in a fresh process and a fresh workspace and records its wall time, the synth
and chain times it reports, each step's time and the peak RSS; the README quotes the median.

    python experiments/benchmarks/bench_demo.py [--rounds 3]

Writes experiments/benchmarks/results/demo.json.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from benchlib import record, run_python, versions

DEMO = "from forecast.cli import main\nmain()\n"


def one_round(workspace: Path) -> dict:
    load = os.getloadavg()
    run = run_python(DEMO, ["-q", "demo", "--workspace", str(workspace), "--json"])
    result = json.loads(run["stdout"].strip().splitlines()[-1])
    return {"process_seconds": run["seconds"], "peak_rss_mb": run["peak_rss_mb"],
            "synth_seconds": result["synth"]["seconds"], "chain_seconds": result["seconds"],
            "steps": {s["step"]: s.get("seconds") for s in result["steps"]},
            "customers": result["synth"]["customers"],
            "load_average_before": [round(x, 2) for x in load]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    rounds = []
    for index in range(args.rounds):
        with tempfile.TemporaryDirectory(prefix="bench-demo-") as tmp:
            rounds.append(one_round(Path(tmp) / "demo"))
        print(f"round {index + 1}: {rounds[-1]['process_seconds']} s", flush=True)
    summary = {key: statistics.median(r[key] for r in rounds)
               for key in ("process_seconds", "chain_seconds", "synth_seconds", "peak_rss_mb")}
    path = record("demo", {"versions": versions("duckdb", "pandas", "scikit-learn", "prophet",
                                                "statsforecast", "mlflow"),
                           "command": "forecast demo --workspace <fresh> --json",
                           "rounds": rounds, "median": summary,
                           "load_average_at_end": [round(x, 2) for x in os.getloadavg()]})
    print(json.dumps(summary), "->", path)


if __name__ == "__main__":
    main()
