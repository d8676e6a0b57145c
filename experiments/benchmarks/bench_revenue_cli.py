"""The acceptance protocols of the revenue issue, run through the command line itself.

    python experiments/benchmarks/bench_revenue_cli.py walmart
    python experiments/benchmarks/bench_revenue_cli.py favorita

Runs ``forecast train revenue --config configs/<data>.yaml --json`` (the config fixes the
protocol: horizon, evaluation and selection folds, candidates) after ingesting the data and
building the series, and records the selected forecast's pooled scores at the bottom grain, every model's
scores per grain, reconciled vs unreconciled WAPE per level, wall time and the load average in
experiments/benchmarks/results/revenue_cli_<data>.json. The peers' figures (seasonal naive,
Prophet, the global model) come from the same run, as candidates scored on the same folds.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from benchlib import record, versions  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]


def run(name: str) -> Path:
    config = ROOT / "configs" / f"{name}.yaml"
    forecast = Path(sys.executable).with_name("forecast")
    # Ingest is idempotent: a fresh clone's workspace gets its warehouse, a built one is kept.
    for step in (["data", "ingest"], ["features", "series"]):
        subprocess.run([forecast, *step, "--config", config], check=True, capture_output=True)
    load_before = os.getloadavg()
    started = time.perf_counter()
    proc = subprocess.run([forecast, "train", "revenue", "--config", config, "--json"],
                          check=True, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    result = json.loads(proc.stdout)
    payload = {
        "data": name, "command": f"forecast train revenue --config configs/{name}.yaml --json",
        "seconds": round(seconds, 1), "load_average_before": load_before,
        "load_average_after": os.getloadavg(), "series": result["series"],
        "freq": result["freq"], "selected": result["selected"], "by_grain": result["by_grain"],
        "by_level": result["by_level"], "strategies": result["strategies"],
        "versions": versions("prophet", "scikit-learn", "pandas", "numpy", "duckdb", "mlflow"),
    }
    return record(f"revenue_cli_{name}", payload)


if __name__ == "__main__":
    for data_name in sys.argv[1:] or ["walmart", "favorita"]:
        print(run(data_name))
