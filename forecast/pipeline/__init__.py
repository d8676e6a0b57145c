"""Orchestration: io -> features -> models -> results -> reports.

Each function here is what one command does, with typed inputs and a typed summary out (a
frozen dataclass with ``to_json()``, see :mod:`forecast.pipeline.results`); the command line
only parses arguments and prints. One module per stage of the chain.
"""

from forecast.pipeline.churn import score_churn, train_churn
from forecast.pipeline.data import (
    build_customer_snapshots,
    build_series,
    check,
    ingest,
    synthesise,
)
from forecast.pipeline.demo import (
    DEMO_CUSTOMERS,
    DEMO_CUTOFFS,
    DEMO_GRAINS,
    DEMO_YEARS,
    SYNTH_TABLES,
    demo_config,
    run_demo,
)
from forecast.pipeline.forecasts import predict_revenue
from forecast.pipeline.funnel import build_attainment, build_funnel
from forecast.pipeline.reports import build_monthly_report, build_risk_report
from forecast.pipeline.revenue import train_revenue
from forecast.pipeline.targets import build_targets
from forecast.pipeline.tiers import build_tiers

__all__ = [
    "DEMO_CUSTOMERS", "DEMO_CUTOFFS", "DEMO_GRAINS", "DEMO_YEARS", "SYNTH_TABLES",
    "build_attainment", "build_customer_snapshots", "build_funnel", "build_monthly_report",
    "build_risk_report", "build_series", "build_targets", "build_tiers", "check", "demo_config",
    "ingest", "predict_revenue", "run_demo", "score_churn", "synthesise", "train_churn",
    "train_revenue",
]
