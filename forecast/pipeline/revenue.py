"""Orchestration of revenue training: backtest, out-of-sample selection, final fit, MLflow.

``train_revenue`` backtests the configured candidates on every series of the warehouse's
``series`` table (all grains of the hierarchy), scores the selected forecast on the evaluation
folds with choices made on the folds before each (see ``forecast.evaluation.selection``),
compares reconciled with unreconciled accuracy per level, fits the final model on all the
history and logs everything to MLflow, registering the model as ``revenue-forecaster``.
"""

from __future__ import annotations

import logging
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import pandas as pd

from forecast.config import Config
from forecast.config.revenue import horizon_periods
from forecast.errors import ValidationError, WorkspaceError
from forecast.schemas import DS, UNIQUE_ID, Y

log = logging.getLogger(__name__)
REGISTERED_NAME = "revenue-forecaster"
GRAIN = "grain"


def load_series(config: Config) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The warehouse's series frame for modelling, and its series' keys.

    Returns:
        ``(frame, series)``: ``unique_id, ds, y`` + regressor columns, one row per series and
        period; and ``unique_id, grain`` + level columns, one row per series.

    Raises:
        WorkspaceError: there is no ``series`` table (run ``forecast features series``).
        ValidationError: a configured regressor is not a column of the series table.
    """
    from forecast.io import warehouse

    with warehouse.connect(config.workspace, read_only=True) as con:
        if not warehouse.table_exists(con, "series"):
            raise WorkspaceError(f"{warehouse.warehouse_path(config.workspace)}: no series "
                                 "table; run `forecast features series --config ...` first")
        columns = [r[0] for r in con.execute("DESCRIBE series").fetchall()]
        levels = [c for c in columns if c in _level_columns(config)]
        missing = [c for c in config.revenue.regressors if c not in columns]
        if missing:
            raise ValidationError(f"revenue.regressors {missing} are not columns of the series "
                                  f"table; columns: {columns}")
        wanted = [UNIQUE_ID, DS, Y, GRAIN, *levels, *config.revenue.regressors]
        frame = con.execute(f"SELECT {', '.join(map(warehouse.quote, wanted))} FROM series "
                            f"ORDER BY {UNIQUE_ID}, {DS}").df()
    frame[DS] = pd.to_datetime(frame[DS])
    regressors = list(config.revenue.regressors)
    frame[regressors] = frame[regressors].astype(float)
    series = frame[[UNIQUE_ID, GRAIN, *levels]].drop_duplicates(UNIQUE_ID).reset_index(drop=True)
    return frame[[UNIQUE_ID, DS, Y, *regressors]], series


def _level_columns(config: Config) -> set[str]:
    return {c for grain in config.features.series.grains for c in grain}


def _hierarchy(frame: pd.DataFrame, series: pd.DataFrame, method: str):
    """The hierarchy of a stacked frame, or None for a single grain or no reconciliation."""
    from forecast.hierarchy import build_hierarchy

    if method == "none" or series[GRAIN].nunique() < 2:
        return None
    return build_hierarchy(frame.merge(series, on=UNIQUE_ID))


def _caps(frame: pd.DataFrame, config: Config) -> pd.Series | None:
    if config.revenue.prophet.growth != "logistic":
        return None
    return frame.groupby(UNIQUE_ID)[Y].max().clip(lower=1.0) * config.revenue.prophet.cap_multiple


def run_backtest(config: Config, frame: pd.DataFrame, freq: str,
                 progress: Callable[[int, int], None] | None = None) -> pd.DataFrame:
    """Backtest the configured candidates over ``selection_folds + eval_folds`` origins."""
    from forecast.evaluation.backtest import BacktestSpec, backtest
    from forecast.models.revenue import add_caps, build_candidates

    cfg = config.revenue
    h = cfg.backtest_h or horizon_periods(cfg.horizon, freq)
    spec = BacktestSpec(h=h, n_folds=cfg.selection_folds + cfg.eval_folds, step=cfg.step,
                        levels=tuple(cfg.levels), exog=tuple(cfg.regressors),
                        min_history=cfg.min_history)
    caps = _caps(frame, config)
    data = frame if caps is None else add_caps(frame, caps)
    spec = spec if caps is None else BacktestSpec(**{**vars(spec), "exog": (*spec.exog, "cap")})
    candidates = build_candidates(cfg, freq, h, config.country)
    return backtest(candidates, data, spec, progress)


def evaluate(config: Config, table: pd.DataFrame, series: pd.DataFrame, hierarchy) -> dict:
    """Out-of-sample scores of the candidates and the selected forecast, per grain.

    Returns:
        ``rows`` (scored rows incl. ``model == "selected"`` and, with a hierarchy,
        ``"selected_reconciled"``), ``choices``, ``by_level`` (reconciled vs unreconciled WAPE
        per grain) and ``inflation`` (spread factor of multi-period totals).
    """
    from forecast.evaluation.selection import evaluate_selection
    from forecast.hierarchy.periods import total_error_inflation

    cfg = config.revenue
    groups = series.set_index(UNIQUE_ID)[GRAIN]
    rows, choices, selections = evaluate_selection(
        table, cfg.selection_folds, cfg.strategy, cfg.levels, groups)
    by_level = None
    if hierarchy is not None:
        reconciled, by_level = _reconcile_folds(rows, selections, hierarchy, cfg.reconcile)
        if reconciled is not None:
            rows = pd.concat([rows, reconciled], ignore_index=True)
    final = "selected_reconciled" if (rows["model"] == "selected_reconciled").any() \
        else "selected"
    inflation = total_error_inflation(rows[rows["model"] == final])
    rows = rows.merge(series[[UNIQUE_ID, GRAIN]], on=UNIQUE_ID, how="left")
    return {"rows": rows, "choices": choices, "by_level": by_level, "final": final,
            "inflation": inflation}


def _reconcile_folds(rows: pd.DataFrame, selections: dict, hierarchy, method: str):
    """Reconcile each evaluation fold's selected forecast; WAPE per grain before and after.

    A fold reconciles the series that existed at its origin, on the dates where each of them
    has a row; rows of dates with a closed store (no actual, so no backtest row) stay as they
    were and are scored unreconciled.
    """
    from forecast.evaluation.backtest import FOLD
    from forecast.hierarchy import accuracy_by_level, reconcile
    from forecast.hierarchy.reconcile import usable_method

    selected = rows[rows["model"] == "selected"]
    pieces, actuals = [], []
    try:
        for fold, group in selected.groupby(FOLD):
            # A series that did not exist yet at the fold's origin has no forecast there.
            present = hierarchy.restrict(group[UNIQUE_ID].unique())
            residuals = selections[fold].residuals
            residuals = residuals[residuals[UNIQUE_ID].isin(present.unique_ids)]
            used = usable_method(method, present, residuals)
            full = group.groupby(DS)[UNIQUE_ID].transform("size") == len(present.unique_ids)
            pieces += [reconcile(group[full], present, used, residuals), group[~full]]
            actuals.append(group)
    except ValidationError as exc:
        log.warning("backtest forecasts not reconciled (%s); levels reported unreconciled", exc)
        return None, None
    reconciled = pd.concat(pieces, ignore_index=True).assign(model="selected_reconciled")
    base = pd.concat(actuals, ignore_index=True)
    by_level = accuracy_by_level(_fold_key(base), _fold_key(base), _fold_key(reconciled),
                                 hierarchy=hierarchy)
    return reconciled, by_level


def _fold_key(frame: pd.DataFrame) -> pd.DataFrame:
    """Rows keyed by (series, fold and date), so folds that share dates stay apart."""
    from forecast.evaluation.backtest import FOLD

    return frame.assign(**{DS: frame[FOLD].astype(str) + "|" + frame[DS].astype(str)})


def fit_final(config: Config, frame: pd.DataFrame, series: pd.DataFrame, table: pd.DataFrame,
              evaluation: dict):
    """The model of all the history, choosing on the last ``selection_folds`` backtest folds."""
    from forecast.evaluation.backtest import FOLD
    from forecast.evaluation.selection import select_on
    from forecast.models.base import infer_freq
    from forecast.models.revenue import (
        RevenueModel,
        RevenueModelSettings,
        add_caps,
        build_candidates,
    )

    cfg = config.revenue
    freq = infer_freq(frame[DS])
    h = max(cfg.backtest_h or horizon_periods(cfg.horizon, freq),
            horizon_periods(cfg.horizon, freq))
    folds = sorted(table[FOLD].unique())[-cfg.selection_folds:]
    selection = select_on(table[table[FOLD].isin(folds)], cfg.strategy, cfg.levels,
                          series.set_index(UNIQUE_ID)[GRAIN])
    caps = _caps(frame, config)
    data = frame if caps is None else add_caps(frame, caps)
    models = {name: model.fit(data)
              for name, model in build_candidates(cfg, freq, h, config.country).items()}
    settings = RevenueModelSettings(series, evaluation["inflation"], h, tuple(cfg.levels),
                                    tuple(cfg.regressors), caps)
    return RevenueModel(models, selection, _hierarchy(frame, series, cfg.reconcile),
                        cfg.reconcile, settings)


def _metrics(evaluation: dict) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Pooled scores per model, and per model and grain, of the evaluation folds."""
    from forecast.evaluation.metrics import score_backtest

    rows = evaluation["rows"]
    return score_backtest(rows, by=("model",)), score_backtest(rows, by=("model", GRAIN))


def _headline(evaluation: dict, by_grain: pd.DataFrame, series: pd.DataFrame) -> dict:
    """The selected forecast's scores at the bottom grain (the series a planner forecasts)."""
    bottom = series.loc[series[GRAIN].map(lambda g: g.count("/")).idxmax(), GRAIN] \
        if (series[GRAIN] != "total").any() else "total"
    row = by_grain[(by_grain["model"] == evaluation["final"]) & (by_grain[GRAIN] == bottom)]
    scores = row.drop(columns=["model", GRAIN]).iloc[0].to_dict()
    return {"model": evaluation["final"], GRAIN: bottom,
            **{k: round(float(v), 4) for k, v in scores.items()}}


def _charts(tmp: Path, evaluation: dict, frame: pd.DataFrame, forecast: pd.DataFrame
            ) -> list[Path]:
    """Accuracy by level and the fan chart of the top series (the company total if any)."""
    from forecast.reports.revenue_charts import render_accuracy_png, render_fan_png

    paths = []
    if evaluation["by_level"] is not None:
        paths.append(render_accuracy_png(evaluation["by_level"], tmp / "accuracy_by_level.png"))
    top = "total" if (forecast[UNIQUE_ID] == "total").any() else forecast[UNIQUE_ID].iloc[0]
    history = frame[frame[UNIQUE_ID] == top].tail(156)
    paths.append(render_fan_png(history, forecast[forecast[UNIQUE_ID] == top],
                                tmp / "forecast_fan.png", title=f"Forecast of {top}"))
    return paths


def _track(config: Config, evaluation: dict, scores: tuple, model, frames: tuple,
           params: dict) -> tuple[str, str]:
    """Log parameters, metrics per model and grain, tables, charts and the model."""
    from forecast import tracking
    from forecast.models.revenue import pyfunc_output

    pooled, by_grain = scores
    frame, example = frames
    # One forecast serves the fan chart and the signature's example output.
    forecast, _ = model.forecast(example)
    with tracking.start_run(config.workspace, REGISTERED_NAME, "train revenue", params) as run:
        for _, row in by_grain.iterrows():
            tracking.log_metrics({k: v for k, v in row.items() if k not in ("model", GRAIN)},
                                 prefix=f"{row['model']}.{row[GRAIN].replace('/', '.')}.")
        for _, row in pooled.iterrows():
            tracking.log_metrics({k: v for k, v in row.items() if k != "model"},
                                 prefix=f"{row['model']}.pooled.")
        tracking.log_frame(evaluation["rows"], "backtest.csv")
        tracking.log_frame(evaluation["choices"], "choices.csv")
        if evaluation["by_level"] is not None:
            tracking.log_frame(evaluation["by_level"], "accuracy_by_level.csv")
        with tempfile.TemporaryDirectory() as tmp:
            tracking.log_files(_charts(Path(tmp), evaluation, frame, forecast), "charts")
        uri = tracking.log_model(model, example, REGISTERED_NAME, pyfunc_output(forecast))
        return uri, run.info.run_id


def train_revenue(config: Config, progress: Callable[[int, int], None] | None = None) -> dict:
    """Backtest, select, evaluate, fit and register the revenue model; see the module doc."""
    from forecast import tracking
    from forecast.models.base import infer_freq

    started = time.perf_counter()
    frame, series = load_series(config)
    freq = infer_freq(frame[DS])
    # The structure is checked before any fit, so grains that do not nest fail at once.
    hierarchy = _hierarchy(frame, series, config.revenue.reconcile)
    table = run_backtest(config, frame, freq, progress)
    evaluation = evaluate(config, table, series, hierarchy)
    pooled, by_grain = _metrics(evaluation)
    model = fit_final(config, frame, series, table, evaluation)
    example = future_frame(config, model.horizon, freq)
    params = {**config.revenue.model_dump(mode="json"), "series": len(series), "freq": freq,
              "rows": len(frame), "inflation": round(evaluation["inflation"], 4)}
    uri, run_id = _track(config, evaluation, (pooled, by_grain), model, (frame, example), params)
    _write_backtest(config, by_grain)
    strategies = evaluation["choices"].groupby("fold")["strategy"].first().tolist()
    return {
        "model_uri": uri, "run_id": run_id, "tracking_uri": tracking.tracking_uri(config.workspace),
        "series": len(series), "freq": freq, "horizon_periods": model.horizon,
        "selected": _headline(evaluation, by_grain, series),
        "pooled": _records(pooled), "by_grain": _records(by_grain),
        "by_level": None if evaluation["by_level"] is None else _records(evaluation["by_level"]),
        "strategies": strategies, "reconcile": config.revenue.reconcile,
        "seconds": round(time.perf_counter() - started, 3),
    }


def _records(frame: pd.DataFrame) -> list[dict]:
    return frame.round(4).astype(object).where(frame.notna(), None).to_dict("records")


def _write_backtest(config: Config, by_grain: pd.DataFrame) -> None:
    """Backtest scores per model and grain to the warehouse table ``revenue_backtest``."""
    from forecast.io import warehouse
    from forecast.io.frames import write_frame

    with warehouse.connect(config.workspace) as con:
        write_frame(con, "revenue_backtest", by_grain)


def future_frame(config: Config, periods: int, freq: str | None = None) -> pd.DataFrame:
    """Known future features of every series for the next ``periods`` periods.

    Returns:
        ``unique_id, ds, h`` + the regressor columns (see ``build_future_exogenous_sql``).

    Raises:
        ValidationError: a regressor has no future value (it is not known ahead).
    """
    from forecast.features.series import build_future_exogenous_sql
    from forecast.io import warehouse

    regressors = list(config.revenue.regressors)
    with warehouse.connect(config.workspace, read_only=True) as con:
        sql = build_future_exogenous_sql(con, config.features.series, config.country, periods)
        future = con.execute(sql).df()
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
