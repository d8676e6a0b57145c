"""The command that sets next-period targets."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from forecast.cli.common import config_option, emit, json_option, load_config_for, workspace_option
from forecast.cli.groups import main

if TYPE_CHECKING:
    from forecast.pipeline.targets import TargetsResult


def _targets_text(r: TargetsResult) -> str:
    company = r.company
    chance = "unknown" if company["probability"] is None else f"{company['probability']:.0%}"
    lines = [
        (f"targets for {r.period} (due {company['due']}): company {company['target']:,.2f} "
         f"against a forecast of {company['base']:,.2f}; probability of reaching it {chance}"),
        f"  policy: {r.policy_description}; split by {r.decomposition.replace('_', ' ')}",
    ]
    for level, info in r.levels.items():
        lines.append(f"  {level}: {info['units']} units, {info['mismatches']} flagged "
                     "(target far from the bottom-up forecast)")
    lines += [f"  weeks: {r.weeks_note}", f"  table: {r.table} ({r.table_rows} rows)",
              f"  workbook: {r.workbook}"]
    return "\n".join(lines)


@main.command("targets")
@config_option
@workspace_option
@click.option("--period", default="next", show_default=True,
              help="A quarter (2027-Q1), a month (2027-01) or next (the quarter after the "
                   "last order).")
@json_option
def targets(config_path: Path, workspace: Path | None, period: str, as_json: bool) -> None:
    """Set revenue targets for a period from the reconciled forecast, split them down the
    organisation and over months and weeks to the cent, with the probability of reaching each;
    write the targets_plan table and an editable workbook outputs/targets_<period>.xlsx."""
    from forecast.pipeline.targets import build_targets

    emit(build_targets(load_config_for(config_path, workspace), period), as_json, _targets_text)
