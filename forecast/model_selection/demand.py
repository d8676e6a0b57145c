"""Which candidates compete for which series, by demand class (Syntetos and Boylan).

Some candidates are made for some demand classes (``Forecaster.made_for``): Croston SBA, TSB,
ADIDA and IMAPA for erratic, intermittent and lumpy demand, the classes where Syntetos, Boylan
& Croston (2005) find SBA best. A series of such a class is forecast by the candidates made for
it, and only by them (a series too young for the backtest too, classed on what it has); the
other candidates forecast the other series, and are not fitted where they could never be
weighed (:func:`left_to_specialists`). On such demand a
selection on absolute errors would otherwise prefer the forecasters of the median, which is
below the mean there, 0 for sporadic sales: on the synthetic bed the absolute-error global
model was biased -25 % on erratic and -80 % on intermittent series, and with it among the
choices the selected forecast -12 % overall; with the specialists alone there, -4 %, at a
lower MASE than Croston SBA, TSB or the mean of the last 28 days. Specialists whose classes no
series has are not fitted at all.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import pandas as pd

from forecast.features.intermittency import DEMAND_CLASS, SMOOTH, class_counts, demand_classes
from forecast.model_selection.weights import WEIGHT
from forecast.models.base import Forecaster
from forecast.schemas import ALL_SERIES, DS, MODEL, UNIQUE_ID

# The reasons of pairs excluded by demand class start so (the regime's do not).
REASON = "demand class"


def specialists(candidates: Mapping[str, Forecaster]) -> dict[str, frozenset[str]]:
    """Candidate name -> the demand classes it is made for, for the candidates made for some."""
    made = {name: model.made_for() for name, model in candidates.items()}
    return {name: classes for name, classes in made.items() if classes}


def needed(candidates: Mapping[str, Forecaster], classes: pd.Series) -> dict[str, str]:
    """Candidates not worth fitting: made for demand classes that no series has.

    Args:
        candidates: name -> unfitted forecaster.
        classes: unique_id -> demand class.

    Returns:
        name -> reason, for each specialist left out; none when no candidate is for every
        series (then the specialists are all there is).
    """
    made = specialists(candidates)
    if len(made) == len(candidates):
        return {}
    present = set(classes)
    return {name: f"no series is {' or '.join(sorted(kinds))}" for name, kinds in made.items()
            if not kinds & present}


def unsuited(classes: pd.Series, candidates: Mapping[str, Forecaster]) -> pd.DataFrame:
    """Series and candidate pairs that are not weighted because of the series' demand class.

    A series of a class some candidate is made for gets those candidates only; a series of
    another class gets the candidates made for every series.

    Args:
        classes: unique_id -> demand class.
        candidates: name -> forecaster (fitted or not).

    Returns:
        ``unique_id, model, reason``.
    """
    made = specialists(candidates)
    general = [name for name in candidates if name not in made]
    rules = []
    for kind in pd.unique(classes):
        served = sorted(name for name, kinds in made.items() if kind in kinds)
        for name in candidates:
            if served and name not in served:
                reason = f"{kind} series get the candidates made for them ({', '.join(served)})"
            elif not served and name in made and general:
                reason = f"made for {' and '.join(sorted(made[name]))} series, this one is {kind}"
            else:
                continue
            rules.append((kind, name, f"{REASON}: {reason}"))
    table = pd.DataFrame(rules, columns=[DEMAND_CLASS, MODEL, "reason"])
    series = classes.rename(DEMAND_CLASS).rename_axis(UNIQUE_ID).reset_index()
    pairs = series.merge(table, on=DEMAND_CLASS)
    return pairs[[UNIQUE_ID, MODEL, "reason"]].reset_index(drop=True)


def left_to_specialists(frame: pd.DataFrame, classes: pd.Series,
                        candidates: Mapping[str, Forecaster], cutoffs, min_history: int = 1
                        ) -> dict[str, frozenset]:
    """name -> the series a candidate is not fitted on, because no choice could weigh it there.

    A series whose demand class (``classes``: unique_id -> class at the end of ``frame``) is
    one the specialists are made for, there and at every backtest origin in ``cutoffs`` where
    it is in the fold, is forecast by the specialists alone in every choice (:func:`unsuited`, :func:`exclusions_at`). The
    candidates for every series that fit each series on its own (not ``across_series``, not
    the cold-start one) are not fitted on it: on 2,882 weekly products of which 15 sold
    regularly, Prophet fitted all of them at every origin. The global model still learns from
    every series, and the specialists' group season reads them all. A series too young for
    every origin is classed at the end alone: its weights leave out what its class does
    (``weights.extend_choice``).

    Returns:
        {} when no series is left out, no candidate is a specialist or every one is.
    """
    made = specialists(candidates)
    if not made or len(made) == len(candidates):
        return {}
    kinds = frozenset().union(*made.values())
    away = set(classes.index[classes.isin(kinds)])
    dates = pd.to_datetime(frame[DS])
    for cutoff in cutoffs:
        at = demand_classes(frame[dates <= cutoff])
        # A series in a fold of this origin may be weighed by every candidate there.
        away -= set(at.index[~at[DEMAND_CLASS].isin(kinds) & (at["periods"] >= min_history)])
    away = frozenset(away)
    own = [name for name, model in candidates.items() if name not in made
           and not getattr(model, "across_series", False)
           and not getattr(model, "cold_start", False)]
    return {name: away for name in own} if away else {}


def left_out_note(left_out: Mapping[str, frozenset], candidates: Mapping[str, Forecaster]
                  ) -> str | None:
    """What :func:`left_to_specialists` left out, in plain words; None for nothing."""
    if not left_out:
        return None
    n = len(next(iter(left_out.values())))
    served = ", ".join(specialists(candidates))
    return (f"{', '.join(left_out)} not fitted on the {n} series only {served} forecast "
            "(sporadic at every origin): their backtest scores cover the other series")


def exclusions_at(frame: pd.DataFrame, candidates: Mapping[str, Forecaster]
                  ) -> Callable[[pd.Timestamp], pd.DataFrame] | None:
    """origin -> the :func:`unsuited` pairs of a choice made at that origin, from the demand
    classes of the history up to it; None when no candidate is made for some classes."""
    if not specialists(candidates):
        return None
    dates = pd.to_datetime(frame[DS])
    return lambda origin: unsuited(demand_classes(frame[dates <= origin])[DEMAND_CLASS],
                                   candidates)


def demand_shares_at(frame: pd.DataFrame) -> Callable[[pd.Timestamp], pd.Series]:
    """origin -> unique_id -> the share of each series' observed periods up to the origin that
    had a sale (1 / ADI), to judge whether a silent series stopped or is only sporadic."""
    dates = pd.to_datetime(frame[DS])

    def at(origin: pd.Timestamp) -> pd.Series:
        counts = demand_classes(frame[dates <= origin])
        return counts["demands"] / counts["periods"].where(counts["periods"] > 0)
    return at


def calibration_groups(groups: pd.Series | None, classes: pd.Series,
                       candidates: Mapping[str, Forecaster]) -> pd.Series | None:
    """Calibration groups in which the series that specialists forecast stand apart by class.

    Their errors (a flat mean forecast of sporadic sales) have another spread than those of the
    other series of the same grain, so one calibration would make the intervals of both wrong
    (on the synthetic bed the smooth series' 80 % intervals covered 99.8 %).

    Args:
        groups: unique_id -> calibration group (the grain), or None for one group.
        classes: unique_id -> demand class.
        candidates: name -> forecaster.

    Returns:
        ``groups`` with `` (<class>)`` added to the group of each series of a class some
        specialist is made for; ``groups`` itself when there is none or every candidate is a
        specialist.
    """
    made = specialists(candidates)
    kinds = set().union(*made.values()) if made else set()
    served = classes.index[classes.isin(kinds)]
    if not len(served) or len(made) == len(candidates):
        return groups
    base = groups.copy() if groups is not None else pd.Series(ALL_SERIES, index=classes.index)
    base = base.reindex(base.index.union(classes.index)).fillna(ALL_SERIES).astype(str)
    base.loc[served] = base.loc[served] + " (" + classes.loc[served].astype(str) + ")"
    return base


def restrict_choice(choice: pd.DataFrame, pairs: pd.DataFrame) -> pd.DataFrame:
    """An equal-weight choice without the pairs, weights summing to 1 again per series; a
    series left with no candidate keeps them all."""
    keys = pd.MultiIndex.from_frame(pairs[[UNIQUE_ID, MODEL]].astype(str))
    drop = pd.MultiIndex.from_arrays([choice[UNIQUE_ID].astype(str),
                                      choice[MODEL].astype(str)]).isin(keys)
    every = pd.Series(drop).groupby(choice[UNIQUE_ID].to_numpy()).transform("all").to_numpy()
    kept = choice[~drop | every]
    return kept.assign(**{WEIGHT: 1.0 / kept.groupby(UNIQUE_ID)[MODEL].transform("size")}
                       ).reset_index(drop=True)


def demand_note(classes: pd.DataFrame, candidates: Mapping[str, Forecaster],
                skipped: Mapping[str, str], fitted: Mapping[str, Forecaster] | None = None
                ) -> str | None:
    """The demand classes of the series, which candidates forecast which of them, and the
    seasonal indices of the series' total the fitted specialists follow (``season_``); None
    when every series is smooth and no candidate is made for a class."""
    counts = class_counts(classes)
    made = specialists(candidates)
    if not made and set(counts) <= {SMOOTH}:
        return None
    note = "demand classes (Syntetos-Boylan ADI and CV²): " + ", ".join(
        f"{n} {kind}" for kind, n in counts.items())
    used = {name: kinds for name, kinds in made.items() if name not in skipped}
    if used and len(made) < len(candidates):
        kinds = sorted(set().union(*used.values()))
        note += (f"; {', '.join(used)} forecast the {', '.join(kinds)} series, the other "
                 "candidates the rest")
    elif not made:
        note += "; no candidate is made for sporadic demand (croston_sba, tsb, adida, imapa)"
    if skipped:
        note += f"; {', '.join(skipped)} not fitted ({next(iter(skipped.values()))})"
    seasons = {name: getattr(model, "season_", None) for name, model in (fitted or {}).items()
               if name in made}
    kinds = sorted({kind for season in seasons.values() if season for kind in season.kinds})
    if kinds:
        note += (f"; {', '.join(name for name, s in seasons.items() if s and s.kinds)} follow "
                 f"the {' and '.join(kinds)} indices of all the series' total")
    return note
