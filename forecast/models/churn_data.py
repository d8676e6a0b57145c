"""Churn training tables: features and a 0/1 label, and the folds they are validated on.

Two kinds of training table are accepted:

* stacked customer snapshots (``customer_id, cutoff, <features>, churned``): validation is in
  time; each of the latest cutoffs is validated by a model trained only on cutoffs at least
  ``horizon_days`` earlier, whose labels were known by then;
* one row per customer with its own label column (``label_column``, e.g. Telco's ``Churn``):
  stratified K-fold.

When no snapshot cutoff can be validated in time (the label horizon is long against the
history: no two cutoffs a horizon apart with known labels), the latest cutoff is validated by
stratified K-fold across customers instead, said to be not out-of-time, and a logistic
regression on recency, frequency and monetary value alone is scored on the same folds as the
baseline the model must beat.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import StratifiedKFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from forecast.errors import DataError, ValidationError
from forecast.schemas import CUTOFF, LABEL

log = logging.getLogger(__name__)

# Text labels read as a yes/no answer when positive_label is one of these words.
YES_WORDS = ("yes", "true", "1")
NO_WORDS = ("no", "false", "0")
# The snapshot columns of the recency-frequency-monetary baseline.
RFM_FEATURES = ("recency_days", "frequency_orders", "monetary_sum")


def build_training_set(frame: pd.DataFrame, label_column: str | None, positive_label: str,
                       negative_label: str | None = None) -> tuple[pd.DataFrame, np.ndarray]:
    """Split a labelled table into features and a 0/1 label.

    A text label is read without regard to case or surrounding spaces. With ``negative_label``
    it must be one of the two labels. Without it, a yes/no ``positive_label`` (``Yes``,
    ``true``, ``1``) takes the label as a yes/no answer (yes/no, true/false, 1/0); another
    ``positive_label`` (e.g. ``Attrited Customer``) makes every other value negative, and the
    count of each value is logged.

    Args:
        frame: snapshots (``customer_id, cutoff, <features>, churned[, label_complete]``) or one
            row per customer with ``label_column``. Rows with an unknown label (NULL
            ``churned``, e.g. a label window running past the data) are dropped.
        label_column: the label column; None for the snapshots' ``churned``.
        positive_label: the value of a text label that means churned.
        negative_label: the value of a text label that means stayed; None as described above.

    Returns:
        ``(X, y)``: X keeps the id and ``cutoff`` columns (the model uses ``cutoff`` to split in
        time and drops both), y is 1 for churned.

    Raises:
        ValidationError: the label column is missing or holds values that are not a label
            (naming the values and their counts).
    """
    label = label_column or LABEL
    if label not in frame.columns:
        raise ValidationError(f"training table has no label column {label!r}; "
                              f"columns are {list(frame.columns)}")
    known = frame[frame[label].notna()]
    values = known[label]
    if pd.api.types.is_bool_dtype(values) or pd.api.types.is_numeric_dtype(values):
        bad = ~values.isin([0, 1])
        if bad.any():
            raise ValidationError(
                f"label column {label!r} holds values that are not a churn label "
                f"(rows {list(known.index[bad][:5])}: {list(values[bad][:5])}); "
                f"expected 0/1, true/false or yes/no")
        y = values.astype(float).to_numpy()
    else:
        y = _text_label(values, label, positive_label, negative_label)
    return known.drop(columns=[label]), y.astype(int)


def _text_label(values: pd.Series, label: str, positive: str, negative: str | None
                ) -> np.ndarray:
    """1 where a text label means churned (see :func:`build_training_set`)."""
    text = values.astype(str).str.strip()
    words = text.str.lower()
    is_positive = words == positive.strip().lower()
    if negative is not None:
        bad = ~is_positive & (words != negative.strip().lower())
        if bad.any():
            raise ValidationError(
                f"label column {label!r} holds values that are neither positive_label "
                f"{positive!r} nor negative_label {negative!r}; values and counts: "
                f"{_value_counts(text)}")
        return is_positive.to_numpy()
    if positive.strip().lower() in YES_WORDS + NO_WORDS:
        bad = ~words.isin(YES_WORDS + NO_WORDS)
        if bad.any():
            raise ValidationError(
                f"label column {label!r} holds values that are not a churn label "
                f"(rows {list(values.index[bad][:5])}: {list(values[bad][:5])}); expected "
                f"0/1, true/false or yes/no, or set churn.positive_label to the value that "
                f"means churned (and churn.negative_label to the one that means stayed); "
                f"values and counts: {_value_counts(text)}")
        return (is_positive | words.isin(YES_WORDS)).to_numpy()
    log.info("label column %r: %r means churned, every other value stayed; values and "
             "counts: %s", label, positive, _value_counts(text))
    return is_positive.to_numpy()


def _value_counts(text: pd.Series, shown: int = 10) -> dict[str, int]:
    """The most common ``shown`` values of a text column and their counts."""
    counts = text.value_counts()
    return {str(k): int(v) for k, v in counts.head(shown).items()}


def label_counts(frame: pd.DataFrame, label_column: str | None) -> dict[str, int]:
    """Rows per value of the label column (as text; unknown labels are not counted), for the
    training summary."""
    label = label_column or LABEL
    if label not in frame.columns:
        return {}
    values = frame[label].dropna()
    return {str(k): int(v) for k, v in values.astype(str).str.strip().value_counts().items()}


class TimeAwareSplit:
    """Validate each of the latest cutoffs with a model trained on cutoffs ``gap_days`` earlier.

    Args:
        n_validation_cutoffs: how many of the latest cutoffs are validation folds.
        gap_days: minimum days between a training cutoff and the validation cutoff (the churn
            horizon, so every training label was known at the validation cutoff).
    """

    def __init__(self, n_validation_cutoffs: int = 2, gap_days: int = 90):
        self.n_validation_cutoffs = n_validation_cutoffs
        self.gap_days = gap_days

    def split(self, cutoffs: pd.Series) -> list[tuple[np.ndarray, np.ndarray]]:
        """Train and validation row positions, oldest validation cutoff first.

        Raises:
            DataError: no cutoff has an earlier cutoff at least ``gap_days`` before it.
        """
        folds = self.folds(cutoffs)
        if not folds:
            raise DataError(
                f"time-aware validation needs a cutoff at least {self.gap_days} days before one "
                f"of the latest {self.n_validation_cutoffs} cutoffs; cutoffs are "
                f"{_dates(cutoffs)}")
        return folds

    def folds(self, cutoffs: pd.Series) -> list[tuple[np.ndarray, np.ndarray]]:
        """As :meth:`split`, but no folds (an empty list) instead of the error."""
        days = pd.to_datetime(pd.Series(cutoffs)).to_numpy()
        gap = np.timedelta64(self.gap_days, "D")
        folds = []
        for cutoff in np.unique(days)[-self.n_validation_cutoffs:]:
            train = np.flatnonzero(days <= cutoff - gap)
            if len(train):
                folds.append((train, np.flatnonzero(days == cutoff)))
        return folds


def _dates(cutoffs: pd.Series) -> list[str]:
    return [str(d)[:10] for d in np.unique(pd.to_datetime(pd.Series(cutoffs)).to_numpy())]


@dataclass(frozen=True)
class Validation:
    """The folds a churn model is validated on and how they were made.

    Attributes:
        splits: ``[(train rows, validation rows)]``, row positions.
        scheme: the validation in words, for the training summary.
        out_of_time: every validation row's model was trained only on labels known by its
            cutoff.
    """

    splits: list[tuple[np.ndarray, np.ndarray]]
    scheme: str
    out_of_time: bool


def plan_validation(X: pd.DataFrame, y: np.ndarray, *, validation_cutoffs: int,
                    horizon_days: int, n_folds: int, seed: int, id_column: str) -> Validation:
    """Time-aware folds when X has a ``cutoff`` column, else stratified K-fold (seeded).

    When no cutoff can be validated in time (none has a cutoff ``horizon_days`` before it),
    the latest cutoff is validated by stratified K-fold across customers
    (:func:`customer_folds`), with a warning that this is not out-of-time.
    """
    if CUTOFF not in X.columns:
        folds = StratifiedKFold(n_folds, shuffle=True, random_state=seed)
        return Validation(list(folds.split(np.zeros(len(y)), y)),
                          f"stratified {n_folds}-fold across rows", out_of_time=False)
    timed = TimeAwareSplit(validation_cutoffs, horizon_days)
    splits = timed.folds(X[CUTOFF])
    if splits:
        validated = _dates(X[CUTOFF].iloc[np.concatenate([t for _, t in splits])])
        return Validation(splits, f"out-of-time on cutoffs {', '.join(validated)}, each "
                          f"trained on cutoffs at least {horizon_days} days earlier",
                          out_of_time=True)
    latest = _dates(X[CUTOFF])[-1]
    scheme = (f"stratified k-fold across customers on cutoff {latest} (not out-of-time: no "
              f"two cutoffs with known labels are {horizon_days} days apart; cutoffs are "
              f"{', '.join(_dates(X[CUTOFF]))})")
    log.warning("churn validation is %s", scheme)
    ids = X[id_column] if id_column in X.columns else None
    return Validation(customer_folds(X[CUTOFF], y, ids, n_folds=n_folds, seed=seed), scheme,
                      out_of_time=False)


def customer_folds(cutoffs: pd.Series, y: np.ndarray, ids: pd.Series | None, *, n_folds: int,
                   seed: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """Stratified K-fold over the customers of the latest cutoff.

    Each fold validates its customers' rows of the latest cutoff with a model trained on the
    rows of every other customer, at every cutoff (without ``ids``, every other row).

    Raises:
        DataError: the latest cutoff has fewer than ``n_folds`` churners or stayers.
    """
    days = pd.to_datetime(pd.Series(cutoffs)).to_numpy()
    latest = np.flatnonzero(days == days.max())
    counts = np.bincount(y[latest], minlength=2)
    if counts.min() < n_folds:
        raise DataError(
            f"churn validation: no two cutoffs are a horizon apart, and the latest cutoff "
            f"{_dates(cutoffs)[-1]} has {counts[1]} churners and {counts[0]} stayers, too few "
            f"for {n_folds}-fold validation across customers; add earlier cutoffs or customers")
    folds = StratifiedKFold(n_folds, shuffle=True, random_state=seed)
    customers = None if ids is None else pd.Series(ids).astype(str).to_numpy()
    if customers is not None:  # the same folds whatever the order of the rows
        latest = latest[np.argsort(customers[latest], kind="stable")]
    out = []
    for _, test in folds.split(np.zeros(len(latest)), y[latest]):
        rows = latest[test]
        if customers is None:
            train = np.setdiff1d(np.arange(len(y)), rows)
        else:
            train = np.flatnonzero(~np.isin(customers, customers[rows]))
        out.append((train, rows))
    return out


def rfm_baseline_auc(X: pd.DataFrame, y: np.ndarray, splits: list) -> float | None:
    """ROC-AUC of a logistic regression on recency, frequency and monetary value alone
    (:data:`RFM_FEATURES`), out of fold on ``splits``; None when X lacks one of them."""
    if not set(RFM_FEATURES) <= set(X.columns):
        return None
    rfm = X.loc[:, list(RFM_FEATURES)].astype("Float64").to_numpy(dtype=float,
                                                                  na_value=np.nan)
    baseline = make_pipeline(SimpleImputer(strategy="median"), StandardScaler(),
                             LogisticRegression(max_iter=1000))
    rows = np.concatenate([test for _, test in splits])
    proba = np.concatenate([baseline.fit(rfm[train], y[train]).predict_proba(rfm[test])[:, 1]
                            for train, test in splits])
    return float(roc_auc_score(y[rows], proba))
