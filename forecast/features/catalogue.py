"""The catalogue of customer snapshot features: the one place every feature is documented.

Each entry gives a column's name, family, DuckDB type and meaning. Names with ``{w}`` are
expanded once per trailing window of ``CustomerFeaturesConfig.windows``; names with ``{p}`` use
``CustomerFeaturesConfig.product_window_days``. Tests check that the snapshot builder produces
exactly the catalogued columns, so a feature cannot be added without being documented here.

Conventions every feature follows:

- Only data strictly before the cutoff is used (survey and funnel rows dated before it, order
  lines dated before it).
- A *purchase* is an order line with a positive amount; a *return* is a line with a negative
  amount. Returns never count as activity (recency, frequency, intervals, the churn label) but
  do count toward net revenue and the return rates. Zero-amount lines count toward neither but
  do make a customer part of the snapshot population.
- A *purchase day* is a day with at least one purchase line. Trailing windows are half-open:
  the ``{w}``-day window of a cutoff ``c`` is ``[c - w, c)``, the window before it
  ``[c - 2w, c - w)``.
- A feature whose source data the warehouse lacks (an absent table, or an order column that is
  NULL for the whole data set) is NULL for every customer. Counts are 0, not NULL, when the data
  exist but the customer has none.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from forecast.config import CustomerFeaturesConfig
from forecast.schemas import CUSTOMER_ID, CUTOFF, LABEL

Family = Literal[
    "rfm", "lifetimes", "window", "trend", "interval", "product", "channel", "returns",
    "margin", "attribute", "satisfaction", "opportunity",
]
FeatureType = Literal["BIGINT", "DOUBLE", "VARCHAR"]

LABEL_COMPLETE = "label_complete"
KEY_COLUMNS: tuple[str, ...] = (CUTOFF, CUSTOMER_ID)
LABEL_COLUMNS: tuple[str, ...] = (LABEL, LABEL_COMPLETE)
LABEL_DESCRIPTIONS: dict[str, str] = {
    LABEL: "TRUE when the customer makes no purchase in [cutoff, cutoff + horizon_days), FALSE "
           "when they do; NULL when the label window runs past the end of the data "
           "(cutoff + horizon_days > last order date + 1 day)",
    LABEL_COMPLETE: "whether the whole label window lies within the data, i.e. `churned` is "
                    "known; training uses only rows where it is TRUE",
}

TREND_RULE = (
    "symmetric relative change (last - previous) / (|last| + |previous|) between the {w}-day "
    "window and the {w} days before it; in [-1, 1], 0 when both are 0 (no change), -1 when "
    "activity stopped, 1 when it started"
)


@dataclass(frozen=True)
class Feature:
    """One catalogued feature column (``name`` may be a ``{w}`` or ``{p}`` template)."""

    name: str
    family: Family
    dtype: FeatureType
    description: str


FEATURES: tuple[Feature, ...] = (
    Feature("recency_days", "rfm", "BIGINT",
            "days from the last purchase day to the cutoff (1 = bought the day before); NULL "
            "when the customer has only returns or zero-amount lines"),
    Feature("frequency_orders", "rfm", "BIGINT",
            "purchase orders: distinct order ids with a purchase line, told apart per day (an "
            "id on two days counts twice); a day's purchase lines without an id are one order"),
    Feature("purchase_days", "rfm", "BIGINT", "distinct purchase days"),
    Feature("monetary_sum", "rfm", "DOUBLE", "net revenue: sum of all amounts, returns included"),
    Feature("monetary_mean", "rfm", "DOUBLE",
            "average purchase order value: purchase revenue / frequency_orders; NULL without "
            "purchases"),
    Feature("tenure_days", "rfm", "BIGINT",
            "days from the customer's first order line to the cutoff"),
    Feature("lt_frequency", "lifetimes", "DOUBLE",
            "lifetimes `frequency`: purchase days - 1 (freq 'D', observation end = cutoff - 1 "
            "day); NULL without purchases"),
    Feature("lt_recency", "lifetimes", "DOUBLE",
            "lifetimes `recency`: days from the first to the last purchase day"),
    Feature("lt_T", "lifetimes", "DOUBLE",
            "lifetimes `T`: days from the first purchase day to the observation end "
            "(cutoff - 1 day)"),
    Feature("lt_monetary_value", "lifetimes", "DOUBLE",
            "lifetimes `monetary_value`: mean purchase revenue per repeat purchase day (the first "
            "purchase day excluded); 0 when lt_frequency is 0"),
    Feature("orders_{w}d", "window", "BIGINT", "purchase orders in the {w} days before the cutoff"),
    Feature("revenue_{w}d", "window", "DOUBLE", "net revenue in the {w} days before the cutoff"),
    Feature("orders_trend_{w}d", "trend", "DOUBLE", "purchase orders: " + TREND_RULE),
    Feature("revenue_trend_{w}d", "trend", "DOUBLE", "net revenue: " + TREND_RULE),
    Feature("interval_mean_days", "interval", "DOUBLE",
            "mean days between consecutive purchase days (lt_recency / lt_frequency); NULL with "
            "fewer than 2 purchase days"),
    Feature("interval_std_days", "interval", "DOUBLE",
            "sample standard deviation of the days between consecutive purchase days; NULL with "
            "fewer than 3 purchase days"),
    Feature("interval_last_days", "interval", "BIGINT",
            "days between the last two purchase days; NULL with fewer than 2 purchase days"),
    Feature("recency_to_interval", "interval", "DOUBLE",
            "recency_days / interval_mean_days: above 1 means the customer is overdue; NULL "
            "when interval_mean_days is NULL"),
    Feature("product_lines_total", "product", "BIGINT",
            "distinct product lines bought (purchase lines only) before the cutoff; NULL "
            "when no order line before the cutoff names a product line"),
    Feature("product_lines_{p}d", "product", "BIGINT",
            "distinct product lines bought in the {p} days before the cutoff"),
    Feature("product_lines_prev_{p}d", "product", "BIGINT",
            "distinct product lines bought in the {p} days before that window"),
    Feature("product_lines_change_{p}d", "product", "BIGINT",
            "product_lines_{p}d - product_lines_prev_{p}d: negative when the mix narrows; NULL "
            "when nothing with a product line was bought in the previous {p} days (no mix to "
            "narrow from)"),
    Feature("channel_share_online", "channel", "DOUBLE",
            "share of purchase revenue with a known channel that came through 'online' (channel "
            "values as in schemas.CHANNELS); NULL when no purchase of the customer has one"),
    Feature("channel_share_offline", "channel", "DOUBLE", "as channel_share_online, for 'offline'"),
    Feature("channel_share_distributor", "channel", "DOUBLE",
            "as channel_share_online, for 'distributor'"),
    Feature("return_line_share", "returns", "DOUBLE",
            "share of the customer's order lines with a negative amount"),
    Feature("return_revenue_share", "returns", "DOUBLE",
            "returned amount (negated negative amounts) / purchase revenue; NULL without "
            "purchases"),
    Feature("gross_margin_share", "margin", "DOUBLE",
            "(revenue - quantity x unit_cost) / revenue over purchase lines with unit_cost and "
            "quantity; NULL when there are none"),
    Feature("segment", "attribute", "VARCHAR",
            "segment from the customers table, else from the latest order line before the cutoff "
            "that has one (same-day lines: the later source row)"),
    Feature("region", "attribute", "VARCHAR",
            "region from the customers table, else from the latest order line before the cutoff "
            "that has one (same-day lines: the later source row)"),
    Feature("industry", "attribute", "VARCHAR", "industry from the customers table"),
    Feature("satisfaction_latest", "satisfaction", "DOUBLE",
            "score of the latest survey dated before the cutoff (the surveys table, never "
            "customers.satisfaction, which is the end-of-data value)"),
    Feature("satisfaction_change", "satisfaction", "DOUBLE",
            "latest survey score - the score of the survey before it; NULL with fewer than 2"),
    Feature("days_since_survey", "satisfaction", "BIGINT",
            "days from the latest survey before the cutoff to the cutoff"),
    Feature("open_opportunities", "opportunity", "BIGINT",
            "opportunities whose latest stage entered before the cutoff is neither won nor lost"),
    Feature("open_opportunity_amount", "opportunity", "DOUBLE",
            "sum of the open opportunities' amounts as estimated at that latest stage (the "
            "latest non-NULL estimate)"),
)


def _expand(text: str, config: CustomerFeaturesConfig, window: int | None) -> str:
    return text.replace("{p}", str(config.product_window_days)).replace("{w}", str(window))


def describe_features(config: CustomerFeaturesConfig) -> dict[str, Feature]:
    """Every feature column a snapshot built with ``config`` has, in column order.

    Returns:
        Column name -> its :class:`Feature` with the name and description expanded.
    """
    out: dict[str, Feature] = {}
    for feature in FEATURES:
        windows: list[int | None] = list(config.windows) if "{w}" in feature.name else [None]
        for window in windows:
            name = _expand(feature.name, config, window)
            out[name] = Feature(name, feature.family, feature.dtype,
                                _expand(feature.description, config, window))
    return out


def feature_columns(config: CustomerFeaturesConfig) -> list[str]:
    """Names of the feature columns (no keys, no label) of a snapshot built with ``config``."""
    return list(describe_features(config))


def snapshot_columns(config: CustomerFeaturesConfig) -> list[str]:
    """Every column of a snapshot built with ``config``: keys, features, then the label columns."""
    return [*KEY_COLUMNS, *feature_columns(config), *LABEL_COLUMNS]
