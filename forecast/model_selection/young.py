"""Intervals of the series too young for any backtest fold, measured on older series cut to
their age.

A store that opened last quarter has no row in any backtest fold, so the backtest never measured
how a forecast from so little history errs: its level rests on a few periods and it has no
season to follow. The calibration of the older series measured forecasts made from years of
history, and the candidates' own intervals from a few periods say little (on generated seasonal
series 4 to 39 weeks old, the wider of the two covered 39 % of the next quarter at 80 %).

The older series can measure it. At origins a year (and two) before the forecast origin,
where the season turns as it will (see :func:`origins`; else at the selection window's), each
of them (a probe) is cut to its last ``a`` periods before the origin, ``a`` the age of a young
series, forecast with the weights the young series get (the mean weights of the others, and
the cold-start candidate's half, see ``weights.young_weights``) and scored on the periods after
the origin. Those are the errors of forecasts made from ``a`` periods of this data's series.
A model fitted across series (``Forecaster.across_series``, the global one) also gets each
probe whole under another name, so it learns from grown series as it does when it forecasts
the young ones. The errors' conformal quantiles (``models.conformal``, one calibration per
age) give each young series its interval at the nearest measured age at or below its own
(younger is wider).

Ages: the young series' distinct ages, at most :data:`MOST_AGES` of them (the youngest, the
median, the oldest). Probes: the series the window chose for, leaves first (an aggregate's
parent keeps its whole history, so the cold-start candidate sees it as it sees a young
series'), at most :data:`MOST_PROBES` spread over the sorted ids, so the cost is bounded: ages x
origins extra fits on those series. The cross-validation's evaluation folds measure their own
young series the same way (:func:`fold_young`), so the backtest scores these intervals.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from forecast.errors import ValidationError
from forecast.evaluation.backtest import HISTORY, BacktestSpec, backtest
from forecast.model_selection.weights import WEIGHT, combine_forecasts, young_weights
from forecast.models.base import Forecaster
from forecast.models.baselines import year_length_for
from forecast.models.conformal import ConformalCalibrator
from forecast.schemas import CUTOFF, DS, FOLD, MODEL, UNIQUE_ID, YHAT, Y

MOST_AGES = 3
MOST_PROBES = 16
# The whole copies a model fitted across series learns from: how many, and how many years of
# each before the origin (its seasonal lags need a year before each row).
MOST_COPIES, COPY_YEARS = 8, 2
WHOLE = " (whole)"  # suffix of a probe's uncut copy
ACROSS, COLD, OWN = "across", "cold", "own"  # what a model's fit reads besides a series


@dataclass(frozen=True)
class YoungCalibration:
    """Calibrated intervals of the young series: ``calibrator`` has one calibration per
    measured age (named ``age <n>``), ``ages`` the measured ages, youngest first, and
    ``series`` the periods of history of each young series (unique_id -> age)."""

    calibrator: ConformalCalibrator
    ages: tuple[int, ...]
    series: pd.Series

    def label(self, age: float) -> str:
        """The calibration of a series ``age`` periods old: the oldest measured age at or below
        its own, else the youngest."""
        fit = [a for a in self.ages if a <= age]
        return _label(fit[-1] if fit else self.ages[0])

    def transform(self, rows: pd.DataFrame) -> pd.DataFrame:
        """``rows`` (a forecast of young series) with each series' intervals at its age (a
        series not measured takes the youngest age's)."""
        labels = rows[UNIQUE_ID].map(self.series).fillna(0).map(self.label)
        return pd.concat([self.calibrator.transform(part, model=label)
                          for label, part in rows.groupby(labels, sort=False)]).loc[rows.index]


def _label(age: int) -> str:
    return f"age {int(age)}"


def young_ids(ids, selection) -> list:
    """The series of ``ids`` the selection's choice lacks and did not find discontinued: those
    too young for its window."""
    known = set(selection.choice[UNIQUE_ID]) | set(selection.discontinued)
    return [uid for uid in pd.unique(pd.Series(list(ids))) if uid not in known]


def young_series(ids, selection, spans: pd.Series) -> pd.Series:
    """unique_id -> periods of history (``spans``) of the :func:`young_ids`."""
    return spans.reindex(young_ids(ids, selection)).dropna().astype(int)


def measured_ages(ages: pd.Series, most: int = MOST_AGES) -> tuple[int, ...]:
    """The ages to measure for young series of ``ages`` periods: all distinct ones, or the
    youngest, the median and the oldest."""
    distinct = np.unique(ages.to_numpy(int))
    if len(distinct) <= most:
        return tuple(int(a) for a in distinct)
    picks = np.quantile(distinct, np.linspace(0.0, 1.0, most), method="nearest")
    return tuple(int(a) for a in np.unique(picks))


def probes(chosen, parents) -> list:
    """The series to cut short: those chosen for that are no other chosen series' parent,
    or all chosen ones when every one is (at most :data:`MOST_PROBES`, evenly spread)."""
    chosen = sorted(set(chosen), key=str)
    inner = {parents.get(uid) for uid in chosen} if parents is not None else set()
    leaves = [uid for uid in chosen if uid not in inner] or chosen
    if len(leaves) <= MOST_PROBES:
        return leaves
    keep = np.linspace(0, len(leaves) - 1, MOST_PROBES).round().astype(int)
    return [leaves[i] for i in np.unique(keep)]


def origins(end: pd.Timestamp, first: pd.Timestamp, cutoffs, h: int, freq: str,
            oldest: int, most: int = 2) -> list[pd.Timestamp]:
    """Where to cut the probes: a year before ``end`` (and two), where the history holds
    ``oldest`` periods before and ``h`` after; else the selection window's ``cutoffs``.

    A series younger than a season forecasts without it: its errors follow the calendar (a
    flat forecast made before the peak falls short, one made after it overshoots). The
    selection window's origins lie at other points of the year than the forecast's (its three
    quarters before a quarter-ahead forecast are exactly the other three), so errors measured
    there have the wrong sign; a year before, the calendar is where it will be.
    """
    offset = pd.tseries.frequencies.to_offset(freq)
    year = year_length_for(freq)
    yearly = [end - k * year * offset for k in range(1, most + 1)]
    yearly = [c for c in yearly if c - oldest * offset >= first and c + h * offset <= end]
    return sorted(yearly) or sorted(pd.Timestamp(c) for c in cutoffs)


def calibrate_young(
    candidates: Mapping[str, Forecaster], frame: pd.DataFrame, choice: pd.DataFrame,
    ages: pd.Series, cutoffs, spec: BacktestSpec, freq: str, cold_start: str | None = None,
    parents=None,
) -> YoungCalibration | None:
    """Measure the intervals of young series on the chosen series cut to their ages.

    Args:
        candidates: the unfitted candidates (name -> forecaster) the young series use.
        frame: the history of every series (``unique_id, ds, y`` + exogenous columns).
        choice: the selection window's choice ``unique_id, model, weight``.
        ages: unique_id -> periods of history of each young series.
        cutoffs: the selection window's origins (see :func:`origins`).
        spec: the backtest's layout (its ``h``, ``levels``, ``exog`` and ``min_history``).
        cold_start: the cold-start candidate, if any (see ``weights.young_weights``).
        parents: the hierarchy's parents (``models.parent_share.SeriesParents``) or None.

    Returns:
        The calibration, or None when no probe could be cut to any of the ages (too few
        periods before every origin) or no candidate could forecast one.
    """
    weights = young_weights(choice, cold_start)
    models = {name: candidates[name] for name in weights.index[weights > 0] if name in candidates}
    chosen = probes(choice[UNIQUE_ID].unique(), parents)
    if not models or not chosen:
        return None
    offset = pd.tseries.frequencies.to_offset(freq)
    outer = {parents.get(uid) for uid in chosen} - {None} if parents is not None else set()
    measured = measured_ages(ages)
    # Some probes also enter whole under another name: a model fitted across series (the
    # global one) learns from grown series, as it does when it forecasts the young ones.
    spread = chosen[::-(-len(chosen) // MOST_COPIES)]  # at most MOST_COPIES, evenly spread
    whole = frame[frame[UNIQUE_ID].isin(spread)].assign(
        **{UNIQUE_ID: lambda f: f[UNIQUE_ID].astype(str) + WHOLE})
    copies = set(whole[UNIQUE_ID])
    stacked = pd.concat([frame[frame[UNIQUE_ID].isin([*chosen, *outer])], whole],
                        ignore_index=True)
    at = origins(pd.Timestamp(frame[DS].max()), pd.Timestamp(frame[DS].min()), cutoffs,
                 spec.h, freq, max(measured))
    # Each model sees what it needs besides the probes: a model fitted across series the whole
    # copies, the cold-start one the parents, the others nothing more (fits of long histories
    # are the cost here).
    sees = {ACROSS: copies, COLD: set(outer), OWN: set()}
    groups = _by_reach(models)
    pieces = []
    for fold, cutoff in enumerate(at):
        end = cutoff + spec.h * offset
        window = stacked[(stacked[DS] <= end) & ~(stacked[UNIQUE_ID].isin(copies) & (
            stacked[DS] <= cutoff - COPY_YEARS * year_length_for(freq) * offset))]
        for age in measured:
            part = _cut(window, chosen, cutoff - age * offset, cutoff, age)
            if part is None:
                continue
            table = pd.concat([_scored(group, part[part[UNIQUE_ID].isin(
                [*chosen, *sees[reach]])], spec, age, end, chosen)
                for reach, group in groups.items()], ignore_index=True)
            if not table.empty:
                pieces.append(_weighted(table, weights).assign(**{FOLD: fold,
                                                                  MODEL: _label(age)}))
    if not pieces:
        return None
    rows = pd.concat(pieces, ignore_index=True)
    calibrator = ConformalCalibrator(levels=tuple(spec.levels)).fit(rows)
    return YoungCalibration(calibrator, tuple(sorted(
        int(label.removeprefix("age ")) for label in rows[MODEL].unique())), ages.copy())


def _cut(window: pd.DataFrame, chosen, start: pd.Timestamp, cutoff: pd.Timestamp, age: int
         ) -> pd.DataFrame | None:
    """``window`` with the probes' rows up to ``start`` dropped (``age`` periods left before
    ``cutoff``), without the probes too young for the age there; None when no probe is left."""
    part = window[~(window[UNIQUE_ID].isin(chosen) & (window[DS] <= start))]
    before = part[(part[DS] <= cutoff) & part[UNIQUE_ID].isin(chosen)]
    full = before.dropna(subset=[Y]).groupby(UNIQUE_ID).size()
    # A probe younger than the age at this origin would measure a younger age.
    part = part[~part[UNIQUE_ID].isin(full.index[full < age])]
    return part if part[UNIQUE_ID].isin(chosen).any() else None


def _weighted(table: pd.DataFrame, weights: pd.Series) -> pd.DataFrame:
    """The probes' backtest rows combined with the young series' ``weights``."""
    choice = pd.DataFrame([(uid, name, w) for uid in table[UNIQUE_ID].unique()
                           for name, w in weights.items()], columns=[UNIQUE_ID, MODEL, WEIGHT])
    keys = [c for c in table.columns if c != YHAT and not c.startswith(f"{YHAT}_")
            and not c.startswith("scale_") and c != HISTORY]
    return combine_forecasts(table[[*keys, YHAT]], choice)


def _by_reach(models: Mapping[str, Forecaster]) -> dict[str, dict[str, Forecaster]]:
    """The models split by what their fit reads besides a series: all the series
    (``across_series``), its parent (``cold_start``) or nothing."""
    out: dict[str, dict[str, Forecaster]] = {}
    for name, model in models.items():
        reach = ACROSS if getattr(model, "across_series", False) else \
            COLD if getattr(model, "cold_start", False) else OWN
        out.setdefault(reach, {})[name] = model
    return out


def _scored(models: Mapping[str, Forecaster], part: pd.DataFrame, spec: BacktestSpec, age: int,
            end: pd.Timestamp, chosen) -> pd.DataFrame:
    """The probes' rows of a one-origin backtest of ``models`` on ``part`` (origin ``end -
    h``); a model that cannot forecast them is left out, none: no rows."""
    try:
        table = backtest(models, part, BacktestSpec(
            h=spec.h, n_folds=1, levels=(), exog=spec.exog,
            # The young series are forecast from all they have, however short.
            min_history=min(spec.min_history, age), end=end), failures={})
    except ValidationError:
        return pd.DataFrame()
    return table[table[UNIQUE_ID].isin(chosen)]


def measure_young(selection, ids, spans: pd.Series, candidates: Mapping[str, Forecaster],
                  frame: pd.DataFrame, cutoffs, spec: BacktestSpec, freq: str, parents=None
                  ) -> YoungCalibration | None:
    """:func:`calibrate_young` for the series of ``ids`` that ``selection`` (a
    ``selection.Selection``) has no choice for, ``spans`` their periods of history; None when
    there are none or the selection calibrated nothing."""
    ages = young_series(ids, selection, spans)
    if ages.empty or selection.calibrator is None or selection.choice.empty:
        return None
    return calibrate_young(candidates, frame, selection.choice, ages, cutoffs, spec, freq,
                           selection.cold_start, parents)


def fold_young(candidates: Mapping[str, Forecaster], frame: pd.DataFrame, spec: BacktestSpec,
               freq: str, parents=None):
    """``(selection, window, rows) -> YoungCalibration | None`` for the evaluation folds of a
    cross-validation (``selection.evaluate_selection``): the series of the fold's ``rows``
    too young for its ``window``, measured as at a forecast origin, on the history before the
    fold's origin."""
    def measure(selection, window: pd.DataFrame, rows: pd.DataFrame):
        spans = rows.drop_duplicates(UNIQUE_ID).set_index(UNIQUE_ID)[HISTORY]
        before = frame[frame[DS] <= pd.Timestamp(rows[CUTOFF].iloc[0])]
        return measure_young(selection, spans.index, spans, candidates, before,
                             window[CUTOFF].unique(), spec, freq, parents)
    return measure
