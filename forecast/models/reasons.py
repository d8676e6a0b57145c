"""Plain-words reasons for each customer's churn risk, computed from the customer's own features.

A rule table maps model features to a sentence template and to the condition under which the
sentence is true and describes a risk (e.g. orders fell). Rules are ranked per customer by how
much the customer's values of the rule's features raise the predicted churn probability: the
probability with the customer's own values minus the probability with those features set to the
typical (training median or most common) value. That is one prediction per rule over all
customers at once. Only rules that raise the risk and whose condition holds become reasons.
Features no rule speaks for get a generic sentence ("tenure is 2, typical 29").
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from forecast.schemas import CUTOFF

Values = Callable[[pd.DataFrame], pd.DataFrame]
Holds = Callable[[pd.DataFrame], pd.Series]


@dataclass(frozen=True)
class ReasonRule:
    """One kind of reason.

    Attributes:
        features: model features the rule speaks for; the rule is used only when the model has
            all of them.
        template: ``str.format`` template over the columns returned by ``values``.
        values: customer features -> the numbers the sentence quotes.
        holds: customer features -> where the sentence is true and points to higher risk.
    """

    features: tuple[str, ...]
    template: str
    values: Values
    holds: Holds


def _trend_drop_pct(trend: pd.Series) -> pd.Series:
    """Percent fall from the previous window implied by a symmetric trend (L-P)/(L+P)."""
    return (100 * -2 * trend / (1 - trend)).round(0)


def _trend_rule(measure: str, feature: str, window: int) -> ReasonRule:
    return ReasonRule(
        features=(feature,),
        template=f"{measure} in the last {window} days fell {{pct:.0f}}% vs the {window} days "
                 "before",
        values=lambda f: pd.DataFrame({"pct": _trend_drop_pct(f[feature])}),
        holds=lambda f: f[feature] < 0,
    )


def _satisfaction_rule() -> ReasonRule:
    def values(f: pd.DataFrame) -> pd.DataFrame:
        latest = f["satisfaction_latest"]
        return pd.DataFrame({"before": latest - f["satisfaction_change"], "latest": latest})

    return ReasonRule(("satisfaction_latest", "satisfaction_change"),
                      "satisfaction fell from {before:.1f} to {latest:.1f}", values,
                      lambda f: f["satisfaction_change"] < 0)


def _product_rule(window: int) -> ReasonRule:
    recent, previous = f"product_lines_{window}d", f"product_lines_prev_{window}d"
    return ReasonRule(
        (recent, previous),
        f"bought {{recent:.0f}} product line(s) in the last {window} days vs {{previous:.0f}} "
        "before",
        lambda f: pd.DataFrame({"recent": f[recent], "previous": f[previous]}),
        lambda f: f[recent] < f[previous])


def _overdue_rule() -> ReasonRule:
    return ReasonRule(
        ("recency_days", "recency_to_interval"),
        "no order for {days:.0f} days, {ratio:.1f}x the usual interval",
        lambda f: pd.DataFrame({"days": f["recency_days"], "ratio": f["recency_to_interval"]}),
        lambda f: f["recency_to_interval"] > 1)


def default_rules(windows: tuple[int, ...] = (30, 90, 180, 365), product_window: int = 90
                  ) -> list[ReasonRule]:
    """The rule table for the customer snapshot features of :mod:`forecast.features`."""
    rules = [_overdue_rule(), _satisfaction_rule(), _product_rule(product_window)]
    for w in windows:
        rules.append(_trend_rule("orders", f"orders_trend_{w}d", w))
        rules.append(_trend_rule("revenue", f"revenue_trend_{w}d", w))
    return rules


def _generic_rule(feature: str, reference, numeric: bool) -> ReasonRule:
    words = feature.replace("_", " ")
    if numeric:
        return ReasonRule((feature,), f"{words} is {{value:.4g}}, typical {reference:.4g}",
                          lambda f: pd.DataFrame({"value": f[feature]}),
                          lambda f: f[feature].notna() & (f[feature] != reference))
    return ReasonRule((feature,), f"{words} is {{value}}",
                      lambda f: pd.DataFrame({"value": f[feature]}),
                      lambda f: f[feature].notna() & (f[feature] != reference))


def _rules_for(model, rules: list[ReasonRule]) -> list[ReasonRule]:
    """The rules whose features the model has, plus a generic rule per uncovered feature."""
    features = set(model.feature_names_in_)
    usable = [r for r in rules if set(r.features) <= features]
    covered = {f for r in usable for f in r.features}
    numeric = set(model.numeric_features_)
    usable += [_generic_rule(f, model.reference_values_[f], f in numeric)
               for f in model.feature_names_in_ if f not in covered]
    return usable


def rule_contributions(model, frame: pd.DataFrame, rules: list[ReasonRule]) -> np.ndarray:
    """Risk added by each rule's features, per customer.

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


def _sentences(rule: ReasonRule, frame: pd.DataFrame, rows: np.ndarray) -> list[str]:
    values = rule.values(frame.iloc[rows]).to_dict("records")
    return [rule.template.format(**v) for v in values]


def explain_churn(model, frame: pd.DataFrame, rules: list[ReasonRule] | None = None,
                  n_reasons: int = 3, id_column: str = "customer_id") -> pd.DataFrame:
    """The top reasons behind each customer's churn risk, in plain words.

    Args:
        model: a fitted :class:`forecast.models.churn.ChurnModel` (anything with
            ``predict_proba``, ``feature_names_in_``, ``numeric_features_`` and
            ``reference_values_``).
        frame: customers to explain, with the model's features (and optionally the id and
            ``cutoff`` columns).
        rules: the rule table; default :func:`default_rules`.
        n_reasons: reasons per customer.
        id_column: the customer key column carried to the output.

    Returns:
        One row per customer: the id (and ``cutoff``) columns present in ``frame``, then
        ``reason_1 .. reason_<n_reasons>`` (None where fewer reasons raise the risk), most
        important first.
    """
    frame = frame.reset_index(drop=True)
    usable = _rules_for(model, default_rules() if rules is None else rules)
    contribution = rule_contributions(model, frame, usable)
    holds = np.column_stack([r.holds(frame).fillna(False).to_numpy(bool) for r in usable])
    score = np.where(holds & (contribution > 0), contribution, -np.inf)
    order = np.argsort(-score, axis=1, kind="mergesort")[:, :n_reasons]
    keys = [c for c in (id_column, CUTOFF) if c in frame.columns]
    out = frame.loc[:, keys].copy()
    for k in range(n_reasons):
        column = np.full(len(frame), None, dtype=object)
        chosen, valid = order[:, k], np.isfinite(score[np.arange(len(frame)), order[:, k]])
        for j in np.unique(chosen[valid]):
            rows = np.flatnonzero(valid & (chosen == j))
            column[rows] = _sentences(usable[j], frame, rows)
        out[f"reason_{k + 1}"] = pd.Series(column, index=out.index, dtype=object)
    return out
