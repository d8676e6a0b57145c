"""Commands that build training sets."""

from __future__ import annotations

from pathlib import Path

import click

from forecast.cli.common import (
    Progress,
    config_option,
    emit,
    json_option,
    load_config_for,
    workspace_option,
)
from forecast.cli.groups import features


@features.command("series")
@config_option
@workspace_option
@json_option
def features_series(config_path: Path, workspace: Path | None, as_json: bool) -> None:
    """Revenue (and other measures) per period at the configured grains, with calendar,
    holiday and exogenous features."""
    from forecast.pipeline import build_series

    with Progress("series") as progress:
        result = build_series(load_config_for(config_path, workspace), progress)
    emit(result, as_json, lambda r: (
        f"built {r.series:,} series, {r.rows:,} rows ({r.freq}, {r.start}..{r.end}) "
        f"in {r.seconds:.1f} s\n  table: series\n  parquet: {r.parquet}"
        + "".join(f"\n  note: {n}" for n in r.notes)))


@features.command("customers")
@config_option
@workspace_option
@click.option("--cutoff", "cutoffs", multiple=True, type=click.DateTime(["%Y-%m-%d"]),
              help="Snapshot date (repeatable); features use only data strictly before it. At most "
                   "the day after the last order day. Default: features.customers.cutoffs, or "
                   "without them the day after the last order day and up to five earlier dates "
                   "a label horizon apart.")
@json_option
def features_customers(config_path: Path, workspace: Path | None, cutoffs: tuple,
                       as_json: bool) -> None:
    """Point-in-time customer snapshots with churn labels, one row per customer and cutoff."""
    from forecast.pipeline import build_customer_snapshots

    config = load_config_for(config_path, workspace)
    dates = [c.date() for c in cutoffs]
    # No --cutoff: the config's cutoffs, named as such if one is refused, or the data's.
    with Progress("snapshots") as progress:
        result = build_customer_snapshots(config, dates or None, progress)
    emit(result, as_json, lambda r: "\n".join(
        [f"built {r.rows:,} snapshot rows in {r.seconds:.1f} s (cutoffs from {r.cutoffs_from})"]
        + [f"  {c['cutoff']}: {c['customers']:,} customers, {c['labelled']:,} labelled, "
           f"churn rate {c['churn_rate']}" for c in r.cutoffs]
        + [f"  parquet: {r.parquet}"]))
