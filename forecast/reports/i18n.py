"""Words, numbers and dates of a report in English or Chinese.

A :class:`Locale` translates phrase keys (see :mod:`forecast.reports.phrases`) and formats values
by kind. The JSON of a report keeps raw numbers; only text meant for reading is formatted.
Chinese amounts can be shown in 万元 (units of 10,000), the way Chinese sales reports count.

One rule per kind of number, in every table, card, sentence and chart label:

==========  ==================================================  ===================
kind        rule                                                 examples
==========  ==================================================  ===================
money       whole currency units, thousands separated; 万元      1,276,254 / 90 / 0;
            with two decimals when configured                    127.63万元
count       whole number, thousands separated                    12,417
pct         percent with one decimal (prob: none; signed_pct:    12.3% / 67% / +4.0%
            a sign)
points      percentage points with one decimal and a sign        +3.1 pts
days        whole days from 10 up, one decimal below             10 / 2.5
ratio       three decimals (indices: HHI, PSI, ECE, Brier)       0.094
number      up to two decimals, trailing zeros dropped          10.64 / 90.5 / 3
==========  ==================================================  ===================
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import date
from typing import Literal

from forecast.reports.glossary import DEFINITIONS, VALUES, feature_zh, reason_zh
from forecast.reports.phrases import PHRASES
from forecast.schemas import TOTAL

Kind = Literal["text", "money", "count", "number", "pct", "signed_pct", "points", "prob",
               "date", "month", "signed_money", "ratio", "days", "member", "reason", "feature",
               "grain"]
NUMERIC = frozenset({"money", "signed_money", "count", "number", "ratio", "pct", "signed_pct",
                     "points", "prob", "days"})
_ALL = {**PHRASES, **DEFINITIONS, **VALUES}
MISSING = {"en": "–", "zh": "—"}


def _is_missing(value: object) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


# {name|singular|plural}: the word that agrees with the count ``name`` (see Locale.t).
_NUMBER_WORDS = re.compile(r"\{(\w+)\|([^|{}]*)\|([^|{}]*)\}")


@dataclass(frozen=True)
class Locale:
    """How one report speaks: its language and money display.

    Attributes:
        lang: ``en`` or ``zh``.
        currency: symbol put before amounts ("$", "¥"); empty for none.
        unit: ``wan`` shows Chinese amounts in 万元; ``yuan`` shows them in full.
    """

    lang: Literal["en", "zh"] = "en"
    currency: str = ""
    unit: Literal["yuan", "wan"] = "yuan"

    def t(self, key: str, **values: object) -> str:
        """The phrase ``key`` in this language, with ``values`` filled in. A token
        ``{name|one|other}`` reads ``one`` when the value ``name`` is written ``1``, else
        ``other`` ("1 problem", "3 problems")."""
        try:
            en, zh = _ALL[key]
        except KeyError:
            raise KeyError(f"no phrase {key!r} in forecast.reports.phrases") from None
        text = zh if self.lang == "zh" else en
        text = _NUMBER_WORDS.sub(lambda m: m.group(2) if str(values.get(m.group(1))) == "1"
                                 else m.group(3), text)
        return text.format(**values) if values else text

    def has(self, key: str) -> bool:
        """Whether there is a phrase ``key``."""
        return key in _ALL

    def member(self, value: object) -> str:
        """A data value, translated when it is a canonical one (channel, segment, stage, tier)."""
        if _is_missing(value):
            return MISSING[self.lang]
        pair = VALUES.get(f"v:{value}")
        if pair is None:
            return str(value)
        return pair[1] if self.lang == "zh" else pair[0]

    def reason(self, value: object) -> str:
        """A churn reason, in Chinese when the report is."""
        if _is_missing(value):
            return ""
        return reason_zh(str(value)) if self.lang == "zh" else str(value)

    def money(self, value: float | None, signed: bool = False) -> str:
        """An amount in whole units: ``$12,345`` / ``12,345元`` / ``1.23万元`` (万 with two
        decimals); ``signed`` adds a leading +."""
        if _is_missing(value):
            return MISSING[self.lang]
        wan = self.lang == "zh" and self.unit == "wan"
        size = abs(float(value)) / (10_000 if wan else 1)
        shown = f"{size:,.2f}" if wan else f"{size:,.0f}"
        zero = float(shown.replace(",", "")) == 0
        sign = "" if zero else ("-" if value < 0 else ("+" if signed and value > 0 else ""))
        if wan:
            body, suffix = f"{shown}万", "" if self.currency else "元"
        else:
            body, suffix = shown, "元" if self.lang == "zh" and not self.currency else ""
        return f"{sign}{self.currency}{body}{suffix}"

    def compact(self, value: float | None) -> str:
        """A short amount for chart axes: ``1.2M`` / ``120万``."""
        if _is_missing(value):
            return ""
        v, sign = abs(float(value)), "-" if value < 0 else ""
        if self.lang == "zh":
            steps = ((1e8, "亿"), (1e4, "万"))
        else:
            steps = ((1e9, "B"), (1e6, "M"), (1e3, "k"))
        for size, suffix in steps:
            if v >= size:
                return f"{sign}{v / size:.3g}{suffix}"
        return f"{sign}{v:,.0f}" if v >= 100 else f"{sign}{v:.3g}"

    def count(self, value: float | None) -> str:
        """A whole number with thousands separators."""
        return MISSING[self.lang] if _is_missing(value) else f"{round(float(value)):,}"

    def number(self, value: float | None) -> str:
        """A plain measure: up to two decimals, trailing zeros dropped (``90.5``, ``3``)."""
        if _is_missing(value):
            return MISSING[self.lang]
        text = f"{float(value):,.2f}".rstrip("0").rstrip(".")
        return "0" if text in ("-0", "") else text

    def ratio(self, value: float | None) -> str:
        """An index such as HHI, PSI, ECE or a Brier score: three decimals."""
        return MISSING[self.lang] if _is_missing(value) else f"{float(value):,.3f}"

    def days(self, value: float | None) -> str:
        """A number of days: whole from 10 up (and whole numbers), one decimal below."""
        if _is_missing(value):
            return MISSING[self.lang]
        v = float(value)
        return f"{v:,.0f}" if abs(v) >= 10 or round(v, 1) == round(v) else f"{v:.1f}"

    def feature(self, value: object) -> str:
        """A model input's name in words: ``recency_days`` -> ``recency days`` / 距末次下单天数."""
        if _is_missing(value):
            return MISSING[self.lang]
        words = str(value).replace("_", " ")
        return feature_zh(words) if self.lang == "zh" else words

    def grain(self, value: object) -> str:
        """A forecast grain in words: ``region|channel`` -> ``Region x Channel`` / 区域×渠道."""
        if _is_missing(value):
            return MISSING[self.lang]
        text = str(value)
        if text in ("", TOTAL):
            return self.member(TOTAL)
        parts = text.replace("/", "|").split("|")
        names = [self.t(f"level_{p}") if self.has(f"level_{p}") else p for p in parts]
        return ("×" if self.lang == "zh" else " x ").join(names)

    def pct(self, value: float | None, signed: bool = False, digits: int = 1) -> str:
        """A fraction as a percentage: 0.123 -> ``12.3%``."""
        if _is_missing(value):
            return MISSING[self.lang]
        return f"{100 * float(value):{'+' if signed else ''},.{digits}f}%"

    def points(self, value: float | None) -> str:
        """A difference of two fractions in percentage points: 0.031 -> ``+3.1 pts``."""
        if _is_missing(value):
            return MISSING[self.lang]
        return f"{100 * float(value):+.1f}" + ("个百分点" if self.lang == "zh" else " pts")

    def month(self, value: date | str | None) -> str:
        """A month: ``October 2026`` / ``2026年10月``."""
        if _is_missing(value):
            return MISSING[self.lang]
        day = date.fromisoformat(str(value)[:10])
        return f"{day.year}年{day.month}月" if self.lang == "zh" else day.strftime("%B %Y")

    def day(self, value: date | str | None) -> str:
        """A day: ``31 Oct 2026`` / ``2026年10月31日``."""
        if _is_missing(value):
            return MISSING[self.lang]
        day = date.fromisoformat(str(value)[:10])
        if self.lang == "zh":
            return f"{day.year}年{day.month}月{day.day}日"
        return f"{day.day} {day.strftime('%b %Y')}"

    def format(self, value: object, kind: Kind) -> str:
        """Format ``value`` as a table cell or metric of the given kind."""
        if _is_missing(value):
            return MISSING[self.lang]
        formatters = {
            "money": self.money,
            "signed_money": lambda v: self.money(v, signed=True),
            "count": self.count,
            "number": self.number,
            "ratio": self.ratio,
            "days": self.days,
            "feature": self.feature,
            "grain": self.grain,
            "pct": self.pct,
            "prob": lambda v: self.pct(v, digits=0),
            "signed_pct": lambda v: self.pct(v, signed=True),
            "points": self.points,
            "month": self.month,
            "date": self.day,
            "member": self.member,
            "reason": self.reason,
        }
        if kind in formatters:
            return formatters[kind](value)
        if isinstance(value, bool):
            return self.t("yes") if value else self.t("no")
        return str(value)

    def cell(self, value: object, column: dict) -> str:
        """A table cell as shown: the column's own label of the value when it has one (see
        :func:`forecast.reports.document.column`), else the value formatted by its kind."""
        labels = column.get("labels")
        if labels and not _is_missing(value) and str(value) in labels:
            return labels[str(value)]
        return self.format(value, column["kind"])

    @property
    def money_unit_label(self) -> str:
        """What the amounts of a table are counted in, for column headers and notes."""
        if self.lang == "zh":
            return "万元" if self.unit == "wan" else (self.currency or "元")
        return self.currency
