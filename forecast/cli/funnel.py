"""Commands ``forecast funnel`` and ``forecast attainment``."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from forecast.cli.common import config_option, emit, json_option, load_config_for, workspace_option
from forecast.cli.groups import main
from forecast.config.funnel import ATTAINMENT_GRAINS

if TYPE_CHECKING:
    from forecast.pipeline.funnel import AttainmentResult, FunnelResult


def _percent(value: float | None) -> str:
    return "-" if value is None else f"{value * 100:.1f}%"


def _money(value: float | None) -> str:
    return "-" if value is None else f"{value:,.0f}"


def _funnel_text(r: FunnelResult) -> str:
    o, p = r.opportunities, r.pipeline
    cycle = r.cycle_days_median
    lines = [
        (f"funnel as of {r.as_of}: {o.total:,} opportunities ({o.open:,} open, "
         f"{o.won:,} won, {o.lost:,} lost); rates from the {o.history:,} first seen "
         f"in the last {r.lookback_days or 'all'} days"),
        (f"  win rate {_percent(r.win_rate)}, median cycle to a win "
         f"{'-' if cycle is None else f'{cycle:.0f}'} days"),
        "  stage            reached  conversion  median days  P(win)",
    ]
    for s in r.stages:
        median = "-" if s.get("median_days") is None else f"{s['median_days']:.0f}"
        lines.append(f"  {s['stage'][:16]:<16} {s['reached']:>7,}  {_percent(s['conversion']):>10}"
                     f"  {median:>11}  {_percent(s.get('p_win')):>6}")
    for dimension, rows in r.win_rates.items():
        shown = ", ".join(f"{row['value']} {_percent(row['win_rate'])} ({row['closed']})"
                          for row in rows[:8])
        more = f", ... {len(rows) - 8} more" if len(rows) > 8 else ""
        lines.append(f"  win rate by {dimension}: {shown}{more}")
    lines.append(f"  weighted pipeline {p.period} ({p.start}..{p.end}): "
                 f"{_money(p.weighted)} from {p.opportunities:,} open opportunities "
                 f"worth {_money(p.amount)}")
    if r.forecast:
        f = r.forecast
        lines.append(f"  statistical forecast {_money(f['yhat'])} (80%: {_money(f['yhat_lo_80'])}"
                     f"..{_money(f['yhat_hi_80'])}); pipeline covers {_percent(f['coverage'])}"
                     f", at percentile {_percent(f['percentile'])}")
    lines += [f"  note: {n}" for n in r.notes]
    lines += [f"  table {name}: {path}" for name, path in r.files.items()]
    return "\n".join(lines)


@main.command("funnel")
@config_option
@workspace_option
@click.option("--period", default="next", show_default=True,
              help="Window of the weighted pipeline: a month (2026-10), a quarter (2026-Q3) or "
                   "next (the quarter after the last order).")
@json_option
def funnel(config_path: Path, workspace: Path | None, period: str, as_json: bool) -> None:
    """Sales funnel from the opportunities: stage conversion, time in stage, win rates by rep,
    channel and segment, and the pipeline-weighted revenue of the next quarter against the
    statistical forecast."""
    from forecast.pipeline import build_funnel

    emit(build_funnel(load_config_for(config_path, workspace), period), as_json, _funnel_text)


def _unit_name(row: dict) -> str:
    return " / ".join(str(row[k]) for k in ("region", "team", "rep_id") if k in row) or "company"


def _unit_line(row: dict) -> str:
    rank = f"#{row['rank']}" if row.get("rank") is not None else "  "
    return (f"    {rank:>4} {_unit_name(row)[:28]:<28} {_money(row['actual']):>12} "
            f"{_money(row['target']):>12} {_percent(row['attainment']):>7} "
            f"{_percent(row['growth_vs_previous']):>7} {_percent(row['growth_vs_year_ago']):>7}")


def _attainment_text(r: AttainmentResult) -> str:
    partial = "" if r.complete else f" (partial: the orders end {r.data.last})"
    header = (f"    {'rank':>4} {'unit':<28} {'actual':>12} {'target':>12} {'attain':>7} "
              f"{'vs prev':>7} {'vs year':>7}")
    lines = [f"attainment {r.period} ({r.start}..{r.end}){partial}", header]
    if r.company:
        lines.append(_unit_line(r.company))
    for level, info in r.levels.items():
        if level == "company":
            continue
        lines.append(f"  {level}: {info['units']} units, {info['on_target']} on target")
        best = info["best"]
        worst = [w for w in info["worst"] if w not in best]
        lines += [_unit_line(row) for row in best]
        if worst:
            lines.append("    ...")
            lines += [_unit_line(row) for row in reversed(worst)]
    lines.append(f"  table attainment: {r.csv}")
    return "\n".join(lines)


@main.command("attainment")
@config_option
@workspace_option
@click.option("--period", required=True,
              help="A past month (2026-10) or quarter (2026-Q3).")
@click.option("--level", type=click.Choice(ATTAINMENT_GRAINS),
              help="One level only [default: the configured levels the targets support].")
@json_option
def attainment(config_path: Path, workspace: Path | None, period: str, level: str | None,
               as_json: bool) -> None:
    """Actual against target for a past month or quarter: attainment, gap, shortage, ranking of
    regions, teams and reps, and growth against the previous period and a year before."""
    from forecast.pipeline import build_attainment

    result = build_attainment(load_config_for(config_path, workspace), period, level)
    emit(result, as_json, _attainment_text)
