"""BG/NBD and Gamma-Gamma fits and expectations: lifetimes' results on its own CDNOW data, the
properties every expectation must have, and a simulated customer base of known parameters."""

from __future__ import annotations

import functools
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lifetimes import BetaGeoFitter, GammaGammaFitter
from lifetimes.datasets import load_cdnow_summary, load_cdnow_summary_data_with_monetary_value
from scipy.integrate import quad
from scipy.optimize import approx_fprime
from scipy.stats import beta as beta_dist

from forecast.errors import ValidationError
from forecast.models import customer_base_fit as cbf
from forecast.models.customer_base_fit import (
    BGNBDParams,
    GammaGammaParams,
    cohort_repeat_purchases,
    conditional_expected_purchases,
    conditional_expected_spend,
    fit_bgnbd,
    fit_gamma_gamma,
    new_customer_expected_purchases,
    p_alive,
)

HORIZONS = np.array([1.0, 10.0, 39.0, 100.0])  # weeks, CDNOW's unit


@functools.cache
def cdnow() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    frame = load_cdnow_summary()
    return (frame["frequency"].to_numpy(float), frame["recency"].to_numpy(float),
            frame["T"].to_numpy(float))


@functools.cache
def cdnow_repeat() -> tuple[np.ndarray, np.ndarray]:
    frame = load_cdnow_summary_data_with_monetary_value()
    frame = frame[frame["frequency"] > 0]
    return frame["frequency"].to_numpy(float), frame["monetary_value"].to_numpy(float)


def lifetimes_bgnbd(penalizer: float):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return BetaGeoFitter(penalizer_coef=penalizer).fit(*cdnow())


@pytest.mark.parametrize("penalizer", [0.0, 0.001, 0.1])
def test_bgnbd_matches_lifetimes_on_cdnow(penalizer):
    x, tx, T = cdnow()
    theirs = lifetimes_bgnbd(penalizer)
    ours = fit_bgnbd(x, tx, T, penalizer_coef=penalizer)
    np.testing.assert_allclose(ours.as_array(), theirs.params_[["r", "alpha", "a", "b"]],
                               rtol=1e-3)
    want = np.stack([theirs.conditional_expected_number_of_purchases_up_to_time(t, x, tx, T)
                     for t in HORIZONS], axis=1)
    assert np.isfinite(want).all()
    np.testing.assert_allclose(conditional_expected_purchases(ours, x, tx, T, HORIZONS), want,
                               rtol=1e-3)
    np.testing.assert_allclose(p_alive(ours, x, tx, T),
                               theirs.conditional_probability_alive(x, tx, T), atol=1e-4)
    np.testing.assert_allclose(new_customer_expected_purchases(ours, HORIZONS),
                               theirs.expected_number_of_purchases_up_to_time(HORIZONS),
                               rtol=1e-3)
    # The scalar horizon gives one value per customer, the column of the array's.
    np.testing.assert_allclose(conditional_expected_purchases(ours, x, tx, T, 39.0),
                               want[:, 2], rtol=1e-3)


def test_no_repeat_customers_expect_what_a_new_customer_with_their_age_would():
    """With x = 0 the customer is alive and lambda ~ Gamma(r, alpha + T): the expectation is
    lifetimes' unconditional one with alpha + T, also where lifetimes' own conditional formula
    gives NaN (the 0.01 penalty's a = 0.29 overflows its 2F1 at long horizons)."""
    x, tx, T = cdnow()
    theirs = lifetimes_bgnbd(0.01)
    ours = fit_bgnbd(x, tx, T, penalizer_coef=0.01)
    horizons = np.array([39.0, 100.0, 1000.0])
    shifted = theirs.params_.copy()
    shifted["alpha"] += T[0]
    theirs.params_ = shifted
    want = theirs.expected_number_of_purchases_up_to_time(horizons)
    got = conditional_expected_purchases(ours, np.zeros(1), np.zeros(1), T[:1], horizons)[0]
    np.testing.assert_allclose(got, want, rtol=1e-3)


@pytest.mark.parametrize("penalizer", [0.0, 0.001])
def test_gamma_gamma_matches_lifetimes_on_cdnow(penalizer):
    x, m = cdnow_repeat()
    theirs = GammaGammaFitter(penalizer_coef=penalizer).fit(x, m)
    ours = fit_gamma_gamma(x, m, penalizer_coef=penalizer)
    np.testing.assert_allclose([ours.p, ours.q, ours.v], theirs.params_[["p", "q", "v"]],
                               rtol=1e-3)
    np.testing.assert_allclose(conditional_expected_spend(ours, x, m),
                               theirs.conditional_expected_average_profit(x, m), rtol=1e-3)
    # Customers without repeat purchases get the population mean, whatever their value.
    assert conditional_expected_spend(ours, [0, 0], [0.0, 99.0]) == pytest.approx(
        [ours.mean, ours.mean])
    # Frequency-0 rows are left out of the fit.
    both = fit_gamma_gamma(np.r_[x, 0, 0], np.r_[m, 0, 0], penalizer_coef=penalizer)
    assert both == pytest.approx(ours)


def test_gamma_gamma_refuses_q_at_or_below_one():
    # lifetimes' penalty 0.01 drags CDNOW's q to 0.97: no finite population mean.
    with pytest.raises(ValidationError, match=r"q = 0\.96"):
        fit_gamma_gamma(*cdnow_repeat(), penalizer_coef=0.01)


def test_analytic_gradients_match_finite_differences():
    x, tx, T = cdnow()
    args = (x, tx / T.max(), T / T.max(), np.ones_like(x), 0.01)
    xm, m = cdnow_repeat()
    gg_args = (xm, m, np.ones_like(xm), 0.001)
    for objective, point, extra in ((cbf._bgnbd_objective, np.array([-1.0, 1.0, 0.5, -0.3]),
                                     args),
                                    (cbf._gg_objective, np.array([1.0, 0.5, 2.0]), gg_args)):
        numeric = approx_fprime(point, lambda z, o=objective, e=extra: o(z, *e)[0], 1e-7)
        np.testing.assert_allclose(objective(point, *extra)[1], numeric, rtol=1e-4, atol=1e-6)


def test_invalid_summaries_and_unidentified_fits_are_refused():
    with pytest.raises(ValidationError, match="recency must lie"):
        fit_bgnbd([1, 2], [5.0, 30.0], [10.0, 20.0])
    with pytest.raises(ValidationError, match="whole numbers"):
        fit_bgnbd([1.5], [1.0], [2.0])
    with pytest.raises(ValidationError, match="recency must be 0"):
        fit_bgnbd([0], [1.0], [2.0])
    with pytest.raises(ValidationError, match="no customer has a repeat purchase"):
        fit_bgnbd([0, 0], [0.0, 0.0], [3.0, 4.0])
    with pytest.raises(ValidationError, match="differ in length"):
        fit_bgnbd([0, 0], [0.0], [3.0, 4.0])
    with pytest.raises(ValidationError, match="no customer has a repeat purchase"):
        fit_gamma_gamma([0, 0], [0.0, 0.0])


def simulate(rng, n: int, params: BGNBDParams, T: np.ndarray, holdout: float):
    """A BG/NBD population: summaries at age ``T``, alive flags, purchases in ``holdout`` more.

    While alive, purchases are a Poisson process of rate lambda ~ Gamma(r, alpha); the
    customer drops out right after repeat purchase J ~ Geometric(p), p ~ Beta(a, b). Given N
    purchases in (0, T], their times are uniform order statistics, so the last observed one
    (the J-th if J <= N, else the N-th) is T times a Beta order statistic.
    """
    lam = rng.gamma(params.r, 1 / params.alpha, n)
    J = rng.geometric(rng.beta(params.a, params.b, n))
    N = rng.poisson(lam * T)
    dead = J <= N
    x = np.minimum(J, N)
    k = np.where(dead, J, N)
    tx = np.where(x > 0, T * rng.beta(np.maximum(k, 1), np.where(dead, N - J + 1, 1)), 0.0)
    future = np.where(dead, 0, np.minimum(J - N, rng.poisson(lam * holdout)))
    return x.astype(float), tx, T, ~dead, future


def test_a_simulated_base_is_recovered_and_its_holdout_expected():
    """5,000 customers aged 60-365 days, a 180-day holdout. With the true parameters, the
    expected holdout purchases and the count alive must match the simulation within 4
    standard errors of a sum of independent customers (sqrt of the summed squared residuals
    for purchases, sqrt(sum p (1 - p)) for the alive); the fit must recover the parameters
    within about 3 standard deviations of their spread over seeds (r 2 %, alpha 4 %, a 12 %,
    b 15 % of the true values, measured on 10 seeds) and its expectation be within 10 %."""
    true = BGNBDParams(0.5, 20.0, 1.5, 6.0)
    rng = np.random.default_rng(0)
    x, tx, T, alive, future = simulate(rng, 5000, true, rng.uniform(60, 365, 5000), 180.0)
    expected = conditional_expected_purchases(true, x, tx, T, 180.0)
    se = np.sqrt(np.sum((future - expected) ** 2))
    assert abs(future.sum() - expected.sum()) < 4 * se
    chance = p_alive(true, x, tx, T)
    assert abs(alive.sum() - chance.sum()) < 4 * np.sqrt(np.sum(chance * (1 - chance)))
    fitted = fit_bgnbd(x, tx, T)
    error = np.abs(fitted.as_array() / true.as_array() - 1)
    assert (error < [0.06, 0.12, 0.4, 0.45]).all(), fitted
    got = conditional_expected_purchases(fitted, x, tx, T, 180.0).sum()
    assert got == pytest.approx(future.sum(), rel=0.1)


def test_a_young_base_without_dropout_yet_needs_the_penalty():
    """3,000 customers at most 60 days old: the plain likelihood carries a and b along its ridge
    to where the expectation overflows (a clear ValidationError); the forecaster's default
    penalty 1e-6 fits, within 10 % of the holdout."""
    rng = np.random.default_rng(0)
    true = BGNBDParams(0.25, 28.0, 0.8, 2.5)
    x, tx, T, _, future = simulate(rng, 3000, true, rng.uniform(1, 60, 3000), 180.0)
    with pytest.raises(ValidationError, match="do not identify the dropout.*larger penalizer"):
        fit_bgnbd(x, tx, T)
    fitted = fit_bgnbd(x, tx, T, penalizer_coef=1e-6)
    got = conditional_expected_purchases(fitted, x, tx, T, 180.0).sum()
    assert got == pytest.approx(future.sum(), rel=0.1)


def _integral(params: BGNBDParams, x: float, T: float, t: float) -> float:
    """E[purchases in (T, T+t] | alive, x] by direct integration over p ~ Beta(a, b + x)."""
    def integrand(p):
        age = params.alpha + T
        return beta_dist.pdf(p, params.a, params.b + x) * (
            1 - (age / (age + p * t)) ** (params.r + x)) / p
    mode = params.a / (params.a + params.b + x)
    return quad(integrand, 0, 1, points=[mode], limit=500, epsabs=0, epsrel=1e-8)[0]


@pytest.mark.parametrize("a, b", [(0.3, 0.6), (3.0, 5.0), (1000.0, 3000.0)])
def test_expectation_agrees_with_direct_integration(a, b):
    """(a, b) in the thousands is where scipy's 2F1 fails and the Gauss-Jacobi rule takes over."""
    params = BGNBDParams(0.5, 10.0, a, b)
    for x, T, t in ((0, 30.0, 100.0), (3, 30.0, 10.0), (50, 120.0, 1000.0)):
        tx = 0.0 if x == 0 else T / 2
        got = conditional_expected_purchases(params, [x], [tx], [T], t)[0]
        want = p_alive(params, [x], [tx], [T])[0] * _integral(params, x, T, t)
        assert got == pytest.approx(want, rel=1e-6)


def test_a_cohort_counts_the_repeats_of_its_arrival_period():
    """One customer arriving uniformly over each period: the repeats expected in period k are
    the mean, over arrival times, of the unconditional expectation's increase in period k."""
    params = BGNBDParams(0.8, 30.0, 1.2, 5.0)
    t = np.array([0.0, 31.0, 59.0, 90.0])
    got = cohort_repeat_purchases(params, t)

    def e0(s):
        return float(new_customer_expected_purchases(params, max(s, 0.0)))

    want = [sum(quad(lambda s, k=k: e0(t[k + 1] - s) - e0(t[k] - s), t[j], t[j + 1])[0]
                / (t[j + 1] - t[j]) for j in range(k + 1)) for k in range(3)]
    np.testing.assert_allclose(got, want, rtol=1e-3)


bgnbd_params = st.builds(BGNBDParams, r=st.floats(0.05, 5), alpha=st.floats(0.5, 200),
                         a=st.floats(0.1, 5), b=st.floats(0.1, 20))


@settings(max_examples=60, deadline=None)
@given(params=bgnbd_params, x=st.integers(0, 60), age=st.floats(1, 1500),
       share=st.floats(0, 1), horizons=st.lists(st.floats(0, 3000), min_size=1, max_size=8))
def test_expectations_are_non_negative_and_grow_with_the_horizon(params, x, age, share,
                                                                horizons):
    tx = 0.0 if x == 0 else age * share
    t = np.sort(np.r_[0.0, horizons])
    got = conditional_expected_purchases(params, [x], [tx], [age], t)[0]
    assert got[0] == 0
    assert (got >= 0).all()
    assert (np.diff(got) >= -1e-9 * max(1.0, got.max())).all()
    new = new_customer_expected_purchases(params, t)
    assert (new >= 0).all() and (np.diff(new) >= -1e-9 * max(1.0, new.max())).all()
    alive = p_alive(params, [x], [tx], [age])[0]
    assert 0 <= alive <= 1
    if x == 0:
        assert alive == 1


@settings(max_examples=60, deadline=None)
@given(p=st.floats(0.1, 20), q=st.floats(1.05, 20), v=st.floats(0.1, 1000),
       x=st.integers(0, 50), m=st.floats(0.01, 1e4))
def test_expected_spend_lies_between_the_customer_and_the_population(p, q, v, x, m):
    params = GammaGammaParams(p, q, v)
    got = conditional_expected_spend(params, [x], [m])[0]
    if x == 0:
        assert got == pytest.approx(params.mean)
    else:
        lo, hi = sorted((m, params.mean))
        assert lo * (1 - 1e-9) <= got <= hi * (1 + 1e-9)
