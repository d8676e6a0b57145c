"""A fitted ChurnModel compiled to array code for batch scoring.

``ChurnModel.predict_proba`` runs scikit-learn pipelines on pandas frames: every chunk pays for
string conversion of the categorical columns, a ColumnTransformer and scikit-learn's row-wise
tree walker. For scoring millions of customers the same numbers come from arrays:

* numeric features are one float64 array per feature (NaN for missing), read straight from
  Arrow;
* each categorical feature becomes an index into its vocabulary (the categories the model's
  encoders learned, then one slot for any unknown value); what each vocabulary entry means to a
  model member (its one-hot contribution to a logistic's log-odds, its ordinal code for a
  boosted model) is computed once, by running the member's own fitted encoders on the
  vocabulary;
* the logistic member is its imputation, scaling and coefficients as array arithmetic (spline
  terms through the fitted transformers, on numpy); the boosted member goes through
  :mod:`forecast.engines.trees`;
* the calibrators and the member mean are the model's own.

Probabilities agree with ``ChurnModel.predict_proba`` to rounding (tests hold them to 1e-12).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from scipy.special import expit
from sklearn.pipeline import Pipeline

from forecast.engines.trees import CompiledBoosting, compile_boosting
from forecast.models.churn import ChurnModel

MISSING_TEXT = "missing"  # what the model's text step makes of a missing category
UNKNOWN_SENTINEL = "\x00unknown category\x00"


@dataclass(frozen=True)
class FeatureArrays:
    """One chunk of customers as the compiled model reads it.

    Attributes:
        numeric: (numeric features, rows) float64, one contiguous row per feature in
            ``CompiledChurnModel.numeric`` order; NaN is missing.
        codes: (categorical features, rows) vocabulary indices; ``len(vocabulary)`` is unknown.
    """

    numeric: np.ndarray
    codes: np.ndarray

    @property
    def rows(self) -> int:
        return int(self.numeric.shape[1] if self.numeric.size else self.codes.shape[1])

    def take(self, rows: np.ndarray) -> FeatureArrays:
        return FeatureArrays(self.numeric[:, rows], self.codes[:, rows])


@dataclass(frozen=True)
class LinearMember:
    """A logistic pipeline as arithmetic: log-odds = constant + numeric + categorical + splines."""

    constant: float
    kept: np.ndarray  # numeric features the imputer kept
    fill: np.ndarray  # their imputation values
    weights: np.ndarray  # coefficient / scale of each kept feature
    centre: np.ndarray  # scaler mean of each kept feature
    categorical: tuple[np.ndarray, ...]  # per feature, log-odds per vocabulary entry
    spline_columns: np.ndarray
    spline_fill: np.ndarray
    spline: Pipeline | None
    spline_coef: np.ndarray

    def proba(self, features: FeatureArrays, block_rows: int = 32_768) -> np.ndarray:
        x = features.numeric[self.kept]
        x = np.where(np.isnan(x), self.fill[:, None], x)
        logit = self.constant + self.weights @ (x - self.centre[:, None])
        for j, table in enumerate(self.categorical):
            logit += table[features.codes[j]]
        if self.spline is not None:
            raw = features.numeric[self.spline_columns]
            raw = np.where(np.isnan(raw), self.spline_fill[:, None], raw).T
            for start in range(0, raw.shape[0], block_rows):
                block = self.spline.transform(raw[start:start + block_rows])
                logit[start:start + block_rows] += block @ self.spline_coef
        return expit(logit)


@dataclass(frozen=True)
class BoostingMember:
    """A boosted pipeline: categorical codes by vocabulary entry, then the compiled trees."""

    codes: tuple[np.ndarray, ...]  # per categorical feature, the model's code per entry
    boosting: CompiledBoosting

    def proba(self, features: FeatureArrays) -> np.ndarray:
        columns = [table[features.codes[j]] for j, table in enumerate(self.codes)]
        return self.boosting.predict_proba(columns + list(features.numeric))


@dataclass(frozen=True)
class CompiledChurnModel:
    """A ChurnModel's prediction as array code (see the module docstring).

    Attributes:
        numeric, categorical: the model's feature names by kind, in array order.
        vocabularies: per categorical feature, its known values.
        members: ``(compiled member, calibrator)`` pairs; the prediction is their mean.
    """

    numeric: tuple[str, ...]
    categorical: tuple[str, ...]
    vocabularies: tuple[tuple[str, ...], ...]
    members: tuple

    def predict(self, features: FeatureArrays) -> np.ndarray:
        """Calibrated churn probability per row."""
        return np.mean([calibrator.transform(member.proba(features))
                        for member, calibrator in self.members], axis=0)

    def arrays_from_arrow(self, table: pa.Table) -> FeatureArrays:
        """Feature arrays of an Arrow table holding the model's feature columns."""
        numeric = np.empty((len(self.numeric), table.num_rows))
        for i, name in enumerate(self.numeric):
            column = pc.cast(table.column(name), pa.float64())
            if column.null_count:
                column = pc.fill_null(column, np.nan)
            numeric[i] = column.to_numpy()
        codes = np.empty((len(self.categorical), table.num_rows), dtype=np.intp)
        for j, name in enumerate(self.categorical):
            text = pc.fill_null(pc.cast(table.column(name), pa.string()), MISSING_TEXT)
            found = pc.index_in(text, value_set=pa.array(self.vocabularies[j], pa.string()))
            codes[j] = pc.fill_null(found, len(self.vocabularies[j])).to_numpy()
        return FeatureArrays(numeric, codes)

    def arrays_from_frame(self, frame: pd.DataFrame) -> FeatureArrays:
        """Feature arrays of a pandas frame holding the model's feature columns."""
        numeric = np.empty((len(self.numeric), len(frame)))
        for i, name in enumerate(self.numeric):
            numeric[i] = pd.to_numeric(frame[name]).astype(float).to_numpy()
        codes = np.empty((len(self.categorical), len(frame)), dtype=np.intp)
        for j, name in enumerate(self.categorical):
            text = frame[name].astype("string").fillna(MISSING_TEXT).astype(object)
            found = pd.Index(self.vocabularies[j]).get_indexer(text)
            codes[j] = np.where(found < 0, len(self.vocabularies[j]), found)
        return FeatureArrays(numeric, codes)


def _vocabularies(model: ChurnModel) -> tuple[tuple[str, ...], ...]:
    """Per categorical feature: every category any member's encoder knows."""
    known: list[set[str]] = [set() for _ in model.categorical_features_]
    if not known:
        return ()
    for _, pipeline, _ in model.members_:
        encoder = pipeline.named_steps["prep"].named_transformers_.get("cat")
        if encoder is None or encoder == "drop":
            continue
        for j, categories in enumerate(encoder[-1].categories_):
            known[j].update(str(c) for c in categories)
    return tuple(tuple(sorted(values)) for values in known)


def _probe_frame(model: ChurnModel, vocabularies, feature: int) -> pd.DataFrame:
    """Rows that vary categorical ``feature`` over its vocabulary and then an unknown value, the
    other categoricals unknown and the numeric features 0."""
    values = [*vocabularies[feature], UNKNOWN_SENTINEL]
    frame = {name: [UNKNOWN_SENTINEL] * len(values) for name in model.categorical_features_}
    frame[model.categorical_features_[feature]] = values
    for name in model.numeric_features_:
        frame[name] = 0.0
    for name in getattr(model, "empty_features_", ()):
        frame[name] = np.nan  # in the schema, ignored by every member
    return pd.DataFrame(frame)


def _categorical_logits(model: ChurnModel, prep, coef: np.ndarray, vocabularies
                        ) -> tuple[float, tuple[np.ndarray, ...]]:
    """The one-hot part of the log-odds as a constant (every category unknown) plus, per
    feature, the change each vocabulary entry makes to it (0 in the unknown slot)."""
    constant, tables = 0.0, []
    part = prep.output_indices_["cat"]
    for j in range(len(model.categorical_features_)):
        probe = prep.transform(_probe_frame(model, vocabularies, j))
        logit = np.asarray(probe[:, part] @ coef[part]).ravel()
        constant = float(logit[-1])
        tables.append(logit - logit[-1])
    return constant, tuple(tables)


def _compile_linear(model: ChurnModel, pipeline: Pipeline, vocabularies) -> LinearMember:
    prep, regression = pipeline.named_steps["prep"], pipeline.named_steps["model"]
    coef = regression.coef_.ravel()
    numeric = prep.named_transformers_["num"]
    fill = numeric[0].statistics_
    kept = np.flatnonzero(~np.isnan(fill))
    scaler = numeric[-1]
    weights = coef[prep.output_indices_["num"]] / scaler.scale_
    categorical, tables = _categorical_logits(model, prep, coef, vocabularies)
    constant = float(regression.intercept_[0]) + categorical
    spline, columns, spline_fill, spline_coef = None, np.array([], dtype=int), None, None
    names = {name: list(cols) for name, _, cols in prep.transformers_}
    if "spline" in names:
        steps = prep.named_transformers_["spline"]
        stats = steps[0].statistics_
        kept_spline = ~np.isnan(stats)
        columns = np.array([model.numeric_features_.index(n) for n in names["spline"]])
        columns, spline_fill = columns[kept_spline], stats[kept_spline]
        spline = Pipeline(steps.steps[1:])
        spline_coef = coef[prep.output_indices_["spline"]]
    return LinearMember(constant, kept, fill[kept], weights, scaler.mean_, tables, columns,
                        spline_fill, spline, spline_coef)


def _compile_boosting(model: ChurnModel, pipeline: Pipeline, vocabularies) -> BoostingMember:
    prep, boosting = pipeline.named_steps["prep"], pipeline.named_steps["model"]
    tables = []
    for j in range(len(model.categorical_features_)):
        ordinal = prep.transform(_probe_frame(model, vocabularies, j))
        internal = boosting._preprocess_X(np.asarray(ordinal, dtype=float), reset=False)
        tables.append(np.asarray(internal[:, j], dtype=float))
    return BoostingMember(tuple(tables), compile_boosting(boosting))


def compile_churn_model(model: ChurnModel) -> CompiledChurnModel:
    """Compile a fitted :class:`ChurnModel` (logistic and gradient-boosting members)."""
    vocabularies = _vocabularies(model)
    members = []
    for name, pipeline, calibrator in model.members_:
        if name == "logistic":
            member = _compile_linear(model, pipeline, vocabularies)
        else:
            member = _compile_boosting(model, pipeline, vocabularies)
        members.append((member, calibrator))
    return CompiledChurnModel(tuple(model.numeric_features_),
                              tuple(model.categorical_features_), vocabularies, tuple(members))
