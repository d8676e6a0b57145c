"""Stretch policies: how far above the forecast median a target is set.

- ``quantile``: the target is the ``stretch_quantile`` of the forecast distribution (the span's
  80 % interval about its median, :mod:`forecast.hierarchy.distribution`), so it is reached with
  probability ``1 - stretch_quantile``.
- ``growth``: the target is the revenue of the same period a year before times
  ``1 + growth_rate``.
- ``management``: the company target is a number given top-down (``management_total``, or by
  default the sum of the warehouse ``targets`` table over the period's months); units below
  the company have no stretch of their own.

The company's stretch becomes the company target that is split down the organisation; each
unit's own stretch (the same policy applied to the unit's own forecast or history) is shown
beside its share of the company target.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from forecast.config.targets import TargetsConfig
from forecast.errors import ConfigError, ValidationError
from forecast.hierarchy.distribution import forecast_quantile


def own_stretch(yhat, sides, last_year, config: TargetsConfig) -> np.ndarray:
    """Each unit's stretch under the policy, from its own numbers.

    Args:
        yhat: forecast medians.
        sides: the deviations of the actuals below and above the median (see
            :mod:`forecast.hierarchy.distribution`).
        last_year: revenue of the same span a year before (NaN where unknown).
        config: the policy and its parameters.

    Returns:
        Stretch amounts; NaN under ``management`` (only the company has a number) and under
        ``growth`` where last year is unknown.
    """
    yhat = np.asarray(yhat, dtype=float)
    if config.policy == "quantile":
        return forecast_quantile(yhat, sides[0], config.stretch_quantile, sides[1])
    if config.policy == "growth":
        return np.asarray(last_year, dtype=float) * (1.0 + config.growth_rate)
    return np.full(yhat.shape, np.nan)


def company_target(yhat: float, sides: tuple[float, float], last_year: float | None,
                   config: TargetsConfig, management_total: float | None = None) -> float:
    """The company target for the period: the policy's stretch of the company forecast.

    Args:
        yhat: the company's forecast median for the period.
        sides: its deviations below and above the median.
        last_year: company revenue of the same period a year before, or None when the data do
            not cover it.
        config: the policy.
        management_total: the management number (``config.management_total`` wins over it).

    Raises:
        ConfigError: ``management`` without a number; ``growth`` without last year's revenue.
        ValidationError: the result is not a positive amount.
    """
    if config.policy == "management":
        total = config.management_total or management_total
        if total is None:
            raise ConfigError("targets.policy is management but there is no number: set "
                              "targets.management_total, or load monthly targets covering "
                              "the whole period into the `targets` table")
    elif config.policy == "growth":
        if last_year is None or not np.isfinite(last_year):
            raise ConfigError("targets.policy growth needs the revenue of the same period last "
                              "year, but the orders do not cover it; use policy quantile")
        total = last_year * (1.0 + config.growth_rate)
    else:
        total = float(forecast_quantile(yhat, sides[0], config.stretch_quantile, sides[1]))
    if not np.isfinite(total) or total <= 0:
        raise ValidationError(f"the {config.policy} policy gives a company target of {total}; "
                              "a target must be a positive amount")
    return float(total)


def management_from_targets(targets: pd.DataFrame, months: list[pd.Timestamp]) -> float | None:
    """The sum of the monthly targets over ``months``, if every month has a target row.

    Args:
        targets: the warehouse ``targets`` table: period (month start), target, ...
        months: the month starts of the period.
    """
    if targets.empty:
        return None
    periods = pd.to_datetime(targets["period"])
    wanted = pd.DatetimeIndex(months)
    if not wanted.isin(periods).all():
        return None
    return float(targets.loc[periods.isin(wanted), "target"].sum())


def describe_policy(config: TargetsConfig) -> str:
    """One line saying how the company target was set, for the summary and the workbook."""
    if config.policy == "quantile":
        q = config.stretch_quantile
        return (f"the {q:.0%} quantile of the forecast distribution (reached with probability "
                f"{1 - q:.0%} if the forecast is right)")
    if config.policy == "growth":
        return f"the same period last year plus {config.growth_rate:.1%}"
    return "a management number given top-down"
