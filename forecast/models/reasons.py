"""Plain-words reasons for each customer's churn risk, computed from the customer's own features.

A rule table maps model features to a family of risk (recency, falling activity, satisfaction,
product mix, ...), a condition under which the sentence is true and describes a risk (orders
fell, satisfaction is below the typical score) and a sentence quoting the customer's numbers.
Rules are ranked per customer by how much the customer's values of the rule's features raise the
predicted churn risk compared with the typical customer (training median, or most common
category); the best rule of each family competes, and the three best families become the
reasons. Only rules that raise the risk and whose condition holds become reasons.

How much a customer's values raise the risk is measured in one of two ways:

* ``additive`` (the default for a fitted :class:`forecast.models.churn.ChurnModel`): the model's
  partial dependence on each feature, in log-odds, learned once at fit time
  (:func:`fit_attribution`); a rule's contribution is the sum over its features of the effect of
  the customer's value minus the effect of the typical value. Exact for a logistic model
  (additive in log-odds, splines included), a first-order view of a boosted one; costs a few
  array look-ups per customer.
* ``exact``: the probability with the customer's own values minus the probability with the
  rule's features set to the typical values: one prediction of the whole model per rule.

Each distinct sentence is formatted once (:func:`forecast.models.reason_rules.render`), so
explaining a million customers takes seconds. Features no rule speaks for get a generic sentence (``MonthlyCharges is 95.2, typical
70.4``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from forecast.models.reason_rules import (
    Columns,
    ReasonRule,
    default_rules,
    generic_rule,
    render,
)
from forecast.schemas import CUTOFF

__all__ = [
    "Attribution", "FeatureEffect", "ReasonRule", "additive_contributions", "choose_reasons",
    "default_rules", "explain_churn", "fit_attribution", "frame_columns", "holds_matrix",
    "reason_texts", "rule_contributions", "usable_rules",
]

GRID_POINTS = 13
BACKGROUND_ROWS = 96
MAX_CATEGORIES = 40
EPSILON = 1e-6


@dataclass(frozen=True)
class FeatureEffect:
    """Partial dependence of the model's log-odds on one feature, relative to the typical value.

    Attributes:
        grid: sorted numbers (numeric feature) or category values (categorical feature).
        effect: log-odds at each grid point minus log-odds at the typical value.
        missing: the effect of a missing value (0 when training had none).
    """

    grid: np.ndarray
    effect: np.ndarray
    missing: float
    numeric: bool

    def of(self, values: np.ndarray) -> np.ndarray:
        """The effect of each value; numbers between grid points are interpolated, beyond the
        grid held at the end value; unseen categories have no effect."""
        if self.numeric:
            x = np.asarray(values, dtype=float)
            out = np.interp(x, self.grid, self.effect)
            return np.where(np.isnan(x), self.missing, out)
        index = pd.Index(self.grid).get_indexer(pd.Series(values, dtype=object))
        found = np.where(index >= 0, self.effect[np.maximum(index, 0)], 0.0)
        absent = pd.isna(pd.Series(values, dtype=object)).to_numpy()
        return np.where(absent, self.missing, found)


Attribution = dict  # feature name -> FeatureEffect


def _logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(p, EPSILON, 1 - EPSILON)
    return np.log(p / (1 - p))


def _grid(column: pd.Series, numeric: bool, reference) -> tuple[np.ndarray, bool]:
    """Grid values of a feature (its quantiles, or its commonest categories) with the typical
    value included, and whether the feature is ever missing."""
    missing = bool(column.isna().any())
    if numeric:
        values = column.astype(float).to_numpy()
        finite = values[~np.isnan(values)]
        points = np.quantile(finite, np.linspace(0, 1, GRID_POINTS)) if finite.size else []
        extra = [reference] if reference is not None and not np.isnan(reference) else []
        return np.unique(np.concatenate([points, extra])), missing
    common = list(column.dropna().value_counts().index[:MAX_CATEGORIES])
    if reference is not None and reference not in common:
        common.append(reference)
    return np.array(common, dtype=object), missing


def fit_attribution(model, X: pd.DataFrame, seed: int = 0) -> Attribution:
    """Partial dependence of a fitted model on each feature, for the ``additive`` reasons.

    Args:
        model: a fitted model with ``predict_proba``, ``feature_names_in_``,
            ``numeric_features_`` and ``reference_values_``.
        X: training features (at least the model's feature columns).
        seed: picks the background rows the dependence is averaged over.

    Returns:
        Feature name -> :class:`FeatureEffect`.
    """
    features = used_features(model)
    rng = np.random.default_rng(seed)
    rows = rng.choice(len(X), size=min(BACKGROUND_ROWS, len(X)), replace=False)
    background = X.iloc[np.sort(rows)][list(model.feature_names_in_)].reset_index(drop=True)
    numeric = set(model.numeric_features_)
    plans, probes = [], []
    for feature in features:
        grid, missing = _grid(X[feature], feature in numeric, model.reference_values_[feature])
        points = list(grid) + ([None] if missing else [])
        for value in points:
            probe = background.copy()
            probe[feature] = np.nan if value is None and feature in numeric else value
            probes.append(probe)
        plans.append((feature, grid, missing, len(points)))
    logits = _logit(model.predict_proba(pd.concat(probes, ignore_index=True))[:, 1])
    means = logits.reshape(-1, len(background)).mean(axis=1)
    out, start = {}, 0
    for feature, grid, missing, n in plans:
        values, start = means[start:start + n], start + n
        out[feature] = _effect(feature, grid, values, missing, feature in numeric,
                               model.reference_values_[feature])
    return out


def _effect(feature: str, grid: np.ndarray, values: np.ndarray, missing: bool, numeric: bool,
            reference) -> FeatureEffect:
    on_grid = values[:len(grid)]
    if numeric:
        if not len(grid):
            return FeatureEffect(np.array([0.0]), np.array([0.0]), 0.0, True)
        typical = np.interp(reference, grid, on_grid) if reference is not None and not np.isnan(
            reference) else float(np.mean(on_grid))
    else:
        position = list(grid).index(reference) if reference in list(grid) else None
        typical = on_grid[position] if position is not None else float(np.mean(on_grid))
    missing_effect = float(values[-1] - typical) if missing else 0.0
    return FeatureEffect(grid, on_grid - typical, missing_effect, numeric)


def used_features(model) -> list[str]:
    """The model's feature columns that hold values (``empty_features_`` left out)."""
    empty = set(getattr(model, "empty_features_", ()))
    return [f for f in model.feature_names_in_ if f not in empty]


def usable_rules(model, rules: list[ReasonRule] | None = None) -> list[ReasonRule]:
    """The rules whose required features the model has (each using the features it has), plus
    a generic rule per feature no rule covers."""
    features = set(used_features(model))
    usable = []
    for rule in default_rules() if rules is None else rules:
        if set(rule.requires) <= features:
            usable.append(rule.restricted_to(features))
    covered = {f for r in usable for f in r.features}
    numeric = set(model.numeric_features_)
    usable += [generic_rule(f, f in numeric) for f in used_features(model)
               if f not in covered]
    return usable


def additive_contributions(attribution: Attribution, columns: Columns,
                           rules: list[ReasonRule]) -> np.ndarray:
    """(customers, rules) log-odds each rule's features add for each customer (see module)."""
    effects = {f: attribution[f].of(columns[f]) for r in rules for f in r.features
               if f in attribution}
    n = len(next(iter(columns.values()))) if columns else 0
    out = np.zeros((n, len(rules)))
    for j, rule in enumerate(rules):
        for feature in rule.features:
            if feature in effects:
                out[:, j] += effects[feature]
    return out


def rule_contributions(model, frame: pd.DataFrame, rules: list[ReasonRule]) -> np.ndarray:
    """Risk added by each rule's features, per customer, by re-predicting (``exact``).

    Returns:
        Array (customers x rules): churn probability with the customer's own values minus the
        probability with the rule's features set to the model's ``reference_values_``.
    """
    base = model.predict_proba(frame)[:, 1]
    out = np.empty((len(frame), len(rules)))
    for j, rule in enumerate(rules):
        typical = frame.copy()
        for feature in rule.features:
            typical[feature] = model.reference_values_[feature]
        out[:, j] = base - model.predict_proba(typical)[:, 1]
    return out


def choose_reasons(contribution: np.ndarray, holds: np.ndarray, rules: list[ReasonRule],
                   n_reasons: int = 3) -> np.ndarray:
    """(customers, n_reasons) indices of the chosen rules, most important first; -1 for none.

    A rule is a candidate where its condition holds and it raises the risk; within a family
    only the best candidate counts, so the reasons tell different stories.
    """
    score = np.where(holds & (contribution > 0), contribution, -np.inf)
    families = np.array([r.family for r in rules], dtype=object)
    for family in np.unique(families):
        members = np.flatnonzero(families == family)
        if len(members) > 1:
            best = members[np.argmax(score[:, members], axis=1)]
            keep = np.zeros_like(score, dtype=bool)
            keep[np.arange(len(score)), best] = True
            score[:, members] = np.where(keep[:, members], score[:, members], -np.inf)
    order = np.argsort(-score, axis=1, kind="stable")[:, :n_reasons]
    chosen = np.take_along_axis(score, order, axis=1)
    return np.where(np.isfinite(chosen), order, -1)


def reason_texts(rules: list[ReasonRule], columns: Columns, reference: Mapping,
                 chosen: np.ndarray) -> list[np.ndarray]:
    """Sentences of the chosen rules: one object array per reason rank, None where no rule."""
    out = []
    for k in range(chosen.shape[1]):
        column = np.full(chosen.shape[0], None, dtype=object)
        for j in np.unique(chosen[:, k]):
            if j < 0:
                continue
            rows = np.flatnonzero(chosen[:, k] == j)
            column[rows] = render(rules[j].text(_Rows(columns, rows), reference), len(rows))
        out.append(column)
    return out


class _Rows(Mapping):
    """Some rows of every column, cut when a column is first read."""

    def __init__(self, columns: Columns, rows: np.ndarray):
        self.columns, self.rows, self.cut = columns, rows, {}

    def __getitem__(self, name: str) -> np.ndarray:
        if name not in self.cut:
            self.cut[name] = self.columns[name][self.rows]
        return self.cut[name]

    def __iter__(self):
        return iter(self.columns)

    def __len__(self) -> int:
        return len(self.columns)


def holds_matrix(rules: list[ReasonRule], columns: Columns, reference: Mapping) -> np.ndarray:
    """(customers, rules): where each rule's sentence is true and points to risk."""
    return np.column_stack([np.asarray(r.holds(columns, reference), dtype=bool)
                            for r in rules])


def frame_columns(frame: pd.DataFrame, model) -> dict[str, np.ndarray]:
    """A frame's feature columns as arrays: numbers as floats (NaN missing), categories as
    objects (None missing)."""
    numeric = set(model.numeric_features_)
    out = {}
    for name in used_features(model):
        if name in numeric:
            out[name] = pd.to_numeric(frame[name]).astype(float).to_numpy()
        else:
            values = frame[name].astype(object)
            out[name] = values.where(values.notna(), None).to_numpy(dtype=object)
    return out



def explain_churn(model, frame: pd.DataFrame, rules: list[ReasonRule] | None = None,
                  n_reasons: int = 3, id_column: str = "customer_id",
                  method: str = "auto", families: bool = False) -> pd.DataFrame:
    """The top reasons behind each customer's churn risk, in plain words.

    Args:
        model: a fitted :class:`forecast.models.churn.ChurnModel` (anything with
            ``predict_proba``, ``feature_names_in_``, ``numeric_features_`` and
            ``reference_values_``; ``attribution_`` for the additive method).
        frame: customers to explain, with the model's features (and optionally the id and
            ``cutoff`` columns).
        rules: the rule table; default :func:`default_rules`.
        n_reasons: reasons per customer.
        id_column: the customer key column carried to the output.
        method: ``additive``, ``exact`` or ``auto`` (additive when the model has an
            ``attribution_``).
        families: also return ``family_1 ..`` (each reason's rule family, e.g. ``recency``,
            ``satisfaction``), for counting reasons by kind.

    Returns:
        One row per customer: the id (and ``cutoff``) columns present in ``frame``, then
        ``reason_1 .. reason_<n_reasons>`` (None where fewer reasons raise the risk), most
        important first.
    """
    frame = frame.reset_index(drop=True)
    usable = usable_rules(model, rules)
    columns = frame_columns(frame, model)
    attribution = getattr(model, "attribution_", None)
    if method == "additive" or (method == "auto" and attribution is not None):
        contribution = additive_contributions(attribution, columns, usable)
    else:
        contribution = rule_contributions(model, frame, usable)
    reference = model.reference_values_
    chosen = choose_reasons(contribution, holds_matrix(usable, columns, reference), usable,
                            n_reasons)
    keys = [c for c in (id_column, CUTOFF) if c in frame.columns]
    out = frame.loc[:, keys].copy()
    for k, texts in enumerate(reason_texts(usable, columns, reference, chosen)):
        out[f"reason_{k + 1}"] = pd.Series(texts, index=out.index, dtype=object)
    if families:
        names = np.array([r.family for r in usable] + [None], dtype=object)
        for k in range(n_reasons):
            out[f"family_{k + 1}"] = names[chosen[:, k]]
    return out

