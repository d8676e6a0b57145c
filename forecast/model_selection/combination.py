"""A fixed-weight average of forecasters: the ensemble without a backtest."""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd
from sklearn.base import clone

from forecast.errors import ValidationError
from forecast.features.intermittency import stopped_series
from forecast.model_selection.weights import WEIGHT, combine_forecasts, member_forecasts
from forecast.models.base import Forecaster
from forecast.schemas import DS, FOLD, MODEL, UNIQUE_ID, YHAT, H, Y


class CombinationForecaster(Forecaster):
    """A fixed-weight average of forecasters fitted on the same frame: no backtest, no choice.

    The fast path for very many series, where a backtest per candidate would cost more than the
    forecast: averaging a learned model with a simple seasonal one cuts the errors of both.

    Intervals. Without ``holdout`` they are the weighted averages of the members' quantiles,
    which are not the average's: its errors are smaller than its members' (they partly cancel),
    so the averaged intervals over-cover. With ``holdout`` the members are first fitted without
    the last ``holdout`` periods, the average's own errors on those periods calibrate its
    intervals (split-conformal, :class:`~forecast.models.conformal.ConformalCalibrator`; one
    origin, so its steps are pooled), and the members are refitted on all the history with their
    own holdout calibration switched off (``holdout_intervals``): the cost of the one refit the
    global model made for its own intervals, for the combination's instead.

    Series that stopped selling (:func:`~forecast.features.intermittency.stopped_series`, the
    rule of the backtested selection) are forecast as zero, intervals too, and named in
    ``stopped_``; their holdout errors take no part in the calibration.

    Args:
        members: name -> forecaster.
        weights: name -> positive weight; equal weights when None.
        freq: pandas frequency alias; inferred from the frame when None.
        holdout: periods held out to calibrate the intervals (the horizon); None averages the
            members' own.
    """

    def __init__(self, members: Mapping[str, Forecaster],
                 weights: Mapping[str, float] | None = None, freq: str | None = None,
                 holdout: int | None = None):
        self.members = members
        self.weights = weights
        self.freq = freq
        self.holdout = holdout

    def _fit(self, frame: pd.DataFrame) -> None:
        if not self.members:
            raise ValidationError("CombinationForecaster needs at least one member")
        weights = dict(self.weights) if self.weights is not None else dict.fromkeys(self.members,
                                                                                     1.0)
        if set(weights) != set(self.members) or min(weights.values()) <= 0:
            raise ValidationError(f"weights {weights} must be positive and name exactly the "
                                  f"members {sorted(self.members)}")
        if self.holdout is not None and int(self.holdout) < 1:
            raise ValidationError(f"holdout must be at least 1 period, not {self.holdout}")
        self.weights_ = weights
        self.stopped_ = stopped_series(frame, self.freq_)
        self.calibrator_ = self._calibrate(frame) if self.holdout is not None else None
        self.models_ = self._fitted(frame)

    def _fitted(self, frame: pd.DataFrame) -> dict[str, Forecaster]:
        return {name: self._member(model).fit(frame) for name, model in self.members.items()}

    def _member(self, model: Forecaster) -> Forecaster:
        """An unfitted copy; without its own holdout calibration when the combination has one."""
        model = clone(model)
        if self.holdout is not None and "holdout_intervals" in model.get_params(deep=False):
            model.set_params(holdout_intervals=False)
        return model

    def _calibrate(self, frame: pd.DataFrame):
        """The calibrator of the average's errors on the last ``holdout`` periods, forecast by
        members fitted on the periods before them."""
        from forecast.models.conformal import CALIBRATED_LEVELS, ConformalCalibrator

        offset = pd.tseries.frequencies.to_offset(self.freq_)
        h = int(self.holdout)
        cutoff = pd.Timestamp(frame[DS].max()) - h * offset
        early, late = frame[frame[DS] <= cutoff], frame[frame[DS] > cutoff]
        if early.empty:
            raise ValidationError(f"holdout of {h} periods leaves no history before "
                                  f"{cutoff.date()} to calibrate the intervals on")
        forecast = self._combined(self._fitted(early), h, None, ())
        forecast[H] = forecast.groupby(UNIQUE_ID, sort=False).cumcount() + 1
        forecast = forecast[~forecast[UNIQUE_ID].isin(stopped_series(early, self.freq_))]
        rows = forecast.merge(late[[UNIQUE_ID, DS, Y]], on=[UNIQUE_ID, DS]).dropna(subset=[Y])
        if rows.empty:
            raise ValidationError(f"holdout of {h} periods: no series has both history before "
                                  f"{cutoff.date()} and actuals after it to calibrate on")
        return ConformalCalibrator(levels=CALIBRATED_LEVELS).fit(rows.assign(**{FOLD: 0}))

    def _combined(self, models: Mapping[str, Forecaster], h: int, future_exog,
                  levels) -> pd.DataFrame:
        forecasts = member_forecasts(models, h, future_exog, levels)
        ids = pd.Index(forecasts[UNIQUE_ID].unique())
        choice = pd.DataFrame({UNIQUE_ID: ids.repeat(len(self.weights_)),
                               MODEL: list(self.weights_) * len(ids),
                               WEIGHT: list(self.weights_.values()) * len(ids)})
        return combine_forecasts(forecasts, choice).sort_values([UNIQUE_ID, DS], kind="stable")

    def _predict(self, h: int, future_exog, levels) -> pd.DataFrame:
        if self.calibrator_ is None:
            return self._zero_stopped(self._combined(self.models_, h, future_exog, levels))
        missing = sorted(set(levels) - set(self.calibrator_.levels))
        if missing:
            raise ValidationError(f"levels {missing} were not calibrated; calibrated: "
                                  f"{list(self.calibrator_.levels)}")
        out = self._combined(self.models_, h, future_exog, ())
        out[H] = out.groupby(UNIQUE_ID, sort=False).cumcount() + 1
        # predict keeps the levels asked for
        return self._zero_stopped(self.calibrator_.transform(out))

    def _zero_stopped(self, out: pd.DataFrame) -> pd.DataFrame:
        """``out`` with the stopped series' forecasts and bounds at zero."""
        stopped = out[UNIQUE_ID].isin(getattr(self, "stopped_", frozenset())).to_numpy()
        if stopped.any():
            values = [c for c in out.columns if c == YHAT or c.startswith(f"{YHAT}_")]
            out.loc[stopped, values] = 0.0
        return out
