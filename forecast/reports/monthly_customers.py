"""Monthly report section on customers: new, lost and at risk, with the churn reasons."""

from __future__ import annotations

import pandas as pd

from forecast.evaluation.classification import without_skill
from forecast.reports import document as doc
from forecast.reports.coverage import month_has_orders
from forecast.reports.i18n import Locale
from forecast.reports.inputs import MonthlyInputs, ReportOptions
from forecast.reports.reason_groups import reason_groups

RISK_TIERS = ("high", "medium", "low")


def _total(frame: pd.DataFrame | None, column: str) -> float | None:
    """A window total repeated on every row of a top-N frame; 0 when the frame is empty."""
    if frame is None:
        return None
    return float(frame[column].iloc[0]) if len(frame) else 0.0


def customers_section(inputs: MonthlyInputs, options: ReportOptions) -> dict:
    """New customers (first order ever in the month), lost customers (their horizon without an
    order ran out in the month) and customers at risk (latest churn scores)."""
    loc = options.locale
    if inputs.new_customers is None and inputs.lost_customers is None:
        return doc.omitted("customers", loc.t("s_customers"),
                           inputs.notes.get("customers", loc.t("no_customer_ids")))
    new, lost = inputs.new_customers, inputs.lost_customers
    # A month without orders has no first orders to count: its new customers are missing.
    new_known = month_has_orders(inputs)
    values = [
        ("new_customers", _total(new, "customers_total") if new_known else None, "count"),
        ("new_revenue", _total(new, "revenue_total") if new_known else None, "money"),
        ("lost_customers", _total(lost, "customers_total"), "count"),
        ("lost_revenue", _total(lost, "revenue_total"), "money"),
    ]
    tables = [
        doc.table("new", loc.t("new_customers"), [
            doc.column("customer_id", loc.t("customer"), "text"),
            doc.column("name", loc.t("name"), "text"),
            doc.column("first_order", loc.t("first_order"), "date"),
            doc.column("revenue", loc.t("revenue"), "money"),
        ], new if new is not None else []),
        doc.table("lost", loc.t("lost_customers"), [
            doc.column("customer_id", loc.t("customer"), "text"),
            doc.column("name", loc.t("name"), "text"),
            doc.column("last_order", loc.t("last_order"), "date"),
            doc.column("revenue_12m", loc.t("revenue_12m"), "money"),
        ], lost if lost is not None else []),
    ]
    notes = [loc.t("lost_rule", days=options.horizon_days)]
    if not inputs.window.complete:
        notes.append(loc.t("lost_partial", day=loc.day(inputs.window.data_through)))
    if inputs.lost_reasons is not None and len(inputs.lost_reasons):
        tables.append(reasons_table("lost_reasons", loc.t("lost_reasons"),
                                     inputs.lost_reasons, loc))
    risk_values, risk_tables, risk_note = risk_parts(inputs, loc, options.top_n)
    metrics = [doc.metric(k, loc.t(f"m_{k}"), v, kind) for k, v, kind in values + risk_values]
    return doc.section("customers", loc.t("s_customers"), metrics=metrics,
                       tables=tables + risk_tables, note=" ".join([*notes, risk_note]))


def reasons_table(key: str, title: str, reasons: pd.DataFrame, loc: Locale) -> dict:
    """The ten commonest reason groups, named in words, with their typical values."""
    return doc.table(key, title, [
        doc.column("reason", loc.t("reason_group"), "text"),
        doc.column("typical", loc.t("reason_typical"), "text"),
        doc.column("customers", loc.t("customers"), "count"),
        doc.column("share", loc.t("share_of_customers"), "pct"),
    ], reason_groups(reasons, loc).head(10))


def risk_parts(inputs: MonthlyInputs, loc: Locale, top_n: int
               ) -> tuple[list[tuple], list[dict], str]:
    """Metrics, tables and a note on the customers at risk at the latest scoring cutoff."""
    tiers = inputs.risk_tiers
    if tiers is None or tiers.empty:
        return [], [], inputs.notes.get("risk", loc.t("no_churn_scores"))
    by_tier = tiers.set_index("tier")
    values = []
    for tier in ("high", "medium"):
        values.append((f"{tier}_risk_customers",
                       float(by_tier["customers"].get(tier, 0)), "count"))
        values.append((f"{tier}_revenue_at_risk",
                       float(by_tier["revenue_at_risk"].get(tier, 0.0)), "money"))
    cutoff = pd.to_datetime(tiers["cutoff"].max()).date()
    values.append(("scoring_cutoff", cutoff, "date"))
    skill_values, skill_note = skill_parts(inputs.churn_skill, loc)
    values += skill_values
    ordered = tiers.assign(order=tiers["tier"].map({t: i for i, t in enumerate(RISK_TIERS)}))
    tables = [tier_table(ordered.sort_values("order"), loc)]
    if inputs.at_risk is not None:
        tables.append(at_risk_table(inputs.at_risk.head(top_n), loc))
    if inputs.at_risk_reasons is not None and len(inputs.at_risk_reasons):
        tables.append(reasons_table("at_risk_reasons", loc.t("at_risk_reasons"),
                                     inputs.at_risk_reasons, loc))
    return values, tables, " ".join(filter(None, [loc.t("scores_as_of", day=loc.day(cutoff)),
                                                  skill_note]))


def skill_parts(skill: dict[str, float] | None, loc: Locale) -> tuple[list[tuple], str]:
    """The churn model's held-out ROC-AUC as a metric, and the note that its tiers single no
    one out when it ranks no better than chance (its interval reaches 0.5); nothing when the
    scoring run recorded no skill."""
    if skill is None:
        return [], ""
    values = [("churn_model_auc", skill["roc_auc"], "ratio"),
              ("churn_model_auc_low", skill["roc_auc_low"], "ratio")]
    if not without_skill(skill):
        return values, ""
    return values, loc.t("no_skill", auc=f"{skill['roc_auc']:.3f}",
                         low=f"{skill['roc_auc_low']:.3f}", high=f"{skill['roc_auc_high']:.3f}")


def tier_table(tiers: pd.DataFrame, loc: Locale) -> dict:
    """Customers, revenue at risk and mean churn probability per risk tier."""
    tiers = tiers.assign(share=tiers["revenue_at_risk"] / tiers["revenue_at_risk"].sum()
                         if tiers["revenue_at_risk"].sum() else None)
    return doc.table("risk_tiers", loc.t("risk_tiers"), [
        doc.column("tier", loc.t("risk_tier"), "member"),
        doc.column("customers", loc.t("customers"), "count"),
        doc.column("revenue_at_risk", loc.t("revenue_at_risk"), "money"),
        doc.column("share", loc.t("share"), "pct"),
        doc.column("churn_proba_mean", loc.t("churn_proba_mean"), "pct"),
    ], tiers)


def at_risk_table(at_risk: pd.DataFrame, loc: Locale) -> dict:
    """The customers with the most revenue at risk, with their reasons."""
    return doc.table("at_risk", loc.t("at_risk_customers"), [
        doc.column("customer_id", loc.t("customer"), "text"),
        doc.column("name", loc.t("name"), "text"),
        doc.column("tier", loc.t("risk_tier"), "member"),
        doc.column("churn_proba", loc.t("churn_proba"), "pct"),
        doc.column("revenue_at_risk", loc.t("revenue_at_risk"), "money"),
        doc.column("reason_1", loc.t("reason_n", n=1), "reason"),
        doc.column("reason_2", loc.t("reason_n", n=2), "reason"),
        doc.column("reason_3", loc.t("reason_n", n=3), "reason"),
    ], at_risk)
