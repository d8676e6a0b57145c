"""The backtest's fold layout, fitted to the history there is.

A full layout has 3 folds to choose on and 3 to score, a horizon apart, each forecasting the
horizon, with at least a horizon of history before the earliest origin. A young business has
less history: with the settings left at their defaults the layout shrinks (fewer evaluation
folds, then fewer selection folds, then shorter folds) down to no backtest at all, and says what
it chose and what that means for the reported accuracy. A setting given explicitly is kept, and
one the history cannot hold is refused with the history and the layout it needs.
"""

from __future__ import annotations

from dataclasses import dataclass

from forecast.errors import DataError

FULL_FOLDS = 3
# (selection folds, evaluation folds), most wanted first.
_LAYOUTS = ((3, 3), (3, 2), (2, 2), (2, 1), (1, 1), (1, 0))


@dataclass(frozen=True)
class FoldLayout:
    """Where the backtest's origins go.

    Attributes:
        h: periods each fold forecasts.
        step: periods between origins.
        selection_folds: folds each choice is made on (0: no backtest, equal weights).
        eval_folds: folds scored out of sample (0: no reported accuracy).
        note: what was fitted to the history and what it means; empty for the full layout.
    """

    h: int
    step: int
    selection_folds: int
    eval_folds: int
    note: str = ""

    def needs(self, min_history: int) -> int:
        """Periods of history this layout needs: a fold's length (and ``min_history``) before
        the earliest origin, then the folds."""
        folds = self.selection_folds + self.eval_folds
        if folds == 0:
            return 0
        return max(min_history, self.h) + self.h + self.step * (folds - 1)


def plan_layout(history: int, horizon: int, *, backtest_h: int | None = None,
                step: int | None = None, selection_folds: int | None = None,
                eval_folds: int | None = None, min_history: int = 2) -> FoldLayout:
    """The fold layout for ``history`` periods (the longest series) and a ``horizon``.

    Args:
        history: periods of the longest series.
        horizon: periods to forecast.
        backtest_h, step, selection_folds, eval_folds: the config's settings; None fits them.
        min_history: the fewest periods a series is backtested on.

    Raises:
        DataError: explicit settings that the history cannot hold.
    """
    h = backtest_h or horizon
    given = {"backtest_h": backtest_h, "step": step, "selection_folds": selection_folds,
             "eval_folds": eval_folds}
    if selection_folds is not None and eval_folds is not None:
        layout = FoldLayout(h, step or h, selection_folds, eval_folds)
        _check(layout, history, min_history, given)
        return layout
    for fold_h in _fold_lengths(h, backtest_h):
        for sel, ev in _LAYOUTS:
            layout = FoldLayout(fold_h, step or fold_h, selection_folds or sel,
                                ev if eval_folds is None else eval_folds)
            if layout.needs(min_history) <= history:
                return _noted(layout, history, horizon)
    if any(v is not None for v in given.values()):
        _check(FoldLayout(h, step or h, selection_folds or 1,
                          1 if eval_folds is None else eval_folds), history, min_history, given)
    return FoldLayout(h, step or h, 0, 0, note=(
        f"{history} periods of history are too few for any backtest fold: the candidates are "
        "averaged with equal weights, their intervals are not calibrated, and no accuracy is "
        "reported"))


def _fold_lengths(h: int, backtest_h: int | None) -> list[int]:
    """The fold length, then shorter ones (a half, a quarter) when it was not given."""
    if backtest_h is not None:
        return [h]
    return sorted({h, max(1, -(-h // 2)), max(1, -(-h // 4))}, reverse=True)


def _noted(layout: FoldLayout, history: int, horizon: int) -> FoldLayout:
    if (layout.selection_folds, layout.eval_folds) == (FULL_FOLDS, FULL_FOLDS) \
            and layout.h >= horizon:
        return layout
    parts = [(f"{history} periods of history hold {layout.selection_folds} selection and "
              f"{layout.eval_folds} evaluation fold(s) of {layout.h} periods")]
    if layout.eval_folds == 0:
        parts.append("no accuracy is reported (no fold is left to score out of sample)")
    elif layout.eval_folds < FULL_FOLDS:
        parts.append(f"the reported accuracy rests on {layout.eval_folds} fold(s) only")
    if layout.h < horizon:
        parts.append(f"steps {layout.h + 1}..{horizon} of the forecast are not validated")
    return FoldLayout(layout.h, layout.step, layout.selection_folds, layout.eval_folds,
                      "; ".join(parts))


def _check(layout: FoldLayout, history: int, min_history: int, given: dict) -> None:
    need = layout.needs(min_history)
    if need > history:
        named = ", ".join(f"{k}={v}" for k, v in given.items() if v is not None)
        raise DataError(
            f"revenue backtest: {named} needs {need} periods of history "
            f"({max(min_history, layout.h)} before "
            f"the first origin, then {layout.selection_folds + layout.eval_folds} fold(s) of "
            f"{layout.h} periods, {layout.step} apart) but the longest series has {history}; "
            "use fewer folds, a shorter backtest_h or step, or leave them out to fit the "
            "layout to the history")


def coverage_notes(selection_folds: int, h: int, horizon: int, hierarchy: bool,
                   calibrated: bool = True) -> list[str]:
    """What a layout means for the intervals and the steps forecast, in plain words: none
    calibrated without a backtest; steps past the folds not measured; one fold's calibration
    (``calibrated``: there was one) resting on one stretch of history (its steps pooled, see
    ``models/conformal.py``)."""
    if selection_folds == 0:
        return ["no backtest: the candidates are averaged with equal weights, their intervals "
                "are not calibrated" + (" and the hierarchy is reconciled by OLS"
                                        if hierarchy else "")]
    notes = []
    if horizon > h:
        notes.append(f"steps {h + 1}..{horizon} are forecast but no backtest fold reached them: "
                     "their accuracy and coverage were not measured")
    if selection_folds == 1 and calibrated:
        notes.append("intervals calibrated on one backtest fold: their coverage rests on one "
                     "stretch of history (its steps pooled)")
    return notes
