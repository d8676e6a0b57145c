"""Config of ``forecast report``: language, formats, money units and the problem rules."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator

from forecast.config.base import StrictModel

ReportLanguage = Literal["en", "zh"]
ReportFormat = Literal["html", "md", "json", "xlsx", "pdf"]  # pdf: needs headless Chromium
CurrencyUnit = Literal["yuan", "wan"]
REPORT_FORMATS: tuple[ReportFormat, ...] = ("html", "md", "json", "xlsx")


class ReportRules(StrictModel):
    """Thresholds of the rules that turn report numbers into problems and actions.

    Shares and rates are fractions (0.05 is 5%).
    """

    mom_decline: float = Field(0.05, ge=0, description="revenue fell more than this vs last month")
    yoy_decline: float = Field(0.05, ge=0, description="revenue fell more than this vs a year ago")
    ytd_attainment: float = Field(0.95, gt=0, description="year-to-date attainment below this")
    unit_attainment: float = Field(
        0.9, gt=0, description="a team, region or rep below this attainment of its month target")
    lost_revenue_share: float = Field(
        0.05, ge=0, description="revenue of the customers lost in the month (their last 12 "
        "months), as a share of the month's revenue x 12, above this")
    at_risk_revenue_share: float = Field(
        0.1, ge=0, description="revenue at risk of high-tier customers, as a share of annual "
        "revenue (the month's x 12 in the monthly report, the last 12 months' in the risk "
        "report), above this")
    win_rate_drop: float = Field(
        0.1, ge=0, description="the month's win rate fell by more than this (0.1 = 10 points) "
        "vs last month")
    target_probability: float = Field(
        0.5, ge=0, le=1, description="probability of reaching next month's target below this")
    top10_share: float = Field(0.5, ge=0, le=1, description="top-10 customers' revenue share above")
    hhi: float = Field(
        0.25, ge=0, le=1, description="normalised Herfindahl index (0 equal members, 1 one "
        "member) above this")
    drift_psi: float = Field(0.2, ge=0, description="population stability index above this")
    backtest_wape: float = Field(0.2, ge=0, description="backtest WAPE above this")
    coverage_tolerance: float = Field(
        0.1, ge=0, le=1, description="backtest coverage of the 80% interval off 0.8 by more")
    calibration_ece: float = Field(
        0.05, ge=0, description="expected calibration error of the churn scores above this")


class ReportsConfig(StrictModel):
    """How ``forecast report monthly|risk`` builds and writes its reports."""

    lang: ReportLanguage = Field("en", description="language of the report: en or zh")
    formats: tuple[ReportFormat, ...] = Field(REPORT_FORMATS, description="files to write")
    company: str = Field("", description="company name in the report title")
    currency: str = Field("", description="symbol put before amounts, e.g. $ or ¥")
    currency_unit: CurrencyUnit = Field(
        "yuan", description="wan: Chinese reports show amounts in 万元 (units of 10,000)")
    output_dir: str = Field(
        "reports", description="folder for the report files, relative to the workspace")
    key_account_segments: tuple[str, ...] = Field(
        ("key account",),
        description="order segments that mark key accounts when there is no customer_tiers table")
    key_account_top_share: float = Field(
        0.2, gt=0, lt=1, description="else: the top share of customers by the last 12 months' "
        "revenue are key accounts")
    top_n: int = Field(10, ge=1, le=100, description="rows in customer and driver lists")
    rules: ReportRules = Field(default_factory=ReportRules)

    @field_validator("formats")
    @classmethod
    def _formats_distinct(cls, formats: tuple[ReportFormat, ...]) -> tuple[ReportFormat, ...]:
        if not formats or len(set(formats)) != len(formats):
            raise ValueError("formats must be a non-empty list of distinct formats")
        return formats
