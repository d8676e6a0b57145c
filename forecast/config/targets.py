"""Config of ``forecast targets``: the stretch policy, the decomposition and the hierarchy."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from forecast.config.base import StrictModel

TargetPolicy = Literal["quantile", "growth", "management"]
Decomposition = Literal["forecast_share", "historical"]
# The organisation levels of the YAML (``levels``, ``forecast_levels``) are grains in the code:
# sets of key columns named region, team (region, team) and rep (region, team, rep_id).
TargetGrain = Literal["region", "team", "rep"]
TARGET_GRAINS: tuple[TargetGrain, ...] = ("region", "team", "rep")


class TargetsConfig(StrictModel):
    """How next-period targets are set and split.

    The company target is the policy's stretch of the company forecast for the period. It is
    split down the organisation (company -> region -> team -> rep) and across the months (by the
    forecast's monthly shares) and weeks (by the weekly forecast) to the cent.

    A level listed in ``forecast_levels`` takes its units, forecasts and forecast shares from the
    forecast grain of its key columns (region: ``region``; team: ``region|team``; rep:
    ``region|team|rep_id``). The levels below are split from their parent by each unit's share
    of the parent's revenue over the trailing ``history_months`` of orders.
    """

    policy: TargetPolicy = Field(
        "quantile", description="stretch of the company target: a quantile of the forecast "
        "distribution, growth over the same period last year, or a management number")
    stretch_quantile: float = Field(
        0.6, gt=0, lt=1, description="policy quantile: the target is this quantile of the "
        "period's forecast distribution, so it is reached with probability 1 - q")
    growth_rate: float = Field(
        0.05, gt=-1, description="policy growth: target = last year's same period x (1 + rate)")
    management_total: float | None = Field(
        None, gt=0, description="policy management: the company target for the period; default "
        "the sum of the warehouse `targets` table over the period's months")
    decomposition: Decomposition = Field(
        "forecast_share", description="how a parent's target is split among its children: by "
        "their share of the forecast, or by their share of trailing revenue")
    levels: tuple[TargetGrain, ...] | None = Field(
        None, description="organisation levels below the company, in order; default region and "
        "team, and rep where the `targets` table names reps")
    forecast_levels: tuple[TargetGrain, ...] | None = Field(
        None, description="the leading levels whose units come from the forecast; default every "
        "leading level whose grain the forecast has")
    history_months: int = Field(
        12, ge=1, le=120, description="trailing months of orders behind historical shares")
    mismatch_tolerance: float = Field(
        0.05, ge=0, description="flag a unit whose |target - bottom-up| / target exceeds this")
    weeks: bool = Field(True, description="also split each month into weeks")

    @model_validator(mode="after")
    def _grains_ordered(self) -> TargetsConfig:
        for name, grains in (("levels", self.levels), ("forecast_levels", self.forecast_levels)):
            if grains is None:
                continue
            order = [TARGET_GRAINS.index(grain) for grain in grains]
            if order != sorted(set(order)):
                raise ValueError(f"{name} must be distinct and in the order region, team, rep")
        if (self.levels is not None and self.forecast_levels is not None
                and self.forecast_levels != self.levels[: len(self.forecast_levels)]):
            raise ValueError("forecast_levels must be the leading levels of `levels` "
                             "(a level split by history cannot have forecast children)")
        return self
