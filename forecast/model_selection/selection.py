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

from collections.abc import Callable, Hashable
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from forecast.errors import DataError
from forecast.evaluation.backtest import HISTORY
from forecast.model_selection.weights import (
    ERROR,
    WEIGHT,
    choose_models,
    combine_forecasts,
    crossfit_combination,
    extend_choice,
    pick_strategy,
)
from forecast.model_selection.young import YoungCalibration
from forecast.models.conformal import ConformalCalibrator
from forecast.schemas import ALL_SERIES, CUTOFF, DS, FOLD, MODEL, UNIQUE_ID, YHAT, Y

SELECTED = "selected"
# (candidate name, periods of history) -> the kind of forecast it makes (Forecaster.regime).
Regime = Callable[[str, int], Hashable]


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
        discontinued: series whose actuals were zero in every fold of the window, where a
            series selling as often as before the window would almost surely have sold (see
            :func:`discontinued_series`), and series that stopped before the forecast origin
            (``quiet``): they are forecast as zero (intervals too) and take no part in the
            choice or calibration.
        excluded: ``unique_id, model, reason`` of candidates given no weight for a series
            because no fold of the window exercised what they will do for it (see
            :func:`unvalidated`).
        cold_start: the candidate that forecasts the series too young for the window (none of
            their rows is in it); None: those take the mean weights of the others.
        young: the intervals of those series, measured on the chosen series cut to their age
            (see ``model_selection.young``); None: not measured.
    """

    strategy: str
    choice: pd.DataFrame
    calibrator: ConformalCalibrator | None
    residuals: pd.DataFrame
    groups: pd.Series | None = None
    discontinued: frozenset = frozenset()
    excluded: pd.DataFrame | None = None
    cold_start: str | None = None
    young: YoungCalibration | None = None


def select_on(window: pd.DataFrame, strategy: str, levels,
              groups: pd.Series | None = None, regime: Regime | None = None,
              target: pd.Series | None = None, exclude: pd.DataFrame | None = None,
              demand: pd.Series | None = None, quiet: frozenset = frozenset()) -> Selection:
    """Choose weights and calibrate intervals on backtest rows of some folds.

    Args:
        window: backtest rows (see :func:`forecast.evaluation.backtest.backtest`).
        strategy: "auto" or a strategy of :func:`choose_models`.
        levels: interval levels to calibrate.
        groups: optional unique_id -> calibration group (the grain of each series), so that
            the company total is not given the relative errors of its small bottom series.
        regime: ``(candidate, history) -> regime`` (see ``Forecaster.regime``); with
            ``target`` (unique_id -> history at the forecast origin) a candidate is weighted
            for a series only when every fold of the window had the regime it will have then.
        exclude: ``unique_id, model, reason`` of further pairs not to weigh (a candidate not
            made for a series' demand class, see ``model_selection.demand``).
        demand: unique_id -> share of the periods before the window with a sale (see
            :func:`discontinued_series`); None: any series without a sale in the window.
        quiet: series that stopped selling before the forecast origin, though not for the
            whole window (see ``features.intermittency.stopped_series``): discontinued too.
    """
    excluded = unvalidated(window, regime, target) if regime is not None else None
    excluded = _with_pairs(window, excluded, exclude)
    discontinued = discontinued_series(window, demand) | frozenset(quiet)
    stopped = window[window[UNIQUE_ID].isin(discontinued)]
    window = window[~window[UNIQUE_ID].isin(discontinued)]
    # A discontinued series is forecast as zero, so its residuals are its actuals (zero).
    zeros = stopped.drop_duplicates([UNIQUE_ID, DS], keep="last").assign(residual=0.0)[
        [UNIQUE_ID, DS, "residual"]]
    if window.empty:
        return Selection(strategy, pd.DataFrame(columns=[UNIQUE_ID, MODEL, ERROR, WEIGHT]),
                         None, zeros.reset_index(drop=True), groups, discontinued)
    if strategy == "auto":
        strategy, combined = pick_strategy(window, exclude=excluded)
    else:
        combined = crossfit_combination(window, strategy, exclude=excluded)
    group = _groups_of(combined, groups)
    calibrator = ConformalCalibrator(levels=tuple(levels)).fit(combined.assign(**{MODEL: group}))
    residuals = combined.assign(residual=combined[Y] - combined[YHAT])[
        [UNIQUE_ID, DS, "residual"]]
    # With origins closer than the horizon a date is forecast by several folds: keep the latest.
    residuals = residuals.drop_duplicates([UNIQUE_ID, DS], keep="last")
    if len(zeros):
        residuals = pd.concat([residuals, zeros], ignore_index=True)
    return Selection(strategy, choose_models(window, strategy, exclude=excluded), calibrator,
                     residuals, groups, discontinued, excluded)


def unvalidated(window: pd.DataFrame, regime: Regime, target: pd.Series) -> pd.DataFrame:
    """Candidate and series pairs that no fold of the window validated for the forecast.

    A seasonal naive backtested on less than a season of history forecast the last value at
    every origin; with a season at the forecast origin it would paste last year's values in,
    which the backtest never scored. Such a pair is not weighted.

    Args:
        window: backtest rows with ``history`` (periods before each fold's origin).
        regime: ``(candidate, history) -> regime``.
        target: unique_id -> history at the forecast origin.

    Returns:
        ``unique_id, model, reason``, one row per pair whose regime at some origin of the
        window differs from its regime at the forecast origin.
    """
    spans = window[[UNIQUE_ID, MODEL, FOLD, HISTORY]].drop_duplicates()
    spans = spans.assign(_end=spans[UNIQUE_ID].map(target))
    spans = spans[spans["_end"].notna()]
    cases = pd.concat([spans[[MODEL, HISTORY]], spans[[MODEL, "_end"]].set_axis(
        [MODEL, HISTORY], axis=1)]).drop_duplicates()
    kinds = {(m, int(n)): regime(m, int(n)) for m, n in cases.itertuples(index=False)}
    at_fold = [kinds[m, int(n)] for m, n in zip(spans[MODEL], spans[HISTORY], strict=True)]
    at_end = [kinds[m, int(n)] for m, n in zip(spans[MODEL], spans["_end"], strict=True)]
    differ = spans.assign(_fold=at_fold, _at=at_end)[[a != b for a, b in zip(at_fold, at_end,
                                                                            strict=True)]]
    first = differ.drop_duplicates([UNIQUE_ID, MODEL])
    reasons = [f"validated as {fold!r} with {int(n)} periods of history; forecasts as {end!r} "
               f"with {int(e)}" for fold, n, end, e in zip(first["_fold"], first[HISTORY],
                                                             first["_at"], first["_end"],
                                                             strict=True)]
    return first[[UNIQUE_ID, MODEL]].assign(reason=reasons).reset_index(drop=True)


def _with_pairs(window: pd.DataFrame, excluded: pd.DataFrame | None,
                more: pd.DataFrame | None) -> pd.DataFrame | None:
    """``excluded`` and the pairs of ``more`` that the window has, or whose series it lacks
    (a series too young for it: its weights leave them out too, see
    :func:`~forecast.model_selection.weights.extend_choice`), each pair once."""
    if more is None or more.empty:
        return excluded
    present = pd.MultiIndex.from_frame(window[[UNIQUE_ID, MODEL]].drop_duplicates())
    more = more[pd.MultiIndex.from_frame(more[[UNIQUE_ID, MODEL]]).isin(present)
                | ~more[UNIQUE_ID].isin(window[UNIQUE_ID])]
    both = more if excluded is None else pd.concat([excluded, more], ignore_index=True)
    return both.drop_duplicates([UNIQUE_ID, MODEL]).reset_index(drop=True)


def equal_weights(ids, models: list[str], groups: pd.Series | None = None) -> Selection:
    """The selection without a backtest: every candidate weighted equally, intervals the
    weighted average of the candidates' own (not calibrated), no residuals."""
    ids = pd.Index(pd.unique(pd.Series(ids)))
    choice = pd.DataFrame({UNIQUE_ID: ids.repeat(len(models)), MODEL: models * len(ids),
                           ERROR: float("nan"), WEIGHT: 1.0 / len(models)})
    residuals = pd.DataFrame(columns=[UNIQUE_ID, DS, "residual"])
    return Selection("equal", choice, None, residuals, groups)


def choice_table(selection: Selection) -> pd.DataFrame:
    """The choice, with the excluded pairs as weight-0 rows that give their ``reason``."""
    if selection.excluded is None or selection.excluded.empty:
        return selection.choice
    excluded = selection.excluded.assign(**{WEIGHT: 0.0})
    return pd.concat([selection.choice, excluded], ignore_index=True)


def discontinued_series(window: pd.DataFrame, demand: pd.Series | None = None,
                        chance: float = 0.01) -> frozenset:
    """Series that stopped selling: present in every fold of a backtest window, their actuals
    all zero there, and, with ``demand`` (unique_id -> share of the periods before the window
    with a sale, ``p``), so long without a sale that a series selling as often as before would
    almost surely have sold: ``(1 - p) ** periods in the window < chance``.

    A product sold every week that sells nothing for three folds has stopped; a lumpy one sold
    once a month has not after 40 quiet days (a 26 % chance), and is forecast by its models.
    """
    rows = window.dropna(subset=[Y])
    folds = rows.groupby(UNIQUE_ID, observed=True)[FOLD].nunique()
    largest = rows.assign(_abs=rows[Y].abs()).groupby(UNIQUE_ID, observed=True)["_abs"].max()
    every = folds == window[FOLD].nunique()
    silent = largest.index[(largest == 0) & every.reindex(largest.index)]
    if demand is None or not len(silent):
        return frozenset(silent)
    periods = rows[rows[UNIQUE_ID].isin(silent)].groupby(UNIQUE_ID, observed=True)[DS].nunique()
    share = demand.reindex(periods.index).fillna(1.0).clip(0.0, 1.0)
    return frozenset(periods.index[(1.0 - share) ** periods < chance])


def _groups_of(frame: pd.DataFrame, groups: pd.Series | None) -> pd.Series:
    if groups is None:
        return pd.Series(ALL_SERIES, index=frame.index)
    return frame[UNIQUE_ID].map(groups).fillna(ALL_SERIES).astype(str)


def apply_selection(forecasts: pd.DataFrame, selection: Selection) -> pd.DataFrame:
    """Combine candidate forecasts with a selection's weights and calibrated intervals.

    Args:
        forecasts: long frame ``unique_id, ds, model, yhat`` (+ ``h`` and other key columns).

    Returns:
        One row per series and period with the key columns, ``yhat`` and calibrated intervals;
        the selection's discontinued series are zero, intervals included.
    """
    stopped = forecasts[UNIQUE_ID].isin(selection.discontinued)
    pieces = [_zeros(forecasts[stopped])] if stopped.any() else []
    if not stopped.all():
        pieces.append(_combined(forecasts[~stopped], selection))
    return pd.concat(pieces, ignore_index=True) if len(pieces) > 1 else pieces[0]


def _combined(forecasts: pd.DataFrame, selection: Selection) -> pd.DataFrame:
    cold = selection.cold_start if selection.cold_start in set(forecasts[MODEL]) else None
    choice = extend_choice(selection.choice, forecasts[UNIQUE_ID].unique(), cold,
                           selection.excluded)
    combined = combine_forecasts(forecasts, choice)
    if selection.calibrator is None:
        return combined
    group = _groups_of(combined, selection.groups)
    known = set(selection.calibrator.quantiles_[MODEL])
    # A grain without backtest errors (all its series too short) borrows the first calibration.
    fallback = min(known)
    pieces = [selection.calibrator.transform(part, model=name if name in known else fallback)
              for name, part in combined.groupby(group, sort=False)]
    calibrated = pd.concat(pieces).loc[combined.index]
    young = ~combined[UNIQUE_ID].isin(selection.choice[UNIQUE_ID]).to_numpy()
    if not young.any():
        return calibrated
    measured = getattr(selection, "young", None)  # None in models pickled before it
    if measured is not None:
        calibrated = _widest(calibrated, measured.transform(combined[young]), young)
    return _widest(calibrated, combined, young)


def _widest(calibrated: pd.DataFrame, other: pd.DataFrame, rows) -> pd.DataFrame:
    """On ``rows`` (series too young for the backtest), each interval is the widest of the
    calibrated one and ``other``'s: the candidates' own (weighted as the point forecast), and
    the one measured on older series cut to the young series' age (``model_selection.young``).

    The calibration measured how forecasts of the series in the backtest erred; a series too
    young for any fold was never measured there, and its level, from a few periods, is far less
    sure (Favorita's store 22 sold 67 % less in its second month than its first weeks said). Its
    candidates' own intervals come from its own history; a bound they do not give is left as
    calibrated.
    """
    own = other.reindex(calibrated.index)
    out = calibrated.copy()
    for column in [c for c in calibrated.columns if c.startswith(f"{YHAT}_lo_")]:
        upper = column.replace("_lo_", "_hi_")
        if column in own and upper in own:
            out.loc[rows, column] = np.fmin(calibrated.loc[rows, column], own.loc[rows, column])
            out.loc[rows, upper] = np.fmax(calibrated.loc[rows, upper], own.loc[rows, upper])
    return out


def _zeros(forecasts: pd.DataFrame) -> pd.DataFrame:
    """One zero forecast per key of the candidates' rows of discontinued series."""
    values = [c for c in forecasts.columns if c == YHAT or c.startswith(f"{YHAT}_")]
    keys = [c for c in forecasts.columns if c not in values and c != MODEL]
    return forecasts[keys].drop_duplicates().assign(**dict.fromkeys(values, 0.0))


def evaluate_selection(
    table: pd.DataFrame, selection_folds: int, strategy: str, levels,
    groups: pd.Series | None = None, regime: Regime | None = None,
    exclude: Callable[[pd.Timestamp], pd.DataFrame] | None = None,
    demand_at: Callable[[pd.Timestamp], pd.Series] | None = None,
    cold_start: str | None = None,
    young: Callable[[Selection, pd.DataFrame, pd.DataFrame], YoungCalibration | None]
    | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame, dict]:
    """Score the selected forecast on every fold that has ``selection_folds`` folds before it.

    Args:
        table: backtest rows of all candidates over ``selection_folds + eval_folds`` origins.
        selection_folds: folds each choice is made on.
        strategy: "auto" or a strategy of :func:`choose_models`.
        levels: interval levels.
        groups: unique_id -> calibration group (see :func:`select_on`).
        regime: see :func:`select_on`; each evaluation fold's origin is the forecast origin
            its choice is made for.
        exclude: origin -> pairs not to weigh for a choice made at that origin (see
            :func:`select_on`).
        demand_at: origin -> each series' share of periods with a sale up to it; a choice's
            window is judged on the history before its first origin (see
            :func:`discontinued_series`).
        cold_start: see :class:`Selection`.
        young: ``(selection, window, rows) -> `` the intervals of the series of the evaluation
            fold's ``rows`` too young for the ``window`` (see ``model_selection.young``), as
            the fitted forecaster measures them; None: not measured.

    Returns:
        ``(rows, choices, selections)``: the scored rows of the candidates and of the selected
        forecast (``model == "selected"``) on the evaluation folds, in the backtest table's
        layout; the choices ``fold, cutoff, strategy, unique_id, model, error, weight`` (and,
        with ``regime``, weight-0 rows with the ``reason`` a pair was excluded); and the
        :class:`Selection` used for each evaluation fold.

    Raises:
        DataError: the table has no more than ``selection_folds`` folds.
    """
    folds = sorted(table[FOLD].unique())
    if len(folds) <= selection_folds:
        raise DataError(
            f"the backtest has {len(folds)} folds: at least {selection_folds + 1} are needed to "
            f"choose on {selection_folds} and score on the next")
    pieces, choices, selections = [], [], {}
    for position in range(selection_folds, len(folds)):
        fold = folds[position]
        window = table[table[FOLD].isin(folds[position - selection_folds:position])]
        rows = table[table[FOLD] == fold]
        target = rows.groupby(UNIQUE_ID, observed=True)[HISTORY].first() if regime else None
        pairs = exclude(rows[CUTOFF].iloc[0]) if exclude is not None else None
        demand = demand_at(window[CUTOFF].min()) if demand_at is not None else None
        chosen = selections[fold] = replace(select_on(
            window, strategy, levels, groups, regime, target, pairs, demand), cold_start=cold_start)
        if young is not None:
            chosen = selections[fold] = replace(chosen, young=young(chosen, window, rows))
        scales = rows[[UNIQUE_ID, *[c for c in rows if c.startswith("scale_")]]].drop_duplicates(
            UNIQUE_ID)
        keys = rows.drop(columns=[c for c in rows if c.startswith("scale_")])
        selected = apply_selection(keys, chosen).assign(**{MODEL: SELECTED})
        pieces += [rows, selected.merge(scales, on=UNIQUE_ID, how="left")]
        choices.append(choice_table(chosen).assign(**{
            FOLD: fold, CUTOFF: rows[CUTOFF].iloc[0], "strategy": chosen.strategy}))
    return pd.concat(pieces, ignore_index=True), pd.concat(choices, ignore_index=True), selections
