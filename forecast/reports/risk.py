"""The risk report: customers at risk, concentration, forecast downside and model health.

Frames in (see :class:`forecast.reports.inputs.RiskInputs`), a report document out.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from forecast.reports import document as doc
from forecast.reports.analysis import abc_classes, herfindahl, herfindahl_normalised, top_share
from forecast.reports.coverage import finite
from forecast.reports.i18n import Locale
from forecast.reports.inputs import ReportOptions, RiskInputs
from forecast.reports.monthly_customers import (
    RISK_TIERS,
    at_risk_table,
    reasons_table,
    skill_parts,
    tier_table,
)
from forecast.reports.monthly_outlook import (
    forecast_against_targets,
    forecast_columns,
    largest_series,
)
from forecast.reports.narrative import company_prefix, definitions_section, risk_summary
from forecast.reports.risk_health import model_health_section
from forecast.reports.risk_rules import risk_problems

CONCENTRATION_KEYS = ("channel", "product_line", "region", "segment")
VALUE_ORDER = ("key account", "potential", "regular", "A", "B", "C")


def build_risk(inputs: RiskInputs, options: ReportOptions) -> dict:
    """The risk report document as of the data's last day.

    Returns:
        ``{"report": "risk", "lang", "title", "subtitle", "data_through", "sections": [...]}``.
    """
    loc = options.locale
    report = {
        "report": "risk",
        "lang": loc.lang,
        "title": loc.t("risk_title", company=company_prefix(options)),
        "subtitle": loc.t("data_through", day=loc.day(inputs.data_through)),
        "data_through": inputs.data_through.isoformat(),
        "currency": loc.currency,
        "currency_unit": loc.unit,
        "sections": [
            at_risk_section(inputs, options),
            concentration_section(inputs, options),
            downside_section(inputs, loc),
            model_health_section(inputs, options),
        ],
    }
    report["sections"].append(risk_problems(report, options))
    report["sections"].insert(0, risk_summary(report, loc))
    report["sections"].append(definitions_section("risk", options))
    return report


def at_risk_section(inputs: RiskInputs, options: ReportOptions) -> dict:
    """Customers at risk by tier, revenue at risk, reasons, and the value x risk heat map."""
    loc = options.locale
    tiers = inputs.risk_tiers
    if tiers is None or tiers.empty:
        return doc.omitted("at_risk", loc.t("s_at_risk"),
                           inputs.notes.get("at_risk", loc.t("no_churn_scores")))
    by_tier = tiers.set_index("tier")
    annual = None if inputs.customer_revenue is None else finite(
        inputs.customer_revenue["revenue"].astype(float).sum(skipna=False))
    high_at_risk = float(by_tier["revenue_at_risk"].get("high", 0.0))
    metrics = [
        doc.metric("high_risk_customers", loc.t("m_high_risk_customers"),
                   by_tier["customers"].get("high", 0), "count"),
        doc.metric("high_revenue_at_risk", loc.t("m_high_revenue_at_risk"), high_at_risk,
                   "money"),
        doc.metric("medium_risk_customers", loc.t("m_medium_risk_customers"),
                   by_tier["customers"].get("medium", 0), "count"),
        doc.metric("medium_revenue_at_risk", loc.t("m_medium_revenue_at_risk"),
                   by_tier["revenue_at_risk"].get("medium", 0.0), "money"),
        doc.metric("revenue_12m", loc.t("m_revenue_12m"), annual, "money"),
        doc.metric("high_at_risk_share", loc.t("m_high_at_risk_share"),
                   doc.ratio(high_at_risk, annual), "pct"),
        doc.metric("scoring_cutoff", loc.t("m_scoring_cutoff"), tiers["cutoff"].max(), "date"),
    ]
    skill_values, skill_note = skill_parts(inputs.churn_skill, loc)
    metrics += [doc.metric(k, loc.t(f"m_{k}"), v, kind) for k, v, kind in skill_values]
    order = {t: i for i, t in enumerate(RISK_TIERS)}
    tables = [tier_table(tiers.assign(o=tiers["tier"].map(order)).sort_values("o"), loc)]
    if inputs.at_risk is not None:
        tables.append(at_risk_table(inputs.at_risk.head(options.top_n), loc))
    if inputs.at_risk_reasons is not None and len(inputs.at_risk_reasons):
        tables.append(reasons_table("at_risk_reasons", loc.t("at_risk_reasons"),
                                     inputs.at_risk_reasons, loc))
    charts, note = [], ""
    if inputs.scored is not None and len(inputs.scored):
        grid, source = value_risk_grid(inputs.scored, inputs.value_tiers)
        tables.append(doc.table("value_risk", loc.t("value_risk"), [
            doc.column("value_tier", loc.t("value_tier"), "member", value_tier_labels(loc)),
            doc.column("tier", loc.t("risk_tier"), "member"),
            doc.column("customers", loc.t("customers"), "count"),
            doc.column("revenue", loc.t("revenue_12m"), "money"),
            doc.column("revenue_at_risk", loc.t("revenue_at_risk"), "money"),
        ], grid))
        charts.append(heatmap_chart(grid, loc))
        note = loc.t(f"value_source_{source}")
    return doc.section("at_risk", loc.t("s_at_risk"), metrics=metrics, tables=tables,
                       charts=charts, note=" ".join(filter(None, [
                           loc.t("scores_as_of", day=loc.day(tiers["cutoff"].max())),
                           skill_note, note])))


def value_risk_grid(scored: pd.DataFrame, value_tiers: pd.DataFrame | None
                    ) -> tuple[pd.DataFrame, str]:
    """Customers, revenue and revenue at risk per value tier x risk tier.

    The value tier is customer_tiers' ``value_tier`` when given, else the ABC class of the
    customer's revenue over the last 12 months (A: the customers that make the first 80%).

    Args:
        scored: ``customer_id, tier, revenue_at_risk, revenue`` per scored customer.
        value_tiers: ``customer_id, value_tier`` or None.

    Returns:
        (grid with ``value_tier, tier, customers, revenue, revenue_at_risk`` for every pair,
        ``'tiers'`` or ``'abc'``).
    """
    frame = scored.copy()
    if value_tiers is not None and len(value_tiers):
        frame = frame.merge(value_tiers[["customer_id", "value_tier"]], on="customer_id",
                            how="left")
        frame["value_tier"] = frame["value_tier"].fillna("regular")
        source = "tiers"
    else:
        frame["value_tier"] = abc_classes(frame["revenue"]).to_numpy()
        source = "abc"
    grid = frame.groupby(["value_tier", "tier"]).agg(
        customers=("customer_id", "size"), revenue=("revenue", "sum"),
        revenue_at_risk=("revenue_at_risk", "sum")).reset_index()
    values = [v for v in VALUE_ORDER if v in set(grid["value_tier"])]
    values += sorted(set(grid["value_tier"]) - set(values))
    full = pd.MultiIndex.from_product([values, list(RISK_TIERS)], names=["value_tier", "tier"])
    grid = grid.set_index(["value_tier", "tier"]).reindex(full, fill_value=0).reset_index()
    return grid, source


def value_tier_labels(loc: Locale) -> dict[str, str]:
    """Value tiers named as such, apart from the segments of the same name."""
    return {tier: loc.t(f"tier_{tier.replace(' ', '_')}")
            for tier in ("key account", "potential", "regular")}


def heatmap_chart(grid: pd.DataFrame, loc: Locale) -> dict:
    """The value x risk heat map: cells coloured by revenue at risk, labelled with counts."""
    rows = list(dict.fromkeys(grid["value_tier"]))
    cells = grid.set_index(["value_tier", "tier"])
    labels = value_tier_labels(loc)
    return {
        "kind": "heatmap", "key": "value_risk", "title": loc.t("chart_heatmap"),
        "rows": [labels.get(str(r)) or loc.member(r) for r in rows], "cols": [loc.member(c) for c in RISK_TIERS],
        "values": [[doc.clean(cells.at[(r, c), "revenue_at_risk"]) for c in RISK_TIERS]
                   for r in rows],
        "counts": [[int(cells.at[(r, c), "customers"]) for c in RISK_TIERS] for r in rows],
        "value_kind": "money",
    }


def _key_rows(inputs: RiskInputs, loc: Locale) -> tuple[list[dict], list[dict]]:
    """HHI metrics and table rows of each key (channel, product line, region, segment)."""
    metrics, rows = [], []
    for key in CONCENTRATION_KEYS:
        frame = inputs.key_revenue.get(key)
        if frame is None or frame.empty:
            continue
        value, normalised = herfindahl(frame["revenue"]), herfindahl_normalised(frame["revenue"])
        label = loc.t(f"level_{key}")
        metrics.append(doc.metric(f"hhi_{key}", loc.t("m_hhi", level=label), value, "ratio"))
        metrics.append(doc.metric(f"hhi_normalised_{key}",
                                  loc.t("m_hhi_normalised", level=label), normalised, "ratio"))
        top = frame.sort_values("revenue", ascending=False).iloc[0]
        rows.append({"level": label, "members": len(frame), "hhi": value,
                     "hhi_normalised": normalised, "equivalent": None if not value else 1 / value,
                     "largest": top["value"],
                     "largest_share": top["revenue"] / frame["revenue"].clip(lower=0).sum()})
    return metrics, rows


def _keys_table(rows: list[dict], loc: Locale) -> dict:
    return doc.table("levels", loc.t("concentration_levels"), [
        doc.column("level", loc.t("level"), "text"),
        doc.column("members", loc.t("members"), "count"),
        doc.column("hhi", loc.t("hhi"), "ratio"),
        doc.column("hhi_normalised", loc.t("hhi_normalised"), "ratio"),
        doc.column("equivalent", loc.t("equivalent_members"), "number"),
        doc.column("largest", loc.t("largest_member"), "member"),
        doc.column("largest_share", loc.t("largest_share"), "pct"),
    ], rows)


def concentration_section(inputs: RiskInputs, options: ReportOptions) -> dict:
    """Top-10 customer share and Herfindahl indices by customer, channel and product line."""
    loc = options.locale
    revenue = inputs.customer_revenue
    if revenue is None or revenue.empty:
        return doc.omitted("concentration", loc.t("s_concentration"),
                           inputs.notes.get("concentration", loc.t("no_customer_ids")))
    broken = revenue[~np.isfinite(revenue["revenue"].astype(float))]
    if len(broken):
        return doc.omitted("concentration", loc.t("s_concentration"), loc.t(
            "concentration_not_finite", n=len(broken),
            customers=", ".join(map(str, sorted(broken["customer_id"])[:5]))))
    positive = revenue[revenue["revenue"] > 0].sort_values(
        ["revenue", "customer_id"], ascending=[False, True]).reset_index(drop=True)
    positive["share"] = positive["revenue"] / positive["revenue"].sum()
    positive["cumulative_share"] = positive["share"].cumsum()
    positive["rank"] = range(1, len(positive) + 1)
    hhi, normalised = herfindahl(positive["revenue"]), herfindahl_normalised(positive["revenue"])
    customer = loc.t("level_customer")
    metrics = [
        doc.metric("customers", loc.t("m_customers_12m"), len(positive), "count"),
        doc.metric("top10_share", loc.t("m_top10_share"), top_share(positive["revenue"], 10),
                   "pct"),
        doc.metric("hhi_customer", loc.t("m_hhi", level=customer), hhi, "ratio"),
        doc.metric("hhi_normalised_customer", loc.t("m_hhi_normalised", level=customer),
                   normalised, "ratio"),
    ]
    key_metrics, key_rows = _key_rows(inputs, loc)
    first = {"level": customer, "members": len(positive), "hhi": hhi,
             "hhi_normalised": normalised, "equivalent": None if not hhi else 1 / hhi,
             "largest": positive["customer_id"].iloc[0] if len(positive) else None,
             "largest_share": positive["share"].iloc[0] if len(positive) else None}
    tables = [doc.table("top_customers", loc.t("top_customers"), [
        doc.column("rank", loc.t("rank"), "count"),
        doc.column("customer_id", loc.t("customer"), "text"),
        doc.column("revenue", loc.t("revenue_12m"), "money"),
        doc.column("share", loc.t("share"), "pct"),
        doc.column("cumulative_share", loc.t("cumulative_share"), "pct"),
    ], positive.head(max(options.top_n, 10))), _keys_table([first, *key_rows], loc)]
    return doc.section("concentration", loc.t("s_concentration"),
                       metrics=metrics + key_metrics, tables=tables,
                       note=loc.t("concentration_note", start=loc.day(inputs.trailing_start),
                                  end=loc.day(inputs.data_through)))


def downside_section(inputs: RiskInputs, loc: Locale) -> dict:
    """Per forecast period: P10 against the target and the probability of reaching it."""
    f = inputs.forecast
    if f is None or f.empty:
        return doc.omitted("downside", loc.t("s_downside"),
                           inputs.notes.get("downside", loc.t("no_forecast")))
    parts = []
    for period_type in ("month", "quarter"):
        part = f[f["period_type"] == period_type]
        if len(part):
            parts.append(forecast_against_targets(part, inputs.targets.get(period_type, {}),
                                                  period_column="period"))
    rows = pd.concat(parts, ignore_index=True) if parts else f.iloc[0:0]
    rows, capped = largest_series(rows, loc)
    rows = rows.sort_values(["period_type", "depth", "unique_id", "period"], kind="stable")
    columns = [doc.column("period_type", loc.t("period_type"), "member"),
               doc.column("period", loc.t("period"), "date"), *forecast_columns(loc)]
    total = rows[(rows["depth"] == 0) & (rows["period_type"] == "month")].sort_values("period")
    metrics, charts = [], []
    if len(total):
        t = total.iloc[0]
        metrics = [doc.metric("period", loc.t("period"), t["period"], "month"),
                   doc.metric("forecast", loc.t("forecast"), t["yhat"], "money"),
                   doc.metric("p10", loc.t("p10"), t["p10"], "money"),
                   doc.metric("target", loc.t("target"), t["target"], "money"),
                   doc.metric("probability", loc.t("probability"), t["probability"], "prob")]
        with_target = total[total["probability"].notna()]
        if len(with_target):
            charts.append({"kind": "bars", "key": "probability", "title": loc.t("chart_odds"),
                           "items": [{"label": loc.month(r["period"]),
                                      "value": doc.clean(r["probability"])}
                                     for _, r in with_target.iterrows()],
                           "reference": 0.5, "value_kind": "pct"})
    return doc.section("downside", loc.t("s_downside"), metrics=metrics, charts=charts,
                       tables=[doc.table("forecast", loc.t("downside_table"), columns, rows)],
                       note=" ".join([loc.t("probability_note"), *capped]))
