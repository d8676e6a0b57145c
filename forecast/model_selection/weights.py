"""Weights of candidate forecasters per series, chosen on backtests, and their combination.

:func:`choose_models` turns a backtest table into a choice frame (weights per series or per
group and candidate); :func:`combine_forecasts` applies it; :func:`crossfit_combination` gives
honest ensemble errors of the backtest folds (each fold combined with weights chosen on the
others) and :func:`pick_strategy` the strategy whose cross-fitted ensemble errs least.
:class:`forecast.model_selection.RevenueForecaster` composes them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import get_args

import numpy as np
import pandas as pd

from forecast.errors import ValidationError
from forecast.models.base import Forecaster
from forecast.schemas import ALL_SERIES, FOLD, MODEL, UNIQUE_ID, YHAT, SelectionStrategy, Y

# The strategies a choice can use (the config's "auto" picks one of them on the backtest).
STRATEGIES: tuple[str, ...] = tuple(s for s in get_args(SelectionStrategy) if s != "auto")
WEIGHT, ERROR = "weight", "error"


def choose_models(
    table: pd.DataFrame,
    strategy: str = "inverse_error",
    groups: pd.Series | None = None,
    power: float = 1.0,
    exclude: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Weights of each candidate per series (or per group) from backtest errors.

    Args:
        table: backtest rows ``unique_id, model, y, yhat``.
        strategy: "best" gives weight 1 to the lowest-error candidate of each group;
            "inverse_error" weights candidates by error**-power within each group;
            "pooled_inverse_error" uses the pooled errors over all series for everyone.
        groups: optional unique_id -> group (a key column such as a region); default per series.
        power: exponent of the inverse-error weights.
        exclude: ``unique_id, model`` pairs that get no weight (their rows do not count in any
            error either); a series left without a candidate keeps all of them.

    Returns:
        Choice frame ``unique_id, model, error, weight`` (error = WAPE of the group), weights
        summing to 1 per series.
    """
    missing = [c for c in (UNIQUE_ID, MODEL, Y, YHAT) if c not in table.columns]
    if missing:
        raise ValidationError(f"backtest table: missing column(s) {missing}")
    rows = table.dropna(subset=[Y, YHAT]).assign(_abs=lambda t: (t[Y] - t[YHAT]).abs(),
                                                 _y=lambda t: t[Y].abs())
    excluded = _pairs(rows, exclude)
    if excluded.any():
        # A series whose every candidate is excluded keeps them all: nothing was validated.
        spared = rows[UNIQUE_ID].isin(
            rows.assign(_x=excluded).groupby(UNIQUE_ID)["_x"].all().loc[lambda s: s].index)
        excluded &= ~spared.to_numpy()
        exclude = rows.loc[excluded, [UNIQUE_ID, MODEL]].drop_duplicates()
        rows = rows[~excluded]
    if strategy == "pooled_inverse_error":
        rows = rows.assign(_group=ALL_SERIES)
    elif groups is not None:
        rows = rows.assign(_group=rows[UNIQUE_ID].map(groups).fillna(ALL_SERIES))
    else:
        rows = rows.assign(_group=rows[UNIQUE_ID])
    sums = rows.groupby(["_group", MODEL], observed=True)[["_abs", "_y"]].sum()
    errors = (sums["_abs"] / sums["_y"].where(sums["_y"] > 0)).rename(ERROR).reset_index()
    # A group without actual sales has no WAPE: it takes the largest error of the others, or
    # equal weights when no group has one.
    errors[ERROR] = errors[ERROR].fillna(errors[ERROR].max()).fillna(1.0).clip(lower=1e-9)
    if strategy == "best":
        best = errors.groupby("_group")[ERROR].transform("min")
        first = errors[errors[ERROR] == best].drop_duplicates("_group").index
        errors[WEIGHT] = errors.index.isin(first).astype(float)
    elif strategy in ("inverse_error", "pooled_inverse_error"):
        inverse = errors[ERROR] ** -float(power)
        errors[WEIGHT] = inverse / inverse.groupby(errors["_group"]).transform("sum")
    else:
        raise ValidationError(f"unknown selection strategy {strategy!r}")
    series = rows[[UNIQUE_ID, "_group"]].drop_duplicates()
    choice = series.merge(errors, on="_group").drop(columns="_group")
    if excluded.any():
        choice = _without(choice, exclude)
    return choice.sort_values([UNIQUE_ID, MODEL]).reset_index(drop=True)


def _pairs(frame: pd.DataFrame, pairs: pd.DataFrame | None) -> np.ndarray:
    """Which rows of ``frame`` are among the ``unique_id, model`` pairs."""
    if pairs is None or pairs.empty:
        return np.zeros(len(frame), bool)
    keys = pd.MultiIndex.from_frame(pairs[[UNIQUE_ID, MODEL]].astype(str))
    rows = pd.MultiIndex.from_arrays([frame[UNIQUE_ID].astype(str), frame[MODEL].astype(str)])
    return rows.isin(keys)


def _without(choice: pd.DataFrame, pairs: pd.DataFrame) -> pd.DataFrame:
    """The choice without the pairs, weights made to sum to 1 again per series; a series whose
    remaining weight is 0 (its best was excluded) gets its lowest-error remaining candidate."""
    kept = choice[~_pairs(choice, pairs)]
    left = kept.groupby(UNIQUE_ID)[WEIGHT].transform("sum")
    lowest = kept.groupby(UNIQUE_ID)[ERROR].transform("min")
    first = kept[(left == 0) & (kept[ERROR] == lowest)].drop_duplicates(UNIQUE_ID).index
    return kept.assign(**{WEIGHT: np.where(left > 0, kept[WEIGHT] / left.where(left > 0, 1),
                                           kept.index.isin(first).astype(float))})




def combine_forecasts(forecasts: pd.DataFrame, choice: pd.DataFrame) -> pd.DataFrame:
    """Weighted average of candidate forecasts per series.

    Args:
        forecasts: long frame ``unique_id, ds, model, yhat`` (+ interval columns, averaged too;
            recalibrate them with :class:`ConformalCalibrator`). Extra key columns (``fold``,
            ``h``, ``y``...) are kept.
        choice: ``unique_id, model, weight`` from :func:`choose_models`.

    Returns:
        Frame with the key columns, ``yhat`` and averaged interval columns; series without a
        choice are dropped.
    """
    values = [c for c in forecasts.columns if c == YHAT or c.startswith(f"{YHAT}_")]
    keys = [c for c in forecasts.columns if c not in values and c != MODEL]
    merged = forecasts.merge(choice[[UNIQUE_ID, MODEL, WEIGHT]], on=[UNIQUE_ID, MODEL])
    weighted = merged[values].mul(merged[WEIGHT], axis=0)
    weighted[WEIGHT] = merged[WEIGHT]
    weighted[keys] = merged[keys]
    sums = weighted.groupby(keys, sort=False, observed=True, dropna=False)[[*values, WEIGHT]].sum()
    sums[values] = sums[values].div(sums[WEIGHT], axis=0)
    return sums.drop(columns=WEIGHT).reset_index()


def pick_strategy(table: pd.DataFrame, groups=None, exclude: pd.DataFrame | None = None
                  ) -> tuple[str, pd.DataFrame]:
    """The strategy whose cross-fitted ensemble has the lowest WAPE on the backtest folds.

    Returns:
        The strategy and its cross-fitted ensemble rows (for calibration).
    """
    best: tuple[float, str, pd.DataFrame] | None = None
    for strategy in STRATEGIES:
        combined = crossfit_combination(table, strategy, groups, exclude)
        error = (combined[Y] - combined[YHAT]).abs().sum() / max(combined[Y].abs().sum(), 1e-12)
        if best is None or error < best[0]:
            best = (error, strategy, combined)
    return best[1], best[2]


def extend_choice(choice: pd.DataFrame, ids, cold_start: str | None = None,
                  exclude: pd.DataFrame | None = None) -> pd.DataFrame:
    """The choice, plus weights for the series it lacks (too short for the backtest): the mean
    weights of the others (what the backtest chose for series like them), and, when there is a
    ``cold_start`` candidate (a young series forecast from its parent, see
    ``forecast.models.parent_share``), half on it and half on those means: two sources, the
    series' own level and its parent's season, that no fold could weigh against each other.

    ``exclude``: ``unique_id, model`` pairs not to weigh; for a series the choice lacks, its
    pairs (a young sporadic product: the candidates not made for its demand class) leave the
    mean weights of the rest, which take their share (the cold-start half stays; a series
    left with none of the means is the cold-start candidate's alone, or without one keeps
    them all)."""
    missing = sorted(set(ids) - set(choice[UNIQUE_ID]))
    if not missing:
        return choice
    means = young_weights(choice, cold_start)
    extra = pd.DataFrame([(uid, model, weight) for uid in missing
                          for model, weight in means.items()], columns=[UNIQUE_ID, MODEL, WEIGHT])
    if exclude is not None and len(exclude):
        pairs = exclude[exclude[MODEL] != cold_start] if cold_start else exclude
        drop = _pairs(extra, pairs)
        cold = (extra[MODEL] == cold_start).to_numpy()
        kept = pd.Series(np.where(drop | cold, 0.0, extra[WEIGHT]), index=extra.index)
        share = kept.groupby(extra[UNIQUE_ID]).transform("sum").to_numpy()
        whole = extra[WEIGHT].where(~cold, 0.0).groupby(extra[UNIQUE_ID]).transform("sum")
        scaled = kept * whole / np.where(share > 0, share, 1.0)
        if cold_start in means:  # the cold-start half stays, or takes all
            extra[WEIGHT] = np.where(cold, np.where(share > 0, extra[WEIGHT], 1.0), scaled)
            extra = extra[~drop]
        else:  # a series left with no candidate keeps them all
            extra[WEIGHT] = np.where(share > 0, scaled, extra[WEIGHT])
            extra = extra[~drop | (share == 0)]
    return pd.concat([choice, extra], ignore_index=True)


def young_weights(choice: pd.DataFrame, cold_start: str | None = None) -> pd.Series:
    """model -> weight of a series the choice lacks (see :func:`extend_choice`): each model's
    weight summed over the chosen series, over their number. A model a choice leaves out for a
    series (its demand class, its regime) weighs 0 there: averaged over the series it was
    chosen for alone, ETS weighed for the one series of 1,463 that no specialist serves took a
    quarter of every new product's forecast."""
    means = choice.groupby(MODEL)[WEIGHT].sum() / max(choice[UNIQUE_ID].nunique(), 1)
    if cold_start is None:
        return means
    means = means.drop(cold_start, errors="ignore")
    return pd.concat([means / means.sum() / 2, pd.Series({cold_start: 0.5})]) \
        if means.sum() > 0 else pd.Series({cold_start: 1.0})


def crossfit_combination(table: pd.DataFrame, strategy: str, groups=None,
                         exclude: pd.DataFrame | None = None) -> pd.DataFrame:
    """Ensemble forecasts of each backtest fold with weights chosen on the other folds.

    Gives honest ensemble errors for calibration: no fold's weights saw that fold. With a
    single fold the weights are chosen on it (optimistic).
    """
    folds = sorted(table[FOLD].unique())
    pieces = []
    for fold in folds:
        others = table[table[FOLD] != fold] if len(folds) > 1 else table
        choice = choose_models(others, strategy, groups, exclude=exclude)
        pieces.append(combine_forecasts(table[table[FOLD] == fold], choice))
    return pd.concat(pieces, ignore_index=True)


def member_forecasts(models: Mapping[str, Forecaster], h: int, future_exog, levels
                      ) -> pd.DataFrame:
    """Every fitted member's forecast, stacked with its name in ``model``."""
    pieces = [model.predict(h, future_exog, levels).assign(**{MODEL: name})
              for name, model in models.items()]
    return pd.concat(pieces, ignore_index=True)
