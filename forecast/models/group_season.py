"""Seasonal indices of a group of series, estimated on the group's total (group seasonal indices).

A product line that sells in one week of three has its Q4 like the company's, but no method can
see a season in its own few sales: Croston, TSB, ADIDA and IMAPA forecast a flat mean. On
Superstore's sub-categories by region (weekly, strong Q4) their flat forecasts were 18 % high
from April, 26 % low from July and 35 % low from October; on Online Retail's countries (daily,
no trade on Saturdays) they also forecast Saturday sales. The total of the series shows what
each one cannot: indices estimated on it (Withycombe 1989; Dekker, van Donselaar & Ouwehand
2004) divide the season out of each member's history before its level is estimated, and the
member's forecast is that level times the index of each future period. The intermittent
forecasters total the members' sales each divided by its own mean, so that every member weighs
the same: on Superstore and Online Retail the season of the largest members, taken for
everyone's, cost MASE (1.515 and 1.227 against 1.497 and 1.171 with equal weights).

Two indices, multiplied:

- **weekday** (daily data): the total over its centred 7-day mean, per weekday (ratio of sums),
  scaled to average 1;
- **month of year** (quarter of year for quarterly data): the logarithm of the total's mean per
  period in each calendar month, regressed on a straight trend and one dummy per month; the
  month effects are the dummies' coefficients (the trend is left to the level models).

Each is kept only when it is significant: a one-way analysis of variance of the weekday ratios
by weekday, an F-test of the month dummies against the trend alone, each at ``P_VALUE``. A
group with no season, or a history too short to tell (fewer than ``MIN_RESIDUAL_DF`` degrees
of freedom left after the month dummies, a calendar month never seen), gets indices of 1: the
members' forecasts stay flat, as without this module. Months with fewer than half of their
periods observed (the ends of the history) are left out of the regression.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from forecast import periods

P_VALUE = 0.01  # significance level at which an index is kept
MIN_RESIDUAL_DF = 4  # fewest degrees of freedom left after a trend and the month dummies
CLOSED = 0.05  # an index below this marks periods without trade (a shop closed on Saturdays)
WEEKDAY = "weekday"
MONTH = "month of year"
QUARTER = "quarter of year"

# The month index's calendar position and the periods of each position, by frequency code.
_POSITIONS = {"D": (MONTH, 12), "B": (MONTH, 12), "W": (MONTH, 12), "M": (MONTH, 12),
              "MS": (MONTH, 12), "ME": (MONTH, 12), "Q": (QUARTER, 4), "QS": (QUARTER, 4),
              "QE": (QUARTER, 4)}
_DAILY = {"D": 7, "B": 5}


@dataclass(frozen=True)
class GroupSeason:
    """Multiplicative seasonal indices; an index left out (not significant) is 1 everywhere.

    Attributes:
        weekday: index per day of the week (0 = Monday), or None.
        position: index per calendar month (1..12) or quarter (1..4), or None.
        position_kind: ``MONTH`` or ``QUARTER``: what ``position`` indexes.
    """

    weekday: dict[int, float] | None = None
    position: dict[int, float] | None = None
    position_kind: str = MONTH

    @property
    def kinds(self) -> tuple[str, ...]:
        """The indices kept, by name (empty: forecasts stay flat)."""
        return (((WEEKDAY,) if self.weekday else ())
                + ((self.position_kind,) if self.position else ()))

    def at(self, dates: pd.Series | pd.DatetimeIndex) -> np.ndarray:
        """The index of each date: the product of the indices kept (1 when none is)."""
        dates = pd.DatetimeIndex(dates)
        index = np.ones(len(dates))
        if self.weekday:
            index *= pd.Series(dates.dayofweek).map(self.weekday).fillna(1.0).to_numpy()
        if self.position:
            where = dates.month if self.position_kind == MONTH else dates.quarter
            index *= pd.Series(where).map(self.position).fillna(1.0).to_numpy()
        return index

    def deseasonalise(self, dates: pd.Series, values: np.ndarray) -> np.ndarray:
        """``values`` divided by their dates' index; NaN on days without trade (index below
        ``CLOSED``), which say nothing of the level."""
        index = self.at(dates)
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(index >= CLOSED, values / index, np.nan)


def fit_group_season(dates: pd.Series, values: pd.Series, freq: str,
                     series: pd.Series | None = None) -> GroupSeason:
    """The significant seasonal indices of the total of ``values`` over the series, per date.

    Args:
        dates: the ``ds`` of each row of a regular series frame.
        values: the rows' demand (not negative); missing values count as no demand.
        freq: pandas frequency alias of the frame.
        series: the ``unique_id`` of each row: each series' values are then divided by their
            mean before the total is taken, so that every member weighs the same (the season
            of a typical member, not of the largest ones); None: the plain total.

    Returns:
        The indices kept; none for a frequency without a calendar season (hourly, yearly).
    """
    code = periods.freq_code(freq)
    values = pd.Series(np.asarray(values, float))
    if series is not None:
        mean = values.groupby(np.asarray(series)).transform("mean")
        values = values / mean.where(mean > 0)
    total = pd.Series(np.nan_to_num(values.to_numpy()), index=pd.DatetimeIndex(dates))
    total = total.groupby(level=0).sum().sort_index()
    weekday = _weekday_index(total, _DAILY[code]) if code in _DAILY else None
    if code not in _POSITIONS:
        return GroupSeason(weekday=weekday)
    kind, count = _POSITIONS[code]
    if weekday:  # the month index is estimated on the total without its weekday season
        adjusted = GroupSeason(weekday=weekday).deseasonalise(total.index, total.to_numpy())
        total = pd.Series(adjusted, index=total.index)
    position = _position_index(total, kind, count, freq)
    return GroupSeason(weekday=weekday, position=position, position_kind=kind)


def _weekday_index(total: pd.Series, days: int) -> dict[int, float] | None:
    """Weekday index of a daily total, or None when the weekdays do not differ significantly."""
    from scipy import stats  # slow: imported when fitting

    mean = total.rolling(days, center=True).mean()
    keep = mean.notna() & (mean > 0)
    if keep.sum() < 4 * days:
        return None
    ratio = total[keep] / mean[keep]
    weekday = ratio.index.dayofweek
    groups = [ratio[weekday == d].to_numpy() for d in np.unique(weekday)]
    if len(groups) < 2 or min(len(g) for g in groups) < 2:
        return None
    if not _significant(stats.f_oneway(*groups).pvalue):
        return None
    index = (total[keep].groupby(weekday).sum() / mean[keep].groupby(weekday).sum())
    index = index / index.mean()
    return {int(d): float(v) for d, v in index.items()}


def _position_index(total: pd.Series, kind: str, count: int, freq: str
                    ) -> dict[int, float] | None:
    """Month (or quarter) of year index of a total, or None when it is not significant or the
    history is too short to tell."""
    from scipy import stats  # slow: imported when fitting

    rule = "M" if kind == MONTH else "Q"
    period = total.index.to_period(rule)
    per = pd.Series(total.to_numpy(), index=period).groupby(level=0).agg(["mean", "size"])
    # The ends of the history hold part of a month: keep the periods at least half seen.
    days = np.array([(p.end_time - p.start_time).days + 1 for p in per.index], dtype=float)
    per = per[per["size"] >= _periods_in(days, freq) / 2]
    per = per[per["mean"] > 0]
    where = np.array([p.month if kind == MONTH else p.quarter for p in per.index])
    n = len(per)
    if len(np.unique(where)) < count or n - count - 1 < MIN_RESIDUAL_DF:
        return None
    y = np.log(per["mean"].to_numpy())
    ordinal = np.array([p.ordinal for p in per.index], dtype=float)
    trend = np.column_stack([np.ones(n), ordinal - ordinal.mean()])
    dummies = (where[:, None] == np.arange(2, count + 1)[None, :]).astype(float)
    full_design = np.column_stack([trend, dummies])
    _, rss_trend = _fit(trend, y)
    coef, rss_full = _fit(full_design, y)
    df = n - full_design.shape[1]
    if rss_full <= 0:
        p_value = 0.0 if rss_trend > 0 else 1.0
    else:
        statistic = ((rss_trend - rss_full) / (count - 1)) / (rss_full / df)
        p_value = float(stats.f.sf(statistic, count - 1, df))
    if not _significant(p_value):
        return None
    effects = np.concatenate([[0.0], coef[2:]])
    effects -= effects.mean()
    return {position + 1: float(np.exp(e)) for position, e in enumerate(effects)}


def _periods_in(days: np.ndarray, freq: str) -> np.ndarray:
    """How many periods of ``freq`` fit in spans of ``days`` calendar days (at least 1)."""
    code = periods.freq_code(freq)
    per_day = {"D": 1.0, "B": 5 / 7, "W": 1 / 7}.get(code)
    return np.ones_like(days) if per_day is None else np.maximum(days * per_day, 1.0)


def _fit(design: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, float]:
    coef, *_ = np.linalg.lstsq(design, y, rcond=None)
    return coef, float(np.sum((y - design @ coef) ** 2))


def _significant(p_value: float) -> bool:
    return bool(np.isfinite(p_value) and p_value < P_VALUE)
