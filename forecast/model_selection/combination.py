"""A fixed-weight average of forecasters: the ensemble without a backtest."""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd
from sklearn.base import clone

from forecast.errors import ValidationError
from forecast.model_selection.weights import WEIGHT, combine_forecasts, member_forecasts
from forecast.models.base import Forecaster
from forecast.schemas import DS, MODEL, UNIQUE_ID


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
