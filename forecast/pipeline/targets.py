"""Orchestration of ``forecast targets``: read the forecast and the orders, build the plan,
write the ``targets_plan`` table and the planners' workbook."""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import duckdb
import pandas as pd

from forecast.config import Config
from forecast.errors import ConfigError, DataError, WorkspaceError
from forecast.io import catalog, warehouse
from forecast.io import decision_queries as queries
from forecast.io.catalog import ORDERS, TARGETS, TARGETS_PLAN
from forecast.io.catalog import REVENUE_FORECAST as WEEKLY
from forecast.io.catalog import REVENUE_FORECAST_PERIODS as PERIODS
from forecast.io.targets_workbook import write_targets_workbook
from forecast.periods import add_months
from forecast.pipeline.results import Result
from forecast.schemas import GRAIN, TOTAL
from forecast.targets.attainment import GRAIN_KEYS, parse_period
from forecast.targets.plan import PlanInputs, build_plan, summarise_plan
from forecast.targets.policy import management_from_targets
from forecast.targets.units import period_months, series_of_grain

# The key column each grain of the targets adds to the grain above it.
_GRAIN_KEY = {"region": "region", "team": "team", "rep": "rep_id"}
_PREDICT_HINT = "run `forecast predict revenue` with a horizon that reaches {end}"


@dataclass(frozen=True)
class TargetsResult(Result):
    """The targets set for a period.

    Attributes:
        period, policy, policy_description, decomposition: what was set and how.
        company: ``base, stretch, target, probability, last_year, due`` of the company.
        levels: per level ``units, target, base, mismatches, probability_min,
            probability_max`` (see :func:`forecast.targets.plan.summarise_plan`).
        weeks: whether the plan splits months into weeks; rows: rows of the plan.
        levels_used, forecast_levels: the organisation levels of the plan, and those whose
            units have their own forecast.
        table, table_rows, workbook: the warehouse table, its rows for the period, and the
            planners' workbook.
        history_window, weeks_note: the history the split used, and why weeks are or are not
            split by the weekly forecast.
        seconds: wall time.
    """

    period: str
    policy: str
    policy_description: str
    decomposition: str
    company: Mapping[str, Any]
    levels: Mapping[str, Mapping[str, Any]]
    weeks: bool
    rows: int
    levels_used: Sequence[str]
    forecast_levels: Sequence[str]
    table: str
    table_rows: int
    workbook: str
    history_window: str
    weeks_note: str
    seconds: float


def build_targets(config: Config, period: str) -> TargetsResult:
    """Set next-period targets from the revenue forecast and split them to the cent.

    Args:
        config: the job config (workspace, ``targets`` settings).
        period: ``2027-Q1``, ``2027-01`` or ``next`` (the quarter after the last order).

    Returns:
        The plan summary (company target and probability, units and mismatches per level), the
        table name and the workbook path.

    Raises:
        WorkspaceError: no orders, or no revenue forecast covering the period.
        ConfigError: a level or policy the data cannot support.
    """
    started = time.perf_counter()
    with warehouse.connect(config.workspace, read_only=True) as con:
        inputs, chosen, parsed, notes = _read_inputs(con, config, period)
    grains, forecast_grains = chosen
    plan = build_plan(inputs, config.targets, parsed, grains, forecast_grains)
    if inputs.weekly is not None and not (plan["span"] == "week").any():
        notes["weeks_note"] = (f"no weeks: the company's weekly forecast in {WEEKLY} "
                               f"does not cover every day of {parsed.label}")
    with warehouse.connect(config.workspace) as con:
        rows = _write_plan(con, plan, parsed.label)
    path = config.workspace / "outputs" / f"targets_{parsed.label}.xlsx"
    write_targets_workbook(plan, path, {**notes, "tolerance": config.targets.mismatch_tolerance})
    return TargetsResult(
        **summarise_plan(plan, config.targets),
        levels_used=["company", *grains], forecast_levels=["company", *forecast_grains],
        table=TARGETS_PLAN.name, table_rows=rows, workbook=str(path),
        history_window=notes["history_window"], weeks_note=notes["weeks_note"],
        seconds=round(time.perf_counter() - started, 3),
    )


def _read_inputs(con: duckdb.DuckDBPyConnection, config: Config, text: str):
    span = catalog.order_span(con)
    if span is None:
        raise WorkspaceError("the warehouse has no orders: run `forecast data ingest` first")
    first_day, last_day = span
    period = parse_period(text, last_day)
    _refuse_past(period, first_day, last_day)
    forecast = _read_forecast(con, period)
    grains = _grains(con, config)
    forecast_grains = _forecast_grains(forecast, grains, config)
    window_start = add_months(last_day, -config.targets.history_months) + timedelta(days=1)
    history = _revenue(con, grains, window_start, last_day)
    year_ago = period.year_before()
    last_year = None
    if first_day <= year_ago.start and year_ago.last_day <= last_day:
        last_year = _revenue(con, grains, year_ago.start, year_ago.last_day, by_month=True)
    weekly, weeks_note = _read_weekly(con, config, period)
    management = None
    if config.targets.policy == "management" and catalog.exists(con, TARGETS):
        management = management_from_targets(
            catalog.read_frame(con, TARGETS, ["period", "target"]), period_months(period))
    inputs = PlanInputs(forecast, history, last_year, weekly, management)
    notes = {"period": period.label, "policy": config.targets.policy,
             "decomposition": config.targets.decomposition,
             "history_window": f"{window_start} to {last_day}", "weeks_note": weeks_note,
             "levels": ["company", *grains]}
    return inputs, (grains, forecast_grains), period, notes


def _refuse_past(period, first_day: date, last_day: date) -> None:
    """Targets are set for a period that is not over: one that ends on or before the last order
    day has its actual revenue, not a forecast to set targets from.

    Raises:
        ConfigError: naming the period, the orders' span and the periods that can be set.
    """
    if period.last_day > last_day:
        return
    following = parse_period("next", last_day)
    raise ConfigError(
        f"period {period.label} ({period.start} to {period.last_day}) is in the past: the "
        f"orders run from {first_day} to {last_day}, so its revenue is known, not forecast. "
        f"Targets are set for a period after the data: --period next ({following.label}) or "
        f"any month or quarter that ends after {last_day}. To see how a past period did against "
        f"its targets, run `forecast attainment --period {period.label}`")


def _read_forecast(con, period) -> pd.DataFrame:
    """The forecast rows of the period: its quarter (or month) and its months, of the series
    that have them all."""
    hint = _PREDICT_HINT.format(end=period.last_day)
    if not catalog.exists(con, PERIODS):
        raise WorkspaceError(f"the warehouse has no {PERIODS} table: {hint}")
    missing = {"unique_id", "grain", "period_type", "period", "yhat", "yhat_sd"} - set(
        catalog.columns(con, PERIODS))
    if missing:
        raise WorkspaceError(f"{PERIODS} lacks the columns {', '.join(sorted(missing))}: "
                             "run `forecast predict revenue` again")
    forecast = catalog.read_frame(
        con, PERIODS, where="(period_type = 'month' AND period >= ? AND period < ?) OR "
        "(period_type = ? AND period = ?)",
        params=[period.start, period.end, period.kind, period.start])
    needed = 1 + (3 if period.kind == "quarter" else 0)
    counts = forecast.groupby("unique_id")["period"].transform("count")
    forecast = forecast[counts == needed].reset_index(drop=True)
    if not (forecast[GRAIN] == TOTAL).any():
        reach, last = queries.last_forecast_month(con, TOTAL), queries.last_forecast_day(
            con, TOTAL)
        if reach:
            covered = f"the company forecast's last month is {reach:%Y-%m}"
        elif last:
            covered = (f"the company forecast ends with the period from {last:%Y-%m-%d} and "
                       "covers no whole month")
        else:
            covered = "there is no company ('total') forecast"
        # The forecast there is fine, it ends too early: forecast run marks targets n/a.
        raise DataError(f"{PERIODS} does not cover {period.label} "
                             f"({period.start} to {period.last_day}): {covered}; {hint}")
    forecast["period"] = pd.to_datetime(forecast["period"])
    return forecast


def _grains(con: duckdb.DuckDBPyConnection, config: Config) -> list[str]:
    """The configured grains (``targets.levels``), or region and team (and rep where targets
    name reps), keeping only grains whose key column has values in the orders."""
    filled = {grain for grain, column in _GRAIN_KEY.items()
              if queries.has_values(con, ORDERS, column)}
    if config.targets.levels is not None:
        empty = [grain for grain in config.targets.levels if grain not in filled]
        if empty:
            raise ConfigError(f"targets.levels: the orders have no {_GRAIN_KEY[empty[0]]} "
                              f"values, so there are no {empty[0]} units; drop {empty[0]!r}")
        return list(config.targets.levels)
    grains = ["region", "team"]
    if queries.has_values(con, TARGETS, "rep_id"):
        grains.append("rep")
    return [grain for grain in grains if grain in filled]


def _forecast_grains(forecast: pd.DataFrame, grains: list[str], config: Config) -> list[str]:
    have = [grain for grain in grains if len(series_of_grain(forecast, GRAIN_KEYS[grain]))]
    wanted = config.targets.forecast_levels
    if wanted is None:
        return [grain for k, grain in enumerate(grains) if grains[: k + 1] == have[: k + 1]]
    if list(wanted) != grains[: len(wanted)]:
        raise ConfigError("targets.forecast_levels must be the leading levels of "
                          f"{', '.join(grains)}")
    missing = [grain for grain in wanted if grain not in have]
    if missing:
        grain = "|".join(GRAIN_KEYS[missing[0]])
        raise WorkspaceError(f"targets.forecast_levels names {missing[0]!r}, but "
                             f"{PERIODS} has no series of grain {grain!r} covering the "
                             "period: add it to features.series.grains and forecast again")
    return list(wanted)


def _revenue(con: duckdb.DuckDBPyConnection, grains: list[str], start: date, end: date,
             by_month: bool = False) -> pd.DataFrame:
    """Net revenue of the orders from ``start`` to ``end`` (inclusive) per deepest unit; with
    ``by_month`` per month too, dated a year later (the month it is compared with)."""
    frame = queries.revenue_by(con, [_GRAIN_KEY[grain] for grain in grains], start, end,
                               by_month)
    for column in _GRAIN_KEY.values():
        if column not in frame:
            frame[column] = None
    return frame


def _read_weekly(con: duckdb.DuckDBPyConnection, config: Config, period
                 ) -> tuple[pd.DataFrame | None, str]:
    """The weekly forecast rows that touch the period, with ``yhat_sd``; or None and why."""
    if not config.targets.weeks:
        return None, "weeks not asked for (targets.weeks is false)"
    if config.features.series.freq != "W":
        return None, ("the series are not weekly (features.series.freq "
                      f"{config.features.series.freq})")
    if not catalog.exists(con, WEEKLY):
        return None, f"no {WEEKLY} table"
    weekly = queries.forecast_weeks(con, list(_GRAIN_KEY.values()),
                                    period.start - timedelta(days=7), period.end)
    if weekly is None:
        return None, f"{WEEKLY} has neither yhat_sd nor an 80% interval"
    return weekly, "weeks split by the weekly forecast"


def _write_plan(con: duckdb.DuckDBPyConnection, plan: pd.DataFrame, label: str) -> int:
    """Replace this period's rows of the plan table, keeping other periods' rows."""
    return queries.replace_plan_period(con, plan, label,
                                       ("region", "team", "rep_id", "parent_id"),
                                       ("start", "due", "month"))
