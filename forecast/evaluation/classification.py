"""Metrics for churn classifiers: ranking, calibration and targeting.

``y_true`` is 1 for a churner and 0 for a customer who stayed; ``proba`` is the predicted churn
probability. Ranking of the top fraction breaks ties by input order (stable sort), so results are
reproducible.
"""

from __future__ import annotations

import math
from statistics import NormalDist

import numpy as np
import pandas as pd
from sklearn.metrics import average_precision_score, brier_score_loss, log_loss, roc_auc_score

from forecast.errors import ValidationError


def _check(y_true, proba) -> tuple[np.ndarray, np.ndarray]:
    y = np.asarray(y_true, dtype=float)
    p = np.asarray(proba, dtype=float)
    if y.shape != p.shape or y.ndim != 1 or len(y) == 0:
        raise ValidationError(f"labels and probabilities must be 1-D and the same non-zero "
                              f"length; got {y.shape} and {p.shape}")
    if not np.isin(y, (0, 1)).all():
        raise ValidationError("labels must be 0 or 1")
    if np.isnan(p).any() or (p < 0).any() or (p > 1).any():
        raise ValidationError("probabilities must lie in [0, 1] without NaN")
    return y.astype(int), p


def _bins(proba: np.ndarray, n_bins: int) -> np.ndarray:
    """Equal-width bin of each probability; 1.0 falls in the last bin."""
    return np.minimum((proba * n_bins).astype(int), n_bins - 1)


def reliability_curve(y_true, proba, n_bins: int = 10) -> pd.DataFrame:
    """Observed churn rate against mean predicted probability in equal-width bins.

    Returns:
        One row per non-empty bin: ``bin_lower, bin_upper, proba_mean, observed_rate, count``.
    """
    y, p = _check(y_true, proba)
    frame = pd.DataFrame({"bin": _bins(p, n_bins), "y": y, "p": p})
    out = frame.groupby("bin").agg(proba_mean=("p", "mean"), observed_rate=("y", "mean"),
                                   count=("y", "size")).reset_index()
    out.insert(1, "bin_lower", out["bin"] / n_bins)
    out.insert(2, "bin_upper", (out["bin"] + 1) / n_bins)
    return out.drop(columns="bin")


def expected_calibration_error(y_true, proba, n_bins: int = 10) -> float:
    """Sum over equal-width bins of (bin share of customers) x |observed rate - mean proba|."""
    curve = reliability_curve(y_true, proba, n_bins)
    weights = curve["count"] / curve["count"].sum()
    return float((weights * (curve["observed_rate"] - curve["proba_mean"]).abs()).sum())


def lift_and_capture(y_true, proba, fraction: float = 0.1) -> tuple[float, float]:
    """Lift and capture of the riskiest ``ceil(fraction x n)`` customers.

    Returns:
        ``(lift, capture)``: lift = churn rate in the top / overall churn rate; capture = share
        of all churners that are in the top. Both NaN when there is no churner.
    """
    y, p = _check(y_true, proba)
    if not 0 < fraction <= 1:
        raise ValidationError(f"fraction must be in (0, 1]; got {fraction}")
    top = y[np.argsort(-p, kind="mergesort")[: math.ceil(fraction * len(y))]]
    if y.sum() == 0:
        return float("nan"), float("nan")
    return float(top.mean() / y.mean()), float(top.sum() / y.sum())


def gains_chart(y_true, proba, n_bins: int = 10) -> pd.DataFrame:
    """Cumulative gains: targeting the riskiest share of customers, what share of churners.

    Returns:
        One row per step ``k = 1..n_bins``: ``fraction_targeted`` (k / n_bins), ``customers``,
        ``churners_caught``, ``capture`` (share of all churners caught) and ``lift``.
    """
    y, p = _check(y_true, proba)
    caught = np.cumsum(y[np.argsort(-p, kind="mergesort")])
    fractions = np.arange(1, n_bins + 1) / n_bins
    customers = np.ceil(fractions * len(y) - 1e-9).astype(int)
    churners = caught[customers - 1]
    total = max(int(y.sum()), 1)
    return pd.DataFrame({
        "fraction_targeted": fractions, "customers": customers, "churners_caught": churners,
        "capture": churners / total,
        "lift": (churners / customers) / (total / len(y)),
    })


def roc_auc_interval(y_true, proba, level: float = 0.95) -> tuple[float, float, float]:
    """ROC-AUC and its ``level`` confidence interval from the Hanley & McNeil (1982) standard
    error, ``sqrt((A(1-A) + (n1-1)(Q1-A^2) + (n0-1)(Q2-A^2)) / (n1 n0))`` with ``Q1 = A/(2-A)``
    and ``Q2 = 2A^2/(1+A)``, ``n1`` churners and ``n0`` stayers; the bounds are clipped to
    [0, 1]. NaN for all three without both classes."""
    y, p = _check(y_true, proba)
    n1, n0 = int(y.sum()), int(len(y) - y.sum())
    if n1 == 0 or n0 == 0:
        return float("nan"), float("nan"), float("nan")
    auc = float(roc_auc_score(y, p))
    q1, q2 = auc / (2 - auc), 2 * auc**2 / (1 + auc)
    se = math.sqrt(max(auc * (1 - auc) + (n1 - 1) * (q1 - auc**2) + (n0 - 1) * (q2 - auc**2),
                       0.0) / (n1 * n0))
    z = NormalDist().inv_cdf(0.5 + level / 2)
    return auc, max(0.0, auc - z * se), min(1.0, auc + z * se)


def ranking_skill(y_true, proba) -> dict[str, float]:
    """How well held-out predictions rank churners: ``roc_auc`` with its 95 % interval
    ``roc_auc_low, roc_auc_high`` (:func:`roc_auc_interval`), ``rows`` and ``base_rate``."""
    auc, low, high = roc_auc_interval(y_true, proba)
    y = np.asarray(y_true, dtype=float)
    return {"roc_auc": auc, "roc_auc_low": low, "roc_auc_high": high, "rows": float(len(y)),
            "base_rate": float(y.mean()) if len(y) else float("nan")}


def without_skill(skill: dict[str, float] | None) -> bool:
    """Whether a :func:`ranking_skill` says the model ranks no better than chance: the ROC-AUC's
    interval reaches 0.5."""
    return skill is not None and math.isfinite(skill["roc_auc_low"]) and \
        skill["roc_auc_low"] <= 0.5


def no_skill_note(skill: dict[str, float] | None) -> str | None:
    """A sentence for a reader of churn scores when a :func:`ranking_skill` says the model
    ranks churners no better than chance (:func:`without_skill`); None otherwise."""
    if not without_skill(skill):
        return None
    return (f"the churn model ranks customers no better than chance on held-out data (ROC-AUC "
            f"{skill['roc_auc']:.3f}, 95% interval {skill['roc_auc_low']:.3f} to "
            f"{skill['roc_auc_high']:.3f}, {int(skill['rows']):,} rows): its probabilities stay "
            f"near the base rate ({skill['base_rate']:.0%}) for everyone, so the risk tiers, the "
            "riskiest customers and their reasons do not single anyone out; the revenue at risk "
            "holds only as a total")


def classification_metrics(y_true, proba, n_bins: int = 10) -> dict[str, float]:
    """Every churn metric in one mapping.

    Returns:
        ``n, base_rate, roc_auc`` with its 95 % interval ``roc_auc_low, roc_auc_high``
        (:func:`roc_auc_interval`), ``pr_auc`` (average precision), ``brier, log_loss, ece``,
        ``lift_top_decile, capture_top_decile``.
    """
    y, p = _check(y_true, proba)
    both = len(np.unique(y)) == 2
    lift, capture = lift_and_capture(y, p, 0.1)
    auc, low, high = roc_auc_interval(y, p)
    return {
        "n": len(y),
        "base_rate": float(y.mean()),
        "roc_auc": auc,
        "roc_auc_low": low,
        "roc_auc_high": high,
        "pr_auc": float(average_precision_score(y, p)) if both else float("nan"),
        "brier": float(brier_score_loss(y, p)),
        "log_loss": float(log_loss(y, np.clip(p, 1e-15, 1 - 1e-15), labels=[0, 1])),
        "ece": expected_calibration_error(y, p, n_bins),
        "lift_top_decile": lift,
        "capture_top_decile": capture,
    }
