"""Orchestration of the data steps: synthesise, check, ingest, and the feature builders."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import date, datetime, timedelta
from pathlib import Path

from forecast.config import Config, SynthOptions
from forecast.errors import ConfigError, WorkspaceError
from forecast.features.customers import build_snapshot_sql
from forecast.features.series import build_series_sql
from forecast.io import catalog, warehouse
from forecast.io.catalog import CUSTOMER_SNAPSHOTS, SERIES
from forecast.io.ingest import check_sources, ingest_report
from forecast.synth import generate_company

log = logging.getLogger(__name__)


def synthesise(
    options: SynthOptions, out_dir: Path, progress: Callable[[int, int], None] | None = None
) -> dict:
    """Generate the synthetic company into ``out_dir``."""
    return generate_company(options, Path(out_dir), progress)


def check(config: Config) -> dict:
    """Validate every source of a config without writing anything."""
    summaries = check_sources(config)
    return {"sources": [s.to_dict() for s in summaries]}


def ingest(config: Config) -> dict:
    """Load every source of a config into the workspace warehouse."""
    started = time.perf_counter()
    report = ingest_report(config)
    return {
        "workspace": str(config.workspace),
        "warehouse": str(warehouse.warehouse_path(config.workspace)),
        "sources": [s.to_dict() for s in report.sources],
        "removed": [r.to_dict() for r in report.removed],
        "unchanged": [u.to_dict() for u in report.unchanged],
        "seconds": round(time.perf_counter() - started, 3),
    }


def build_series(config: Config) -> dict:
    """Build the series frame of ``config.features.series`` into the warehouse and Parquet."""
    started = time.perf_counter()
    cfg = config.features.series
    with warehouse.connect(config.workspace) as con:
        sql = build_series_sql(con, cfg, config.country)
        rows = catalog.write_select(con, SERIES, sql)
        count, start, end = catalog.series_summary(con)
        path = catalog.export(con, SERIES,
                              catalog.export_path(config.workspace, SERIES, ".parquet",
                                                  "features"), order_by="unique_id, ds")
    return {
        "table": SERIES.name,
        "rows": rows,
        "series": count,
        "start": str(start),
        "end": str(end),
        "freq": cfg.freq,
        "grains": cfg.grains,
        "parquet": str(path),
        "seconds": round(time.perf_counter() - started, 3),
    }


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


def build_customer_snapshots(config: Config, cutoffs: list | None = None) -> dict:
    """Build point-in-time customer snapshots at each cutoff into the warehouse and Parquet.

    ``cutoffs`` default to ``features.customers.cutoffs``. Every cutoff must be on or before the
    day after the last order day (see :func:`check_cutoffs`); otherwise nothing is written and
    the existing snapshots stay.
    """
    started = time.perf_counter()
    cfg = config.features.customers
    origin = "--cutoff" if cutoffs else "features.customers.cutoffs in the config"
    cutoffs = list(cutoffs or cfg.cutoffs)
    with warehouse.connect(config.workspace) as con:
        with_ids, last_day = catalog.customer_orders(con)
        if with_ids == 0:
            raise WorkspaceError(
                f"{warehouse.warehouse_path(config.workspace)}: no order has a customer_id, so "
                "there are no customers to snapshot (map `customer_id` in the orders source)")
        check_cutoffs([_as_date(c) for c in cutoffs], _as_date(last_day), origin)
        sql = build_snapshot_sql(con, cfg, cutoffs)
        rows = catalog.write_select(con, CUSTOMER_SNAPSHOTS, sql)
        per_cutoff = catalog.snapshot_counts(con)
        path = catalog.export(con, CUSTOMER_SNAPSHOTS,
                              catalog.export_path(config.workspace, CUSTOMER_SNAPSHOTS,
                                                  ".parquet", "features"),
                              order_by="cutoff, customer_id")
    return {
        "table": CUSTOMER_SNAPSHOTS.name,
        "rows": rows,
        "cutoffs": [
            {"cutoff": str(c), "customers": n, "labelled": k,
             "churn_rate": None if rate is None else round(rate, 4)}
            for c, n, k, rate in per_cutoff
        ],
        "parquet": str(path),
        "seconds": round(time.perf_counter() - started, 3),
    }


def _as_date(value) -> date:
    """A date from a date, datetime or pandas Timestamp."""
    return value.date() if isinstance(value, datetime) else value
