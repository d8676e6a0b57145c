"""Probability calibration and the cost-based decision threshold of the churn models."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sklearn.isotonic import IsotonicRegression
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import log_loss
from sklearn.model_selection import StratifiedKFold

from forecast.schemas import CalibrationMethod

EPSILON = 1e-6


@dataclass
class Calibrator:
    """Maps a candidate's raw probability to a calibrated one (sigmoid on the logit, isotonic)."""

    method: str

    def fit(self, raw: np.ndarray, y: np.ndarray) -> Calibrator:
        if self.method == "sigmoid":
            self.model_ = LogisticRegression(C=1e6).fit(_logit(raw)[:, None], y)
        elif self.method == "isotonic":
            self.model_ = IsotonicRegression(out_of_bounds="clip").fit(raw, y)
        return self

    def transform(self, raw: np.ndarray) -> np.ndarray:
        if self.method == "sigmoid":
            out = self.model_.predict_proba(_logit(raw)[:, None])[:, 1]
        elif self.method == "isotonic":
            out = self.model_.predict(raw)
        else:
            out = raw
        return np.clip(out, EPSILON, 1 - EPSILON)


def _logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(p, EPSILON, 1 - EPSILON)
    return np.log(p / (1 - p))


def cross_fit_calibration(raw: np.ndarray, y: np.ndarray, method: str, *, n_folds: int,
                          seed: int) -> np.ndarray:
    """Calibrated out-of-fold probabilities, each fold's calibrator fitted on the other folds
    (``n_folds`` stratified folds, shuffled with ``seed``)."""
    out = np.empty_like(raw)
    folds = StratifiedKFold(n_folds, shuffle=True, random_state=seed)
    for train, test in folds.split(raw[:, None], y):
        out[test] = Calibrator(method).fit(raw[train], y[train]).transform(raw[test])
    return out


def choose_threshold(y_true: np.ndarray, proba: np.ndarray, cost_missed_churner: float,
                     cost_wasted_action: float) -> float:
    """The probability threshold with the lowest total cost on validation predictions.

    Customers with ``proba >= threshold`` get a retention action. Cost = missed churners x
    ``cost_missed_churner`` + actions on customers who stay x ``cost_wasted_action``. Ties go to
    the highest threshold (fewest actions).
    """
    y_true = np.asarray(y_true, dtype=int)
    proba = np.asarray(proba, dtype=float)
    candidates = np.unique(np.concatenate([proba, [np.inf]]))
    order = np.argsort(-proba, kind="mergesort")
    sorted_p, sorted_y = proba[order], y_true[order]
    # Acting on everyone at or above candidate t = acting on the first k sorted customers.
    k = np.searchsorted(-sorted_p, -candidates, side="right")
    caught = np.concatenate([[0], np.cumsum(sorted_y)])[k]
    wasted = k - caught
    cost = (y_true.sum() - caught) * cost_missed_churner + wasted * cost_wasted_action
    best = np.flatnonzero(cost == cost.min())
    return float(candidates[best[-1]])


def choose_calibration(raw: np.ndarray, y: np.ndarray, calibration: CalibrationMethod, *,
                       n_folds: int, seed: int) -> tuple[str, np.ndarray]:
    """The calibration method (``calibration``, or the best on cross-fitted log-loss when it is
    ``auto``) and its cross-fitted probabilities."""
    methods = ["none", "sigmoid", "isotonic"] if calibration == "auto" else [calibration]
    scored = [(m, cross_fit_calibration(raw, y, m, n_folds=n_folds, seed=seed))
              for m in methods]
    return min(scored, key=lambda s: log_loss(y, s[1], labels=[0, 1]))
