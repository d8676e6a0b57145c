"""Config of ``forecast funnel`` (pipeline stages, win rates, weighted pipeline) and
``forecast attainment`` (actual against target)."""

from __future__ import annotations

from typing import Literal, get_args

from pydantic import Field, model_validator

from forecast.config.base import StrictModel
from forecast.schemas import FUNNEL_STAGES

BreakdownColumn = Literal["rep_id", "team", "region", "channel", "segment"]
# The organisation levels of the YAML (``attainment.levels``) are grains in the code: sets of
# key columns (``forecast.targets.attainment.GRAIN_KEYS``).
AttainmentGrain = Literal["company", "region", "team", "rep"]
ATTAINMENT_GRAINS: tuple[str, ...] = get_args(AttainmentGrain)


class FunnelConfig(StrictModel):
    """Settings of the funnel step.

    ``stages`` are the open stages in the order a deal passes them; ``won_stage`` and
    ``lost_stage`` close a deal. Conversion, time in stage, win rates and the probability of
    winning from each stage are learnt from the opportunities first seen in the last
    ``lookback_days`` before the data end; ``stage_probabilities`` overrides the learnt
    probability of the stages it names.
    """

    stages: tuple[str, ...] = Field(
        FUNNEL_STAGES[:4],
        description="open stages, in funnel order",
    )
    won_stage: str = Field(FUNNEL_STAGES[4], description="stage that closes a deal as won")
    lost_stage: str = Field(FUNNEL_STAGES[5], description="stage that closes a deal as lost")
    lookback_days: int | None = Field(
        730, ge=1,
        description="history window of the rates: opportunities first seen this many days "
        "before the data end or later; null = all history",
    )
    stage_probabilities: dict[str, float] = Field(
        default_factory=dict,
        description="P(win) per open stage to use instead of the historical one",
    )
    breakdowns: tuple[BreakdownColumn, ...] = Field(
        ("rep_id", "channel", "segment"),
        description="opportunity columns the win rates are broken down by",
    )

    @model_validator(mode="after")
    def _stages_consistent(self) -> FunnelConfig:
        names = [*self.stages, self.won_stage, self.lost_stage]
        if not self.stages:
            raise ValueError("give at least one open stage in funnel.stages")
        if len(set(names)) != len(names):
            raise ValueError("funnel.stages, won_stage and lost_stage must all be different")
        for stage, probability in self.stage_probabilities.items():
            if stage not in self.stages:
                raise ValueError(f"stage_probabilities: {stage!r} is not one of funnel.stages "
                                 f"({', '.join(self.stages)})")
            if not 0.0 <= probability <= 1.0:
                raise ValueError(f"stage_probabilities: {stage!r} must be between 0 and 1")
        return self


class AttainmentConfig(StrictModel):
    """Settings of the attainment step.

    Levels whose key columns no target row fills (e.g. ``rep`` when targets have no rep_id)
    are skipped when they come from this default, and are an error when asked for by name.
    """

    levels: tuple[AttainmentGrain, ...] = Field(
        ATTAINMENT_GRAINS,
        description="organisation levels to report: company, region, team, rep",
    )
    top: int = Field(5, ge=1, description="best and worst units listed per level in the summary")
