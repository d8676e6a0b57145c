"""Rolling-origin backtests: refit every candidate at each forecast origin and keep the errors.

Origins (cutoffs) are counted back from the last date of the frame in periods of its frequency:
with ``h=13, n_folds=3, step=13`` the origins are 39, 26 and 13 periods before the end, and each
fold forecasts the ``h`` periods after its origin. Only data up to a cutoff is used to fit.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from sklearn.base import clone

from forecast.errors import DataError, ValidationError
from forecast.models.base import (
    Forecaster,
    check_series_frame,
    infer_freq,
    regularize,
)
from forecast.models.baselines import season_length_for, tail_matrix
from forecast.progress import ProgressCallback
from forecast.schemas import (
    CUTOFF,
    DEFAULT_LEVELS,
    DS,
    FOLD,
    MODEL,
    UNIQUE_ID,
    YHAT,
    H,
    Y,
    interval_columns,
)

SCALE_MAE, SCALE_MSE = "scale_mae", "scale_mse"
# Periods from a series' first observation to the fold's origin (see Forecaster.regime).
HISTORY = "history"


@dataclass(frozen=True)
class BacktestSpec:
    """How a rolling-origin backtest is laid out.

    Attributes:
        h: periods forecast from each origin.
        n_folds: number of origins.
        step: periods between consecutive origins (default ``h``).
        levels: interval levels requested from every model.
        exog: columns passed to ``predict`` as future values (taken from the frame).
        season_length: season of the seasonal-naive scale of MASE/RMSSE (default by frequency).
        min_history: series with fewer observed values before an origin are left out of that fold.
        end: last date of the data the folds count back from (default: the frame's last date).
    """

    h: int
    n_folds: int = 3
    step: int | None = None
    levels: tuple[float, ...] = DEFAULT_LEVELS
    exog: tuple[str, ...] = field(default_factory=tuple)
    season_length: int | None = None
    min_history: int = 2
    end: pd.Timestamp | None = None


def make_cutoffs(last_date: pd.Timestamp, spec: BacktestSpec, freq: str) -> list[pd.Timestamp]:
    """Forecast origins, oldest first: ``last_date - (h + step * k)`` periods, k = n_folds-1..0."""
    if spec.h < 1 or spec.n_folds < 1:
        raise ValidationError(
            f"backtest needs h >= 1 and n_folds >= 1, got {spec.h}, {spec.n_folds}")
    step = spec.step or spec.h
    offset = pd.tseries.frequencies.to_offset(freq)
    back = [spec.h + step * k for k in range(spec.n_folds - 1, -1, -1)]
    return [pd.Timestamp(last_date) - n * offset for n in back]


def seasonal_scales(train: pd.DataFrame, season_length: int) -> pd.DataFrame:
    """In-sample seasonal-naive error scales of each series (the MASE and RMSSE denominators).

    Args:
        train: regular frame ``unique_id, ds, y`` sorted by ``unique_id, ds``.
        season_length: lag of the seasonal naive; falls back to 1 for series shorter than that.

    Returns:
        Frame indexed by ``unique_id`` with ``scale_mae`` (mean absolute seasonal difference)
        and ``scale_mse`` (mean squared seasonal difference).
    """
    ids, matrix = tail_matrix(train)
    scales = {}
    for lag in (season_length, 1):
        diff = matrix[:, lag:] - matrix[:, :-lag] if matrix.shape[1] > lag else \
            np.full((len(ids), 1), np.nan)
        count = np.sum(~np.isnan(diff), axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            scales[lag] = (np.nansum(np.abs(diff), axis=1) / count,
                           np.nansum(diff**2, axis=1) / count)
    mae = np.where(np.isfinite(scales[season_length][0]), scales[season_length][0], scales[1][0])
    mse = np.where(np.isfinite(scales[season_length][1]), scales[season_length][1], scales[1][1])
    return pd.DataFrame({SCALE_MAE: mae, SCALE_MSE: mse}, index=ids)


def history_spans(frame: pd.DataFrame) -> pd.Series:
    """Periods of each series of a regular frame from its first observed ``y`` to its end.

    Returns:
        unique_id -> count, named ``history``; series never observed are left out.
    """
    observed = frame[frame[Y].notna()]
    first = observed.groupby(UNIQUE_ID, observed=True)[DS].min()
    after = frame[DS] >= frame[UNIQUE_ID].map(first)
    return frame[after].groupby(UNIQUE_ID, observed=True).size().rename(HISTORY)


def _fold_frames(frame: pd.DataFrame, cutoff: pd.Timestamp, spec: BacktestSpec, freq: str):
    offset = pd.tseries.frequencies.to_offset(freq)
    train = frame[frame[DS] <= cutoff]
    observed = train.dropna(subset=[Y]).groupby(UNIQUE_ID, observed=True).size()
    keep = observed.index[observed >= spec.min_history]
    train = train[train[UNIQUE_ID].isin(keep)]
    test = frame[(frame[DS] > cutoff) & (frame[DS] <= cutoff + spec.h * offset)
                 & frame[UNIQUE_ID].isin(keep)]
    return train, test


def backtest(
    models: Mapping[str, Forecaster], frame: pd.DataFrame, spec: BacktestSpec,
    progress: ProgressCallback | None = None,
    failures: dict[str, str] | None = None,
    left_out: Mapping[str, Collection] | None = None,
) -> pd.DataFrame:
    """Rolling-origin backtest of several forecasters on the same folds.

    Each model is cloned and refit on the data up to each origin, then asked for ``spec.h``
    periods with the actual future values of ``spec.exog``.

    Args:
        models: name -> unfitted (or fitted; it is cloned) forecaster.
        frame: long series frame ``unique_id, ds, y`` + exogenous columns; rows with ``y``
            missing count as not observed and are not scored.
        spec: fold layout.
        progress: called as (fits done, fits) after each model's fit at each origin.
        failures: when given, a model whose fit or forecast raises ``ValidationError`` at any
            origin is recorded here (name -> "origin <date>: <message>") and left out of the
            whole table, so no model is scored on some origins only; when None the error
            propagates.
        left_out: name -> series that model is not fitted on (nor scored on): it would never
            be weighted there (``model_selection.demand.left_to_specialists``).

    Returns:
        Frame ``fold, cutoff, unique_id, ds, h, y, model, yhat, yhat_lo_<l>, yhat_hi_<l>,
        scale_mae, scale_mse, history``: one row per model and observed forecast period
        (``history``: the series' periods from its first observation to the origin).
    """
    checked = check_series_frame(frame, "backtest frame")
    freq = next((m.freq for m in models.values() if getattr(m, "freq", None)), None) \
        or infer_freq(checked[DS])
    checked = regularize(checked, freq)
    season = spec.season_length or season_length_for(freq)
    end = spec.end if spec.end is not None else checked[DS].max()
    pieces, done = [], 0
    cutoffs = make_cutoffs(end, spec, freq)
    for fold, cutoff in enumerate(cutoffs):
        train, test = _fold_frames(checked, cutoff, spec, freq)
        if train.empty or test.empty:
            raise DataError(f"backtest fold {fold} (origin {cutoff:%Y-%m-%d}) has no "
                            "training or test data; use fewer folds or a shorter step")
        scales = seasonal_scales(train, season).join(history_spans(train))
        exog = test[[UNIQUE_ID, DS, *spec.exog]] if spec.exog else None
        for name, model in models.items():
            done += 1
            if failures is not None and name in failures:
                continue
            part, future = train, exog
            if left_out and left_out.get(name):
                part = train[~train[UNIQUE_ID].isin(left_out[name])]
                future = exog[exog[UNIQUE_ID].isin(part[UNIQUE_ID])] if exog is not None else None
                if part.empty:
                    continue
            try:
                forecast = clone(model).fit_predict(part, spec.h, future_exog=future,
                                                    levels=spec.levels)
            except ValidationError as exc:
                if failures is None:
                    raise
                failures[name] = f"origin {cutoff:%Y-%m-%d}: {exc}"
                continue
            pieces.append(_score_rows(forecast, test, name, fold, cutoff, scales))
            if progress is not None:
                progress(done, len(cutoffs) * len(models))
    table = pd.concat(pieces, ignore_index=True) if pieces else pd.DataFrame(
        columns=[FOLD, CUTOFF, UNIQUE_ID, DS, H, Y, MODEL, YHAT])
    return table[~table[MODEL].isin(list(failures or ()))].reset_index(drop=True)


def _score_rows(forecast, test, name, fold, cutoff, scales) -> pd.DataFrame:
    forecast = forecast.copy()
    forecast[H] = forecast.groupby(UNIQUE_ID, sort=False).cumcount() + 1
    rows = test[[UNIQUE_ID, DS, Y]].dropna(subset=[Y]).merge(forecast, on=[UNIQUE_ID, DS])
    rows.insert(0, FOLD, fold)
    rows.insert(1, CUTOFF, cutoff)
    rows.insert(rows.columns.get_loc(YHAT), MODEL, name)
    return rows.merge(scales, left_on=UNIQUE_ID, right_index=True, how="left")


def interval_levels(table: pd.DataFrame) -> list[float]:
    """Interval levels present in a backtest or forecast table (from its column names)."""
    levels = []
    for column in table.columns:
        if column.startswith(f"{YHAT}_lo_"):
            level = float(column.removeprefix(f"{YHAT}_lo_"))
            if interval_columns(level)[1] in table.columns:
                levels.append(level)
    return levels

