"""The monthly sales report: frames in, a report document (see :mod:`.document`) out.

Sections: summary, revenue (MoM, YoY, year to date vs target), contribution by key (product
line, segment, channel, region), customer distribution, target attainment, funnel, customers won
and lost, units below target, next month, problems and actions, definitions. A section whose
data are missing is kept with status ``omitted`` and a note saying what it needs.
"""

from __future__ import annotations

import pandas as pd

from forecast.periods import add_months
from forecast.reports import document as doc
from forecast.reports.analysis import contribution
from forecast.reports.coverage import (
    coverage_notes,
    finite,
    mask_empty_months,
    month_has_orders,
    no_orders_note,
)
from forecast.reports.i18n import Locale
from forecast.reports.inputs import MonthlyInputs, ReportOptions
from forecast.reports.monthly_customers import customers_section
from forecast.reports.monthly_org import attainment_section, below_target_section, funnel_section
from forecast.reports.monthly_outlook import next_month_section
from forecast.reports.narrative import company_prefix, definitions_section, monthly_summary
from forecast.reports.rules import monthly_problems

CONTRIBUTION_KEYS = ("product_line", "segment", "channel", "region")
WATERFALL_STEPS = 8


def build_monthly(inputs: MonthlyInputs, options: ReportOptions) -> dict:
    """The monthly report document of ``inputs.window``.

    Args:
        inputs: the frames from the warehouse (see :class:`MonthlyInputs`).
        options: language, thresholds and list lengths.

    Returns:
        ``{"report": "monthly", "month", "lang", "title", "subtitle", "data_through",
        "sections": [...]}`` with every number of the report in its sections.
    """
    loc, w = options.locale, inputs.window
    inputs = mask_empty_months(inputs)
    sections = [
        revenue_section(inputs, loc),
        contribution_section(inputs, loc),
        distribution_section(inputs, loc, options.key_share),
        attainment_section(inputs, options),
        funnel_section(inputs, loc),
        customers_section(inputs, options),
        below_target_section(inputs, options),
        next_month_section(inputs, loc),
    ]
    report = {
        "report": "monthly",
        "month": w.label,
        "lang": loc.lang,
        "title": loc.t("monthly_title", company=company_prefix(options),
                       month=loc.month(w.start)),
        "subtitle": loc.t("data_through", day=loc.day(w.data_through)),
        "data_through": w.data_through.isoformat(),
        "currency": loc.currency,
        "currency_unit": loc.unit,
        "sections": sections,
    }
    report["sections"].append(monthly_problems(report, options))
    report["sections"].insert(0, monthly_summary(report, loc))
    report["sections"].append(definitions_section("monthly", options))
    return report


def _value(frame: pd.DataFrame, period, column: str) -> float | None:
    """``column`` of ``period``; None when the period has no row or its value is missing, NaN
    or infinite (never 0)."""
    hit = frame.loc[frame["period"] == period, column]
    return finite(hit.iloc[0]) if len(hit) else None


def _sum_between(frame: pd.DataFrame | None, start, end, column: str) -> float | None:
    """Sum of ``column`` over periods in [start, end]; None when no period is there or any of
    them is NaN or infinite."""
    if frame is None or frame.empty:
        return None
    hit = frame.loc[(frame["period"] >= start) & (frame["period"] <= end), column]
    if not len(hit):
        return None
    values = [finite(v) for v in hit]
    return None if None in values else float(sum(values))


def _dated(frame: pd.DataFrame | None) -> pd.DataFrame | None:
    if frame is None:
        return None
    return frame.assign(period=pd.to_datetime(frame["period"]).dt.date)


def revenue_section(inputs: MonthlyInputs, loc: Locale) -> dict:
    """Revenue of the month against last month, a year ago and the year's target so far."""
    w = inputs.window
    m, targets = _dated(inputs.monthly), _dated(inputs.target_totals)
    revenue = _value(m, w.start, "revenue")
    previous, year_ago = _value(m, w.previous, "revenue"), _value(m, w.year_ago, "revenue")
    orders, customers = _value(m, w.start, "orders"), _value(m, w.start, "customers")
    ytd = _sum_between(m, w.year_start, w.start, "revenue")
    ytd_prior = _sum_between(m, add_months(w.year_start, -12), w.year_ago, "revenue")
    ytd_target = _sum_between(targets, w.year_start, w.start, "target")
    month_target = _sum_between(targets, w.start, w.start, "target")
    values = {
        "revenue": revenue, "previous": previous, "mom": _growth(revenue, previous),
        "year_ago": year_ago, "yoy": _growth(revenue, year_ago), "orders": orders,
        "customers": customers, "average_order": doc.ratio(revenue, orders or None),
        "month_target": month_target, "month_attainment": doc.ratio(revenue, month_target),
        "ytd_revenue": ytd, "ytd_prior": ytd_prior, "ytd_yoy": _growth(ytd, ytd_prior),
        "ytd_target": ytd_target, "ytd_attainment": doc.ratio(ytd, ytd_target),
        "ytd_gap": None if ytd_target is None else ytd - ytd_target,
    }
    kinds = {"mom": "signed_pct", "yoy": "signed_pct", "ytd_yoy": "signed_pct",
             "orders": "count", "customers": "count", "month_attainment": "pct",
             "ytd_attainment": "pct", "ytd_gap": "signed_money"}
    metrics = [doc.metric(k, loc.t(f"m_{k}"), v, kinds.get(k, "money")) for k, v in values.items()]
    notes = [] if w.complete else [loc.t("month_incomplete", day=loc.day(w.data_through))]
    notes += coverage_notes(inputs, loc)
    if targets is None:
        notes.append(loc.t("no_targets_table"))
    note = " ".join(notes)
    return doc.section("revenue", loc.t("s_revenue"), metrics=metrics, note=note,
                       charts=[trend_chart(inputs, loc, m, targets)])


def _growth(current: float | None, base: float | None) -> float | None:
    if current is None or base is None or base <= 0:
        return None
    return current / base - 1.0


def trend_chart(inputs: MonthlyInputs, loc: Locale, monthly: pd.DataFrame,
                targets: pd.DataFrame | None) -> dict:
    """Revenue of the last 24 months, the monthly target (the targets table's, and after the
    month the targets plan's where the table has none), and the forecast fan after the month."""
    w = inputs.window
    first, last = add_months(w.start, -23), w.start
    fan = []
    if inputs.forecast_trend is not None and not inputs.forecast_trend.empty:
        f = _dated(inputs.forecast_trend)
        f = f[(f["period"] > w.start) & (f["period"] <= add_months(w.start, 12))]
        fan = [{"period": r["period"].isoformat(), "yhat": r["yhat"],
                "lo_80": r["yhat_lo_80"], "hi_80": r["yhat_hi_80"],
                "lo_95": r["yhat_lo_95"], "hi_95": r["yhat_hi_95"]} for _, r in f.iterrows()]
        if len(f):
            last = max(last, f["period"].max())
    periods, p = [], first
    while p <= last:
        periods.append(p)
        p = add_months(p, 1)
    actual = {r.period: r.revenue for r in monthly.itertuples()}
    target = {} if targets is None else {r.period: r.target for r in targets.itertuples()}
    plan = _dated(inputs.plan_targets)
    if plan is not None:  # the targets plan's months the targets table has no target for
        target.update({r.period: r.target for r in plan.itertuples()
                       if r.period > w.start and r.period not in target})
    return {
        "kind": "trend", "key": "revenue_trend", "title": loc.t("chart_trend"),
        "periods": [d.isoformat() for d in periods],
        "series": [
            {"key": "revenue", "label": loc.t("revenue"),
             "values": [doc.clean(actual.get(d)) if d <= w.start else None for d in periods]},
            {"key": "target", "label": loc.t("target"),
             "values": [doc.clean(target.get(d)) for d in periods]},
        ],
        "fan": [{k: doc.clean(v) for k, v in row.items()} for row in fan],
        "fan_label": loc.t("forecast_fan"),
    }


def contribution_section(inputs: MonthlyInputs, loc: Locale) -> dict:
    """Each key's members: value, share, change vs last month and share of the total change."""
    keys = [k for k in CONTRIBUTION_KEYS if k in inputs.dimensions]
    if not keys:
        return doc.omitted("contribution", loc.t("s_contribution"), loc.t("no_levels"))
    if not month_has_orders(inputs):
        return doc.omitted("contribution", loc.t("s_contribution"), no_orders_note(inputs, loc))
    tables, charts, paragraphs = [], [], []
    for key in keys:
        frame = contribution(inputs.dimensions[key])
        frame["yoy"] = frame["current"] / frame["year_ago"].where(frame["year_ago"] > 0) - 1
        tables.append(doc.table(key, loc.t(f"level_{key}"), _contribution_columns(loc, key),
                                frame))
        paragraphs.append(_contribution_sentence(frame, loc, key))
        if not charts and _complete(frame):
            charts.append(waterfall_chart(frame, loc, key))
    return doc.section("contribution", loc.t("s_contribution"), tables=tables, charts=charts,
                       paragraphs=[p for p in paragraphs if p])


def member_labels(key: str, loc: Locale) -> dict[str, str]:
    """How a key's members read where a value names two concepts: the segment "key account"
    is labelled as a segment, apart from the key accounts of the customer distribution."""
    return {"key account": loc.t("segment_key_account")} if key == "segment" else {}


def _member(value: object, key: str, loc: Locale) -> str:
    return member_labels(key, loc).get(str(value)) or loc.member(value)


def _contribution_columns(loc: Locale, key: str) -> list[dict]:
    return [
        doc.column("value", loc.t(f"level_{key}"), "member", member_labels(key, loc)),
        doc.column("current", loc.t("revenue"), "money"),
        doc.column("share", loc.t("share"), "pct"),
        doc.column("previous", loc.t("last_month"), "money"),
        doc.column("change", loc.t("change"), "signed_money"),
        doc.column("change_pct", loc.t("change_pct"), "signed_pct"),
        doc.column("share_of_change", loc.t("share_of_change"), "pct"),
        doc.column("year_ago", loc.t("year_ago"), "money"),
        doc.column("yoy", loc.t("yoy"), "signed_pct"),
    ]


def _complete(frame: pd.DataFrame) -> bool:
    """Whether both months of a contribution frame are known for every member."""
    return bool(frame[["current", "previous"]].notna().all().all())


def _contribution_sentence(frame: pd.DataFrame, loc: Locale, key: str) -> str:
    """The member that moved the total most its own way, with its share of the change, then
    the one that moved most against it. A member that rose while the total fell has a
    negative share of the change ("added most, -11 % of the change" read as a contradiction),
    and when every member fell none "added"."""
    changes = frame["change"].dropna()
    if changes.empty or changes.abs().sum() == 0:
        return ""
    up, down = frame.loc[changes.idxmax()], frame.loc[changes.idxmin()]
    falling = changes.sum() < 0
    lead, other = (down, up) if falling else (up, down)

    def said(row, phrase: str, **share) -> str:
        return loc.t(phrase, level=loc.t(f"level_{key}"), member=_member(row["value"], key, loc),
                     change=loc.money(row["change"], signed=True), **share)

    parts = [said(lead, "contribution_down_lead" if falling else "contribution_up",
                  share=loc.pct(lead["share_of_change"]))]
    if (other["change"] > 0) if falling else (other["change"] < 0):
        parts.append(said(other, "contribution_up_other" if falling else "contribution_down"))
    return loc.t("sentence_join").join(parts) + loc.t("full_stop")


def waterfall_chart(frame: pd.DataFrame, loc: Locale, key: str) -> dict:
    """Last month's total, each member's change, this month's total (small members merged)."""
    ordered = frame.sort_values("change", ascending=False, key=abs, kind="stable")
    steps = [{"label": _member(r["value"], key, loc), "value": doc.clean(r["change"])}
             for _, r in ordered.head(WATERFALL_STEPS).iterrows()]
    if len(ordered) > WATERFALL_STEPS:
        steps.append({"label": loc.t("others"),
                      "value": doc.clean(ordered["change"].iloc[WATERFALL_STEPS:].sum())})
    return {
        "kind": "waterfall", "key": f"waterfall_{key}",
        "title": loc.t("chart_waterfall", level=loc.t(f"level_{key}")),
        "start": {"label": loc.t("last_month"), "value": doc.clean(frame["previous"].sum())},
        "steps": steps,
        "end": {"label": loc.t("this_month"), "value": doc.clean(frame["current"].sum())},
    }


def distribution_section(inputs: MonthlyInputs, loc: Locale, key_share: float = 0.2) -> dict:
    """Key accounts vs other customers, and the channels: revenue, share and buying customers."""
    frame = inputs.distribution
    if frame is None or frame.empty:
        note = inputs.notes.get("customers_mix", loc.t("no_customer_ids"))
        return doc.omitted("customers_mix", loc.t("s_customers_mix"), note)
    if not month_has_orders(inputs):
        return doc.omitted("customers_mix", loc.t("s_customers_mix"),
                           no_orders_note(inputs, loc))
    tables = []
    accounts = {"key account": loc.t(f"account_key_{inputs.key_rule}",
                                     pct=loc.pct(key_share, digits=0)),
                "other": loc.t("account_other")} if inputs.key_rule else {}
    for grouping in ("accounts", "channel"):
        part = frame[frame["grouping"] == grouping].rename(columns={"member": "value"})
        if part.empty:
            continue
        part = contribution(part)
        part["revenue_per_customer"] = part["current"] / part["customers"].where(
            part["customers"] > 0)
        tables.append(doc.table(grouping, loc.t(f"grouping_{grouping}"), [
            doc.column("value", loc.t(f"grouping_{grouping}"), "member",
                       accounts if grouping == "accounts" else None),
            doc.column("current", loc.t("revenue"), "money"),
            doc.column("share", loc.t("share"), "pct"),
            doc.column("previous", loc.t("last_month"), "money"),
            doc.column("change_pct", loc.t("change_pct"), "signed_pct"),
            doc.column("customers", loc.t("buying_customers"), "count"),
            doc.column("customers_previous", loc.t("buying_customers_previous"), "count"),
            doc.column("revenue_per_customer", loc.t("revenue_per_customer"), "money"),
        ], part))
    note = loc.t(f"key_rule_{inputs.key_rule}", pct=loc.pct(key_share, digits=0)) \
        if inputs.key_rule else ""
    return doc.section("customers_mix", loc.t("s_customers_mix"), tables=tables,
                       note=" ".join(filter(None, [note, loc.t("channel_customers_note")])))
