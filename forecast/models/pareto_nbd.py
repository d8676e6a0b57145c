"""Pareto/NBD purchases: the maximum-likelihood fit and its expectations, in numpy.

The Pareto/NBD (Schmittlein, Morrison and Colombo 1987, "Counting your customers: who are
they and what will they do next?", Management Science 33(1)) is the BG/NBD's elder: while
alive a customer buys as a Poisson process of rate ``lambda ~ Gamma(r, alpha)``, and stays
alive for an exponential time of rate ``mu ~ Gamma(s, beta)``, whether they buy or not. The
BG/NBD lets a customer leave only right after a purchase, so frequent buyers leave sooner; in
the Pareto/NBD leaving is a matter of time. Which one describes a customer base is an
empirical question: :class:`~forecast.models.customer_base.CustomerBaseForecaster` fits both
and keeps the likelier (both have four parameters).

The formulas are those of Fader and Hardie's note 009 ("A note on deriving the Pareto/NBD
model and related expressions", 2005) and the reference implementation ``lifetimes``, whose
likelihood, P(alive) and expectations these reproduce:

* the log-likelihood of ``(x, t_x, T)`` is equation (18); its term ``A0``, a difference of two
  hypergeometric functions, is computed in logs with each ``2F1(a, b; a + 1; z)`` under Euler's
  transformation ``(1 - z)^(1-b) 2F1(1, a + 1 - b; a + 1; z)``: the new function is at least 1
  and at most ``a / (b - 1)`` for ``b > 1``, so frequent buyers neither overflow nor underflow
  it (lifetimes' direct form gives no finite value at a hundred-odd repeat purchases when
  ``beta >> alpha``);
* P(alive) is equation (37); the conditional expectation of purchases in ``(T, T + t]`` is
  equation (41) and a new customer's is equation (17), with ``(1 - u^(s-1)) / (s - 1)``
  written with ``expm1`` and ``log1p`` so that ``s`` near 1 is exact.

The fit maximises the mean log-likelihood over the log-parameters (L-BFGS-B, numerical
gradient, Nelder-Mead polishing) on times scaled to a largest ``T`` of 1, with the BG/NBD's
L2 penalty ``penalizer_coef * sum(params ** 2)`` (lifetimes puts it on the summed likelihood).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import expit, gammaln, hyp2f1

from forecast.errors import ValidationError
from forecast.models.customer_base_fit import _arrays, check_rfm, minimise_log_params


@dataclass(frozen=True)
class ParetoNBDParams:
    """Fitted Pareto/NBD parameters; ``alpha`` and ``beta`` in the time unit of the data.

    A purchase model like ``BGNBDParams``: ``model_name``, ``log_likelihood``, ``p_alive``,
    ``expected_purchases`` and ``new_customer_purchases`` are bound at the end of the module.
    """

    r: float
    alpha: float
    s: float
    beta: float

    def as_array(self) -> np.ndarray:
        """``[r, alpha, s, beta]``."""
        return np.array([self.r, self.alpha, self.s, self.beta])


def _log_f(a, b, big, small, y):
    """``log(2F1(a, b; a + 1; z) / (big + y)^a)``, ``z = (big - small) / (big + y)``, by Euler's
    transformation ``2F1(a, b; a + 1; z) = (1 - z)^(1 - b) 2F1(1, a + 1 - b; a + 1; z)`` with
    ``1 - z = (small + y) / (big + y)``: the new function is at least 1 and at most
    ``a / (b - 1)`` for ``b > 1`` (it grows as ``(1 - z)^(b - 1)`` below), so nothing overflows."""
    ratio = np.log(big + y) - np.log(small + y)
    return -a * np.log(big + y) + (b - 1.0) * ratio + np.log(_hyp2f1_one(
        a + 1.0 - b, a + 1.0, (big - small) / (big + y)))


def _hyp2f1_one(second, c, z) -> np.ndarray:
    """``2F1(1, second; c; z)`` for ``0 <= z < 1``. Scipy gives infinity or NaN near ``z = 1``
    when ``c - 1 - second`` is a whole number (its ``1 - z`` transformation degenerates: an
    integer ``r``); there the value is taken at ``second`` moved by 1e-7 of itself, where the
    function is continuous and scipy exact (relative change about 1e-7)."""
    second, c, z = np.broadcast_arrays(*(np.asarray(v, dtype=float) for v in (second, c, z)))
    out = np.array(hyp2f1(1.0, second, c, z), dtype=float)
    bad = ~np.isfinite(out)
    if bad.any():
        out[bad] = hyp2f1(1.0, second[bad] * (1 + 1e-7) + 1e-7, c[bad], z[bad])
    return out


def _log_a0(r, alpha, s, beta, x, tx, T):
    """log of note 009's ``A0``: ``F(t_x) - F(T)`` (-inf where ``t_x = T``)."""
    a = r + s + x
    if alpha >= beta:
        b, big, small = s + 1.0, alpha, beta
    else:
        b, big, small = r + x, beta, alpha
    first, second = _log_f(a, b, big, small, tx), _log_f(a, b, big, small, T)
    with np.errstate(divide="ignore", invalid="ignore"):
        gap = -np.expm1(np.minimum(second - first, 0.0))
        return np.where(tx < T, first + np.log(gap), -np.inf)


def log_likelihood(params, frequency, recency, T) -> np.ndarray:
    """Each customer's Pareto/NBD log-likelihood (note 009, equation (18))."""
    r, alpha, s, beta = (params.as_array() if isinstance(params, ParetoNBDParams)
                         else np.asarray(params, dtype=float))
    x, tx, T = (np.asarray(v, dtype=float) for v in (frequency, recency, T))
    log_a0 = _log_a0(r, alpha, s, beta, x, tx, T)
    tail = np.logaddexp(-(r + x) * np.log(alpha + T) - s * np.log(beta + T),
                        np.log(s) - np.log(r + s + x) + log_a0)
    return gammaln(r + x) - gammaln(r) + r * np.log(alpha) + s * np.log(beta) + tail


def _objective(log_params, x, tx, T, w, penalizer):
    params = np.exp(log_params)
    with np.errstate(all="ignore"):
        ll = log_likelihood(params, x, tx, T)
    value = -(w @ ll) / w.sum() + penalizer * np.sum(params ** 2)
    return value if np.isfinite(value) else np.inf


def fit_pareto_nbd(frequency, recency, T, penalizer_coef: float = 0.0,
                   weights=None) -> ParetoNBDParams:
    """Maximum-likelihood Pareto/NBD parameters of a customer base.

    Args:
        frequency, recency, T: the customers' summaries, as for ``fit_bgnbd``.
        penalizer_coef: L2 penalty on the parameters fitted on times scaled to a largest T of
            1, added to the mean negative log-likelihood; 0 for the plain maximum likelihood.
        weights: customers per row.

    Raises:
        ValidationError: invalid summaries, no repeat purchase at all, or a fit that does not
            converge or runs to a parameter bound.
    """
    x, tx, T = check_rfm(frequency, recency, T)
    w = np.ones_like(x) if weights is None else _arrays(weights, x)[0]
    if not (x > 0).any():
        raise ValidationError("Pareto/NBD: no customer has a repeat purchase; cannot fit")
    patterns, inverse = np.unique(np.stack([x, tx, T], axis=1), axis=0, return_inverse=True)
    (x, tx, T), w = patterns.T, np.bincount(inverse.ravel(), weights=w)
    scale = 1.0 / T.max()
    log_params = minimise_log_params(_objective, 4, (x, tx * scale, T * scale, w,
                                                     float(penalizer_coef)), "Pareto/NBD",
                                     gradient=False)
    r, alpha, s, beta = np.exp(log_params)
    return ParetoNBDParams(float(r), float(alpha / scale), float(s), float(beta / scale))


def p_alive(params: ParetoNBDParams, frequency, recency, T) -> np.ndarray:
    """Probability that each customer is still alive at ``T`` (note 009, equation (37))."""
    r, alpha, s, beta = params.as_array()
    x, tx, T = (np.asarray(v, dtype=float) for v in (frequency, recency, T))
    log_a0 = _log_a0(r, alpha, s, beta, x, tx, T)
    with np.errstate(divide="ignore"):
        odds = (np.log(s) - np.log(r + s + x) + (r + x) * np.log(alpha + T)
                + s * np.log(beta + T) + log_a0)
    return expit(-odds)


def _survival_integral(s: float, span) -> np.ndarray:
    """``(1 - (1 + span)^-(s-1)) / (s - 1)``, its limit ``log1p(span)`` at ``s = 1``."""
    log_growth = np.log1p(np.asarray(span, dtype=float))
    k = s - 1.0
    if abs(k) < 1e-12:
        return log_growth
    return -np.expm1(-k * log_growth) / k


def conditional_expected_purchases(params: ParetoNBDParams, frequency, recency, T,
                                   t) -> np.ndarray:
    """Expected purchases of each customer in ``(T, T + t]`` given their history (note 009,
    equation (41)); shape (n,) for a scalar ``t``, (n, m) for m horizons, as the BG/NBD's."""
    r, alpha, s, beta = params.as_array()
    x, tx, T = (np.atleast_1d(np.asarray(v, dtype=float)) for v in (frequency, recency, T))
    horizons = np.asarray(t, dtype=float)
    alive = p_alive(params, x, tx, T)[:, None]
    rate = ((r + x) / (alpha + T) * (beta + T))[:, None]
    out = alive * rate * _survival_integral(s, np.atleast_1d(horizons)[None, :]
                                            / (beta + T)[:, None])
    if not np.isfinite(out).all():
        raise ValidationError(f"Pareto/NBD expectation is not finite for parameters {params}")
    return out[:, 0] if horizons.ndim == 0 else out


def new_customer_expected_purchases(params: ParetoNBDParams, t) -> np.ndarray:
    """Expected repeat purchases in ``(0, t]`` of a customer who first bought at time 0
    (note 009, equation (17)); the shape of ``t``."""
    r, alpha, s, beta = params.as_array()
    return r * beta / alpha * _survival_integral(s, np.asarray(t, dtype=float) / beta)


# The purchase model's interface (see BGNBDParams).
ParetoNBDParams.model_name = "pareto_nbd"
ParetoNBDParams.log_likelihood = log_likelihood
ParetoNBDParams.p_alive = p_alive
ParetoNBDParams.expected_purchases = conditional_expected_purchases
ParetoNBDParams.new_customer_purchases = new_customer_expected_purchases
