"""Prophet, one model per series, fitted and predicted by an engine.

The only module that imports prophet, and only inside functions, so importing forecast stays
cheap. Fitted models are kept as Prophet's own JSON (``prophet.serialize.model_to_json``): that is
what the per-series functions (:func:`fit_series`, :func:`predict_series`) send back from
wherever they run, what :meth:`ProphetForecaster.to_json` saves and what
:meth:`ProphetForecaster.from_json` loads; the Stan backend is never pickled.

The per-series loop goes through :meth:`forecast.engine.Engine.map_groups` of the engine in force
(:func:`forecast.engine.use_engine`; by default this machine, ``n_jobs`` loky processes); the
engine is never stored on the model. Prophet draws its predictive samples from numpy's global
generator; each series' draws are seeded from its id and its forecast origin
(:func:`series_seed`), so intervals are the same on every run and on every engine.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Sequence
from contextlib import contextmanager
from functools import partial

import numpy as np
import pandas as pd

from forecast.engine import Engine, LocalEngine, current_engine
from forecast.errors import ValidationError
from forecast.models.base import Forecaster, future_dates
from forecast.schemas import (
    DS,
    UNIQUE_ID,
    YHAT,
    ProphetGrowth,
    SeasonalityMode,
    Y,
    interval_columns,
)

_QUIET_LOGGERS = ("cmdstanpy", "prophet", "prophet.models")


# Prophet's own options, shared by every series: the forecaster's parameters of these names.
SETTINGS = ("growth", "seasonality_mode", "changepoint_prior_scale", "yearly_seasonality",
            "weekly_seasonality", "daily_seasonality", "uncertainty_samples", "flat_below")


@contextmanager
def quiet_stan():
    """Silence cmdstanpy's and prophet's INFO lines for the duration of a block, then restore."""
    from cmdstanpy.utils import get_logger

    get_logger()  # cmdstanpy sets its level lazily on first use; do it before overriding.
    loggers = [logging.getLogger(name) for name in _QUIET_LOGGERS]
    previous = [lg.level for lg in loggers]
    for lg in loggers:
        lg.setLevel(logging.WARNING)
    try:
        yield
    finally:
        for lg, level in zip(loggers, previous):
            lg.setLevel(level)


def _new_prophet(options: dict, observed: int | None = None):
    """A Prophet with the options; a short linear-trend series (``observed`` periods) is flat."""
    from prophet import Prophet

    settings = options["settings"]
    growth = settings["growth"]
    if growth == "linear" and observed is not None and observed < settings["flat_below"]:
        growth = "flat"
    holidays = pd.DataFrame(options["holidays"]) if options["holidays"] else None
    if holidays is not None:
        holidays[DS] = pd.to_datetime(holidays[DS])
    model = Prophet(
        growth=growth, seasonality_mode=settings["seasonality_mode"],
        changepoint_prior_scale=settings["changepoint_prior_scale"],
        yearly_seasonality=settings["yearly_seasonality"],
        weekly_seasonality=settings["weekly_seasonality"],
        daily_seasonality=settings["daily_seasonality"], holidays=holidays,
        uncertainty_samples=0,
    )
    if options["country"]:
        model.add_country_holidays(country_name=options["country"])
    for regressor in options["regressors"]:
        model.add_regressor(regressor)
    return model


MODEL_JSON, SEED = "_model", "_seed"


def series_seed(uid: str, origin: pd.Timestamp) -> int:
    """The seed of a series' predictive sampling: a stable hash of its id and its forecast
    origin (its last date; in a backtest, the fold's), the same in every process and run."""
    text = f"{uid}\x1f{pd.Timestamp(origin).isoformat()}"
    return int.from_bytes(hashlib.sha256(text.encode("utf-8")).digest()[:4], "little")


def fit_series(group: pd.DataFrame, options: dict) -> pd.DataFrame:
    """Fit one series' Prophet (runs wherever the engine runs it).

    Args:
        group: ``unique_id, ds, y`` (+ regressors, ``cap``, ``floor``) of one series.

    Returns:
        One row: ``unique_id, model`` (Prophet's JSON).
    """
    from prophet.serialize import model_to_json

    uid = str(group[UNIQUE_ID].iloc[0])
    frame = group.drop(columns=UNIQUE_ID)
    with quiet_stan():
        model = _new_prophet(options, len(frame)).fit(frame)
    return pd.DataFrame({UNIQUE_ID: [uid], "model": [model_to_json(model)]})


def predict_series(group: pd.DataFrame, levels: Sequence[float], samples: int) -> pd.DataFrame:
    """Forecast one series' future rows with its Prophet JSON (runs wherever the engine runs
    it); the intervals' sampling is seeded with the group's seed, so it is the same anywhere.

    Args:
        group: the series' future rows ``unique_id, ds`` (+ regressors, ``cap``, ``floor``),
            its model JSON in ``_model`` (on one row at least) and its seed in ``_seed``.

    Returns:
        Frame ``unique_id, ds, yhat`` + interval columns for ``levels``.
    """
    from prophet.serialize import model_from_json

    uid = str(group[UNIQUE_ID].iloc[0])
    model_json = group[MODEL_JSON].dropna().iloc[0]
    seed = int(group[SEED].iloc[0])
    future = group.drop(columns=[UNIQUE_ID, MODEL_JSON, SEED])
    with quiet_stan():
        model = model_from_json(model_json)
        piece = pd.DataFrame({UNIQUE_ID: uid, DS: future[DS].to_numpy()})
        piece[YHAT] = model.predict(future)[YHAT].to_numpy()
        if levels:
            model.uncertainty_samples = samples
            paths = _seeded_samples(model, future, seed)
            for level in levels:
                lo, hi = interval_columns(level)
                piece[lo] = np.quantile(paths, 0.5 - level / 200, axis=1)
                piece[hi] = np.quantile(paths, 0.5 + level / 200, axis=1)
    return piece


def _seeded_samples(model, future: pd.DataFrame, seed: int) -> np.ndarray:
    """Prophet's predictive sample paths of ``yhat``, drawn from numpy's global generator (as
    Prophet does) seeded with ``seed``; the generator's state is restored afterwards."""
    state = np.random.get_state()
    np.random.seed(seed)
    try:
        return model.predictive_samples(future)[YHAT]
    finally:
        np.random.set_state(state)


def _output_schema(levels: Sequence[float]):
    import pyarrow as pa

    fields = [(UNIQUE_ID, pa.string()), (DS, pa.timestamp("us")), (YHAT, pa.float64())]
    fields += [(c, pa.float64()) for level in levels for c in interval_columns(level)]
    return pa.schema(fields)


def _fit_schema():
    import pyarrow as pa

    return pa.schema([(UNIQUE_ID, pa.string()), ("model", pa.string())])


class ProphetForecaster(Forecaster):
    """One Prophet model per series, fitted and predicted by the engine in force.

    Args:
        growth: "linear", "logistic" (needs a ``cap`` column, optional ``floor``) or "flat".
        seasonality_mode: "additive" or "multiplicative".
        changepoint_prior_scale: flexibility of the trend.
        yearly_seasonality, weekly_seasonality, daily_seasonality: "auto", True, False or a
            Fourier order.
        uncertainty_samples: simulated paths the intervals are read from.
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
        uncertainty_samples: int = 200,
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
        extra = self._extra_columns()
        missing = [c for c in extra if c not in frame.columns]
        if missing:
            raise ValidationError(f"series frame: missing regressor or cap column(s) {missing}")
        floor = ["floor"] if "floor" in frame.columns and "cap" in extra else []
        observed = frame.dropna(subset=[Y])
        counts = observed.groupby(UNIQUE_ID, observed=True).size()
        short = sorted(set(self.last_ds_.index) - set(counts[counts >= 2].index))
        if short:
            raise ValidationError(f"series frame: series {short[:5]} have fewer than 2 observed "
                                  "values; Prophet needs at least 2")
        data = observed[[UNIQUE_ID, DS, Y, *extra, *floor]].astype({UNIQUE_ID: str})
        fitted = self._engine().map_groups(data, [UNIQUE_ID], partial(
            fit_series, options=self._options()), _fit_schema())
        self.models_ = dict(zip(fitted[UNIQUE_ID], fitted["model"], strict=True))

    def _engine(self) -> Engine:
        """The engine of the block this runs in (:func:`forecast.engine.use_engine`), else this
        machine with ``n_jobs`` processes; never stored on the model."""
        return current_engine() or LocalEngine(n_jobs=self.n_jobs)

    def _predict(self, h: int, future_exog, levels) -> pd.DataFrame:
        future = future_dates(self.last_ds_, h, self.freq_)
        extra = self._extra_columns()
        if extra:
            future = self._attach(future, future_exog, extra)
        out = self._engine().map_groups(self._with_models(future), [UNIQUE_ID], partial(
            predict_series, levels=levels, samples=self.uncertainty_samples),
            _output_schema(levels))
        id_map = {str(uid): uid for uid in self.last_ds_.index}
        out[UNIQUE_ID] = out[UNIQUE_ID].map(id_map)
        return out.sort_values([UNIQUE_ID, DS], kind="stable")

    def _with_models(self, future: pd.DataFrame) -> pd.DataFrame:
        """The future rows with each series' model JSON (on its first row only, so the JSON
        travels once) and the seed of its sampling (:func:`series_seed`)."""
        future = future.astype({UNIQUE_ID: str}).reset_index(drop=True)
        ids = future[UNIQUE_ID]
        first = ~ids.duplicated()
        future[MODEL_JSON] = None
        future.loc[first, MODEL_JSON] = ids[first].map(self.models_)
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
