"""The revenue forecaster a planner uses: candidates chosen per series, calibrated, reconciled.

:class:`RevenueForecaster` composes unfitted candidate forecasters (``forecast.models``
estimators; ``forecast.factory`` makes them from the config) with a reconciler
(``forecast.hierarchy``), as statsforecast's ``StatsForecast`` composes its models:

- :meth:`~RevenueForecaster.cross_validation` runs the nested out-of-sample evaluation: one
  rolling-origin backtest of the candidates with ``selection_folds + n_windows`` origins, each
  evaluation window scored with the choice and intervals made on the ``selection_folds`` folds
  before it (``forecast.model_selection.selection``), reconciled per fold when there is a
  hierarchy, and compared per grain with the unreconciled forecast.
- :meth:`~RevenueForecaster.fit` chooses on the last ``selection_folds`` backtest folds (those of
  a cross-validation of the same frame when given one, else a backtest of its own) and refits
  every candidate on all the history.
- :meth:`~RevenueForecaster.predict` forecasts every series, reconciled so that children add up
  to their parents.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import replace

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, clone

from forecast.errors import ValidationError
from forecast.evaluation.backtest import BacktestSpec, backtest, history_spans, make_cutoffs
from forecast.features.intermittency import DEMAND_CLASS, demand_classes, stopped_series
from forecast.hierarchy import OLS, Hierarchy, Reconciler
from forecast.hierarchy.periods import group_covariances
from forecast.model_selection.cold_start import (
    bind_parents,
    cold_only,
    cold_start_name,
    with_cold_only,
)
from forecast.model_selection.demand import (
    calibration_groups,
    demand_shares_at,
    exclusions_at,
    left_to_specialists,
    needed,
    restrict_choice,
    unsuited,
)
from forecast.model_selection.folds import (
    RECONCILED,
    CrossValidation,
    bound_fold_rows,
    check_left,
    grain_groups,
    pyfunc_output,
    reconcile_folds,
    series_keys,
)
from forecast.model_selection.notes import fitted_notes
from forecast.model_selection.selection import (
    SELECTED,
    apply_selection,
    equal_weights,
    evaluate_selection,
    select_on,
)
from forecast.model_selection.weights import member_forecasts
from forecast.model_selection.young import fold_young, measure_young
from forecast.models import base
from forecast.progress import ProgressCallback
from forecast.schemas import (
    ALL_SERIES,
    CUTOFF,
    DEFAULT_LEVELS,
    DISCONTINUED,
    DS,
    FOLD,
    GRAIN,
    MODEL,
    UNIQUE_ID,
    YHAT,
    H,
    SelectionStrategy,
    interval_columns,
)

log = logging.getLogger(__name__)
CAP = "cap"


class RevenueForecaster(BaseEstimator):
    """Candidates chosen or weighted per series on a backtest, calibrated, refit and reconciled.

    Args:
        candidates: name -> unfitted forecaster.
        h: periods each backtest origin forecasts (the horizon the choice is made for).
        horizon: the most periods :meth:`predict` may be asked for (default ``h``); the
            candidates must be able to forecast that far.
        levels: interval levels, calibrated on the backtest errors.
        strategy: "auto" or a strategy of :func:`~forecast.model_selection.weights.choose_models`.
        selection_folds: backtest folds each choice is made on.
        step: periods between backtest origins (default ``h``).
        min_history: series with fewer observed values before an origin sit out that fold.
        exog: regressor columns known ahead (in the frame and in ``predict``'s ``X``).
        cap_multiple: logistic growth's capacity per series, as a multiple of its largest
            value (a ``cap`` column for the candidates); None for no capacity.
        reconciler: how forecasts of a hierarchy are made coherent; None leaves them as they are.
    """

    def __init__(
        self,
        candidates: Mapping[str, base.Forecaster],
        h: int,
        horizon: int | None = None,
        levels: tuple[float, ...] = DEFAULT_LEVELS,
        strategy: SelectionStrategy = "auto",
        selection_folds: int = 3,
        step: int | None = None,
        min_history: int = 2,
        exog: tuple[str, ...] = (),
        cap_multiple: float | None = None,
        reconciler: Reconciler | None = None,
    ):
        self.candidates = candidates
        self.h = h
        self.horizon = horizon
        self.levels = levels
        self.strategy = strategy
        self.selection_folds = selection_folds
        self.step = step
        self.min_history = min_history
        self.exog = exog
        self.cap_multiple = cap_multiple
        self.reconciler = reconciler

    def cross_validation(
        self, frame: pd.DataFrame, hierarchy: Hierarchy | None = None,
        series: pd.DataFrame | None = None, n_windows: int = 1,
        progress: ProgressCallback | None = None,
    ) -> CrossValidation:
        """Score the whole procedure on ``n_windows`` origins it never chose on.

        Args:
            frame: ``unique_id, ds, y`` + the ``exog`` columns.
            hierarchy: the structure of the series, to reconcile each fold; None for none.
            series: ``unique_id, grain`` (+ organisation columns) of every series: calibration
                is made per grain, and rows are scored per grain (default: the hierarchy's).
            n_windows: evaluation origins after the first ``selection_folds``.
            progress: called as (fits done, fits) by the backtest.
        """
        dropped: dict[str, str] = {}
        candidates = bind_parents(self.candidates, hierarchy)
        classes = demand_classes(frame)[DEMAND_CLASS]
        active = self._active(classes, candidates)
        capped = self._with_caps(frame, frame)
        left_out = left_to_specialists(
            frame, classes, active, self._cutoffs(frame, None, n_windows), self.min_history)
        table = backtest(active, capped, self._spec(self.selection_folds + n_windows), progress,
                         dropped, left_out)
        check_left(active, dropped)
        keys = series_keys(frame, hierarchy, series)
        groups = calibration_groups(grain_groups(keys), classes, active)
        cold = cold_start_name(active)
        exclude = with_cold_only(exclusions_at(frame, active), frame, cold)
        freq = self._freq(frame)
        young = fold_young(active, capped, self._spec(1), freq,
                           getattr(active.get(cold), "parents", None))
        rows, choices, selections = evaluate_selection(
            table, self.selection_folds, self.strategy, self.levels, groups,
            self._regime(freq), exclude, demand_shares_at(frame), cold, young)
        by_grain = None
        if hierarchy is not None and self.reconciler is not None:
            try:
                reconciled, by_grain = reconcile_folds(rows, selections, hierarchy,
                                                        self.reconciler)
                rows = pd.concat([rows, reconciled], ignore_index=True)
            except ValidationError as exc:
                log.warning("backtest forecasts not reconciled (%s); grains reported "
                            "unreconciled", exc)
        rows = bound_fold_rows(rows, self.levels, frame)
        final = RECONCILED if (rows[MODEL] == RECONCILED).any() else SELECTED
        covariances = group_covariances(rows[rows[MODEL] == final], groups)
        if GRAIN in keys:
            rows = rows.merge(keys[[UNIQUE_ID, GRAIN]], on=UNIQUE_ID, how="left")
        return CrossValidation(table, rows, choices, by_grain, final, covariances,
                               pd.Timestamp(frame[DS].max()), dropped)

    def fit(self, frame: pd.DataFrame, hierarchy: Hierarchy | None = None,
            series: pd.DataFrame | None = None,
            cv: CrossValidation | None = None) -> RevenueForecaster:
        """Choose on the last ``selection_folds`` backtest folds; refit every candidate.

        Args:
            frame: ``unique_id, ds, y`` + the ``exog`` columns: all the history.
            hierarchy: the structure to reconcile forecasts in; None for a flat set of series.
            series: ``unique_id, grain`` (+ organisation columns), see :meth:`cross_validation`;
                the forecasts carry these columns.
            cv: a cross-validation of this forecaster on the same frame: its backtest's last
                folds are the ones a new backtest would make, so they are reused, and its
                out-of-sample error covariances of period totals are kept. Without it a backtest
                of ``selection_folds`` origins is run, and they are measured on those
                folds with the chosen weights (in-sample for the weights).
        """
        if not self.candidates:
            raise ValidationError("RevenueForecaster needs at least one candidate")
        keys = series_keys(frame, hierarchy, series)
        self.dropped_: dict[str, str] = dict(cv.dropped) if cv is not None else {}
        self.demand_classes_ = demand_classes(frame)
        self.bound_ = bind_parents(self.candidates, hierarchy)
        self.skipped_ = needed(self.bound_, self.demand_classes_[DEMAND_CLASS])
        self.left_out_ = left_to_specialists(frame, self.demand_classes_[DEMAND_CLASS],
                                             self.bound_, self._cutoffs(frame, cv),
                                             self.min_history)
        window = self._selection_window(frame, cv)
        self.caps_ = self._caps(frame)
        capped = self._with_caps(frame, frame)
        self.models_ = self._fit_candidates(capped)
        self.backtest_ = window[window[MODEL].isin(list(self.models_))]
        classes = self.demand_classes_[DEMAND_CLASS]
        cold = cold_start_name(self.models_)
        pairs = pd.concat([unsuited(classes, self.models_), cold_only(keys[UNIQUE_ID], cold)],
                          ignore_index=True)
        groups = calibration_groups(grain_groups(keys), classes, self.models_)
        if self.selection_folds == 0:
            equal = equal_weights(keys[UNIQUE_ID], list(self.models_), groups)
            self.selection_ = replace(equal, choice=restrict_choice(equal.choice, pairs))
            self.error_covariances_ = {ALL_SERIES: np.ones(1)}
        else:
            freq = self._freq(frame)
            target = history_spans(base.regularize(base.check_series_frame(frame), freq))
            self.selection_ = replace(select_on(
                self.backtest_, self.strategy, self.levels, groups, self._regime(freq), target,
                pairs, demand_shares_at(frame)(self.backtest_[CUTOFF].min()),
                stopped_series(frame, freq)), cold_start=cold)
            self.selection_ = replace(self.selection_, young=measure_young(
                self.selection_, keys[UNIQUE_ID], target, {n: self.bound_[n] for n in self.models_},
                capped, self.backtest_[CUTOFF].unique(), self._spec(1),
                freq, getattr(self.bound_.get(cold), "parents", None)))
            self.error_covariances_ = cv.covariances if cv is not None and not set(
                self.dropped_) - set(cv.dropped) else group_covariances(apply_selection(
                    self.backtest_.drop(columns=[c for c in window if c.startswith("scale_")]),
                    self.selection_), groups)
        self.covariance_groups_ = groups
        self.series_ = keys
        self.nonnegative_ = base.never_negative(frame)
        self.hierarchy_ = hierarchy if self.reconciler is not None else None
        self.horizon_ = int(self.horizon or self.h)
        if self.horizon_ > self.h:
            log.warning("steps %d..%d are forecast but no backtest fold reached them: their "
                        "accuracy and interval coverage were not measured", self.h + 1,
                        self.horizon_)
        return self

    def notes(self) -> list[str]:
        """What a reader of the fitted model's numbers should know, in plain words."""
        return fitted_notes(self)

    def _fit_candidates(self, data: pd.DataFrame) -> dict[str, base.Forecaster]:
        """Every candidate not dropped, fitted on all the history; one that fails is dropped."""
        models = {}
        for name, model in self.bound_.items():
            left = self.left_out_.get(name)
            part = data[~data[UNIQUE_ID].isin(left)] if left else data
            if name in self.dropped_ or name in self.skipped_ or part.empty:
                continue
            try:
                models[name] = clone(model).fit(part)
            except ValidationError as exc:
                self.dropped_[name] = f"final fit: {exc}"
                log.warning("candidate %s dropped: it cannot fit all the history (%s)", name, exc)
        check_left({name: model for name, model in self.bound_.items()
                     if name not in self.skipped_}, self.dropped_, backtested=False)
        return models

    def _selection_window(self, frame: pd.DataFrame, cv: CrossValidation | None) -> pd.DataFrame:
        if self.selection_folds == 0:
            return pd.DataFrame(columns=[FOLD, UNIQUE_ID, DS, MODEL, "y", YHAT])
        if cv is None:
            active = self._active(self.demand_classes_[DEMAND_CLASS], self.bound_)
            window = backtest(active, self._with_caps(frame, frame),
                              self._spec(self.selection_folds), failures=self.dropped_,
                              left_out=self.left_out_)
            check_left(active, self.dropped_)
            return window
        if cv.end != pd.Timestamp(frame[DS].max()):
            raise ValidationError(f"the cross-validation ends on {cv.end.date()}, the frame on "
                                  f"{pd.Timestamp(frame[DS].max()).date()}: not the same data")
        folds = sorted(cv.table[FOLD].unique())[-self.selection_folds:]
        return cv.table[cv.table[FOLD].isin(folds)]

    def predict(self, h: int, X: pd.DataFrame | None = None) -> pd.DataFrame:
        """The reconciled forecast of every series for the next ``h`` periods.

        Args:
            h: periods ahead, at most ``horizon``.
            X: future values of the ``exog`` columns, ``unique_id, ds`` + columns; series it
                leaves out take the first value given for the same date (known-ahead
                regressors are calendar values shared by all).

        Returns:
            ``unique_id, ds, h, yhat, yhat_lo_<l>, yhat_hi_<l>`` + the series' key columns and
            ``discontinued`` (a series that stopped selling: it is forecast as zero).
        """
        return self.predict_with_base(h, X)[0]

    def predict_with_base(self, h: int, X: pd.DataFrame | None = None
                          ) -> tuple[pd.DataFrame, pd.DataFrame]:
        """:meth:`predict`, and the forecast before reconciliation (the same when there is none)."""
        if h > self.horizon_:
            raise ValidationError(
                f"the model was trained to forecast {self.horizon_} periods ahead, not {h}; "
                "retrain with a longer revenue.horizon")
        exog = None
        if self.exog or self.caps_ is not None:
            exog = base.future_exogenous(X, self.exog, self.series_)
            exog = self._with_caps(exog, None) if self.caps_ is not None else exog
        candidates = member_forecasts(self.models_, h, exog, self.levels)
        candidates[H] = candidates.groupby([MODEL, UNIQUE_ID], sort=False).cumcount() + 1
        selected = apply_selection(candidates, self.selection_)
        reconciled = selected
        if self.hierarchy_ is not None:
            # Without any backtest residual nothing can weigh the series: OLS needs none.
            method = self.reconciler if len(self.selection_.residuals) else OLS()
            reconciled = method.reconcile(selected, self.hierarchy_, self.selection_.residuals)
        return self._finish(reconciled), self._finish(selected)

    def predict_frame(self, future: pd.DataFrame) -> pd.DataFrame:
        """The MLflow pyfunc entry point: the reconciled forecast of the rows of ``future``.

        Args:
            future: ``unique_id, ds, h`` (+ the exog columns), one row per series and future
                period, ``h`` counting periods after the end of the history.
        """
        missing = [c for c in (UNIQUE_ID, DS, H, *self.exog) if c not in future.columns]
        if missing:
            raise ValidationError(f"future frame: missing column(s) {missing}")
        base.check_known_series(future[UNIQUE_ID], self.series_[UNIQUE_ID], "future frame")
        keep = future[[UNIQUE_ID, DS]].assign(**{DS: pd.to_datetime(future[DS])})
        reconciled = self.predict(int(future[H].max()), future)
        return pyfunc_output(reconciled.merge(keep, on=[UNIQUE_ID, DS]))

    def _freq(self, frame: pd.DataFrame) -> str:
        given = (getattr(m, "freq", None) for m in self.candidates.values())
        return next((f for f in given if f), None) or base.infer_freq(frame[DS])

    def _active(self, classes: pd.Series, candidates: Mapping[str, base.Forecaster]
                ) -> dict[str, base.Forecaster]:
        """The ``candidates`` worth fitting on series of these demand ``classes`` (unique_id ->
        class): not those made for classes none of them has (see ``model_selection.demand``)."""
        skipped = needed(candidates, classes)
        return {name: model for name, model in candidates.items() if name not in skipped}

    def _cutoffs(self, frame: pd.DataFrame, cv: CrossValidation | None, extra: int = 0) -> list:
        """The backtest origins of a choice: the cross-validation's, else those of a backtest
        of ``selection_folds + extra`` folds; none without selection folds."""
        if cv is not None:
            return list(cv.table[CUTOFF].unique())
        folds = self.selection_folds + extra
        return make_cutoffs(pd.Timestamp(frame[DS].max()), self._spec(folds),
                            self._freq(frame)) if folds else []

    def _regime(self, freq: str) -> Callable[[str, int], object]:
        """``(candidate, history) -> regime`` of the candidates (see ``Forecaster.regime``)."""
        return lambda name, history: self.candidates[name].regime(history, freq)

    def _spec(self, n_folds: int) -> BacktestSpec:
        exog = (*self.exog, CAP) if self.cap_multiple is not None else tuple(self.exog)
        return BacktestSpec(h=self.h, n_folds=n_folds, step=self.step, levels=tuple(self.levels),
                            exog=exog, min_history=self.min_history)

    def _caps(self, frame: pd.DataFrame) -> pd.Series | None:
        if self.cap_multiple is None:
            return None
        return frame.groupby(UNIQUE_ID)["y"].max().clip(lower=1.0) * self.cap_multiple

    def _with_caps(self, frame: pd.DataFrame, history: pd.DataFrame | None) -> pd.DataFrame:
        """``frame`` with a ``cap`` column: the caps of ``history``, else the fitted ones."""
        if self.cap_multiple is None:
            return frame
        caps = self._caps(history) if history is not None else self.caps_
        return frame.assign(**{CAP: frame[UNIQUE_ID].map(caps).to_numpy(float)})

    def _finish(self, frame: pd.DataFrame) -> pd.DataFrame:
        columns = [UNIQUE_ID, DS, H, YHAT]
        for level in self.levels:
            columns += list(interval_columns(level))
        nonnegative = getattr(self, "nonnegative_", None)
        out = base.bound_intervals(frame[columns].copy(), self.levels, nonnegative).merge(
            self.series_, on=UNIQUE_ID, how="left")
        out[DISCONTINUED] = out[UNIQUE_ID].isin(self.selection_.discontinued)
        return out.sort_values([UNIQUE_ID, DS], kind="stable").reset_index(drop=True)
