"""Config of the feature builders and the synthetic company."""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import Field, field_validator

from forecast.config.base import StrictModel

Frequency = Literal["D", "W", "M", "Q"]
SeriesMeasure = Literal["revenue", "quantity", "orders", "margin"]


class ExogenousTable(StrictModel):
    """A warehouse table of dated values joined onto every series by date (e.g. Favorita's oil)."""

    table: str
    date_column: str = "date"
    columns: tuple[str, ...] = Field(description="value columns to bring in")


class SeriesConfig(StrictModel):
    """How ``forecast features series`` cuts the orders into series."""

    grains: tuple[tuple[str, ...], ...] = Field(
        ((),),
        description="each grain is a list of key columns; [] is the company total",
    )
    freq: Frequency = "W"
    week_start: Literal["auto", "MON", "TUE", "WED", "THU", "FRI", "SAT", "SUN"] = Field(
        "auto", description="weekday weeks start on; auto: the one weekday all orders fall on "
        "(data that are already weekly), else Monday"
    )
    measures: tuple[SeriesMeasure, ...] = Field(
        ("revenue", "quantity", "orders", "margin"),
        description="measure columns of the frame (the target is always included)",
    )
    target: SeriesMeasure = Field("revenue", description="the measure that becomes `y`")
    margin_column: str | None = Field(
        None, description="order column holding the line margin or profit; default: "
        "amount - quantity x unit_cost where unit_cost is known"
    )
    exogenous: tuple[str, ...] = Field(
        (), description="numeric order columns averaged per period"
    )
    exogenous_tables: tuple[ExogenousTable, ...] = ()
    holiday_table: str | None = Field(
        None, description="warehouse table with the data set's own holidays (date, description)"
    )
    empty_periods: Literal["zero", "missing"] = Field(
        "zero", description="a period of a series with no source row: zero (no orders) or "
        "missing (y NULL: not observed, e.g. a closed store day of data that are already series; "
        "models skip it and backtests do not score it)"
    )
    stopped_after: int = Field(
        4, ge=1, description="a series with no activity in its last N periods is flagged stopped"
    )
    spring_festival_window: tuple[int, int] = Field(
        (14, 7), description="for CN: days before Chinese New Year (cny_before) and days of the "
        "festival from New Year's Day on (cny_window)"
    )


class CustomerFeaturesConfig(StrictModel):
    """How ``forecast features customers`` builds point-in-time customer snapshots."""

    horizon_days: int = Field(90, ge=1, description="churn = no order in [cutoff, cutoff + H)")
    cutoffs: tuple[date, ...] = ()
    windows: tuple[int, ...] = Field(
        (30, 90, 180, 365),
        description="trailing windows (days) for order and revenue counts and their trends",
    )
    product_window_days: int = Field(
        90, ge=1, description="window (days) for recent vs previous product-line breadth"
    )

    @field_validator("windows")
    @classmethod
    def _windows_distinct_positive(cls, windows: tuple[int, ...]) -> tuple[int, ...]:
        if not windows or any(w < 1 for w in windows) or len(set(windows)) != len(windows):
            raise ValueError("windows must be a non-empty list of distinct positive day counts")
        return windows


class FeaturesConfig(StrictModel):
    """Feature builders' settings."""

    series: SeriesConfig = Field(default_factory=SeriesConfig)
    customers: CustomerFeaturesConfig = Field(default_factory=CustomerFeaturesConfig)


class SynthOptions(StrictModel):
    """Parameters of the synthetic company generator."""

    customers: int = Field(2000, ge=10, le=5_000_000)
    years: int = Field(3, ge=1, le=20)
    seed: int = Field(0, ge=0)
    end_date: date = Field(date(2026, 10, 31), description="last day with orders")
    formats: tuple[Literal["parquet", "csv"], ...] = ("parquet",)
    chunk_customers: int = Field(50_000, ge=1, description="customers generated per chunk")

