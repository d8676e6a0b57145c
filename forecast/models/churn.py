"""Churn classifiers: candidates, tuning on log-loss, probability calibration, cost threshold.

Training tables (snapshots validated in time, or one row per customer validated with
stratified K-fold) and their validation folds are :mod:`forecast.models.churn_data`'s.

Each candidate is a scikit-learn Pipeline with its preprocessing inside. Its hyperparameters are
chosen on the validation log-loss; its out-of-fold scores are then calibrated (sigmoid, isotonic
or none, chosen on cross-fitted log-loss), the calibrated candidates and their mean are compared
on log-loss, and the winner is refitted on every row. The decision threshold minimises the
expected cost of missed churners and wasted retention actions on the validation predictions.
"""

from __future__ import annotations

import inspect
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import brier_score_loss, log_loss, roc_auc_score
from sklearn.model_selection import ParameterGrid
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import OneHotEncoder, OrdinalEncoder, SplineTransformer, StandardScaler

from forecast.errors import DataError, ValidationError
from forecast.models.calibration import (
    Calibrator,
    choose_calibration,
    choose_threshold,
    cross_fit_calibration,  # noqa: F401  (part of this module's API)
)
from forecast.models.churn_data import plan_validation, rfm_baseline_auc
from forecast.models.reasons import fit_attribution
from forecast.schemas import (
    CHURN_PROBA,
    CUTOFF,
    LABEL,
    TIER,
    CalibrationMethod,
    ChurnCandidate,
)

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


def _as_text(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.astype("string").fillna("missing").astype(object)


def _spline_columns(X: pd.DataFrame, numeric: list[str]) -> list[str]:
    """Numeric columns whose quantile knots are distinct, so splines are well defined."""
    quantiles = np.linspace(0, 1, SPLINE_KNOTS)
    return [c for c in numeric
            if len(np.unique(np.nanquantile(X[c].to_numpy(float), quantiles))) == SPLINE_KNOTS]


def build_candidate(name: str, X: pd.DataFrame, numeric: list[str], categorical: list[str],
                    *, splines: bool, seed: int) -> tuple[Pipeline, Any]:
    """One candidate pipeline, preprocessing inside, and its hyperparameter grid.

    ``logistic``: impute, scale (plus spline terms when ``splines``), one-hot categoricals.
    ``gradient_boosting``: ordinal-encoded categoricals used natively (booster seeded ``seed``).
    """
    text = make_pipeline(_function_transformer(), OneHotEncoder(handle_unknown="ignore",
                                                                min_frequency=5))
    if name == "logistic":
        spline_columns = _spline_columns(X, numeric) if splines else []
        parts = [("num", make_pipeline(SimpleImputer(strategy="median"), StandardScaler()),
                  numeric), ("cat", text, categorical)]
        if spline_columns:
            spline = make_pipeline(SimpleImputer(strategy="median"),
                                   SplineTransformer(n_knots=SPLINE_KNOTS, knots="quantile"),
                                   StandardScaler())
            parts.append(("spline", spline, spline_columns))
        model = LogisticRegression(max_iter=5000)
        return Pipeline([("prep", ColumnTransformer(parts)), ("model", model)]), LOGISTIC_GRID
    ordinal = make_pipeline(_function_transformer(), OrdinalEncoder(
        handle_unknown="use_encoded_value", unknown_value=-1, max_categories=250))
    prep = ColumnTransformer([("cat", ordinal, categorical), ("num", "passthrough", numeric)])
    model = HistGradientBoostingClassifier(
        categorical_features=list(range(len(categorical))) or None,
        l2_regularization=1.0, random_state=seed)
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


def assign_tiers(proba: np.ndarray, tier_high: float, tier_medium: float,
                 capacity: int | None = None) -> np.ndarray:
    """``high``/``medium``/``low`` by ``tier_high``/``tier_medium``; with ``capacity`` N, the N
    riskiest customers are ``high`` instead."""
    proba = np.asarray(proba, dtype=float)
    tiers = np.where(proba >= tier_medium, "medium", "low").astype(object)
    if capacity is None:
        tiers[proba >= tier_high] = "high"
    else:
        tiers[np.argsort(-proba, kind="mergesort")[:capacity]] = "high"
    return tiers


class ChurnModel(ClassifierMixin, BaseEstimator):
    """Calibrated churn classifier chosen among candidates on validation log-loss.

    Args:
        candidates: candidate models, ``logistic`` and/or ``gradient_boosting``.
        blend: also try the mean of the calibrated candidates.
        splines: spline terms for numeric features in the logistic.
        calibration: ``sigmoid``, ``isotonic``, ``none`` or ``auto`` (chosen on log-loss).
        cost_missed_churner, cost_wasted_action: costs the decision threshold balances.
        n_folds: stratified folds (one-row-per-customer tables, and calibration cross-fitting).
        validation_cutoffs: latest snapshot cutoffs used for validation.
        horizon_days: the churn horizon, the gap between training and validation cutoffs.
        seed: seed of the folds, the booster and the attribution.
        id_column: the customer id column, never a feature.
        drop_columns: other columns that are never features.
        label_column: the label column of a one-row-per-customer table (allowed in scoring
            data); None for snapshots' ``churned``.
        tier_high, tier_medium, capacity: the tiers of :func:`assign_tiers`.

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
        validation_scheme_: how the folds were made, in words (out-of-time on the latest
            cutoffs; or, when no two cutoffs are ``horizon_days`` apart, stratified K-fold across
            the customers of the latest cutoff, said to be not out-of-time).
        baseline_auc_: when the validation is not out-of-time, the ROC-AUC of a logistic
            regression on recency, frequency and monetary value alone on the same folds (None
            when out-of-time or without those columns).
        threshold_: churn_proba at or above which a retention action pays off.
        validation_predictions_: the chosen model's calibrated out-of-sample predictions
            (``churned, churn_proba``), for evaluation.
        attribution_: the model's partial dependence on each feature (log-odds against the
            typical value), which ranks the reasons (:mod:`forecast.models.reasons`).
    """

    def __init__(
        self,
        candidates: Sequence[ChurnCandidate] = ("logistic", "gradient_boosting"),
        blend: bool = True,
        splines: bool = True,
        calibration: CalibrationMethod = "auto",
        cost_missed_churner: float = 5.0,
        cost_wasted_action: float = 1.0,
        n_folds: int = 5,
        validation_cutoffs: int = 2,
        horizon_days: int = 90,
        seed: int = 0,
        id_column: str = "customer_id",
        drop_columns: Sequence[str] = (),
        label_column: str | None = None,
        tier_high: float = 0.5,
        tier_medium: float = 0.2,
        capacity: int | None = None,
    ):
        self.candidates = candidates
        self.blend = blend
        self.splines = splines
        self.calibration = calibration
        self.cost_missed_churner = cost_missed_churner
        self.cost_wasted_action = cost_wasted_action
        self.n_folds = n_folds
        self.validation_cutoffs = validation_cutoffs
        self.horizon_days = horizon_days
        self.seed = seed
        self.id_column = id_column
        self.drop_columns = drop_columns
        self.label_column = label_column
        self.tier_high = tier_high
        self.tier_medium = tier_medium
        self.capacity = capacity

    def __setstate__(self, state: dict) -> None:
        """Unpickle; a model pickled with a ``config`` object (before its parameters were
        flat) takes that config's values, the defaults where it has none."""
        if "config" in state:
            config = state.pop("config")
            defaults = inspect.signature(type(self).__init__).parameters
            for name in self._get_param_names():
                value = getattr(config, name, None)
                state.setdefault(name, defaults[name].default if value is None else value)
        super().__setstate__(state)

    def fit(self, X: pd.DataFrame, y: np.ndarray) -> ChurnModel:
        """Tune, calibrate and choose on validation folds, then refit the winner on every row.

        Args:
            X: feature frame; ``id_column``, ``cutoff`` (used for the time-aware split) and
                ``drop_columns`` are not features. Snapshots without two cutoffs
                ``horizon_days`` apart are validated across customers on the latest cutoff
                (see :func:`forecast.models.churn_data.plan_validation`).
            y: 1 for churned, 0 for stayed.
        """
        y = np.asarray(y, dtype=int)
        if len(np.unique(y)) != 2:
            churners = int(y.sum())
            raise DataError(
                f"churn training needs both churners and stayers in the label; it has "
                f"{churners} churners and {len(y) - churners} stayers (rows whose label is "
                "unknown, such as a cutoff whose label window runs past the data, are left out)")
        self._learn_schema(X)
        features = self._features(X)
        splits = self._validation_splits(X.reset_index(drop=True), y)
        results, blends = [], []
        for name in self.candidates:
            pipeline, grid = build_candidate(name, features, self.numeric_features_,
                                             self.categorical_features_, splines=self.splines,
                                             seed=self.seed)
            params, rows, raw = tune_candidate(pipeline, grid, features, y, splits)
            method, calibrated = choose_calibration(raw, y[rows], self.calibration,
                                                    n_folds=self.n_folds, seed=self.seed)
            results.append(_summary(name, method, params, y[rows], calibrated))
            blends.append((name, pipeline.set_params(**params), Calibrator(method).fit(
                raw, y[rows]), calibrated))
        if self.blend and len(blends) > 1:
            mean = np.mean([b[3] for b in blends], axis=0)
            results.append(_summary("blend", "mean", {}, y[rows], mean))
        self.validation_ = pd.DataFrame(results)
        best = int(self.validation_["log_loss"].idxmin())
        self.chosen_ = self.validation_["model"].iloc[best]
        chosen = blends if self.chosen_ == "blend" else [blends[best]]
        self.members_ = [(n, p.fit(features, y), c) for n, p, c, _ in chosen]
        proba = np.mean([b[3] for b in chosen], axis=0)
        self.threshold_ = choose_threshold(y[rows], proba, self.cost_missed_churner,
                                           self.cost_wasted_action)
        self.validation_predictions_ = pd.DataFrame({LABEL: y[rows], CHURN_PROBA: proba})
        self.classes_ = np.array([0, 1])
        self.attribution_ = fit_attribution(self, features, seed=self.seed)
        return self

    def _validation_splits(self, X: pd.DataFrame, y: np.ndarray) -> list:
        """The validation folds; sets ``validation_scheme_`` and ``baseline_auc_``."""
        validation = plan_validation(
            X, y, validation_cutoffs=self.validation_cutoffs, horizon_days=self.horizon_days,
            n_folds=self.n_folds, seed=self.seed, id_column=self.id_column)
        self.validation_scheme_ = validation.scheme
        # Without out-of-time folds, the model must show it beats recency-frequency-monetary.
        self.baseline_auc_ = None if validation.out_of_time else rfm_baseline_auc(
            X, y, validation.splits)
        return validation.splits

    def _learn_schema(self, X: pd.DataFrame) -> None:
        skip = {self.id_column, *NON_FEATURES, *self.drop_columns}
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
        allowed = {self.id_column, *NON_FEATURES, *self.drop_columns, self.label_column or LABEL}
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
        """``churn_proba`` and the threshold ``tier`` per row of X (the pyfunc interface of
        MLflow).

        Each row's output depends on that row only, so it is the same however the rows are
        batched (``mlflow.pyfunc.spark_udf`` calls this batch by batch). ``capacity`` is not
        applied here: it ranks all customers at once, a global step after scoring
        (:func:`assign_tiers` over every probability, as batch scoring does over the whole run).
        """
        proba = self.predict_proba(X)[:, 1]
        return pd.DataFrame({CHURN_PROBA: proba,
                             TIER: assign_tiers(proba, self.tier_high, self.tier_medium)})

    def _tiers(self, proba: np.ndarray) -> np.ndarray:
        return assign_tiers(proba, self.tier_high, self.tier_medium, self.capacity)

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        """1 where a retention action pays off (``churn_proba >= threshold_``)."""
        return (self.predict_proba(X)[:, 1] >= self.threshold_).astype(int)

    def score_customers(self, X: pd.DataFrame) -> pd.DataFrame:
        """Churn scores for a frame of customers.

        Returns:
            The id (and ``cutoff``) columns of X, then ``churn_proba``, ``tier``
            (high/medium/low) and ``act`` (``churn_proba >= threshold_``).
        """
        proba = self.predict_proba(X)[:, 1]
        keys = [c for c in (self.id_column, CUTOFF) if c in X.columns]
        out = X.loc[:, keys].reset_index(drop=True)
        out[CHURN_PROBA] = proba
        out[TIER] = self._tiers(proba)
        out["act"] = proba >= self.threshold_
        return out


def _summary(name: str, method: str, params: dict, y: np.ndarray, proba: np.ndarray) -> dict:
    return {"model": name, "calibration": method, "params": params,
            "log_loss": log_loss(y, proba, labels=[0, 1]), "brier": brier_score_loss(y, proba),
            "roc_auc": roc_auc_score(y, proba), "n_validated": len(y)}
