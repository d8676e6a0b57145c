"""Config of revenue forecasting: candidates, backtests, selection, intervals, reconciliation."""

from __future__ import annotations

import re
from datetime import date, timedelta
from typing import Literal

from pydantic import Field, field_validator, model_validator

from forecast.config.base import StrictModel
from forecast.errors import ConfigError
from forecast.periods import MEAN_DAYS, add_months, next_quarter_start, periods_through
from forecast.schemas import (
    BoostingLoss,
    ProphetGrowth,
    ReconcileMethod,
    SeasonalityMode,
    SelectionStrategy,
)

RevenueCandidate = Literal["naive", "seasonal_naive", "seasonal_growth", "moving_average",
                           "ets", "prophet", "global_hgb", "croston_sba", "tsb", "adida",
                           "imapa", "auto_ets", "auto_theta", "auto_arima", "mstl",
                           "parent_share", "customer_base"]
# Said of every option that configures an estimator: one source of defaults, the estimator's.
_DEFAULT = "; default (null): the estimator's default"

_HORIZON = re.compile(r"^\s*(\d+)\s*([DWMQ])\s*$", re.IGNORECASE)
# The default horizon: through the end of the quarter after the data's (what targets plan).
NEXT_QUARTER = "next_quarter"


def horizon_periods(horizon: str, freq: str) -> int:
    """Number of periods of frequency ``freq`` that a horizon such as ``1Q`` or ``13W`` spans.

    The horizon is turned into days (a month is 365.25/12 days, a quarter 365.25/4) and divided
    by the days of one period, rounded to the nearest whole period: ``1Q``, ``3M``, ``13W`` and
    ``90D`` are all 13 weekly periods; ``1Q`` is 91 daily or 3 monthly periods.

    Raises:
        ConfigError: the horizon is not ``<number><D|W|M|Q>`` or the frequency is unknown, or
            it is ``next_quarter``, whose length depends on where the data end (see
            :func:`resolve_horizon`).
    """
    if is_next_quarter(horizon):
        raise ConfigError(f"horizon {NEXT_QUARTER!r} depends on where the data end: resolve it "
                          "with resolve_horizon (the series' first forecast day and the last "
                          "order day)")
    match = _HORIZON.match(str(horizon))
    if not match or int(match.group(1)) < 1:
        raise ConfigError(f"horizon {horizon!r}: expected next_quarter, or a positive count and "
                          "a unit, such as 1Q, 13W, 3M or 90D")
    unit = freq[:1].upper()
    if unit not in MEAN_DAYS:
        raise ConfigError(f"series frequency {freq!r} is not one of D, W, M, Q")
    days = int(match.group(1)) * MEAN_DAYS[match.group(2).upper()]
    return max(1, round(days / MEAN_DAYS[unit]))


def is_next_quarter(horizon: str) -> bool:
    return str(horizon).strip().lower() == NEXT_QUARTER


def resolve_horizon(horizon: str, freq: str, first: date, last_day: date) -> int:
    """Periods of ``freq`` a horizon spans, the first forecast period starting on ``first``:
    ``next_quarter`` reaches the end of the quarter after the one holding ``last_day`` (the
    last order day), the quarter ``forecast targets --period next`` plans; any other horizon
    is a length (:func:`horizon_periods`).

    Data ending on 2022-12-30 in weekly series whose next week starts on 2022-12-26 need 14
    weeks to reach 2023-03-31, which a fixed 13 (``1Q``) missed, and data ending on
    2026-10-31 need five months to reach 2027-03-31."""
    if not is_next_quarter(horizon):
        return horizon_periods(horizon, freq)
    end = add_months(next_quarter_start(last_day), 3) - timedelta(days=1)
    return periods_through(first, end, freq)


class ProphetOptions(StrictModel):
    """Prophet settings used for every series (``ProphetForecaster``'s parameters)."""

    seasonality_mode: SeasonalityMode | None = Field(
        None, description="additive or multiplicative" + _DEFAULT)
    growth: ProphetGrowth | None = Field(
        None, description="linear, logistic (caps from cap_multiple) or flat" + _DEFAULT)
    cap_multiple: float = Field(
        1.5, gt=1, description="logistic growth: each series' cap is this multiple of its maximum")
    uncertainty_samples: int | None = Field(
        None, ge=0, description="simulated paths the intervals are read from" + _DEFAULT)
    flat_below: int | None = Field(
        None, ge=0, description="series with fewer observed periods get a flat trend (linear "
        "growth only); default twice the horizon; 0 keeps every trend")


class GlobalModelOptions(StrictModel):
    """The global gradient-boosting model's settings (``GlobalForecaster``'s parameters)."""

    max_iter: int | None = Field(None, ge=10, description="boosting iterations" + _DEFAULT)
    learning_rate: float | None = Field(None, gt=0, le=1, description="shrinkage" + _DEFAULT)
    min_samples_leaf: int | None = Field(
        None, ge=1, description="fewest training rows in a leaf" + _DEFAULT)
    loss: BoostingLoss | None = Field(
        None, description="absolute_error forecasts the median, which is what WAPE rewards; "
        "squared_error the mean" + _DEFAULT)
    scale_window: int | None = Field(
        None, ge=1, description="periods at the end of history each series is scaled by"
        + _DEFAULT + " (the whole history)")
    relative_window: int | None = Field(
        None, ge=1, description="also divide target and lags by the mean of this many periods"
        + _DEFAULT + " (off)")
    blocks: tuple[int, ...] = Field(
        (), description="ends of the step blocks that get their own model, "
        "so near steps use recent lags (e.g. [7, 28] for 91 days); ends at or past the horizon "
        "are ignored")

    @field_validator("blocks")
    @classmethod
    def _blocks_positive(cls, blocks: tuple[int, ...]) -> tuple[int, ...]:
        if any(b < 1 for b in blocks):
            raise ValueError("blocks must be positive step counts")
        return tuple(sorted(set(blocks)))


class RevenueConfig(StrictModel):
    """How ``forecast train revenue`` and ``forecast predict revenue`` work.

    The backtest has ``selection_folds + eval_folds`` rolling origins, ``step`` periods apart
    and ending ``backtest_h`` periods before the data ends; settings left out are fitted to the
    history (``forecast.model_selection.layout``). Each evaluation fold's forecast is
    the ensemble whose weights and conformal intervals were chosen on the ``selection_folds``
    origins just before it (the same as refitting the whole selection at that origin), so the
    reported errors and coverage are out of sample. The final model takes its weights and
    intervals from the last ``selection_folds`` origins.
    """

    horizon: str = Field(
        NEXT_QUARTER, description="how far ahead to forecast: next_quarter (through the end of "
        "the quarter after the one the data end in, the quarter `forecast targets --period "
        "next` plans: one to two quarters ahead), or a length: 1Q, 13W, 3M, 90D ...")
    backtest_h: int | None = Field(
        None, ge=1, description="periods forecast in each backtest fold; default: the horizon, "
        "shorter when the history cannot hold a fold that long")
    step: int | None = Field(None, ge=1, description="periods between origins; default backtest_h")
    eval_folds: int | None = Field(
        None, ge=0, description="origins whose errors are reported; default 3, fewer (down to "
        "0) when the history is short")
    selection_folds: int | None = Field(
        None, ge=1, description="origins each choice is made on; default 3, fewer (down to "
        "none: equal weights) when the history is short")
    candidates: tuple[RevenueCandidate, ...] | None = Field(
        None, description="candidate models; default (null): seasonal_naive, seasonal_growth, "
        "ets (non-seasonal AutoETS, for the level and trend of short series), prophet, "
        "global_hgb, and the models made for intermittent demand (croston_sba, tsb, "
        "adida, imapa), which are fitted only when some series is erratic, intermittent or lumpy "
        "(Syntetos-Boylan) and are then the only candidates of those series (they follow the "
        "month-of-year and weekday indices of all the series' total where those are "
        "significant at 1 %); parent_share "
        "(cold start: a series as its recent share of its parent's forecast, half the forecast of "
        "series too young for any backtest fold; left out without a hierarchy). Also "
        "available, not run by default: statsforecast's auto_theta, mstl, auto_ets and "
        "auto_arima, with their own intervals, weighted only on folds with two seasons of "
        "history; on weekly series and 2 processes auto_arima with a 52-week season costs 11 "
        "times prophet, auto_ets 0.8, auto_theta 0.3, mstl 0.3 "
        "(experiments/benchmarks/results/statsforecast_families.json); none improved the "
        "selected forecast on Walmart or "
        "Favorita (experiments/benchmarks/results/families_accuracy_<data>.json), so the default "
        "leaves them out; and customer_base (the likelier of BG/NBD and Pareto/NBD, and "
        "Gamma-Gamma, on each series' customers plus new customers; needs orders with "
        "customer_id; 39 weeks ahead it is far ahead of every series-only model on a decaying "
        "base and 9 % behind Prophet on the demo company's growing, seasonal total, "
        "experiments/benchmarks/results/customer_base.json; in the generated company's "
        "backtest on a par with ETS at every grain, product line WAPE 0.761 against 0.750; "
        "not a default: it reads every order line's customer and helps where bases decay)")
    strategy: SelectionStrategy = "auto"
    levels: tuple[int, ...] = (80, 95)
    reconcile: ReconcileMethod = Field(
        "mint_shrink", description="how forecasts of the grains are made to add up")
    regressors: tuple[str, ...] = Field(
        (), description="series-frame columns whose future values are known "
        "(calendar columns such as is_holiday, or exogenous tables that extend past the data)")
    min_history: int | None = Field(
        None, ge=2, description="shortest history a series is backtested on, in periods; "
        "default (null): two seasons, at most 14 periods (14 days, weeks or months, 10 "
        "business days, 8 quarters)")
    prophet: ProphetOptions = Field(default_factory=ProphetOptions)
    global_model: GlobalModelOptions = Field(default_factory=GlobalModelOptions)
    n_jobs: int | None = Field(
        None, description="worker processes for Prophet (-1 all cores)" + _DEFAULT)

    @field_validator("levels")
    @classmethod
    def _levels_in_range(cls, levels: tuple[int, ...]) -> tuple[int, ...]:
        if not levels or any(not 0 < lv < 100 for lv in levels) or 80 not in levels:
            raise ValueError("levels must be percentages between 0 and 100 and include 80")
        return tuple(sorted(set(levels)))

    @model_validator(mode="after")
    def _horizon_parses(self) -> RevenueConfig:
        try:
            if not is_next_quarter(self.horizon):
                horizon_periods(self.horizon, "D")
        except ConfigError as exc:
            raise ValueError(str(exc)) from None
        if self.candidates is not None and not self.candidates:
            raise ValueError("give at least one candidate model")
        return self
