"""Orchestration of ``forecast report monthly|risk``: query the warehouse, build, write files.

The SQL lives in :mod:`forecast.io.report_queries` and :mod:`forecast.io.report_reads`, the
builders in :mod:`forecast.reports`, the renderers in :mod:`forecast.reports.render`, and the
files are written by :mod:`forecast.io.report_files`. A section whose tables are missing is
omitted with a note; nothing here fails for lack of optional data. Run by ``forecast run``, a
report is told which of its inputs a step could not make on the data (``missing``), and the
sections that show them say so and why. The risk report's frames are read by
:mod:`forecast.pipeline.reports_risk`.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Mapping
from pathlib import Path

import pandas as pd

from forecast.config import Config
from forecast.errors import ValidationError
from forecast.io import catalog, warehouse
from forecast.io import report_queries as q
from forecast.io import report_reads as reads
from forecast.io.catalog import (
    CHURN_SCORES,
    CUSTOMER_SNAPSHOTS,
    CUSTOMERS,
    OPPORTUNITIES,
    ORDERS,
    REVENUE_BACKTEST,
    REVENUE_FORECAST_PERIODS,
    TARGETS,
    TARGETS_PLAN,
)
from forecast.io.report_files import write_report_files
from forecast.io.report_reads import Warehouse
from forecast.pipeline.reports_risk import read_risk_inputs
from forecast.pipeline.results import ReportResult
from forecast.progress import ProgressCallback, Steps
from forecast.reports.document import metric_values
from forecast.reports.i18n import Locale
from forecast.reports.inputs import MonthlyInputs, ReportOptions, RiskInputs
from forecast.reports.missing import missing_notes
from forecast.reports.monthly import CONTRIBUTION_KEYS, build_monthly
from forecast.reports.monthly_org import BELOW_TARGET_KEYS
from forecast.reports.periods import MonthWindow, default_month, parse_month
from forecast.reports.render import render_report
from forecast.reports.risk import build_risk
from forecast.schemas import TARGET_KEYS

# The section of each report an optional input feeds, and what its note calls the input.
MONTHLY_SECTIONS = {REVENUE_FORECAST_PERIODS.name: ("next_month", "forecast"),
                    CHURN_SCORES.name: ("risk", "scores"),
                    TARGETS_PLAN.name: ("plan", "plan")}
RISK_SECTIONS = {REVENUE_FORECAST_PERIODS.name: ("downside", "forecast"),
                 REVENUE_BACKTEST.name: ("backtest", "backtest"),
                 CUSTOMER_SNAPSHOTS.name: ("drift", "snapshots")}
# Input name -> (the step that could not make it on this run, why).
Missing = Mapping[str, tuple[str, str]]


def report_options(config: Config, lang: str | None = None) -> ReportOptions:
    """The builders' options from ``config.reports`` (``lang`` overrides the config's)."""
    r = config.reports
    locale = Locale(lang or r.lang, r.currency, r.currency_unit)
    return ReportOptions(locale=locale, rules=r.rules, top_n=r.top_n,
                         horizon_days=config.churn.horizon_days, company=r.company,
                         key_share=r.key_account_top_share)


def month_window(wh: Warehouse, workspace: Path, month: str | None) -> MonthWindow:
    """The report month (default: the last month the data cover completely).

    Raises:
        ConfigError: the month is not YYYY-MM.
        ValidationError: the orders have nothing in that month.
    """
    first, last = reads.orders_span(wh, workspace)
    last = catalog.orders_through(wh.con) or last  # monthly figures cover their last month
    start = parse_month(month) if month else default_month(last)
    window = MonthWindow(start, last)
    if window.end <= first or start > last:
        raise ValidationError(
            f"no orders in {window.label}: the orders run from {first} to {last}; "
            f"pick a month in that range with --month YYYY-MM")
    return window


def _key_rule(wh: Warehouse, config: Config, w: MonthWindow) -> tuple[str, q.Query]:
    """The key-account rule in force and the SQL of the key customers."""
    r = config.reports
    if reads.key_account_tiers(wh):
        return "tiers", q.key_accounts_sql(w, "tiers", tiers_column="value_tier")
    segments = tuple(r.key_account_segments)
    if segments and wh.filled(ORDERS, "segment") and reads.segment_orders(
            wh, segments, w.trailing_start, w.end):
        return "segment", q.key_accounts_sql(w, "segment", segments=segments)
    return "top_share", q.key_accounts_sql(w, "top_share", top_share=r.key_account_top_share)


def _sales_frames(wh: Warehouse, config: Config, w: MonthWindow) -> dict:
    """Totals, contribution per key and the customer distribution."""
    monthly = wh.frame(q.monthly_totals_sql(w.end))
    counts = wh.frame(q.month_counts_sql(w)).assign(period=lambda f: f["period"].astype(str))
    monthly = monthly.assign(key=monthly["period"].astype(str).str[:10]).merge(
        counts.rename(columns={"period": "key"}), on="key", how="left").drop(columns="key")
    out: dict = {"monthly": monthly, "notes": {}}
    out["dimensions"] = {key: wh.frame(q.dimension_sql(key, w)) for key in CONTRIBUTION_KEYS
                         if wh.filled(ORDERS, key)}
    if wh.filled(ORDERS, "customer_id"):
        rule, keys = _key_rule(wh, config, w)
        channels = wh.filled(ORDERS, "channel")
        out["distribution"] = wh.frame(q.distribution_sql(w, keys, channels))
        out["key_rule"] = rule
    return out


def _names_available(wh: Warehouse) -> bool:
    return wh.filled(CUSTOMERS, "name")


def _target_frames(wh: Warehouse, w: MonthWindow, top_n: int) -> dict:
    """Targets, attainment per organisation key, and the drivers of units below target."""
    if not wh.exists(TARGETS):
        return {}
    out: dict = {"target_totals": wh.frame(q.target_totals_sql())}
    out["attainment"] = {key: wh.frame(q.attainment_sql(key, w)) for key in TARGET_KEYS
                         if wh.filled(TARGETS, key) or wh.filled(ORDERS, key)}
    out["change_items"], out["declining_customers"] = {}, {}
    quantities = wh.filled(ORDERS, "quantity")
    for key in BELOW_TARGET_KEYS:
        if not wh.filled(ORDERS, key):
            continue
        item = "product_id"
        if key != "product_line" and wh.filled(ORDERS, "product_line"):
            item = "product_line"
        if quantities and wh.filled(ORDERS, item):
            out["change_items"][key] = wh.frame(q.change_items_sql(key, item, w))
        if wh.filled(ORDERS, "customer_id"):
            out["declining_customers"][key] = wh.frame(q.declining_customers_sql(
                key, w, top_n, _names_available(wh)))
    return out


def _funnel_frames(wh: Warehouse, w: MonthWindow) -> dict:
    if not wh.exists(OPPORTUNITIES):
        return {}
    out = {"funnel": wh.frame(q.funnel_sql(w)),
           "open_pipeline": wh.frame(q.open_pipeline_sql(w.observed_end))}
    conversion = reads.stage_conversion(wh)
    if conversion is not None:
        out.update(funnel_conversion=conversion)
    return out


def _customer_frames(wh: Warehouse, config: Config, w: MonthWindow) -> dict:
    if not wh.filled(ORDERS, "customer_id"):
        return {}
    top_n, horizon = config.reports.top_n, config.churn.horizon_days
    names = _names_available(wh)
    out = {"new_customers": wh.frame(q.new_customers_sql(w, names, top_n)),
           "lost_customers": wh.frame(q.lost_customers_sql(w, horizon, names, top_n)),
           **reads.risk_frames(wh, top_n, names)}
    if "risk_tiers" in out:
        out["lost_reasons"] = reads.lost_reasons(wh, w, horizon)
    return out


def _outlook_frames(wh: Warehouse, w: MonthWindow) -> dict:
    nxt = reads.month_forecast(wh, w.next_month)
    if nxt is None:
        return {}
    trend = reads.total_month_forecast(wh)
    return {"forecast_next": nxt, "forecast_trend": trend,
            "targets_next": reads.targets_by_grain(wh, [w.next_month]),
            "plan_next": reads.plan_rows(wh, w.next_month),
            "plan_targets": _plan_targets(wh, trend, w)}


def _plan_targets(wh: Warehouse, trend: pd.DataFrame | None, w: MonthWindow
                  ) -> pd.DataFrame | None:
    """``period, target``: the targets plan's company target of each forecast month after the
    report month (at most 12), for the trend chart's target line."""
    if trend is None or trend.empty:
        return None
    months = sorted({d for d in pd.to_datetime(trend["period"]).dt.date if d > w.start})[:12]
    rows = []
    for month in months:
        plan = reads.plan_rows(wh, month)
        if plan is None:
            return None
        company = plan[plan["level"] == "company"]
        if len(company):
            rows.append({"period": month, "target": float(company["target"].iloc[0])})
    return pd.DataFrame(rows) if rows else None


def read_monthly_inputs(wh: Warehouse, config: Config, month: str | None) -> MonthlyInputs:
    """Every frame of the monthly report from the warehouse."""
    w = month_window(wh, config.workspace, month)
    parts = {**_sales_frames(wh, config, w),
             **_target_frames(wh, w, config.reports.top_n),
             **_funnel_frames(wh, w), **_customer_frames(wh, config, w),
             **_outlook_frames(wh, w)}
    return MonthlyInputs(window=w, **parts)


def _write(report: dict, config: Config, formats: list[str] | None, out_dir: Path | None,
           stem: str) -> dict[str, str]:
    folder = Path(out_dir) if out_dir else config.workspace / config.reports.output_dir
    chosen = list(formats or config.reports.formats)
    paths = write_report_files(render_report(report, chosen), folder, stem)
    return {fmt: str(p) for fmt, p in paths.items()}


def _summary(report: dict, files: dict[str, str], started: float) -> ReportResult:
    sections = {s["key"]: s["status"] for s in report["sections"]}
    headline = {}
    for s in report["sections"]:
        if s["status"] == "ok" and s["key"] in ("revenue", "at_risk", "concentration"):
            headline.update(metric_values(s))
    problems = next(s for s in report["sections"] if s["key"] == "problems")["items"]
    return ReportResult(
        report=report["report"], month=report.get("month"), lang=report["lang"],
        data_through=report["data_through"], sections=sections,
        omitted=[s["key"] for s in report["sections"] if s["status"] == "omitted"],
        headline=headline, problems=[p["finding"] for p in problems],
        files=files, seconds=round(time.perf_counter() - started, 3))


def _with_notes(inputs: MonthlyInputs | RiskInputs, missing: Missing | None,
                sections: Mapping[str, tuple[str, str]], options: ReportOptions
                ) -> MonthlyInputs | RiskInputs:
    """The inputs with a note in each section a missing input feeds (see :data:`Missing`)."""
    if not missing:
        return inputs
    notes = missing_notes(missing, sections, options.locale)
    return dataclasses.replace(inputs, notes={**inputs.notes, **notes})


def build_monthly_report(config: Config, month: str | None = None, lang: str | None = None,
                         formats: list[str] | None = None, out_dir: Path | None = None,
                         missing: Missing | None = None,
                         progress: ProgressCallback | None = None) -> ReportResult:
    """Build the monthly sales report of ``month`` (YYYY-MM) and write its files.

    Args:
        config: the job config (workspace, ``reports`` settings, churn horizon).
        month: the report month; default the last month the orders cover completely.
        lang: ``en`` or ``zh``; default ``reports.lang``.
        formats: any of html, md, json, xlsx; default ``reports.formats``.
        out_dir: folder for the files; default ``<workspace>/<reports.output_dir>``.
        missing: inputs a step of ``forecast run`` could not make on the data: input name ->
            (step, why); the sections that show them say so.
        progress: called as ``(done, total, what)`` as reading, building and writing start.

    Returns:
        A summary: month, sections and their status, headline numbers, problems, file paths.
    """
    started = time.perf_counter()
    options = report_options(config, lang)
    steps = Steps(3, progress)
    steps.start("reading the warehouse")
    with warehouse.connect(config.workspace, read_only=True) as con:
        inputs = read_monthly_inputs(Warehouse(con), config, month)
    steps.start("building the sections and charts")
    report = build_monthly(_with_notes(inputs, missing, MONTHLY_SECTIONS, options), options)
    suffix = "" if options.locale.lang == "en" else f".{options.locale.lang}"
    steps.start("writing the files")
    files = _write(report, config, formats, out_dir, f"monthly-{report['month']}{suffix}")
    steps.finish()
    return _summary(report, files, started)


def build_risk_report(config: Config, lang: str | None = None, formats: list[str] | None = None,
                      out_dir: Path | None = None, missing: Missing | None = None,
                      progress: ProgressCallback | None = None) -> ReportResult:
    """Build the risk report as of the data's last day and write its files.

    Args:
        config: the job config.
        lang: ``en`` or ``zh``; default ``reports.lang``.
        formats: any of html, md, json, xlsx; default ``reports.formats``.
        out_dir: folder for the files; default ``<workspace>/<reports.output_dir>``.
        missing, progress: as for :func:`build_monthly_report`.

    Returns:
        A summary: sections and their status, headline numbers, problems, file paths.
    """
    started = time.perf_counter()
    options = report_options(config, lang)
    steps = Steps(3, progress)
    steps.start("reading the warehouse")
    with warehouse.connect(config.workspace, read_only=True) as con:
        inputs = read_risk_inputs(Warehouse(con), config)
    steps.start("building the sections and charts")
    report = build_risk(_with_notes(inputs, missing, RISK_SECTIONS, options), options)
    suffix = "" if options.locale.lang == "en" else f".{options.locale.lang}"
    steps.start("writing the files")
    files = _write(report, config, formats, out_dir, f"risk-{report['data_through']}{suffix}")
    steps.finish()
    return _summary(report, files, started)
