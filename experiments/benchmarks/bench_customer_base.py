"""The customer-base candidate against the naive forecast and the series-only candidates, with a
horizon of most of a year (39 weeks), on two kinds of data:

- **decaying base**: ``synth.beds.decaying_base_orders``, a young company whose customers came
  in a burst and leave at a constant weekly hazard; seeds 0-2, origins after 20 and 30 weeks
  (a company five and seven months old), 39 weeks ahead; pooled WAPE over the six forecasts.
- **demo total**: the company total of the bundled synthetic company (``forecast demo``'s data:
  2,000 customers, 3 years), through the pipeline's own series and customer activity;
  origins 39 and 52 weeks before the end, 39 weeks ahead; pooled WAPE.

Every model is fitted on the same history and forecasts the same weeks in the same run. The
series-only candidates are the project's baselines and ETS, statsforecast's AutoETS,
AutoTheta, AutoARIMA and MSTL, and Prophet; "best series-only" is the one of lowest pooled
WAPE on each bed, chosen after seeing the test weeks (the strictest peer).

    python experiments/benchmarks/bench_customer_base.py

Writes experiments/benchmarks/results/customer_base.json.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))

from benchlib import record, versions

from forecast.models.baselines import (
    MovingAverageForecaster,
    NaiveForecaster,
    SeasonalGrowthForecaster,
    SeasonalNaiveForecaster,
)
from forecast.models.customer_base import CustomerActivity, CustomerBaseForecaster
from forecast.models.prophet_model import ProphetForecaster
from forecast.models.statistical import ETSForecaster
from forecast.models.statsforecast_family import StatsForecastForecaster
from forecast.schemas import DS, TOTAL, UNIQUE_ID, Y
from forecast.synth.beds import decaying_base_orders

H = 39
SERIES_ONLY = {
    "naive": NaiveForecaster, "seasonal_naive": SeasonalNaiveForecaster,
    "seasonal_growth": SeasonalGrowthForecaster, "moving_average": MovingAverageForecaster,
    "ets": ETSForecaster, "prophet": ProphetForecaster,
    **{family: (lambda freq, family=family: StatsForecastForecaster(family, freq=freq))
       for family in ("auto_ets", "auto_theta", "auto_arima", "mstl")},
}


def _models(activity: CustomerActivity, freq: str) -> dict:
    return {"customer_base": CustomerBaseForecaster(activity, freq=freq),
            **{name: make(freq=freq) for name, make in SERIES_ONLY.items()}}


def _forecast(frame: pd.DataFrame, activity: CustomerActivity, freq: str, history: int
              ) -> list[dict]:
    """Every model fitted on the first ``history`` weeks, scored on the next ``H``."""
    train, truth = frame.iloc[:history], frame[Y].iloc[history:history + H].to_numpy()
    rows = []
    for name, model in _models(activity, freq).items():
        started = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yhat = model.fit(train).predict(H)["yhat"].to_numpy()
        rows.append({"model": name, "history_weeks": history, "abs_error": float(
            np.abs(yhat - truth).sum()), "truth": float(truth.sum()), "forecast": float(
            yhat.sum()), "seconds": round(time.perf_counter() - started, 3)})
    return rows


def _weekly(orders: pd.DataFrame) -> pd.DataFrame:
    day = orders[DS]
    start = (day - pd.to_timedelta(day.dt.dayofweek, "D")).rename(DS)
    return orders.groupby([UNIQUE_ID, start])["amount"].sum().rename(Y).reset_index()


def decaying_bed() -> list[dict]:
    rows = []
    for seed in range(3):
        orders = decaying_base_orders(seed=seed).assign(**{UNIQUE_ID: TOTAL})
        frame, activity = _weekly(orders), CustomerActivity(orders)
        for history in (20, 30):
            rows += [{**row, "seed": seed} for row in _forecast(frame, activity, "W-MON",
                                                                 history)]
    return rows


def demo_bed() -> list[dict]:
    from forecast.config import SynthOptions
    from forecast.io import warehouse
    from forecast.io.ingest import ingest
    from forecast.pipeline import build_series, demo_config
    from forecast.pipeline.revenue import load_activity, load_series
    from forecast.synth import generate_company

    with tempfile.TemporaryDirectory(prefix="bench-customer-base-") as tmp:
        root = Path(tmp)
        generate_company(SynthOptions(), root / "data")
        config = demo_config(root / "data", root / "ws")
        ingest(config)
        build_series(config)
        with warehouse.connect(config.workspace, read_only=True) as con:
            frame, series = load_series(con, config)
            series = series[series[UNIQUE_ID] == TOTAL]
            activity = load_activity(con, series)
    frame = frame.loc[frame[UNIQUE_ID] == TOTAL, [UNIQUE_ID, DS, Y]].reset_index(drop=True)
    freq = pd.infer_freq(pd.DatetimeIndex(frame[DS]))
    rows = []
    for back in (52, 39):
        rows += _forecast(frame, activity, freq, len(frame) - back)
    return rows


def _summary(rows: list[dict]) -> dict:
    table = pd.DataFrame(rows).groupby("model")[["abs_error", "truth", "forecast"]].sum()
    wape = (table["abs_error"] / table["truth"]).round(4)
    bias = (table["forecast"] / table["truth"] - 1).round(4)
    series_only = wape.drop("customer_base")
    best = series_only.idxmin()
    ours = float(wape["customer_base"])
    return {"wape": wape.to_dict(), "bias": bias.to_dict(), "best_series_only": best,
            "customer_base_vs_naive": round(ours / float(wape["naive"]), 3),
            "customer_base_vs_best_series_only": round(ours / float(series_only[best]), 3)}


def main() -> None:
    load = [round(x, 2) for x in os.getloadavg()]
    beds = {"decaying_base": decaying_bed(), "demo_total": demo_bed()}
    summary = {name: _summary(rows) for name, rows in beds.items()}
    path = record("customer_base", {
        "versions": versions("pandas", "numpy", "scipy", "statsforecast", "prophet"),
        "horizon_weeks": H, "load_average_before": load,
        "goals": {"decaying_base": "customer_base WAPE <= 0.9 x naive and <= 0.9 x best "
                                   "series-only", "demo_total": "customer_base WAPE <= best "
                                                                "series-only"},
        "summary": summary, "rows": beds})
    for name, result in summary.items():
        print(name, result)
    print("->", path)


if __name__ == "__main__":
    main()
