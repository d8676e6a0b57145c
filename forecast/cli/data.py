"""Commands that generate, check and ingest data, and the demo."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from forecast.cli.common import (
    Progress,
    config_option,
    emit,
    json_option,
    load_config_for,
    workspace_option,
)
from forecast.cli.groups import data, main

if TYPE_CHECKING:
    from forecast.pipeline.data import CheckResult, IngestResult, SynthResult
    from forecast.pipeline.demo import DemoResult
    from forecast.pipeline.results import ChainResult


def _synth_text(r: SynthResult) -> str:
    rows = ", ".join(f"{k} {v:,}" for k, v in r.rows.items())
    return f"wrote the synthetic company to {r.out_dir} in {r.seconds:.1f} s\n  rows: {rows}"


@data.command("synth")
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Folder to write the files into.")
@click.option("--customers", default=2000, show_default=True, type=click.IntRange(10, 5_000_000))
@click.option("--years", default=3, show_default=True, type=click.IntRange(1, 20))
@click.option("--seed", default=0, show_default=True, type=click.IntRange(0))
@click.option("--end-date", type=click.DateTime(["%Y-%m-%d"]), default=None,
              help="Last day with orders [default: 2026-10-31].")
@click.option("--csv", "with_csv", is_flag=True, help="Also write CSV files.")
@json_option
def data_synth(out_dir: Path, customers: int, years: int, seed: int, end_date, with_csv: bool,
               as_json: bool) -> None:
    """Generate a synthetic sales organisation (orders, customers, funnel, targets) with its
    ground truth."""
    from forecast.config import SynthOptions
    from forecast.pipeline import synthesise

    extra = {"end_date": end_date.date()} if end_date else {}
    formats = ("parquet", "csv") if with_csv else ("parquet",)
    options = SynthOptions(customers=customers, years=years, seed=seed, formats=formats, **extra)
    with Progress("generating customers") as progress:
        result = synthesise(options, out_dir, progress)
    emit(result, as_json, _synth_text)


def _source_lines(r: CheckResult | IngestResult) -> str:
    lines = []
    for s in r.sources:
        lines.append(
            f"  {s.table:<14} {s.source:<24} read {s.rows_read:>10,}  loaded "
            f"{s.rows_loaded:>10,}  quarantined {s.rows_quarantined:>8,}"
        )
        for reason, n in s.reasons.items():
            lines.append(f"      {n:>8,}  {reason}")
        if s.identical_rows:
            lines.append(f"      identical rows {s.identical_rows:,} (loaded; set unique_key "
                         "to quarantine repeats)")
        for other, n in s.repeated_rows.items():
            lines.append(f"      {n:,} rows repeat rows of source {other!r} in every column "
                         "(loaded: overlapping files count them twice; set unique_key to "
                         "quarantine them)")
    return "\n".join(lines)


def _ingest_text(r: IngestResult) -> str:
    return "\n".join([f"ingested into {r.warehouse}:", _source_lines(r)]
                     + [f"  {u.table:<14} {u.message}" for u in r.unchanged]
                     + [f"  warning: {w.message}" for w in r.removed])


@data.command("check")
@config_option
@json_option
def data_check(config_path: Path, as_json: bool) -> None:
    """Validate the config's sources without writing anything: counts and reasons per source."""
    from forecast.pipeline import check

    with Progress("checking sources") as progress:
        result = check(load_config_for(config_path, None), progress)
    emit(result, as_json, lambda r: "checked sources:\n" + _source_lines(r))


@data.command("ingest")
@config_option
@workspace_option
@json_option
def data_ingest(config_path: Path, workspace: Path | None, as_json: bool) -> None:
    """Load the config's sources into the workspace warehouse (atomic and idempotent)."""
    from forecast.pipeline import ingest

    with Progress("ingest") as progress:
        result = ingest(load_config_for(config_path, workspace), progress)
    emit(result, as_json, _ingest_text)


def chain_text(r: ChainResult | DemoResult) -> str:
    """The steps of a chain run, one line each with the notes of a step that ran under it (a
    period left out of the series, series forecast as zero, steps not validated), and where
    the reports are."""
    lines = []
    for step in r.steps:
        detail = step.get("reason") or (f"{step['seconds']:.1f} s" if step["status"] == "ran"
                                         else "")
        lines.append(f"  {step['step']:<20} {step['status']:<15} {detail}")
        lines += [f"{'':<24}note: {note}" for note in (step.get("summary") or {}).get(
            "notes") or []]
    lines += [f"  report: {path}" for path in r.reports]
    return "\n".join(lines)


def _demo_text(r: DemoResult) -> str:
    return "\n".join([
        f"demo workspace: {r.workspace}",
        (f"  synthetic company: {r.synth.customers:,} customers, "
         f"{r.synth.rows['orders']:,} order lines in {r.synth.out_dir}"),
        f"  config: {r.config}",
        chain_text(r),
        f"whole chain in {r.seconds:.1f} s; rerun any step with --config {r.config}",
    ])


@main.command("demo")
@click.option("--workspace", type=click.Path(file_okay=False, path_type=Path),
              default=Path("workspaces/demo"), show_default=True,
              help="Workspace to create (replaced if it exists).")
@click.option("--customers", default=2000, show_default=True, type=click.IntRange(10))
@click.option("--seed", default=0, show_default=True, type=click.IntRange(0))
@click.option("--until", help="Stop after this step of the chain (e.g. 'customer snapshots').")
@json_option
def demo(workspace: Path, customers: int, seed: int, until: str | None, as_json: bool) -> None:
    """Generate the sample company into a fresh workspace and run the whole chain on it:
    ingest, features, revenue, churn, tiers, targets, funnel, attainment and the reports."""
    from forecast.config import SynthOptions
    from forecast.pipeline import DEMO_YEARS, run_demo

    options = SynthOptions(customers=customers, years=DEMO_YEARS, seed=seed)
    with Progress("generating customers") as progress, Progress("chain steps") as steps:
        result = run_demo(workspace, options, progress, steps, until)
    emit(result, as_json, _demo_text)


@main.command("run")
@config_option
@workspace_option
@click.option("--force", is_flag=True, help="Rerun every step, changed or not.")
@click.option("--until", help="Stop after this step of the chain.")
@json_option
def run(config_path: Path, workspace: Path | None, force: bool, until: str | None,
        as_json: bool) -> None:
    """The whole chain: ingest, features, train and predict revenue, train and score churn,
    tiers, targets, funnel, attainment and reports. Steps whose inputs and settings have not
    changed since their last run are skipped (content hashes)."""
    from forecast.pipeline.chain import run_chain

    with Progress("chain steps") as progress:
        result = run_chain(load_config_for(config_path, workspace), force, progress, until)
    emit(result, as_json, lambda r: f"ran the chain in {r.seconds:.1f} s\n" + chain_text(r))
