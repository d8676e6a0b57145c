"""Churn reasons counted by group, each group named in words with its typical values.

A customer's reasons are sentences with their own numbers (see
:mod:`forecast.models.reason_rules`): ``no order for 278 days, 2.5x the usual interval``. The
reports count how many customers have each kind of reason; a kind is a :class:`ReasonGroup`,
named for a reader ("long silence against the usual order interval") in English and Chinese,
and shown with the median of each number of the group's sentences ("median 154 days without an
order, 2.5x the usual interval") or, for a category, its most common value. Wording no group
knows is counted under its own text.
"""

from __future__ import annotations

import math
import re
import statistics
from collections import Counter
from dataclasses import dataclass

import pandas as pd

from forecast.reports.glossary import feature_zh
from forecast.reports.i18n import Locale

REASON_COLUMNS = ("reason_1", "reason_2", "reason_3")


@dataclass(frozen=True)
class ReasonGroup:
    """One kind of churn reason.

    Attributes:
        key: the group's name in code.
        pattern: matches the sentences of the group; its named fields are numbers, except
            those in ``categories`` (a word from the data) and ``by`` (part of the group: a
            window such as 90 days gives a group of its own).
        name: (en, zh) name; may use the ``by`` fields.
        typical: (en, zh) summary of the group's values; fields are medians (numbers) or the
            most common value (categories).
        categories: fields holding a category, summarised by their most common value.
        by: fields that split the group.
    """

    key: str
    pattern: re.Pattern
    name: tuple[str, str]
    typical: tuple[str, str]
    categories: tuple[str, ...] = ()
    by: tuple[str, ...] = ()


def _group(key: str, pattern: str, name: tuple[str, str], typical: tuple[str, str],
           categories: tuple[str, ...] = (), by: tuple[str, ...] = ()) -> ReasonGroup:
    return ReasonGroup(key, re.compile(pattern), name, typical, categories, by)


GROUPS: tuple[ReasonGroup, ...] = (
    _group("silence_interval",
           r"^no order for (?P<d>\S+) days, (?P<r>\S+)x the usual interval$",
           ("Long silence against the usual order interval", "未下单时间远超通常下单间隔"),
           ("median {d} days without an order, {r}x the usual interval",
            "中位数：{d}天未下单，为通常间隔的{r}倍")),
    _group("silence", r"^no order for (?P<d>\S+) days, typical (?P<t>\S+)$",
           ("Long silence since the last order", "长时间未下单"),
           ("median {d} days without an order (usual {t})", "中位数：{d}天未下单（通常为{t}天）")),
    _group("orders_fall",
           r"^orders in the last (?P<w>\d+) days fell (?P<p>\S+)% vs the \d+ days before$",
           ("Falling orders over {w} days", "近{w}天订单数下降"),
           ("median fall {p}%", "中位数：下降{p}%"), by=("w",)),
    _group("revenue_fall",
           r"^revenue in the last (?P<w>\d+) days fell (?P<p>\S+)% vs the \d+ days before$",
           ("Falling revenue over {w} days", "近{w}天收入下降"),
           ("median fall {p}%", "中位数：下降{p}%"), by=("w",)),
    _group("satisfaction_fell", r"^satisfaction fell from (?P<a>\S+) to (?P<b>\S+)$",
           ("Falling satisfaction", "满意度下降"),
           ("median from {a} to {b}", "中位数：由{a}降至{b}")),
    _group("satisfaction_low", r"^satisfaction score (?P<s>\S+), below the typical (?P<t>\S+)$",
           ("Low satisfaction", "满意度偏低"),
           ("median score {s} (usual {t})", "中位数：{s}分（通常为{t}分）")),
    _group("no_survey",
           r"^no satisfaction survey answered for (?P<d>\S+) days, typical (?P<t>\S+)$",
           ("No recent satisfaction survey answer", "长时间未回复满意度调查"),
           ("median {d} days (usual {t})", "中位数：{d}天（通常为{t}天）")),
    _group("narrower_mix",
           r"^bought (?P<n>\S+) product line\(s\) in the last (?P<w>\d+) days vs (?P<m>\S+) "
           r"before$",
           ("Fewer product lines over {w} days", "近{w}天购买的产品线减少"),
           ("median {n} line(s) against {m} before", "中位数：{n}条产品线，此前为{m}条"),
           by=("w",)),
    _group("infrequent", r"^orders every (?P<d>\S+) days on average, typical (?P<t>\S+)$",
           ("Infrequent orders", "下单频率低"),
           ("median one order every {d} days (usual {t})", "中位数：每{d}天下单一次（通常为{t}天）")),
    _group("one_day", r"^has bought on only one day so far$",
           ("Has bought on one day only", "仅在一天下过单"), ("", "")),
    _group("short_tenure", r"^a customer for only (?P<d>\S+) days, typical (?P<t>\S+)$",
           ("Short tenure", "成为客户时间短"),
           ("median {d} days as a customer (usual {t})", "中位数：成为客户{d}天（通常为{t}天）")),
    _group("small_orders", r"^average order (?P<v>\S+), typical (?P<t>\S+)$",
           ("Small orders", "订单金额偏低"),
           ("median average order {v} (usual {t})", "中位数：平均订单金额{v}（通常为{t}）")),
    _group("returns", r"^returned (?P<p>\S+)% of purchase value, typical (?P<t>\S+)%$",
           ("High returns", "退货偏多"),
           ("median {p}% of purchase value returned (usual {t}%)",
            "中位数：退货占购买额{p}%（通常为{t}%）")),
    _group("margin", r"^gross margin (?P<p>\S+)%, typical (?P<t>\S+)%$",
           ("Low gross margin", "毛利率偏低"),
           ("median {p}% (usual {t}%)", "中位数：{p}%（通常为{t}%）")),
    _group("channel", r"^buys mostly (?P<c>.+) \((?P<p>\S+)% of revenue\)$",
           ("Buys through one channel", "集中于单一渠道购买"),
           ("mostly {c}, median {p}% of revenue", "多为{c}，中位数占收入{p}%"),
           categories=("c",)),
    _group("few_opportunities",
           r"^(?:no|(?P<n>\S+)) open sales opportunities, typical (?P<t>\S+)$",
           ("Few open sales opportunities", "在途商机偏少"),
           ("median {n} open (usual {t})", "中位数：在途{n}个（通常为{t}个）")),
    _group("segment", r"^in the (?P<c>.+) segment, riskier than (?P<u>.+)$",
           ("Riskier segment", "客户类型风险较高"),
           ("mostly {c} (against {u})", "多为{c}（对比{u}）"), categories=("c", "u")),
    _group("region", r"^in region (?P<c>.+), riskier than (?P<u>.+)$",
           ("Riskier region", "所在区域风险较高"),
           ("mostly {c} (against {u})", "多为{c}（对比{u}）"), categories=("c", "u")),
    _group("industry", r"^in the (?P<c>.+) industry, riskier than (?P<u>.+)$",
           ("Riskier industry", "所在行业风险较高"),
           ("mostly {c} (against {u})", "多为{c}（对比{u}）"), categories=("c", "u")),
)
# Any other feature: "<feature words> is <value>, typical <typical>" (see generic_rule).
GENERIC = _group("feature", r"^(?P<f>.+?) is (?P<v>.+?)(?:, typical (?P<t>.+))?$",
                 ("Unusual {f}", "{f}异常"), ("median {v} (usual {t})", "中位数：{v}（通常为{t}）"),
                 by=("f",))


def _number(text: str | None) -> float | None:
    try:
        value = float(str(text).replace(",", ""))
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def shown(value: float) -> str:
    """A typical value as the reasons print theirs: whole from 10 up (and whole numbers), one
    decimal below."""
    return f"{value:,.0f}" if abs(value) >= 10 or value == int(value) else f"{value:.1f}"


def _match(reason: str) -> tuple[ReasonGroup | None, dict[str, str | None]]:
    for group in GROUPS:
        found = group.pattern.match(reason)
        if found:
            return group, found.groupdict()
    found = GENERIC.pattern.match(reason)
    return (GENERIC, found.groupdict()) if found else (None, {})


def _name(group: ReasonGroup | None, fields: dict, reason: str, loc: Locale) -> str:
    if group is None:
        return loc.reason(reason)
    by = {k: fields[k] for k in group.by}
    if group is GENERIC and loc.lang == "zh":
        by["f"] = feature_zh(str(by["f"]))
    template = group.name[1 if loc.lang == "zh" else 0]
    return template.format(**by)


def _typical(group: ReasonGroup | None, values: list[dict], loc: Locale) -> str:
    """The group's values summarised: medians of numbers, the commonest category."""
    if group is None:
        return ""
    fields: dict[str, str] = {}
    names = group.pattern.groupindex
    for field in names:
        if field in group.by:
            continue
        seen = [v.get(field) for v in values]
        if field == "n" and group.key == "few_opportunities":
            seen = [s if s is not None else "0" for s in seen]
        numbers = [n for n in map(_number, seen) if n is not None]
        if field not in group.categories and numbers and len(numbers) == len(seen):
            fields[field] = shown(statistics.median(numbers))
        else:
            words = [s for s in seen if s is not None]
            if not words:
                return ""
            fields[field] = loc.member(Counter(words).most_common(1)[0][0])
    template = group.typical[1 if loc.lang == "zh" else 0]
    return template.format(**fields)


def reason_groups(reasons: pd.DataFrame, loc: Locale,
                  columns: tuple[str, ...] = REASON_COLUMNS) -> pd.DataFrame:
    """How many customers have a reason of each group, with the group's typical values.

    Args:
        reasons: one row per customer with the reason columns (texts or None).
        loc: the report's language (group names, typical values).

    Returns:
        ``reason, typical, customers, share`` sorted by customers descending, then name;
        ``share`` is of the customers in ``reasons``; a customer counts once per group.
    """
    present = [c for c in columns if c in reasons.columns]
    empty = pd.DataFrame({"reason": [], "typical": [], "customers": [], "share": []})
    if reasons.empty or not present:
        return empty
    found: dict[str, list[dict]] = {}
    groups: dict[str, ReasonGroup | None] = {}
    for row in reasons[present].itertuples(index=False):
        seen_here: set[str] = set()
        for text in row:
            if not isinstance(text, str) or not text.strip():
                continue
            group, fields = _match(text.strip())
            name = _name(group, fields, text.strip(), loc)
            if name in seen_here:
                continue
            seen_here.add(name)
            groups[name] = group
            found.setdefault(name, []).append(fields)
    if not found:
        return empty
    out = pd.DataFrame([{"reason": name, "typical": _typical(groups[name], values, loc),
                         "customers": len(values), "share": len(values) / len(reasons)}
                        for name, values in found.items()])
    return out.sort_values(["customers", "reason"], ascending=[False, True]).reset_index(
        drop=True)

