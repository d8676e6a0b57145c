"""Config of ``forecast tiers``: RFM windows, ABC cut-offs, value tiers and the action matrix."""

from __future__ import annotations

from typing import Literal, get_args

from pydantic import Field, field_validator, model_validator

from forecast.config.base import StrictModel

ValueTier = Literal["key account", "regular", "potential"]
RiskTier = Literal["high", "medium", "low", "unknown"]
AbcClass = Literal["A", "B", "C"]
VALUE_TIERS: tuple[str, ...] = get_args(ValueTier)
RISK_TIERS: tuple[str, ...] = get_args(RiskTier)
ABC_CLASSES: tuple[str, ...] = get_args(AbcClass)

# What to do for a customer in each cell of the value x churn-risk matrix ("value|risk").
DEFAULT_ACTIONS: dict[str, str] = {
    "key account|high": "executive visit this week",
    "key account|medium": "account review with the owner within two weeks",
    "key account|low": "quarterly business review; protect the service level",
    "key account|unknown": "score churn risk, then review the account with its owner",
    "potential|high": "call within a week to find and fix what is blocking growth",
    "potential|medium": "growth plan from the owner: onboarding check and cross-sell proposal",
    "potential|low": "upsell: propose the next product line",
    "potential|unknown": "score churn risk; meanwhile nurture with a growth offer",
    "regular|high": "retention offer by phone within two weeks",
    "regular|medium": "targeted e-mail offer and a check-in call",
    "regular|low": "standard nurture campaign",
    "regular|unknown": "standard nurture campaign",
}


def matrix_key(value_tier: str, risk_tier: str) -> str:
    """The key of a value x risk cell in ``TiersConfig.actions``: ``"value|risk"``."""
    return f"{value_tier}|{risk_tier}"


class TiersConfig(StrictModel):
    """Settings of the tiers step: RFM scores, ABC classes, value tiers and their actions.

    Revenue is net of returns. ``revenue_days`` is the window ABC classes and value tiers rank
    by; growth compares it with the window of the same length just before it. ``actions`` needs
    only the cells to change: the rest keep their defaults (``DEFAULT_ACTIONS``).
    """

    rfm_days: int | None = Field(
        730, ge=1, description="window of RFM frequency and monetary; null = all history"
    )
    revenue_days: int = Field(
        365, ge=1, description="window of the revenue ranked by ABC and value tiers"
    )
    abc_cutoffs: tuple[float, float] = Field(
        (0.8, 0.95), description="cumulative revenue shares that close classes A and B"
    )
    key_account_share: float = Field(
        0.5, gt=0, le=1,
        description="the largest customers that together bring this share of revenue are "
        "key accounts",
    )
    key_account_min_revenue: float | None = Field(
        None, gt=0, description="a customer with at least this revenue is a key account too"
    )
    potential_growth: float = Field(
        0.25, gt=0,
        description="revenue growth over the prior window at or above which a customer is "
        "potential (0.25 = +25%); customers new in the window count as growing",
    )
    potential_min_quantile: float = Field(
        0.5, ge=0, lt=1,
        description="a potential customer's revenue reaches this quantile of the positive "
        "revenues (0.5 = the median customer; 0 = any positive revenue)",
    )
    potential_min_revenue: float = Field(
        0.0, ge=0, description="and at least this revenue in the window"
    )
    expected_value: bool = Field(
        True,
        description="each customer's expected spend over the next revenue_days from the "
        "customer-base purchase model (the likelier of BG/NBD and Pareto/NBD, with "
        "Gamma-Gamma), beside the revenue of the last revenue_days; a customer it expects to "
        "grow by potential_growth, to at least the potential floor, is potential. Left out, "
        "with a note, where the model cannot fit (fewer than 10 repeat buyers)",
    )
    actions: dict[str, str] = Field(
        default_factory=lambda: dict(DEFAULT_ACTIONS),
        description='recommended action per "value|risk" cell, e.g. "key account|high"',
    )

    @field_validator("actions")
    @classmethod
    def _complete_actions(cls, actions: dict[str, str]) -> dict[str, str]:
        unknown = sorted(set(actions) - set(DEFAULT_ACTIONS))
        if unknown:
            cells = ", ".join(f'"{k}"' for k in DEFAULT_ACTIONS)
            raise ValueError(f"unknown matrix cells {unknown}; the cells are {cells}")
        empty = sorted(k for k, v in actions.items() if not str(v).strip())
        if empty:
            raise ValueError(f"give an action text for {empty}")
        return {**DEFAULT_ACTIONS, **actions}

    @model_validator(mode="after")
    def _cutoffs_ordered(self) -> TiersConfig:
        a, b = self.abc_cutoffs
        if not 0 < a < b <= 1:
            raise ValueError(
                f"abc_cutoffs must rise within (0, 1]: [A, B] with 0 < A < B <= 1, got [{a}, {b}]"
            )
        return self
