"""Churn classifiers: candidates, tuning on log-loss, probability calibration, cost threshold.

Two kinds of training table are accepted:

* stacked customer snapshots (``customer_id, cutoff, <features>, churned``): validation is in
  time; each of the latest cutoffs is validated by a model trained only on cutoffs at least
  ``horizon_days`` earlier, whose labels were known by then;
* one row per customer with its own label column (``ChurnConfig.label_column``, e.g. Telco's
  ``Churn``): stratified K-fold.

Each candidate is a scikit-learn Pipeline with its preprocessing inside. Its hyperparameters are
chosen on the validation log-loss; its out-of-fold scores are then calibrated (sigmoid, isotonic
or none, chosen on cross-fitted log-loss), the calibrated candidates and their mean are compared
on log-loss, and the winner is refitted on every row. The decision threshold minimises the
expected cost of missed churners and wasted retention actions on the validation predictions.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import brier_score_loss, log_loss, roc_auc_score
from sklearn.model_selection import ParameterGrid, StratifiedKFold
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import OneHotEncoder, OrdinalEncoder, SplineTransformer, StandardScaler

from forecast.config import ChurnConfig
from forecast.errors import ValidationError
from forecast.models.calibration import (
    Calibrator,
    choose_calibration,
    choose_threshold,
    cross_fit_calibration,  # noqa: F401  (part of this module's API)
)
from forecast.models.reasons import fit_attribution
from forecast.schemas import CHURN_PROBA, CUTOFF, LABEL, TIER

SPLINE_KNOTS = 5
# Columns of a snapshot table that are bookkeeping, never features.
NON_FEATURES = (CUTOFF, LABEL, "label_complete")
LOGISTIC_GRID = {"model__C": [0.03, 0.3]}
BOOSTING_GRID = [
    {"model__learning_rate": [0.03], "model__max_depth": [3], "model__max_iter": [300],
     "model__min_samples_leaf": [20]},
    {"model__learning_rate": [0.1], "model__max_leaf_nodes": [15], "model__max_iter": [100],
     "model__min_samples_leaf": [40]},
]


def build_training_set(frame: pd.DataFrame, config: ChurnConfig) -> tuple[pd.DataFrame, np.ndarray]:
    """Split a labelled table into features and a 0/1 label.

    Args:
        frame: snapshots (``customer_id, cutoff, <features>, churned[, label_complete]``) or one
            row per customer with ``config.label_column``. Rows with an unknown label (NULL
            ``churned``, e.g. a label window running past the data) are dropped.
        config: names the label and id columns and the positive label of a text label.

    Returns:
        ``(X, y)``: X keeps the id and ``cutoff`` columns (the model uses ``cutoff`` to split in
        time and drops both), y is 1 for churned.

    Raises:
        ValidationError: the label column is missing or holds values that are not a label.
    """
    label = config.label_column or LABEL
    if label not in frame.columns:
        raise ValidationError(f"training table has no label column {label!r}; "
                              f"columns are {list(frame.columns)}")
    known = frame[frame[label].notna()]
    values = known[label]
    if pd.api.types.is_bool_dtype(values) or pd.api.types.is_numeric_dtype(values):
        bad = ~values.isin([0, 1])
        y = values.astype(float).to_numpy()
    else:
        text = values.astype(str).str.strip()
        bad = ~text.str.lower().isin(["yes", "no", "true", "false", "1", "0"]) & (
            text != config.positive_label)
        y = text.str.lower().isin([config.positive_label.lower(), "yes", "true", "1"]).to_numpy()
    if bad.any():
        raise ValidationError(f"label column {label!r} holds values that are not a churn label "
                              f"(rows {list(known.index[bad][:5])}: {list(values[bad][:5])}); "
                              f"expected 0/1, true/false or yes/no")
    return known.drop(columns=[label]), y.astype(int)


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
            ValidationError: no cutoff has an earlier cutoff at least ``gap_days`` before it.
        """
        days = pd.to_datetime(pd.Series(cutoffs)).to_numpy()
        distinct = np.unique(days)
        gap = np.timedelta64(self.gap_days, "D")
        folds = []
        for cutoff in distinct[-self.n_validation_cutoffs:]:
            train = np.flatnonzero(days <= cutoff - gap)
            if len(train):
                folds.append((train, np.flatnonzero(days == cutoff)))
        if not folds:
            raise ValidationError(
                f"time-aware validation needs a cutoff at least {self.gap_days} days before one "
                f"of the latest {self.n_validation_cutoffs} cutoffs; cutoffs are "
                f"{[str(d)[:10] for d in distinct]}")
        return folds


def validation_splits(X: pd.DataFrame, y: np.ndarray, config: ChurnConfig) -> list:
    """Time-aware folds when X has a ``cutoff`` column, else stratified K-fold (seeded)."""
    if CUTOFF in X.columns:
        return TimeAwareSplit(config.validation_cutoffs, config.horizon_days).split(X[CUTOFF])
    folds = StratifiedKFold(config.n_folds, shuffle=True, random_state=config.seed)
    return list(folds.split(np.zeros(len(y)), y))


def _as_text(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.astype("string").fillna("missing").astype(object)


def _spline_columns(X: pd.DataFrame, numeric: list[str]) -> list[str]:
    """Numeric columns whose quantile knots are distinct, so splines are well defined."""
    quantiles = np.linspace(0, 1, SPLINE_KNOTS)
    return [c for c in numeric
            if len(np.unique(np.nanquantile(X[c].to_numpy(float), quantiles))) == SPLINE_KNOTS]


def build_candidate(name: str, X: pd.DataFrame, numeric: list[str], categorical: list[str],
                    config: ChurnConfig) -> tuple[Pipeline, Any]:
    """One candidate pipeline, preprocessing inside, and its hyperparameter grid.

    ``logistic``: impute, scale (plus spline terms when ``config.splines``), one-hot
    categoricals. ``gradient_boosting``: ordinal-encoded categoricals used natively.
    """
    text = make_pipeline(_function_transformer(), OneHotEncoder(handle_unknown="ignore",
                                                                min_frequency=5))
    if name == "logistic":
        splines = _spline_columns(X, numeric) if config.splines else []
        parts = [("num", make_pipeline(SimpleImputer(strategy="median"), StandardScaler()),
                  numeric), ("cat", text, categorical)]
        if splines:
            spline = make_pipeline(SimpleImputer(strategy="median"),
                                   SplineTransformer(n_knots=SPLINE_KNOTS, knots="quantile"),
                                   StandardScaler())
            parts.append(("spline", spline, splines))
        model = LogisticRegression(max_iter=5000)
        return Pipeline([("prep", ColumnTransformer(parts)), ("model", model)]), LOGISTIC_GRID
    ordinal = make_pipeline(_function_transformer(), OrdinalEncoder(
        handle_unknown="use_encoded_value", unknown_value=-1, max_categories=250))
    prep = ColumnTransformer([("cat", ordinal, categorical), ("num", "passthrough", numeric)])
    model = HistGradientBoostingClassifier(
        categorical_features=list(range(len(categorical))) or None,
        l2_regularization=1.0, random_state=config.seed)
    return Pipeline([("prep", prep), ("model", model)]), BOOSTING_GRID


def _function_transformer():
    from sklearn.preprocessing import FunctionTransformer

    return FunctionTransformer(_as_text, feature_names_out="one-to-one")


def tune_candidate(pipeline: Pipeline, grid: Any, X: pd.DataFrame, y: np.ndarray, splits: list
                   ) -> tuple[dict, np.ndarray, np.ndarray]:
    """The grid point with the lowest validation log-loss.

    Returns:
        ``(params, rows, raw)``: the chosen parameters, the validated row positions and the raw
        out-of-fold probabilities of those rows.
    """
    rows = np.concatenate([test for _, test in splits])
    best = (np.inf, {}, None)
    for params in ParameterGrid(grid):
        raw = np.concatenate([
            clone(pipeline).set_params(**params).fit(X.iloc[train], y[train])
            .predict_proba(X.iloc[test])[:, 1] for train, test in splits])
        loss = log_loss(y[rows], raw, labels=[0, 1])
        if loss < best[0]:
            best = (loss, params, raw)
    return best[1], rows, best[2]


def assign_tiers(proba: np.ndarray, config: ChurnConfig) -> np.ndarray:
    """``high``/``medium``/``low`` by ``tier_high``/``tier_medium``; with ``capacity`` N, the N
    riskiest customers are ``high`` instead."""
    proba = np.asarray(proba, dtype=float)
    tiers = np.where(proba >= config.tier_medium, "medium", "low").astype(object)
    if config.capacity is None:
        tiers[proba >= config.tier_high] = "high"
    else:
        tiers[np.argsort(-proba, kind="mergesort")[: config.capacity]] = "high"
    return tiers


class ChurnModel(ClassifierMixin, BaseEstimator):
    """Calibrated churn classifier chosen among candidates on validation log-loss.

    Args:
        config: candidates, calibration, costs, folds and seed; default ``ChurnConfig()``.

    Attributes (after ``fit``):
        feature_names_in_: the feature columns, in order; scoring data must have exactly these.
        numeric_features_, categorical_features_: how each used feature is treated.
        empty_features_: feature columns without a single value in training; not used.
        categories_seen_: per categorical feature, the values it took in training (as text,
            sorted); a value outside them at scoring time is scored as an unknown category
            and counted by :meth:`unseen_categories`.
        reference_values_: training median (numeric) or most common value (categorical) per
            feature, the "typical customer" reasons compare against.
        members_: ``[(candidate, fitted pipeline, calibrator)]``; the prediction is the mean of
            their calibrated probabilities (one member unless the blend won).
        chosen_: name of the winner (a candidate or ``blend``).
        validation_: one row per candidate and blend: ``model, calibration, params, log_loss,
            brier, roc_auc, n_validated``.
        threshold_: churn_proba at or above which a retention action pays off.
        validation_predictions_: the chosen model's calibrated out-of-sample predictions
            (``churned, churn_proba``), for evaluation.
        attribution_: the model's partial dependence on each feature (log-odds against the
            typical value), which ranks the reasons (:mod:`forecast.models.reasons`).
    """

    def __init__(self, config: ChurnConfig | None = None):
        self.config = config

    def fit(self, X: pd.DataFrame, y: np.ndarray) -> ChurnModel:
        """Tune, calibrate and choose on validation folds, then refit the winner on every row.

        Args:
            X: feature frame; an id column (``config.id_column``), ``cutoff`` (used for the
                time-aware split) and ``config.drop_columns`` are not features.
            y: 1 for churned, 0 for stayed.
        """
        config = self.config or ChurnConfig()
        y = np.asarray(y, dtype=int)
        if len(np.unique(y)) != 2:
            raise ValidationError("churn training needs both churners and stayers in the label")
        self._learn_schema(X, config)
        features = self._features(X)
        splits = validation_splits(X.reset_index(drop=True), y, config)
        results, blends = [], []
        for name in config.candidates:
            pipeline, grid = build_candidate(name, features, self.numeric_features_,
                                             self.categorical_features_, config)
            params, rows, raw = tune_candidate(pipeline, grid, features, y, splits)
            method, calibrated = choose_calibration(raw, y[rows], config)
            results.append(_summary(name, method, params, y[rows], calibrated))
            blends.append((name, pipeline.set_params(**params), Calibrator(method).fit(
                raw, y[rows]), calibrated))
        if config.blend and len(blends) > 1:
            mean = np.mean([b[3] for b in blends], axis=0)
            results.append(_summary("blend", "mean", {}, y[rows], mean))
        self.validation_ = pd.DataFrame(results)
        best = int(self.validation_["log_loss"].idxmin())
        self.chosen_ = self.validation_["model"].iloc[best]
        chosen = blends if self.chosen_ == "blend" else [blends[best]]
        self.members_ = [(n, p.fit(features, y), c) for n, p, c, _ in chosen]
        proba = np.mean([b[3] for b in chosen], axis=0)
        self.threshold_ = choose_threshold(y[rows], proba, config.cost_missed_churner,
                                           config.cost_wasted_action)
        self.validation_predictions_ = pd.DataFrame({LABEL: y[rows], CHURN_PROBA: proba})
        self.classes_ = np.array([0, 1])
        self.attribution_ = fit_attribution(self, features, seed=config.seed)
        return self

    def _learn_schema(self, X: pd.DataFrame, config: ChurnConfig) -> None:
        skip = {config.id_column, *NON_FEATURES, *config.drop_columns}
        columns = [c for c in X.columns if c not in skip]
        if not columns:
            raise ValidationError("churn training table has no feature columns")
        # A column with no value at all (e.g. satisfaction without a surveys table) carries no
        # information and breaks the boosted model's binning: kept in the schema, not used.
        self.empty_features_ = [c for c in columns if not X[c].notna().any()]
        if len(self.empty_features_) == len(columns):
            raise ValidationError(f"every feature column of the churn training table is empty: "
                                  f"{columns}")
        used = [c for c in columns if c not in self.empty_features_]
        numeric = [c for c in used if pd.api.types.is_numeric_dtype(X[c])
                   or pd.api.types.is_bool_dtype(X[c])]
        self.feature_names_in_ = np.array(columns, dtype=object)
        self.n_features_in_ = len(columns)
        self.numeric_features_ = numeric
        self.categorical_features_ = [c for c in used if c not in numeric]
        # As the model's text step reads them (missing values are not categories).
        self.categories_seen_ = {c: sorted(str(v) for v in X[c].dropna().astype("string").unique())
                                 for c in self.categorical_features_}
        reference = {c: float(X[c].astype(float).median()) for c in numeric}
        for c in self.categorical_features_:
            mode = X[c].mode(dropna=True)
            reference[c] = mode.iloc[0] if len(mode) else None
        self.reference_values_ = reference

    def _features(self, X: pd.DataFrame) -> pd.DataFrame:
        out = X.loc[:, list(self.feature_names_in_)].reset_index(drop=True)
        numeric = self.numeric_features_
        out[numeric] = out[numeric].astype(float)
        return out

    def check_schema(self, X: pd.DataFrame) -> None:
        """Refuse a frame whose features differ from the training features.

        Raises:
            ValidationError: names the missing and the unexpected columns.
        """
        config = self.config or ChurnConfig()
        allowed = {config.id_column, *NON_FEATURES, *config.drop_columns,
                   config.label_column or LABEL}
        expected = list(self.feature_names_in_)
        missing = [c for c in expected if c not in X.columns]
        extra = [c for c in X.columns if c not in expected and c not in allowed]
        if missing or extra:
            raise ValidationError(
                f"scoring data does not match the churn model's features: missing {missing}, "
                f"unexpected {extra}; the model was trained on {expected}")

    def unseen_categories(self, X: pd.DataFrame) -> dict[str, int]:
        """Rows of X per categorical feature whose value was not seen in training (missing
        values are not counted); only features with such rows."""
        counts = {}
        for c, seen in getattr(self, "categories_seen_", {}).items():
            values = X[c].dropna().astype("string")
            unseen = int((~values.isin(seen)).sum())
            if unseen:
                counts[c] = unseen
        return counts

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        """Calibrated probabilities, shape (n, 2): column 1 is the churn probability."""
        self.check_schema(X)
        features = self._features(X)
        churn = np.mean([c.transform(p.predict_proba(features)[:, 1])
                         for _, p, c in self.members_], axis=0)
        return np.column_stack([1 - churn, churn])

    def predict_frame(self, X: pd.DataFrame) -> pd.DataFrame:
        """``churn_proba`` and ``tier`` per row of X (the pyfunc interface of MLflow)."""
        proba = self.predict_proba(X)[:, 1]
        return pd.DataFrame({CHURN_PROBA: proba, TIER: assign_tiers(proba, self.config or
                                                                    ChurnConfig())})

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        """1 where a retention action pays off (``churn_proba >= threshold_``)."""
        return (self.predict_proba(X)[:, 1] >= self.threshold_).astype(int)

    def score_customers(self, X: pd.DataFrame) -> pd.DataFrame:
        """Churn scores for a frame of customers.

        Returns:
            The id (and ``cutoff``) columns of X, then ``churn_proba``, ``tier``
            (high/medium/low) and ``act`` (``churn_proba >= threshold_``).
        """
        config = self.config or ChurnConfig()
        proba = self.predict_proba(X)[:, 1]
        keys = [c for c in (config.id_column, CUTOFF) if c in X.columns]
        out = X.loc[:, keys].reset_index(drop=True)
        out[CHURN_PROBA] = proba
        out[TIER] = assign_tiers(proba, config)
        out["act"] = proba >= self.threshold_
        return out


def _summary(name: str, method: str, params: dict, y: np.ndarray, proba: np.ndarray) -> dict:
    return {"model": name, "calibration": method, "params": params,
            "log_loss": log_loss(y, proba, labels=[0, 1]), "brier": brier_score_loss(y, proba),
            "roc_auc": roc_auc_score(y, proba), "n_validated": len(y)}


def fit_churn_model(frame: pd.DataFrame, config: ChurnConfig) -> ChurnModel:
    """Train a churn model on a labelled table (see :func:`build_training_set`)."""
    X, y = build_training_set(frame, config)
    return ChurnModel(config).fit(X, y)
