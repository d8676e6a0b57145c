"""Forecasters made for intermittent demand: Croston SBA, TSB, ADIDA and IMAPA (statsforecast).

Series that sell in few periods (daily item sales, sparse product lines) defeat the other
candidates: a median forecaster predicts 0 everywhere, a seasonal one pastes in last year's
lone sales. These methods forecast the mean demand per period from the sizes of the demands and
how often they occur; the implementations are statsforecast's, the field's reference ones:

- ``CrostonSBAForecaster``: Croston's method with the Syntetos-Boylan bias correction (0.95).
- ``TSBForecaster``: Teunter-Syntetos-Babai, which updates the demand probability every period,
  so a product that stopped selling decays towards 0 (Croston waits for the next sale).
- ``ADIDAForecaster``: aggregates the series in blocks of its mean interval, smooths the block
  sums and spreads them back (Nikolopoulos et al.).
- ``IMAPAForecaster``: the mean of ADIDA's forecasts over every block size up to that interval.

Their forecasts are flat, the same mean demand for every future period, unless the series'
total has a season (``seasonal``, the default): then each series' history is divided by the
seasonal indices of the group (every member weighing the same) before its mean demand is
estimated, and its forecast is that mean times the index of each future period
(:mod:`forecast.models.group_season`). Missing periods are skipped, negative values
(returns) count as no demand, and a history's opening sale, there by construction, is no
evidence of how often the series sells (:func:`_after_opening`). Intervals are normal, ``yhat +- z * sigma`` with ``sigma`` the
root mean square of the history around the forecast (for demand this sporadic the period's own
variation outweighs the error of the level), times the period's index, the lower bound cut at
0; the ``RevenueForecaster`` replaces them with intervals calibrated on its backtest, as for
every candidate. The models are made for the demand classes where Syntetos, Boylan & Croston
(2005) find SBA best, every one but smooth (``classes``); a selection weighs them only for
series of those classes (``Forecaster.made_for``).

statsforecast is imported inside ``_fit``, so importing this module stays cheap.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from forecast.errors import ValidationError
from forecast.features.intermittency import ERRATIC, INTERMITTENT, LUMPY
from forecast.models.base import Forecaster, add_normal_intervals, future_dates
from forecast.models.baselines import tail_matrix
from forecast.models.group_season import GroupSeason, fit_group_season
from forecast.schemas import DS, UNIQUE_ID, YHAT, Y

# Syntetos, Boylan & Croston (2005): SBA beats the others in every class but smooth.
SPORADIC_CLASSES = (ERRATIC, INTERMITTENT, LUMPY)


class _IntermittentForecaster(Forecaster):
    """Shared fit and predict: one statsforecast model per series, mean demand forecasts.

    Args:
        classes: demand classes the model is made for; None for every series.
        seasonal: follow the seasonal indices of the series' total where they are significant;
            False: flat forecasts.
        freq: pandas frequency alias; inferred from the frame when None.
    """

    def __init__(self, classes: tuple[str, ...] | None = SPORADIC_CLASSES,
                 seasonal: bool = True, freq: str | None = None):
        self.classes = classes
        self.seasonal = seasonal
        self.freq = freq

    def made_for(self) -> frozenset[str] | None:
        """The demand classes this model is made for (``classes``); None: every series."""
        return frozenset(self.classes) if self.classes else None

    def _fit(self, frame: pd.DataFrame) -> None:
        if frame[Y].isna().all():
            raise ValidationError("series frame: every y is missing; nothing to forecast from")
        model = self._statsforecast_model()
        demand = frame[Y].clip(lower=0.0)
        self.season_ = (fit_group_season(frame[DS], demand, self.freq_, frame[UNIQUE_ID])
                        if self.seasonal else GroupSeason())
        if self.season_.kinds:
            demand = pd.Series(self.season_.deseasonalise(frame[DS], demand.to_numpy()),
                               index=frame.index)
        ids, demand = tail_matrix(frame.assign(**{Y: demand}))
        level = np.array([_mean_demand(model, _after_opening(row[~np.isnan(row)]))
                          for row in demand])
        count = np.sum(~np.isnan(demand), axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            sigma = np.sqrt(np.nansum((demand - level[:, None]) ** 2, axis=1) / count)
        self.ids_ = ids
        self.level_ = level
        self.sigma_ = np.where(count > 0, sigma, 0.0)

    def _predict(self, h: int, future_exog, levels) -> pd.DataFrame:
        out = future_dates(self.last_ds_.loc[self.ids_], h, self.freq_)
        index = getattr(self, "season_", GroupSeason()).at(out[DS])
        out[YHAT] = np.repeat(self.level_, h) * index
        out = add_normal_intervals(out, np.repeat(self.sigma_, h) * index, levels)
        bounds = [c for c in out.columns if c.startswith(f"{YHAT}_lo_")]
        out[bounds] = out[bounds].clip(lower=0.0)
        return out

    # The statsforecast model class of a subclass whose model takes no parameter.
    STATSFORECAST_MODEL: str = ""

    def _statsforecast_model(self):
        import statsforecast.models  # slow: imported when fitting

        return getattr(statsforecast.models, self.STATSFORECAST_MODEL)()


def _after_opening(y: np.ndarray) -> np.ndarray:
    """``y`` without its first period when that is a sale and more follow.

    A series starts at its first sale, so its first period is a sale by construction: the
    interval before it was never observed (Croston's methods count it as one period) and the
    occurrence is no draw of the demand rate (TSB starts its probability at 1). A product sold
    once three weeks ago then read as selling that much every week. The interval from the first
    sale to the next is measured from the periods after it. On Online Retail II's products, the
    young ones' forecasts were biased +27.5 % with the opening sale and +7.0 % without; the
    generated items, whose histories start before their first sale, hardly move."""
    return y[1:] if len(y) > 1 and y[0] > 0 else y


def _mean_demand(model, y: np.ndarray) -> float:
    """The model's one-step forecast of ``y`` (0 without any observed period)."""
    if not len(y):
        return 0.0
    return float(model.forecast(y, h=1)["mean"][0])


class CrostonSBAForecaster(_IntermittentForecaster):
    """Croston's method with the Syntetos-Boylan approximation (statsforecast's CrostonSBA).

    Args:
        classes: demand classes the model is made for; None for every series.
        seasonal: follow the seasonal indices of the series' total where they are significant.
        freq: pandas frequency alias; inferred from the frame when None.
    """

    STATSFORECAST_MODEL = "CrostonSBA"


class TSBForecaster(_IntermittentForecaster):
    """Teunter-Syntetos-Babai (statsforecast's TSB): smoothed demand probability times size.

    Args:
        alpha_d: smoothing of the demand sizes.
        alpha_p: smoothing of the demand probability (updated every period).
        classes: demand classes the model is made for; None for every series.
        seasonal: follow the seasonal indices of the series' total where they are significant.
        freq: pandas frequency alias; inferred from the frame when None.
    """

    def __init__(self, alpha_d: float = 0.1, alpha_p: float = 0.1,
                 classes: tuple[str, ...] | None = SPORADIC_CLASSES, seasonal: bool = True,
                 freq: str | None = None):
        self.alpha_d = alpha_d
        self.alpha_p = alpha_p
        self.classes = classes
        self.seasonal = seasonal
        self.freq = freq

    def _statsforecast_model(self):
        from statsforecast.models import TSB  # slow: imported when fitting

        for name in ("alpha_d", "alpha_p"):
            if not 0 < float(getattr(self, name)) <= 1:
                raise ValidationError(f"TSB {name} must lie in (0, 1], got {getattr(self, name)}")
        return TSB(alpha_d=float(self.alpha_d), alpha_p=float(self.alpha_p))


class ADIDAForecaster(_IntermittentForecaster):
    """Aggregate-disaggregate intermittent demand approach (statsforecast's ADIDA).

    Args:
        classes: demand classes the model is made for; None for every series.
        seasonal: follow the seasonal indices of the series' total where they are significant.
        freq: pandas frequency alias; inferred from the frame when None.
    """

    STATSFORECAST_MODEL = "ADIDA"


class IMAPAForecaster(_IntermittentForecaster):
    """Intermittent multiple aggregation prediction algorithm (statsforecast's IMAPA).

    Args:
        classes: demand classes the model is made for; None for every series.
        seasonal: follow the seasonal indices of the series' total where they are significant.
        freq: pandas frequency alias; inferred from the frame when None.
    """

    STATSFORECAST_MODEL = "IMAPA"
