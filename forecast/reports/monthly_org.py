"""Monthly report sections about the sales organisation: attainment, funnel, units below target."""

from __future__ import annotations

import pandas as pd

from forecast.reports import document as doc
from forecast.reports.analysis import decompose_change, main_driver
from forecast.reports.coverage import month_has_orders, no_orders_note
from forecast.reports.i18n import Locale
from forecast.reports.inputs import MonthlyInputs, ReportOptions
from forecast.schemas import FUNNEL_STAGES, TARGET_KEYS

BELOW_TARGET_KEYS = ("region", "product_line")
MAX_BARS = 30


def rank_attainment(frame: pd.DataFrame) -> pd.DataFrame:
    """Units with a month target, ranked by attainment (1 = best).

    Args:
        frame: ``unit, target_month, actual_month, target_ytd, actual_ytd``.

    Returns:
        The units with a positive month target, with ``attainment = actual / target``,
        ``gap = actual - target``, ``attainment_ytd`` and ``rank`` added, best first.
    """
    out = frame[frame["target_month"].fillna(0) > 0].copy()
    out["attainment"] = out["actual_month"] / out["target_month"]
    out["gap"] = out["actual_month"] - out["target_month"]
    out["attainment_ytd"] = out["actual_ytd"] / out["target_ytd"].where(out["target_ytd"] > 0)
    out = out.sort_values(["attainment", "unit"], ascending=[False, True], kind="stable")
    out["rank"] = range(1, len(out) + 1)
    return out.reset_index(drop=True)


def _cap(frame: pd.DataFrame, top_n: int) -> tuple[pd.DataFrame, bool]:
    """The first and last ``top_n`` rows when the frame is longer than twice that."""
    if len(frame) <= 2 * top_n:
        return frame, False
    return pd.concat([frame.head(top_n), frame.tail(top_n)]), True


def attainment_section(inputs: MonthlyInputs, options: ReportOptions) -> dict:
    """Target attainment of regions, teams and reps for the month and year to date, ranked."""
    loc = options.locale
    if inputs.target_totals is None or not inputs.attainment:
        return doc.omitted("attainment", loc.t("s_attainment"),
                           inputs.notes.get("attainment", loc.t("no_targets_table")))
    tables, charts, notes, metrics = [], [], [], []
    for key in TARGET_KEYS:
        frame = inputs.attainment.get(key)
        if frame is None or frame.empty:
            continue
        ranked = rank_attainment(frame)
        if ranked.empty:
            tables.append(_revenue_ranking(frame, loc, key, options.top_n))
            notes.append(loc.t("no_level_targets", level=loc.t(f"level_{key}")))
            continue
        known = ranked["attainment"].notna()
        below = int((ranked["attainment"] < options.rules.unit_attainment).sum())
        metrics.append(doc.metric(
            f"below_{key}", loc.t("m_units_below", level=loc.t(f"level_{key}"),
                                    pct=loc.pct(options.rules.unit_attainment, digits=0)),
            below if known.any() else None, "count"))
        shown, capped = _cap(ranked, options.top_n)
        note = loc.t("capped", n=options.top_n, total=len(ranked)) if capped else ""
        tables.append(doc.table(key, loc.t(f"level_{key}"), _attainment_columns(loc, key),
                                shown, note))
        if len(ranked) <= MAX_BARS:
            charts = [_bars(ranked, loc, key)]
    if not tables:
        return doc.omitted("attainment", loc.t("s_attainment"), loc.t("no_month_targets"))
    if not month_has_orders(inputs):
        notes.append(loc.t("attainment_no_orders", month=loc.month(inputs.window.start)))
    return doc.section("attainment", loc.t("s_attainment"), metrics=metrics, tables=tables,
                       charts=charts[-1:], note=" ".join(notes))


def _attainment_columns(loc: Locale, key: str) -> list[dict]:
    return [
        doc.column("rank", loc.t("rank"), "count"),
        doc.column("unit", loc.t(f"level_{key}"), "text"),
        doc.column("target_month", loc.t("target"), "money"),
        doc.column("actual_month", loc.t("actual"), "money"),
        doc.column("attainment", loc.t("attainment"), "pct"),
        doc.column("gap", loc.t("gap"), "signed_money"),
        doc.column("target_ytd", loc.t("target_ytd"), "money"),
        doc.column("actual_ytd", loc.t("actual_ytd"), "money"),
        doc.column("attainment_ytd", loc.t("attainment_ytd"), "pct"),
    ]


def _revenue_ranking(frame: pd.DataFrame, loc: Locale, key: str, top_n: int) -> dict:
    ranked = frame.sort_values(["actual_month", "unit"], ascending=[False, True], kind="stable")
    ranked = ranked.assign(rank=range(1, len(ranked) + 1), change_pct=(
        ranked["actual_month"] / ranked["actual_previous"].where(ranked["actual_previous"] > 0)
        - 1))
    shown, capped = _cap(ranked, top_n)
    note = loc.t("capped", n=top_n, total=len(ranked)) if capped else ""
    return doc.table(key, loc.t("revenue_ranking", level=loc.t(f"level_{key}")), [
        doc.column("rank", loc.t("rank"), "count"),
        doc.column("unit", loc.t(f"level_{key}"), "text"),
        doc.column("actual_month", loc.t("revenue"), "money"),
        doc.column("actual_previous", loc.t("last_month"), "money"),
        doc.column("change_pct", loc.t("change_pct"), "signed_pct"),
    ], shown, note)


def _bars(ranked: pd.DataFrame, loc: Locale, key: str) -> dict:
    return {"kind": "bars", "key": f"attainment_{key}",
            "title": loc.t("chart_attainment", level=loc.t(f"level_{key}")),
            "items": [{"label": str(r["unit"]), "value": doc.clean(r["attainment"])}
                      for _, r in ranked.iterrows() if pd.notna(r["attainment"])],
            "reference": 1.0, "value_kind": "pct"}


def funnel_section(inputs: MonthlyInputs, loc: Locale) -> dict:
    """Opportunities that entered each stage in the month, win rate, and the open pipeline."""
    if inputs.funnel is None:
        return doc.omitted("funnel", loc.t("s_funnel"),
                           inputs.notes.get("funnel", loc.t("no_opportunities")))
    order = {s: i for i, s in enumerate(FUNNEL_STAGES)}
    f = inputs.funnel.copy()
    f = f.assign(order=f["stage"].map(order).fillna(len(order))).sort_values(["order", "stage"])
    f["change_pct"] = f["entered"] / f["entered_previous"].where(f["entered_previous"] > 0) - 1
    by_stage = f.set_index("stage")

    def entered(stage: str, column: str = "entered") -> float:
        return float(by_stage[column].get(stage, 0) or 0)

    won, lost = entered("won"), entered("lost")
    won_prev, lost_prev = entered("won", "entered_previous"), entered("lost", "entered_previous")
    win_rate = doc.ratio(won, won + lost)
    win_rate_prev = doc.ratio(won_prev, won_prev + lost_prev)
    pipe = inputs.open_pipeline if inputs.open_pipeline is not None else pd.DataFrame(
        {"opportunities": [], "amount": []})
    values = [
        ("created", entered(FUNNEL_STAGES[0]), "count"), ("won", won, "count"),
        ("won_amount", entered("won", "amount"), "money"), ("lost", lost, "count"),
        ("win_rate", win_rate, "pct"), ("win_rate_previous", win_rate_prev, "pct"),
        ("win_rate_change", None if win_rate is None or win_rate_prev is None
         else win_rate - win_rate_prev, "points"),
        ("open_opportunities", float(pipe["opportunities"].sum()), "count"),
        ("open_amount", float(pipe["amount"].astype(float).sum(skipna=False)), "money"),
    ]
    tables = []
    if inputs.funnel_conversion is not None and len(inputs.funnel_conversion):
        weighted, table = _conversion(inputs.funnel_conversion, pipe, loc)
        values.append(("weighted_open_amount", weighted, "money"))
        tables.append(table)
    metrics = [doc.metric(k, loc.t(f"m_{k}"), v, kind) for k, v, kind in values]
    table = doc.table("stages", loc.t("funnel_stages"), [
        doc.column("stage", loc.t("stage"), "member"),
        doc.column("entered", loc.t("entered"), "count"),
        doc.column("amount", loc.t("amount"), "money"),
        doc.column("entered_previous", loc.t("entered_previous"), "count"),
        doc.column("change_pct", loc.t("change_pct"), "signed_pct"),
    ], f)
    chart = {"kind": "funnel", "key": "funnel", "title": loc.t("chart_funnel"),
             "items": [{"label": loc.member(s), "value": entered(s)}
                       for s in FUNNEL_STAGES if s != "lost"]}
    return doc.section("funnel", loc.t("s_funnel"), metrics=metrics, tables=[table, *tables],
                       charts=[chart], note=loc.t("funnel_note"))


def _conversion(conversion: pd.DataFrame, pipe: pd.DataFrame, loc: Locale
                ) -> tuple[float, dict]:
    """The open pipeline weighted by each stage's P(win), and the conversion table it uses."""
    p_win = conversion.set_index("stage")["p_win"]
    weighted = float(sum(a * p_win.get(s, 0.0) for s, a in zip(pipe.get("stage", []),
                                                              pipe["amount"], strict=True)
                         if pd.notna(p_win.get(s))))
    as_of = conversion["as_of"].dropna().max() if "as_of" in conversion else None
    table = doc.table("conversion", loc.t("funnel_stage_conversion"), [
        doc.column("stage", loc.t("stage"), "member"),
        doc.column("reached", loc.t("reached"), "count"),
        doc.column("conversion", loc.t("conversion"), "pct"),
        doc.column("median_days", loc.t("median_days"), "days"),
        doc.column("p_win", loc.t("p_win"), "pct"),
    ], conversion, loc.t("conversion_note", day=loc.day(as_of)))
    return weighted, table


def unit_targets(inputs: MonthlyInputs, key: str) -> tuple[pd.DataFrame | None, str]:
    """``unit, target, actual`` of a key's units for the month, and where the targets come from.

    Regions (and teams) use the targets table. Product lines, which have no targets of their
    own, get an implied target: the company's month target x the line's share of revenue in the
    same month last year.
    """
    if key in inputs.attainment:
        f = inputs.attainment[key]
        f = f[f["target_month"].fillna(0) > 0]
        return f.rename(columns={"target_month": "target", "actual_month": "actual"})[
            ["unit", "target", "actual"]], "targets"
    dims, totals = inputs.dimensions.get(key), inputs.target_totals
    if dims is None or totals is None or dims["year_ago"].clip(lower=0).sum() <= 0:
        return None, ""
    month = totals.loc[pd.to_datetime(totals["period"]).dt.date == inputs.window.start, "target"]
    if month.empty:
        return None, ""
    actual = dims.rename(columns={"value": "unit", "current": "actual"})
    share = dims["year_ago"].clip(lower=0) / dims["year_ago"].clip(lower=0).sum()
    return actual.assign(target=float(month.sum()) * share)[["unit", "target", "actual"]], \
        "implied"


def below_target_section(inputs: MonthlyInputs, options: ReportOptions) -> dict:
    """Regions and product lines below their month target, what drove the change vs the same
    month last year (volume, price, mix, other) and which customers fell most."""
    loc = options.locale
    if not month_has_orders(inputs):
        return doc.omitted("below_target", loc.t("s_below_target"), no_orders_note(inputs, loc))
    tables, paragraphs, notes = [], [], []
    for key in BELOW_TARGET_KEYS:
        targets, source = unit_targets(inputs, key)
        if targets is None:
            continue
        notes.append(loc.t(f"target_source_{source}", level=loc.t(f"level_{key}")))
        below = targets[targets["actual"] < targets["target"]].copy()
        if below.empty:
            paragraphs.append(loc.t("none_below", level=loc.t(f"level_{key}")))
            continue
        below["gap"] = below["actual"] - below["target"]
        below["attainment"] = below["actual"] / below["target"]
        tables.append(_drivers_table(inputs, loc, key, below))
        customers = inputs.declining_customers.get(key)
        if customers is not None and not customers.empty:
            tables.append(doc.table(f"{key}_customers", loc.t(
                "declining_customers", level=loc.t(f"level_{key}")), [
                doc.column("unit", loc.t(f"level_{key}"), "member"),
                doc.column("customer_id", loc.t("customer"), "text"),
                doc.column("name", loc.t("name"), "text"),
                doc.column("revenue_0", loc.t("year_ago"), "money"),
                doc.column("revenue_1", loc.t("this_month"), "money"),
                doc.column("change", loc.t("change"), "signed_money"),
            ], customers[customers["unit"].isin(below["unit"])]))
    if not notes:
        return doc.omitted("below_target", loc.t("s_below_target"), loc.t("no_targets_table"))
    return doc.section("below_target", loc.t("s_below_target"), tables=tables,
                       paragraphs=paragraphs, note=" ".join([*notes, loc.t("pvm_note")]))


def _drivers_table(inputs: MonthlyInputs, loc: Locale, key: str, below: pd.DataFrame) -> dict:
    columns = [
        doc.column("unit", loc.t(f"level_{key}"), "member"),
        doc.column("target", loc.t("target"), "money"),
        doc.column("actual", loc.t("actual"), "money"),
        doc.column("gap", loc.t("gap"), "signed_money"),
        doc.column("attainment", loc.t("attainment"), "pct"),
    ]
    items = inputs.change_items.get(key)
    if items is not None and not items.empty:
        effects = decompose_change(items[items["unit"].isin(below["unit"])])
        below = below.merge(effects, on="unit", how="left")
        drivers = [main_driver(r) if pd.notna(r["change"]) else None
                   for _, r in below.iterrows()]
        below["driver"] = [loc.t(f"effect_{d}") if d else None for d in drivers]
        columns += [doc.column("revenue_0", loc.t("year_ago"), "money"),
                    doc.column("change", loc.t("change_vs_year_ago"), "signed_money")]
        columns += [doc.column(k, loc.t(f"effect_{k}"), "signed_money")
                    for k in ("volume", "price", "mix", "other")]
        columns.append(doc.column("driver", loc.t("main_driver"), "text"))
    below = below.sort_values("gap", kind="stable")
    return doc.table(key, loc.t("below_target_units", level=loc.t(f"level_{key}")),
                     columns, below)
