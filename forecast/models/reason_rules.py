"""The rule table of the churn reasons: which features tell which story, in which words.

Each rule belongs to a family (one reason per family and customer), names the model features
whose effect it sums, says where its sentence is true and points to risk, and builds the
sentence from the customer's own numbers. Rules work on ``Columns``: feature name -> array of
the chosen customers' values (floats with NaN for numbers, objects with None for categories),
and sentences are built with numpy string operations (no Python loop per customer).

Wording of the snapshot features' rules (``{x}`` are the customer's numbers)::

    no order for {d} days, {r}x the usual interval       no order for {d} days, typical {t}
    orders in the last {w} days fell {p}% vs the {w} days before
    revenue in the last {w} days fell {p}% vs the {w} days before
    satisfaction fell from {a} to {b}                     satisfaction score {s}, below the typical {t}
    no satisfaction survey answered for {d} days, typical {t}
    bought {n} product line(s) in the last {w} days vs {m} before
    orders every {d} days on average, typical {t}         has bought on only one day so far
    a customer for only {d} days, typical {t}             average order {v}, typical {t}
    returned {p}% of purchase value, typical {t}%         gross margin {p}%, typical {t}%
    buys mostly {channel} ({p}% of revenue)               no open sales opportunities, typical {t}
    {n} open sales opportunities, typical {t}
    in the {v} segment, riskier than {t}                  in region {v}, riskier than {t}
    in the {v} industry, riskier than {t}
    {feature words} is {value}, typical {t}               (any other feature)
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from forecast.schemas import CHANNELS

Columns = Mapping[str, np.ndarray]
Reference = Mapping[str, object]
Holds = Callable[[Columns, Reference], np.ndarray]
Text = Callable[[Columns, Reference], np.ndarray]
STRING = np.dtypes.StringDType()


@dataclass(frozen=True)
class ReasonRule:
    """One kind of reason.

    Attributes:
        family: rules of one family tell the same story; a customer gets at most one of them.
        features: model features whose effect on the risk the rule sums.
        holds: (columns, reference values) -> where the sentence is true and points to risk.
        text: (columns, reference values) -> the sentence per customer (numpy strings).
        requires: features the model must have for the rule to be used; default all.
    """

    family: str
    features: tuple[str, ...]
    holds: Holds
    text: Text
    requires: tuple[str, ...] | None = None

    def __post_init__(self) -> None:
        if self.requires is None:
            object.__setattr__(self, "requires", self.features)

    def restricted_to(self, available: set[str]) -> ReasonRule:
        """This rule summing only the features in ``available``."""
        return replace(self, features=tuple(f for f in self.features if f in available))


def join(*parts) -> np.ndarray:
    """Concatenate literal strings and string arrays element-wise."""
    out = None
    for part in parts:
        piece = part if isinstance(part, str) else np.asarray(part, dtype=STRING)
        out = piece if out is None else np.strings.add(out, piece)
    return np.asarray(out, dtype=STRING)


def _finite(x) -> np.ndarray:
    return np.nan_to_num(np.asarray(x, dtype=float), nan=0.0, posinf=0.0, neginf=0.0)


def integer(x) -> np.ndarray:
    """Numbers rounded to whole numbers, as text."""
    return np.round(_finite(x)).astype(np.int64).astype(STRING)


def one_decimal(x) -> np.ndarray:
    """Numbers with one decimal, as text (``5.0``, ``-0.4``)."""
    tenths = np.round(_finite(x) * 10).astype(np.int64)
    sign = np.where(tenths < 0, "-", "")
    size = np.abs(tenths)
    return join(sign.astype(STRING), (size // 10).astype(STRING), ".", (size % 10).astype(STRING))


def number(x) -> np.ndarray:
    """Whole numbers from 10 up, one decimal below."""
    x = _finite(x)
    return np.where(np.abs(x) >= 10, integer(x), one_decimal(x)).astype(STRING)


def percent(share) -> np.ndarray:
    """A share (0.25) as a whole percentage (``25``)."""
    return integer(100 * _finite(share))


def _filled(value, n: int) -> np.ndarray:
    return np.full(n, value, dtype=object if isinstance(value, str) else float)


def _count(columns: Columns) -> int:
    return len(next(iter(columns.values())))


def _get(columns: Columns, name: str) -> np.ndarray | None:
    return columns.get(name)


def _recency_rule() -> ReasonRule:
    def holds(c: Columns, ref: Reference) -> np.ndarray:
        days, ratio = c["recency_days"], _get(c, "recency_to_interval")
        out = days > ref["recency_days"]
        if ratio is not None:
            out |= ratio > 1
        return out & ~np.isnan(days)

    def text(c: Columns, ref: Reference) -> np.ndarray:
        days, ratio = c["recency_days"], _get(c, "recency_to_interval")
        plain = join("no order for ", integer(days), " days, typical ",
                     integer(_filled(ref["recency_days"], len(days))))
        if ratio is None:
            return plain
        overdue = join("no order for ", integer(days), " days, ", one_decimal(ratio),
                       "x the usual interval")
        return np.where(ratio > 1, overdue, plain).astype(STRING)

    return ReasonRule("recency", ("recency_days", "recency_to_interval", "interval_last_days",
                                  "lt_recency"), holds, text, requires=("recency_days",))


def _trend_drop_pct(trend: np.ndarray) -> np.ndarray:
    """Percent fall from the previous window implied by a symmetric trend (L-P)/(L+P)."""
    return np.round(100 * -2 * trend / (1 - trend))


def _trend_rule(measure: str, window: int) -> ReasonRule:
    trend = f"{measure}_trend_{window}d"

    def text(c: Columns, ref: Reference) -> np.ndarray:
        return join(f"{measure} in the last {window} days fell ", integer(_trend_drop_pct(
            _finite(c[trend]))), f"% vs the {window} days before")

    return ReasonRule("activity", (trend, f"{measure}_{window}d"),
                      lambda c, ref: c[trend] < 0, text, requires=(trend,))


def _satisfaction_rules() -> list[ReasonRule]:
    def fell(c: Columns, ref: Reference) -> np.ndarray:
        latest = c["satisfaction_latest"]
        return join("satisfaction fell from ", one_decimal(latest - c["satisfaction_change"]),
                    " to ", one_decimal(latest))

    def low(c: Columns, ref: Reference) -> np.ndarray:
        latest = c["satisfaction_latest"]
        return join("satisfaction score ", one_decimal(latest), ", below the typical ",
                    one_decimal(_filled(ref["satisfaction_latest"], len(latest))))

    def silent(c: Columns, ref: Reference) -> np.ndarray:
        days = c["days_since_survey"]
        return join("no satisfaction survey answered for ", integer(days), " days, typical ",
                    integer(_filled(ref["days_since_survey"], len(days))))

    return [
        ReasonRule("satisfaction", ("satisfaction_latest", "satisfaction_change"),
                   lambda c, ref: c["satisfaction_change"] < 0, fell),
        ReasonRule("satisfaction", ("satisfaction_latest",),
                   lambda c, ref: c["satisfaction_latest"] < ref["satisfaction_latest"], low),
        ReasonRule("surveys", ("days_since_survey",),
                   lambda c, ref: c["days_since_survey"] > ref["days_since_survey"], silent),
    ]


def _previous_orders(c: Columns, window: int) -> np.ndarray | None:
    """Orders in the window before the last ``window`` days, from the count and its trend:
    (L - P) / (L + P) = t gives P = L (1 - t) / (1 + t); unknown (NaN) when L is 0."""
    last, trend = _get(c, f"orders_{window}d"), _get(c, f"orders_trend_{window}d")
    if last is None or trend is None:
        return None
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(last > 0, last * (1 - trend) / (1 + trend), np.nan)


def _product_rule(window: int) -> ReasonRule:
    """A narrower mix: fewer product lines than in the window before while still buying, and
    fewer lines per order (when the order counts are known), so it is not just fewer orders."""
    recent, previous = f"product_lines_{window}d", f"product_lines_prev_{window}d"

    def holds(c: Columns, ref: Reference) -> np.ndarray:
        narrower = (c[recent] >= 1) & (c[recent] < c[previous])
        orders, before = _get(c, f"orders_{window}d"), _previous_orders(c, window)
        if orders is None or before is None:
            return narrower
        return narrower & (c[recent] * before < c[previous] * orders)

    def text(c: Columns, ref: Reference) -> np.ndarray:
        return join("bought ", integer(c[recent]), f" product line(s) in the last {window} "
                    "days vs ", integer(c[previous]), " before")

    return ReasonRule("product_mix", (recent, previous, f"product_lines_change_{window}d",
                                      "product_lines_total"), holds, text,
                      requires=(recent, previous))


def _frequency_rules() -> list[ReasonRule]:
    def rare(c: Columns, ref: Reference) -> np.ndarray:
        days = c["interval_mean_days"]
        return join("orders every ", integer(days), " days on average, typical ",
                    integer(_filled(ref["interval_mean_days"], len(days))))

    def once(c: Columns, ref: Reference) -> np.ndarray:
        return np.full(_count(c), "has bought on only one day so far", dtype=STRING)

    return [
        ReasonRule("frequency", ("interval_mean_days", "interval_std_days", "frequency_orders",
                                 "lt_frequency"),
                   lambda c, ref: c["interval_mean_days"] > ref["interval_mean_days"], rare,
                   requires=("interval_mean_days",)),
        ReasonRule("frequency", ("purchase_days", "frequency_orders", "lt_frequency"),
                   lambda c, ref: (c["purchase_days"] == 1) & (ref["purchase_days"] > 1), once,
                   requires=("purchase_days",)),
    ]


def _below_rule(family: str, features: tuple[str, ...], words: tuple[str, str, str],
                formatter=number) -> ReasonRule:
    """The first feature is below the typical value: ``words[0] {x} words[1] {t} words[2]``."""
    feature = features[0]

    def text(c: Columns, ref: Reference) -> np.ndarray:
        values = c[feature]
        return join(words[0], formatter(values), words[1],
                    formatter(_filled(ref[feature], len(values))), words[2])

    return ReasonRule(family, features, lambda c, ref: c[feature] < ref[feature], text,
                      requires=(feature,))


def _returns_rule() -> ReasonRule:
    def text(c: Columns, ref: Reference) -> np.ndarray:
        share = c["return_revenue_share"]
        return join("returned ", percent(share), "% of purchase value, typical ",
                    percent(_filled(ref["return_revenue_share"], len(share))), "%")

    return ReasonRule("returns", ("return_revenue_share", "return_line_share"),
                      lambda c, ref: (c["return_revenue_share"] > ref["return_revenue_share"])
                      & (c["return_revenue_share"] > 0), text,
                      requires=("return_revenue_share",))


def _channel_rule() -> ReasonRule:
    names = tuple(f"channel_share_{ch}" for ch in CHANNELS)

    def shares(c: Columns) -> np.ndarray:
        return np.column_stack([np.nan_to_num(c[n], nan=-1.0) for n in names])

    def text(c: Columns, ref: Reference) -> np.ndarray:
        table = shares(c)
        top = np.argmax(table, axis=1)
        label = np.asarray(CHANNELS, dtype=object)[top]
        return join("buys mostly ", label, " (", percent(table[np.arange(len(top)), top]),
                    "% of revenue)")

    return ReasonRule("channel", names, lambda c, ref: shares(c).max(axis=1) >= 0.5, text)


def _opportunity_rule() -> ReasonRule:
    def text(c: Columns, ref: Reference) -> np.ndarray:
        count = c["open_opportunities"]
        typical = integer(_filled(ref["open_opportunities"], len(count)))
        some = join(integer(count), " open sales opportunities, typical ", typical)
        none = join("no open sales opportunities, typical ", typical)
        return np.where(count == 0, none, some).astype(STRING)

    return ReasonRule("pipeline", ("open_opportunities", "open_opportunity_amount"),
                      lambda c, ref: c["open_opportunities"] < ref["open_opportunities"], text,
                      requires=("open_opportunities",))


def _attribute_rule(feature: str, before: str, after: str) -> ReasonRule:
    def text(c: Columns, ref: Reference) -> np.ndarray:
        values = c[feature]
        return join(before, values.astype(str), after, str(ref[feature]))

    return ReasonRule(feature, (feature,), lambda c, ref: _differs(c[feature], ref[feature]),
                      text)


def _differs(values: np.ndarray, reference) -> np.ndarray:
    if reference is None or (isinstance(reference, float) and np.isnan(reference)):
        return np.zeros(len(values), dtype=bool)
    return ~pd.isna(values) & (values != reference)


def generic_rule(feature: str, numeric: bool) -> ReasonRule:
    """``{feature words} is {value}, typical {reference}`` where the value differs from the
    typical one."""
    words = feature.replace("_", " ")

    def text(c: Columns, ref: Reference) -> np.ndarray:
        values, typical = c[feature], ref[feature]
        if numeric:
            return join(f"{words} is ", number(values), ", typical ",
                        number(_filled(typical, len(values))))
        return join(f"{words} is ", values.astype(str), f", typical {typical}")

    return ReasonRule(feature, (feature,), lambda c, ref: _differs(c[feature], ref[feature]),
                      text)


def default_rules(windows: tuple[int, ...] = (30, 90, 180, 365), product_window: int = 90
                  ) -> list[ReasonRule]:
    """The rule table for the customer snapshot features of :mod:`forecast.features`."""
    rules = [_recency_rule(), *_satisfaction_rules(), _product_rule(product_window),
             *_frequency_rules()]
    for w in windows:
        rules += [_trend_rule("orders", w), _trend_rule("revenue", w)]
    rules += [
        _below_rule("tenure", ("tenure_days", "lt_T"), ("a customer for only ", " days, typical ", ""),
                    integer),
        _below_rule("value", ("monetary_mean", "monetary_sum", "lt_monetary_value"),
                    ("average order ", ", typical ", "")),
        _below_rule("margin", ("gross_margin_share",), ("gross margin ", "%, typical ", "%"), percent),
        _returns_rule(), _channel_rule(), _opportunity_rule(),
        _attribute_rule("segment", "in the ", " segment, riskier than "),
        _attribute_rule("region", "in region ", ", riskier than "),
        _attribute_rule("industry", "in the ", " industry, riskier than "),
    ]
    return rules
