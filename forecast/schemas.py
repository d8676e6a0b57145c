"""Canonical column names and table contracts: the one vocabulary of forecast.

Every source is mapped onto these tables at ingest; everything downstream (features, models,
reports) reads only these names. Types are DuckDB logical types, because the warehouse is DuckDB.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

ColumnType = Literal["VARCHAR", "DATE", "DOUBLE", "BIGINT", "BOOLEAN"]
COLUMN_TYPES: tuple[ColumnType, ...] = ("VARCHAR", "DATE", "DOUBLE", "BIGINT", "BOOLEAN")

# Series frames (features -> models).
UNIQUE_ID = "unique_id"
DS = "ds"
Y = "y"
# Customer snapshots (features -> churn models).
CUSTOMER_ID = "customer_id"
CUTOFF = "cutoff"
LABEL = "churned"
# Model outputs.
H = "h"
LEVEL = "level"
YHAT = "yhat"
CHURN_PROBA = "churn_proba"
TIER = "tier"

# Series keys: a key is an organisation or product column a series can be cut by (``KEY_COLUMNS``
# below: region, channel, ...); a grain is a set of keys, named by them joined with ``/``
# (``region/channel``). A stacked series frame names each series' grain in ``grain``; the
# company total's grain and id are ``total``, and a missing value of a key is the label
# ``(none)``. ("level" is only an interval's coverage, see ``DEFAULT_LEVELS``.)
GRAIN = "grain"
TOTAL = "total"
NULL_KEY = "(none)"

# A series whose sales were zero through every backtest fold a choice was made on: it is
# forecast as zero and flagged so in the forecast's ``discontinued`` column.
DISCONTINUED = "discontinued"

# Backtest vocabulary: the rows of a rolling-origin backtest carry their fold (origin number)
# and the candidate that made them (``CUTOFF`` above is the origin date).
FOLD = "fold"
MODEL = "model"

# Choices named by the config and acted on by model selection and reconciliation.
ReconcileMethod = Literal["none", "bottom_up", "ols", "wls_var", "mint_shrink"]
SelectionStrategy = Literal["auto", "best", "inverse_error", "pooled_inverse_error"]
# Choices of estimator hyperparameters that the config names too.
ProphetGrowth = Literal["linear", "logistic", "flat"]
SeasonalityMode = Literal["additive", "multiplicative"]
BoostingLoss = Literal["absolute_error", "squared_error", "poisson"]
ChurnCandidate = Literal["logistic", "gradient_boosting"]
StatsForecastFamily = Literal["auto_ets", "auto_theta", "auto_arima", "mstl"]
CalibrationMethod = Literal["auto", "sigmoid", "isotonic", "none"]
# The group of every series, where a choice or a calibration is made for all series at once.
ALL_SERIES = "__all__"

# Interval vocabulary: ``level`` is a central interval's coverage in percent (statsforecast's
# meaning); its bounds are the columns ``yhat_lo_<level>`` and ``yhat_hi_<level>``.
DEFAULT_LEVELS: tuple[int, ...] = (80, 95)


def interval_columns(level: float) -> tuple[str, str]:
    """Names of the lower and upper bound columns of a central interval, e.g. ``yhat_lo_80``."""
    label = f"{level:g}"
    return f"{YHAT}_lo_{label}", f"{YHAT}_hi_{label}"

# Columns the warehouse adds to every ingested row, for lineage.
SOURCE = "source"
SOURCE_ROW = "source_row"

# The keys: organisation and product columns a series can be cut by, in hierarchy order.
KEY_COLUMNS: tuple[str, ...] = (
    "region",
    "channel",
    "product_line",
    "team",
    "rep_id",
    "segment",
    "store",
)
# The keys targets are set on (the columns of ``targets`` below), from the top down.
TARGET_KEYS: tuple[str, ...] = ("region", "team", "rep_id")

SEGMENTS = ("key account", "mid-market", "small")
CHANNELS = ("online", "offline", "distributor")
FUNNEL_STAGES = ("initial contact", "needs analysis", "proposal", "negotiation", "won", "lost")


@dataclass(frozen=True)
class Column:
    """One canonical column.

    Attributes:
        name: canonical name.
        dtype: DuckDB type the value is parsed into.
        required: a source for this table must provide it, and every row must have a value.
        description: what the column means, for users mapping their files.
        money: an amount of money, rounded at ingest to the currency's smallest unit (the
            source's ``money_decimals``: cents by default).
        identifier: a key; a whole number written with a decimal part (``12417.0``, as files
            exported from a float column write it) is read as the whole number (``12417``).
    """

    name: str
    dtype: ColumnType
    required: bool = False
    description: str = ""
    money: bool = False
    identifier: bool = False


@dataclass(frozen=True)
class Table:
    """A canonical warehouse table."""

    name: str
    columns: tuple[Column, ...]
    description: str = ""
    # Dates in these columns must not lie after the ingest day (orders cannot come from the future).
    past_only: tuple[str, ...] = ()

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)

    @property
    def required(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns if c.required)

    def column(self, name: str) -> Column:
        for col in self.columns:
            if col.name == name:
                return col
        raise KeyError(name)


ORDERS = Table(
    "orders",
    (
        Column("order_id", "VARCHAR", identifier=True,
               description="order or invoice number; lines share it"),
        Column("order_date", "DATE", required=True, description="day the order was placed"),
        Column("customer_id", "VARCHAR", identifier=True, description="buying customer"),
        Column("product_id", "VARCHAR", identifier=True, description="product or SKU"),
        Column("product_line", "VARCHAR", description="product line or category"),
        Column("channel", "VARCHAR", description="sales channel: online, offline, distributor"),
        Column("region", "VARCHAR", description="sales region"),
        Column("team", "VARCHAR", description="sales team"),
        Column("rep_id", "VARCHAR", identifier=True, description="sales representative"),
        Column("segment", "VARCHAR", description="customer segment at the time of the order"),
        Column("store", "VARCHAR", identifier=True,
               description="store or outlet, for retail series"),
        Column("quantity", "DOUBLE", description="units; negative for returns"),
        Column("unit_price", "DOUBLE", description="price per unit charged"),
        Column("amount", "DOUBLE", required=True, money=True,
               description="revenue; negative for returns"),
        Column("unit_cost", "DOUBLE", description="cost per unit, for margin"),
        Column("promo", "BOOLEAN", description="sold under a promotion"),
    ),
    "One row per order line (or per period and store for data that are already series).",
    past_only=("order_date",),
)

CUSTOMERS = Table(
    "customers",
    (
        Column("customer_id", "VARCHAR", required=True, identifier=True,
               description="customer key"),
        Column("name", "VARCHAR", description="customer name"),
        Column("segment", "VARCHAR", description="key account, mid-market or small"),
        Column("region", "VARCHAR", description="home region"),
        Column("industry", "VARCHAR", description="industry"),
        Column("signup_date", "DATE", description="first day as a customer"),
        Column("satisfaction", "DOUBLE", description="latest satisfaction score (0-10)"),
        Column("rep_id", "VARCHAR", identifier=True, description="account owner"),
        Column("channel", "VARCHAR", description="primary channel"),
    ),
    "One row per customer: attributes that are not in the orders.",
)

TARGETS = Table(
    "targets",
    (
        Column("period", "DATE", required=True, description="first day of the target month"),
        Column("region", "VARCHAR", description="region the target belongs to"),
        Column("team", "VARCHAR", description="team the target belongs to"),
        Column("rep_id", "VARCHAR", identifier=True,
               description="rep the target belongs to, if any"),
        Column("target", "DOUBLE", required=True, money=True,
               description="revenue target for the month"),
    ),
    "Monthly revenue targets per organisation unit.",
)

OPPORTUNITIES = Table(
    "opportunities",
    (
        Column("opportunity_id", "VARCHAR", required=True, identifier=True,
               description="opportunity key"),
        Column("customer_id", "VARCHAR", identifier=True,
               description="customer the deal is with"),
        Column("rep_id", "VARCHAR", identifier=True, description="rep who owns the deal"),
        Column("team", "VARCHAR", description="team of the rep"),
        Column("region", "VARCHAR", description="region of the deal"),
        Column("channel", "VARCHAR", description="channel of the deal"),
        Column("segment", "VARCHAR", description="segment of the customer"),
        Column("stage", "VARCHAR", required=True, description="funnel stage entered: " + ", ".join(FUNNEL_STAGES)),
        Column("stage_date", "DATE", required=True, description="day the stage was entered"),
        Column("amount", "DOUBLE", money=True,
               description="deal value as estimated at that stage"),
        Column("expected_close_date", "DATE", description="expected close as of that stage"),
    ),
    "Funnel history: one row per opportunity and stage entered.",
    past_only=("stage_date",),
)

SURVEYS = Table(
    "surveys",
    (
        Column("customer_id", "VARCHAR", required=True, identifier=True,
               description="customer surveyed"),
        Column("survey_date", "DATE", required=True, description="day of the survey"),
        Column("score", "DOUBLE", required=True, description="satisfaction score (0-10)"),
    ),
    "Satisfaction surveys over time, so features can use the score known at a cutoff.",
    past_only=("survey_date",),
)

CANONICAL_TABLES: dict[str, Table] = {
    t.name: t for t in (ORDERS, CUSTOMERS, TARGETS, OPPORTUNITIES, SURVEYS)
}

# Warehouse bookkeeping tables.
QUARANTINE_TABLE = "quarantine"
INGEST_LOG_TABLE = "ingest_log"
