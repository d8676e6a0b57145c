"""The demo: the synthetic company, its config, and the whole chain run on it."""

from __future__ import annotations

import shutil
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import yaml

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
from forecast.io.catalog import CUSTOMERS, OPPORTUNITIES, ORDERS, SURVEYS, TARGETS
from forecast.pipeline.chain import run_chain
from forecast.pipeline.data import SynthResult, synthesise
from forecast.pipeline.results import Result
from forecast.progress import ProgressCallback
from forecast.schemas import CANONICAL_TABLES

# Files of the synthetic company that map onto canonical tables (same basenames, same columns).
SYNTH_TABLES = tuple(t.name for t in (ORDERS, CUSTOMERS, SURVEYS, OPPORTUNITIES, TARGETS))
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


@dataclass(frozen=True)
class DemoResult(Result):
    """The demo workspace: its config, the synthetic company and the chain run on it (the
    fields of :class:`~forecast.pipeline.results.ChainResult`)."""

    workspace: str
    config: str
    synth: SynthResult
    steps: Sequence[Mapping[str, Any]]
    reports: Sequence[str]
    seconds: float


def demo_config(data_dir: Path, workspace: Path) -> Config:
    """The source config of the synthetic company generated into ``data_dir``.

    ``configs/demo.yaml`` is this config written out for the repository's layout.
    """
    sources = []
    for table in SYNTH_TABLES:
        columns = CANONICAL_TABLES[table].column_names
        if table == ORDERS.name:
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


def run_demo(
    workspace: Path, options: SynthOptions | None = None,
    progress: ProgressCallback | None = None,
    chain_progress: ProgressCallback | None = None,
    until: str | None = None,
) -> DemoResult:
    """Generate the sample company into a fresh workspace and run the whole chain on it.

    The generated files go to ``<workspace>/source-data`` and the config used to ingest them is
    written to ``<workspace>/demo.yaml`` so every later command can be run against it.
    ``until`` stops the chain after that step (e.g. ``customer snapshots`` for the data only).
    """
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
    chain = run_chain(config, force=True, progress=chain_progress, until=until)
    return DemoResult(workspace=chain.workspace, config=str(config_path), synth=synth,
                      steps=chain.steps, reports=chain.reports, seconds=chain.seconds)
