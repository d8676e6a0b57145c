"""Prophet, one model per series, fitted and predicted by an engine.

:class:`ProphetForecaster` keeps the fitted models as Prophet's own JSON
(``prophet.serialize.model_to_json``): that is what the per-series functions of
:mod:`forecast.models.prophet_series` (the only module that imports prophet) send back from
wherever they run, what :meth:`ProphetForecaster.to_json` saves and what
:meth:`ProphetForecaster.from_json` loads; the Stan backend is never pickled.

The per-series loop goes through :meth:`forecast.engine.Engine.map_groups` of the engine in force
(:func:`forecast.engine.use_engine`; by default this machine, ``n_jobs`` loky processes); the
engine is never stored on the model. A backtest fold fits and forecasts each series in one task
(:meth:`ProphetForecaster.fit_predict`).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from functools import partial

import pandas as pd

from forecast.engine import Engine, LocalEngine, current_engine
from forecast.errors import ValidationError
from forecast.models.base import Forecaster, future_dates
from forecast.models.prophet_series import (
    FUTURE,
    MODEL_JSON,
    SEED,
    fit_predict_series,
    fit_schema,
    fit_series,
    output_schema,
    predict_series,
    series_seed,
)
from forecast.schemas import DS, UNIQUE_ID, ProphetGrowth, SeasonalityMode, Y

# Prophet's own options, shared by every series: the forecaster's parameters of these names.
SETTINGS = ("growth", "seasonality_mode", "changepoint_prior_scale", "yearly_seasonality",
            "weekly_seasonality", "daily_seasonality", "uncertainty_samples", "flat_below")


class ProphetForecaster(Forecaster):
    """One Prophet model per series, fitted and predicted by the engine in force.

    A series with fewer than 2 observed values (a product first sold in the last period)
    cannot be fitted: it is left out, named in ``short_series_``, and not forecast, so a
    combination weighs the other candidates for it. A frame of only such series is refused.

    Args:
        growth: "linear", "logistic" (needs a ``cap`` column, optional ``floor``) or "flat".
        seasonality_mode: "additive" or "multiplicative".
        changepoint_prior_scale: flexibility of the trend.
        yearly_seasonality, weekly_seasonality, daily_seasonality: "auto", True, False or a
            Fourier order.
        uncertainty_samples: simulated paths the intervals are read from; 0 (the default):
            Normal intervals with the noise Prophet fitted, without simulation (in a
            ``RevenueForecaster`` conformal intervals from the backtest replace them anyway).
        flat_below: a series with fewer observed periods than this gets a flat trend instead of
            a linear one (a new store's first weeks extrapolated over a quarter can go far
            below zero); 0 keeps every trend linear.
        holidays: frame ``holiday, ds`` (+ ``lower_window, upper_window``) of special days.
        country: ISO country code whose public holidays Prophet adds.
        regressors: exogenous columns of the frame; ``predict`` needs their future values.
        n_jobs: worker processes (-1: all cores; 1: in this process) when no engine is set
            around ``fit``/``predict`` (:func:`forecast.engine.use_engine`).
        freq: pandas frequency alias; inferred from the frame when None.
    """

    def __init__(
        self,
        growth: ProphetGrowth = "linear",
        seasonality_mode: SeasonalityMode = "multiplicative",
        changepoint_prior_scale: float = 0.05,
        yearly_seasonality: bool | int | str = "auto",
        weekly_seasonality: bool | int | str = "auto",
        daily_seasonality: bool | int | str = False,
        uncertainty_samples: int = 0,
        flat_below: int = 0,
        holidays: pd.DataFrame | None = None,
        country: str | None = None,
        regressors: Sequence[str] = (),
        n_jobs: int = -1,
        freq: str | None = None,
    ):
        self.growth = growth
        self.seasonality_mode = seasonality_mode
        self.changepoint_prior_scale = changepoint_prior_scale
        self.yearly_seasonality = yearly_seasonality
        self.weekly_seasonality = weekly_seasonality
        self.daily_seasonality = daily_seasonality
        self.uncertainty_samples = uncertainty_samples
        self.flat_below = flat_below
        self.holidays = holidays
        self.country = country
        self.regressors = regressors
        self.n_jobs = n_jobs
        self.freq = freq

    def _options(self) -> dict:
        holidays = None
        if self.holidays is not None:
            missing = [c for c in ("holiday", DS) if c not in self.holidays.columns]
            if missing:
                raise ValidationError(f"holidays frame: missing column(s) {missing}")
            holidays = self.holidays.assign(**{DS: self.holidays[DS].astype(str)})
            holidays = holidays.to_dict("list")
        return {"settings": {name: getattr(self, name) for name in SETTINGS},
                "holidays": holidays, "country": self.country,
                "regressors": list(self.regressors)}

    def _with_country_days(self, years: range) -> dict:
        """The options with the country's public holidays of ``years`` made once, as special
        days, instead of by every series' Prophet (``add_country_holidays``, about a tenth of
        its time); Prophet builds the same frame, so the forecasts are the same."""
        options = self._options()
        if not options["country"]:
            return options
        from prophet.make_holidays import make_holidays_df

        days = make_holidays_df(year_list=list(years), country=options["country"])
        days = days.assign(**{DS: pd.to_datetime(days[DS]).dt.strftime("%Y-%m-%d")})
        own = pd.DataFrame(options["holidays"]) if options["holidays"] else None
        both = days if own is None else pd.concat([own, days], ignore_index=True)
        return {**options, "holidays": both.to_dict("list"), "country": None}

    def _extra_columns(self) -> list[str]:
        return list(self.regressors) + (["cap"] if self.growth == "logistic" else [])

    def regime(self, history: int, freq: str) -> str:
        """"flat trend" below ``flat_below`` periods of a linear trend (a fallback: the forecast
        is then a level, not Prophet's trend), else "trend".

        Prophet's "auto" yearly seasonality switching on at two years of history is not a
        regime change here: it adds a component to the same trend model, whose backtest scores
        still say how that model forecasts, whereas a fallback forecasts like another model.
        """
        flat = self.growth == "linear" and history < self.flat_below
        return "flat trend" if flat else "trend"

    def _fit(self, frame: pd.DataFrame) -> None:
        data = self._history(frame)
        fitted = self._engine().map_groups(data, [UNIQUE_ID], partial(
            fit_series, options=self._options()), fit_schema())
        self.models_ = dict(zip(fitted[UNIQUE_ID], fitted["model"], strict=True))

    def _history(self, frame: pd.DataFrame) -> pd.DataFrame:
        """The observed rows each series' Prophet is fitted on, checked; records the series
        left out for too few values (``short_series_``) and narrows ``last_ds_`` to the
        others, the series this model forecasts."""
        extra = self._extra_columns()
        missing = [c for c in extra if c not in frame.columns]
        if missing:
            raise ValidationError(f"series frame: missing regressor or cap column(s) {missing}")
        floor = ["floor"] if "floor" in frame.columns and "cap" in extra else []
        observed = frame.dropna(subset=[Y])
        counts = observed.groupby(UNIQUE_ID, observed=True).size()
        short = sorted(set(self.last_ds_.index) - set(counts[counts >= 2].index))
        if len(short) == len(self.last_ds_):
            raise ValidationError(f"series frame: every series ({short[:5]}) has fewer than 2 "
                                  "observed values; Prophet needs at least 2")
        # A product first sold last week cannot take every other series' Prophet with it.
        self.short_series_ = tuple(short)
        self.last_ds_ = self.last_ds_.drop(short)
        self.n_series_ = len(self.last_ds_)
        observed = observed[~observed[UNIQUE_ID].isin(short)]
        return observed[[UNIQUE_ID, DS, Y, *extra, *floor]].astype({UNIQUE_ID: str})

    def _fit_predict(self, frame: pd.DataFrame, h: int, future_exog, levels) -> pd.DataFrame:
        """Fit and forecast each series in one task of the engine (see
        :func:`fit_predict_series`); the models are kept as :meth:`fit` keeps them."""
        history = self._history(frame)
        future = self._future(h, future_exog)
        seeds = future.drop_duplicates(UNIQUE_ID).set_index(UNIQUE_ID)[SEED]
        data = pd.concat([history.assign(**{FUTURE: False}),
                          future.drop(columns=MODEL_JSON).assign(**{FUTURE: True})],
                         ignore_index=True)
        data[SEED] = data[UNIQUE_ID].map(seeds).astype("int64")
        years = range(history[DS].min().year, future[DS].max().year + 1)
        out = self._engine().map_groups(data, [UNIQUE_ID], partial(
            fit_predict_series, options=self._with_country_days(years), levels=levels,
            samples=self.uncertainty_samples), output_schema(levels, with_model=True))
        firsts = out[out[MODEL_JSON].notna()]
        self.models_ = dict(zip(firsts[UNIQUE_ID], firsts[MODEL_JSON], strict=True))
        return self._in_order(out.drop(columns=MODEL_JSON))

    def _engine(self) -> Engine:
        """The engine of the block this runs in (:func:`forecast.engine.use_engine`), else this
        machine with ``n_jobs`` processes; never stored on the model."""
        return current_engine() or LocalEngine(n_jobs=self.n_jobs)

    def _predict(self, h: int, future_exog, levels) -> pd.DataFrame:
        out = self._engine().map_groups(self._future(h, future_exog, self.models_), [UNIQUE_ID],
                                        partial(predict_series, levels=levels,
                                                samples=self.uncertainty_samples),
                                        output_schema(levels))
        return self._in_order(out)

    def _in_order(self, out: pd.DataFrame) -> pd.DataFrame:
        id_map = {str(uid): uid for uid in self.last_ds_.index}
        out[UNIQUE_ID] = out[UNIQUE_ID].map(id_map)
        return out.sort_values([UNIQUE_ID, DS], kind="stable")

    def _future(self, h: int, future_exog, models: dict | None = None) -> pd.DataFrame:
        """The future rows (with their regressors) and each series' seed of its sampling
        (:func:`series_seed`) and model JSON (on its first row only, so the JSON travels once;
        None without ``models``)."""
        future = future_dates(self.last_ds_, h, self.freq_)
        extra = self._extra_columns()
        if extra:
            future = self._attach(future, future_exog, extra)
        future = future.astype({UNIQUE_ID: str}).reset_index(drop=True)
        ids = future[UNIQUE_ID]
        first = ~ids.duplicated()
        future[MODEL_JSON] = None
        if models is not None:
            future.loc[first, MODEL_JSON] = ids[first].map(models)
        origins = {str(uid): last for uid, last in self.last_ds_.items()}
        seeds = {uid: series_seed(uid, origins[uid]) for uid in ids[first]}
        future[SEED] = ids.map(seeds).astype("int64")
        return future

    @staticmethod
    def _attach(future: pd.DataFrame, future_exog, columns: list[str]) -> pd.DataFrame:
        if future_exog is None:
            raise ValidationError(f"future_exog is needed with the future values of {columns}")
        missing = [c for c in columns if c not in future_exog.columns]
        if missing:
            raise ValidationError(f"future_exog: missing column(s) {missing}")
        keep = [c for c in [*columns, "floor"] if c in future_exog.columns]
        out = future.merge(future_exog[[UNIQUE_ID, DS, *keep]], on=[UNIQUE_ID, DS], how="left")
        if out[columns].isna().any().any():
            rows = out.loc[out[columns].isna().any(axis=1), [UNIQUE_ID, DS]].head(3)
            raise ValidationError(f"future_exog: values missing for forecast rows such as "
                                  f"{rows.to_dict('records')}")
        return out

    def to_json(self) -> str:
        """The fitted forecaster as JSON text: settings, dates and each series' Prophet JSON."""
        if not hasattr(self, "models_"):
            raise ValidationError("ProphetForecaster is not fitted: nothing to save")
        return json.dumps({
            "options": self._options(), "n_jobs": self.n_jobs, "freq": self.freq_,
            "last_ds": {str(k): str(v) for k, v in self.last_ds_.items()},
            "models": self.models_,
        })

    @classmethod
    def from_json(cls, text: str) -> ProphetForecaster:
        """Load a forecaster saved by :meth:`to_json`; it predicts without refitting."""
        data = json.loads(text)
        options = data["options"]
        holidays = pd.DataFrame(options["holidays"]) if options["holidays"] else None
        model = cls(**options["settings"], holidays=holidays, country=options["country"],
                    regressors=tuple(options["regressors"]), n_jobs=data["n_jobs"],
                    freq=data["freq"])
        model.freq_ = data["freq"]
        last = pd.Series(pd.to_datetime(list(data["last_ds"].values())),
                         index=pd.Index(list(data["last_ds"]), name=UNIQUE_ID))
        model.last_ds_, model.n_series_ = last.sort_index(), len(last)
        model.models_ = data["models"]
        return model
