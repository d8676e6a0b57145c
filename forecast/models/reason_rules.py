"""The rule table of the churn reasons: which features tell which story, in which words.

Each rule belongs to a family (one reason per family and customer), names the model features
whose effect it sums, says where its sentence is true and points to risk, and words the
sentence from the customer's own numbers. Rules work on ``Columns``: feature name -> array of
the chosen customers' values (floats with NaN for numbers, objects with None for categories).

A rule's sentence is a :class:`Sentence`: a ``str.format`` template and the arrays filling it.
:func:`render` rounds the numbers as the template prints them (``{:.0f}``, ``{:.1f}``, and
``{:num}`` = whole from 10 up, one decimal below), formats each distinct combination once and
hands it to every customer who has it, so wording a million reasons costs little more than
wording the distinct ones.

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

import string
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from forecast.schemas import CHANNELS

Columns = Mapping[str, np.ndarray]
Reference = Mapping[str, object]


@dataclass(frozen=True)
class Sentence:
    """A template and the values filling its fields, for the rows in ``where`` (all if None)."""

    template: str
    values: tuple = ()
    where: np.ndarray | None = None


Holds = Callable[[Columns, Reference], np.ndarray]
Text = Callable[[Columns, Reference], list[Sentence]]


@dataclass(frozen=True)
class ReasonRule:
    """One kind of reason.

    Attributes:
        family: rules of one family tell the same story; a customer gets at most one of them.
        features: model features whose effect on the risk the rule sums.
        holds: (columns, reference values) -> where the sentence is true and points to risk.
        text: (columns, reference values) -> the sentence(s); where several apply to a row, the
            first wins.
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


class _Formatter(string.Formatter):
    def format_field(self, value, format_spec: str) -> str:
        if format_spec == "num":
            return format(value, ".0f" if abs(value) >= 10 else ".1f")
        return super().format_field(value, format_spec)


FORMATTER = _Formatter()


def _rounded(values: np.ndarray, spec: str) -> np.ndarray:
    """Values as the field prints them, so equal texts have equal keys."""
    if spec.startswith(".") and spec.endswith("f"):
        return np.round(np.asarray(values, dtype=float), int(spec[1:-1]))
    if spec == "num":
        x = np.asarray(values, dtype=float)
        return np.where(np.abs(x) >= 10, np.round(x), np.round(x, 1))
    return np.asarray(values, dtype=object)


def _render_rows(sentence: Sentence, rows: np.ndarray) -> np.ndarray:
    specs = [spec for _, field, spec, _ in string.Formatter().parse(sentence.template)
             if field is not None]
    if not specs:
        return np.full(len(rows), FORMATTER.format(sentence.template), dtype=object)
    shown = [_rounded(np.asarray(v)[rows], s) for v, s in zip(sentence.values, specs,
                                                                strict=True)]
    combined = np.zeros(len(rows), dtype=np.int64)
    for values in shown:
        codes, uniques = pd.factorize(values, use_na_sentinel=False)
        combined = combined * (len(uniques) + 1) + codes
    _, first, inverse = np.unique(combined, return_index=True, return_inverse=True)
    texts = np.array([FORMATTER.format(sentence.template, *(v[i] for v in shown))
                      for i in first], dtype=object)
    return texts[inverse.ravel()]


def render(sentences: list[Sentence], n: int) -> np.ndarray:
    """Texts of ``n`` rows (object array; None where no sentence applies)."""
    out = np.full(n, None, dtype=object)
    todo = np.ones(n, dtype=bool)
    for sentence in sentences:
        rows = np.flatnonzero(todo if sentence.where is None else todo & sentence.where)
        if rows.size:
            out[rows] = _render_rows(sentence, rows)
            todo[rows] = False
    return out


def _count(columns: Columns) -> int:
    return len(next(iter(columns.values())))


def _recency_rule() -> ReasonRule:
    def holds(c: Columns, ref: Reference) -> np.ndarray:
        days, ratio = c["recency_days"], c.get("recency_to_interval")
        out = days > ref["recency_days"]
        if ratio is not None:
            out |= ratio > 1
        return out & ~np.isnan(days)

    def text(c: Columns, ref: Reference) -> list[Sentence]:
        days, ratio = c["recency_days"], c.get("recency_to_interval")
        plain = Sentence(f"no order for {{:.0f}} days, typical {ref['recency_days']:.0f}",
                         (days,))
        if ratio is None:
            return [plain]
        return [Sentence("no order for {:.0f} days, {:.1f}x the usual interval", (days, ratio),
                         ratio > 1), plain]

    return ReasonRule("recency", ("recency_days", "recency_to_interval", "interval_last_days",
                                  "lt_recency"), holds, text, requires=("recency_days",))


def _trend_rule(measure: str, window: int) -> ReasonRule:
    trend = f"{measure}_trend_{window}d"

    def text(c: Columns, ref: Reference) -> list[Sentence]:
        # The symmetric trend t = (L - P) / (L + P) is a fall of 2t / (t - 1) from P.
        fall = 100 * -2 * c[trend] / (1 - c[trend])
        return [Sentence(f"{measure} in the last {window} days fell {{:.0f}}% vs the {window} "
                         "days before", (fall,))]

    return ReasonRule("activity", (trend, f"{measure}_{window}d"),
                      lambda c, ref: c[trend] < 0, text, requires=(trend,))


def _satisfaction_rules() -> list[ReasonRule]:
    def fell(c: Columns, ref: Reference) -> list[Sentence]:
        latest = c["satisfaction_latest"]
        return [Sentence("satisfaction fell from {:.1f} to {:.1f}",
                         (latest - c["satisfaction_change"], latest))]

    def low(c: Columns, ref: Reference) -> list[Sentence]:
        return [Sentence(f"satisfaction score {{:.1f}}, below the typical "
                         f"{ref['satisfaction_latest']:.1f}", (c["satisfaction_latest"],))]

    def silent(c: Columns, ref: Reference) -> list[Sentence]:
        return [Sentence(f"no satisfaction survey answered for {{:.0f}} days, typical "
                         f"{ref['days_since_survey']:.0f}", (c["days_since_survey"],))]

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
    last, trend = c.get(f"orders_{window}d"), c.get(f"orders_trend_{window}d")
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
        orders, before = c.get(f"orders_{window}d"), _previous_orders(c, window)
        if orders is None or before is None:
            return narrower
        return narrower & (c[recent] * before < c[previous] * orders)

    def text(c: Columns, ref: Reference) -> list[Sentence]:
        return [Sentence(f"bought {{:.0f}} product line(s) in the last {window} days vs {{:.0f}} "
                         "before", (c[recent], c[previous]))]

    return ReasonRule("product_mix", (recent, previous, f"product_lines_change_{window}d",
                                      "product_lines_total"), holds, text,
                      requires=(recent, previous))


def _frequency_rules() -> list[ReasonRule]:
    def rare(c: Columns, ref: Reference) -> list[Sentence]:
        return [Sentence(f"orders every {{:.0f}} days on average, typical "
                         f"{ref['interval_mean_days']:.0f}", (c["interval_mean_days"],))]

    return [
        ReasonRule("frequency", ("interval_mean_days", "interval_std_days", "frequency_orders",
                                 "lt_frequency"),
                   lambda c, ref: c["interval_mean_days"] > ref["interval_mean_days"], rare,
                   requires=("interval_mean_days",)),
        ReasonRule("frequency", ("purchase_days", "frequency_orders", "lt_frequency"),
                   lambda c, ref: (c["purchase_days"] == 1) & (ref["purchase_days"] > 1),
                   lambda c, ref: [Sentence("has bought on only one day so far")],
                   requires=("purchase_days",)),
    ]


def _escaped(text: str) -> str:
    return text.replace("{", "{{").replace("}", "}}")


def _below_rule(family: str, features: tuple[str, ...], words: tuple[str, str, str],
                spec: str = ".0f", scale: float = 1.0) -> ReasonRule:
    """The first feature is below the typical value: ``words[0] {value} words[1] {typical}
    words[2]``, both numbers times ``scale`` and printed with ``spec``."""
    feature = features[0]

    def text(c: Columns, ref: Reference) -> list[Sentence]:
        typical = FORMATTER.format(f"{{:{spec}}}", float(ref[feature]) * scale)
        return [Sentence(f"{words[0]}{{:{spec}}}{words[1]}{_escaped(typical)}{words[2]}",
                         (c[feature] * scale,))]

    return ReasonRule(family, features, lambda c, ref: c[feature] < ref[feature], text,
                      requires=(feature,))


def _returns_rule() -> ReasonRule:
    def text(c: Columns, ref: Reference) -> list[Sentence]:
        return [Sentence(f"returned {{:.0f}}% of purchase value, typical "
                         f"{100 * ref['return_revenue_share']:.0f}%",
                         (100 * c["return_revenue_share"],))]

    return ReasonRule("returns", ("return_revenue_share", "return_line_share"),
                      lambda c, ref: (c["return_revenue_share"] > ref["return_revenue_share"])
                      & (c["return_revenue_share"] > 0), text,
                      requires=("return_revenue_share",))


def _channel_rule() -> ReasonRule:
    names = tuple(f"channel_share_{ch}" for ch in CHANNELS)

    def shares(c: Columns) -> np.ndarray:
        return np.column_stack([np.nan_to_num(c[n], nan=-1.0) for n in names])

    def text(c: Columns, ref: Reference) -> list[Sentence]:
        table = shares(c)
        top = np.argmax(table, axis=1)
        label = np.asarray(CHANNELS, dtype=object)[top]
        return [Sentence("buys mostly {} ({:.0f}% of revenue)",
                         (label, 100 * table[np.arange(len(top)), top]))]

    return ReasonRule("channel", names, lambda c, ref: shares(c).max(axis=1) >= 0.5, text)


def _opportunity_rule() -> ReasonRule:
    def text(c: Columns, ref: Reference) -> list[Sentence]:
        count, typical = c["open_opportunities"], f"{ref['open_opportunities']:.0f}"
        return [Sentence(f"no open sales opportunities, typical {typical}", (), count == 0),
                Sentence(f"{{:.0f}} open sales opportunities, typical {typical}", (count,))]

    return ReasonRule("pipeline", ("open_opportunities", "open_opportunity_amount"),
                      lambda c, ref: c["open_opportunities"] < ref["open_opportunities"], text,
                      requires=("open_opportunities",))


def _differs(values: np.ndarray, reference) -> np.ndarray:
    if reference is None or (isinstance(reference, float) and np.isnan(reference)):
        return np.zeros(len(values), dtype=bool)
    return ~pd.isna(values) & (values != reference)


def _attribute_rule(feature: str, template: str) -> ReasonRule:
    """``template`` has the customer's category, then the typical one."""

    def text(c: Columns, ref: Reference) -> list[Sentence]:
        return [Sentence(template.replace("{typical}", _escaped(str(ref[feature]))),
                         (c[feature],))]

    return ReasonRule(feature, (feature,), lambda c, ref: _differs(c[feature], ref[feature]),
                      text)


def generic_rule(feature: str, numeric: bool) -> ReasonRule:
    """``{feature words} is {value}, typical {reference}`` where the value differs from the
    typical one."""
    words = _escaped(feature.replace("_", " "))

    def text(c: Columns, ref: Reference) -> list[Sentence]:
        typical = ref[feature]
        shown = FORMATTER.format("{:num}", float(typical)) if numeric else str(typical)
        spec = "{:num}" if numeric else "{}"
        return [Sentence(f"{words} is {spec}, typical {_escaped(shown)}", (c[feature],))]

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
        _below_rule("tenure", ("tenure_days", "lt_T"),
                    ("a customer for only ", " days, typical ", "")),
        _below_rule("value", ("monetary_mean", "monetary_sum", "lt_monetary_value"),
                    ("average order ", ", typical ", ""), spec="num"),
        _below_rule("margin", ("gross_margin_share",), ("gross margin ", "%, typical ", "%"),
                    scale=100.0),
        _returns_rule(), _channel_rule(), _opportunity_rule(),
        _attribute_rule("segment", "in the {} segment, riskier than {typical}"),
        _attribute_rule("region", "in region {}, riskier than {typical}"),
        _attribute_rule("industry", "in the {} industry, riskier than {typical}"),
    ]
    return rules
