"""Problems and actions of the risk report, each from a stated rule over the report's numbers."""

from __future__ import annotations

from forecast.reports.inputs import ReportOptions
from forecast.reports.rules import problem, problems_section, section_metrics

RISK_RULES = ("top10", "hhi", "at_risk_12m", "downside", "backtest_wape", "coverage", "ece",
              "drift")
HHI_KEYS = ("customer", "channel", "product_line", "region", "segment")


def _concentration_rules(report: dict, options: ReportOptions) -> list[dict]:
    loc, rules, out = options.locale, options.rules, []
    k = section_metrics(report, "concentration")
    if k.get("top10_share") is not None and k["top10_share"] > rules.top10_share:
        out.append(problem("top10", loc, k["top10_share"], rules.top10_share,
                            share=loc.pct(k["top10_share"]), threshold=loc.pct(rules.top10_share)))
    for key in HHI_KEYS:
        value, raw = k.get(f"hhi_normalised_{key}"), k.get(f"hhi_{key}")
        if value is not None and value > rules.hhi:
            out.append(problem("hhi", loc, value, rules.hhi, level=loc.t(f"level_{key}"),
                               hhi=loc.ratio(raw), normalised=loc.ratio(value),
                               threshold=loc.ratio(rules.hhi),
                               equivalent=loc.number(1 / raw)))
    a = section_metrics(report, "at_risk")
    if a.get("high_at_risk_share") is not None and \
            a["high_at_risk_share"] > rules.at_risk_revenue_share:
        out.append(problem("at_risk_12m", loc, a["high_at_risk_share"],
                            rules.at_risk_revenue_share, n=loc.count(a["high_risk_customers"]),
                            revenue=loc.money(a["high_revenue_at_risk"]),
                            share=loc.pct(a["high_at_risk_share"]),
                            threshold=loc.pct(rules.at_risk_revenue_share)))
    return out


def _model_rules(report: dict, options: ReportOptions) -> list[dict]:
    loc, rules, out = options.locale, options.rules, []
    d = section_metrics(report, "downside")
    if d.get("probability") is not None and d["probability"] < rules.target_probability:
        out.append(problem("downside", loc, d["probability"], rules.target_probability,
                            month=loc.month(d["period"]),
                            probability=loc.pct(d["probability"], digits=0),
                            p10=loc.money(d["p10"]), target=loc.money(d["target"]),
                            threshold=loc.pct(rules.target_probability, digits=0)))
    h = section_metrics(report, "model_health")
    if h.get("backtest_wape") is not None and h["backtest_wape"] > rules.backtest_wape:
        out.append(problem("backtest_wape", loc, h["backtest_wape"], rules.backtest_wape,
                            wape=loc.pct(h["backtest_wape"]),
                            threshold=loc.pct(rules.backtest_wape)))
    cover = h.get("backtest_coverage_80")
    if cover is not None and abs(cover - 0.8) > rules.coverage_tolerance:
        out.append(problem("coverage", loc, cover, rules.coverage_tolerance,
                            coverage=loc.pct(cover),
                            tolerance=loc.points(rules.coverage_tolerance).lstrip("+")))
    if h.get("churn_ece") is not None and h["churn_ece"] > rules.calibration_ece:
        out.append(problem("ece", loc, h["churn_ece"], rules.calibration_ece,
                            ece=loc.ratio(h["churn_ece"]),
                            threshold=loc.ratio(rules.calibration_ece)))
    if h.get("features_drifting"):
        out.append(problem("drift", loc, h["max_psi"], rules.drift_psi,
                            n=loc.count(h["features_drifting"]), psi=loc.ratio(h["max_psi"]),
                            threshold=loc.ratio(rules.drift_psi)))
    return out


def risk_problems(report: dict, options: ReportOptions) -> dict:
    """The problems section of a risk report."""
    items = _concentration_rules(report, options) + _model_rules(report, options)
    return problems_section(items, options.locale, len(RISK_RULES))
