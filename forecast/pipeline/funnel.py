"""Orchestration of the funnel (conversion, win rates, weighted pipeline) and of attainment."""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pandas as pd

from forecast import funnel
from forecast.config import Config
from forecast.errors import WorkspaceError
from forecast.io import catalog, warehouse
from forecast.io import decision_queries as queries
from forecast.io.catalog import (
    ATTAINMENT,
    FUNNEL_CONVERSION,
    FUNNEL_PIPELINE,
    FUNNEL_WIN_RATES,
    OPPORTUNITIES,
    REVENUE_FORECAST_PERIODS,
    TARGETS,
    Dataset,
)
from forecast.io.warehouse import quote
from forecast.pipeline.results import Result
from forecast.schemas import TOTAL
from forecast.targets import attainment as core
from forecast.targets.attainment import parse_period

OPPORTUNITY_COLUMNS = ("opportunity_id", "stage", "stage_date", "amount", "expected_close_date",
                       "rep_id", "team", "region", "channel", "segment")
FUNNEL_TABLES = (FUNNEL_CONVERSION, FUNNEL_WIN_RATES, FUNNEL_PIPELINE)


@dataclass(frozen=True)
class OpportunityCounts:
    """Opportunities seen: all, those the rates come from (``history``), and by outcome."""

    total: int
    history: int
    open: int
    won: int
    lost: int


@dataclass(frozen=True)
class WeightedPipeline:
    """The open opportunities expected to close in a period, their amount and weighted value;
    ``by_stage`` has a row per stage."""

    period: str
    start: str
    end: str
    opportunities: int
    without_amount: int
    amount: float
    weighted: float
    by_stage: Sequence[Mapping[str, Any]]


@dataclass(frozen=True)
class FunnelResult(Result):
    """The funnel as of a day.

    Attributes:
        as_of, lookback_days: the as-of day and the window the rates look back over.
        opportunities: counts of the opportunities seen.
        win_rate, cycle_days_median: the overall win rate and median days to a win.
        stages: per stage ``stage, reached, converted, conversion, median_days, p_win`` ...
        win_rates: per breakdown (rep, channel, segment ...) rows of ``value, win_rate,
            closed`` ...
        pipeline: the weighted pipeline of the period.
        forecast: the statistical forecast of the period against the pipeline (None without
            a forecast).
        notes: what is left out, in words.
        tables, files: the warehouse tables and table -> CSV file written.
        seconds: wall time.
    """

    as_of: str
    lookback_days: int | None
    opportunities: OpportunityCounts
    win_rate: float | None
    cycle_days_median: float | None
    stages: Sequence[Mapping[str, Any]]
    win_rates: Mapping[str, Sequence[Mapping[str, Any]]]
    pipeline: WeightedPipeline
    forecast: Mapping[str, Any] | None
    notes: Sequence[str]
    tables: Sequence[str]
    files: Mapping[str, str]
    seconds: float

    def output_files(self) -> tuple[str, ...]:
        return tuple(self.files.values())


@dataclass(frozen=True)
class DataSpan:
    """The first and last order day."""

    first: str
    last: str


@dataclass(frozen=True)
class AttainmentResult(Result):
    """Actual against target for a past period.

    Attributes:
        period, kind, start, end: the period (``2026-10`` or ``2026-Q3``), month or quarter,
            and its days; complete: whether the orders cover all of it.
        data: the days the orders cover.
        company: the company's row (None without one); levels: per level its totals and its
            best and worst units (see :func:`forecast.targets.attainment.summarise_attainment`).
        table, rows, csv: the warehouse table, its rows and its CSV copy.
        seconds: wall time.
    """

    period: str
    kind: str
    start: str
    end: str
    complete: bool
    data: DataSpan
    company: Mapping[str, Any] | None
    levels: Mapping[str, Mapping[str, Any]]
    table: str
    rows: int
    csv: str
    seconds: float


def _write_frame(con: duckdb.DuckDBPyConnection, workspace: Path, table: Dataset,
                 frame: pd.DataFrame) -> str:
    """Replace warehouse table ``table`` with ``frame`` and export it to outputs/<name>.csv."""
    text = [c for c in frame.columns
            if frame[c].dtype == object or isinstance(frame[c].dtype, pd.StringDtype)]
    days = set(frame.select_dtypes(include="datetime").columns)
    columns = ", ".join(f"CAST({quote(c)} AS DATE) AS {quote(c)}" if c in days else quote(c)
                        for c in frame.columns)
    view = f"_{table}_frame"
    con.register(view, frame.astype({c: "string" for c in text}))
    try:
        catalog.write_select(con, table, f"SELECT {columns} FROM {view}")
    finally:
        con.unregister(view)
    return str(catalog.export(con, table, catalog.export_path(workspace, table, ".csv")))


def _read_opportunities(con: duckdb.DuckDBPyConnection, workspace: Path) -> pd.DataFrame:
    if not catalog.exists(con, OPPORTUNITIES):
        raise WorkspaceError(
            f"{warehouse.warehouse_path(workspace)} has no opportunities table: add a source "
            "with `table: opportunities` to the config and run `forecast data ingest`")
    frame = queries.opportunities(con, OPPORTUNITY_COLUMNS)
    if frame.empty:
        raise WorkspaceError(f"the opportunities table of {warehouse.warehouse_path(workspace)} "
                             "is empty")
    return frame


def _read_forecast(con: duckdb.DuckDBPyConnection, period) -> tuple[dict | None, str | None]:
    """The total forecast of the period and a note when there is none."""
    table = REVENUE_FORECAST_PERIODS
    if not catalog.exists(con, table):
        return None, (f"no {table} table in the warehouse: the comparison with the "
                      "statistical forecast is skipped (run the revenue forecast first)")
    rows = catalog.read_frame(con, table, where="grain = ? AND period_type = ? AND period = ?",
                              params=[TOTAL, period.kind, period.start])
    if rows.empty:
        return None, (f"{table} has no total {period.kind} row for {period.label}: "
                      "the comparison with the statistical forecast is skipped")
    return rows.iloc[0].to_dict(), None


def _funnel_frames(opportunities: pd.DataFrame, config: Config, as_of: date, window) -> dict:
    cfg = config.funnel
    paths = funnel.build_paths(opportunities, cfg, as_of)
    seen = funnel.history(paths, cfg, as_of)
    probabilities = funnel.win_probabilities(seen, cfg)
    conversion = (funnel.stage_conversion(seen, cfg)
                  .merge(funnel.time_in_stage(opportunities, cfg, as_of, seen["opportunity_id"]),
                         on="stage", how="left")
                  .merge(probabilities, on="stage", how="left"))
    conversion["timed"] = conversion["timed"].fillna(0).astype(int)
    counts = ["converted", "closed_reached", "won_reached"]
    conversion[counts] = conversion[counts].astype("Int64")
    return {
        "paths": paths, "history": seen,
        FUNNEL_CONVERSION: conversion.assign(as_of=pd.Timestamp(as_of)),
        FUNNEL_WIN_RATES: funnel.win_rates(seen, list(cfg.breakdowns)).assign(
            as_of=pd.Timestamp(as_of)),
        FUNNEL_PIPELINE: funnel.weighted_pipeline(paths, probabilities, window),
    }


def build_funnel(config: Config, period: str | None = None) -> FunnelResult:
    """Stage conversion, time in stage, win rates and the weighted pipeline of a period.

    Reads ``opportunities`` (and the last order day, which is the as-of day; the last stage
    day without orders), writes tables ``funnel_conversion``, ``funnel_win_rates`` and
    ``funnel_pipeline`` with CSV copies in ``<workspace>/outputs/``, and compares the weighted
    pipeline with ``revenue_forecast_periods`` (grain total) when that table is present.

    Args:
        config: the job config (workspace, funnel).
        period: the window of the weighted pipeline: a month, a quarter or ``next`` (default:
            the quarter after the last order).
    """
    started = time.perf_counter()
    with warehouse.connect(config.workspace) as con:
        opportunities = _read_opportunities(con, config.workspace)
        span = catalog.order_span(con)
        as_of = span[1] if span else pd.Timestamp(opportunities["stage_date"].max()).date()
        window = parse_period(period or "next", as_of)
        frames = _funnel_frames(opportunities, config, as_of, window)
        frames[FUNNEL_PIPELINE].insert(0, "period", window.label)
        forecast_row, note = _read_forecast(con, window)
        notes = _window_notes(opportunities, as_of, window) + ([note] if note else [])
        notes += _unpriced_note(frames[FUNNEL_PIPELINE])
        files = {table.name: _write_frame(con, config.workspace, table, frames[table])
                 for table in FUNNEL_TABLES}
    paths, pipeline = frames["paths"], frames[FUNNEL_PIPELINE]
    weighted = float(pipeline["weighted_amount"].sum())
    outcomes = paths["outcome"].value_counts()
    rates = frames[FUNNEL_WIN_RATES]
    return FunnelResult(
        as_of=str(as_of),
        lookback_days=config.funnel.lookback_days,
        opportunities=OpportunityCounts(
            len(paths), len(frames["history"]),
            *(int(outcomes.get(k, 0)) for k in ("open", "won", "lost"))),
        win_rate=_number(rates["win_rate"].iloc[0]) if len(rates) else None,
        cycle_days_median=funnel.cycle_days(frames["history"]),
        stages=_records(frames[FUNNEL_CONVERSION].drop(columns="as_of")),
        win_rates={d: _records(rows.drop(columns=["dimension", "as_of"]))
                   for d, rows in rates.groupby("dimension", sort=False) if d != "all"},
        pipeline=WeightedPipeline(
            period=window.label, start=str(window.start), end=str(window.last_day),
            opportunities=int(pipeline["opportunities"].sum()),
            without_amount=int(pipeline["without_amount"].sum()),
            amount=round(float(pipeline["amount"].sum()), 2), weighted=round(weighted, 2),
            by_stage=_records(pipeline.drop(columns="period")),
        ),
        forecast=_rounded(funnel.compare_with_forecast(weighted, forecast_row)),
        notes=notes,
        tables=list(files), files=files,
        seconds=round(time.perf_counter() - started, 3),
    )


def _unpriced_note(pipeline: pd.DataFrame) -> list[str]:
    """A note when open opportunities of the period have no amount: they count in the
    pipeline's opportunities but add nothing to its amount, which is then a lower bound."""
    unpriced = int(pipeline["without_amount"].sum())
    if not unpriced:
        return []
    return [(f"{unpriced} of {int(pipeline['opportunities'].sum())} open opportunities expected "
             "to close in the period have no amount: the pipeline amount and its weighted value "
             "leave them out and are a lower bound")]


def _window_notes(opportunities: pd.DataFrame, as_of: date, window) -> list[str]:
    notes = []
    later = int((pd.to_datetime(opportunities["stage_date"]) > pd.Timestamp(as_of)).sum())
    if later:
        notes.append(f"{later:,} opportunity rows dated after the last order day {as_of} are "
                     "ignored")
    if window.start <= as_of:
        notes.append(f"{window.label} starts on or before the as-of day {as_of}: deals already "
                     "closed in it are not in the weighted pipeline, only those still open")
    return notes


def _number(value) -> float | int | None:
    if value is None or pd.isna(value):
        return None
    return int(value) if isinstance(value, int | np.integer) else round(float(value), 4)


def _records(frame: pd.DataFrame) -> list[dict]:
    return [{k: v if isinstance(v, str) or v is None else _number(v) for k, v in row.items()}
            for row in frame.astype(object).to_dict("records")]


def _rounded(values: dict | None) -> dict | None:
    return None if values is None else {k: _number(v) for k, v in values.items()}


def _read_attainment_inputs(con: duckdb.DuckDBPyConnection, workspace: Path,
                            period_text: str):
    if not catalog.exists(con, TARGETS):
        raise WorkspaceError(
            f"{warehouse.warehouse_path(workspace)} has no targets table: add a source with "
            "`table: targets` to the config and run `forecast data ingest`")
    span = catalog.order_span(con)
    if span is None:
        raise WorkspaceError(f"{warehouse.warehouse_path(workspace)} has no orders")
    period = parse_period(period_text, span[1])
    targets, actuals = queries.attainment_inputs(con, period.year_before().start, period.end)
    return period, span, targets, actuals


def build_attainment(config: Config, period: str, grain: str | None = None
                     ) -> AttainmentResult:
    """Actual against target for a past month or quarter, per unit of each grain.

    Reads ``orders`` and ``targets``; writes table ``attainment`` and
    ``<workspace>/outputs/attainment.csv`` (columns of
    :data:`forecast.targets.attainment.ATTAINMENT_COLUMNS`).

    Args:
        config: the job config (workspace, attainment).
        period: ``2026-10`` (a month), ``2026-Q3`` (a quarter) or ``next``.
        grain: one of company, region, team, rep (the command line's ``--level``); default
            the configured ones (``attainment.levels``) the targets support.
    """
    started = time.perf_counter()
    with warehouse.connect(config.workspace) as con:
        window, span, targets, actuals = _read_attainment_inputs(con, config.workspace, period)
        core.check_period(targets, window, span)
        requested = [grain] if grain else list(config.attainment.levels)
        grains = core.resolve_grains(requested, targets, window, explicit=grain is not None)
        frame = core.build_attainment(actuals, targets, window, grains, span)
        path = _write_frame(con, config.workspace, ATTAINMENT, frame)
    summary = core.summarise_attainment(frame, config.attainment.top)
    return AttainmentResult(
        period=window.label, kind=window.kind, start=str(window.start),
        end=str(window.last_day), complete=bool(frame["complete"].iloc[0]),
        data=DataSpan(str(span[0]), str(span[1])), **summary,
        table=ATTAINMENT.name, rows=len(frame), csv=path,
        seconds=round(time.perf_counter() - started, 3),
    )
