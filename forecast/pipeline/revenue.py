"""Orchestration of revenue training: read -> cross-validate and fit -> log -> write.

``train_revenue`` reads the warehouse's ``series`` table (all grains of the hierarchy), makes
the configured :class:`~forecast.model_selection.RevenueForecaster`, runs its nested
out-of-sample evaluation (``cross_validation``: choices made on the folds before each scored
fold, reconciled and unreconciled accuracy per grain), fits it on all the history reusing that
backtest, and logs everything to MLflow, registering the model as ``revenue-forecaster``.
"""

from __future__ import annotations

import dataclasses
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

from forecast import factory, tracking
from forecast.config import Config
from forecast.config.revenue import horizon_periods, is_next_quarter, resolve_horizon
from forecast.engines import on_engine
from forecast.errors import ValidationError, WorkspaceError
from forecast.evaluation.backtest import history_spans
from forecast.evaluation.metrics import score_backtest
from forecast.features.customer_activity import customer_activity_query, grain_keys
from forecast.features.series import build_future_exogenous_sql
from forecast.hierarchy import Hierarchy, build_hierarchy
from forecast.io import catalog, warehouse
from forecast.model_selection import CrossValidation, RevenueForecaster
from forecast.model_selection.folds import pyfunc_output
from forecast.models.base import infer_freq
from forecast.models.customer_base import CustomerActivity
from forecast.pipeline.results import Result
from forecast.progress import ProgressCallback
from forecast.reports.revenue_charts import render_accuracy_png, render_fan_png
from forecast.schemas import DS, FOLD, GRAIN, MODEL, TOTAL, UNIQUE_ID, Y


@dataclass(frozen=True)
class RevenueTrainResult(Result):
    """The revenue forecaster cross-validated, fitted and registered.

    Attributes:
        model_uri, run_id, tracking_uri: where MLflow keeps the model and its run.
        series: series modelled (every grain); freq: their frequency; horizon_periods: the
            periods the model forecasts.
        layout: the backtest's fold layout (``h, step, selection_folds, eval_folds``).
        selected: the selected forecast's scores at the bottom grain (``model, grain, wape,
            mase, coverage_<l>`` ...); None without evaluation folds.
        pooled, by_grain: backtest scores per model, and per model and grain.
        by_level: WAPE per grain before and after reconciliation; None without it.
        strategies: the selection strategy chosen at each evaluation fold.
        reconcile: the reconciliation method; dropped: series left out, and why.
        notes: what the layout and the model say about the history.
        seconds: wall time.
    """

    model_uri: str
    run_id: str
    tracking_uri: str
    series: int
    freq: str
    horizon_periods: int
    layout: Mapping[str, int]
    selected: Mapping[str, Any] | None
    pooled: Sequence[Mapping[str, Any]]
    by_grain: Sequence[Mapping[str, Any]]
    by_level: Sequence[Mapping[str, Any]] | None
    strategies: Sequence[str]
    reconcile: str
    dropped: Mapping[str, Any]
    notes: Sequence[str]
    seconds: float


def load_series(con: duckdb.DuckDBPyConnection, config: Config
                ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The warehouse's series frame for modelling, and its series' keys.

    Returns:
        ``(frame, series)``: ``unique_id, ds, y`` + regressor columns, one row per series and
        period; and ``unique_id, grain`` + key columns, one row per series.

    Raises:
        WorkspaceError: there is no ``series`` table (run ``forecast features series``).
        ValidationError: a configured regressor is not a column of the series table.
    """
    if not catalog.exists(con, catalog.SERIES):
        raise WorkspaceError(f"{warehouse.warehouse_path(config.workspace)}: no series "
                             "table; run `forecast features series --config ...` first")
    columns = list(catalog.columns(con, catalog.SERIES))
    keys = [c for c in columns if c in _key_columns(config)]
    missing = [c for c in config.revenue.regressors if c not in columns]
    if missing:
        raise ValidationError(f"revenue.regressors {missing} are not columns of the series "
                              f"table; columns: {columns}")
    wanted = [UNIQUE_ID, DS, Y, GRAIN, *keys, *config.revenue.regressors]
    frame = catalog.read_frame(con, catalog.SERIES, wanted, order_by=(UNIQUE_ID, DS))
    frame[DS] = pd.to_datetime(frame[DS])
    regressors = list(config.revenue.regressors)
    frame[regressors] = frame[regressors].astype(float)
    series = frame[[UNIQUE_ID, GRAIN, *keys]].drop_duplicates(UNIQUE_ID).reset_index(drop=True)
    return frame[[UNIQUE_ID, DS, Y, *regressors]], series


def load_activity(con: duckdb.DuckDBPyConnection, series: pd.DataFrame) -> CustomerActivity:
    """The customers' purchase days behind each series (see
    ``forecast.features.customer_activity``), for the customer-base candidate.

    Raises:
        ValidationError: the orders have no customer_id.
    """
    if "customer_id" not in catalog.columns(con, catalog.ORDERS):
        raise ValidationError("revenue candidate customer_base needs orders with a customer_id")
    con.register("series_keys", series)
    try:
        query = customer_activity_query("series_keys", grain_keys(list(series[GRAIN].unique())),
                                        catalog.ORDERS.name)
        return CustomerActivity(con.execute(*query).df())
    finally:
        con.unregister("series_keys")


def _key_columns(config: Config) -> set[str]:
    return {c for grain in config.features.series.grains for c in grain}


def _hierarchy(frame: pd.DataFrame, series: pd.DataFrame, method: str) -> Hierarchy | None:
    """The hierarchy of a stacked frame, or None for a single grain or no reconciliation."""
    if method == "none" or series[GRAIN].nunique() < 2:
        return None
    return build_hierarchy(frame.merge(series, on=UNIQUE_ID))


def _metrics(cv: CrossValidation | None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Pooled scores per model, and per model and grain, of the evaluation folds (empty
    without evaluation folds)."""
    if cv is None:
        return pd.DataFrame(columns=[MODEL]), pd.DataFrame(columns=[MODEL, GRAIN])
    return score_backtest(cv.rows, by=(MODEL,)), score_backtest(cv.rows, by=(MODEL, GRAIN))


def _headline(cv: CrossValidation, by_grain: pd.DataFrame, series: pd.DataFrame) -> dict:
    """The selected forecast's scores at the bottom grain (the series a planner forecasts)."""
    bottom = series.loc[series[GRAIN].map(lambda g: g.count("/")).idxmax(), GRAIN] \
        if (series[GRAIN] != TOTAL).any() else TOTAL
    row = by_grain[(by_grain[MODEL] == cv.final) & (by_grain[GRAIN] == bottom)]
    scores = row.drop(columns=[MODEL, GRAIN]).iloc[0].to_dict()
    return {MODEL: cv.final, GRAIN: bottom, **{k: round(float(v), 4) for k, v in scores.items()}}


def _charts(tmp: Path, cv: CrossValidation | None, frame: pd.DataFrame, forecast: pd.DataFrame
            ) -> list[Path]:
    """Accuracy by grain and the fan chart of the top series (the company total if any)."""
    paths = []
    if cv is not None and cv.accuracy_by_grain is not None:
        paths.append(render_accuracy_png(cv.accuracy_by_grain, tmp / "accuracy_by_level.png"))
    top = TOTAL if (forecast[UNIQUE_ID] == TOTAL).any() else forecast[UNIQUE_ID].iloc[0]
    history = frame[frame[UNIQUE_ID] == top].tail(156)
    paths.append(render_fan_png(history, forecast[forecast[UNIQUE_ID] == top],
                                tmp / "forecast_fan.png", title=f"Forecast of {top}"))
    return paths


def _params(config: Config, model: RevenueForecaster, extra: dict) -> dict:
    """The config, and every candidate's effective hyperparameters (defaults included)."""
    params = {**config.revenue.model_dump(mode="json"), **extra}
    for name, candidate in model.candidates.items():
        for key, value in candidate.get_params(deep=True).items():
            if value is None or isinstance(value, str | int | float | bool | tuple):
                params[f"candidate.{name}.{key}"] = value
    return params


def _track(config: Config, cv: CrossValidation | None, scores: tuple,
           model: RevenueForecaster, frames: tuple, params: dict) -> tuple[str, str]:
    """Log parameters, metrics per model and grain, tables, charts and the model."""
    pooled, by_grain = scores
    frame, example = frames
    # One forecast serves the fan chart and the signature's example output.
    forecast = model.predict(model.horizon_, example)
    with tracking.start_run(config.workspace, catalog.REVENUE_MODEL.name, "train revenue", params) as run:
        for _, row in by_grain.iterrows():
            tracking.log_metrics({k: v for k, v in row.items() if k not in (MODEL, GRAIN)},
                                 prefix=f"{row[MODEL]}.{row[GRAIN].replace('/', '.')}.")
        for _, row in pooled.iterrows():
            tracking.log_metrics({k: v for k, v in row.items() if k != MODEL},
                                 prefix=f"{row[MODEL]}.pooled.")
        if cv is not None:
            tracking.log_frame(cv.rows, "backtest.csv")
            tracking.log_frame(cv.choices, "choices.csv")
            if cv.accuracy_by_grain is not None:
                tracking.log_frame(cv.accuracy_by_grain, "accuracy_by_level.csv")
        with tempfile.TemporaryDirectory() as tmp:
            tracking.log_files(_charts(Path(tmp), cv, frame, forecast), "charts")
        uri = tracking.log_model(model, example, catalog.REVENUE_MODEL.name, pyfunc_output(forecast))
        return uri, run.info.run_id


def forecast_periods(con: duckdb.DuckDBPyConnection, horizon: str, frame: pd.DataFrame,
                     freq: str) -> int:
    """The periods of ``freq`` a horizon spans after the series ``frame`` ends: a length
    (``13W``), or ``next_quarter``: through the end of the quarter after the last order day's
    (``config.revenue.resolve_horizon``; without orders, the series' last day stands in)."""
    if not is_next_quarter(horizon):
        return horizon_periods(horizon, freq)  # a length: no need to read the orders
    first = pd.Timestamp(frame[DS].max()) + pd.tseries.frequencies.to_offset(freq)
    span = catalog.order_span(con)
    last_day = span[1] if span else (first - pd.Timedelta(days=1)).date()
    return resolve_horizon(horizon, freq, first.date(), last_day)


@on_engine
def train_revenue(config: Config, progress: ProgressCallback | None = None
                  ) -> RevenueTrainResult:
    """Cross-validate, fit and register the revenue forecaster; see the module doc."""
    started = time.perf_counter()
    with warehouse.connect(config.workspace, read_only=True) as con:
        frame, series = load_series(con, config)
        activity = load_activity(con, series) if "customer_base" in (
            config.revenue.candidates or ()) else None
        freq = infer_freq(frame[DS])
        periods = forecast_periods(con, config.revenue.horizon, frame, freq)
    # The structure is checked before any fit, so grains that do not nest fail at once.
    hierarchy = _hierarchy(frame, series, config.revenue.reconcile)
    layout = factory.fold_layout(config.revenue, freq, int(history_spans(frame).max()), periods)
    model = factory.revenue_forecaster(config.revenue, freq, config.country, layout, activity,
                                       periods)
    cv = None
    if layout.eval_folds:
        cv = model.cross_validation(frame, hierarchy, series, n_windows=layout.eval_folds,
                                    progress=progress)
    pooled, by_grain = _metrics(cv)
    model.fit(frame, hierarchy, series, cv=cv)
    with warehouse.connect(config.workspace, read_only=True) as con:
        example = future_frame(con, config, model.horizon_)
    # The first lags of each calibration group's error covariances (all would pass MLflow's
    # limit on a parameter's length for daily series).
    covariances = {g: [round(float(c), 3) for c in v[:3]]
                   for g, v in model.error_covariances_.items()}
    params = _params(config, model, {"series": len(series), "freq": freq, "rows": len(frame),
                                     "error_covariances": covariances,
                                     "layout": dataclasses.asdict(layout)})
    uri, run_id = _track(config, cv, (pooled, by_grain), model, (frame, example), params)
    _write_backtest(config, by_grain)
    return RevenueTrainResult(
        model_uri=uri, run_id=run_id, tracking_uri=tracking.tracking_uri(config.workspace),
        series=len(series), freq=freq, horizon_periods=model.horizon_,
        layout={k: v for k, v in dataclasses.asdict(layout).items() if k != "note"},
        selected=None if cv is None else _headline(cv, by_grain, series),
        pooled=_records(pooled), by_grain=_records(by_grain),
        by_level=None if cv is None or cv.accuracy_by_grain is None
        else _records(cv.accuracy_by_grain),
        strategies=[] if cv is None else cv.choices.groupby(FOLD)["strategy"].first().tolist(),
        reconcile=config.revenue.reconcile, dropped=dict(model.dropped_),
        notes=[n for n in (layout.note, *model.notes()) if n],
        seconds=round(time.perf_counter() - started, 3),
    )


def _records(frame: pd.DataFrame) -> list[dict]:
    return frame.round(4).astype(object).where(frame.notna(), None).to_dict("records")


def _write_backtest(config: Config, by_grain: pd.DataFrame) -> None:
    """Backtest scores per model and grain to the warehouse table ``revenue_backtest``."""
    with warehouse.connect(config.workspace) as con:
        catalog.write_frame(con, catalog.REVENUE_BACKTEST, by_grain)


def future_frame(con: duckdb.DuckDBPyConnection, config: Config, periods: int
                 ) -> pd.DataFrame:
    """Known future features of every series for the next ``periods`` periods.

    Returns:
        ``unique_id, ds, h`` + the regressor columns (see ``build_future_exogenous_sql``).

    Raises:
        ValidationError: a regressor has no future value (it is not known ahead).
    """
    regressors = list(config.revenue.regressors)
    query = build_future_exogenous_sql(con, config.features.series, config.country, periods)
    future = con.execute(*query).df()
    unknown = [c for c in regressors if future[c].isna().any()]
    if unknown:
        raise ValidationError(
            f"revenue.regressors {unknown} have no values after the data ends, so they cannot "
            "be used to forecast; use calendar columns (is_holiday, holiday_count, ...) or an "
            "exogenous table that extends past the orders")
    future[DS] = pd.to_datetime(future[DS])
    future[regressors] = future[regressors].astype(float)
    future["h"] = future["h"].astype("int64")
    return future[[UNIQUE_ID, DS, "h", *regressors]]
