"""Forecast reconciliation: incoherent base forecasts of every series made to add up.

Each method is a small reconciler object, as in hierarchicalforecast: ``BottomUp()``,
``OLS()``, ``WLSVar()`` and ``MinTraceShrink(fallback=...)``, with
``reconcile(forecasts, hierarchy, residuals)``; :func:`reconciler` maps the config's method
names to them. Every method is linear: the reconciled bottom forecasts are ``b = G @ yhat`` and
the coherent forecasts of all series are ``S @ b``, computed for all periods at once as matrix
products.

- ``bottom_up``: ``b`` is the base forecasts of the bottom series; aggregates are their sums.
- ``ols``: ``G = (S'S)^-1 S'``, the orthogonal projection onto the coherent subspace.
- ``mint_shrink``: ``G = (S'W^-1 S)^-1 S'W^-1`` (MinT, Wickramasuriya, Athanasopoulos & Hyndman
  2019) with ``W`` the Schäfer-Strimmer shrinkage estimate of the covariance of the one-step
  residuals: the sample (uncentred) covariance shrunk towards its diagonal with the intensity
  that minimises the estimated mean squared error of the correlations.
- ``wls_var``: the same with ``W`` diagonal, each series' mean squared residual. A series
  without residuals (a store newer than the backtest window, or closed through it) gets the
  median variance of its grain relative to the squared forecast level, times its own squared
  level. ``MinTraceShrink(fallback=WLSVar())`` (the config's ``mint_shrink``) falls back to it
  when some series have no residuals or fewer than two periods have one for every series.

Intervals are reconciled by shifting: each bound of a series moves by the change its ``yhat``
received. That keeps every interval's width (and so ``lo <= yhat <= hi`` when it held before),
but the intervals stay those of the base models: an aggregate's interval is not derived from
its bottom series' intervals, and the bounds themselves are not coherent. A lower bound at
exactly zero stays there when its ``yhat`` rises: it is the floor of sales that cannot go
below zero, where the days without a sale sit; lifted by a few cents, it left out every such
day (on daily stores with a sale every other day, 80 % intervals covered 60 %).
"""

from __future__ import annotations

import logging
from typing import ClassVar

import numpy as np
import pandas as pd
from scipy import linalg
from sklearn.base import BaseEstimator

from forecast.errors import ValidationError
from forecast.hierarchy.structure import Hierarchy, require_columns, series_matrix
from forecast.schemas import DS, UNIQUE_ID, YHAT, ReconcileMethod

log = logging.getLogger(__name__)

RESIDUAL = "residual"
# A series whose residuals are all 0 would get infinite weight; its variance is floored at
# this share of the largest variance so W stays positive definite.
_VARIANCE_FLOOR = 1e-9
# Fewest periods with a residual for every series that a covariance is estimated from.
MIN_PERIODS = 2


def shrunk_covariance(errors: np.ndarray) -> tuple[np.ndarray, float]:
    """Schäfer-Strimmer shrinkage of the residual covariance towards its diagonal.

    As ``shrink.estim`` of the R packages hts / FoReco: the covariance is the uncentred second
    moment ``E'E / T``; the intensity is ``sum Var(r_ij) / sum r_ij^2`` over the off-diagonal
    correlations ``r_ij``, clipped to [0, 1] (1 when every correlation is 0).

    Args:
        errors: residuals, (n_periods x n_series), no missing values, at least 2 periods.

    Returns:
        The shrunk covariance (n_series x n_series) and the shrinkage intensity lambda.
    """
    periods = errors.shape[0]
    covariance = errors.T @ errors / periods
    std = np.sqrt(np.diag(covariance))
    safe = np.where(std > 0, std, 1.0)
    scaled = errors / safe
    correlation = covariance / np.outer(safe, safe)
    np.fill_diagonal(correlation, 0.0)
    squared = scaled**2
    variance = (squared.T @ squared - (scaled.T @ scaled) ** 2 / periods) / (
        periods * (periods - 1))
    np.fill_diagonal(variance, 0.0)
    spread = float(np.sum(correlation**2))
    intensity = 1.0 if spread == 0 else float(np.clip(variance.sum() / spread, 0.0, 1.0))
    diagonal = np.diag(covariance)
    shrunk = (1 - intensity) * covariance
    floor = _VARIANCE_FLOOR * max(float(diagonal.max(initial=0.0)), 1.0)
    shrunk[np.diag_indices_from(shrunk)] = np.maximum(diagonal, floor)
    return shrunk, intensity


def residual_matrix(residuals: pd.DataFrame | None, hierarchy: Hierarchy) -> np.ndarray:
    """Residuals as (n_periods x n_series), keeping the periods where every series has one.

    Raises:
        ValidationError: ``residuals`` is None, lacks columns, misses a series, or fewer than 2
            periods have a residual for every series.
    """
    if residuals is None:
        raise ValidationError(
            "method 'mint_shrink' needs residuals: a frame unique_id, ds, residual of in-sample "
            "or backtest errors (y - yhat) for every series; pass residuals= or use 'ols'")
    require_columns(residuals, [UNIQUE_ID, DS, RESIDUAL], "residuals")
    matrix = series_matrix(residuals, hierarchy, RESIDUAL, "residuals", complete=False)
    absent = ~matrix.observed.any(axis=1)
    if absent.any():
        raise ValidationError(f"residuals: none for series {hierarchy.unique_ids[absent][0]!r} "
                              f"({int(absent.sum())} series without residuals)")
    complete = matrix.observed.all(axis=0)
    if complete.sum() < MIN_PERIODS:
        raise ValidationError(
            f"residuals: only {int(complete.sum())} period(s) have a residual for every series; "
            "the covariance needs at least 2")
    return matrix.values[:, complete].T


def _complete_periods(residuals: pd.DataFrame, hierarchy: Hierarchy) -> int:
    """How many periods have a residual for every series of the hierarchy."""
    require_columns(residuals, [UNIQUE_ID, DS, RESIDUAL], "residuals")
    known = residuals[residuals[UNIQUE_ID].isin(hierarchy.unique_ids)].dropna(subset=[RESIDUAL])
    counts = known.drop_duplicates([UNIQUE_ID, DS]).groupby(DS)[UNIQUE_ID].size()
    return int((counts == len(hierarchy.unique_ids)).sum())


def series_variances(residuals: pd.DataFrame | None, hierarchy: Hierarchy,
                     base: np.ndarray) -> np.ndarray:
    """Mean squared residual of every series; imputed for series without residuals.

    A series without residuals gets the median, over the series of its grain that have them
    (else over all), of ``variance / level**2`` times its own ``level**2``, where ``level`` is
    the mean absolute base forecast.

    Raises:
        ValidationError: ``residuals`` is None, lacks columns, or no series has any.
    """
    if residuals is None:
        raise ValidationError(
            "method 'wls_var' needs residuals: a frame unique_id, ds, residual of backtest "
            "errors (y - yhat); pass residuals= or use 'ols'")
    require_columns(residuals, [UNIQUE_ID, DS, RESIDUAL], "residuals")
    known = residuals[residuals[UNIQUE_ID].isin(hierarchy.unique_ids)]
    matrix = series_matrix(known, hierarchy, RESIDUAL, "residuals", complete=False)
    counts = matrix.observed.sum(axis=1)
    if not counts.any():
        raise ValidationError("residuals: none for any series of the hierarchy")
    squares = np.where(matrix.observed, matrix.values**2, 0.0).sum(axis=1)
    variances = np.where(counts > 0, squares / np.maximum(counts, 1), np.nan)
    level = np.maximum(np.abs(base).mean(axis=1), 1e-12)
    relative = variances / level**2
    grains = hierarchy.series["grain"].astype(str).to_numpy()
    for row in np.flatnonzero(counts == 0):
        peers = relative[(grains == grains[row]) & (counts > 0)]
        pool = peers if len(peers) else relative[counts > 0]
        variances[row] = float(np.median(pool)) * level[row] ** 2
    floor = _VARIANCE_FLOOR * max(float(variances.max(initial=0.0)), 1.0)
    return np.maximum(variances, floor)


def _generalised_least_squares(
    hierarchy: Hierarchy, base: np.ndarray, weighted_summing: np.ndarray
) -> np.ndarray:
    """Bottom forecasts ``(S' W^-1 S)^-1 (W^-1 S)' base`` given ``weighted_summing = W^-1 S``."""
    normal = np.asarray(hierarchy.summing.T @ weighted_summing)
    try:
        return linalg.solve(normal, weighted_summing.T @ base, assume_a="pos")
    except linalg.LinAlgError as error:
        raise ValidationError(f"reconciliation: the normal equations are singular ({error})"
                              ) from error


def interval_bound_columns(frame: pd.DataFrame) -> list[str]:
    """The ``yhat_lo_<level>`` and ``yhat_hi_<level>`` columns of a forecast frame."""
    return [c for c in frame.columns if c.startswith((f"{YHAT}_lo_", f"{YHAT}_hi_"))]


class Reconciler(BaseEstimator):
    """A reconciliation method: base forecasts of every series in, coherent forecasts out.

    Subclasses give :meth:`bottom`, the reconciled bottom forecasts of a base matrix; every
    method is linear, so the coherent forecasts of all series are ``S @ bottom``.
    """

    name: ClassVar[str]

    def bottom(self, base: np.ndarray, hierarchy: Hierarchy,
               residuals: pd.DataFrame | None) -> np.ndarray:
        """Reconciled bottom forecasts (n_bottom x n_periods) of base (n_series x n_periods)."""
        raise NotImplementedError

    def resolve(self, hierarchy: Hierarchy, residuals: pd.DataFrame | None) -> Reconciler:
        """The reconciler that will run for these residuals (this one; see MinTraceShrink)."""
        return self

    def reconcile(self, forecasts: pd.DataFrame, hierarchy: Hierarchy,
                  residuals: pd.DataFrame | None = None) -> pd.DataFrame:
        """Make base forecasts coherent: every aggregate the sum of its bottom series.

        Args:
            forecasts: base forecasts of one model, ``unique_id, ds, yhat`` and optional
                ``yhat_lo_<level>, yhat_hi_<level>`` (other columns are kept as they are), one
                row per series of the hierarchy and period, every series in every period.
            hierarchy: from :func:`build_hierarchy`.
            residuals: backtest errors ``unique_id, ds, residual`` (y - yhat) for the methods
                that weigh series by them (``WLSVar``, ``MinTraceShrink``).

        Returns:
            A copy of ``forecasts`` in the same row order with coherent ``yhat`` (within 1e-6
            relative) and each interval bound shifted by the change of its row's ``yhat``.

        Raises:
            ValidationError: malformed or incomplete forecasts, or residuals that are missing
                or too few for the method.
        """
        method = self.resolve(hierarchy, residuals)
        base = series_matrix(forecasts, hierarchy, YHAT, "forecasts", complete=True)
        bottom = method.bottom(base.values, hierarchy, residuals)
        coherent = np.asarray(hierarchy.summing @ bottom)
        shift = (coherent - base.values)[base.rows, base.columns]
        reconciled = forecasts.copy()
        reconciled[YHAT] = coherent[base.rows, base.columns]
        for column in interval_bound_columns(forecasts):
            bound = forecasts[column].to_numpy(dtype=float, na_value=np.nan)
            moved = bound + shift
            if "_lo_" in column:
                # A lower bound at zero is the floor of sales that cannot go below it (the
                # point mass of days without a sale): a higher mean does not lift it.
                moved = np.where((bound == 0) & (shift > 0), 0.0, moved)
            reconciled[column] = moved
        return reconciled


class BottomUp(Reconciler):
    """The bottom series' base forecasts; every aggregate is their sum."""

    name = "bottom_up"

    def bottom(self, base, hierarchy, residuals):
        return base[hierarchy.n_aggregates:]


class OLS(Reconciler):
    """``G = (S'S)^-1 S'``: the orthogonal projection onto the coherent subspace."""

    name = "ols"

    def bottom(self, base, hierarchy, residuals):
        summing = hierarchy.summing.toarray()
        return _generalised_least_squares(hierarchy, base, summing)


class WLSVar(Reconciler):
    """Weighted least squares with each series' mean squared residual (imputed when absent)."""

    name = "wls_var"

    def bottom(self, base, hierarchy, residuals):
        variances = series_variances(residuals, hierarchy, base)
        summing = hierarchy.summing.toarray()
        return _generalised_least_squares(hierarchy, base, summing / variances[:, None])


class MinTraceShrink(Reconciler):
    """MinT with the shrunk residual covariance; ``fallback`` when it cannot be estimated.

    MinT weighs each series by its error covariance; a series with no errors at all (a store
    that opened after the backtest origins, or was closed through them) has no covariance.
    Nor is a covariance estimated from fewer than two periods with a residual for every series
    (a short backtest: quarterly data with one fold). With a ``fallback`` (the pipeline's is
    :class:`WLSVar`, which needs one residual per series and imputes a missing series' variance;
    on Favorita's backtest it beat the structure-only OLS at every level) that method runs
    instead, with a warning; without one, such residuals are refused.

    Args:
        fallback: the reconciler used when a series of the hierarchy has no residual or fewer
            than two periods have one for every series.
    """

    name = "mint_shrink"

    def __init__(self, fallback: Reconciler | None = None):
        self.fallback = fallback

    def resolve(self, hierarchy, residuals):
        if self.fallback is None or residuals is None:
            return self
        missing = set(hierarchy.unique_ids) - set(residuals[UNIQUE_ID])
        if missing:
            log.warning("%d series have no backtest residuals (e.g. %r): reconciling with %s "
                        "instead of %s", len(missing), min(missing), self.fallback.name,
                        self.name)
            return self.fallback.resolve(hierarchy, residuals)
        complete = _complete_periods(residuals, hierarchy)
        if complete < 2:
            log.warning("only %d period(s) have a backtest residual for every series, too few "
                        "for their covariance: reconciling with %s instead of %s", complete,
                        self.fallback.name, self.name)
            return self.fallback.resolve(hierarchy, residuals)
        return self

    def bottom(self, base, hierarchy, residuals):
        covariance, _ = shrunk_covariance(residual_matrix(residuals, hierarchy))
        try:
            weighted = linalg.solve(covariance, hierarchy.summing.toarray(), assume_a="pos")
        except linalg.LinAlgError as error:
            raise ValidationError(f"mint_shrink: the residual covariance is singular ({error})"
                                  ) from error
        return _generalised_least_squares(hierarchy, base, weighted)


RECONCILERS: dict[str, type[Reconciler]] = {
    cls.name: cls for cls in (BottomUp, OLS, WLSVar, MinTraceShrink)}


def reconciler(method: ReconcileMethod) -> Reconciler | None:
    """The reconciler a method name of the config stands for (None for ``"none"``).

    ``"mint_shrink"`` is ``MinTraceShrink(fallback=WLSVar())``: a forecast is never refused
    because a new store has no backtest errors.

    Raises:
        ValidationError: an unknown method name.
    """
    if method == "none":
        return None
    if method not in RECONCILERS:
        raise ValidationError(f"unknown reconciliation method {method!r}; expected one of "
                              f"{['none', *RECONCILERS]}")
    if method == MinTraceShrink.name:
        return MinTraceShrink(fallback=WLSVar())
    return RECONCILERS[method]()
