"""The steps of ``forecast run``, each with the catalog entries it reads and writes.

A step's declarations are its contract with the chain (:mod:`forecast.pipeline.chain`): the
chain runs a step after every step that writes what it reads, feeds it their fingerprints, marks
it "not applicable" when one of them is, and checks the tables it writes before skipping it.
What a step reads only when it is there (its ``optional`` reads: a report without a forecast
leaves its outlook out) orders the step the same way but does not block it: the step runs and
is told which of them are missing and why. Nothing else orders the steps: a new step is one
more :class:`Step` here.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from forecast.config import Config
from forecast.io import catalog, warehouse
from forecast.io.catalog import (
    ATTAINMENT,
    CHURN_MODEL,
    CHURN_SCORE_CHUNKS,
    CHURN_SCORE_SKILL,
    CHURN_SCORE_UNSEEN,
    CHURN_SCORES,
    CUSTOMER_SNAPSHOTS,
    CUSTOMER_TIERS,
    CUSTOMERS,
    FUNNEL_CONVERSION,
    FUNNEL_PIPELINE,
    FUNNEL_WIN_RATES,
    INPUTS,
    OPPORTUNITIES,
    ORDERS,
    QUARANTINE,
    REVENUE_BACKTEST,
    REVENUE_FORECAST,
    REVENUE_FORECAST_PERIODS,
    REVENUE_MODEL,
    SERIES,
    SURVEYS,
    TARGETS,
    TARGETS_PLAN,
    TIER_SUMMARY,
    Dataset,
)
from forecast.pipeline.churn import score_churn, train_churn
from forecast.pipeline.data import build_customer_snapshots, build_series, ingest
from forecast.pipeline.forecasts import predict_revenue
from forecast.pipeline.funnel import build_attainment, build_funnel
from forecast.pipeline.reports import build_monthly_report, build_risk_report
from forecast.pipeline.revenue import train_revenue
from forecast.pipeline.targets import build_targets
from forecast.pipeline.tiers import build_tiers
from forecast.reports.periods import default_month

# What a table a step writes may hold without the step being rerun: bookkeeping that records
# when it was written (the ingest log, the scoring chunks) is not compared.
UNCOMPARED = (CHURN_SCORE_CHUNKS,)

# What a step with optional reads is told: entry name -> (the step that did not write it on this
# run, why: that step's "not applicable" reason).
Missing = Mapping[str, tuple[str, str]]


@dataclass(frozen=True)
class Step:
    """One step of the chain.

    Attributes:
        name: step name, as shown and recorded.
        run: does the step; returns its summary. A step with ``optional`` reads is called as
            ``run(config, missing)`` (see :data:`Missing`), any other as ``run(config)``.
        reads: the catalog entries it needs (tables, registered models): when a step that
            writes one is not applicable, so is this one.
        writes: the catalog entries it writes.
        settings: config sections its fingerprint covers (``features.customers``: one part).
        applicable: returns None when the data support the step, else the reason it cannot run.
        written: for a step whose tables depend on the config (the ingest), the tables a config
            makes it write; default the tables of ``writes``.
        optional: the catalog entries it reads when they are there: it runs after the steps
            that write them, but runs without them when those steps are not applicable.
    """

    name: str
    run: Callable[..., dict]
    reads: tuple[Dataset, ...] = ()
    writes: tuple[Dataset, ...] = ()
    settings: tuple[str, ...] = ()
    applicable: Callable[[Config], str | None] | None = None
    written: Callable[[Config], tuple[str, ...]] | None = None
    optional: tuple[Dataset, ...] = ()

    def call(self, config: Config, missing: Missing) -> dict:
        """Run the step; a step with optional reads is told which are missing and why."""
        return self.run(config, missing) if self.optional else self.run(config)

    def tables(self) -> tuple[Dataset, ...]:
        """The output tables it writes (not the models, nor the ingest's input tables): what
        a step that is not applicable must not leave behind from an earlier run."""
        return tuple(d for d in self.writes if d.kind == "table")

    def output_tables(self, config: Config) -> tuple[str, ...]:
        """The warehouse tables it writes whose content is checked before it is skipped."""
        if self.written is not None:
            return self.written(config)
        return tuple(d.name for d in self.writes if d.kind != "model" and d not in UNCOMPARED)


def _customers_known(config: Config) -> str | None:
    if config.churn.label_column:
        return None
    with warehouse.connect(config.workspace, read_only=True) as con:
        known, _, _ = catalog.customer_orders(con)
    return None if known else "the orders have no customer_id"


def _has_rows(dataset: Dataset) -> Callable[[Config], str | None]:
    def check(config: Config) -> str | None:
        with warehouse.connect(config.workspace, read_only=True) as con:
            rows = catalog.row_count(con, dataset)
        return None if rows else f"no {dataset} in the warehouse"
    return check


def _report_month(config: Config) -> str | None:
    """The last month the orders cover completely (the monthly report's own default); None
    without orders (the step then says so)."""
    with warehouse.connect(config.workspace, read_only=True) as con:
        through = catalog.orders_through(con)
    if through is None:
        return None
    month = default_month(through)
    return f"{month.year:04d}-{month.month:02d}"


def _ingested_tables(config: Config) -> tuple[str, ...]:
    """The tables the config's sources load, and the quarantine."""
    return (*sorted({source.table for source in config.sources}), QUARANTINE.name)


# Reports read what they find and omit the rest; they read the tables their sections show.
# The monthly report needs the orders only; the risk report needs the churn scores (the
# customers at risk are what it is about), and shows the rest when it is there.
MONTHLY_READS = (ORDERS, CUSTOMERS, TARGETS, OPPORTUNITIES)
MONTHLY_OPTIONAL = (CHURN_SCORES, CUSTOMER_TIERS, REVENUE_FORECAST_PERIODS, TARGETS_PLAN,
                    FUNNEL_CONVERSION)
RISK_READS = (ORDERS, CUSTOMERS, TARGETS, CHURN_SCORES, CHURN_SCORE_UNSEEN)
RISK_OPTIONAL = (CUSTOMER_TIERS, REVENUE_FORECAST_PERIODS, REVENUE_BACKTEST, CUSTOMER_SNAPSHOTS)

STEPS: tuple[Step, ...] = (
    # The ingest writes every input table, the config's own ones too (see _ingested_tables).
    Step("ingest", ingest, writes=INPUTS, settings=("sources",), written=_ingested_tables),
    Step("series", build_series, (ORDERS,), (SERIES,), ("features", "country")),
    Step("customer snapshots", build_customer_snapshots,
         (ORDERS, CUSTOMERS, SURVEYS, OPPORTUNITIES), (CUSTOMER_SNAPSHOTS,), ("features",),
         _customers_known),
    Step("train revenue", train_revenue, (SERIES,), (REVENUE_BACKTEST, REVENUE_MODEL),
         ("revenue", "country")),
    Step("predict revenue", predict_revenue, (REVENUE_MODEL, SERIES),
         (REVENUE_FORECAST, REVENUE_FORECAST_PERIODS), ("revenue",)),
    # Training builds its own snapshots (churn.cutoffs) with the customer snapshots' settings.
    Step("train churn", train_churn, (ORDERS, CUSTOMERS, SURVEYS, OPPORTUNITIES),
         (CHURN_MODEL,), ("churn", "features.customers"), _customers_known),
    Step("score churn", score_churn, (CHURN_MODEL, CUSTOMER_SNAPSHOTS),
         (CHURN_SCORES, CHURN_SCORE_CHUNKS, CHURN_SCORE_UNSEEN, CHURN_SCORE_SKILL), ("churn",),
         _customers_known),
    # Without churn scores every risk tier is unknown and the tiers say so.
    Step("tiers", lambda c, missing: build_tiers(c), (ORDERS,), (CUSTOMER_TIERS, TIER_SUMMARY),
         ("tiers",), _customers_known, optional=(CHURN_SCORES,)),
    Step("targets", lambda c: build_targets(c, "next"),
         (ORDERS, TARGETS, REVENUE_FORECAST_PERIODS, REVENUE_FORECAST), (TARGETS_PLAN,),
         ("targets",)),
    # Without a forecast the funnel has no forecast to compare the pipeline with, and says so.
    Step("funnel", lambda c, missing: build_funnel(c), (OPPORTUNITIES, ORDERS),
         (FUNNEL_CONVERSION, FUNNEL_WIN_RATES, FUNNEL_PIPELINE), ("funnel",),
         _has_rows(OPPORTUNITIES), optional=(REVENUE_FORECAST_PERIODS,)),
    Step("attainment", lambda c: build_attainment(c, _report_month(c)), (ORDERS, TARGETS),
         (ATTAINMENT,), ("attainment",), _has_rows(TARGETS)),
    Step("monthly report",
         lambda c, missing: build_monthly_report(c, _report_month(c), missing=missing),
         MONTHLY_READS, settings=("reports",), optional=MONTHLY_OPTIONAL),
    Step("risk report", lambda c, missing: build_risk_report(c, missing=missing), RISK_READS,
         settings=("reports",), optional=RISK_OPTIONAL),
)
