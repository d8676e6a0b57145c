"""Per-series model selection and inverse-error weighted ensembles, chosen on backtests.

:func:`choose_models` turns a backtest table into a choice frame (weights per series or per
level and candidate); :func:`combine_forecasts` applies it. :class:`EnsembleForecaster` does the
whole thing: an inner backtest on the training data only, the choice, conformal intervals
calibrated on cross-fitted ensemble errors of those folds, and the candidates refit on all data.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal

import pandas as pd
from sklearn.base import clone

from forecast.errors import ValidationError
from forecast.evaluation.backtest import FOLD, MODEL, BacktestSpec, backtest
from forecast.models.base import Forecaster
from forecast.models.conformal import ConformalCalibrator
from forecast.schemas import DS, UNIQUE_ID, YHAT, Y

Strategy = Literal["best", "inverse_error", "pooled_inverse_error"]
STRATEGIES: tuple[Strategy, ...] = ("best", "inverse_error", "pooled_inverse_error")
WEIGHT, ERROR = "weight", "error"


def choose_models(
    table: pd.DataFrame,
    strategy: Strategy = "inverse_error",
    groups: pd.Series | None = None,
    power: float = 1.0,
) -> pd.DataFrame:
    """Weights of each candidate per series (or per group) from backtest errors.

    Args:
        table: backtest rows ``unique_id, model, y, yhat``.
        strategy: "best" gives weight 1 to the lowest-error candidate of each group;
            "inverse_error" weights candidates by error**-power within each group;
            "pooled_inverse_error" uses the pooled errors over all series for everyone.
        groups: optional unique_id -> group (a level column such as a region); default per series.
        power: exponent of the inverse-error weights.

    Returns:
        Choice frame ``unique_id, model, error, weight`` (error = WAPE of the group), weights
        summing to 1 per series.
    """
    missing = [c for c in (UNIQUE_ID, MODEL, Y, YHAT) if c not in table.columns]
    if missing:
        raise ValidationError(f"backtest table: missing column(s) {missing}")
    rows = table.dropna(subset=[Y, YHAT]).assign(_abs=lambda t: (t[Y] - t[YHAT]).abs(),
                                                 _y=lambda t: t[Y].abs())
    if strategy == "pooled_inverse_error":
        rows = rows.assign(_group=_ALL)
    elif groups is not None:
        rows = rows.assign(_group=rows[UNIQUE_ID].map(groups).fillna(_ALL))
    else:
        rows = rows.assign(_group=rows[UNIQUE_ID])
    sums = rows.groupby(["_group", MODEL], observed=True)[["_abs", "_y"]].sum()
    errors = (sums["_abs"] / sums["_y"].where(sums["_y"] > 0)).rename(ERROR).reset_index()
    errors[ERROR] = errors[ERROR].fillna(errors[ERROR].max()).clip(lower=1e-9)
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
    return choice.sort_values([UNIQUE_ID, MODEL]).reset_index(drop=True)


_ALL = "__all__"


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


def pick_strategy(table: pd.DataFrame, groups=None) -> tuple[Strategy, pd.DataFrame]:
    """The strategy whose cross-fitted ensemble has the lowest WAPE on the backtest folds.

    Returns:
        The strategy and its cross-fitted ensemble rows (for calibration).
    """
    best: tuple[float, Strategy, pd.DataFrame] | None = None
    for strategy in STRATEGIES:
        combined = crossfit_combination(table, strategy, groups)
        error = (combined[Y] - combined[YHAT]).abs().sum() / combined[Y].abs().sum()
        if best is None or error < best[0]:
            best = (error, strategy, combined)
    return best[1], best[2]


def extend_choice(choice: pd.DataFrame, ids) -> pd.DataFrame:
    """The choice, plus mean weights for series it lacks (too short for the backtest)."""
    missing = sorted(set(ids) - set(choice[UNIQUE_ID]))
    if not missing:
        return choice
    means = choice.groupby(MODEL)[WEIGHT].mean()
    extra = pd.DataFrame([(uid, model, weight) for uid in missing
                          for model, weight in means.items()], columns=[UNIQUE_ID, MODEL, WEIGHT])
    return pd.concat([choice, extra], ignore_index=True)


def crossfit_combination(table: pd.DataFrame, strategy: Strategy, groups=None) -> pd.DataFrame:
    """Ensemble forecasts of each backtest fold with weights chosen on the other folds.

    Gives honest ensemble errors for calibration: no fold's weights saw that fold. With a
    single fold the weights are chosen on it (optimistic).
    """
    folds = sorted(table[FOLD].unique())
    pieces = []
    for fold in folds:
        others = table[table[FOLD] != fold] if len(folds) > 1 else table
        choice = choose_models(others, strategy, groups)
        pieces.append(combine_forecasts(table[table[FOLD] == fold], choice))
    return pd.concat(pieces, ignore_index=True)


def member_forecasts(models: Mapping[str, Forecaster], h: int, future_exog, levels
                      ) -> pd.DataFrame:
    """Every fitted member's forecast, stacked with its name in ``model``."""
    pieces = [model.predict(h, future_exog, levels).assign(**{MODEL: name})
              for name, model in models.items()]
    return pd.concat(pieces, ignore_index=True)


class EnsembleForecaster(Forecaster):
    """Choose or weight candidate forecasters per series on an inner backtest; calibrate intervals.

    Args:
        candidates: name -> forecaster.
        backtest_spec: inner backtest on the training frame (folds before its end only).
        strategy: see :func:`choose_models`; "auto" picks the strategy whose cross-fitted
            ensemble error on the inner folds is lowest (:func:`pick_strategy`).
        group_column: level column to choose per group instead of per series.
        calibrate: replace interval columns by conformal ones from cross-fitted ensemble errors.
        freq: pandas frequency alias; inferred from the frame when None.
    """

    def __init__(
        self,
        candidates: Mapping[str, Forecaster],
        backtest_spec: BacktestSpec,
        strategy: Strategy | Literal["auto"] = "inverse_error",
        group_column: str | None = None,
        calibrate: bool = True,
        freq: str | None = None,
    ):
        self.candidates = candidates
        self.backtest_spec = backtest_spec
        self.strategy = strategy
        self.group_column = group_column
        self.calibrate = calibrate
        self.freq = freq

    def _fit(self, frame: pd.DataFrame) -> None:
        if not self.candidates:
            raise ValidationError("EnsembleForecaster needs at least one candidate")
        groups = None
        if self.group_column is not None:
            if self.group_column not in frame.columns:
                raise ValidationError(f"series frame: missing group column {self.group_column!r}")
            groups = frame.groupby(UNIQUE_ID, observed=True)[self.group_column].first()
        self.backtest_ = backtest(self.candidates, frame, self.backtest_spec)
        if self.strategy == "auto":
            self.strategy_, combined = pick_strategy(self.backtest_, groups)
        else:
            self.strategy_ = self.strategy
            combined = crossfit_combination(self.backtest_, self.strategy, groups)
        self.choice_ = choose_models(self.backtest_, self.strategy_, groups)
        if self.calibrate:
            self.calibration_table_ = combined
            self.calibrator_ = ConformalCalibrator(levels=self.backtest_spec.levels).fit(combined)
        self.models_ = {name: clone(model).fit(frame) for name, model in self.candidates.items()}

    def _predict(self, h: int, future_exog, levels) -> pd.DataFrame:
        forecasts = member_forecasts(self.models_, h, future_exog, levels)
        choice = extend_choice(self.choice_, forecasts[UNIQUE_ID].unique())
        out = combine_forecasts(forecasts, choice)
        if self.calibrate and levels:
            out = self.calibrator_.transform(out)
            known = set(self.backtest_spec.levels)
            unknown = [lv for lv in levels if lv not in known]
            if unknown:
                raise ValidationError(f"levels {unknown} were not calibrated; fit with them in "
                                      "backtest_spec.levels")
        return out.sort_values([UNIQUE_ID, DS], kind="stable")


class CombinationForecaster(Forecaster):
    """A fixed-weight average of forecasters fitted on the same frame: no backtest, no choice.

    The fast path for very many series, where a backtest per candidate would cost more than the
    forecast: averaging a learned model with a simple seasonal one cuts the errors of both. The
    intervals are the weighted averages of the members' quantiles (not recalibrated).

    Args:
        members: name -> forecaster.
        weights: name -> positive weight; equal weights when None.
        freq: pandas frequency alias; inferred from the frame when None.
    """

    def __init__(self, members: Mapping[str, Forecaster],
                 weights: Mapping[str, float] | None = None, freq: str | None = None):
        self.members = members
        self.weights = weights
        self.freq = freq

    def _fit(self, frame: pd.DataFrame) -> None:
        if not self.members:
            raise ValidationError("CombinationForecaster needs at least one member")
        weights = dict(self.weights) if self.weights is not None else dict.fromkeys(self.members,
                                                                                     1.0)
        if set(weights) != set(self.members) or min(weights.values()) <= 0:
            raise ValidationError(f"weights {weights} must be positive and name exactly the "
                                  f"members {sorted(self.members)}")
        self.weights_ = weights
        self.models_ = {name: clone(model).fit(frame) for name, model in self.members.items()}

    def _predict(self, h: int, future_exog, levels) -> pd.DataFrame:
        forecasts = member_forecasts(self.models_, h, future_exog, levels)
        ids = pd.Index(forecasts[UNIQUE_ID].unique())
        choice = pd.DataFrame({UNIQUE_ID: ids.repeat(len(self.weights_)),
                               MODEL: list(self.weights_) * len(ids),
                               WEIGHT: list(self.weights_.values()) * len(ids)})
        return combine_forecasts(forecasts, choice).sort_values([UNIQUE_ID, DS], kind="stable")
