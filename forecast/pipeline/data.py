"""Orchestration of the data steps: synthesise, check, ingest, and the feature builders."""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from forecast.config import Config, SynthOptions
from forecast.errors import ConfigError, ValidationError, WorkspaceError
from forecast.features.customers import build_snapshot_sql
from forecast.features.series import build_partial_sql, build_series_sql, plan_series
from forecast.io import catalog, warehouse
from forecast.io.catalog import CUSTOMER_SNAPSHOTS, SERIES
from forecast.io.ingest import check_sources, ingest_report
from forecast.io.load import RemovedRows, UnchangedSource
from forecast.io.staged import SourceSummary
from forecast.pipeline.results import Result
from forecast.progress import ProgressCallback, Steps
from forecast.schemas import TOTAL
from forecast.synth import generate_company

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SynthResult(Result):
    """The synthetic company written: its folder, customers, rows and file per table."""

    out_dir: str
    customers: int
    rows: Mapping[str, int]
    files: Mapping[str, str]
    seconds: float


@dataclass(frozen=True)
class CheckResult(Result):
    """What validating the sources found, one summary per source."""

    sources: Sequence[SourceSummary]


@dataclass(frozen=True)
class IngestResult(Result):
    """What an ingest loaded: per source, the rows a config no longer feeds (removed) and the
    append-mode files skipped as already loaded (unchanged)."""

    workspace: str
    warehouse: str
    sources: Sequence[SourceSummary]
    removed: Sequence[RemovedRows]
    unchanged: Sequence[UnchangedSource]
    seconds: float


@dataclass(frozen=True)
class SeriesResult(Result):
    """The series table built: rows, series, date range, frequency, grains and its Parquet."""

    table: str
    rows: int
    series: int
    start: str
    end: str
    freq: str
    grains: Sequence[Sequence[str]]
    parquet: str
    seconds: float
    notes: Sequence[str] = ()


@dataclass(frozen=True)
class SnapshotsResult(Result):
    """The customer snapshots built; ``cutoffs`` holds per cutoff ``cutoff, customers,
    labelled, churn_rate``."""

    table: str
    rows: int
    cutoffs: Sequence[Mapping[str, Any]]
    parquet: str
    seconds: float
    cutoffs_from: str = "features.customers.cutoffs in the config"


def synthesise(
    options: SynthOptions, out_dir: Path, progress: ProgressCallback | None = None
) -> SynthResult:
    """Generate the synthetic company into ``out_dir``."""
    return SynthResult(**generate_company(options, Path(out_dir), progress))


def check(config: Config, progress: ProgressCallback | None = None) -> CheckResult:
    """Validate every source of a config without writing anything.

    ``progress`` is called as ``(done, total, what)`` per source read and checked.
    """
    return CheckResult(sources=tuple(check_sources(config, progress=progress)))


def ingest(config: Config, progress: ProgressCallback | None = None) -> IngestResult:
    """Load every source of a config into the workspace warehouse.

    ``progress`` is called as ``(done, total, what)`` per source read, checked and written.
    """
    started = time.perf_counter()
    report = ingest_report(config, progress=progress)
    return IngestResult(
        workspace=str(config.workspace),
        warehouse=str(warehouse.warehouse_path(config.workspace)),
        sources=tuple(report.sources),
        removed=tuple(report.removed),
        unchanged=tuple(report.unchanged),
        seconds=round(time.perf_counter() - started, 3),
    )


def build_series(config: Config, progress: ProgressCallback | None = None) -> SeriesResult:
    """Build the series frame of ``config.features.series`` into the warehouse and Parquet.

    ``progress`` is called as ``(done, total, what)`` as building and exporting start.
    """
    started = time.perf_counter()
    cfg = config.features.series
    steps = Steps(2, progress)
    with warehouse.connect(config.workspace) as con:
        grains = len(cfg.grains)
        steps.start(f"building {cfg.freq} series ({grains} grain{'' if grains == 1 else 's'})")
        plan = plan_series(con, cfg, config.country)
        rows = catalog.write_select(con, SERIES, build_series_sql(con, cfg, config.country, plan))
        _refuse_shared_ids(con)
        partial = build_partial_sql(plan)
        if partial is None:
            catalog.drop(con, catalog.SERIES_PARTIAL)
        else:
            catalog.write_select(con, catalog.SERIES_PARTIAL, partial)
        count, start, end = catalog.series_summary(con)
        steps.start(f"writing {rows:,} rows to Parquet")
        path = catalog.export(con, SERIES,
                              catalog.export_path(config.workspace, SERIES, ".parquet",
                                                  "features"), order_by="unique_id, ds")
    steps.finish()
    return SeriesResult(
        table=SERIES.name, rows=rows, series=count, start=str(start), end=str(end),
        freq=cfg.freq, grains=cfg.grains, parquet=str(path),
        seconds=round(time.perf_counter() - started, 3),
        notes=_partial_note(plan) + _spacing_note(plan),
    )


def _partial_note(plan) -> tuple[str, ...]:
    """What the series say of a partial last period they leave out."""
    if plan.partial_from is None:
        return ()
    days = (plan.last_day - plan.partial_from).days + 1
    note = (f"the orders stop on {plan.last_day.isoformat()}, {days} day(s) into the period "
            f"from {plan.partial_from.isoformat()}: that period is incomplete, so its orders "
            "are left out of the series (a model would read it as a fall in sales) and the "
            "forecasts start with it")
    return (note,)


_FREQ_WORDS = {"D": ("daily", "days"), "W": ("weekly", "weeks"), "M": ("monthly", "months"),
               "Q": ("quarterly", "quarters")}


def _spacing_note(plan) -> tuple[str, ...]:
    """What the series say when the orders come less often than their periods: weekly data
    built into daily series are empty six days in seven, and every model and report reads
    those days as no sales."""
    if plan.spacing is None:
        return ()
    gap, empty = plan.spacing
    coarser = next((freq for freq, (low, high) in (("W", (6, 8)), ("M", (27, 32)),
                                                   ("Q", (88, 93))) if low <= gap <= high), None)
    fix = (f"`features.series.freq: {coarser}` makes them {_FREQ_WORDS[coarser][0]}"
           if coarser else "a coarser `features.series.freq` fits them better")
    kind, periods = _FREQ_WORDS[plan.config.freq]
    note = (f"the orders are dated about every {gap:g} days, but the series are {kind}: "
            f"{empty:.0%} of their {periods} have no order and are read as no sales; {fix}")
    return (note,)


def _refuse_shared_ids(con) -> None:
    """A series id must name one series: two grains giving the same id (a store called
    "total", a region and a store of one name) would be summed into one series downstream.

    Raises:
        ValidationError: naming the ids and their grains; the series table is dropped.
    """
    shared = catalog.shared_series_ids(con)
    if shared:
        catalog.drop(con, SERIES)
        shown = "; ".join(f"{uid!r} is a {' and a '.join(grains)} series"
                          for uid, grains in shared)
        raise ValidationError(
            f"series ids must differ across grains, but {shown}. Rename those values in the "
            f"data (the company total's id is {TOTAL!r}), or drop one of the grains "
            "(features.series.grains)")


def check_cutoffs(cutoffs: list[date], last_order_day: date, origin: str) -> None:
    """Refuse snapshot cutoffs after the day after the last order day.

    The scoring snapshot sits on the day after the data (its features see every order, its
    labels are unknown); a later cutoff would describe days the data do not cover.

    Raises:
        ConfigError: a cutoff is later than ``last_order_day + 1``, naming it, the data's last
            day, the latest cutoff allowed and where the cutoff came from (``origin``).
    """
    latest = last_order_day + timedelta(days=1)
    late = sorted({c for c in cutoffs if c > latest})
    if late:
        shown = ", ".join(c.isoformat() for c in late)
        raise ConfigError(
            f"customer snapshot cutoff {shown} ({origin}) is after the data: the last order "
            f"day is {last_order_day.isoformat()}, so the latest cutoff allowed is "
            f"{latest.isoformat()} (the day after, for scoring); use cutoffs on or before "
            f"{latest.isoformat()}. Nothing was written; existing snapshots are unchanged")


# Snapshot cutoffs chosen from the data when none are given: the scoring cutoff and up to five
# earlier ones (as many as the demo configures), enough for out-of-time churn validation.
DEFAULT_CUTOFFS = 6
FROM_DATA = ("the data (features.customers.cutoffs is empty): the day after the last order day "
             "and earlier cutoffs a label horizon apart")


def default_cutoffs(first_day: date, last_day: date, horizon_days: int,
                    count: int = DEFAULT_CUTOFFS) -> list[date]:
    """Snapshot cutoffs when none are configured, ascending: the scoring cutoff (the day after
    ``last_day``) and up to ``count - 1`` earlier ones ``horizon_days`` apart, so that their
    label windows do not overlap and each later cutoff validates the earlier ones out of time.
    An earlier cutoff is kept only at least ``horizon_days`` after ``first_day`` (the first
    order of a known customer), so its customers have a history to describe."""
    latest = _as_date(last_day) + timedelta(days=1)
    earliest = _as_date(first_day) + timedelta(days=horizon_days)
    earlier = [latest - timedelta(days=k * horizon_days) for k in range(1, count)]
    return sorted(c for c in earlier if c >= earliest) + [latest]


def configured_cutoffs(con, config: Config, given: Sequence | None = None
                       ) -> tuple[list[date], str, date]:
    """The snapshot cutoffs to build, where they come from (``given``: ``--cutoff``, else
    ``features.customers.cutoffs``, else :func:`default_cutoffs` of the orders in ``con``)
    and the last order day, from one query of the orders.

    Raises:
        WorkspaceError: no order line has a customer id.
    """
    with_ids, first_day, last_day = catalog.customer_orders(con)
    if with_ids == 0:
        raise WorkspaceError(
            f"{warehouse.warehouse_path(config.workspace)}: no order has a customer_id, so "
            "there are no customers to snapshot (map `customer_id` in the orders source)")
    last_day = _as_date(last_day)
    if given:
        return [_as_date(c) for c in given], "--cutoff", last_day
    cfg = config.features.customers
    if cfg.cutoffs:
        return list(cfg.cutoffs), "features.customers.cutoffs in the config", last_day
    return default_cutoffs(first_day, last_day, cfg.horizon_days), FROM_DATA, last_day


def build_customer_snapshots(config: Config, cutoffs: list | None = None,
                             progress: ProgressCallback | None = None) -> SnapshotsResult:
    """Build point-in-time customer snapshots at each cutoff into the warehouse and Parquet.

    ``cutoffs`` default to ``features.customers.cutoffs``, and those to cutoffs chosen from the
    data (:func:`default_cutoffs`). Every cutoff must be on or before the day after the last
    order day (see :func:`check_cutoffs`); otherwise nothing is written and the existing
    snapshots stay. ``progress`` is called as ``(done, total, what)`` as building and exporting
    start.
    """
    started = time.perf_counter()
    steps = Steps(2, progress)
    cfg = config.features.customers
    with warehouse.connect(config.workspace) as con:
        cutoffs, origin, last_day = configured_cutoffs(con, config, cutoffs)
        check_cutoffs(cutoffs, last_day, origin)
        steps.start(f"building snapshots at {len(cutoffs)} cutoffs")
        sql = build_snapshot_sql(con, cfg, cutoffs)
        rows = catalog.write_select(con, CUSTOMER_SNAPSHOTS, sql)
        per_cutoff = catalog.snapshot_counts(con)
        steps.start(f"writing {rows:,} rows to Parquet")
        path = catalog.export(con, CUSTOMER_SNAPSHOTS,
                              catalog.export_path(config.workspace, CUSTOMER_SNAPSHOTS,
                                                  ".parquet", "features"),
                              order_by="cutoff, customer_id")
    return SnapshotsResult(
        table=CUSTOMER_SNAPSHOTS.name,
        rows=rows,
        cutoffs=[
            {"cutoff": str(c), "customers": n, "labelled": k,
             "churn_rate": None if rate is None else round(rate, 4)}
            for c, n, k, rate in per_cutoff
        ],
        parquet=str(path),
        seconds=round(time.perf_counter() - started, 3),
        cutoffs_from=origin,
    )


def _as_date(value) -> date:
    """A date from a date, datetime or pandas Timestamp."""
    return value.date() if isinstance(value, datetime) else value
