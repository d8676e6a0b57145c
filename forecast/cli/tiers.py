"""The ``forecast tiers`` command: RFM segments, ABC classes, value tiers, value x risk."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

import click

from forecast.cli.common import config_option, emit, json_option, load_config_for, workspace_option
from forecast.cli.groups import main

if TYPE_CHECKING:
    from forecast.pipeline.tiers import TiersResult

def _share(value: float | None) -> str:
    return "   n/a" if value is None else f"{100 * value:5.1f}%"


def _tiers_text(r: TiersResult) -> str:
    head = (f"tiered {r.customers:,} customers as of {r.as_of} "
            f"(revenue of the last {r.revenue_days} days {r.revenue:,.0f}) "
            f"in {r.seconds:.1f} s")
    lines = [head]
    titles = {"rfm_segment": "RFM segments", "abc_class": "ABC classes",
              "value_tier": "value tiers", "risk_tier": "churn risk"}
    for dimension, title in titles.items():
        lines.append(f"  {title}:")
        lines += [f"    {row['tier']:<20} {row['customers']:>8,} customers  "
                  f"{_share(row['revenue_share'])} of revenue"
                  for row in r.summary[dimension]]
    lines.append("  value x risk (non-empty cells):")
    lines += [f"    {row['tier']:<20} {row['customers']:>8,}  {_share(row['revenue_share'])}  "
              f"-> {row['action']}" for row in r.summary["matrix"] if row["customers"]]
    lines += [f"  note: {note}" for note in r.notes]
    lines += [f"  table: {t}" for t in r.tables] + [f"  file: {f}" for f in r.files]
    return "\n".join(lines)


@main.command("tiers")
@config_option
@workspace_option
@click.option("--as-of", "as_of", type=click.DateTime(["%Y-%m-%d"]),
              help="First day after the data to tier (orders from it on are ignored) "
                   "[default: the day after the last order].")
@json_option
def tiers(config_path: Path, workspace: Path | None, as_of: datetime | None,
          as_json: bool) -> None:
    """Tier every customer: RFM segment, ABC class, value tier, churn risk and the recommended
    action of its value x risk cell; writes customer_tiers and tier_summary (warehouse, CSV,
    Excel)."""
    from forecast.pipeline import build_tiers

    result = build_tiers(load_config_for(config_path, workspace),
                         as_of.date() if as_of else None)
    emit(result, as_json, _tiers_text)
