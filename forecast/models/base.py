"""The common forecaster interface, frame checks, frequencies and interval column names.

Every revenue forecaster takes a long series frame ``unique_id, ds, y`` (plus exogenous and
key columns) in ``fit`` and returns ``unique_id, ds, yhat, yhat_lo_<level>, yhat_hi_<level>``
from ``predict(h, future_exog, levels)``. Series are put on a regular grid of their frequency
before fitting: a missing period becomes a row with ``y`` missing, so lags count periods, not rows.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from statistics import NormalDist

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator

from forecast.errors import ValidationError
from forecast.schemas import DEFAULT_LEVELS, DS, UNIQUE_ID, YHAT, Y, interval_columns

_WEEKDAYS = ("MON", "TUE", "WED", "THU", "FRI", "SAT", "SUN")


def output_columns(levels: Sequence[int | float]) -> list[str]:
    """Columns of a forecast frame for the given interval levels, in order."""
    columns = [UNIQUE_ID, DS, YHAT]
    for level in levels:
        columns.extend(interval_columns(level))
    return columns


def forecast_schema(levels: Sequence[int | float]):
    """The Arrow schema of forecast rows as an engine's workers return them (``unique_id`` as
    text): the columns of :func:`output_columns`."""
    import pyarrow as pa

    fields = [(UNIQUE_ID, pa.string()), (DS, pa.timestamp("us")), (YHAT, pa.float64())]
    fields += [(c, pa.float64()) for level in levels for c in interval_columns(level)]
    return pa.schema(fields)


def check_levels(levels: Sequence[int | float] | None) -> tuple[float, ...]:
    """Validate interval levels (percent, strictly between 0 and 100)."""
    levels = tuple(levels or ())
    bad = [lv for lv in levels if not 0 < float(lv) < 100]
    if bad:
        raise ValidationError(f"interval levels must lie strictly between 0 and 100, got {bad}")
    return levels


def check_series_frame(frame: pd.DataFrame, name: str = "series frame") -> pd.DataFrame:
    """Check a long series frame and return a sorted copy with ``ds`` as datetimes.

    Args:
        frame: columns ``unique_id, ds, y`` and any exogenous or key columns.
        name: what the frame is called in error messages.

    Raises:
        ValidationError: a column is missing, ``ds`` does not parse, ``y`` is not numeric, or a
            ``(unique_id, ds)`` pair appears twice.
    """
    missing = [c for c in (UNIQUE_ID, DS, Y) if c not in frame.columns]
    if missing:
        raise ValidationError(f"{name}: missing column(s) {missing}; expected unique_id, ds, y")
    if frame.empty:
        raise ValidationError(f"{name}: no rows")
    out = frame.copy()
    try:
        out[DS] = pd.to_datetime(out[DS])
    except (ValueError, TypeError) as exc:
        raise ValidationError(f"{name}: column ds does not parse as dates ({exc})") from None
    if not pd.api.types.is_numeric_dtype(out[Y]):
        raise ValidationError(f"{name}: column y must be numeric, got {out[Y].dtype}")
    dupes = out.duplicated([UNIQUE_ID, DS])
    if dupes.any():
        rows = out.loc[dupes, [UNIQUE_ID, DS]].head(5).to_dict("records")
        raise ValidationError(
            f"{name}: {int(dupes.sum())} duplicate (unique_id, ds) rows, e.g. {rows}")
    return out.sort_values([UNIQUE_ID, DS], kind="stable").reset_index(drop=True)


def check_known_series(ids: pd.Series, known: pd.Series, name: str) -> None:
    """Refuse series ids a fitted model does not know, naming them and those it knows.

    Raises:
        ValidationError: ``name``: the unknown ids and the known ones (five of each at most).
    """
    known_ids = sorted(set(known.astype(str)))
    unknown = sorted(set(ids.astype(str)) - set(known_ids))
    if unknown:
        raise ValidationError(
            f"{name}: {len(unknown)} series id(s) the model does not know: {_listed(unknown)}; "
            f"it forecasts {len(known_ids)} series: {_listed(known_ids)}")


def _listed(ids: list[str], shown: int = 5) -> str:
    more = f" and {len(ids) - shown} more" if len(ids) > shown else ""
    return ", ".join(repr(i) for i in ids[:shown]) + more


def infer_freq(ds: pd.Series) -> str:
    """Infer a pandas frequency alias from the dates of a frame.

    Weekly data are anchored on their weekday ("W-FRI" for weeks ending on Friday); daily data
    give "D"; month starts and ends give "MS" and "ME".

    Raises:
        ValidationError: the dates are too few or too irregular to tell.
    """
    dates = pd.DatetimeIndex(pd.to_datetime(ds).unique()).sort_values()
    if len(dates) < 2:
        raise ValidationError("cannot infer the frequency from fewer than 2 dates; pass freq")
    step = int(pd.Series(np.diff(dates.to_numpy()) // np.timedelta64(1, "D")).mode().iloc[0])
    if step == 1:
        return "D"
    if step == 7:
        weekdays = pd.Series(dates.day_of_week).mode()
        return f"W-{_WEEKDAYS[int(weekdays.iloc[0])]}"
    if 28 <= step <= 31:
        if dates.is_month_start.all():
            return "MS"
        if dates.is_month_end.all():
            return "ME"
    guess = pd.tseries.frequencies.to_offset(pd.infer_freq(dates[:50])) if len(dates) > 2 else None
    if guess is None:
        raise ValidationError(f"cannot infer the frequency of dates spaced {step} days; pass freq")
    return guess.freqstr


def regularize(frame: pd.DataFrame, freq: str) -> pd.DataFrame:
    """Put every series on the full grid of its frequency from its first to its last date.

    Args:
        frame: checked series frame (``unique_id, ds, y`` + other columns), sorted.
        freq: pandas frequency alias.

    Returns:
        The frame with a row for every period; added rows have ``y`` and the numeric columns
        missing, and the non-numeric (key) columns carried from the series' other rows.
    """
    bounds = frame.groupby(UNIQUE_ID, sort=False, observed=True)[DS].agg(["min", "max", "size"])
    grid = _date_grid(bounds["min"], bounds["max"], freq)
    if len(grid) == len(frame):
        return frame
    out = grid.merge(frame, on=[UNIQUE_ID, DS], how="left")
    static = [c for c in frame.columns if c not in (UNIQUE_ID, DS, Y)
              and not pd.api.types.is_numeric_dtype(frame[c])]
    if static:
        out[static] = out.groupby(UNIQUE_ID, sort=False, observed=True)[static].transform("first")
    return out


def _date_grid(starts: pd.Series, ends: pd.Series, freq: str) -> pd.DataFrame:
    offset = pd.tseries.frequencies.to_offset(freq)
    step = _fixed_step(offset)
    if step is None:
        pieces = [pd.DataFrame({UNIQUE_ID: uid, DS: pd.date_range(lo, hi, freq=offset)})
                  for uid, lo, hi in zip(starts.index, starts, ends)]
        return pd.concat(pieces, ignore_index=True)
    counts = ((ends - starts) // step).astype("int64").to_numpy() + 1
    ids = np.repeat(starts.index.to_numpy(), counts)
    within = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
    ds = pd.DatetimeIndex(np.repeat(starts.to_numpy(), counts)) + within * step
    return pd.DataFrame({UNIQUE_ID: ids, DS: ds})


def _fixed_step(offset) -> pd.Timedelta | None:
    if isinstance(offset, pd.offsets.Tick):
        return pd.Timedelta(offset)
    if isinstance(offset, pd.offsets.Week) and offset.weekday is not None and offset.n == 1:
        return pd.Timedelta(days=7)
    return None


def future_dates(last_ds: pd.Series, h: int, freq: str) -> pd.DataFrame:
    """The next ``h`` periods after each series' last date.

    Args:
        last_ds: last date per series, indexed by ``unique_id``.
        h: number of periods.
        freq: pandas frequency alias.

    Returns:
        Frame ``unique_id, ds`` with ``h`` rows per series.
    """
    offset = pd.tseries.frequencies.to_offset(freq)
    step = _fixed_step(offset)
    ids = np.repeat(last_ds.index.to_numpy(), h)
    if step is not None:
        steps = np.tile(np.arange(1, h + 1), len(last_ds))
        ds = pd.DatetimeIndex(np.repeat(last_ds.to_numpy(), h)) + steps * step
    else:
        ds = pd.DatetimeIndex(np.concatenate(
            [pd.date_range(d, periods=h + 1, freq=offset)[1:] for d in last_ds]))
    return pd.DataFrame({UNIQUE_ID: ids, DS: ds})


def add_normal_intervals(
    forecast: pd.DataFrame, sigma: np.ndarray, levels: Sequence[float]
) -> pd.DataFrame:
    """Add symmetric normal intervals ``yhat +- z * sigma`` for each level (in place, returned)."""
    for level in levels:
        z = NormalDist().inv_cdf(0.5 + float(level) / 200)
        lo, hi = interval_columns(level)
        forecast[lo] = forecast[YHAT] - z * sigma
        forecast[hi] = forecast[YHAT] + z * sigma
    return forecast


def never_negative(frame: pd.DataFrame, until=None) -> pd.Series:
    """unique_id -> whether the series' ``y`` never went below zero (up to ``until``, a date,
    when given): the series whose lower bounds :func:`bound_intervals` keeps at or above zero."""
    if until is not None:
        frame = frame[frame[DS] <= until]
    return frame.groupby(UNIQUE_ID)[Y].min() >= 0


def bound_intervals(forecast: pd.DataFrame, levels: Sequence[float],
                    nonnegative: pd.Series | None = None) -> pd.DataFrame:
    """Intervals a reader can take at their word (in place, returned): each holds its own point
    forecast, each level holds the narrower levels, and no bound is below zero on a series
    that never went below zero (``nonnegative``: unique_id -> bool).

    Calibrated bounds can break all three. Conformal quantiles of one-sided backtest errors (a
    model that under-forecast at every step of its one fold) put the point outside its own
    interval; with too few errors for a level, two levels share the sample's extreme; and a
    level-scaled error below -1 (a series that fell to nothing) puts a lower bound below zero.
    Widening a bound to the point or to a narrower level, or raising a lower bound to zero
    where no value ever lay below it, never uncovers an actual value the bound held.
    """
    yhat = forecast[YHAT].to_numpy(float)
    floor = (forecast[UNIQUE_ID].map(nonnegative).fillna(False).to_numpy(bool)
             if nonnegative is not None else np.zeros(len(forecast), bool))
    inner_lo = inner_hi = yhat
    for level in sorted(float(v) for v in levels):
        lo, hi = interval_columns(level)
        if lo not in forecast or hi not in forecast:
            continue
        # A missing bound (no interval there) stays missing; a missing inner one is ignored.
        low, high = forecast[lo].to_numpy(float), forecast[hi].to_numpy(float)
        low = np.where(np.isnan(low), low, np.fmin(low, inner_lo))
        high = np.where(np.isnan(high), high, np.fmax(high, inner_hi))
        forecast[lo] = np.where(floor, np.maximum(low, 0.0), low)
        forecast[hi] = np.where(floor, np.maximum(high, 0.0), high)
        inner_lo, inner_hi = low, high
    return forecast


def future_exogenous(X: pd.DataFrame | None, exog, series: pd.DataFrame) -> pd.DataFrame:
    """Regressors ``exog`` for every series of ``series`` on the dates of ``X``; a series ``X``
    leaves out takes the first value given for the same date."""
    if X is None:
        raise ValidationError("predict needs X: unique_id, ds of the future periods and the "
                              f"future values of {list(exog)}")
    exog = list(exog)
    given = X[[UNIQUE_ID, DS, *exog]].assign(**{DS: pd.to_datetime(X[DS])})
    dates = given[[DS]].drop_duplicates()
    grid = series[[UNIQUE_ID]].merge(dates, how="cross")
    out = grid.merge(given, on=[UNIQUE_ID, DS], how="left")
    if exog:
        by_date = given.groupby(DS)[exog].first()
        out[exog] = out[exog].fillna(by_date.reindex(out[DS]).set_axis(out.index))
    return out


class Forecaster(BaseEstimator):
    """Base class of revenue forecasters: ``fit(frame)`` then ``predict(h, future_exog, levels)``.

    Subclasses implement ``_fit(frame)`` on a checked, regular frame and
    ``_predict(h, future_exog, levels)``; this class checks inputs, infers the frequency and
    records ``freq_``, ``last_ds_`` (last date per series) and ``n_series_``.
    """

    freq: str | None = None
    # Whether one fit learns from all the series (a global model): its forecast of a series
    # depends on the others in the frame.
    across_series = False

    def fit(self, frame: pd.DataFrame) -> Forecaster:
        """Learn from a long frame ``unique_id, ds, y`` (+ exogenous columns); returns self."""
        self._fit(self._checked(frame))
        return self

    def _checked(self, frame: pd.DataFrame) -> pd.DataFrame:
        """The frame checked and regular; records ``freq_``, ``last_ds_`` and ``n_series_``."""
        checked = check_series_frame(frame)
        self.freq_ = self.freq or infer_freq(checked[DS])
        checked = regularize(checked, self.freq_)
        self.last_ds_ = checked.groupby(UNIQUE_ID, sort=True, observed=True)[DS].max()
        self.n_series_ = len(self.last_ds_)
        return checked

    def fit_predict(
        self,
        frame: pd.DataFrame,
        h: int,
        future_exog: pd.DataFrame | None = None,
        levels: Sequence[int | float] | None = DEFAULT_LEVELS,
    ) -> pd.DataFrame:
        """``fit(frame)`` then ``predict(h, future_exog, levels)``, as a backtest fold does; a
        model that forecasts in the same pass as it fits (Prophet: no model round trip per
        series) overrides ``_fit_predict``. Leaves the model fitted."""
        checked = self._checked(frame)
        h, future_exog, levels = self._predict_args(h, future_exog, levels)
        out = self._fit_predict(checked, h, future_exog, levels)
        return out[output_columns(levels)].reset_index(drop=True)

    def _predict_args(self, h, future_exog, levels):
        if int(h) < 1:
            raise ValidationError(f"horizon h must be at least 1, got {h}")
        if future_exog is not None:
            future_exog = future_exog.copy()
            future_exog[DS] = pd.to_datetime(future_exog[DS])
        return int(h), future_exog, check_levels(levels)

    def predict(
        self,
        h: int,
        future_exog: pd.DataFrame | None = None,
        levels: Sequence[int | float] | None = DEFAULT_LEVELS,
    ) -> pd.DataFrame:
        """Forecast the next ``h`` periods of every series.

        Args:
            h: number of periods ahead.
            future_exog: ``unique_id, ds`` + exogenous columns for the forecast periods, for
                models that use exogenous regressors.
            levels: central interval levels in percent.

        Returns:
            Frame ``unique_id, ds, yhat, yhat_lo_<level>, yhat_hi_<level>``, ``h`` rows per series.
        """
        if not hasattr(self, "freq_"):
            raise ValidationError(f"{type(self).__name__} is not fitted: call fit(frame) first")
        h, future_exog, levels = self._predict_args(h, future_exog, levels)
        out = self._predict(h, future_exog, levels)
        return out[output_columns(levels)].reset_index(drop=True)

    def regime(self, history: int, freq: str) -> Hashable:
        """The kind of forecast this model makes for a series with ``history`` periods.

        A model that forecasts differently below some history (a seasonal naive without a full
        season falls back to the last value) says so here, so that a selection weighs it for
        a series only on backtest folds whose regime is the one it will have at forecast time.
        The default: the same kind of forecast whatever the history.

        Args:
            history: periods from the series' first observation to the forecast origin.
            freq: the series' frequency.
        """
        return None

    def made_for(self) -> frozenset[str] | None:
        """The demand classes (``forecast.features.intermittency``) this model is made for.

        A model made for some classes (Croston's for erratic, intermittent and lumpy demand)
        is the kind a selection weighs for series of those classes, and only for them. The default,
        None: a model for every series.
        """
        return None

    def _fit(self, frame: pd.DataFrame) -> None:
        raise NotImplementedError

    def _predict(self, h: int, future_exog: pd.DataFrame | None, levels: tuple[float, ...]):
        raise NotImplementedError

    def _fit_predict(self, frame: pd.DataFrame, h: int, future_exog: pd.DataFrame | None,
                     levels: tuple[float, ...]) -> pd.DataFrame:
        self._fit(frame)
        return self._predict(h, future_exog, levels)
