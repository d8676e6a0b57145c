"""What a reader of a fitted :class:`~forecast.model_selection.revenue.RevenueForecaster`'s
numbers should know, in plain words: candidates dropped, left out or not weighted and why,
demand classes, series too young or stopped, and what the backtest did not measure."""

from __future__ import annotations

from forecast.model_selection.cold_start import COLD_ONLY, cold_start_note
from forecast.model_selection.demand import REASON, demand_note, left_out_note
from forecast.model_selection.layout import coverage_notes
from forecast.schemas import MODEL, UNIQUE_ID


def _short_series_notes(models) -> list[str]:
    """Candidates that left out series they cannot fit (``short_series_``, e.g. Prophet's
    series with fewer than 2 observed values)."""
    notes = []
    for name, model in models.items():
        short = getattr(model, "short_series_", ())
        if short:
            named = ", ".join(repr(str(s)) for s in short[:3]) + (" ..." if len(short) > 3 else "")
            notes.append(f"candidate {name} does not forecast {len(short)} series with too few "
                         f"observed values ({named}): the other candidates do")
    return notes


def fitted_notes(model) -> list[str]:
    """The notes of a fitted ``RevenueForecaster`` (its ``notes()``)."""
    notes = [f"candidate {name} dropped: {reason}" for name, reason in model.dropped_.items()]
    demand = demand_note(model.demand_classes_, model.candidates, model.skipped_, model.models_)
    left = left_out_note(getattr(model, "left_out_", {}), model.candidates)
    notes += [n for n in (demand, left) if n] + _short_series_notes(model.models_)
    selection = model.selection_
    excluded = selection.excluded
    if excluded is not None and len(excluded):
        excluded = excluded[~excluded["reason"].str.startswith((REASON, COLD_ONLY))]
        for name, rows in excluded.groupby(MODEL):
            notes.append(f"candidate {name} not weighted for {len(rows)} series: no backtest "
                         f"fold exercised its forecast (e.g. {rows['reason'].iloc[0]})")
    cold = cold_start_note(model.series_[UNIQUE_ID], selection)
    notes += [cold] if cold else []
    if selection.discontinued:
        notes.append(f"{len(selection.discontinued)} series stopped selling (no "
                     "sale in any selection fold, or quiet for longer than ever before and "
                     "too long for their sales rate): forecast as zero (column discontinued)")
    return notes + coverage_notes(model.selection_folds, model.h, model.horizon_,
                                  model.hierarchy_ is not None, selection.calibrator is not None)
