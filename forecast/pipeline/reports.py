"""Orchestration of ``forecast report monthly|risk``: query the warehouse, build, write files.

The SQL lives in :mod:`forecast.reports.queries`, the builders in :mod:`forecast.reports`, and
the files are written by :mod:`forecast.io.report_files`. A section whose tables are missing is
omitted with a note; nothing here fails for lack of optional data.
"""

from __future__ import annotations

import time
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

from forecast.config import Config
from forecast.errors import ValidationError, WorkspaceError

if TYPE_CHECKING:
    import duckdb
    import pandas as pd

    from forecast.reports.inputs import MonthlyInputs
    from forecast.reports.periods import MonthWindow

FORECAST_TABLE = "revenue_forecast_periods"
ORGANISATION_LEVELS = ("region", "team", "rep_id")


def report_options(config: Config, lang: str | None = None):
    """The builders' options from ``config.reports`` (``lang`` overrides the config's)."""
    from forecast.reports.i18n import Locale
    from forecast.reports.inputs import ReportOptions

    r = config.reports
    locale = Locale(lang or r.lang, r.currency, r.currency_unit)
    return ReportOptions(locale=locale, rules=r.rules, top_n=r.top_n,
                         horizon_days=config.churn.horizon_days, company=r.company,
                         key_share=r.key_account_top_share)


class Warehouse:
    """A read connection with what the report queries need to know about the warehouse, looked
    up once: which tables exist, their columns, and which columns hold any value."""

    def __init__(self, con: duckdb.DuckDBPyConnection):
        self.con = con
        self.columns: dict[str, list[str]] = {}
        for table, column in con.execute(
                "SELECT table_name, column_name FROM information_schema.columns "
                "WHERE table_catalog = current_database() AND table_schema = 'main' "
                "ORDER BY table_name, ordinal_position").fetchall():
            self.columns.setdefault(table, []).append(column)
        self._filled: dict[str, set[str]] = {}

    def exists(self, table: str) -> bool:
        """Whether the table (or view) is there."""
        return table in self.columns

    def filled(self, table: str, column: str) -> bool:
        """Whether ``table`` has ``column`` with at least one non-null value."""
        from forecast.io.warehouse import quote

        if column not in self.columns.get(table, []):
            return False
        if table not in self._filled:
            names = self.columns[table]
            counts = self.con.execute(
                "SELECT " + ", ".join(f"count({quote(c)})" for c in names)
                + f" FROM {quote(table)}").fetchone()
            self._filled[table] = {c for c, n in zip(names, counts, strict=True) if n}
        return column in self._filled[table]

    def frame(self, sql: str) -> pd.DataFrame:
        """Run a query into a frame."""
        return self.con.execute(sql).df()


def orders_span(wh: Warehouse, workspace: Path) -> tuple[date, date]:
    """First and last order day.

    Raises:
        WorkspaceError: the warehouse has no orders.
    """

    if not wh.exists("orders"):
        raise WorkspaceError(f"{workspace}: the warehouse has no orders table; run "
                             "`forecast data ingest --config ...` first")
    first, last = wh.con.execute("SELECT min(order_date), max(order_date) FROM orders").fetchone()
    if first is None:
        raise WorkspaceError(f"{workspace}: the orders table is empty")
    return first, last


def month_window(wh: Warehouse, workspace: Path, month: str | None
                 ) -> MonthWindow:
    """The report month (default: the last month the data cover completely).

    Raises:
        ConfigError: the month is not YYYY-MM.
        ValidationError: the orders have nothing in that month.
    """
    from forecast.reports.periods import MonthWindow, default_month, parse_month

    first, last = orders_span(wh, workspace)
    start = parse_month(month) if month else default_month(last)
    window = MonthWindow(start, last)
    if window.end <= first or start > last:
        raise ValidationError(
            f"no orders in {window.label}: the orders run from {first} to {last}; "
            f"pick a month in that range with --month YYYY-MM")
    return window


def _key_rule(wh: Warehouse, config: Config, w: MonthWindow) -> tuple[str, str]:
    """The key-account rule in force and the SQL of the key customers."""
    from forecast.io.warehouse import literal
    from forecast.reports import queries as q

    r = config.reports
    if wh.filled("customer_tiers", "value_tier") and wh.con.execute(
            "SELECT count(*) FROM customer_tiers WHERE value_tier = 'key account'").fetchone()[0]:
        return "tiers", q.key_accounts_sql(w, "tiers", tiers_column="value_tier")
    segments = tuple(r.key_account_segments)
    if segments and wh.filled("orders", "segment"):
        values = ", ".join(literal(s) for s in segments)
        hit = wh.con.execute(f"SELECT count(*) FROM orders WHERE segment IN ({values}) AND "
                          f"{q.between(w.trailing_start, w.end)}").fetchone()[0]
        if hit:
            return "segment", q.key_accounts_sql(w, "segment", segments=segments)
    return "top_share", q.key_accounts_sql(w, "top_share", top_share=r.key_account_top_share)


def _sales_frames(wh: Warehouse, config: Config, w: MonthWindow) -> dict:
    """Totals, contribution levels and the customer distribution."""
    from forecast.reports import queries as q
    from forecast.reports.monthly import CONTRIBUTION_LEVELS

    monthly = wh.frame(q.monthly_totals_sql(w.end))
    counts = wh.frame(q.month_counts_sql(w)).assign(period=lambda f: f["period"].astype(str))
    monthly = monthly.assign(key=monthly["period"].astype(str).str[:10]).merge(
        counts.rename(columns={"period": "key"}), on="key", how="left").drop(columns="key")
    out: dict = {"monthly": monthly, "notes": {}}
    out["dimensions"] = {lv: wh.frame(q.dimension_sql(lv, w)) for lv in CONTRIBUTION_LEVELS
                         if wh.filled("orders", lv)}
    if wh.filled("orders", "customer_id"):
        rule, keys = _key_rule(wh, config, w)
        channels = wh.filled("orders", "channel")
        out["distribution"] = wh.frame(q.distribution_sql(w, keys, channels))
        out["key_rule"] = rule
    return out


def _names_available(wh: Warehouse) -> bool:
    return wh.filled("customers", "name")


def _target_frames(wh: Warehouse, w: MonthWindow, top_n: int) -> dict:
    """Targets, attainment per organisation level, and the drivers of units below target."""
    from forecast.reports import queries as q
    from forecast.reports.monthly_org import BELOW_TARGET_LEVELS

    if not wh.exists("targets"):
        return {}
    out: dict = {"target_totals": wh.frame(q.target_totals_sql())}
    out["attainment"] = {lv: wh.frame(q.attainment_sql(lv, w)) for lv in ORGANISATION_LEVELS
                         if wh.filled("targets", lv) or wh.filled("orders", lv)}
    out["change_items"], out["declining_customers"] = {}, {}
    quantities = wh.filled("orders", "quantity")
    for level in BELOW_TARGET_LEVELS:
        if not wh.filled("orders", level):
            continue
        item = "product_id"
        if level != "product_line" and wh.filled("orders", "product_line"):
            item = "product_line"
        if quantities and wh.filled("orders", item):
            out["change_items"][level] = wh.frame(q.change_items_sql(level, item, w))
        if wh.filled("orders", "customer_id"):
            out["declining_customers"][level] = wh.frame(q.declining_customers_sql(
                level, w, top_n, _names_available(wh)))
    return out


def _funnel_frames(wh: Warehouse, w: MonthWindow) -> dict:
    from forecast.reports import queries as q

    if not wh.exists("opportunities"):
        return {}
    out = {"funnel": wh.frame(q.funnel_sql(w)),
           "open_pipeline": wh.frame(q.open_pipeline_sql(w.observed_end))}
    needed = ["stage", "reached", "conversion", "median_days", "p_win", "as_of"]
    if set(needed) <= set(wh.columns.get("funnel_conversion", [])):
        out["funnel_conversion"] = wh.frame(
            f"SELECT {', '.join(needed)} FROM funnel_conversion ORDER BY stage_order")
    return out


def risk_frames(wh: Warehouse, top_n: int) -> dict:
    """Churn-score frames shared by both reports (empty when there are no scores)."""
    from forecast.reports import queries as q

    if not wh.exists("churn_scores") or not wh.con.execute(
            "SELECT count(*) FROM churn_scores").fetchone()[0]:
        return {}
    customers = _names_available(wh)
    return {
        "risk_tiers": wh.frame(q.risk_tiers_sql()),
        "at_risk": wh.frame(q.at_risk_customers_sql(customers, ("high", "medium"), top_n)),
        "at_risk_reasons": wh.frame(q.at_risk_customers_sql(customers, ("high", "medium"),
                                                              None))[
            ["reason_1", "reason_2", "reason_3"]],
    }


def _customer_frames(wh: Warehouse, config: Config, w: MonthWindow) -> dict:
    from forecast.reports import queries as q

    if not wh.filled("orders", "customer_id"):
        return {}
    top_n, horizon = config.reports.top_n, config.churn.horizon_days
    names = _names_available(wh)
    out = {"new_customers": wh.frame(q.new_customers_sql(w, names, top_n)),
           "lost_customers": wh.frame(q.lost_customers_sql(w, horizon, names, top_n)),
           **risk_frames(wh, top_n)}
    if "risk_tiers" in out:
        out["lost_reasons"] = wh.frame(q.lost_reasons_sql(w, horizon))
    return out


def forecast_rows(wh: Warehouse, where: str) -> pd.DataFrame | None:
    """Rows of ``revenue_forecast_periods`` matching ``where``; None without the table."""

    if not wh.exists(FORECAST_TABLE):
        return None
    return wh.frame(f"SELECT * FROM {FORECAST_TABLE} WHERE {where} ORDER BY period")


def targets_by_grain(wh: Warehouse, periods: list[date]
                     ) -> dict[tuple[str, ...], pd.DataFrame]:
    """Targets of ``periods`` for the company and each organisation level present."""
    from forecast.reports import queries as q

    if not wh.exists("targets"):
        return {}
    out = {(): wh.frame(q.targets_by_sql([], periods))}
    for level in ("region", "team"):
        if wh.filled("targets", level):
            out[(level,)] = wh.frame(q.targets_by_sql([level], periods))
    return out


def _outlook_frames(wh: Warehouse, w: MonthWindow) -> dict:
    from forecast.reports.queries import day

    nxt = forecast_rows(wh, f"period_type = 'month' AND period = {day(w.next_month)}")
    if nxt is None:
        return {}
    return {"forecast_next": nxt,
            "forecast_trend": forecast_rows(wh, "period_type = 'month' AND grain = 'total'"),
            "targets_next": targets_by_grain(wh, [w.next_month]),
            "plan_next": _plan_rows(wh, w.next_month)}


def _plan_rows(wh: Warehouse, month: date) -> pd.DataFrame | None:
    """Month rows of ``targets_plan`` (from ``forecast targets``) for ``month``."""
    from forecast.reports.queries import day

    if not wh.exists("targets_plan"):
        return None
    needed = {"level", "unit_id", "span", "start", "base", "stretch", "target", "probability"}
    if not needed <= set(wh.columns["targets_plan"]):
        return None
    return wh.frame(f"""
        SELECT level, unit_id AS unit, base, stretch, target, probability FROM targets_plan
        WHERE span = 'month' AND CAST("start" AS DATE) = {day(month)}
        ORDER BY CASE level WHEN 'company' THEN 0 WHEN 'region' THEN 1 WHEN 'team' THEN 2
                 ELSE 3 END, unit_id""")


def read_monthly_inputs(wh: Warehouse, config: Config, month: str | None
                        ) -> MonthlyInputs:
    """Every frame of the monthly report from the warehouse."""
    from forecast.reports.inputs import MonthlyInputs

    w = month_window(wh, config.workspace, month)
    parts = {**_sales_frames(wh, config, w),
             **_target_frames(wh, w, config.reports.top_n),
             **_funnel_frames(wh, w), **_customer_frames(wh, config, w),
             **_outlook_frames(wh, w)}
    return MonthlyInputs(window=w, **parts)


def _write(report: dict, config: Config, formats: list[str] | None, out_dir: Path | None,
           stem: str) -> dict[str, str]:
    from forecast.io.report_files import write_report

    folder = Path(out_dir) if out_dir else config.workspace / config.reports.output_dir
    chosen = list(formats or config.reports.formats)
    paths = write_report(report, chosen, folder, stem)
    return {fmt: str(p) for fmt, p in paths.items()}


def _summary(report: dict, files: dict[str, str], started: float) -> dict:
    from forecast.reports.document import metric_values

    sections = {s["key"]: s["status"] for s in report["sections"]}
    headline = {}
    for s in report["sections"]:
        if s["status"] == "ok" and s["key"] in ("revenue", "at_risk", "concentration"):
            headline.update(metric_values(s))
    problems = next(s for s in report["sections"] if s["key"] == "problems")["items"]
    return {"report": report["report"], "month": report.get("month"), "lang": report["lang"],
            "data_through": report["data_through"], "sections": sections,
            "omitted": [s["key"] for s in report["sections"] if s["status"] == "omitted"],
            "headline": headline, "problems": [p["finding"] for p in problems],
            "files": files, "seconds": round(time.perf_counter() - started, 3)}


def build_monthly_report(config: Config, month: str | None = None, lang: str | None = None,
                         formats: list[str] | None = None, out_dir: Path | None = None) -> dict:
    """Build the monthly sales report of ``month`` (YYYY-MM) and write its files.

    Args:
        config: the job config (workspace, ``reports`` settings, churn horizon).
        month: the report month; default the last month the orders cover completely.
        lang: ``en`` or ``zh``; default ``reports.lang``.
        formats: any of html, md, json, xlsx; default ``reports.formats``.
        out_dir: folder for the files; default ``<workspace>/<reports.output_dir>``.

    Returns:
        A summary: month, sections and their status, headline numbers, problems, file paths.
    """
    from forecast.io import warehouse
    from forecast.reports.monthly import build_monthly

    started = time.perf_counter()
    options = report_options(config, lang)
    with warehouse.connect(config.workspace, read_only=True) as con:
        inputs = read_monthly_inputs(Warehouse(con), config, month)
    report = build_monthly(inputs, options)
    suffix = "" if options.locale.lang == "en" else f".{options.locale.lang}"
    files = _write(report, config, formats, out_dir, f"monthly-{report['month']}{suffix}")
    return _summary(report, files, started)


def build_risk_report(config: Config, lang: str | None = None, formats: list[str] | None = None,
                      out_dir: Path | None = None) -> dict:
    """Build the risk report as of the data's last day and write its files.

    Args:
        config: the job config.
        lang: ``en`` or ``zh``; default ``reports.lang``.
        formats: any of html, md, json, xlsx; default ``reports.formats``.
        out_dir: folder for the files; default ``<workspace>/<reports.output_dir>``.

    Returns:
        A summary: sections and their status, headline numbers, problems, file paths.
    """
    from forecast.io import warehouse
    from forecast.pipeline.reports_risk import read_risk_inputs
    from forecast.reports.risk import build_risk

    started = time.perf_counter()
    options = report_options(config, lang)
    with warehouse.connect(config.workspace, read_only=True) as con:
        inputs = read_risk_inputs(Warehouse(con), config)
    report = build_risk(inputs, options)
    suffix = "" if options.locale.lang == "en" else f".{options.locale.lang}"
    files = _write(report, config, formats, out_dir, f"risk-{report['data_through']}{suffix}")
    return _summary(report, files, started)
