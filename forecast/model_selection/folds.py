"""The result of a cross-validation, the candidates it had to drop, and the reconciliation of
its evaluation folds.

Each evaluation fold's selected forecast is reconciled with the residuals of the choice made for
that fold, so the reported accuracy of the reconciled forecast is as out-of-sample as the
selected one's.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from forecast.errors import DataError
from forecast.hierarchy import Hierarchy, Reconciler, accuracy_by_grain
from forecast.model_selection.selection import SELECTED, Selection
from forecast.models.base import Forecaster, bound_intervals, never_negative
from forecast.schemas import CUTOFF, DS, FOLD, GRAIN, MODEL, UNIQUE_ID, H

_log = logging.getLogger(__name__)
RECONCILED = "selected_reconciled"


@dataclass(frozen=True)
class CrossValidation:
    """The nested out-of-sample evaluation of a :class:`RevenueForecaster` on one frame.

    Attributes:
        table: the candidates' backtest rows over every origin (``fold, cutoff, unique_id, ds,
            model, y, yhat``, intervals, scales).
        rows: the scored rows of the evaluation folds: the candidates', the selected forecast's
            (``model == "selected"``) and, with a hierarchy, the reconciled one's
            (``"selected_reconciled"``), with each series' ``grain`` when it is known.
        choices: ``fold, cutoff, strategy, unique_id, model, error, weight`` per window.
        accuracy_by_grain: WAPE per grain, unreconciled and reconciled; None without a hierarchy.
        final: the model name of the forecast the fitted model makes (reconciled or not).
        covariances: the covariances of that forecast's scaled errors by lag, per calibration
            group (see :func:`forecast.hierarchy.periods.group_covariances`).
        end: the last date of the frame (a fit can reuse the backtest only on the same data).
        dropped: candidates that could not fit or forecast at some origin, with the reason;
            they are in no table and get no weight.
    """

    table: pd.DataFrame
    rows: pd.DataFrame
    choices: pd.DataFrame
    accuracy_by_grain: pd.DataFrame | None
    final: str
    covariances: dict[str, np.ndarray]
    end: pd.Timestamp
    dropped: Mapping[str, str] = field(default_factory=dict)


def reconcile_folds(rows: pd.DataFrame, selections: dict[int, Selection],
                     hierarchy: Hierarchy, reconciler: Reconciler
                     ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Reconcile each evaluation fold's selected forecast; WAPE per grain before and after.

    A fold reconciles the series that existed at its origin, on the dates where each of them
    has a row; rows of dates with a closed store (no actual, so no backtest row) stay as they
    were and are scored unreconciled.
    """
    selected = rows[rows[MODEL] == SELECTED]
    pieces, actuals = [], []
    for fold, group in selected.groupby(FOLD):
        # A series that did not exist yet at the fold's origin has no forecast there.
        present = hierarchy.restrict(group[UNIQUE_ID].unique())
        residuals = selections[fold].residuals
        residuals = residuals[residuals[UNIQUE_ID].isin(present.unique_ids)]
        full = group.groupby(DS)[UNIQUE_ID].transform("size") == len(present.unique_ids)
        pieces += [reconciler.reconcile(group[full], present, residuals), group[~full]]
        actuals.append(group)
    reconciled = pd.concat(pieces, ignore_index=True).assign(**{MODEL: RECONCILED})
    base = pd.concat(actuals, ignore_index=True)
    by_grain = accuracy_by_grain(_fold_key(base), _fold_key(base), _fold_key(reconciled),
                                 hierarchy=hierarchy)
    return reconciled, by_grain


def bound_fold_rows(rows: pd.DataFrame, levels, frame: pd.DataFrame) -> pd.DataFrame:
    """The selected and reconciled backtest rows with their intervals bounded as the forecasts
    are (:func:`~forecast.models.base.bound_intervals`), so that the backtest scores the
    intervals a user gets; whether a series never went below zero is judged on its history up
    to each fold's origin. The candidates' rows are left as they are."""
    ours = rows[MODEL].isin([SELECTED, RECONCILED])
    if not ours.any():
        return rows
    rows = rows.copy()
    for cutoff, part in rows[ours].groupby(CUTOFF, sort=False):
        rows.loc[part.index] = bound_intervals(part.copy(), levels, never_negative(frame, cutoff))
    return rows


def _fold_key(frame: pd.DataFrame) -> pd.DataFrame:
    """Rows keyed by (series, fold and date), so folds that share dates stay apart."""
    return frame.assign(**{DS: frame[FOLD].astype(str) + "|" + frame[DS].astype(str)})


def check_left(candidates: Mapping[str, Forecaster], dropped: Mapping[str, str],
                backtested: bool = True) -> None:
    """Warn about each candidate the backtest dropped; refuse when none is left."""
    for name in candidates:
        if backtested and name in dropped:
            _log.warning("candidate %s dropped: it failed in the backtest at %s", name,
                        dropped[name])
    if not set(candidates) - set(dropped):
        raise DataError("no candidate could be fitted: " + "; ".join(
            f"{name}: {reason}" for name, reason in dropped.items()))


def series_keys(frame: pd.DataFrame, hierarchy: Hierarchy | None,
                series: pd.DataFrame | None) -> pd.DataFrame:
    """``unique_id`` (+ ``grain`` and key columns) of every series: ``series`` when given, else
    the hierarchy's, else the frame's ids."""
    if series is not None:
        return series.reset_index(drop=True)
    if hierarchy is not None:
        return hierarchy.series.reset_index(drop=True)
    return pd.DataFrame({UNIQUE_ID: pd.unique(frame[UNIQUE_ID])})


def grain_groups(keys: pd.DataFrame) -> pd.Series | None:
    """unique_id -> grain, the calibration group of each series; None without grains."""
    return keys.set_index(UNIQUE_ID)[GRAIN] if GRAIN in keys else None


def pyfunc_output(reconciled: pd.DataFrame) -> pd.DataFrame:
    """A reconciled forecast in the pyfunc's output types (nanosecond dates, 64-bit steps)."""
    return reconciled.assign(**{DS: reconciled[DS].astype("datetime64[ns]")}).astype(
        {H: np.int64})
