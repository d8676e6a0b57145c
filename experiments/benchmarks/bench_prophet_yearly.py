"""Prophet's yearly seasonality on monthly and quarterly sales: 10 harmonics against as many as
the dates can tell apart, side by side.

Superstore's order lines (``../shared/data/superstore``) summed by month and by quarter, per
region x category (12 series) and per region x sub-category (68), the last, partial period
left out. At each of the last four origins (a quarter apart; monthly forecasts 3 months ahead,
quarterly 1 quarter) a plain Prophet loop fits every series with two or more years of history
(multiplicative seasonality, the project's default, no intervals) and forecasts the next
periods, once with Prophet's default yearly seasonality ("auto": 10 Fourier harmonics from two
years on) and once with the order ``forecast.models.prophet_series.yearly_order`` gives (6
monthly, 2 quarterly: 12 or 4 points a year tell no more harmonics apart). Recorded per data
set and setting: WAPE and mean absolute scaled error (scale: the series' in-sample seasonal
naive) over every forecast point, and the seconds of the loop, on one process.

    python experiments/benchmarks/bench_prophet_yearly.py

Writes experiments/benchmarks/results/prophet_yearly.json.
"""

from __future__ import annotations

import logging
import os
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from benchlib import record, versions

DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "superstore"
SETTINGS = {"M": {"h": 3, "season": 12, "origins": 4, "step": 3},
            "Q": {"h": 1, "season": 4, "origins": 4, "step": 1}}
MIN_YEARS = 2


def series(freq: str, level: str) -> pd.DataFrame:
    """``unique_id, ds, y``: Superstore's sales per region x ``level`` and period, the last,
    partial period left out, every period of a series present (0 without a sale)."""
    raw = pd.read_csv(DATA / "superstore.csv", encoding="utf-8-sig",
                      usecols=["Order Date", "Region", level, "Sales"])
    ds = pd.to_datetime(raw["Order Date"], format="%d/%m/%y").dt.to_period(freq).dt.to_timestamp()
    frame = pd.DataFrame({"unique_id": raw[level] + "/" + raw["Region"], "ds": ds,
                          "y": raw["Sales"].astype(float)})
    frame = frame[frame["ds"] < frame["ds"].max()]
    grid = pd.MultiIndex.from_product([frame["unique_id"].unique(),
                                       np.sort(frame["ds"].unique())], names=["unique_id", "ds"])
    return (frame.groupby(["unique_id", "ds"])["y"].sum().reindex(grid, fill_value=0.0)
            .reset_index())


def run(frame: pd.DataFrame, freq: str, yearly: str) -> dict:
    """Every origin's forecasts with one yearly setting ("auto" or "capped"), scored."""
    from prophet import Prophet

    from forecast.models.prophet_series import quiet_stan, yearly_order

    setting = SETTINGS[freq]
    periods = np.sort(frame["ds"].unique())
    last = len(periods) - setting["h"]
    origins = [periods[last - k * setting["step"] - 1] for k in range(setting["origins"])][::-1]
    errors, actuals, scaled, fits = 0.0, 0.0, [], 0
    started = time.perf_counter()
    for origin in origins:
        for _, group in frame.groupby("unique_id"):
            history = group[group["ds"] <= origin]
            future = group[group["ds"] > origin].head(setting["h"])
            if len(history) < MIN_YEARS * setting["season"] or future.empty:
                continue
            order = "auto" if yearly == "auto" else yearly_order("auto", history["ds"])
            with quiet_stan():
                model = Prophet(seasonality_mode="multiplicative", uncertainty_samples=0,
                                yearly_seasonality=order).fit(history[["ds", "y"]])
                yhat = model.predict(future[["ds"]])["yhat"].to_numpy()
            fits += 1
            y = future["y"].to_numpy()
            errors += float(np.abs(y - yhat).sum())
            actuals += float(y.sum())
            values = history["y"].to_numpy()
            scale = np.mean(np.abs(values[setting["season"]:] - values[:-setting["season"]]))
            if scale > 0:
                scaled += list(np.abs(y - yhat) / scale)
    return {"wape": round(errors / actuals, 4), "mase": round(float(np.mean(scaled)), 4),
            "seconds": round(time.perf_counter() - started, 1), "fits": fits,
            "origins": [str(pd.Timestamp(o).date()) for o in origins]}


def main() -> Path:
    logging.disable(logging.WARNING)
    load = os.getloadavg()
    results = []
    for freq in ("Q", "M"):
        for level in ("Category", "Sub-Category"):
            frame = series(freq, level)
            row = {"freq": freq, "level": f"Region x {level}",
                   "series": int(frame["unique_id"].nunique()), **SETTINGS[freq]}
            for yearly in ("auto", "capped"):
                row[yearly] = run(frame, freq, yearly)
            row["wape_capped_over_auto"] = round(row["capped"]["wape"] / row["auto"]["wape"], 4)
            row["seconds_auto_over_capped"] = round(
                row["auto"]["seconds"] / row["capped"]["seconds"], 2)
            print(row, flush=True)
            results.append(row)
    return record("prophet_yearly", {"load_average_before": load,
                                     "load_average_after": os.getloadavg(), "runs": results,
                                     "versions": versions("prophet", "pandas", "numpy")})


if __name__ == "__main__":
    print(main())
