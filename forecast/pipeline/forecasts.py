"""Orchestration of ``forecast predict revenue``: forecasts per series, month and quarter.

The registered model forecasts every series of the hierarchy for the requested horizon; the
forecasts, and their sums per calendar month and quarter with a distribution (see
``forecast.hierarchy.periods``), go to the warehouse tables ``revenue_forecast`` and
``revenue_forecast_periods`` and to CSV, Parquet and one Excel workbook under
``<workspace>/outputs``.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import pandas as pd

from forecast.config import Config
from forecast.config.revenue import horizon_periods
from forecast.schemas import DS, UNIQUE_ID, Y

FORECAST_TABLE, PERIODS_TABLE = "revenue_forecast", "revenue_forecast_periods"


def predict_revenue(config: Config, horizon: str | None = None, model_uri: str | None = None,
                    progress: Callable[[int, int], None] | None = None) -> dict:
    """Forecast the next ``horizon`` (default ``revenue.horizon``) with a registered model.

    Args:
        config: the job config.
        horizon: ``1Q``, ``13W``, ``3M``, ``90D`` ...
        model_uri: MLflow model URI; default the latest ``revenue-forecaster``.
        progress: called as (steps done, steps).
    """
    from forecast import tracking
    from forecast.hierarchy import coherence_error
    from forecast.hierarchy.periods import aggregate_to_periods
    from forecast.models.base import infer_freq
    from forecast.pipeline.revenue import GRAIN, future_frame, load_series

    started = time.perf_counter()
    step = progress or (lambda done, total: None)
    uri = model_uri or "models:/revenue-forecaster/latest"
    model = tracking.load_model(uri, config.workspace)
    history, series = load_series(config)
    freq = infer_freq(history[DS])
    periods = horizon_periods(horizon or config.revenue.horizon, freq)
    step(1, 4)
    forecast, _ = model.forecast(future_frame(config, periods, freq))
    step(2, 4)
    keys = [c for c in series.columns if c != UNIQUE_ID]
    by_period = aggregate_to_periods(forecast, history[[UNIQUE_ID, DS, Y]], freq, keys,
                                     model.inflation, model.levels)
    step(3, 4)
    exports = _write(config, forecast, by_period)
    step(4, 4)
    coherence = coherence_error(forecast, model.hierarchy) if model.hierarchy is not None else 0.0
    quarters = by_period[(by_period["period_type"] == "quarter")
                         & (by_period[GRAIN] == series[GRAIN].iloc[0])]
    return {
        "model_uri": uri, "horizon": horizon or config.revenue.horizon, "periods": periods,
        "freq": freq, "series": int(forecast[UNIQUE_ID].nunique()),
        "start": str(forecast[DS].min().date()), "end": str(forecast[DS].max().date()),
        "coherence_error": float(coherence),
        "quarters": [{"unique_id": r[UNIQUE_ID], "period": str(r["period"].date()),
                      "yhat": round(float(r["yhat"]), 2),
                      "yhat_lo_80": round(float(r["yhat_lo_80"]), 2),
                      "yhat_hi_80": round(float(r["yhat_hi_80"]), 2)}
                     for _, r in quarters.iterrows()],
        "tables": [FORECAST_TABLE, PERIODS_TABLE], "exports": [str(p) for p in exports],
        "seconds": round(time.perf_counter() - started, 3),
    }


def _write(config: Config, forecast: pd.DataFrame, by_period: pd.DataFrame) -> list:
    from forecast.io import warehouse
    from forecast.io.frames import export_workbook, write_frame
    from forecast.io.outputs import export_table

    out = config.workspace / "outputs"
    paths = []
    with warehouse.connect(config.workspace) as con:
        for name, frame in ((FORECAST_TABLE, forecast), (PERIODS_TABLE, by_period)):
            write_frame(con, name, frame)
            for suffix in (".csv", ".parquet"):
                paths.append(export_table(con, name, out / f"{name}{suffix}"))
    sheets = {"forecast": forecast,
              "months": by_period[by_period["period_type"] == "month"],
              "quarters": by_period[by_period["period_type"] == "quarter"]}
    paths.append(export_workbook(sheets, out / "revenue_forecast.xlsx"))
    return paths
