"""The words around the numbers: summaries written from the sections, and the definitions."""

from __future__ import annotations

from forecast.evaluation.classification import without_skill
from forecast.reports import document as doc
from forecast.reports.i18n import Locale
from forecast.reports.inputs import ReportOptions


def company_prefix(options: ReportOptions) -> str:
    """The company name as the start of a title ("Acme: " / "Acme"), empty when unnamed."""
    if not options.company:
        return ""
    return options.company if options.locale.lang == "zh" else f"{options.company}: "


def _ok(report: dict, key: str) -> dict | None:
    for s in report["sections"]:
        if s["key"] == key:
            return s if s["status"] == "ok" else None
    return None


def _m(report: dict, key: str) -> dict:
    s = _ok(report, key)
    return doc.metric_values(s) if s else {}


def monthly_summary(report: dict, loc: Locale) -> dict:
    """A few sentences on the month, each built from metrics shown further down."""
    r, paragraphs = _m(report, "revenue"), []
    words = {"month": loc.month(report["month"] + "-01"), "revenue": loc.money(r["revenue"]),
             "mom": loc.pct(r["mom"], signed=True), "yoy": loc.pct(r["yoy"], signed=True)}
    if r.get("revenue") is None:
        paragraphs.append(loc.t("summary_revenue_missing", month=words["month"]))
    else:
        paragraphs.append(loc.t("summary_revenue", **words))
    if r.get("ytd_attainment") is not None:
        paragraphs.append(loc.t("summary_ytd", ytd=loc.money(r["ytd_revenue"]),
                                attainment=loc.pct(r["ytd_attainment"]),
                                target=loc.money(r["ytd_target"])))
    contribution = _ok(report, "contribution")
    if contribution and contribution["paragraphs"]:
        paragraphs.append(contribution["paragraphs"][0])
    c = _m(report, "customers")
    if c.get("new_customers") is not None:
        paragraphs.append(loc.t("summary_customers", new=loc.count(c["new_customers"]),
                                new_revenue=loc.money(c["new_revenue"]),
                                lost=loc.count(c["lost_customers"]),
                                lost_revenue=loc.money(c["lost_revenue"])))
    if c.get("high_risk_customers") is not None:
        paragraphs.append(_risk_sentence(c, loc))
    n = _m(report, "next_month")
    if n.get("forecast") is not None:
        key = "summary_next_target" if n.get("probability") is not None else "summary_next"
        paragraphs.append(loc.t(key, forecast=loc.money(n["forecast"]),
                                lo=loc.money(n["lo_80"]), hi=loc.money(n["hi_80"]),
                                target=loc.money(n.get("target")),
                                probability=loc.pct(n.get("probability"), digits=0)))
        if n.get("booked"):
            paragraphs[-1] += " " + loc.t("summary_next_booked", booked=loc.money(n["booked"]))
    paragraphs.append(_problems_sentence(report, loc))
    return doc.section("summary", loc.t("s_summary"), paragraphs=paragraphs)


def _problems_sentence(report: dict, loc: Locale) -> str:
    problems = _ok(report, "problems")
    n = len(problems["items"]) if problems else 0
    omitted = [s["title"] for s in report["sections"] if s["status"] == "omitted"]
    text = loc.t("summary_problems", n=n)
    if omitted:
        text += " " + loc.t("summary_omitted", sections=loc.t("list_sep").join(omitted))
    return text


def risk_summary(report: dict, loc: Locale) -> dict:
    """A few sentences on the risks, each built from metrics shown further down."""
    paragraphs = []
    c = _m(report, "at_risk")
    if c:
        paragraphs.append(_risk_sentence(c, loc))
    k = _m(report, "concentration")
    if k.get("top10_share") is not None:
        paragraphs.append(loc.t("summary_concentration", share=loc.pct(k["top10_share"]),
                                hhi=loc.ratio(k["hhi_customer"])))
    f = _m(report, "downside")
    if f.get("probability") is not None:
        paragraphs.append(loc.t("summary_downside", month=loc.month(f["period"]),
                                p10=loc.money(f["p10"]), target=loc.money(f["target"]),
                                probability=loc.pct(f["probability"], digits=0)))
    paragraphs.append(_problems_sentence(report, loc))
    return doc.section("summary", loc.t("s_summary"), paragraphs=paragraphs)


MONTHLY_TERMS = ("revenue", "mom_yoy", "ytd", "share_of_change", "key_accounts", "new_customer",
                 "lost_customer", "at_risk", "attainment", "funnel", "below_target", "pvm",
                 "forecast_probability", "problems")
RISK_TERMS = ("revenue", "at_risk", "value_class", "top10", "hhi", "forecast_probability",
              "p10", "wape", "calibration", "psi", "problems")


def definitions_section(report_kind: str, options: ReportOptions) -> dict:
    """The rules behind the report's numbers, in words (the same rules the code applies)."""
    loc = options.locale
    terms = MONTHLY_TERMS if report_kind == "monthly" else RISK_TERMS
    rows = [{"term": loc.t(f"term_{t}"),
             "definition": loc.t(f"def_{t}", days=options.horizon_days,
                                 top_share=loc.pct(options.key_share, digits=0))}
            for t in terms]
    table = doc.table("definitions", "", [
        doc.column("term", loc.t("term"), "text"),
        doc.column("definition", loc.t("definition"), "text"),
    ], rows)
    return doc.section("definitions", loc.t("s_definitions"), tables=[table])


def _risk_sentence(metrics: dict, loc: Locale) -> str:
    """The high-risk customers and their revenue at risk, and that the tier singles no one out
    when the churn model ranks no better than chance (its ROC-AUC's interval reaches 0.5)."""
    low = metrics.get("churn_model_auc_low")
    chance = low is not None and without_skill({"roc_auc_low": low})
    key = "summary_risk_no_skill" if chance else "summary_risk"
    auc = metrics.get("churn_model_auc")
    return loc.t(key, n=loc.count(metrics["high_risk_customers"]),
                 revenue=loc.money(metrics["high_revenue_at_risk"]),
                 auc="" if auc is None else f"{auc:.3f}")
