"""The ``forecast`` command group and its sub-groups; command modules attach to these."""

from __future__ import annotations

import click

from forecast import __version__
from forecast.cli.common import Group, setup_logging


@click.group(cls=Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="forecast")
@click.option("-v", "--verbose", count=True, help="More log detail on stderr.")
@click.option("-q", "--quiet", is_flag=True, help="Only warnings and errors on stderr.")
def main(verbose: int, quiet: bool) -> None:
    """forecast: sales forecasting and risk modelling, from raw orders to next quarter's
    targets and the monthly sales report."""
    setup_logging(verbose, quiet)


@main.group(cls=Group)
def data() -> None:
    """Generate, check and ingest data."""



@main.group(cls=Group)
def features() -> None:
    """Build training sets: series frames and customer snapshots."""


@main.group(cls=Group)
def train() -> None:
    """Train models (tracked in MLflow)."""


@main.group(cls=Group)
def predict() -> None:
    """Forecast with trained models."""


@main.group(cls=Group)
def score() -> None:
    """Score customers with trained models."""
