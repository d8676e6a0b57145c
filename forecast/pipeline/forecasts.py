"""Orchestration of ``forecast predict revenue``: forecasts per series, month and quarter.

The registered model forecasts every series of the hierarchy for the requested horizon; the
forecasts, and their sums per calendar month and quarter with a distribution (see
``forecast.hierarchy.periods``), go to the warehouse tables ``revenue_forecast`` and
``revenue_forecast_periods`` and to CSV, Parquet and one Excel workbook under
``<workspace>/outputs``.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import duckdb
import numpy as np
import pandas as pd

from forecast import tracking
from forecast.config import Config
from forecast.engines import on_engine
from forecast.errors import WorkspaceError
from forecast.hierarchy import coherence_error
from forecast.hierarchy.periods import aggregate_to_periods, series_covariances
from forecast.io import catalog, warehouse
from forecast.io.frames import export_workbook
from forecast.model_selection import RevenueForecaster
from forecast.models.base import infer_freq
from forecast.pipeline.results import Result
from forecast.pipeline.revenue import forecast_periods, future_frame, load_series
from forecast.progress import ProgressCallback, Steps
from forecast.schemas import ALL_SERIES, DISCONTINUED, DS, GRAIN, UNIQUE_ID, Y


@dataclass(frozen=True)
class RevenuePredictResult(Result):
    """The forecast written.

    Attributes:
        model_uri: the model used; horizon: as asked (``1Q``, ``13W`` ...); periods: how many
            periods of ``freq`` that is.
        series: series forecast; start, end: the first and last forecast period.
        coherence_error: the largest gap between a parent's forecast and its children's sum.
        discontinued: series the model treats as discontinued.
        quarters: per quarter of the top grain ``unique_id, period, yhat, yhat_lo_80,
            yhat_hi_80``.
        tables, exports: the warehouse tables and the files written.
        seconds: wall time.
    """

    model_uri: str
    horizon: str
    periods: int
    freq: str
    series: int
    start: str
    end: str
    coherence_error: float
    discontinued: int
    quarters: Sequence[Mapping[str, Any]]
    tables: Sequence[str]
    exports: Sequence[str]
    seconds: float


def _error_covariances(model: RevenueForecaster, ids) -> dict:
    """unique_id -> the covariances of its calibration group's scaled errors by lag. A model
    trained before they were measured kept a spread factor ``f`` of its ``h``-period fold
    totals instead, the measure of rows sharing one correlation ``(f^2 - 1) / (h - 1)``."""
    profiles = getattr(model, "error_covariances_", None)
    if profiles is None:
        factor = float(getattr(model, "inflation_", 1.0))
        profiles = {ALL_SERIES: np.array(
            [1.0, np.clip((factor**2 - 1) / max(model.h - 1, 1), 0.0, 1.0)])}
    return series_covariances(profiles, getattr(model, "covariance_groups_", None), ids)


def _partial(con: duckdb.DuckDBPyConnection, history: pd.DataFrame) -> pd.DataFrame | None:
    """The orders so far of the partial last period the series left out, when it is the
    period right after the series' last one (a series table built from these orders)."""
    if not catalog.exists(con, catalog.SERIES_PARTIAL):
        return None
    partial = catalog.read_frame(con, catalog.SERIES_PARTIAL, [UNIQUE_ID, DS, Y, "through"])
    if partial.empty or pd.Timestamp(partial[DS].iloc[0]) <= history[DS].max():
        return None
    return partial.assign(**{DS: pd.to_datetime(partial[DS]),
                             "through": pd.to_datetime(partial["through"])})


@on_engine
def predict_revenue(config: Config, horizon: str | None = None, model_uri: str | None = None,
                    progress: ProgressCallback | None = None
                    ) -> RevenuePredictResult:
    """Forecast the next ``horizon`` (default ``revenue.horizon``) with a registered model.

    Args:
        config: the job config.
        horizon: ``next_quarter``, ``1Q``, ``13W``, ``3M``, ``90D`` ...
        model_uri: MLflow model URI; default the latest ``revenue-forecaster``.
        progress: called as ``(steps done, steps, step)`` as each step starts.
    """
    started = time.perf_counter()
    steps = Steps(4, progress)
    uri = model_uri or f"models:/{catalog.REVENUE_MODEL.name}/latest"
    model = tracking.load_model(uri, config.workspace)
    if not isinstance(model, RevenueForecaster):
        raise WorkspaceError(f"model {uri!r} is a {type(model).__name__}, not a revenue model; "
                             f"pass --model with a {catalog.REVENUE_MODEL.name} version")
    # One connection for the whole command: read the history and the future, write the results.
    with warehouse.connect(config.workspace) as con:
        steps.start("reading the series")
        history, series = load_series(con, config)
        freq = infer_freq(history[DS])
        periods = forecast_periods(con, horizon or config.revenue.horizon, history, freq)
        steps.start(f"forecasting {series[UNIQUE_ID].nunique():,} series {periods} periods ahead")
        forecast = model.predict(periods, future_frame(con, config, periods))
        steps.start("summing months and quarters")
        keys = [c for c in series.columns if c != UNIQUE_ID]
        by_period = aggregate_to_periods(forecast, history[[UNIQUE_ID, DS, Y]], freq, keys,
                                         _error_covariances(model, forecast[UNIQUE_ID]),
                                         model.levels,
                                         booked=catalog.orders_on_series_dates(con),
                                         partial=_partial(con, history))
        steps.start("writing the tables and files")
        exports = _write(con, config, forecast, by_period)
    steps.finish()
    coherence = 0.0 if model.hierarchy_ is None else coherence_error(forecast, model.hierarchy_)
    quarters = by_period[(by_period["period_type"] == "quarter")
                         & (by_period[GRAIN] == series[GRAIN].iloc[0])]
    return RevenuePredictResult(
        model_uri=uri, horizon=horizon or config.revenue.horizon, periods=periods,
        freq=freq, series=int(forecast[UNIQUE_ID].nunique()),
        start=str(forecast[DS].min().date()), end=str(forecast[DS].max().date()),
        coherence_error=float(coherence),
        discontinued=int(forecast.loc[forecast[DISCONTINUED], UNIQUE_ID].nunique()),
        quarters=[{"unique_id": r[UNIQUE_ID], "period": str(r["period"].date()),
                   "yhat": round(float(r["yhat"]), 2),
                   "yhat_lo_80": round(float(r["yhat_lo_80"]), 2),
                   "yhat_hi_80": round(float(r["yhat_hi_80"]), 2)}
                  for _, r in quarters.iterrows()],
        tables=[catalog.REVENUE_FORECAST.name, catalog.REVENUE_FORECAST_PERIODS.name],
        exports=[str(p) for p in exports],
        seconds=round(time.perf_counter() - started, 3),
    )


def _write(con: duckdb.DuckDBPyConnection, config: Config, forecast: pd.DataFrame,
           by_period: pd.DataFrame) -> list:
    paths = []
    for dataset, frame in ((catalog.REVENUE_FORECAST, forecast),
                           (catalog.REVENUE_FORECAST_PERIODS, by_period)):
        catalog.write_frame(con, dataset, frame)
        for suffix in (".csv", ".parquet"):
            paths.append(catalog.export(con, dataset,
                                        catalog.export_path(config.workspace, dataset, suffix)))
    # The summary first: quarters, then months, then every series' forecast.
    sheets = {"quarters": by_period[by_period["period_type"] == "quarter"],
              "months": by_period[by_period["period_type"] == "month"],
              "forecast": forecast}
    paths.append(export_workbook(sheets, config.workspace / "outputs" / "revenue_forecast.xlsx"))
    return paths
