"""Cost and accuracy of statsforecast's model families as candidates, against the Prophet loop.

The series are the speed benchmark's (``bench_revenue_speed.make_series``: weekly, 156 weeks,
the last 13 held out). Every family runs through :class:`StatsForecastForecaster` on the same
seeded sample of series, on 1 and on 2 processes, beside the project's Prophet forecaster on the
same sample and processes, and the seconds are extrapolated linearly to 10,000 series (recorded
as such). This is what ``forecast.factory.DEFAULT_CANDIDATES`` is chosen by: a family whose
cost is a fraction of Prophet's may run by default, one that costs more than Prophet may not.

    python experiments/benchmarks/bench_statsforecast_families.py [sample]

Writes experiments/benchmarks/results/statsforecast_families.json.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_revenue_speed import H, make_series, score
from benchlib import record, versions

from forecast.engine import LocalEngine, use_engine
from forecast.evaluation.backtest import seasonal_scales
from forecast.models.prophet_model import ProphetForecaster
from forecast.models.statsforecast_family import FAMILIES, StatsForecastForecaster
from forecast.schemas import DS, UNIQUE_ID

ALL_SERIES = 10_000


def _run(model, train, test, scales, n_jobs: int) -> dict:
    with use_engine(LocalEngine(n_jobs=n_jobs)):
        first = train[train[UNIQUE_ID] == train[UNIQUE_ID].iloc[0]]
        model.fit_predict(first, H, levels=(80,))  # warm the pool and the imports
        started = time.perf_counter()
        forecast = model.fit_predict(train, H, levels=(80,))
        seconds = time.perf_counter() - started
    return {"seconds": seconds, **score(forecast, test, scales)}


def main(sample: int = 200) -> dict:
    frame = make_series(sample, seed=11)
    cut = frame[DS].sort_values().unique()[-H - 1]
    train, test = frame[frame[DS] <= cut], frame[frame[DS] > cut]
    scales = seasonal_scales(train, 52)
    models = {family: StatsForecastForecaster(family=family) for family in FAMILIES}
    models["prophet"] = ProphetForecaster(uncertainty_samples=0, country="US")
    results = {}
    for name, model in models.items():
        runs = {f"{n}_process": _run(model, train, test, scales, n) for n in (1, 2)}
        for run in runs.values():
            run["extrapolated_seconds_10k_series"] = run["seconds"] * ALL_SERIES / sample
        results[name] = runs
        print(name, {k: round(v["seconds"], 2) for k, v in runs.items()},
              round(runs["1_process"]["mase"], 3), flush=True)
    prophet = results["prophet"]["2_process"]["seconds"]
    for name, runs in results.items():
        runs["cost_over_prophet_2_process"] = runs["2_process"]["seconds"] / prophet
    payload = {
        "setup": {"series_sample": sample, "weeks": int(frame[DS].nunique()), "h": H,
                  "series_seed": 11, "extrapolated_to": ALL_SERIES,
                  "note": "seconds on the sample, extrapolated linearly to 10,000 series; "
                          "each model warmed on one series first (imports, process pool)"},
        "families": results,
        "load_average_at_end": os.getloadavg(),
        "versions": versions("statsforecast", "prophet", "pandas", "numpy"),
    }
    record("statsforecast_families", payload)
    return payload


if __name__ == "__main__":
    main(*(int(a) for a in sys.argv[1:2]))
