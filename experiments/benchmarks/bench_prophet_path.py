"""The project's Prophet path against a plain Prophet loop, side by side, on 1 and 2 processes.

200 series of the speed benchmark (``bench_revenue_speed.make_series``: weekly, 156 weeks, the
last 13 held out), the same model for both: Prophet's defaults with additive seasonality and US
holidays. The plain loop is what a user writes: ``Prophet(...)``, ``add_country_holidays``,
``fit(df)``, ``predict(future)`` per series (Prophet's default 1,000 predictive samples for its
intervals), in this process or over 2 joblib processes. The project's path is
``ProphetForecaster(n_jobs=1 | 2).fit_predict`` (what every backtest fold runs: one task per
series, no model round trip; intervals without simulation, Normal with the fitted noise) and
``fit`` then ``predict`` (the final fit, its models kept as JSON). Each timing is the best of
``--rounds`` after one warm-up (worker pools started). The point forecasts must be the same:
the largest relative difference is recorded, and the MASE of both.

    python experiments/benchmarks/bench_prophet_path.py [--series 200] [--rounds 2]

Writes experiments/benchmarks/results/prophet_path.json.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_revenue_speed import H, make_series
from benchlib import record, versions

from forecast.evaluation.backtest import seasonal_scales
from forecast.evaluation.metrics import mase
from forecast.models.prophet_model import ProphetForecaster
from forecast.models.prophet_series import quiet_stan
from forecast.schemas import DS, UNIQUE_ID, YHAT, Y

FREQ, COUNTRY = "W-SUN", "US"


def plain_one(uid: str, history: pd.DataFrame) -> pd.DataFrame:
    """One series as a user fits it with Prophet alone."""
    from prophet import Prophet

    with quiet_stan():
        model = Prophet(seasonality_mode="additive")
        model.add_country_holidays(country_name=COUNTRY)
        model.fit(history[[DS, Y]])
        future = model.make_future_dataframe(periods=H, freq=FREQ, include_history=False)
        forecast = model.predict(future)
    return pd.DataFrame({UNIQUE_ID: uid, DS: forecast[DS], YHAT: forecast[YHAT]})


def plain_loop(train: pd.DataFrame, n_jobs: int) -> pd.DataFrame:
    groups = list(train.groupby(UNIQUE_ID, sort=True))
    if n_jobs == 1:
        pieces = [plain_one(uid, g) for uid, g in groups]
    else:
        from joblib import Parallel, delayed

        pieces = Parallel(n_jobs=n_jobs)(delayed(plain_one)(uid, g) for uid, g in groups)
    return pd.concat(pieces, ignore_index=True)


def ours(n_jobs: int) -> ProphetForecaster:
    return ProphetForecaster(seasonality_mode="additive", country=COUNTRY, n_jobs=n_jobs,
                             freq=FREQ)


def timed(run) -> tuple[pd.DataFrame, float]:
    started = time.perf_counter()
    out = run()
    return out, time.perf_counter() - started


def best_of(run, rounds: int) -> tuple[pd.DataFrame, float, list[float]]:
    run()  # warm-up: imports, worker pools
    results = [timed(run) for _ in range(rounds)]
    seconds = [round(s, 3) for _, s in results]
    return results[0][0], min(seconds), seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--series", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    load = os.getloadavg()
    frame = make_series(args.series)
    cut = frame[DS].max() - pd.Timedelta(weeks=H)
    train, test = frame[frame[DS] <= cut], frame[frame[DS] > cut]
    scales = seasonal_scales(train, 52)
    runs: dict[str, dict] = {}
    forecasts: dict[str, pd.DataFrame] = {}
    plans = {
        "plain_loop": lambda n: (lambda: plain_loop(train, n)),
        "fit_predict": lambda n: (lambda: ours(n).fit_predict(train, H, levels=(80, 95))),
        "fit_then_predict": lambda n: (lambda: ours(n).fit(train).predict(H, levels=(80, 95))),
    }
    for name, plan in plans.items():
        for n_jobs in (1, 2):
            out, seconds, all_seconds = best_of(plan(n_jobs), args.rounds)
            key = f"{name}_{n_jobs}"
            forecasts[key] = out.sort_values([UNIQUE_ID, DS]).reset_index(drop=True)
            rows = test.merge(forecasts[key], on=[UNIQUE_ID, DS]).merge(
                scales, left_on=UNIQUE_ID, right_index=True)
            runs[key] = {"processes": n_jobs, "seconds": seconds, "seconds_all": all_seconds,
                         "rows": len(rows),
                         "mase": round(mase(rows[Y], rows[YHAT], rows["scale_mae"]), 4)}
            print(key, runs[key], flush=True)
    reference = forecasts["plain_loop_1"][YHAT].to_numpy()
    for key, out in forecasts.items():
        diff = np.abs(out[YHAT].to_numpy() - reference) / np.abs(reference)
        runs[key]["largest_relative_difference_to_plain"] = float(diff.max())
    ratios = {f"plain_over_{name}_{n}": round(runs[f"plain_loop_{n}"]["seconds"] /
                                              runs[f"{name}_{n}"]["seconds"], 3)
              for name in ("fit_predict", "fit_then_predict") for n in (1, 2)}
    gains = {f"{name}_2_over_1": round(runs[f"{name}_1"]["seconds"] / runs[f"{name}_2"]["seconds"],
                                        3) for name in plans}
    path = record("prophet_path", {
        "versions": versions("prophet", "cmdstanpy", "pandas", "numpy", "joblib"),
        "data": {"series": args.series, "weeks": int(frame[DS].nunique()), "h": H,
                 "freq": FREQ, "country_holidays": COUNTRY, "seasonality_mode": "additive"},
        "rounds": args.rounds, "load_average_at_start": [round(x, 2) for x in load],
        "load_average_at_end": [round(x, 2) for x in os.getloadavg()],
        "runs": runs, "ratios": ratios, "two_process_gains": gains})
    print(path.read_text(encoding="utf-8"))


if __name__ == "__main__":
    main()
