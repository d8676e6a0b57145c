"""Config of churn training, calibration, thresholds and risk tiers."""

from __future__ import annotations

from datetime import date

from pydantic import Field, model_validator

from forecast.config.base import StrictModel
from forecast.schemas import CalibrationMethod, ChurnCandidate

# Said of every option that only configures the model: one source of defaults, the model's.
_DEFAULT = "; default (null): ChurnModel's default"


class ChurnConfig(StrictModel):
    """How churn classifiers are trained, calibrated, thresholded and tiered.

    A snapshot table (``customer_id, cutoff, <features>, churned``) is validated in time: train on
    earlier cutoffs, validate on later ones. A table with ``label_column`` set (one row per
    customer, e.g. Telco's ``Churn``) is validated with stratified K-fold.

    Options that only configure the model default to null, meaning ``ChurnModel``'s own
    default; ``forecast.factory.churn_model`` passes the others (horizon, columns, tiers) on.
    """

    horizon_days: int = Field(90, ge=1, description="churn = no order in [cutoff, cutoff + H)")
    cutoffs: tuple[date, ...] = ()
    label_column: str | None = Field(
        None, description="label column of a one-row-per-customer table; default `churned`"
    )
    positive_label: str = Field("Yes", description="value of a text label that means churned")
    negative_label: str | None = Field(
        None, description="value of a text label that means stayed; any other value is then "
        "refused. Default (null): with a yes/no positive_label the label is a yes/no answer; "
        "with another positive_label (e.g. `Attrited Customer`) every other value is negative "
        "and the counts of each value are logged")
    id_column: str = "customer_id"
    drop_columns: tuple[str, ...] = Field(
        (), description="columns that are never features (keys, free text)"
    )
    candidates: tuple[ChurnCandidate, ...] | None = Field(
        None, description="logistic and/or gradient_boosting" + _DEFAULT + " (both)")
    blend: bool | None = Field(
        None, description="also try the mean of the calibrated candidates" + _DEFAULT)
    splines: bool | None = Field(
        None, description="spline terms for numeric features in the logistic" + _DEFAULT)
    calibration: CalibrationMethod | None = Field(
        None, description="auto = chosen on log-loss" + _DEFAULT)
    cost_missed_churner: float | None = Field(
        None, gt=0, description="cost of a churner not acted on" + _DEFAULT)
    cost_wasted_action: float | None = Field(
        None, gt=0, description="cost of acting on a stayer" + _DEFAULT)
    tier_high: float = Field(0.5, gt=0, lt=1, description="churn_proba at or above is high")
    tier_medium: float = Field(0.2, gt=0, lt=1, description="churn_proba at or above is medium")
    capacity: int | None = Field(
        None, ge=1, description="if set, the N riskiest customers are high, overriding tier_high"
    )
    active_within_days: int | None = Field(
        365, ge=1, description="score only customers with a purchase in the last N days before "
        "the cutoff (recency_days <= N); null scores every customer ever seen"
    )
    n_folds: int | None = Field(
        None, ge=2, description="stratified folds (one-row-per-customer tables, calibration)"
        + _DEFAULT)
    validation_cutoffs: int | None = Field(
        None, ge=1, description="latest cutoffs used for validation" + _DEFAULT)
    seed: int | None = Field(None, ge=0, description="random seed" + _DEFAULT)

    @model_validator(mode="after")
    def _tiers_ordered(self) -> ChurnConfig:
        if self.tier_medium >= self.tier_high:
            raise ValueError("tier_medium must be below tier_high")
        if self.candidates is not None and not self.candidates:
            raise ValueError("give at least one candidate model")
        if (self.negative_label is not None
                and self.negative_label.strip().lower() == self.positive_label.strip().lower()):
            raise ValueError(f"negative_label {self.negative_label!r} is the positive_label")
        return self

