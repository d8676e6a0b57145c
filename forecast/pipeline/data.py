"""Orchestration of the data steps: synthesise, check, ingest, and the feature builders."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path

from forecast.config import (
    Config,
    CustomerFeaturesConfig,
    FeaturesConfig,
    RevenueConfig,
    SeriesConfig,
    SourceConfig,
    SynthOptions,
)
from forecast.config.revenue import GlobalModelOptions
from forecast.schemas import CANONICAL_TABLES

log = logging.getLogger(__name__)

# Files of the synthetic company that map onto canonical tables (same basenames, same columns).
SYNTH_TABLES = ("orders", "customers", "surveys", "opportunities", "targets")
DEMO_CUSTOMERS = 2000
DEMO_YEARS = 3
# The demo's hierarchy: company total, region, region x channel, region x channel x product line.
DEMO_GRAINS = [[], ["region"], ["region", "channel"], ["region", "channel", "product_line"]]
# Quarterly snapshots whose 90-day label windows close before the data ends (2026-10-31), then the
# day after the data for scoring (its labels are unknown).
DEMO_CUTOFFS = [date(2025, 7, 1), date(2025, 10, 1), date(2026, 1, 1), date(2026, 4, 1),
                date(2026, 7, 1), date(2026, 11, 1)]


# The demo forecasts 6 months so next quarter (2027-Q1) is covered to its end, and keeps to the
# fast candidates so the whole chain runs in minutes; Prophet is one line away (candidates).
DEMO_REVENUE = RevenueConfig(
    horizon="6M", backtest_h=13, eval_folds=2, selection_folds=2,
    candidates=["seasonal_naive", "seasonal_growth", "moving_average", "global_hgb"],
    regressors=["holiday_count"], global_model=GlobalModelOptions(max_iter=200),
)


def demo_config(data_dir: Path, workspace: Path) -> Config:
    """The source config of the synthetic company generated into ``data_dir``.

    ``configs/demo.yaml`` is this config written out for the repository's layout.
    """
    sources = []
    for table in SYNTH_TABLES:
        columns = CANONICAL_TABLES[table].column_names
        if table == "orders":
            columns = tuple(c for c in columns if c != "store")
        sources.append(
            SourceConfig(
                table=table,
                path=Path(data_dir) / f"{table}.parquet",
                name=f"synthetic_{table}",
                columns={c: c for c in columns},
            )
        )
    return Config(
        workspace=Path(workspace),
        sources=sources,
        country="CN",
        description="The synthetic company of `forecast data synth`.",
        features=FeaturesConfig(
            series=SeriesConfig(grains=DEMO_GRAINS, freq="W"),
            customers=CustomerFeaturesConfig(cutoffs=DEMO_CUTOFFS),
        ),
        revenue=DEMO_REVENUE,
    )


def synthesise(
    options: SynthOptions, out_dir: Path, progress: Callable[[int, int], None] | None = None
) -> dict:
    """Generate the synthetic company into ``out_dir``."""
    from forecast.synth import generate_company

    return generate_company(options, Path(out_dir), progress)


def check(config: Config) -> dict:
    """Validate every source of a config without writing anything."""
    from forecast.io.ingest import check_sources

    summaries = check_sources(config)
    return {"sources": [s.to_dict() for s in summaries]}


def ingest(config: Config) -> dict:
    """Load every source of a config into the workspace warehouse."""
    from forecast.io.ingest import ingest_report
    from forecast.io.warehouse import warehouse_path

    started = time.perf_counter()
    report = ingest_report(config)
    return {
        "workspace": str(config.workspace),
        "warehouse": str(warehouse_path(config.workspace)),
        "sources": [s.to_dict() for s in report.sources],
        "removed": [r.to_dict() for r in report.removed],
        "unchanged": [u.to_dict() for u in report.unchanged],
        "seconds": round(time.perf_counter() - started, 3),
    }


def run_demo(
    workspace: Path, options: SynthOptions | None = None,
    progress: Callable[[int, int], None] | None = None,
    chain_progress: Callable[[int, int], None] | None = None,
    until: str | None = None,
) -> dict:
    """Generate the sample company into a fresh workspace and run the whole chain on it.

    The generated files go to ``<workspace>/source-data`` and the config used to ingest them is
    written to ``<workspace>/demo.yaml`` so every later command can be run against it.
    ``until`` stops the chain after that step (e.g. ``customer snapshots`` for the data only).
    """
    import shutil

    import yaml

    options = options or SynthOptions(customers=DEMO_CUSTOMERS, years=DEMO_YEARS)
    workspace = Path(workspace).resolve()
    if workspace.exists():
        shutil.rmtree(workspace)
    data_dir = workspace / "source-data"
    synth = synthesise(options, data_dir, progress)
    config = demo_config(data_dir, workspace)
    config_path = workspace / "demo.yaml"
    config_path.write_text(
        yaml.safe_dump(config.model_dump(mode="json", exclude_defaults=True), sort_keys=False),
        encoding="utf-8",
    )
    from forecast.pipeline.chain import run_chain

    chain = run_chain(config, force=True, progress=chain_progress, until=until)
    return {"workspace": str(workspace), "config": str(config_path), "synth": synth, **chain}


def build_series(config: Config) -> dict:
    """Build the series frame of ``config.features.series`` into the warehouse and Parquet."""
    from forecast.features.series import build_series_sql
    from forecast.io import warehouse
    from forecast.io.outputs import export_table, write_table

    started = time.perf_counter()
    cfg = config.features.series
    with warehouse.connect(config.workspace) as con:
        sql = build_series_sql(con, cfg, config.country)
        rows = write_table(con, "series", sql)
        stats = con.execute(
            "SELECT count(DISTINCT unique_id), min(ds), max(ds) FROM series"
        ).fetchone()
        path = export_table(con, "series", config.workspace / "features" / "series.parquet",
                            order_by="unique_id, ds")
    return {
        "table": "series",
        "rows": rows,
        "series": int(stats[0]),
        "start": str(stats[1]),
        "end": str(stats[2]),
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
    from datetime import timedelta

    from forecast.errors import ConfigError

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
    from forecast.features.customers import build_snapshot_sql
    from forecast.io import warehouse
    from forecast.io.outputs import export_table, write_table

    started = time.perf_counter()
    cfg = config.features.customers
    origin = "--cutoff" if cutoffs else "features.customers.cutoffs in the config"
    cutoffs = list(cutoffs or cfg.cutoffs)
    with warehouse.connect(config.workspace) as con:
        with_ids, last_day = con.execute(
            "SELECT count(*) FILTER (WHERE customer_id IS NOT NULL), max(order_date) "
            "FROM orders").fetchall()[0]
        if with_ids == 0:
            from forecast.errors import WorkspaceError

            raise WorkspaceError(
                f"{warehouse.warehouse_path(config.workspace)}: no order has a customer_id, so "
                "there are no customers to snapshot (map `customer_id` in the orders source)")
        check_cutoffs([_as_date(c) for c in cutoffs], _as_date(last_day), origin)
        sql = build_snapshot_sql(con, cfg, cutoffs)
        rows = write_table(con, "customer_snapshots", sql)
        per_cutoff = con.execute(
            "SELECT cutoff, count(*), count(churned), avg(CAST(churned AS DOUBLE)) "
            "FROM customer_snapshots GROUP BY cutoff ORDER BY cutoff"
        ).fetchall()
        path = export_table(con, "customer_snapshots",
                            config.workspace / "features" / "customer_snapshots.parquet",
                            order_by="cutoff, customer_id")
    return {
        "table": "customer_snapshots",
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
    from datetime import datetime

    return value.date() if isinstance(value, datetime) else value
