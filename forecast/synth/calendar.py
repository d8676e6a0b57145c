"""Calendar factors of the synthetic company: trend, seasonality, holidays and promotions.

Days are counted from the first day of the data (index 0) to ``end_date`` (index ``n_days-1``).
The daily order rate of a customer is its base rate times ``level`` (trend x month) times its
channel mix of ``channel_factor`` (weekday x holidays) times the promotion uplift of the product
lines it buys.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import holidays
import numpy as np

from forecast.schemas import CHANNELS
from forecast.synth import params

EPOCH = date(1970, 1, 1)


@dataclass(frozen=True)
class HolidayWindow:
    """Days ``start``..``end`` (inclusive) on which ``channels`` sell ``factor`` times normal."""

    name: str
    start: date
    end: date
    factor: float
    channels: tuple[str, ...]


@dataclass(frozen=True)
class Promotion:
    """A discount on ``product_lines`` from ``start`` to ``end`` (inclusive)."""

    start: date
    end: date
    product_lines: tuple[str, ...]
    uplift: float
    discount: float


@dataclass(frozen=True)
class Calendar:
    """Day-indexed factors; arrays have one entry per day of the data.

    Attributes:
        start, end: first and last day of the data.
        start_epoch: ``start`` as days since 1970-01-01 (the date32 value of day 0).
        month_index: months since the first month, per day.
        month_starts: first day of every data month and of the months ahead that get targets.
        level: trend x monthly factor, per day.
        channel_factor: (days, channels) weekday x holiday factors.
        uplift, discount: (days, product lines) promotion uplift (1 when none) and discount.
        cumulative: (channels, days + 1) running sum of the dominating daily rate of a customer
            whose primary channel is that channel: level x channel mix x the largest uplift.
    """

    start: date
    end: date
    start_epoch: int
    month_index: np.ndarray
    month_starts: tuple[date, ...]
    level: np.ndarray
    channel_factor: np.ndarray
    uplift: np.ndarray
    discount: np.ndarray
    cumulative: np.ndarray
    holidays: tuple[HolidayWindow, ...]
    promotions: tuple[Promotion, ...]

    @property
    def n_days(self) -> int:
        return int(self.level.size)

    @property
    def n_data_months(self) -> int:
        return int(self.month_index[-1]) + 1


def channel_mix() -> np.ndarray:
    """(primary channel, channel) share of a customer's orders in each channel."""
    n = len(CHANNELS)
    other = (1.0 - params.PRIMARY_CHANNEL_SHARE) / (n - 1)
    return np.where(np.eye(n, dtype=bool), params.PRIMARY_CHANNEL_SHARE, other)


def data_start(end: date, years: int) -> date:
    """First day of ``years`` whole years of data ending on ``end``."""
    try:
        same_day = end.replace(year=end.year - years)
    except ValueError:  # 29 February
        same_day = end.replace(year=end.year - years, day=28)
    return same_day + timedelta(days=1)


def spring_festival(year: int) -> date | None:
    """First day of the Spring Festival (Chinese New Year) in ``year``, from ``holidays``."""
    named = list(holidays.China(years=year).items())
    days = sorted(d for d, name in named if "Spring Festival" in name)
    if not days:
        days = sorted(
            d for d, name in named if "Chinese New Year" in name and "Eve" not in name
        )
    return days[0] if days else None


def build_holidays(start: date, end: date) -> tuple[HolidayWindow, ...]:
    """Holiday windows that touch ``start``..``end``: Spring Festival, Golden Week, 618, 11.11."""
    every = tuple(CHANNELS)
    windows: list[HolidayWindow] = []
    for year in range(start.year - 1, end.year + 2):
        new_year = spring_festival(year)
        if new_year is not None:
            windows.append(HolidayWindow(
                "Spring Festival stock-up", new_year - timedelta(days=params.STOCK_UP_DAYS),
                new_year - timedelta(days=1), params.STOCK_UP_FACTOR, every))
            windows.append(HolidayWindow(
                "Spring Festival", new_year,
                new_year + timedelta(days=params.SPRING_FESTIVAL_DAYS - 1),
                params.SPRING_FESTIVAL_FACTOR, every))
        for channel, factor in params.GOLDEN_WEEK_FACTOR.items():
            windows.append(HolidayWindow(
                "National Day Golden Week", date(year, 10, 1), date(year, 10, 7), factor,
                (channel,)))
        for name, ((month, day), factor) in params.SHOPPING_DAYS.items():
            windows.append(HolidayWindow(
                name, date(year, month, day), date(year, month, day), factor, ("online",)))
    kept = [w for w in windows if w.end >= start and w.start <= end]
    return tuple(sorted(kept, key=lambda w: (w.start, w.name, w.channels)))


def build_promotions(
    start: date, end: date, lines: tuple[str, ...], rng: np.random.Generator
) -> tuple[Promotion, ...]:
    """One promotion per quarter of every year, on one or two product lines."""
    promotions = []
    low_days, high_days = params.PROMOTION_DAYS
    for year in range(start.year, end.year + 1):
        for quarter in range(params.PROMOTIONS_PER_YEAR):
            first = date(year, 1 + 3 * quarter, 1) + timedelta(days=int(rng.integers(0, 75)))
            last = first + timedelta(days=int(rng.integers(low_days, high_days + 1)) - 1)
            chosen = rng.choice(len(lines), size=int(rng.integers(1, 3)), replace=False)
            uplift = round(float(rng.uniform(*params.PROMOTION_UPLIFT)), 3)
            discount = round(float(rng.uniform(*params.PROMOTION_DISCOUNT)), 3)
            if last >= start and first <= end:
                names = tuple(lines[i] for i in sorted(chosen))
                promotions.append(Promotion(first, last, names, uplift, discount))
    return tuple(promotions)


def _day_numbers(start: date, n_days: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per day: months since the first month, calendar month (1-12), weekday (Monday 0)."""
    start_epoch = (start - EPOCH).days
    epoch_days = np.arange(start_epoch, start_epoch + n_days)
    months = epoch_days.astype("datetime64[D]").astype("datetime64[M]").astype(np.int64)
    month_index = months - months[0]
    month_of_year = months % 12 + 1
    weekday = (epoch_days + 3) % 7  # 1970-01-01 was a Thursday
    return month_index, month_of_year, weekday


def _window_days(window_start: date, window_end: date, start: date, n_days: int) -> slice:
    first = max((window_start - start).days, 0)
    last = min((window_end - start).days, n_days - 1)
    return slice(first, last + 1)


def _channel_factor(
    start: date, weekday: np.ndarray, windows: tuple[HolidayWindow, ...]
) -> np.ndarray:
    factor = np.stack([np.asarray(params.WEEKDAY[c])[weekday] for c in CHANNELS], axis=1)
    for window in windows:
        days = _window_days(window.start, window.end, start, weekday.size)
        for channel in window.channels:
            factor[days, CHANNELS.index(channel)] *= window.factor
    return factor


def _promotion_arrays(
    start: date, n_days: int, lines: tuple[str, ...], promotions: tuple[Promotion, ...]
) -> tuple[np.ndarray, np.ndarray]:
    uplift = np.ones((n_days, len(lines)))
    discount = np.zeros((n_days, len(lines)))
    for promo in promotions:
        days = _window_days(promo.start, promo.end, start, n_days)
        for line in promo.product_lines:
            uplift[days, lines.index(line)] = promo.uplift
            discount[days, lines.index(line)] = promo.discount
    return uplift, discount


def _month_starts(start: date, n_months: int) -> tuple[date, ...]:
    months = np.datetime64(start, "M") + np.arange(n_months)
    return tuple(m.astype("datetime64[D]").astype(date) for m in months)


def build_calendar(
    end: date, years: int, lines: tuple[str, ...], rng: np.random.Generator
) -> Calendar:
    """All day-indexed factors for ``years`` years ending on ``end``."""
    start = data_start(end, years)
    n_days = (end - start).days + 1
    month_index, month_of_year, weekday = _day_numbers(start, n_days)
    trend = params.GROWTH_PER_YEAR ** (np.arange(n_days) / 365.25)
    level = trend * np.asarray(params.MONTHLY)[month_of_year - 1]
    windows = build_holidays(start, end)
    channel_factor = _channel_factor(start, weekday, windows)
    promotions = build_promotions(start, end, lines, rng)
    uplift, discount = _promotion_arrays(start, n_days, lines, promotions)
    dominating = level * (channel_mix() @ channel_factor.T) * uplift.max(axis=1)
    cumulative = np.zeros((len(CHANNELS), n_days + 1))
    np.cumsum(dominating, axis=1, out=cumulative[:, 1:])
    n_months = int(month_index[-1]) + 1 + params.TARGET_MONTHS_AHEAD
    return Calendar(
        start=start, end=end, start_epoch=(start - EPOCH).days, month_index=month_index,
        month_starts=_month_starts(start, n_months), level=level,
        channel_factor=channel_factor, uplift=uplift, discount=discount, cumulative=cumulative,
        holidays=windows, promotions=promotions,
    )
