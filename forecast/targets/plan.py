"""The targets plan: every unit's target for the period, its months and weeks.

The company target is the stretch policy applied to the company forecast. It is split down the
unit tree and across time with :mod:`forecast.targets.decompose`, so every target adds up to
its parent to the cent: a unit's months to its period, its weeks to each month, and the
children of a unit to the unit in every period, month and week.

- base: the unit's own forecast median of the span (see :mod:`forecast.targets.units` for the
  units split by history).
- stretch: the policy applied to the unit on its own (its own quantile, or its own last year
  plus growth); under ``management`` only the company's period has one.
- target: the unit's share of the company target.
- probability: P(actual >= target) under the forecast distribution whose 80 % interval the
  forecast tables show (Normal below and above the median with the interval's deviations, see
  :mod:`forecast.hierarchy.distribution`).
- bottom_up: the sum of the children's own bases (a unit without children: its own base).
- mismatch: |target - bottom_up| / target above the tolerance: the target strays from what the
  units' own forecasts add up to.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from forecast.config.targets import TargetsConfig
from forecast.hierarchy.distribution import SD_ABOVE, SD_BELOW, probability_of_reaching
from forecast.schemas import TARGET_KEYS, TOTAL
from forecast.targets.attainment import GRAIN_KEYS, Period
from forecast.targets.decompose import decompose_tree, split_cents, to_cents
from forecast.targets.policy import company_target, describe_policy, own_stretch
from forecast.targets.units import (
    build_spans,
    build_units,
    build_week_pieces,
    period_months,
    unit_ids,
)

PLAN_COLUMNS = (
    "metric", "period", "level", "unit_id", "parent_id", *TARGET_KEYS, "span", "start", "due",
    "month", "base", "yhat_sd", SD_BELOW, SD_ABOVE, "stretch", "target", "probability",
    "bottom_up", "mismatch",
    "last_year", "statement",
)
SPANS = ("period", "month", "week")


@dataclass(frozen=True)
class PlanInputs:
    """What a plan is built from (frames read from the warehouse).

    Attributes:
        forecast: ``revenue_forecast_periods`` rows of the period: unique_id, grain, key
            columns, period_type, period, yhat, yhat_sd and the 80 % interval.
        history: trailing revenue at the deepest grain: region, team, rep_id, revenue.
        last_year: revenue of each month a year before the period's months: month (the
            period's month start), region, team, rep_id, revenue; None when the orders do not
            cover those months.
        weekly: ``revenue_forecast`` weekly rows: unique_id, grain, key columns, ds, yhat,
            yhat_sd (+ the 80 % interval); None when there is no weekly forecast.
        management_total: the management number from the ``targets`` table, if any.
    """

    forecast: pd.DataFrame
    history: pd.DataFrame
    last_year: pd.DataFrame | None = None
    weekly: pd.DataFrame | None = None
    management_total: float | None = None


def build_plan(inputs: PlanInputs, config: TargetsConfig, period: Period,
               grains: Sequence[str], forecast_grains: Sequence[str]) -> pd.DataFrame:
    """Targets for every unit of ``grains`` in the period, its months and (if known) weeks.

    Returns:
        One row per unit and span with the ``PLAN_COLUMNS``: metric ('revenue'), period
        label, level, unit_id, parent_id, region, team, rep_id, span ('period', 'month',
        'week'), start, due (last day), month (month start; empty for the period), base,
        yhat_sd, sd_below, sd_above (the deviations of the actual below and above the base,
        from its 80 % interval), stretch, target, probability, bottom_up, mismatch, last_year,
        statement.
    """
    units = build_units(inputs.forecast, inputs.history, grains, forecast_grains)
    spans = build_spans(units, inputs.forecast, period, grains)
    spans = spans.merge(_last_year(units, inputs.last_year, period, grains),
                        on=["unit_id", "span", "start"], how="left")
    company = spans[(spans["unit_id"] == TOTAL) & (spans["span"] == "period")].iloc[0]
    known_last_year = None if inputs.last_year is None else float(company["last_year"])
    target = company_target(float(company["yhat"]),
                            (float(company[SD_BELOW]), float(company[SD_ABOVE])),
                            known_last_year, config, inputs.management_total)
    months = period_months(period)
    month_rows = spans[spans["span"] == "month"]
    shapes = month_rows.pivot(index="unit_id", columns="start", values="yhat")[months]
    period_rows = spans[spans["span"] == "period"].set_index("unit_id")
    weights = (period_rows["yhat"] if config.decomposition == "forecast_share"
               else units.set_index("unit_id")["history"])
    top = split_cents(to_cents(target), shapes.loc[TOTAL].to_numpy())
    cents = decompose_tree(units, top, weights, shapes)
    frame = _span_cents(spans, cents, period)
    pieces = None
    if config.weeks and inputs.weekly is not None and len(inputs.weekly):
        pieces = build_week_pieces(units, inputs.weekly, spans, period)
    if pieces is not None:
        frame = pd.concat([frame, _week_cents(units, pieces, cents, months)], ignore_index=True)
    frame["stretch"] = own_stretch(frame["yhat"], (frame[SD_BELOW], frame[SD_ABOVE]),
                                   frame["last_year"], config)
    is_company = (frame["unit_id"] == TOTAL) & (frame["span"] == "period")
    frame.loc[is_company, "stretch"] = target
    frame.loc[frame["span"] == "week", "stretch"] = np.nan
    return _finish(frame, units, period, config)


def _last_year(units: pd.DataFrame, last_year: pd.DataFrame | None, period: Period,
               grains: Sequence[str]) -> pd.DataFrame:
    """``unit_id, span, start, last_year`` (empty when last year is unknown)."""
    if last_year is None:
        return pd.DataFrame(columns=["unit_id", "span", "start", "last_year"])
    frames = []
    for grain, keys in (("company", ()), *((g, GRAIN_KEYS[g]) for g in grains)):
        rows = last_year.dropna(subset=list(keys))
        ids = units.loc[units["level"] == grain, "unit_id"]
        grouped = rows.assign(unit_id=unit_ids(rows, keys), start=pd.to_datetime(rows["month"]))
        sums = grouped.groupby(["unit_id", "start"], as_index=False)["revenue"].sum()
        full = pd.MultiIndex.from_product([ids, period_months(period)], names=["unit_id", "start"])
        sums = sums.set_index(["unit_id", "start"])["revenue"].reindex(full, fill_value=0.0)
        frames.append(sums.reset_index().assign(span="month"))
    months = pd.concat(frames, ignore_index=True)
    whole = months.groupby("unit_id", as_index=False)["revenue"].sum().assign(
        span="period", start=period_months(period)[0])
    return pd.concat([months, whole], ignore_index=True).rename(columns={"revenue": "last_year"})


def _span_cents(spans: pd.DataFrame, cents: dict[str, np.ndarray], period: Period) -> pd.DataFrame:
    """Spans with their target: each month's cents, and the period's as their sum."""
    index = {month: k for k, month in enumerate(period_months(period))}
    frame = spans.copy()
    is_month = frame["span"] == "month"
    frame["cents"] = [int(cents[u][index[s]]) if m else int(cents[u].sum())
                      for u, m, s in zip(frame["unit_id"], is_month, frame["start"], strict=True)]
    frame["month"] = frame["start"].where(is_month)
    month_end = frame["start"] + pd.DateOffset(months=1)
    frame["end"] = month_end.where(is_month, pd.Timestamp(period.end))
    return frame


def _week_cents(units: pd.DataFrame, pieces: pd.DataFrame, cents: dict[str, np.ndarray],
                months: list[pd.Timestamp]) -> pd.DataFrame:
    """Week pieces with their target: each unit's month split by its weekly shape."""
    out = []
    no_weights = pd.Series(dtype=float)
    for k, month in enumerate(months):
        rows = pieces[pieces["month"] == month]
        shapes = rows.pivot(index="unit_id", columns="start", values="yhat")
        totals = pd.Series({unit: int(values[k]) for unit, values in cents.items()})
        top = split_cents(int(totals[TOTAL]), shapes.loc[TOTAL].to_numpy())
        weeks = decompose_tree(units, top, no_weights, shapes, totals)
        starts = list(shapes.columns)
        lookup = {(u, s): int(values[j]) for u, values in weeks.items()
                  for j, s in enumerate(starts)}
        rows = rows.assign(cents=[lookup[(u, s)] for u, s in zip(rows["unit_id"], rows["start"],
                                                                   strict=True)])
        out.append(rows)
    frame = pd.concat(out, ignore_index=True)
    return frame.assign(span="week", last_year=np.nan)


def _finish(frame: pd.DataFrame, units: pd.DataFrame, period: Period,
            config: TargetsConfig) -> pd.DataFrame:
    frame = frame.merge(units[["unit_id", "parent_id", "level", "depth", *TARGET_KEYS]],
                        on="unit_id")
    frame["target"] = frame.pop("cents") / 100.0
    frame["base"] = frame.pop("yhat")
    frame["probability"] = probability_of_reaching(frame["target"], frame["base"],
                                                   frame[SD_BELOW], frame[SD_ABOVE])
    children = frame.groupby(["parent_id", "span", "start"])["base"].sum()
    frame["bottom_up"] = pd.Series(
        children.reindex(pd.MultiIndex.from_frame(frame[["unit_id", "span", "start"]])).to_numpy(),
        index=frame.index).fillna(frame["base"])
    gap = (frame["target"] - frame["bottom_up"]).abs()
    frame["mismatch"] = np.where(frame["target"] > 0,
                                 gap > config.mismatch_tolerance * frame["target"], gap > 0)
    frame["due"] = pd.to_datetime(frame["end"]) - pd.Timedelta(days=1)
    frame["metric"] = "revenue"
    frame["period"] = period.label
    frame["statement"] = [_statement(row) for row in frame.itertuples()]
    order = {span: k for k, span in enumerate(SPANS)}
    frame = frame.assign(_span=frame["span"].map(order)).sort_values(
        ["depth", "unit_id", "_span", "start"], kind="stable")
    return frame[list(PLAN_COLUMNS)].reset_index(drop=True)


def _statement(row) -> str:
    """The SMART sentence of a plan row: what, who, how much, by when, and how likely."""
    names = {"company": "the company", "region": f"region {row.region}",
             "team": f"team {row.team} ({row.region})",
             "rep": f"rep {row.rep_id} ({row.region}, {row.team})"}
    chance = ("unknown" if pd.isna(row.probability) else f"{row.probability:.0%}")
    return (f"Revenue of {names.get(row.level, row.unit_id)} of at least {row.target:,.2f} "
            f"from {row.start:%Y-%m-%d} to {row.due:%Y-%m-%d}; probability of reaching it "
            f"{chance} under the forecast")


def summarise_plan(plan: pd.DataFrame, config: TargetsConfig) -> dict:
    """A JSON-ready summary of a plan: the company, and per grain (under ``levels``) the
    units and flags."""
    whole = plan[plan["span"] == "period"]
    company = whole[whole["level"] == "company"].iloc[0]
    grains = {}
    for grain, rows in whole.groupby("level", sort=False):
        grains[str(grain)] = {
            "units": len(rows), "target": round(float(rows["target"].sum()), 2),
            "base": round(float(rows["base"].sum()), 2),
            "mismatches": int(rows["mismatch"].sum()),
            "probability_min": _round(rows["probability"].min()),
            "probability_max": _round(rows["probability"].max()),
        }
    return {
        "period": str(company["period"]), "policy": config.policy,
        "policy_description": describe_policy(config), "decomposition": config.decomposition,
        "company": {"base": round(float(company["base"]), 2),
                    "stretch": round(float(company["stretch"]), 2),
                    "target": round(float(company["target"]), 2),
                    "probability": _round(company["probability"]),
                    "last_year": _round(company["last_year"]), "due": str(company["due"].date())},
        "levels": grains, "weeks": bool((plan["span"] == "week").any()), "rows": len(plan),
    }


def _round(value: object) -> float | None:
    number = float(value)
    return None if np.isnan(number) else round(number, 4)
