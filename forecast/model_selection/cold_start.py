"""Cold start: the candidate that forecasts a series from its parent, bound to the hierarchy.

A candidate whose class says ``cold_start`` (``forecast.models.parent_share``) forecasts each
series as its share of its parent. The :class:`~forecast.model_selection.RevenueForecaster`
gives it the parents of its hierarchy (or leaves it out when the series form none) and half
the weight of the series too young for any backtest fold, the other half going to the mean
weights of the others (see ``Selection.cold_start`` and ``weights.extend_choice``); its notes
name those series. It is backtested like the others but weighted for no other series: it is
there for the series the other candidates cannot be tested on, and a combination only loses by
a candidate whose errors are larger than the best one's (on Walmart and Favorita adding one
raised the WAPE).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import pandas as pd
from sklearn.base import clone

from forecast.model_selection.young import young_ids
from forecast.models.base import Forecaster
from forecast.models.parent_share import SeriesParents
from forecast.schemas import UNIQUE_ID


def bind_parents(candidates: Mapping[str, Forecaster], hierarchy) -> dict[str, Forecaster]:
    """The candidates, each cold-start one given the parents of ``hierarchy`` (a
    :class:`~forecast.hierarchy.Hierarchy`), or left out when ``hierarchy`` is None."""
    bound = {}
    for name, model in candidates.items():
        if getattr(model, "cold_start", False):
            if hierarchy is None:
                continue
            model = clone(model).set_params(parents=SeriesParents.of(hierarchy))
        bound[name] = model
    return bound


def cold_start_name(candidates: Mapping[str, Forecaster]) -> str | None:
    """The name of the cold-start candidate among ``candidates``, if any."""
    return next((name for name, model in candidates.items()
                 if getattr(model, "cold_start", False)), None)


def cold_start_note(ids: pd.Series, selection) -> str | None:
    """What a reader should know of the series no backtest fold chose for (too young): they
    are forecast from their parent by the cold-start candidate, or take the mean weights."""
    young = young_ids(ids, selection)
    if not young or selection.choice.empty:
        return None
    shown = ", ".join(repr(u) for u in young[:3]) + (" ..." if len(young) > 3 else "")
    if selection.calibrator is None:
        intervals = ""
    elif getattr(selection, "young", None) is not None:
        intervals = ("; their intervals are the widest of those measured on older series cut to "
                     "their age, the calibrated ones and their candidates' own")
    else:
        intervals = ("; their intervals, never measured, are the wider of the calibrated ones "
                     "and their candidates' own")
    if selection.cold_start:
        return (f"{len(young)} series too young for any backtest fold ({shown}): forecast "
                f"half as their recent share of their parent (cold start, "
                f"{selection.cold_start}), half with the mean weights of the others{intervals}")
    return (f"{len(young)} series too young for any backtest fold ({shown}): forecast with the "
            f"mean weights of the others{intervals}")


COLD_ONLY = "cold start only"  # the reason the cold-start candidate is not weighted elsewhere


def cold_only(ids, name: str | None) -> pd.DataFrame:
    """``unique_id, model, reason`` pairs that keep the cold-start candidate ``name`` from the
    weights of the series ``ids`` (those the backtest tested); empty without one."""
    ids = pd.unique(pd.Series(list(ids))) if name is not None else []
    return pd.DataFrame({UNIQUE_ID: ids, "model": name, "reason": COLD_ONLY})


def with_cold_only(exclude: Callable[[pd.Timestamp], pd.DataFrame] | None, frame: pd.DataFrame,
                   name: str | None) -> Callable[[pd.Timestamp], pd.DataFrame] | None:
    """``exclude`` (origin -> pairs) with the :func:`cold_only` pairs of every series added."""
    if name is None:
        return exclude
    pairs = cold_only(frame[UNIQUE_ID], name)
    if exclude is None:
        return lambda origin: pairs
    return lambda origin: pd.concat([exclude(origin), pairs], ignore_index=True)
