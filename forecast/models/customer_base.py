"""Revenue from the customer base: BG/NBD purchases and Gamma-Gamma spend of the known
customers, plus the customers not acquired yet.

A young customer base, or one that decays after an acquisition burst, holds what its revenue
series cannot show: how many of today's buyers are still alive and how often they will buy.
For a revenue series built from order lines (the company, a channel, a segment, a region),
:class:`CustomerBaseForecaster` forecasts each period as

* the **known customers' spend**: each customer's expected purchases in the period, the
  difference of the BG/NBD conditional expectations at the period's edges (Fader, Hardie and
  Lee 2005; :mod:`.customer_base_fit`), times their Gamma-Gamma conditional expected spend per
  purchase, both fitted on the customers' summary at the forecast origin;
* the **new customers' spend**: a level of new customers per period, each new cohort spending
  its mean first-purchase spend in the period it arrives, then the BG/NBD unconditional
  expected repeat purchases of a new customer times the population mean spend (arrivals spread
  over the period, so a monthly cohort's repeats in its first month count too);
* times the series' **net ratio**, its value per unit of its customers' purchase spend over
  the last ``acquisition_window`` periods (below 1 with returns, whose negative days the
  purchase model leaves out; above 1 when some orders carry no customer id).

Time is in days; a purchase is a day of positive net amount. The project's series label a
period by its first day (``features.calendar``: ``D``, weeks as ``W-FRI`` when they start on a
Friday, ``MS``), pandas' end-anchored aliases (``ME``, ``QE``) by its last. Only activity before
the end of a series' last period is read: a backtest fold sees nothing after its origin.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from forecast import periods
from forecast.errors import ValidationError
from forecast.models.base import Forecaster, add_normal_intervals, check_known_series, future_dates
from forecast.models.baselines import _residual_sigma, tail_matrix
from forecast.models.customer_base_fit import (
    BGNBDParams,
    GammaGammaParams,
    cohort_repeat_purchases,
    conditional_expected_purchases,
    conditional_expected_spend,
    fit_bgnbd,
    fit_gamma_gamma,
    p_alive,
)
from forecast.schemas import CUSTOMER_ID, DS, UNIQUE_ID, YHAT, interval_columns

AMOUNT = "amount"
ACTIVITY_COLUMNS = (UNIQUE_ID, CUSTOMER_ID, DS, AMOUNT)
MIN_REPEAT = 10  # fewest customers with repeat purchases a series' own fit is made on
_DAY = pd.Timedelta(days=1)
_END_ANCHORED = (pd.offsets.MonthEnd, pd.offsets.QuarterEnd, pd.offsets.YearEnd,
                 pd.offsets.BusinessMonthEnd, pd.offsets.BQuarterEnd, pd.offsets.BYearEnd,
                 pd.offsets.SemiMonthEnd)


class CustomerActivity:
    """The customers' purchase days of every series, immutable and shared, not copied.

    Args:
        frame: ``unique_id, customer_id, ds, amount``: a row per series, customer and day,
            ``amount`` the customer's net spend in that series that day (rows repeating a
            series, customer and day are summed; times of day are dropped).

    ``copy.deepcopy`` (which ``clone`` applies to a parameter that is not an estimator) returns
    the object itself and equality is identity: a model and its clones share one frame.

    Raises:
        ValidationError: a missing column, ``ds`` that does not parse, a non-numeric ``amount``.
    """

    def __init__(self, frame: pd.DataFrame):
        missing = [c for c in ACTIVITY_COLUMNS if c not in frame.columns]
        if missing:
            raise ValidationError(f"customer activity: missing column(s) {missing}; expected "
                                  f"{', '.join(ACTIVITY_COLUMNS)}")
        out = frame[list(ACTIVITY_COLUMNS)].copy()
        try:
            out[DS] = pd.to_datetime(out[DS]).dt.normalize()
        except (ValueError, TypeError) as exc:
            raise ValidationError(f"customer activity: ds does not parse ({exc})") from None
        if not pd.api.types.is_numeric_dtype(out[AMOUNT]):
            raise ValidationError(f"customer activity: amount must be numeric, got "
                                  f"{out[AMOUNT].dtype}")
        out[UNIQUE_ID] = out[UNIQUE_ID].astype(str)
        out = out.dropna(subset=[CUSTOMER_ID, DS, AMOUNT])
        out = out.groupby([UNIQUE_ID, CUSTOMER_ID, DS], sort=True, observed=True)[AMOUNT].sum()
        object.__setattr__(self, "_frame", out.astype(float).reset_index())

    @property
    def frame(self) -> pd.DataFrame:
        """The rows, sorted by ``unique_id, customer_id, ds``; read it, do not change it."""
        return self._frame

    def __setattr__(self, name, value):
        raise AttributeError("CustomerActivity is immutable")

    def __deepcopy__(self, memo) -> CustomerActivity:
        return self

    def __eq__(self, other) -> bool:
        return self is other

    def __hash__(self) -> int:
        return id(self)

    def __repr__(self) -> str:
        return f"CustomerActivity({len(self._frame)} rows)"


def period_edges(labels: pd.DatetimeIndex, freq: str) -> pd.DatetimeIndex:
    """First day of each labelled period and the day after the last one (``len + 1`` edges).

    Labels are period starts (the project's series: ``D``, ``W-<day>``, ``MS``) or, for
    pandas' end-anchored aliases (``ME``, ``QE``, ...), period ends.
    """
    offset = pd.tseries.frequencies.to_offset(freq)
    if isinstance(offset, _END_ANCHORED):
        return pd.DatetimeIndex([labels[0] - offset]).append(labels) + _DAY
    after = future_dates(pd.Series([labels[-1]], index=["_"]), 1, freq)[DS]
    return labels.append(pd.DatetimeIndex(after))


def summarise_customers(frame: pd.DataFrame, origins: pd.Series,
                        starts: pd.Series | None = None) -> pd.DataFrame:
    """Each series' customers at its origin, from their purchase days before it.

    Args:
        frame: activity rows (``CustomerActivity.frame``), sorted by series, customer, day.
        origins: the first day after each series' history, indexed by ``unique_id``.
        starts: first day of each series' recent window (default: its origin).

    Returns:
        A row per series and customer with a purchase (a day of positive amount) before the
        origin: ``unique_id, customer_id, first`` (day), ``frequency`` (purchase days - 1),
        ``recency`` (days from first to last purchase), ``T`` (days from first purchase to the
        origin), ``monetary`` (mean spend of the repeat purchase days, 0 without),
        ``first_amount`` (spend of the first purchase day), ``recent`` (spend of the purchase
        days from the series' ``starts`` day on).
    """
    rows = frame[frame[UNIQUE_ID].isin(origins.index)]
    rows = rows[(rows[DS] < rows[UNIQUE_ID].map(origins)) & (rows[AMOUNT] > 0)]
    since = rows[UNIQUE_ID].map(origins if starts is None else starts)
    groups = rows.assign(recent=rows[AMOUNT].where(rows[DS] >= since, 0.0)).groupby(
        [UNIQUE_ID, CUSTOMER_ID], sort=False, observed=True)
    out = groups.agg(first=(DS, "min"), last=(DS, "max"), days=(DS, "size"),
                     total=(AMOUNT, "sum"), first_amount=(AMOUNT, "first"),
                     recent=("recent", "sum")).reset_index()
    out["frequency"] = (out["days"] - 1).astype(float)
    out["recency"] = (out["last"] - out["first"]) / _DAY
    out["T"] = (out[UNIQUE_ID].map(origins) - out["first"]) / _DAY
    out["monetary"] = ((out["total"] - out["first_amount"]) / out["frequency"]).where(
        out["frequency"] > 0, 0.0)
    return out.drop(columns=["last", "days", "total"])


def _fit_purchases(customers: pd.DataFrame, penalizer: float) -> BGNBDParams:
    """BG/NBD on the customers, refused with fewer than ``MIN_REPEAT`` repeat customers."""
    if int((customers["frequency"] > 0).sum()) < MIN_REPEAT:
        raise ValidationError(f"fewer than {MIN_REPEAT} customers with a repeat purchase")
    return fit_bgnbd(customers["frequency"], customers["recency"], customers["T"], penalizer)


def _fit_spend(customers: pd.DataFrame) -> GammaGammaParams:
    """Gamma-Gamma on the repeat customers, values scaled to a mean of 1 for the optimiser."""
    repeat = customers[customers["frequency"] > 0]
    if len(repeat) < MIN_REPEAT:
        raise ValidationError(f"fewer than {MIN_REPEAT} customers with a repeat purchase")
    scale = float(repeat["monetary"].mean())
    fit = fit_gamma_gamma(repeat["frequency"], repeat["monetary"] / scale)
    return GammaGammaParams(fit.p, fit.q, fit.v * scale)


def _spend(customers: pd.DataFrame, gamma: GammaGammaParams | None) -> tuple[np.ndarray, float]:
    """Expected spend per purchase of each customer and of a new one: Gamma-Gamma's, else
    the empirical mean of the repeat purchase days (of the first ones without repeats)."""
    if gamma is not None:
        return conditional_expected_spend(gamma, customers["frequency"],
                                          customers["monetary"]), gamma.mean
    repeats = float(customers["frequency"].sum())
    mean = float((customers["monetary"] * customers["frequency"]).sum() / repeats) if repeats \
        else float(customers["first_amount"].mean()) if len(customers) else 0.0
    return np.full(len(customers), mean), mean


def _fit_or_pool(fit, own: pd.DataFrame, everyone: pd.DataFrame, pool: dict, key: str):
    """``(fit(own), "own")``, else ``(fit(everyone), "pooled")``, made once, kept in ``pool``."""
    try:
        return fit(own), "own"
    except ValidationError:
        if key not in pool:
            try:
                pool[key] = fit(everyone)
            except ValidationError as exc:
                pool[key] = exc
    if isinstance(pool[key], ValidationError):
        raise pool[key]
    return pool[key], "pooled"


class CustomerBaseForecaster(Forecaster):
    """Revenue of the known customers (BG/NBD x Gamma-Gamma) and of those not acquired yet.

    Args:
        activity: the customers' purchase days of every series the frame holds.
        penalizer: L2 penalty of the BG/NBD fit (lifetimes' ``penalizer_coef``, times scaled
            to the oldest customer's age). 1e-6 keeps ``a`` and ``b`` finite when a young base
            shows little dropout yet (plain maximum likelihood ran them to infinity on 5 of 24
            simulated 60-day-old bases of 3,000 customers) and biases little: 180-day
            purchases +4 to +8 % on those bases (plain fits 0 to +4 %), +1 % at most on
            year-old ones. lifetimes' usual 0.001 pulls ``a`` and ``b`` towards 0 (customers
            who never drop out): +5 to +12 points on the year-old bases, +7 % on the 39-week
            expectation of lifetimes' CDNOW sample. Gamma-Gamma is fitted unpenalised: its
            penalty drags ``q`` towards 1 (CDNOW: 0.97 at 0.01, an infinite mean spend).
        acquisition_window: latest periods whose new-customer counts set the level of new
            customers per future period (and the net ratio); None: a quarter of a year (13
            weeks, 3 months, 91 days; a fixed 13 spanned the launch burst of a 1-year monthly
            history, +60 % on simulated bases). The level is their exponentially weighted mean
            (``alpha = 2 / (w + 1)``, the window's span), flat: no trend, not even damped.
            Acquisition counts are small and jumpy; a trend fitted to a dozen of them points
            steeply down after a burst and up during a launch, and summed over a year even a
            damped one makes the over- or under-forecast this model exists to avoid. The
            base's own growth or decay is in the known customers' part, far better identified.
        freq: pandas frequency alias; inferred from the frame when None.

    Per series, BG/NBD and Gamma-Gamma are fitted on its own customers when ``MIN_REPEAT`` of
    them bought again; otherwise on the customers of all series pooled, and when those cannot
    fit either the forecaster raises a ``ValidationError`` (the ``RevenueForecaster`` drops
    the candidate and names the reason). A Gamma-Gamma that fits neither (or has ``q <= 1``)
    gives way to the series' empirical mean spend per repeat purchase; ``fits_`` tells which.

    Intervals are normal around the expectation: the series' period-to-period differences'
    spread over sqrt(2) (one period's noise), widened as ``sqrt(1 + step / window)`` like the
    moving average's, the lower bound clipped at 0; rough on purpose, as the
    ``RevenueForecaster`` recalibrates every candidate's intervals on its backtest.
    """

    def __init__(self, activity: CustomerActivity | None = None, penalizer: float = 1e-6,
                 acquisition_window: int | None = None, freq: str | None = None):
        self.activity = activity
        self.penalizer = penalizer
        self.acquisition_window = acquisition_window
        self.freq = freq

    def regime(self, history: int, freq: str) -> str:
        """"customer base" with a full ``acquisition_window`` of history, else "young
        customer base": its new-customer level spans the launch (every customer new) and its
        purchase model sees few repeat customers, often pooled: another kind of forecast."""
        return "customer base" if history >= self._window(freq) else "young customer base"

    def _window(self, freq: str) -> int:
        quarter = max(1, round((periods.year_length(freq) or 52) / 4))
        return quarter if self.acquisition_window is None else int(self.acquisition_window)

    def _fit(self, frame: pd.DataFrame) -> None:
        if not isinstance(self.activity, CustomerActivity):
            raise ValidationError("CustomerBaseForecaster needs activity: a CustomerActivity "
                                  "of the series' customers' purchase days")
        window = self._window(self.freq_)
        if not float(self.penalizer) >= 0 or window < 1:
            raise ValidationError(f"penalizer must be >= 0 and acquisition_window >= 1, got "
                                  f"{self.penalizer}, {self.acquisition_window}")
        self.ids_, matrix = tail_matrix(frame)
        names = self.ids_.astype(str)  # the activity's series ids are text
        check_known_series(pd.Series(names), self.activity.frame[UNIQUE_ID], "customer activity")
        edges = {uid: period_edges(pd.DatetimeIndex(rows[DS]), self.freq_)
                 for uid, rows in frame.groupby(frame[UNIQUE_ID].astype(str), sort=False)}
        origins = pd.Series({uid: e[-1] for uid, e in edges.items()})
        starts = pd.Series({uid: e[max(0, len(e) - 1 - window)] for uid, e in edges.items()})
        customers = summarise_customers(self.activity.frame, origins, starts)
        by_series = dict(tuple(customers.groupby(UNIQUE_ID, sort=False)))
        sigma = _residual_sigma(np.diff(matrix, axis=1)) / np.sqrt(2)
        pool: dict = {}
        self.series_, rows = {}, []
        for i, (uid, name) in enumerate(zip(self.ids_, names)):
            own = by_series.get(name, customers.iloc[:0])
            try:
                purchases, source = _fit_or_pool(
                    lambda c: _fit_purchases(c, float(self.penalizer)), own, customers, pool,
                    "purchases")
            except ValidationError as exc:
                raise ValidationError(f"series {uid!r}: the BG/NBD fits neither its {len(own)} "
                                      f"customers nor those of all series ({exc})") from None
            try:
                gamma, spend_source = _fit_or_pool(_fit_spend, own, customers, pool, "spend")
            except ValidationError:
                gamma, spend_source = None, "empirical"
            state = _series_state(own, edges[name], purchases, _spend(own, gamma),
                                  matrix[i, 1 - len(edges[name]):], window, float(sigma[i]))
            self.series_[uid] = state
            rows.append({UNIQUE_ID: uid, "purchases": source, "spend": spend_source,
                         "customers": len(own), **vars(purchases), "spend_mean": state.mean_spend,
                         "new_per_period": state.new_per_period, "net_ratio": state.net_ratio})
        self.fits_ = pd.DataFrame(rows)

    def _predict(self, h: int, future_exog, levels) -> pd.DataFrame:
        out = future_dates(self.last_ds_.loc[self.ids_], h, self.freq_)
        labels = pd.DatetimeIndex(out[DS]).to_numpy().reshape(len(self.ids_), h)
        out[YHAT] = np.concatenate([
            self.series_[uid].forecast(period_edges(pd.DatetimeIndex(labels[i]), self.freq_))
            for i, uid in enumerate(self.ids_)])
        widen = np.sqrt(1 + np.arange(1, h + 1) / self._window(self.freq_))
        sigma = np.array([self.series_[uid].sigma for uid in self.ids_])
        out = add_normal_intervals(out, (sigma[:, None] * widen[None, :]).ravel(), levels)
        for lo in (interval_columns(level)[0] for level in levels):
            out[lo] = out[lo].clip(lower=0)
        return out


@dataclass(frozen=True)
class _SeriesState:
    """What one series' forecast needs: its customers' patterns and the new-customer level."""

    purchases: BGNBDParams
    patterns: np.ndarray  # distinct (frequency, recency, T) of the known customers
    pattern_spend: np.ndarray  # their customers' expected spend per purchase, summed
    new_per_period: float
    first_spend: float  # mean first-purchase spend of the recent new customers
    mean_spend: float  # expected spend per repeat purchase of a new customer
    net_ratio: float
    sigma: float
    origin: pd.Timestamp

    def forecast(self, edges: pd.DatetimeIndex) -> np.ndarray:
        """Expected value of each period between ``edges`` (the first edge is the origin)."""
        t = ((edges - self.origin) / _DAY).to_numpy(dtype=float)
        known = np.zeros(len(t) - 1)
        if len(self.patterns):
            cumulative = conditional_expected_purchases(self.purchases, *self.patterns.T, t)
            known = np.diff(cumulative, axis=1).T @ self.pattern_spend
        new = self.new_per_period * (self.first_spend + self.mean_spend
                                     * cohort_repeat_purchases(self.purchases, t))
        return np.clip(self.net_ratio * (known + new), 0, None)


def _series_state(customers: pd.DataFrame, edges: pd.DatetimeIndex, purchases: BGNBDParams,
                  spend: tuple[np.ndarray, float], y: np.ndarray, window: int,
                  sigma: float) -> _SeriesState:
    """A series' state at its origin ``edges[-1]`` (the edges of its history periods), from
    its customers (``recent``: over the last ``window`` periods), models and values ``y``."""
    rfm = customers[["frequency", "recency", "T"]].to_numpy(dtype=float).reshape(-1, 3)
    patterns, inverse = np.unique(rfm, axis=0, return_inverse=True)
    pattern_spend = np.bincount(inverse.ravel(), weights=spend[0], minlength=len(patterns))
    # New customers per period (by first purchase day), weighted to the latest periods.
    width = min(window, len(edges) - 1)
    period = np.searchsorted(edges.to_numpy(), customers["first"].to_numpy(), side="right") - 1
    counts = np.bincount(period[period >= 0], minlength=len(edges) - 1)[-width:]
    weights = (1 - 2 / (window + 1)) ** np.arange(width)[::-1]
    recent = customers["first"] >= edges[-width - 1]
    first = customers.loc[recent if recent.any() else slice(None), "first_amount"]
    # The series per unit of its customers' purchase spend over the same window.
    observed, spent = y[-width:], float(customers["recent"].sum())
    ratio = float(np.nansum(observed)) / spent if spent > 0 and np.isfinite(observed).any() \
        else 1.0
    return _SeriesState(purchases, patterns, pattern_spend, float(weights @ counts / weights.sum()),
                        float(first.mean()) if len(first) else 0.0, spend[1], max(ratio, 0.0),
                        sigma if np.isfinite(sigma) else 0.0, edges[-1])


def expected_customer_value(activity: CustomerActivity | pd.DataFrame, origin, days: float,
                            penalizer: float = 1e-6) -> pd.DataFrame:
    """Each customer's P(alive), expected purchases and spend in the ``days`` after ``origin``,
    from the BG/NBD and Gamma-Gamma of :class:`CustomerBaseForecaster` (no pooled fallback).

    Args:
        activity: one series' purchase days: a ``CustomerActivity`` or a frame ``customer_id,
            ds, amount`` (``unique_id`` optional), holding a single series.
        origin: the first day after the history (purchase days before it count, as a cutoff).
        days: the horizon, in days from ``origin``.
        penalizer: the BG/NBD penalty (see :class:`CustomerBaseForecaster`).

    Returns:
        ``customer_id, p_alive, expected_purchases, expected_spend``, a row per customer with
        a purchase (a day of positive amount) before ``origin``.

    Raises:
        ValidationError: several series, a missing column, or a BG/NBD that cannot fit.
    """
    if not isinstance(activity, CustomerActivity):
        activity = CustomerActivity(activity if UNIQUE_ID in activity.columns
                                    else activity.assign(**{UNIQUE_ID: "customers"}))
    series = activity.frame[UNIQUE_ID].unique()
    if len(series) != 1:
        raise ValidationError(f"expected_customer_value takes one series, got {len(series)}")
    customers = summarise_customers(activity.frame, pd.Series(
        {series[0]: pd.Timestamp(origin).normalize()}))
    purchases = _fit_purchases(customers, float(penalizer))
    try:
        gamma = _fit_spend(customers)
    except ValidationError:
        gamma = None
    x, tx, T = (customers[c].to_numpy() for c in ("frequency", "recency", "T"))
    expected = conditional_expected_purchases(purchases, x, tx, T, float(days))
    return pd.DataFrame({CUSTOMER_ID: customers[CUSTOMER_ID].to_numpy(),
                         "p_alive": p_alive(purchases, x, tx, T),
                         "expected_purchases": expected,
                         "expected_spend": expected * _spend(customers, gamma)[0]})
