"""What the report builders take: the frames the warehouse queries return, and the options."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

import pandas as pd

from forecast.config.reports import ReportRules
from forecast.reports.i18n import Locale
from forecast.reports.periods import MonthWindow


@dataclass(frozen=True)
class ReportOptions:
    """How a report is worded and judged.

    Attributes:
        locale: language and money display.
        rules: thresholds of the problem rules.
        top_n: rows in customer and driver lists.
        horizon_days: days without an order after which a customer counts as lost (the churn
            horizon).
        company: name in the title.
        key_share: top share of customers that are key accounts by the top-share rule.
    """

    locale: Locale = field(default_factory=Locale)
    rules: ReportRules = field(default_factory=ReportRules)
    top_n: int = 10
    horizon_days: int = 90
    company: str = ""
    key_share: float = 0.2


@dataclass(frozen=True)
class MonthlyInputs:
    """The frames of a monthly report; None (or an empty dict) where the warehouse lacks the
    data, with the reason in ``notes`` under the section's key.

    Attributes:
        window: the month and the dates it is compared with.
        monthly: ``period, revenue`` per month up to the report month, with ``orders,
            customers`` filled for the report month only.
        dimensions: key -> ``value, current, previous, year_ago`` revenue per member.
        distribution: ``grouping ('accounts' | 'channel'), member, current, previous, customers,
            customers_previous``.
        key_rule: how key accounts were picked: ``tiers``, ``segment`` or ``top_share``.
        target_totals: ``period, target`` company target per month.
        attainment: key -> ``unit, target_month, actual_month, actual_previous, target_ytd,
            actual_ytd``.
        funnel: ``stage, entered, amount, entered_previous, amount_previous``.
        open_pipeline: ``stage, opportunities, amount`` open at the month's end.
        funnel_conversion: ``stage, reached, conversion, median_days, p_win, as_of`` from
            ``forecast funnel`` (table funnel_conversion), when present.
        new_customers / lost_customers: top rows with ``customers_total, revenue_total``.
        lost_reasons: ``reason_1..3`` of the lost customers that were scored.
        risk_tiers: ``cutoff, tier, customers, revenue_at_risk, churn_proba_mean``.
        at_risk: top high/medium-tier customers with their reasons.
        at_risk_reasons: ``reason_1..3`` of every high- and medium-tier customer.
        churn_skill: how well the scoring model ranked churners on held-out data
            (``roc_auc, roc_auc_low, roc_auc_high, rows, base_rate``), when recorded.
        change_items: key -> ``unit, item, quantity_0, revenue_0, quantity_1, revenue_1``.
        declining_customers: key -> ``unit, customer_id, revenue_0, revenue_1, change``.
        forecast_next: ``revenue_forecast_periods`` rows of the next month.
        forecast_trend: the company total's monthly forecast rows.
        targets_next: grain (tuple of keys) -> ``<keys>, target`` for the next month.
        plan_next: ``targets_plan`` month rows of the next month: ``level, unit, base, stretch,
            target, probability``.
        plan_targets: ``period, target``: the targets plan's company target of each forecast
            month after the report month.
    """

    window: MonthWindow
    monthly: pd.DataFrame
    dimensions: dict[str, pd.DataFrame] = field(default_factory=dict)
    distribution: pd.DataFrame | None = None
    key_rule: str | None = None
    target_totals: pd.DataFrame | None = None
    attainment: dict[str, pd.DataFrame] = field(default_factory=dict)
    funnel: pd.DataFrame | None = None
    open_pipeline: pd.DataFrame | None = None
    funnel_conversion: pd.DataFrame | None = None
    new_customers: pd.DataFrame | None = None
    lost_customers: pd.DataFrame | None = None
    lost_reasons: pd.DataFrame | None = None
    risk_tiers: pd.DataFrame | None = None
    at_risk: pd.DataFrame | None = None
    at_risk_reasons: pd.DataFrame | None = None
    churn_skill: dict[str, float] | None = None
    change_items: dict[str, pd.DataFrame] = field(default_factory=dict)
    declining_customers: dict[str, pd.DataFrame] = field(default_factory=dict)
    plan_next: pd.DataFrame | None = None
    plan_targets: pd.DataFrame | None = None
    forecast_next: pd.DataFrame | None = None
    forecast_trend: pd.DataFrame | None = None
    targets_next: dict[tuple[str, ...], pd.DataFrame] = field(default_factory=dict)
    notes: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class RiskInputs:
    """The frames of a risk report (None where the warehouse lacks the data; reason in notes).

    Attributes:
        data_through: last day with orders.
        trailing_start: first day of the 12 months the concentration is measured over.
        risk_tiers: ``cutoff, tier, customers, revenue_at_risk, churn_proba_mean``.
        at_risk: top at-risk customers with reasons.
        at_risk_reasons: ``reason_1..3`` of every high- and medium-tier customer.
        churn_skill: how well the scoring model ranked churners on held-out data
            (``roc_auc, roc_auc_low, roc_auc_high, rows, base_rate``), when recorded.
        scored: ``customer_id, tier, churn_proba, revenue_at_risk, revenue`` per scored customer.
        value_tiers: ``customer_id, value_tier`` from customer_tiers, when present.
        customer_revenue: ``customer_id, revenue`` over the trailing 12 months.
        key_revenue: key -> ``value, revenue`` over the trailing 12 months.
        forecast: ``revenue_forecast_periods`` rows after the data.
        targets: period type ('month' | 'quarter') -> grain -> ``period, <keys>, target``
            for the forecast's periods.
        backtest: ``revenue_backtest`` rows.
        churn_outcomes: ``cutoff, churn_proba, churned`` of scores whose window has closed.
        drift_reference / drift_current: snapshot features at the training cutoffs and at the
            scoring cutoff.
        unseen_categories: ``cutoff, feature, rows, scored``: customers of the latest scored
            cutoff whose category the churn model never saw in training, per feature.
    """

    data_through: date
    trailing_start: date
    risk_tiers: pd.DataFrame | None = None
    at_risk: pd.DataFrame | None = None
    at_risk_reasons: pd.DataFrame | None = None
    scored: pd.DataFrame | None = None
    value_tiers: pd.DataFrame | None = None
    customer_revenue: pd.DataFrame | None = None
    key_revenue: dict[str, pd.DataFrame] = field(default_factory=dict)
    forecast: pd.DataFrame | None = None
    targets: dict[str, dict[tuple[str, ...], pd.DataFrame]] = field(default_factory=dict)
    backtest: pd.DataFrame | None = None
    churn_outcomes: pd.DataFrame | None = None
    drift_reference: pd.DataFrame | None = None
    drift_current: pd.DataFrame | None = None
    drift_cutoffs: tuple[list[str], str] | None = None
    unseen_categories: pd.DataFrame | None = None
    churn_skill: dict[str, float] | None = None
    notes: dict[str, str] = field(default_factory=dict)
