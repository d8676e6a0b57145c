"""What runs for one series wherever the engine runs it: Prophet's fit, forecast and intervals.

The only module that imports prophet (and cmdstanpy), and only inside functions. Each function
takes one series' rows and plain options and returns rows, so an engine can ship it to another
process or a Spark executor (:meth:`forecast.engine.Engine.map_groups`); fitted models travel
as Prophet's own JSON (``prophet.serialize``), never as pickled Stan objects. Prophet draws its
predictive samples from numpy's global generator; each series' draws are seeded from its id and
its forecast origin (:func:`series_seed`), so intervals are the same on every run and engine.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Sequence
from contextlib import contextmanager
from statistics import NormalDist

import numpy as np
import pandas as pd

from forecast.models.base import forecast_schema
from forecast.schemas import DS, UNIQUE_ID, YHAT, Y, interval_columns

_QUIET_LOGGERS = ("cmdstanpy", "prophet", "prophet.models")
# Prophet's yearly seasonality: its Fourier order, the history it needs under "auto" (days).
YEARLY_ORDER, YEARLY_AFTER_DAYS, YEAR_DAYS = 10, 730, 365.25




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


def yearly_order(setting, dates: pd.Series):
    """The yearly seasonality Prophet is given for a history dated ``dates``: an explicit
    Fourier order (or False) as set; "auto" and True at most as many harmonics as the dates'
    spacing can tell apart.

    Prophet's default of 10 harmonics assumes dates finer than a month. Monthly data hold 12
    points a year, so harmonics above the sixth alias onto lower ones (quarterly: above the
    second), and only the priors keep the fit from diverging: on Superstore's sales by region
    and category a plain Prophet loop took 13 times as long by quarter and erred half as much
    again (WAPE 0.567 against 0.383 with two harmonics; by month 0.586 against 0.558 with six,
    ``experiments/benchmarks/results/prophet_yearly.json``). "auto" keeps Prophet's rule: on
    with two years of history, else off.
    """
    if setting not in ("auto", True):
        return setting
    dates = pd.to_datetime(pd.Series(dates)).sort_values()
    span = dates.iloc[-1] - dates.iloc[0] if len(dates) else pd.Timedelta(0)
    if setting == "auto" and span < pd.Timedelta(days=YEARLY_AFTER_DAYS):
        return False
    spacing = dates.diff().dt.days.median() if len(dates) > 1 else np.nan
    if not spacing or not np.isfinite(spacing):
        return setting
    return int(max(1, min(YEARLY_ORDER, round(YEAR_DAYS / spacing) // 2)))


def _new_prophet(options: dict, dates: pd.Series | None = None):
    """A Prophet with the options for a history dated ``dates``: a short linear-trend series is
    flat, the yearly seasonality is no finer than the dates (:func:`yearly_order`)."""
    from prophet import Prophet

    settings = options["settings"]
    growth = settings["growth"]
    observed = None if dates is None else len(dates)
    if growth == "linear" and observed is not None and observed < settings["flat_below"]:
        growth = "flat"
    yearly = settings["yearly_seasonality"]
    if dates is not None:
        yearly = yearly_order(yearly, dates)
    holidays = pd.DataFrame(options["holidays"]) if options["holidays"] else None
    if holidays is not None:
        holidays[DS] = pd.to_datetime(holidays[DS])
    model = Prophet(
        growth=growth, seasonality_mode=settings["seasonality_mode"],
        changepoint_prior_scale=settings["changepoint_prior_scale"],
        yearly_seasonality=yearly,
        weekly_seasonality=settings["weekly_seasonality"],
        daily_seasonality=settings["daily_seasonality"], holidays=holidays,
        uncertainty_samples=0,
    )
    if options["country"]:
        model.add_country_holidays(country_name=options["country"])
    for regressor in options["regressors"]:
        model.add_regressor(regressor)
    return model


MODEL_JSON, SEED, FUTURE = "_model", "_seed", "_future"


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
        model = _new_prophet(options, frame[DS]).fit(frame)
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
        return _forecast(model_from_json(model_json), uid, future, levels, samples, seed)


def fit_predict_series(group: pd.DataFrame, options: dict, levels: Sequence[float],
                       samples: int) -> pd.DataFrame:
    """Fit one series' Prophet on its history and forecast its future rows in one pass (a
    backtest fold): no model JSON travels back and forth.

    Args:
        group: the series' history (``_future`` false: ``ds, y`` + regressors, ``cap``,
            ``floor``) and future rows (``_future`` true), its seed in ``_seed``.

    Returns:
        The forecast rows as :func:`predict_series` gives them, the model's JSON in ``_model``
        on the first row (None on the others).
    """
    from prophet.serialize import model_to_json

    uid = str(group[UNIQUE_ID].iloc[0])
    seed = int(group[SEED].iloc[0])
    ahead = group[FUTURE].to_numpy(bool)
    frame = group.drop(columns=[UNIQUE_ID, SEED, FUTURE])
    history, future = frame[~ahead], frame[ahead].drop(columns=Y)
    with quiet_stan():
        model = _new_prophet(options, history[DS]).fit(history)
        piece = _forecast(model, uid, future, levels, samples, seed)
    piece[MODEL_JSON] = [model_to_json(model)] + [None] * (len(piece) - 1)
    return piece


def _forecast(model, uid: str, future: pd.DataFrame, levels: Sequence[float], samples: int,
              seed: int) -> pd.DataFrame:
    """``unique_id, ds, yhat`` + intervals of a fitted Prophet: read from ``samples`` seeded
    simulated paths (trend changes and noise), or with 0 samples Normal about ``yhat`` with
    the noise Prophet fitted (``sigma_obs``, in the data's units): sampling is about half of
    Prophet's forecasting time, wasted where conformal intervals replace Prophet's own."""
    piece = pd.DataFrame({UNIQUE_ID: uid, DS: future[DS].to_numpy()})
    piece[YHAT] = model.predict(future)[YHAT].to_numpy()
    if not levels:
        return piece
    if samples:
        model.uncertainty_samples = samples
        paths = _seeded_samples(model, future, seed)
        for level in levels:
            lo, hi = interval_columns(level)
            piece[lo] = np.quantile(paths, 0.5 - level / 200, axis=1)
            piece[hi] = np.quantile(paths, 0.5 + level / 200, axis=1)
        return piece
    sigma = float(np.asarray(model.params["sigma_obs"]).ravel()[0]) * float(model.y_scale)
    for level in levels:
        lo, hi = interval_columns(level)
        z = NormalDist().inv_cdf(0.5 + level / 200)
        piece[lo], piece[hi] = piece[YHAT] - z * sigma, piece[YHAT] + z * sigma
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


def output_schema(levels: Sequence[float], with_model: bool = False):
    """The Arrow schema of the forecast rows (with ``with_model``: and each series' model
    JSON, as :func:`fit_predict_series` returns them)."""
    import pyarrow as pa

    schema = forecast_schema(levels)
    return schema.append(pa.field(MODEL_JSON, pa.string())) if with_model else schema


def fit_schema():
    import pyarrow as pa

    return pa.schema([(UNIQUE_ID, pa.string()), ("model", pa.string())])
