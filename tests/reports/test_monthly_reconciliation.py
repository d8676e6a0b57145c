"""Every number in the monthly report's JSON, recomputed from the warehouse by direct queries.

The expectations are computed here independently of forecast.io.report_queries: months are
matched by their text (strftime), and the customer, funnel and driver numbers are worked out in
pandas from the raw tables. A ledger records each number checked, and the last assertion is that
no number in the JSON went unchecked.
"""

from __future__ import annotations

import json
import math
import re
import statistics
from datetime import date, timedelta
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest
from scipy.stats import norm

from forecast.pipeline import build_monthly_report
from forecast.reports.document import find_section, find_table

FUNNEL_ORDER = ["initial contact", "needs analysis", "proposal", "negotiation", "won", "lost"]


class Ledger:
    """Checks report numbers against expectations and remembers which were checked."""

    def __init__(self, report: dict):
        self.report = report
        self.checked: set[tuple] = set()

    def _close(self, actual, expected, where) -> None:
        if expected is None or (isinstance(expected, float) and math.isnan(expected)):
            assert actual is None, (where, actual)
        elif isinstance(expected, str):
            assert actual == expected, (where, actual, expected)
        else:
            assert actual == pytest.approx(expected, rel=1e-9, abs=1e-6), (where, actual,
                                                                           expected)

    def metric(self, section: str, key: str, expected) -> None:
        values = {m["key"]: m["value"] for m in find_section(self.report, section)["metrics"]}
        self._close(values[key], expected, (section, key))
        self.checked.add(("metric", section, key))

    def rows(self, section: str, table: str, key: str, expected: pd.DataFrame,
             columns: list[str], ordered: bool = True) -> None:
        """The table's rows equal ``expected`` (same keys, same order when ``ordered``)."""
        rows = find_table(find_section(self.report, section), table)["rows"]
        keys = [r[key] for r in rows]
        want = list(expected[key])
        assert (keys if ordered else sorted(keys)) == (want if ordered else sorted(want)), \
            (section, table, keys, want)
        by_key = expected.set_index(key)
        for i, row in enumerate(rows):
            for col in columns:
                self._close(row[col], _py(by_key.at[row[key], col]), (section, table, row[key], col))
                self.checked.add(("cell", section, table, i, col))

    def cells(self, section: str, table: str, expected: list[dict], columns: list[str]) -> None:
        """Row i of the table equals expected[i] in ``columns``."""
        rows = find_table(find_section(self.report, section), table)["rows"]
        assert len(rows) == len(expected), (section, table, len(rows), len(expected))
        for i, (row, want) in enumerate(zip(rows, expected, strict=True)):
            for col in columns:
                self._close(row[col], _py(want[col]), (section, table, i, col))
                self.checked.add(("cell", section, table, i, col))

    def chart_value(self, section: str, path: tuple, expected) -> None:
        node = find_section(self.report, section)["charts"]
        for p in path:
            node = node[p]
        self._close(node, expected, (section, path))
        self.checked.add(("chart", section, *path))

    def problem(self, index: int, observed, threshold) -> None:
        item = find_section(self.report, "problems")["items"][index]
        self._close(item["observed"], observed, ("problem", item["rule"]))
        self._close(item["threshold"], threshold, ("problem", item["rule"]))
        self.checked.update({("problem", index, "observed"), ("problem", index, "threshold")})

    def unchecked(self) -> list[tuple]:
        """Paths of numbers (and dates) in the report that no check covered."""
        missing = []
        for s in self.report["sections"]:
            for m in s["metrics"]:
                if ("metric", s["key"], m["key"]) not in self.checked:
                    missing.append(("metric", s["key"], m["key"]))
            for t in s["tables"]:
                numeric = [c["key"] for c in t["columns"] if c["kind"] not in ("text", "member",
                                                                                "reason")]
                for i, row in enumerate(t["rows"]):
                    missing += [("cell", s["key"], t["key"], i, c) for c in numeric
                                if row[c] is not None
                                and ("cell", s["key"], t["key"], i, c) not in self.checked]
            for path in _chart_numbers(s["charts"]):
                if ("chart", s["key"], *path) not in self.checked:
                    missing.append(("chart", s["key"], *path))
            for i, _ in enumerate(s.get("items", [])):
                if ("problem", i, "observed") not in self.checked:
                    missing.append(("problem", i))
        return missing


def _py(value):
    if isinstance(value, pd.Timestamp):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    return value.item() if hasattr(value, "item") else value


def _chart_numbers(node, path=()):
    if isinstance(node, bool):
        return
    if isinstance(node, int | float):
        yield path
    elif isinstance(node, dict):
        for k, v in node.items():
            yield from _chart_numbers(v, (*path, k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from _chart_numbers(v, (*path, i))


def month_of(offset: int, month: str) -> str:
    """'2026-10' moved by ``offset`` months."""
    y, m = int(month[:4]), int(month[5:7]) + offset
    while m < 1:
        y, m = y - 1, m + 12
    while m > 12:
        y, m = y + 1, m - 12
    return f"{y:04d}-{m:02d}"


def growth(current, base):
    return None if base is None or base <= 0 else current / base - 1


@pytest.fixture(params=["2026-10", "2025-12"])
def reconciled(request, synthetic_config):
    """(report from the JSON file, ledger, raw tables, connection, month)."""
    month = request.param
    result = build_monthly_report(synthetic_config, month)
    report = json.loads(Path(result.files["json"]).read_text(encoding="utf-8"))
    con = duckdb.connect(str(synthetic_config.workspace / "warehouse.duckdb"), read_only=True)
    tables = {t: con.execute(f"SELECT * FROM {t}").df() for t in
              ("orders", "targets", "opportunities", "churn_scores", "customers",
               "revenue_forecast_periods")}
    tables["orders"]["month"] = pd.to_datetime(tables["orders"]["order_date"]).dt.strftime("%Y-%m")
    tables["targets"]["month"] = pd.to_datetime(tables["targets"]["period"]).dt.strftime("%Y-%m")
    yield report, Ledger(report), tables, con, month
    con.close()


def sql_revenue(con, month: str, where: str = "TRUE") -> float:
    return con.execute(f"SELECT coalesce(sum(amount), 0) FROM orders WHERE "
                       f"strftime(order_date, '%Y-%m') = '{month}' AND {where}").fetchone()[0]


def check_revenue(ledger: Ledger, con, month: str) -> dict:
    """Totals, MoM, YoY and year to date against targets."""
    revenue, previous = sql_revenue(con, month), sql_revenue(con, month_of(-1, month))
    year_ago = sql_revenue(con, month_of(-12, month))
    orders, customers = con.execute(
        f"SELECT count(DISTINCT order_id), count(DISTINCT customer_id) FROM orders "
        f"WHERE strftime(order_date, '%Y-%m') = '{month}'").fetchone()
    year = month[:4]
    ytd = con.execute(f"SELECT sum(amount) FROM orders WHERE strftime(order_date, '%Y') = "
                      f"'{year}' AND strftime(order_date, '%Y-%m') <= '{month}'").fetchone()[0]
    prior_year, prior_month = str(int(year) - 1), month_of(-12, month)
    ytd_prior = con.execute(
        f"SELECT sum(amount) FROM orders WHERE strftime(order_date, '%Y') = '{prior_year}' "
        f"AND strftime(order_date, '%Y-%m') <= '{prior_month}'").fetchone()[0]
    ytd_target, month_target = con.execute(
        f"SELECT sum(target) FILTER (WHERE strftime(period, '%Y') = '{year}' AND "
        f"strftime(period, '%Y-%m') <= '{month}'), sum(target) FILTER (WHERE "
        f"strftime(period, '%Y-%m') = '{month}') FROM targets").fetchone()
    expected = {
        "revenue": revenue, "previous": previous, "mom": growth(revenue, previous),
        "year_ago": year_ago, "yoy": growth(revenue, year_ago), "orders": orders,
        "customers": customers, "average_order": revenue / orders,
        "month_target": month_target, "month_attainment": revenue / month_target,
        "ytd_revenue": ytd, "ytd_prior": ytd_prior, "ytd_yoy": growth(ytd, ytd_prior),
        "ytd_target": ytd_target, "ytd_attainment": ytd / ytd_target, "ytd_gap": ytd - ytd_target,
    }
    for key, value in expected.items():
        ledger.metric("revenue", key, value)
    return expected


def check_trend(ledger: Ledger, con, tables: dict, month: str) -> None:
    chart = find_section(ledger.report, "revenue")["charts"][0]
    assert chart["periods"][0][:7] == month_of(-23, month)
    for i, period in enumerate(chart["periods"]):
        key = period[:7]
        actual = sql_revenue(con, key) if key <= month else None
        has_orders = key in set(tables["orders"]["month"])
        ledger.chart_value("revenue", (0, "series", 0, "values", i),
                           actual if key <= month and has_orders else None)
        t = tables["targets"].loc[tables["targets"]["month"] == key, "target"]
        ledger.chart_value("revenue", (0, "series", 1, "values", i),
                           float(t.sum()) if len(t) else None)
    f = tables["revenue_forecast_periods"]
    f = f[(f["grain"] == "total") & (f["period_type"] == "month")].copy()
    f["key"] = pd.to_datetime(f["period"]).dt.strftime("%Y-%m")
    f = f[(f["key"] > month) & (f["key"] <= month_of(12, month))].sort_values("key")
    assert [p["period"][:7] for p in chart["fan"]] == list(f["key"])
    for i, (_, row) in enumerate(f.iterrows()):
        for fan_key, column in (("yhat", "yhat"), ("lo_80", "yhat_lo_80"), ("hi_80", "yhat_hi_80"),
                                ("lo_95", "yhat_lo_95"), ("hi_95", "yhat_hi_95")):
            ledger.chart_value("revenue", (0, "fan", i, fan_key), row[column])


def check_contribution(ledger: Ledger, tables: dict, month: str) -> None:
    o = tables["orders"]
    for level in ("product_line", "segment", "channel", "region"):
        member = o[level].fillna("(none)")
        windows = {"current": month, "previous": month_of(-1, month),
                   "year_ago": month_of(-12, month)}
        sums = {name: o[o["month"] == m].groupby(member[o["month"] == m])["amount"].sum()
                for name, m in windows.items()}
        e = pd.DataFrame(sums).fillna(0.0).rename_axis("value").reset_index()
        total_change = e["current"].sum() - e["previous"].sum()
        e["share"] = e["current"] / e["current"].sum()
        e["change"] = e["current"] - e["previous"]
        e["change_pct"] = [None if p == 0 else c / p - 1
                           for c, p in zip(e["current"], e["previous"], strict=True)]
        e["share_of_change"] = e["change"] / total_change
        e["yoy"] = [growth(c, y) for c, y in zip(e["current"], e["year_ago"], strict=True)]
        e = e.sort_values("current", ascending=False, kind="stable")
        ledger.rows("contribution", level, "value", e,
                    ["current", "share", "previous", "change", "change_pct", "share_of_change",
                     "year_ago", "yoy"])
        if level == "product_line":
            ledger.chart_value("contribution", (0, "start", "value"), e["previous"].sum())
            ledger.chart_value("contribution", (0, "end", "value"), e["current"].sum())
            steps = e.reindex(e["change"].abs().sort_values(ascending=False).index)
            for i, change in enumerate(steps["change"]):
                ledger.chart_value("contribution", (0, "steps", i, "value"), change)


def check_distribution(ledger: Ledger, tables: dict, month: str) -> None:
    """Key accounts = a 'key account' segment on an order in the 12 months to the month end."""
    o = tables["orders"]
    trailing = o[(o["month"] > month_of(-12, month)) & (o["month"] <= month)]
    keys = set(trailing.loc[trailing["segment"] == "key account", "customer_id"])
    o = o.assign(group=["key account" if c in keys else "other" for c in o["customer_id"]])
    for grouping, column in (("accounts", "group"), ("channel", "channel")):
        cur, prev = o[o["month"] == month], o[o["month"] == month_of(-1, month)]
        e = pd.DataFrame({
            "current": cur.groupby(column)["amount"].sum(),
            "previous": prev.groupby(column)["amount"].sum(),
            "customers": cur.groupby(column)["customer_id"].nunique(),
            "customers_previous": prev.groupby(column)["customer_id"].nunique(),
        }).fillna(0.0).rename_axis("value").reset_index()
        e["share"] = e["current"] / e["current"].sum()
        e["change_pct"] = [None if p == 0 else c / p - 1
                           for c, p in zip(e["current"], e["previous"], strict=True)]
        e["revenue_per_customer"] = e["current"] / e["customers"]
        e = e.sort_values("current", ascending=False, kind="stable")
        ledger.rows("customers_mix", grouping, "value", e,
                    ["current", "share", "previous", "change_pct", "customers",
                     "customers_previous", "revenue_per_customer"])


def check_attainment(ledger: Ledger, tables: dict, month: str) -> dict:
    o, t = tables["orders"], tables["targets"]
    year, out = month[:4], {}
    for level in ("region", "team"):
        tm = t[t["month"] == month].groupby(level)["target"].sum()
        ty = t[(t["month"] >= f"{year}-01") & (t["month"] <= month)].groupby(level)["target"].sum()
        am = o[o["month"] == month].groupby(level)["amount"].sum()
        ay = o[(o["month"] >= f"{year}-01") & (o["month"] <= month)].groupby(level)["amount"].sum()
        e = pd.DataFrame({"target_month": tm, "target_ytd": ty}).join(
            pd.DataFrame({"actual_month": am, "actual_ytd": ay}), how="left").fillna(
            {"actual_month": 0.0, "actual_ytd": 0.0})
        e = e[e["target_month"] > 0].rename_axis("unit").reset_index()
        e["attainment"] = e["actual_month"] / e["target_month"]
        e["gap"] = e["actual_month"] - e["target_month"]
        e["attainment_ytd"] = e["actual_ytd"] / e["target_ytd"]
        e = e.sort_values(["attainment", "unit"], ascending=[False, True]).reset_index(drop=True)
        e["rank"] = range(1, len(e) + 1)
        ledger.rows("attainment", level, "unit", e,
                    ["rank", "target_month", "actual_month", "attainment", "gap", "target_ytd",
                     "actual_ytd", "attainment_ytd"])
        ledger.metric("attainment", f"below_{level}", int((e["attainment"] < 0.9).sum()))
        out[level] = e
    bars = find_section(ledger.report, "attainment")["charts"][0]
    assert bars["key"] == "attainment_team"
    for i, value in enumerate(out["team"]["attainment"]):
        ledger.chart_value("attainment", (0, "items", i, "value"), value)
    ledger.chart_value("attainment", (0, "reference"), 1.0)
    reps = pd.DataFrame({
        "actual_month": o[o["month"] == month].groupby("rep_id")["amount"].sum(),
        "actual_previous": o[o["month"] == month_of(-1, month)].groupby("rep_id")["amount"].sum(),
    })
    active = set(o[(o["month"] >= min(f"{year}-01", month_of(-1, month))) & (o["month"] <= month)]
                 ["rep_id"].dropna())
    reps = reps.reindex(sorted(active)).fillna(0.0).rename_axis("unit").reset_index()
    reps = reps.sort_values(["actual_month", "unit"], ascending=[False, True]).reset_index(drop=True)
    reps["rank"] = range(1, len(reps) + 1)
    reps["change_pct"] = [None if p <= 0 else c / p - 1
                          for c, p in zip(reps["actual_month"], reps["actual_previous"], strict=True)]
    shown = pd.concat([reps.head(10), reps.tail(10)]) if len(reps) > 20 else reps
    ledger.cells("attainment", "rep_id", shown.to_dict("records"),
                 ["rank", "actual_month", "actual_previous", "change_pct"])
    return out


def latest_stages(opportunities: pd.DataFrame, end: date) -> pd.DataFrame:
    """Each opportunity's last stage entered before ``end`` (ties: the later funnel stage)."""
    f = opportunities[pd.to_datetime(opportunities["stage_date"]).dt.date < end].copy()
    f["order"] = f["stage"].map({s: i for i, s in enumerate(FUNNEL_ORDER)})
    return f.sort_values(["stage_date", "order"]).groupby("opportunity_id").tail(1)


def check_funnel(ledger: Ledger, tables: dict, month: str) -> dict:
    opp = tables["opportunities"].copy()
    opp["month"] = pd.to_datetime(opp["stage_date"]).dt.strftime("%Y-%m")
    cur, prev = opp[opp["month"] == month], opp[opp["month"] == month_of(-1, month)]
    e = pd.DataFrame({"entered": cur.groupby("stage").size(),
                      "amount": cur.groupby("stage")["amount"].sum(),
                      "entered_previous": prev.groupby("stage").size()}).fillna(0)
    e = e.reindex([s for s in FUNNEL_ORDER if s in e.index]).rename_axis("stage").reset_index()
    e["change_pct"] = [None if p == 0 else c / p - 1
                       for c, p in zip(e["entered"], e["entered_previous"], strict=True)]
    ledger.rows("funnel", "stages", "stage", e, ["entered", "amount", "entered_previous",
                                                 "change_pct"])
    count = {s: float(cur["stage"].eq(s).sum()) for s in FUNNEL_ORDER}
    before = {s: float(prev["stage"].eq(s).sum()) for s in FUNNEL_ORDER}
    rate = count["won"] / (count["won"] + count["lost"])
    rate_prev = before["won"] / (before["won"] + before["lost"])
    y, m = int(month[:4]), int(month[5:7])
    end = date(y + (m == 12), m % 12 + 1, 1)
    open_ = latest_stages(tables["opportunities"], end)
    open_ = open_[~open_["stage"].isin(["won", "lost"])]
    expected = {"created": count["initial contact"], "won": count["won"],
                "won_amount": float(cur.loc[cur["stage"] == "won", "amount"].sum()),
                "lost": count["lost"], "win_rate": rate, "win_rate_previous": rate_prev,
                "win_rate_change": rate - rate_prev, "open_opportunities": len(open_),
                "open_amount": float(open_["amount"].sum())}
    for key, value in expected.items():
        ledger.metric("funnel", key, value)
    for i, stage in enumerate(s for s in FUNNEL_ORDER if s != "lost"):
        ledger.chart_value("funnel", (0, "items", i, "value"), count[stage])
    return expected


def reason_kind(text) -> str | None:
    """The group of a fixture's reason, by its name (see conftest.add_churn_scores)."""
    if not isinstance(text, str):
        return None
    if text.startswith("no order for"):
        return "Long silence against the usual order interval"
    assert text.startswith("days since survey is")
    return "Unusual days since survey"


def typical(kind: str, texts: list[str]) -> str:
    """The typical values of a group of the fixture's reasons: medians of their numbers."""
    numbers = [[float(x) for x in re.findall(r"\d+(?:\.\d+)?", t)] for t in texts]

    def median(k: int) -> str:
        value = statistics.median(n[k] for n in numbers)
        return f"{value:,.0f}" if value >= 10 or value == int(value) else f"{value:.1f}"

    if kind.startswith("Long silence"):
        return f"median {median(0)} days without an order, {median(1)}x the usual interval"
    return f"median {median(0)} (usual {median(1)})"


def expected_reasons(scores: pd.DataFrame) -> pd.DataFrame:
    kinds: dict[str, list[str]] = {}
    for _, row in scores.iterrows():
        texts = {reason_kind(row[c]): row[c] for c in ("reason_1", "reason_2", "reason_3")}
        for k, text in texts.items():
            if k is not None:
                kinds.setdefault(k, []).append(text)
    e = pd.DataFrame({"reason": list(kinds), "customers": [len(v) for v in kinds.values()],
                      "typical": [typical(k, v) for k, v in kinds.items()]})
    e["share"] = e["customers"] / len(scores)
    return e.sort_values(["customers", "reason"], ascending=[False, True])


def check_customers(ledger: Ledger, tables: dict, month: str) -> dict:
    o = tables["orders"].dropna(subset=["customer_id"])
    names = tables["customers"].set_index("customer_id")["name"]
    first = o.groupby("customer_id")["order_date"].min()
    new_ids = first[pd.to_datetime(first).dt.strftime("%Y-%m") == month].index
    new = o[o["customer_id"].isin(new_ids) & (o["month"] == month)].groupby("customer_id").agg(
        revenue=("amount", "sum")).reset_index()
    new["first_order"] = [first[c] for c in new["customer_id"]]
    new = new.sort_values(["revenue", "customer_id"], ascending=[False, True])
    new["name"] = [names[c] for c in new["customer_id"]]
    ledger.metric("customers", "new_customers", len(new))
    ledger.metric("customers", "new_revenue", float(new["revenue"].sum()))
    ledger.rows("customers", "new", "customer_id", new.head(10), ["first_order", "revenue"])
    y, m = int(month[:4]), int(month[5:7])
    start, end = date(y, m, 1), date(y + (m == 12), m % 12 + 1, 1)
    days = pd.to_datetime(o["order_date"]).dt.date
    last = o[days < end].groupby("customer_id")["order_date"].max()
    last = last.map(lambda d: pd.Timestamp(d).date())
    lost_ids = last[(last + timedelta(days=90) >= start) & (last + timedelta(days=90) < end)].index
    lost = pd.DataFrame({"customer_id": lost_ids, "last_order": [last[c] for c in lost_ids]})
    lost["revenue_12m"] = [
        float(o.loc[(o["customer_id"] == c) & (days <= d) & (days > d - timedelta(days=365)),
                    "amount"].sum()) for c, d in zip(lost["customer_id"], lost["last_order"],
                                                     strict=True)]
    lost = lost.sort_values(["revenue_12m", "customer_id"], ascending=[False, True])
    ledger.metric("customers", "lost_customers", len(lost))
    ledger.metric("customers", "lost_revenue", float(lost["revenue_12m"].sum()))
    ledger.rows("customers", "lost", "customer_id", lost.head(10), ["last_order", "revenue_12m"])
    scores = tables["churn_scores"]
    lost_scores = scores[scores["customer_id"].isin(lost_ids)]
    if len(lost_scores):
        ledger.rows("customers", "lost_reasons", "reason", expected_reasons(lost_scores).head(10),
                    ["customers", "share", "typical"])
    check_risk_tables(ledger, "customers", scores)
    return {"new": len(new), "lost": len(lost), "lost_revenue": float(lost["revenue_12m"].sum()),
            "lost_top": list(lost["customer_id"].head(3))}


def check_risk_tables(ledger: Ledger, section: str, scores: pd.DataFrame) -> None:
    """Tiers, the customers with most revenue at risk and their reasons (both reports)."""
    tiers = scores.groupby("tier").agg(customers=("customer_id", "size"),
                                       revenue_at_risk=("revenue_at_risk", "sum"),
                                       churn_proba_mean=("churn_proba", "mean"))
    tiers = tiers.reindex(["high", "medium", "low"]).reset_index()
    tiers["share"] = tiers["revenue_at_risk"] / tiers["revenue_at_risk"].sum()
    ledger.rows(section, "risk_tiers", "tier", tiers,
                ["customers", "revenue_at_risk", "share", "churn_proba_mean"])
    for tier in ("high", "medium"):
        row = tiers.set_index("tier").loc[tier]
        ledger.metric(section, f"{tier}_risk_customers", row["customers"])
        ledger.metric(section, f"{tier}_revenue_at_risk", row["revenue_at_risk"])
    ledger.metric(section, "scoring_cutoff", "2026-11-01")
    risky = scores[scores["tier"].isin(["high", "medium"])]
    top = risky.sort_values(["revenue_at_risk", "churn_proba", "customer_id"],
                            ascending=[False, False, True]).head(10)
    ledger.rows(section, "at_risk", "customer_id", top, ["churn_proba", "revenue_at_risk"])
    ledger.rows(section, "at_risk_reasons", "reason", expected_reasons(risky).head(10),
                ["customers", "share", "typical"])


def effects(frame: pd.DataFrame, unit: str, item: str, month: str) -> pd.DataFrame:
    """Volume, mix, price and other per unit, worked item by item (formula in the report)."""
    rows = []
    cur, base = frame[frame["month"] == month], frame[frame["month"] == month_of(-12, month)]
    for u in sorted(set(cur[unit].dropna()) | set(base[unit].dropna())):
        q1 = cur[cur[unit] == u].groupby(item)[["quantity", "amount"]].sum()
        q0 = base[base[unit] == u].groupby(item)[["quantity", "amount"]].sum()
        both = q1.add_suffix("_1").join(q0.add_suffix("_0"), how="outer").fillna(0.0)
        common = both[(both["quantity_0"] > 0) & (both["quantity_1"] > 0)]
        base_price = common["amount_0"].sum() / common["quantity_0"].sum() if len(common) else 0
        at_base = sum(r["quantity_1"] * r["amount_0"] / r["quantity_0"]
                      for _, r in common.iterrows())
        q1c, q0c = common["quantity_1"].sum(), common["quantity_0"].sum()
        rows.append({"unit": u, "revenue_0": both["amount_0"].sum(),
                     "change": both["amount_1"].sum() - both["amount_0"].sum(),
                     "volume": (q1c - q0c) * base_price, "mix": at_base - q1c * base_price,
                     "price": common["amount_1"].sum() - at_base,
                     "other": (both["amount_1"].sum() - common["amount_1"].sum())
                     - (both["amount_0"].sum() - common["amount_0"].sum())})
    out = pd.DataFrame(rows).set_index("unit")
    total = out[["volume", "mix", "price", "other"]].sum(axis=1)
    assert (total - out["change"]).abs().max() < 1e-6
    return out


def declining(o: pd.DataFrame, unit: str, units: list[str], month: str) -> list[dict]:
    rows = []
    for u in sorted(units):
        part = o[o[unit] == u]
        r1 = part[part["month"] == month].groupby("customer_id")["amount"].sum()
        r0 = part[part["month"] == month_of(-12, month)].groupby("customer_id")["amount"].sum()
        c = pd.DataFrame({"revenue_0": r0, "revenue_1": r1}).fillna(0.0).rename_axis(
            "customer_id").reset_index()
        c["change"] = c["revenue_1"] - c["revenue_0"]
        c = c[c["change"] < 0].sort_values(["change", "customer_id"]).head(10)
        rows += c.assign(unit=u).to_dict("records")
    return rows


def check_below_target(ledger: Ledger, tables: dict, month: str, regions: pd.DataFrame,
                       month_target: float) -> list[dict]:
    o, found = tables["orders"], []
    below = regions[regions["attainment"] < 1].rename(
        columns={"target_month": "target", "actual_month": "actual"})
    lines = o.assign(value=o["product_line"])
    cur = lines[lines["month"] == month].groupby("value")["amount"].sum()
    ya = lines[lines["month"] == month_of(-12, month)].groupby("value")["amount"].sum().clip(lower=0)
    members = sorted(set(cur.index) | set(ya.index) | set(
        lines[lines["month"] == month_of(-1, month)]["value"]))
    lines_e = pd.DataFrame({"unit": members, "actual": [cur.get(m, 0.0) for m in members],
                            "target": [month_target * ya.get(m, 0.0) / ya.sum() for m in members]})
    lines_e = lines_e[lines_e["actual"] < lines_e["target"]]
    for level, frame, item in (("region", below, "product_line"),
                               ("product_line", lines_e, "product_id")):
        if frame.empty:
            continue
        e = frame[["unit", "target", "actual"]].copy()
        e["gap"] = e["actual"] - e["target"]
        e["attainment"] = e["actual"] / e["target"]
        e = e.join(effects(o, level, item, month), on="unit").sort_values("gap")
        ledger.rows("below_target", level, "unit", e,
                    ["target", "actual", "gap", "attainment", "revenue_0", "change", "volume",
                     "price", "mix", "other"])
        ledger.cells("below_target", f"{level}_customers",
                     declining(o, level, list(e["unit"]), month),
                     ["revenue_0", "revenue_1", "change"])
        found += [{"level": level, **r} for r in e.to_dict("records")]
    return found


def check_next_month(ledger: Ledger, tables: dict, month: str) -> dict:
    nxt = month_of(1, month)
    f = tables["revenue_forecast_periods"].copy()
    f = f[(f["period_type"] == "month")
          & (pd.to_datetime(f["period"]).dt.strftime("%Y-%m") == nxt)]
    t = tables["targets"][tables["targets"]["month"] == nxt]
    targets = {"total": float(t["target"].sum()), **t.groupby("region")["target"].sum().to_dict()}
    f = f.assign(depth=(f["grain"] != "total").astype(int)).sort_values(["depth", "unique_id"])
    f["target"] = [targets.get(u) for u in f["unique_id"]]
    # The 80 % interval is the distribution's: its lower bound is P10, and a target is reached
    # with the deviation the interval shows on the target's side.
    f["p10"] = f["yhat_lo_80"]
    side = np.where(f["target"] >= f["yhat"], f["yhat_hi_80"] - f["yhat"],
                    f["yhat"] - f["yhat_lo_80"]) / norm.ppf(0.9)
    f["probability"] = norm.sf(f["target"], f["yhat"], side)
    f["gap"] = f["yhat"] - f["target"]
    ledger.rows("next_month", "forecast", "unique_id", f,
                ["yhat", "yhat_lo_80", "yhat_hi_80", "yhat_lo_95", "yhat_hi_95", "p10", "target",
                 "gap", "probability"])
    total = f.iloc[0]
    for key, column in (("forecast", "yhat"), ("lo_80", "yhat_lo_80"), ("hi_80", "yhat_hi_80"),
                        ("target", "target"), ("probability", "probability")):
        ledger.metric("next_month", key, total[column])
    return {"probability": total["probability"]}


def expected_problems(r: dict, attainment: dict, funnel: dict, customers: dict,
                      below: list[dict], outlook: dict, high_at_risk: float) -> list[tuple]:
    """(rule, observed, threshold) with the default thresholds of ReportRules."""
    out = []
    if r["mom"] is not None and r["mom"] < -0.05:
        out.append(("mom_decline", r["mom"], -0.05))
    if r["yoy"] is not None and r["yoy"] < -0.05:
        out.append(("yoy_decline", r["yoy"], -0.05))
    if r["ytd_attainment"] < 0.95:
        out.append(("ytd_attainment", r["ytd_attainment"], 0.95))
    for level in ("region", "team"):
        low = attainment[level][attainment[level]["attainment"] < 0.9]
        if len(low):
            out.append(("unit_attainment", low["attainment"].min(), 0.9))
    for row in below:
        if row["change"] < 0:
            effect = min(("volume", "price", "mix", "other"), key=lambda k: row[k])
            out.append((f"driver_{effect}", row[effect], 0.0))
    if funnel["win_rate_change"] < -0.1:
        out.append(("win_rate", funnel["win_rate_change"], -0.1))
    annual = 12 * r["revenue"]
    if customers["lost_revenue"] / annual > 0.05:
        out.append(("lost_revenue", customers["lost_revenue"] / annual, 0.05))
    if high_at_risk / annual > 0.1:
        out.append(("at_risk", high_at_risk / annual, 0.1))
    if customers["new"] < customers["lost"]:
        out.append(("net_customers", customers["new"] - customers["lost"], 0.0))
    if outlook["probability"] < 0.5:
        out.append(("next_month", outlook["probability"], 0.5))
    return out


def test_every_number_of_the_monthly_report_reconciles_with_the_warehouse(reconciled):
    report, ledger, tables, con, month = reconciled
    # The fixture forecast starts in 2026-10, so an earlier month has no forecast of its next.
    has_forecast = month >= "2026-09"
    omitted = [s["key"] for s in report["sections"] if s["status"] == "omitted"]
    assert omitted == ([] if has_forecast else ["next_month"])
    r = check_revenue(ledger, con, month)
    check_trend(ledger, con, tables, month)
    check_contribution(ledger, tables, month)
    check_distribution(ledger, tables, month)
    attainment = check_attainment(ledger, tables, month)
    funnel = check_funnel(ledger, tables, month)
    customers = check_customers(ledger, tables, month)
    below = check_below_target(ledger, tables, month, attainment["region"], r["month_target"])
    outlook = check_next_month(ledger, tables, month) if has_forecast else {"probability": 1.0}
    scores = tables["churn_scores"]
    high = float(scores.loc[scores["tier"] == "high", "revenue_at_risk"].sum())
    problems = expected_problems(r, attainment, funnel, customers, below, outlook, high)
    items = find_section(report, "problems")["items"]
    assert [i["rule"] for i in items] == [p[0] for p in problems]
    for index, (_, observed, threshold) in enumerate(problems):
        ledger.problem(index, observed, threshold)
    assert ledger.unchecked() == []


def test_the_chinese_report_holds_the_same_numbers(synthetic_config):
    en = build_monthly_report(synthetic_config, "2026-10")
    zh = build_monthly_report(synthetic_config, "2026-10", lang="zh")
    assert zh.files["json"].endswith("monthly-2026-10.zh.json")
    a = json.loads(Path(en.files["json"]).read_text(encoding="utf-8"))
    b = json.loads(Path(zh.files["json"]).read_text(encoding="utf-8"))

    def numbers(node):
        if isinstance(node, bool):
            return []
        if isinstance(node, int | float):
            return [node]
        if isinstance(node, dict):
            return [x for k in sorted(node) for x in numbers(node[k])]
        if isinstance(node, list):
            return [x for v in node for x in numbers(v)]
        return []

    # Same numbers; DuckDB's parallel sums may differ in the last bit between two builds.
    assert numbers(a["sections"]) == pytest.approx(numbers(b["sections"]), rel=1e-12, abs=1e-9)
    assert len(numbers(a["sections"])) > 500
    assert b["title"] == "2026年10月销售月报"
