"""Config of churn training, calibration, thresholds and risk tiers."""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import Field, model_validator

from forecast.config.base import StrictModel

ChurnCandidate = Literal["logistic", "gradient_boosting"]
CalibrationMethod = Literal["auto", "sigmoid", "isotonic", "none"]


class ChurnConfig(StrictModel):
    """How churn classifiers are trained, calibrated, thresholded and tiered.

    A snapshot table (``customer_id, cutoff, <features>, churned``) is validated in time: train on
    earlier cutoffs, validate on later ones. A table with ``label_column`` set (one row per
    customer, e.g. Telco's ``Churn``) is validated with stratified K-fold.
    """

    horizon_days: int = Field(90, ge=1, description="churn = no order in [cutoff, cutoff + H)")
    cutoffs: list[date] = Field(default_factory=list)
    label_column: str | None = Field(
        None, description="label column of a one-row-per-customer table; default `churned`"
    )
    positive_label: str = Field("Yes", description="value of a text label that means churned")
    id_column: str = "customer_id"
    drop_columns: list[str] = Field(
        default_factory=list, description="columns that are never features (keys, free text)"
    )
    candidates: list[ChurnCandidate] = Field(
        default_factory=lambda: ["logistic", "gradient_boosting"]
    )
    blend: bool = Field(True, description="also try the mean of the calibrated candidates")
    splines: bool = Field(True, description="spline terms for numeric features in the logistic")
    calibration: CalibrationMethod = Field("auto", description="auto = chosen on log-loss")
    cost_missed_churner: float = Field(5.0, gt=0, description="cost of a churner not acted on")
    cost_wasted_action: float = Field(1.0, gt=0, description="cost of acting on a stayer")
    tier_high: float = Field(0.5, gt=0, lt=1, description="churn_proba at or above is high")
    tier_medium: float = Field(0.2, gt=0, lt=1, description="churn_proba at or above is medium")
    capacity: int | None = Field(
        None, ge=1, description="if set, the N riskiest customers are high, overriding tier_high"
    )
    active_within_days: int | None = Field(
        365, ge=1, description="score only customers with a purchase in the last N days before "
        "the cutoff (recency_days <= N); null scores every customer ever seen"
    )
    n_folds: int = Field(5, ge=2)
    validation_cutoffs: int = Field(2, ge=1, description="latest cutoffs used for validation")
    seed: int = Field(0, ge=0)

    @model_validator(mode="after")
    def _tiers_ordered(self) -> ChurnConfig:
        if self.tier_medium >= self.tier_high:
            raise ValueError("tier_medium must be below tier_high")
        if not self.candidates:
            raise ValueError("give at least one candidate model")
        return self

