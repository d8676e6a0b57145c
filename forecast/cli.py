"""The ``forecast`` command line: thin commands over :mod:`forecast.pipeline`.

The only module that imports click. Heavy libraries are imported inside the commands that need
them, so ``forecast --help`` starts fast. With ``--json`` a command prints exactly one JSON object
on stdout; logs and progress bars always go to stderr.
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from forecast import __version__
from forecast.errors import ForecastError

log = logging.getLogger("forecast")


class _Group(click.Group):
    """A group that turns the project's errors into a message and an exit code."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except ForecastError as exc:
            click.echo(f"error: {exc}", err=True)
            ctx.exit(exc.exit_code)


def _setup_logging(verbose: int, quiet: bool) -> None:
    level = logging.WARNING if quiet else (logging.DEBUG if verbose else logging.INFO)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s",
                                           "%H:%M:%S"))
    root = logging.getLogger("forecast")
    root.handlers[:] = [handler]
    root.setLevel(level)
    root.propagate = False
    for noisy in ("cmdstanpy", "prophet"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def _emit(result: dict, as_json: bool, human: Callable[[dict], str]) -> None:
    if as_json:
        click.echo(json.dumps(result, default=str, ensure_ascii=False))
    else:
        click.echo(human(result))


def _json_option(f: Callable) -> Callable:
    return click.option("--json", "as_json", is_flag=True,
                        help="Print one JSON object with the results and output paths.")(f)


def _workspace_option(f: Callable) -> Callable:
    return click.option("--workspace", type=click.Path(file_okay=False, path_type=Path),
                        help="Workspace folder; overrides the config's `workspace:`.")(f)


def _config_option(f: Callable) -> Callable:
    return click.option("--config", "config_path", required=True,
                        type=click.Path(dir_okay=False, path_type=Path),
                        help="YAML config file (see configs/).")(f)


def _load(config_path: Path, workspace: Path | None):
    from forecast.config import load_config

    return load_config(config_path).with_workspace(workspace)


class _Progress:
    """A rich progress bar on stderr, driven by (done, total) callbacks."""

    def __init__(self, description: str, enabled: bool = True):
        self.description = description
        self.enabled = enabled and sys.stderr.isatty()
        self._bar = None
        self._task = None

    def __enter__(self) -> _Progress:
        if self.enabled:
            from rich.console import Console
            from rich.progress import Progress

            self._bar = Progress(console=Console(stderr=True), transient=True)
            self._bar.__enter__()
            self._task = self._bar.add_task(self.description, total=None)
        return self

    def __call__(self, done: int, total: int) -> None:
        if self._bar is not None:
            self._bar.update(self._task, completed=done, total=total)
        else:
            log.info("%s: %s of %s", self.description, f"{done:,}", f"{total:,}")

    def __exit__(self, *exc: object) -> None:
        if self._bar is not None:
            self._bar.__exit__(*exc)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="forecast")
@click.option("-v", "--verbose", count=True, help="More log detail on stderr.")
@click.option("-q", "--quiet", is_flag=True, help="Only warnings and errors on stderr.")
def main(verbose: int, quiet: bool) -> None:
    """forecast: sales forecasting and risk modelling, from raw orders to next quarter's
    targets and the monthly sales report."""
    _setup_logging(verbose, quiet)


@main.group(cls=_Group)
def data() -> None:
    """Generate, check and ingest data."""


def _synth_text(r: dict) -> str:
    rows = ", ".join(f"{k} {v:,}" for k, v in r["rows"].items())
    return f"wrote the synthetic company to {r['out_dir']} in {r['seconds']:.1f} s\n  rows: {rows}"


@data.command("synth")
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Folder to write the files into.")
@click.option("--customers", default=2000, show_default=True, type=click.IntRange(10, 5_000_000))
@click.option("--years", default=3, show_default=True, type=click.IntRange(1, 20))
@click.option("--seed", default=0, show_default=True, type=click.IntRange(0))
@click.option("--end-date", type=click.DateTime(["%Y-%m-%d"]), default=None,
              help="Last day with orders [default: 2026-10-31].")
@click.option("--csv", "with_csv", is_flag=True, help="Also write CSV files.")
@_json_option
def data_synth(out_dir: Path, customers: int, years: int, seed: int, end_date, with_csv: bool,
               as_json: bool) -> None:
    """Generate a synthetic sales organisation (orders, customers, funnel, targets) with its
    ground truth."""
    from forecast.config import SynthOptions
    from forecast.pipeline import synthesise

    extra = {"end_date": end_date.date()} if end_date else {}
    formats = ("parquet", "csv") if with_csv else ("parquet",)
    options = SynthOptions(customers=customers, years=years, seed=seed, formats=formats, **extra)
    with _Progress("generating customers") as progress:
        result = synthesise(options, out_dir, progress)
    _emit(result, as_json, _synth_text)


def _source_lines(r: dict) -> str:
    lines = []
    for s in r["sources"]:
        lines.append(
            f"  {s['table']:<14} {s['source']:<24} read {s['rows_read']:>10,}  loaded "
            f"{s['rows_loaded']:>10,}  quarantined {s['rows_quarantined']:>8,}"
        )
        for reason, n in s["reasons"].items():
            lines.append(f"      {n:>8,}  {reason}")
    return "\n".join(lines)


@data.command("check")
@_config_option
@_json_option
def data_check(config_path: Path, as_json: bool) -> None:
    """Validate the config's sources without writing anything: counts and reasons per source."""
    from forecast.pipeline import check

    result = check(_load(config_path, None))
    _emit(result, as_json, lambda r: "checked sources:\n" + _source_lines(r))


@data.command("ingest")
@_config_option
@_workspace_option
@_json_option
def data_ingest(config_path: Path, workspace: Path | None, as_json: bool) -> None:
    """Load the config's sources into the workspace warehouse (atomic and idempotent)."""
    from forecast.pipeline import ingest

    result = ingest(_load(config_path, workspace))
    _emit(result, as_json, lambda r: f"ingested into {r['warehouse']}:\n" + _source_lines(r))


def _demo_text(r: dict) -> str:
    return "\n".join([
        f"demo workspace: {r['workspace']}",
        f"  synthetic company: {r['synth']['customers']:,} customers, "
        f"{r['synth']['rows']['orders']:,} order lines in {r['synth']['out_dir']}",
        f"  config: {r['config']}",
        f"  warehouse: {r['ingest']['warehouse']}",
        _source_lines(r["ingest"]),
        f"  series: {r['series']['series']:,} weekly series, {r['series']['rows']:,} rows "
        f"-> {r['series']['parquet']}",
        f"  customer snapshots: {r['customer_snapshots']['rows']:,} rows at "
        f"{len(r['customer_snapshots']['cutoffs'])} cutoffs -> {r['customer_snapshots']['parquet']}",
        "next: forecast train churn --config " + r["config"],
    ])


@main.command("demo")
@click.option("--workspace", type=click.Path(file_okay=False, path_type=Path),
              default=Path("workspaces/demo"), show_default=True,
              help="Workspace to create (replaced if it exists).")
@click.option("--customers", default=2000, show_default=True, type=click.IntRange(10))
@click.option("--seed", default=0, show_default=True, type=click.IntRange(0))
@_json_option
def demo(workspace: Path, customers: int, seed: int, as_json: bool) -> None:
    """Generate the sample company into a fresh workspace and run the chain on it."""
    from forecast.config import SynthOptions
    from forecast.pipeline import DEMO_YEARS, run_demo

    options = SynthOptions(customers=customers, years=DEMO_YEARS, seed=seed)
    with _Progress("generating customers") as progress:
        result = run_demo(workspace, options, progress)
    _emit(result, as_json, _demo_text)


@main.group(cls=_Group)
def features() -> None:
    """Build training sets: series frames and customer snapshots."""


@features.command("series")
@_config_option
@_workspace_option
@_json_option
def features_series(config_path: Path, workspace: Path | None, as_json: bool) -> None:
    """Revenue (and other measures) per period at the configured grains, with calendar,
    holiday and exogenous features."""
    from forecast.pipeline import build_series

    result = build_series(_load(config_path, workspace))
    _emit(result, as_json, lambda r: (
        f"built {r['series']:,} series, {r['rows']:,} rows ({r['freq']}, {r['start']}..{r['end']}) "
        f"in {r['seconds']:.1f} s\n  table: series\n  parquet: {r['parquet']}"))


@features.command("customers")
@_config_option
@_workspace_option
@click.option("--cutoff", "cutoffs", multiple=True, type=click.DateTime(["%Y-%m-%d"]),
              help="Snapshot date (repeatable); features use only data strictly before it.")
@_json_option
def features_customers(config_path: Path, workspace: Path | None, cutoffs: tuple,
                       as_json: bool) -> None:
    """Point-in-time customer snapshots with churn labels, one row per customer and cutoff."""
    from forecast.errors import ConfigError
    from forecast.pipeline import build_customer_snapshots

    config = _load(config_path, workspace)
    dates = [c.date() for c in cutoffs] or list(config.features.customers.cutoffs)
    if not dates:
        raise ConfigError("give at least one --cutoff DATE (or features.customers.cutoffs)")
    result = build_customer_snapshots(config, dates)
    _emit(result, as_json, lambda r: "\n".join(
        [f"built {r['rows']:,} snapshot rows in {r['seconds']:.1f} s"]
        + [f"  {c['cutoff']}: {c['customers']:,} customers, {c['labelled']:,} labelled, "
           f"churn rate {c['churn_rate']}" for c in r["cutoffs"]]
        + [f"  parquet: {r['parquet']}"]))


@main.group(cls=_Group)
def train() -> None:
    """Train models (tracked in MLflow)."""


def _train_churn_text(r: dict) -> str:
    m = r["metrics"]
    return "\n".join([
        f"trained churn model ({r['chosen']}) on {r['rows']:,} rows in {r['seconds']:.1f} s",
        f"  held-out ROC-AUC {m['roc_auc']:.4f}  PR-AUC {m['pr_auc']:.4f}  Brier {m['brier']:.4f}"
        f"  log-loss {m['log_loss']:.4f}  ECE {m['ece']:.4f}",
        f"  threshold {r['threshold']}",
        f"  model: {r['model_uri']}  (tracking: {r['tracking_uri']})",
    ])


@train.command("churn")
@_config_option
@_workspace_option
@_json_option
def train_churn(config_path: Path, workspace: Path | None, as_json: bool) -> None:
    """Train, calibrate and evaluate the churn model; register it in MLflow as churn-risk."""
    from forecast.pipeline import train_churn as run

    _emit(run(_load(config_path, workspace)), as_json, _train_churn_text)


@main.group(cls=_Group)
def score() -> None:
    """Score customers with trained models."""


def _score_churn_text(r: dict) -> str:
    tiers = ", ".join(f"{k} {v:,}" for k, v in r["tiers"].items())
    return "\n".join([
        f"scored {r['rows']:,} customers at cutoff {r['cutoff']} with {r['model_uri']} "
        f"in {r['seconds']:.1f} s ({r['skipped_chunks']} of {r['chunks']} chunks already done)",
        f"  tiers: {tiers}",
        f"  revenue at risk: {r['revenue_at_risk']:,.0f}",
        "  table: churn_scores", *[f"  file: {p}" for p in r["exports"]],
    ])


@score.command("churn")
@_config_option
@_workspace_option
@click.option("--model", "model_uri", help="MLflow model URI [default: models:/churn-risk/latest].")
@_json_option
def score_churn(config_path: Path, workspace: Path | None, model_uri: str | None,
                as_json: bool) -> None:
    """Score every customer at the latest snapshot cutoff: churn_proba, tier, reasons and
    revenue at risk (resumable: an interrupted run continues where it stopped)."""
    from forecast.pipeline import score_churn as run

    with _Progress("scoring chunks") as progress:
        result = run(_load(config_path, workspace), model_uri, progress)
    _emit(result, as_json, _score_churn_text)
