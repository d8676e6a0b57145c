"""Revenue from the customer base: BG/NBD or Pareto/NBD purchases and Gamma-Gamma spend of the
known customers, plus the customers not acquired yet.

A young customer base, or one that decays after an acquisition burst, holds what its revenue
series cannot show: how many of today's buyers are still alive and how often they will buy.
For a revenue series built from order lines (the company, a channel, a segment, a region),
:class:`CustomerBaseForecaster` forecasts each period as

* the **known customers' spend**: each customer's expected purchases in the period, the
  difference of the purchase model's conditional expectations at the period's edges, times
  their Gamma-Gamma conditional expected spend per purchase, both fitted on the customers'
  summary at the forecast origin. The purchase model is the BG/NBD (Fader, Hardie and Lee
  2005; :mod:`.customer_base_fit`), whose customers can leave only right after a purchase, or
  the Pareto/NBD (:mod:`.pareto_nbd`), whose customers leave as time passes: both are fitted
  and the likelier kept. On a base whose customers leave at a constant weekly hazard the
  BG/NBD alone over-forecast 39 weeks by 30-39 %, the Pareto/NBD by 1-11 %
  (``tests/models/test_pareto_nbd.py``); on BG/NBD customers the likelihood keeps the BG/NBD;
* the **new customers' spend**: a level of new customers per period, each new cohort spending
  its mean first-purchase spend in the period it arrives, then the purchase model's unconditional
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
    conditional_expected_spend,
    fit_bgnbd,
    fit_gamma_gamma,
)
from forecast.models.customer_summary import (  # noqa: F401  (the model's public names)
    ACTIVITY_COLUMNS,
    AMOUNT,
    CustomerActivity,
    period_edges,
    summarise_customers,
)
from forecast.models.pareto_nbd import ParetoNBDParams, fit_pareto_nbd
from forecast.schemas import CUSTOMER_ID, DS, UNIQUE_ID, YHAT, interval_columns

MIN_REPEAT = 10  # fewest customers with repeat purchases a series' own fit is made on
# Customers a purchase model is fitted on, drawn at random (seeded) from larger bases: the
# model's four population parameters need no more. On a generated base of 62,000 customers a
# fit on 10,000 gave next year's purchases within 1.1 % of the fit on all (the model's own
# error there: +15 %) in a fifth of the time; the Pareto/NBD's likelihood costs 7 ms per
# 1,000 customers and a fit about 200 of them: on 1M customers about 20 minutes.
FIT_SAMPLE = 10_000
_DAY = pd.Timedelta(days=1)


PURCHASE_MODELS = {"bgnbd": fit_bgnbd, "pareto_nbd": fit_pareto_nbd}
PurchaseParams = BGNBDParams | ParetoNBDParams


def _fit_purchases(customers: pd.DataFrame, penalizer: float,
                   model: str = "auto") -> PurchaseParams:
    """The purchase model on the customers: ``model``, or for "auto" the BG/NBD and the
    Pareto/NBD both, keeping the one of higher likelihood (both have four parameters), or
    the one that fits, on at most ``FIT_SAMPLE`` of them. Refused with fewer than
    ``MIN_REPEAT`` repeat customers."""
    if int((customers["frequency"] > 0).sum()) < MIN_REPEAT:
        raise ValidationError(f"fewer than {MIN_REPEAT} customers with a repeat purchase")
    customers = _sample(customers)
    rfm = [customers[c].to_numpy(dtype=float) for c in ("frequency", "recency", "T")]
    fits, errors = [], []
    for name in PURCHASE_MODELS if model == "auto" else (model,):
        try:
            fits.append(PURCHASE_MODELS[name](*rfm, penalizer))
        except ValidationError as exc:
            errors.append(f"{name}: {exc}")
    if not fits:
        raise ValidationError("; ".join(errors))
    return max(fits, key=lambda fit: float(np.sum(fit.log_likelihood(*rfm))))


def _sample(customers: pd.DataFrame) -> pd.DataFrame:
    """At most ``FIT_SAMPLE`` of the customers, drawn at random (seeded), in their order."""
    if len(customers) <= FIT_SAMPLE:
        return customers
    rows = np.random.default_rng(0).choice(len(customers), FIT_SAMPLE, replace=False)
    return customers.iloc[np.sort(rows)]


def _fit_spend(customers: pd.DataFrame) -> GammaGammaParams:
    """Gamma-Gamma on (at most ``FIT_SAMPLE`` of) the repeat customers, values scaled to a
    mean of 1 for the optimiser."""
    repeat = _sample(customers[customers["frequency"] > 0])
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


def _own_or_pooled(fit, own: pd.DataFrame, everyone: pd.DataFrame, pooled: list):
    """``(fit(own), "own")``, else ``(fit(everyone), "pooled")``: the pooled fit (or its
    error) made once and kept in ``pooled``."""
    try:
        return fit(own), "own"
    except ValidationError:
        pass
    if not pooled:
        try:
            pooled.append(fit(everyone))
        except ValidationError as exc:
            pooled.append(exc)
    if isinstance(pooled[0], ValidationError):
        raise pooled[0]
    return pooled[0], "pooled"


class CustomerBaseForecaster(Forecaster):
    """Revenue of the known customers (BG/NBD or Pareto/NBD x Gamma-Gamma) and of those not
    acquired yet.

    Args:
        activity: the customers' purchase days of every series the frame holds.
        penalizer: L2 penalty of the purchase model's fit (lifetimes' ``penalizer_coef``, on the
            mean log-likelihood, times scaled
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
        purchase_model: "auto" (default): the BG/NBD and the Pareto/NBD are both fitted and
            the one of higher likelihood kept (both have four parameters); "bgnbd" or
            "pareto_nbd": that one. ``fits_["purchase_model"]`` tells which.
        freq: pandas frequency alias; inferred from the frame when None.

    The model describes stationary customers: a purchase rate that grows or follows a season
    is not in it (on the demo company, whose order rates grow 8 % a year with a monthly
    season, its 39-week forecasts of the total were 10 % low).

    Per series, the purchase model and Gamma-Gamma are fitted on its own customers when ``MIN_REPEAT`` of
    them bought again; otherwise on the customers of all series pooled, and when those cannot
    fit either the forecaster raises a ``ValidationError`` (the ``RevenueForecaster`` drops
    the candidate and names the reason). Gamma-Gamma is fitted on the series' own customers
    only, and where it cannot be (fewer than ``MIN_REPEAT`` repeat customers, ``q <= 1``) the
    series' empirical mean spend per repeat purchase stands in; ``fits_`` tells which. A
    pooled spend model mixed the series' grains: a customer's purchase of one product line is
    worth a fraction of their purchase from the company, and on the generated company the
    pooled fit (``q`` near 1) put 23,000 on every product line's purchase.

    Intervals are normal around the expectation: the series' period-to-period differences'
    spread over sqrt(2) (one period's noise), widened as ``sqrt(1 + step / window)`` like the
    moving average's, the lower bound clipped at 0; rough on purpose, as the
    ``RevenueForecaster`` recalibrates every candidate's intervals on its backtest.
    """

    def __init__(self, activity: CustomerActivity | None = None, penalizer: float = 1e-6,
                 acquisition_window: int | None = None, purchase_model: str = "auto",
                 freq: str | None = None):
        self.activity = activity
        self.penalizer = penalizer
        self.purchase_model = purchase_model
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
        if self.purchase_model not in ("auto", *PURCHASE_MODELS):
            raise ValidationError(f"purchase_model must be auto or one of "
                                  f"{sorted(PURCHASE_MODELS)}, got {self.purchase_model!r}")
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
        pooled: list = []
        fit = lambda c: _fit_purchases(c, float(self.penalizer), self.purchase_model)
        self.series_, rows = {}, []
        for i, (uid, name) in enumerate(zip(self.ids_, names)):
            own = by_series.get(name, customers.iloc[:0])
            try:
                purchases, source = _own_or_pooled(fit, own, customers, pooled)
            except ValidationError as exc:
                raise ValidationError(f"series {uid!r}: no purchase model fits its {len(own)} "
                                      f"customers nor those of all series ({exc})") from None
            try:  # spend is the series' own: series of other grains spend on other scales
                gamma, spend_source = _fit_spend(own), "own"
            except ValidationError:
                gamma, spend_source = None, "empirical"
            state = _series_state(own, edges[name], purchases, _spend(own, gamma),
                                  matrix[i, 1 - len(edges[name]):], window, float(sigma[i]))
            self.series_[uid] = state
            rows.append({UNIQUE_ID: uid, "purchases": source, "spend": spend_source,
                         "customers": len(own), "purchase_model": purchases.model_name,
                         **vars(purchases), "spend_mean": state.mean_spend,
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

    purchases: PurchaseParams
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
            cumulative = self.purchases.expected_purchases(*self.patterns.T, t)
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
                            penalizer: float = 1e-6, purchase_model: str = "auto"
                            ) -> pd.DataFrame:
    """Each customer's P(alive), expected purchases and spend in the ``days`` after ``origin``,
    from the purchase model and Gamma-Gamma of :class:`CustomerBaseForecaster` (no pooled
    fallback).

    Args:
        activity: one series' purchase days: a ``CustomerActivity`` or a frame ``customer_id,
            ds, amount`` (``unique_id`` optional), holding a single series.
        origin: the first day after the history (purchase days before it count, as a cutoff).
        days: the horizon, in days from ``origin``.
        penalizer: the purchase model's penalty (see :class:`CustomerBaseForecaster`).
        purchase_model: "auto" (the likelier of the two), "bgnbd" or "pareto_nbd".

    Returns:
        ``customer_id, p_alive, expected_purchases, expected_spend``, a row per customer with
        a purchase (a day of positive amount) before ``origin``.

    Raises:
        ValidationError: several series, a missing column, or no purchase model that fits.
    """
    if not isinstance(activity, CustomerActivity):
        activity = CustomerActivity(activity if UNIQUE_ID in activity.columns
                                    else activity.assign(**{UNIQUE_ID: "customers"}))
    series = activity.frame[UNIQUE_ID].unique()
    if len(series) != 1:
        raise ValidationError(f"expected_customer_value takes one series, got {len(series)}")
    customers = summarise_customers(activity.frame, pd.Series(
        {series[0]: pd.Timestamp(origin).normalize()}))
    purchases = _fit_purchases(customers, float(penalizer), purchase_model)
    try:
        gamma = _fit_spend(customers)
    except ValidationError:
        gamma = None
    x, tx, T = (customers[c].to_numpy() for c in ("frequency", "recency", "T"))
    expected = purchases.expected_purchases(x, tx, T, float(days))
    return pd.DataFrame({CUSTOMER_ID: customers[CUSTOMER_ID].to_numpy(),
                         "p_alive": purchases.p_alive(x, tx, T),
                         "expected_purchases": expected,
                         "expected_spend": expected * _spend(customers, gamma)[0]})
