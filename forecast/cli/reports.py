"""The ``forecast report`` commands: the monthly sales report and the risk report."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from forecast.cli.common import (
    Group,
    Progress,
    config_option,
    emit,
    json_option,
    load_config_for,
    workspace_option,
)
from forecast.cli.groups import main

if TYPE_CHECKING:
    from forecast.pipeline.results import ReportResult

FORMATS = ("html", "md", "json", "xlsx", "pdf")


@main.group("report", cls=Group)
def report() -> None:
    """Build the monthly sales report and the risk report (HTML, Markdown, JSON, Excel, PDF)."""


def _formats(ctx: click.Context, param: click.Parameter, value: str | None) -> list[str] | None:
    if value is None:
        return None
    chosen = [v.strip().lower() for v in value.split(",") if v.strip()]
    unknown = [v for v in chosen if v not in FORMATS]
    if unknown or not chosen:
        raise click.BadParameter(f"{value!r}: give a comma-separated list of {', '.join(FORMATS)}")
    return list(dict.fromkeys(chosen))


def _report_options(f):
    f = click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path),
                     help="Folder for the files [default: <workspace>/reports].")(f)
    f = click.option("--format", "formats", callback=_formats,
                     help="Comma-separated formats: html,md,json,xlsx,pdf (pdf: printed by "
                     "headless Chromium) [default: reports.formats]."
                     )(f)
    f = click.option("--lang", type=click.Choice(["en", "zh"]),
                     help="Language of the report [default: reports.lang, en].")(f)
    return f


def _report_text(r: ReportResult) -> str:
    what = f"monthly report {r.month}" if r.report == "monthly" else "risk report"
    lines = [(f"built the {what} ({r.lang}, data through {r.data_through}) in "
             f"{r.seconds:.1f} s")]
    if r.omitted:
        lines.append(f"  sections left out for lack of data: {', '.join(r.omitted)}")
    lines.append(f"  problems: {len(r.problems)}")
    lines += [f"    - {p}" for p in r.problems]
    lines += [f"  file: {path}" for path in r.files.values()]
    return "\n".join(lines)


@report.command("monthly")
@config_option
@workspace_option
@click.option("--month", help="Report month as YYYY-MM [default: the last complete month].")
@_report_options
@json_option
def monthly(config_path: Path, workspace: Path | None, month: str | None, lang: str | None,
            formats: list[str] | None, out_dir: Path | None, as_json: bool) -> None:
    """The monthly sales report: revenue vs last month, last year and target, contribution,
    customers, attainment, funnel, gaps and their drivers, next month, problems and actions."""
    from forecast.pipeline import build_monthly_report

    config = load_config_for(config_path, workspace)
    with Progress("monthly report") as progress:
        result = build_monthly_report(config, month, lang, formats, out_dir, progress=progress)
    emit(result, as_json, _report_text)


@report.command("risk")
@config_option
@workspace_option
@_report_options
@json_option
def risk(config_path: Path, workspace: Path | None, lang: str | None,
         formats: list[str] | None, out_dir: Path | None, as_json: bool) -> None:
    """The risk report: customers at risk, concentration, forecast downside, model health."""
    from forecast.pipeline import build_risk_report

    config = load_config_for(config_path, workspace)
    with Progress("risk report") as progress:
        result = build_risk_report(config, lang, formats, out_dir, progress=progress)
    emit(result, as_json, _report_text)
