"""Problems and suggested actions, each from a stated rule over numbers already in the report.

Every rule reads the built sections (never the warehouse), so a problem can be checked against
the numbers printed above it. A problem is ``{"rule", "condition", "observed", "threshold",
"finding", "action"}``; ``observed`` and ``threshold`` are raw numbers.
"""

from __future__ import annotations

from forecast.reports import document as doc
from forecast.reports.i18n import Locale
from forecast.reports.inputs import ReportOptions


def ok_section(report: dict, key: str) -> dict | None:
    try:
        s = doc.find_section(report, key)
    except KeyError:
        return None
    return s if s["status"] == "ok" else None


def section_metrics(report: dict, key: str) -> dict:
    s = ok_section(report, key)
    return doc.metric_values(s) if s else {}


def problem(rule: str, loc: Locale, observed: float, limit: float, **words) -> dict:
    """One problem: the rule, its raw observed value and limit, the finding and the action."""
    return {"rule": rule, "condition": loc.t(f"rule_{rule}"), "observed": doc.clean(observed),
            "threshold": doc.clean(limit), "finding": loc.t(f"finding_{rule}", **words),
            "action": loc.t(f"action_{rule}", **words)}


def _worst_member(report: dict, column: str) -> tuple[str, dict] | None:
    """The key and member with the most negative ``column`` over the contribution tables."""
    s = ok_section(report, "contribution")
    if not s:
        return None
    candidates = [(t["key"], r) for t in s["tables"] for r in t["rows"]
                  if r.get(column) is not None]
    if not candidates:
        return None
    return min(candidates, key=lambda c: c[1][column])


def _revenue_rules(report: dict, options: ReportOptions) -> list[dict]:
    loc, rules, out = options.locale, options.rules, []
    m = section_metrics(report, "revenue")
    worst = _worst_member(report, "change")
    if m.get("mom") is not None and m["mom"] < -rules.mom_decline and worst:
        key, row = worst
        out.append(problem("mom_decline", loc, m["mom"], -rules.mom_decline,
                            mom=loc.pct(-m["mom"]),
                            threshold=loc.pct(rules.mom_decline),
                            level=loc.t(f"level_{key}"), member=loc.member(row["value"]),
                            change=loc.money(row["change"], signed=True)))
    yoy_rows = _yoy_worst(report)
    if m.get("yoy") is not None and m["yoy"] < -rules.yoy_decline and yoy_rows:
        key, row, change = yoy_rows
        out.append(problem("yoy_decline", loc, m["yoy"], -rules.yoy_decline,
                            yoy=loc.pct(-m["yoy"]),
                            threshold=loc.pct(rules.yoy_decline), level=loc.t(f"level_{key}"),
                            member=loc.member(row["value"]), change=loc.money(change, signed=True)))
    if m.get("ytd_attainment") is not None and m["ytd_attainment"] < rules.ytd_attainment:
        month = int(report["month"][5:7])
        remaining = 12 - month
        per_month = -m["ytd_gap"] / remaining if remaining else -m["ytd_gap"]
        out.append(problem("ytd_attainment", loc, m["ytd_attainment"], rules.ytd_attainment,
                            attainment=loc.pct(m["ytd_attainment"]),
                            threshold=loc.pct(rules.ytd_attainment),
                            gap=loc.money(-m["ytd_gap"]), months=max(remaining, 1),
                            per_month=loc.money(per_month)))
    return out


def _yoy_worst(report: dict) -> tuple[str, dict, float] | None:
    s = ok_section(report, "contribution")
    if not s:
        return None
    rows = [(t["key"], r, r["current"] - r["year_ago"]) for t in s["tables"] for r in t["rows"]
            if r.get("year_ago") is not None and r.get("current") is not None]
    return min(rows, key=lambda c: c[2]) if rows else None


def _organisation_rules(report: dict, options: ReportOptions) -> list[dict]:
    loc, rules, out = options.locale, options.rules, []
    s = ok_section(report, "attainment")
    for t in (s or {}).get("tables", []):
        low = [r for r in t["rows"] if r.get("attainment") is not None
               and r["attainment"] < rules.unit_attainment]
        if low:
            worst = min(low, key=lambda r: r["attainment"])
            names = ", ".join(f"{r['unit']} ({loc.pct(r['attainment'])})" for r in low[:8])
            out.append(problem("unit_attainment", loc, worst["attainment"],
                                rules.unit_attainment, level=loc.t(f"level_{t['key']}"),
                                units=names,
                                n=len(low), threshold=loc.pct(rules.unit_attainment, digits=0)))
    b = ok_section(report, "below_target")
    for t in (b or {}).get("tables", []):
        for r in t["rows"]:
            if r.get("driver") and r.get("change") is not None and r["change"] < 0:
                effect = min(("volume", "price", "mix", "other"), key=lambda k: r.get(k) or 0)
                out.append(problem(f"driver_{effect}", loc, r[effect], 0.0,
                                   level=loc.t(f"level_{t['key']}"),
                                    unit=loc.member(r["unit"]),
                                    gap=loc.money(-r["gap"]),
                                    effect=loc.money(r[effect], signed=True)))
    f = section_metrics(report, "funnel")
    if f.get("win_rate_change") is not None and f["win_rate_change"] < -rules.win_rate_drop:
        out.append(problem("win_rate", loc, f["win_rate_change"], -rules.win_rate_drop,
                            rate=loc.pct(f["win_rate"]), previous=loc.pct(f["win_rate_previous"]),
                            threshold=loc.points(rules.win_rate_drop).lstrip("+")))
    return out


def _customer_rules(report: dict, options: ReportOptions) -> list[dict]:
    loc, rules, out = options.locale, options.rules, []
    m, c = section_metrics(report, "revenue"), section_metrics(report, "customers")
    annual = (m.get("revenue") or 0) * 12
    if annual > 0 and c.get("lost_revenue") is not None:
        share = c["lost_revenue"] / annual
        if share > rules.lost_revenue_share:
            out.append(problem("lost_revenue", loc, share, rules.lost_revenue_share,
                                n=loc.count(c["lost_customers"]),
                                revenue=loc.money(c["lost_revenue"]), share=loc.pct(share),
                                threshold=loc.pct(rules.lost_revenue_share),
                                top=_top_names(report, "lost")))
    if annual > 0 and c.get("high_revenue_at_risk") is not None:
        share = c["high_revenue_at_risk"] / annual
        if share > rules.at_risk_revenue_share:
            out.append(problem("at_risk", loc, share, rules.at_risk_revenue_share,
                                n=loc.count(c["high_risk_customers"]),
                                revenue=loc.money(c["high_revenue_at_risk"]),
                                share=loc.pct(share),
                                threshold=loc.pct(rules.at_risk_revenue_share)))
    if c.get("new_customers") is not None and c.get("lost_customers") is not None \
            and c["new_customers"] < c["lost_customers"]:
        out.append(problem("net_customers", loc, c["new_customers"] - c["lost_customers"], 0.0,
                            new=loc.count(c["new_customers"]), lost=loc.count(c["lost_customers"])))
    n = section_metrics(report, "next_month")
    if n.get("probability") is not None and n["probability"] < rules.target_probability:
        out.append(problem("next_month", loc, n["probability"], rules.target_probability,
                            probability=loc.pct(n["probability"], digits=0),
                            threshold=loc.pct(rules.target_probability, digits=0),
                            gap=loc.money(n["target"] - n["forecast"])))
    return out


def _top_names(report: dict, table_key: str, n: int = 3) -> str:
    s = ok_section(report, "customers")
    if not s:
        return ""
    rows = doc.find_table(s, table_key)["rows"][:n]
    return ", ".join(str(r.get("name") or r["customer_id"]) for r in rows)


def problems_section(items: list[dict], loc: Locale, rules_checked: int) -> dict:
    """The problems as a table, with the rules in force stated even when none fired."""
    table = doc.table("problems", "", [
        doc.column("finding", loc.t("finding"), "text"),
        doc.column("action", loc.t("action"), "text"),
        doc.column("condition", loc.t("rule"), "text"),
    ], items)
    paragraphs = [] if items else [loc.t("no_problems", n=rules_checked)]
    s = doc.section("problems", loc.t("s_problems"), tables=[table] if items else [],
                    paragraphs=paragraphs, note=loc.t("problems_note"))
    s["items"] = items
    return s


MONTHLY_RULES = ("mom_decline", "yoy_decline", "ytd_attainment", "unit_attainment",
                 "driver_volume", "driver_price", "driver_mix", "driver_other", "win_rate",
                 "lost_revenue", "at_risk", "net_customers", "next_month")


def monthly_problems(report: dict, options: ReportOptions) -> dict:
    """The problems section of a monthly report."""
    items = (_revenue_rules(report, options) + _organisation_rules(report, options)
             + _customer_rules(report, options))
    return problems_section(items, options.locale, len(MONTHLY_RULES))
