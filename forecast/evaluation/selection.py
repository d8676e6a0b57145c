"""Out-of-sample evaluation of model selection: choose on earlier origins, score on the next.

One rolling-origin backtest of the candidates with ``selection_folds + eval_folds`` origins
holds everything a nested evaluation needs. For evaluation origin ``k``, the weights (or the
single best model) and the conformal intervals are chosen on origins ``k - selection_folds ..
k - 1`` only, exactly what refitting the whole selection at origin ``k`` would choose, because
the candidates at those origins were fitted on data before each of them. The candidates'
forecasts from origin ``k`` are then combined with that choice and scored. No choice sees the
fold it is scored on.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from forecast.errors import ValidationError
from forecast.evaluation.backtest import CUTOFF, FOLD, MODEL
from forecast.models.conformal import ConformalCalibrator
from forecast.models.selection import (
    choose_models,
    combine_forecasts,
    crossfit_combination,
    extend_choice,
    pick_strategy,
)
from forecast.schemas import UNIQUE_ID, YHAT, Y

SELECTED = "selected"
_ALL = "__all__"


@dataclass(frozen=True)
class Selection:
    """A choice made on a window of backtest folds.

    Attributes:
        strategy: the selection strategy used (see :func:`choose_models`).
        choice: ``unique_id, model, error, weight``.
        calibrator: conformal intervals fitted on cross-fitted ensemble errors of the window.
        residuals: ``unique_id, ds, residual`` of the cross-fitted ensemble on the window (for
            MinT reconciliation).
        groups: unique_id -> calibration group, or None for one calibration of all series.
    """

    strategy: str
    choice: pd.DataFrame
    calibrator: ConformalCalibrator
    residuals: pd.DataFrame
    groups: pd.Series | None = None


def select_on(window: pd.DataFrame, strategy: str, levels,
              groups: pd.Series | None = None) -> Selection:
    """Choose weights and calibrate intervals on backtest rows of some folds.

    Args:
        window: backtest rows (see :func:`forecast.evaluation.backtest.backtest`).
        strategy: "auto" or a strategy of :func:`choose_models`.
        levels: interval levels to calibrate.
        groups: optional unique_id -> calibration group (the grain of each series), so that
            the company total is not given the relative errors of its small bottom series.
    """
    if strategy == "auto":
        strategy, combined = pick_strategy(window)
    else:
        combined = crossfit_combination(window, strategy)
    group = _groups_of(combined, groups)
    calibrator = ConformalCalibrator(levels=tuple(levels)).fit(combined.assign(**{MODEL: group}))
    residuals = combined.assign(residual=combined[Y] - combined[YHAT])[
        [UNIQUE_ID, "ds", "residual"]]
    # With origins closer than the horizon a date is forecast by several folds: keep the latest.
    residuals = residuals.drop_duplicates([UNIQUE_ID, "ds"], keep="last")
    return Selection(strategy, choose_models(window, strategy), calibrator, residuals, groups)


def _groups_of(frame: pd.DataFrame, groups: pd.Series | None) -> pd.Series:
    if groups is None:
        return pd.Series(_ALL, index=frame.index)
    return frame[UNIQUE_ID].map(groups).fillna(_ALL).astype(str)


def apply_selection(forecasts: pd.DataFrame, selection: Selection) -> pd.DataFrame:
    """Combine candidate forecasts with a selection's weights and calibrated intervals.

    Args:
        forecasts: long frame ``unique_id, ds, model, yhat`` (+ ``h`` and other key columns).

    Returns:
        One row per series and period with the key columns, ``yhat`` and calibrated intervals.
    """
    choice = extend_choice(selection.choice, forecasts[UNIQUE_ID].unique())
    combined = combine_forecasts(forecasts, choice)
    group = _groups_of(combined, selection.groups)
    known = set(selection.calibrator.quantiles_[MODEL])
    # A grain without backtest errors (all its series too short) borrows the first calibration.
    fallback = min(known)
    pieces = [selection.calibrator.transform(part, model=name if name in known else fallback)
              for name, part in combined.groupby(group, sort=False)]
    return pd.concat(pieces).loc[combined.index]


def evaluate_selection(
    table: pd.DataFrame, selection_folds: int, strategy: str, levels,
    groups: pd.Series | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame, dict]:
    """Score the selected forecast on every fold that has ``selection_folds`` folds before it.

    Args:
        table: backtest rows of all candidates over ``selection_folds + eval_folds`` origins.
        selection_folds: folds each choice is made on.
        strategy: "auto" or a strategy of :func:`choose_models`.
        levels: interval levels.
        groups: unique_id -> calibration group (see :func:`select_on`).

    Returns:
        ``(rows, choices, selections)``: the scored rows of the candidates and of the selected
        forecast (``model == "selected"``) on the evaluation folds, in the backtest table's
        layout; the choices ``fold, cutoff, strategy, unique_id, model, error, weight``; and
        the :class:`Selection` used for each evaluation fold.

    Raises:
        ValidationError: the table has no more than ``selection_folds`` folds.
    """
    folds = sorted(table[FOLD].unique())
    if len(folds) <= selection_folds:
        raise ValidationError(
            f"the backtest has {len(folds)} folds: at least {selection_folds + 1} are needed to "
            f"choose on {selection_folds} and score on the next")
    pieces, choices, selections = [], [], {}
    for position in range(selection_folds, len(folds)):
        fold = folds[position]
        window = table[table[FOLD].isin(folds[position - selection_folds:position])]
        chosen = selections[fold] = select_on(window, strategy, levels, groups)
        rows = table[table[FOLD] == fold]
        scales = rows[[UNIQUE_ID, *[c for c in rows if c.startswith("scale_")]]].drop_duplicates(
            UNIQUE_ID)
        keys = rows.drop(columns=[c for c in rows if c.startswith("scale_")])
        selected = apply_selection(keys, chosen).assign(**{MODEL: SELECTED})
        pieces += [rows, selected.merge(scales, on=UNIQUE_ID, how="left")]
        choices.append(chosen.choice.assign(**{FOLD: fold, CUTOFF: rows[CUTOFF].iloc[0],
                                               "strategy": chosen.strategy}))
    return pd.concat(pieces, ignore_index=True), pd.concat(choices, ignore_index=True), selections
