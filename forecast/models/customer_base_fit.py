"""BG/NBD purchases and Gamma-Gamma spend: maximum-likelihood fits and expectations, in numpy.

The customer-base models of :mod:`forecast.models.customer_base`, written for arrays of
customers (no loop over them), after the references and their reference implementation,
``lifetimes`` (Davidson-Pilon), whose results they reproduce:

* **BG/NBD** (Fader, Hardie and Lee 2005, "Counting your customers the easy way: an
  alternative to the Pareto/NBD model", Marketing Science 24(2)). While alive a customer buys
  as a Poisson process of rate ``lambda ~ Gamma(r, alpha)``; after each repeat purchase they
  drop out for good with probability ``p ~ Beta(a, b)``. A customer is summarised by
  ``frequency`` x (repeat purchases), ``recency`` t_x (time of the last purchase since the
  first) and ``T`` (time since the first purchase). The log-likelihood is section 7 of the
  paper, computed as lifetimes does (log-sum-exp of its two terms); the fit maximises it over
  the log-parameters with scipy's L-BFGS-B and its analytic gradient (Nelder-Mead polishes a
  fit L-BFGS-B ends uneasily), on times scaled so that the oldest customer's ``T`` is 1, with
  lifetimes' L2 penalty ``penalizer_coef * sum(params ** 2)`` on the scaled parameters.
  The conditional expectation of purchases in ``(T, T + t]`` is the paper's equation (10)
  written as ``P(alive) * E[purchases | alive]``, with the hypergeometric term under Euler's
  transformation ``2F1(r+x, b+x; c; z) = (1-z)^(c-r-b-2x) 2F1(a+b-1-r, a-1; c; z)``: its
  first two arguments no longer grow with x, so frequent buyers neither overflow nor need
  lifetimes' switch to the other form when the first gives infinity. P(alive) is Fader,
  Hardie and Lee's note 021 (http://www.brucehardie.com/notes/021/); it is 1 for x = 0,
  since in the BG/NBD a customer can drop out only after a repeat purchase.
* **Gamma-Gamma** (Fader, Hardie and Lee 2005, "RFM and CLV: using iso-value curves for
  customer base analysis", Journal of Marketing Research 42(4); Hardie's note 025). Each
  transaction of a customer is worth ``Gamma(p, nu)``, ``nu ~ Gamma(q, v)`` across
  customers; fitted on the mean repeat-transaction value of customers with ``frequency > 0``
  (lifetimes' likelihood, unscaled, same penalty). The conditional expected spend per
  transaction shrinks a customer's mean towards the population mean ``p v / (q - 1)``; a
  customer without repeat purchases gets the population mean. A fit with ``q <= 1`` has no
  population mean: :func:`fit_gamma_gamma` refuses it with a ``ValidationError`` (the
  forecaster falls back on the empirical mean spend, and says so in its docstring).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import minimize
from scipy.special import digamma, expit, gammaln, hyp2f1, roots_jacobi

from forecast.errors import ValidationError

_START = 0.1  # lifetimes' starting log-parameters
_LOG_BOUND = 30.0  # log-parameters stay in [-30, 30]: exp() of them neither overflows nor is 0
_NEAR_ONE = 1e-7  # a of the BG/NBD this close to 1 is moved off it (0/0 in the expectation)
_NODES = 64  # Gauss-Jacobi nodes of the expectation where 2F1 fails (a, b in the hundreds)
_MOMENTS = 8  # arrival moments per period of a new cohort (midpoint rule)
_TINY = 1e-8  # horizons t / (alpha + T + t) below this use the expectation's first order


@dataclass(frozen=True)
class BGNBDParams:
    """Fitted BG/NBD parameters; ``alpha`` is in the time unit of the data the fit was given.

    As a purchase model (the interface it shares with ``ParetoNBDParams``, bound at the end of
    the module) it has ``model_name``, ``log_likelihood``, ``p_alive``, ``expected_purchases``
    and ``new_customer_purchases``: this module's functions of the same meaning.
    """

    r: float
    alpha: float
    a: float
    b: float

    def as_array(self) -> np.ndarray:
        """``[r, alpha, a, b]``."""
        return np.array([self.r, self.alpha, self.a, self.b])



@dataclass(frozen=True)
class GammaGammaParams:
    """Fitted Gamma-Gamma parameters (``q > 1``), in the money unit of the fitted values."""

    p: float
    q: float
    v: float

    @property
    def mean(self) -> float:
        """Population mean spend per transaction, ``p v / (q - 1)``."""
        return self.p * self.v / (self.q - 1)


def _arrays(*values) -> list[np.ndarray]:
    arrays = [np.asarray(v, dtype=float).ravel() for v in values]
    if len({len(a) for a in arrays}) != 1:
        raise ValidationError(f"customer arrays differ in length: {[len(a) for a in arrays]}")
    if not len(arrays[0]):
        raise ValidationError("no customers to fit")
    if not all(np.isfinite(a).all() for a in arrays):
        raise ValidationError("customer arrays hold missing or infinite values")
    return arrays


def check_rfm(frequency, recency, T) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Validate a BG/NBD summary and return it as float arrays.

    Raises:
        ValidationError: lengths differ, values are missing, frequency is negative or not whole,
            recency is negative, above T, or not 0 where frequency is 0, or T is not positive.
    """
    x, tx, T = _arrays(frequency, recency, T)
    if (x < 0).any() or (x != np.round(x)).any():
        raise ValidationError("frequency must hold whole numbers >= 0 (repeat purchases)")
    if (T <= 0).any():
        raise ValidationError("T (customer age) must be positive")
    if (tx < 0).any() or (tx > T).any():
        raise ValidationError("recency must lie in [0, T]")
    if (tx[x == 0] != 0).any():
        raise ValidationError("recency must be 0 for customers without repeat purchases")
    return x, tx, T


def _bgnbd_terms(params, x, tx, T):
    """Each customer's BG/NBD log-likelihood and the weights of its two terms."""
    r, alpha, a, b = params
    repeat = x > 0
    bx1 = b + np.maximum(x, 1) - 1
    a3 = -(r + x) * np.log(alpha + T)
    a4 = np.log(a) - np.log(bx1) - (r + x) * np.log(alpha + tx)
    top = np.where(repeat, np.maximum(a3, a4), a3)
    e3, e4 = np.exp(a3 - top), np.where(repeat, np.exp(a4 - top), 0.0)
    mix = e3 + e4
    w3, w4 = e3 / mix, e4 / mix
    ll = (gammaln(r + x) - gammaln(r) + r * np.log(alpha) + gammaln(a + b) + gammaln(b + x)
          - gammaln(b) - gammaln(a + b + x) + top + np.log(mix))
    return ll, w3, w4, bx1


def bgnbd_log_likelihood(params: BGNBDParams, frequency, recency, T) -> np.ndarray:
    """Each customer's BG/NBD log-likelihood (Fader, Hardie and Lee 2005, section 7)."""
    x, tx, T = (np.asarray(v, dtype=float) for v in (frequency, recency, T))
    return _bgnbd_terms(params.as_array(), x, tx, T)[0]


def _bgnbd_objective(log_params, x, tx, T, w, penalizer):
    """Mean negative log-likelihood (+ penalty) of the BG/NBD and its gradient in log-params."""
    r, alpha, a, b = params = np.exp(log_params)
    ll, w3, w4, bx1 = _bgnbd_terms(params, x, tx, T)
    total = w.sum()
    value = -(w @ ll) / total + penalizer * np.sum(params ** 2)
    grads = np.stack([
        digamma(r + x) - digamma(r) + np.log(alpha) - w3 * np.log(alpha + T)
        - w4 * np.log(alpha + tx),
        r / alpha - (r + x) * (w3 / (alpha + T) + w4 / (alpha + tx)),
        digamma(a + b) - digamma(a + b + x) + w4 / a,
        digamma(a + b) + digamma(b + x) - digamma(b) - digamma(a + b + x) - w4 / bx1,
    ])
    grad = -(grads @ w) / total * params + 2 * penalizer * params ** 2
    return value, grad


def _gg_objective(log_params, x, m, w, penalizer):
    """Mean negative log-likelihood (+ penalty) of the Gamma-Gamma and its log-param gradient."""
    p, q, v = params = np.exp(log_params)
    px = p * x
    ll = (gammaln(px + q) - gammaln(px) - gammaln(q) + q * np.log(v) + (px - 1) * np.log(m)
          + px * np.log(x) - (px + q) * np.log(x * m + v))
    total = w.sum()
    value = -(w @ ll) / total + penalizer * np.sum(params ** 2)
    grads = np.stack([
        x * (digamma(px + q) - digamma(px) + np.log(m) + np.log(x) - np.log(x * m + v)),
        digamma(px + q) - digamma(q) + np.log(v) - np.log(x * m + v),
        q / v - (px + q) / (x * m + v),
    ])
    grad = -(grads @ w) / total * params + 2 * penalizer * params ** 2
    return value, grad


def minimise_log_params(objective, size: int, args: tuple, what: str,
                        gradient: bool = True) -> np.ndarray:
    """Minimise ``objective`` over log-parameters from lifetimes' start.

    L-BFGS-B with bounds that keep exp() finite, on the objective's analytic gradient (it
    returns value and gradient) or, with ``gradient=False``, a numerical one; a run that ends
    without its convergence flag is polished by Nelder-Mead from its end point.

    Raises:
        ValidationError: neither converges to a finite optimum.
    """
    bounds = [(-_LOG_BOUND, _LOG_BOUND)] * size
    with np.errstate(all="ignore"):
        result = minimize(objective, np.full(size, _START), args=args, jac=gradient or None,
                          method="L-BFGS-B", bounds=bounds,
                          options={"ftol": 1e-13, "gtol": 1e-9, "maxiter": 5000})
        if not (result.success and np.isfinite(result.fun)):
            start = result.x if np.isfinite(result.fun) else np.full(size, _START)
            value = (lambda z: objective(z, *args)[0]) if gradient else (
                lambda z: objective(z, *args))
            result = minimize(value, start, method="Nelder-Mead",
                              bounds=bounds, options={"xatol": 1e-9, "fatol": 1e-13,
                                                      "maxiter": 4000, "maxfev": 8000})
    if not (result.success and np.isfinite(result.fun) and np.isfinite(result.x).all()):
        raise ValidationError(f"{what} fit did not converge ({result.message}); a larger "
                              "penalizer may help")
    if np.any(np.abs(result.x) >= _LOG_BOUND - 1e-6):
        raise ValidationError(f"{what} fit ran to a parameter bound (parameters "
                              f"{np.exp(result.x)}); the data do not identify the model; a "
                              "larger penalizer may help")
    return result.x


def fit_bgnbd(frequency, recency, T, penalizer_coef: float = 0.0,
              weights=None) -> BGNBDParams:
    """Maximum-likelihood BG/NBD parameters of a customer base.

    Args:
        frequency: repeat purchases of each customer.
        recency: time from each customer's first to last purchase (0 without repeats).
        T: time from each customer's first purchase to the end of the observation.
        penalizer_coef: L2 penalty on the parameters fitted on times scaled to a largest T of
            1 (lifetimes' ``penalizer_coef``); 0 for the plain maximum likelihood.
        weights: customers per row (rows repeating a pattern are merged before the fit).

    Returns:
        The parameters, ``alpha`` in the unit of ``recency`` and ``T``.

    Raises:
        ValidationError: invalid summaries (:func:`check_rfm`), no repeat purchase at all
            (the dropout is not identified), a fit that does not converge, or one whose
            expectations are not finite (a and b carried to tens of thousands).
    """
    x, tx, T = check_rfm(frequency, recency, T)
    w = np.ones_like(x) if weights is None else _arrays(weights, x)[0]
    if not (x > 0).any():
        raise ValidationError("BG/NBD: no customer has a repeat purchase; cannot fit")
    # Customers of one (frequency, recency, T) pattern share their likelihood: one row each.
    patterns, inverse = np.unique(np.stack([x, tx, T], axis=1), axis=0, return_inverse=True)
    (x, tx, T), w = patterns.T, np.bincount(inverse.ravel(), weights=w)
    scale = 1.0 / T.max()
    log_params = minimise_log_params(_bgnbd_objective, 4,
                           (x, tx * scale, T * scale, w, float(penalizer_coef)), "BG/NBD")
    r, alpha, a, b = np.exp(log_params)
    fitted = BGNBDParams(float(r), float(alpha / scale), float(a), float(b))
    try:  # a ridge of the likelihood can carry a and b to where no expectation is finite
        new_customer_expected_purchases(fitted, T.max())
    except ValidationError:
        raise ValidationError(f"BG/NBD fit ran to a = {a:.3g}, b = {b:.3g}, where expectations "
                              "are not finite: the data do not identify the dropout; a larger "
                              "penalizer may help") from None
    return fitted


def fit_gamma_gamma(frequency, monetary, penalizer_coef: float = 0.0,
                    weights=None) -> GammaGammaParams:
    """Maximum-likelihood Gamma-Gamma parameters from customers' mean repeat-purchase value.

    Args:
        frequency: repeat purchases of each customer; rows with 0 are left out.
        monetary: mean value of each customer's repeat purchases (positive where frequency > 0).
        penalizer_coef: L2 penalty on ``(p, q, v)`` as lifetimes applies it (unscaled, so it
            depends on the money unit).
        weights: customers per row.

    Raises:
        ValidationError: no customer with repeat purchases, a non-positive mean value, a fit
            that does not converge, or ``q <= 1`` (no finite population mean spend).
    """
    x, m = _arrays(frequency, monetary)
    w = np.ones_like(x) if weights is None else _arrays(weights, x)[0]
    keep = x > 0
    if not keep.any():
        raise ValidationError("Gamma-Gamma: no customer has a repeat purchase; cannot fit")
    if (m[keep] <= 0).any():
        raise ValidationError("Gamma-Gamma: mean repeat-purchase values must be positive")
    p, q, v = np.exp(minimise_log_params(_gg_objective, 3, (x[keep], m[keep], w[keep],
                                                  float(penalizer_coef)), "Gamma-Gamma"))
    if q <= 1:
        raise ValidationError(f"Gamma-Gamma fit has q = {q:.3g} <= 1: the population mean spend "
                              "is infinite; the model does not describe these values")
    return GammaGammaParams(float(p), float(q), float(v))


def p_alive(params: BGNBDParams, frequency, recency, T) -> np.ndarray:
    """Probability that each customer is still alive at ``T`` (1 without repeat purchases)."""
    x, tx, T = (np.asarray(v, dtype=float) for v in (frequency, recency, T))
    r, alpha, a, b = params.as_array()
    log_div = ((r + x) * np.log((alpha + T) / (alpha + tx))
               + np.log(a / (b + np.maximum(x, 1) - 1)))
    return np.where(x == 0, 1.0, expit(-log_div))


def _alive_purchases(r, alpha, a, b, x, T, t) -> np.ndarray:
    """Expected purchases in ``(T, T + t]`` of a customer alive at ``T`` with ``x`` repeats,
    ``(c / (a-1)) (1 - (1-z)^(a-1) 2F1(a+b-1-r, a-1; c; z))``, ``c = a+b+x-1``,
    ``z = t / (alpha + T + t)``; arguments broadcast.

    Where scipy's 2F1 gives no finite value (a and b in the hundreds, when the data show
    little dropout and nothing penalises the fit), the same expectation is the integral over
    ``p ~ Beta(a, b + x)`` of ``(1 - ((alpha+T) / (alpha+T+p t))^(r+x)) / p`` (lambda
    integrated out), taken by Gauss-Jacobi quadrature.
    """
    if abs(a - 1) < _NEAR_ONE:
        a = 1 + np.copysign(_NEAR_ONE, a - 1)
    c = a + b + x - 1
    z = t / (alpha + T + t)
    with np.errstate(all="ignore"):
        hyp = hyp2f1(a + b - 1 - r, a - 1, c, z)
        power = (a - 1) * np.log1p(-z)
        rest = np.where(hyp > 0, -np.expm1(power + np.log(np.where(hyp > 0, hyp, 1.0))),
                        1 - np.exp(power) * hyp)
        out = np.where(t > 0, c / (a - 1) * rest, 0.0)
        # Below z = 1e-8 the 2F1 term rounds to 1 and cancels: its first order, (r + x) z.
        out = np.where(z < _TINY, (r + x) * z, out)
        bad = ~np.isfinite(out)
        if bad.any():
            xs, ages, ts = (np.broadcast_to(v, out.shape)[bad] for v in (x, T, t))
            fixed = np.empty(len(xs))
            for value in np.unique(xs):  # one quadrature per distinct frequency
                nodes, weights = roots_jacobi(_NODES, b + value - 1, a - 1)
                p, here = (1 + nodes) / 2, xs == value
                age = alpha + ages[here, None]
                gone = 1 - (age / (age + p * ts[here, None])) ** (r + value)
                fixed[here] = (gone / p) @ (weights / weights.sum())
            out[bad] = fixed
    return out


def conditional_expected_purchases(params: BGNBDParams, frequency, recency, T,
                                   t) -> np.ndarray:
    """Expected purchases of each customer in ``(T, T + t]`` given their history.

    Args:
        params: fitted BG/NBD parameters.
        frequency, recency, T: the customers' summaries, arrays of length n.
        t: horizon(s) in the time unit of ``params``; a scalar or a 1-D array of m horizons.

    Returns:
        Shape (n,) for a scalar ``t``, (n, m) for an array: cumulative expectations, so the
        purchases expected in a period are differences of adjacent columns.

    Raises:
        ValidationError: the hypergeometric function gave no finite value.
    """
    x, tx, T = (np.atleast_1d(np.asarray(v, dtype=float)) for v in (frequency, recency, T))
    horizons = np.asarray(t, dtype=float)
    r, alpha, a, b = params.as_array()
    alive = _alive_purchases(r, alpha, a, b, x[:, None], T[:, None],
                             np.atleast_1d(horizons)[None, :])
    out = p_alive(params, x, tx, T)[:, None] * alive
    if not np.isfinite(out).all():
        raise ValidationError(f"BG/NBD expectation is not finite for parameters {params}")
    return out[:, 0] if horizons.ndim == 0 else out


def new_customer_expected_purchases(params: BGNBDParams, t) -> np.ndarray:
    """Expected repeat purchases in ``(0, t]`` of a customer who first bought at time 0
    (the paper's equation (9)); the shape of ``t``.

    Raises:
        ValidationError: the hypergeometric function gave no finite value.
    """
    r, alpha, a, b = params.as_array()
    out = _alive_purchases(r, alpha, a, b, 0.0, 0.0, np.asarray(t, dtype=float))
    if not np.isfinite(out).all():
        raise ValidationError(f"BG/NBD expectation is not finite for parameters {params}")
    return out


def cohort_repeat_purchases(params, t) -> np.ndarray:
    """Expected repeat purchases in each period of new customers, one arriving per period.

    Args:
        params: fitted purchase-model parameters (``BGNBDParams``, ``ParetoNBDParams``).
        t: edges of consecutive periods from the origin, ``t[0] = 0``, increasing.

    Returns:
        Per period ``k``, the repeat purchases expected in it from one customer arriving in
        each period ``j <= k``, arrivals spread evenly over a period (the midpoints of
        ``_MOMENTS`` slices): so a cohort's repeats in the period it arrives count too, and a
        customer's expectation is :func:`new_customer_expected_purchases` since arrival.
    """
    t = np.asarray(t, dtype=float)
    share = (np.arange(_MOMENTS) + 0.5) / _MOMENTS
    arrival = t[:-1, None] + share[None, :] * np.diff(t)[:, None]  # (period, moment)
    since = np.clip(t[:, None, None] - arrival[None], 0, None)  # (edge, period, moment)
    repeats = np.diff(params.new_customer_purchases(since), axis=0)
    return repeats.mean(axis=2).sum(axis=1)


def conditional_expected_spend(params: GammaGammaParams, frequency, monetary) -> np.ndarray:
    """Expected value of each customer's future transactions given ``frequency`` repeat
    purchases of mean value ``monetary``: ``(1 - w) p v / (q - 1) + w monetary`` with
    ``w = p x / (p x + q - 1)`` (note 025, equation 5); the population mean where x = 0."""
    x = np.asarray(frequency, dtype=float)
    m = np.where(x > 0, np.asarray(monetary, dtype=float), 0.0)
    weight = params.p * x / (params.p * x + params.q - 1)
    return (1 - weight) * params.mean + weight * m


# The purchase model's interface (see BGNBDParams).
BGNBDParams.model_name = "bgnbd"
BGNBDParams.log_likelihood = bgnbd_log_likelihood
BGNBDParams.p_alive = p_alive
BGNBDParams.expected_purchases = conditional_expected_purchases
BGNBDParams.new_customer_purchases = new_customer_expected_purchases
