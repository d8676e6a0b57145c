"""Attainment: actual revenue against target for a month or quarter, per organisation unit.

Definitions (rates are fractions: 0.95 means 95 %):

- A unit of a grain is a distinct value of the grain's key columns (``GRAIN_KEYS``): the
  company, a region, a team (region, team) or a rep (region, team, rep_id). The config and
  the output call these grains levels (``attainment.levels``, the ``level`` column).
- actual = sum of ``orders.amount`` whose ``order_date`` falls in the period and whose key
  columns equal the unit's (net of returns, which are negative amounts).
- target = sum of the monthly targets of the period's months whose key columns equal the
  unit's. Target rows with a key column empty are not part of that grain, so rep attainment
  exists only where targets have reps. Units are those with a target in the period.
- attainment = actual / target; gap = target - actual; shortage = max(gap, 0) / target.
- rank within a grain: by attainment, highest first; ties by actual, highest first; units
  equal in both share a rank.
- growth_vs_previous = actual / actual of the previous period - 1 (the previous month of a
  month, the previous quarter of a quarter); growth_vs_year_ago likewise against the same
  period a year before. A growth is empty when the earlier actual is not positive or when
  the data do not cover both periods in full.
"""

from __future__ import annotations

import re
from datetime import date, timedelta
from typing import NamedTuple

import numpy as np
import pandas as pd

from forecast.errors import ConfigError, ValidationError
from forecast.periods import MONTHS_IN, PeriodKind, add_months, next_quarter_start
from forecast.schemas import TARGET_KEYS

# The grains of targets and attainment by name (the ``level`` the config and the outputs give),
# and their key columns.
GRAIN_KEYS: dict[str, tuple[str, ...]] = {
    "company": (),
    "region": ("region",),
    "team": ("region", "team"),
    "rep": ("region", "team", "rep_id"),
}
ATTAINMENT_COLUMNS = (
    "period", "period_start", "level", *TARGET_KEYS, "actual", "target", "attainment", "gap",
    "shortage", "rank", "previous_actual", "growth_vs_previous", "year_ago_actual",
    "growth_vs_year_ago", "complete",
)

_MONTH = re.compile(r"^(\d{4})-(\d{1,2})$")
_QUARTER = re.compile(r"^(\d{4})-?[Qq]([1-4])$")


class Period(NamedTuple):
    """A calendar month or quarter: ``[start, end)``."""

    start: date
    end: date
    kind: PeriodKind

    @classmethod
    def of(cls, start: date, kind: PeriodKind) -> Period:
        """The month or quarter that starts on ``start`` (a month start)."""
        return cls(start, add_months(start, MONTHS_IN[kind]), kind)

    @property
    def label(self) -> str:
        """``2026-10`` for a month, ``2026-Q3`` for a quarter."""
        if self.kind == "month":
            return f"{self.start.year}-{self.start.month:02d}"
        return f"{self.start.year}-Q{(self.start.month - 1) // 3 + 1}"

    @property
    def last_day(self) -> date:
        return self.end - timedelta(days=1)

    def shifted(self, periods: int) -> Period:
        """The period ``periods`` months or quarters later (earlier when negative)."""
        return Period.of(add_months(self.start, periods * MONTHS_IN[self.kind]), self.kind)

    def year_before(self) -> Period:
        return Period.of(add_months(self.start, -12), self.kind)


def parse_period(text: str, last_data_day: date | None = None) -> Period:
    """Read a period: ``2026-10`` (a month), ``2026-Q3`` (a quarter) or ``next``.

    Args:
        text: the period as a user writes it; ``next`` is the first quarter that starts after
            ``last_data_day`` (data ending 2026-09-30 or 2026-10-31 give 2026-Q4 and 2027-Q1).
        last_data_day: the last day of the data (the last order day); needed for ``next``.

    Returns:
        ``(start, end_exclusive, kind)`` as a :class:`Period`.

    Raises:
        ConfigError: the text is none of these forms, or ``next`` without a last data day.
    """
    cleaned = text.strip()
    if cleaned.lower() == "next":
        if last_data_day is None:
            raise ConfigError("period 'next' is the quarter after the last order, but there "
                              "are no orders; give a period such as 2026-Q3")
        return Period.of(next_quarter_start(last_data_day), "quarter")
    month = _MONTH.match(cleaned)
    if month and 1 <= int(month.group(2)) <= 12:
        return Period.of(date(int(month.group(1)), int(month.group(2)), 1), "month")
    quarter = _QUARTER.match(cleaned)
    if quarter:
        first_month = (int(quarter.group(2)) - 1) * 3 + 1
        return Period.of(date(int(quarter.group(1)), first_month, 1), "quarter")
    raise ConfigError(f"period {text!r}: expected a month (2026-10), a quarter (2026-Q3) "
                      "or next")


def covers(span: tuple[date, date], period: Period) -> bool:
    """Whether data running from ``span[0]`` to ``span[1]`` (inclusive) cover every day."""
    return span[0] <= period.start and period.last_day <= span[1]


def available_grains(targets: pd.DataFrame, period: Period) -> list[str]:
    """Grains that have at least one target row in the period with every key column filled.

    Args:
        targets: monthly targets: period (month start), region, team, rep_id, target.
        period: the period.
    """
    rows = _in_period(targets, period)
    return [grain for grain, keys in GRAIN_KEYS.items()
            if len(rows) and rows[list(keys)].notna().all(axis=1).any()]


def resolve_grains(requested: list[str], targets: pd.DataFrame, period: Period,
                   explicit: bool) -> list[str]:
    """The requested grains the targets support, in ``GRAIN_KEYS`` order.

    Raises:
        ConfigError: an ``explicit`` (asked-for-by-name) grain that the targets cannot support,
            or no grain left.
    """
    available = available_grains(targets, period)
    missing = [grain for grain in requested if grain not in available]
    if missing and explicit:
        keys = ", ".join(GRAIN_KEYS[missing[0]])
        raise ConfigError(
            f"level {missing[0]!r} needs target rows with {keys} filled in; "
            f"the targets of {period.label} support: {', '.join(available)}")
    grains = [grain for grain in GRAIN_KEYS if grain in requested and grain in available]
    if not grains:
        raise ConfigError(f"none of the levels {', '.join(requested)} is supported by the "
                          f"targets of {period.label}; supported: {', '.join(available)}")
    return grains


def build_attainment(actuals: pd.DataFrame, targets: pd.DataFrame, period: Period,
                     grains: list[str], span: tuple[date, date]) -> pd.DataFrame:
    """Actual against target for every unit of each grain in one period.

    Args:
        actuals: monthly net revenue: period (month start), region, team, rep_id, actual. It
            must hold the period, the previous period and the same period a year before.
        targets: monthly targets: period (month start), region, team, rep_id, target.
        period: the month or quarter.
        grains: grain names of ``GRAIN_KEYS`` (the ``level`` of each output row).
        span: first and last day of the order data.

    Returns:
        One row per unit: the ``ATTAINMENT_COLUMNS`` (period label, period_start, level,
        region, team, rep_id, actual, target, attainment, gap, shortage, rank,
        previous_actual, growth_vs_previous, year_ago_actual, growth_vs_year_ago, complete),
        by grain then rank.

    Raises:
        ValidationError: the data hold no day of the period, or no target falls in it.
    """
    check_period(targets, period, span)
    frames = [_grain_frame(actuals, targets, period, grain, span) for grain in grains]
    frame = pd.concat(frames, ignore_index=True)
    frame.insert(0, "period", period.label)
    frame.insert(1, "period_start", pd.Timestamp(period.start))
    frame["complete"] = covers(span, period)
    return frame[list(ATTAINMENT_COLUMNS)]


def check_period(targets: pd.DataFrame, period: Period, span: tuple[date, date]) -> None:
    """Raise unless the orders hold a day of the period and the targets a row of it.

    Raises:
        ValidationError: says where the orders and the targets run.
    """
    if period.end <= span[0] or period.start > span[1]:
        raise ValidationError(f"no orders in {period.label}: the orders run from {span[0]} "
                              f"to {span[1]}")
    if _in_period(targets, period).empty:
        months = pd.to_datetime(targets["period"])
        cover = f"{months.min():%Y-%m}..{months.max():%Y-%m}" if len(months) else "nothing"
        raise ValidationError(f"the targets table has no row for {period.label}; "
                              f"targets cover {cover}")


def _in_period(frame: pd.DataFrame, period: Period) -> pd.DataFrame:
    months = pd.to_datetime(frame["period"])
    return frame[(months >= pd.Timestamp(period.start)) & (months < pd.Timestamp(period.end))]


def _sum_by(frame: pd.DataFrame, keys: list[str], value: str) -> pd.DataFrame:
    """Sum of ``value`` per ``keys``; NaN (missing) for a group with a NaN or infinite value,
    never a sum that leaves it out."""
    values = frame[value].astype(float).replace([np.inf, -np.inf], np.nan)
    frame = frame.assign(**{value: values})
    if not keys:
        return pd.DataFrame({value: [float(values.sum(skipna=False))]})
    # Rows without a key belong to no group; with none left, pandas 2 gives a Series, not a
    # frame, for a group-by with a lambda, so the empty frame is made here.
    frame = frame.dropna(subset=keys)
    if frame.empty:
        return frame[[*keys, value]].iloc[0:0]
    return frame.groupby(keys, as_index=False)[value].agg(
        lambda group: group.sum(skipna=False))


def _attach(left: pd.DataFrame, right: pd.DataFrame, keys: list[str], value: str,
            known: bool) -> pd.DataFrame:
    """``left`` with ``right[value]`` joined on keys; 0 for units without rows in a period that
    has rows, NaN for a sum that is missing and for every unit if not ``known`` (the data do not
    cover that period, or no order is dated in it)."""
    if not known:
        return left.assign(**{value: np.nan})
    if keys:
        joined = left.merge(right, how="left", on=keys, indicator="_found")
        without_rows = joined.pop("_found") == "left_only"
    else:
        joined = pd.concat([left, right], axis=1)
        without_rows = pd.Series(False, index=joined.index)
    sums = joined[value].astype(float)
    return joined.assign(**{value: sums.mask(without_rows, 0.0)})


def _grain_frame(actuals: pd.DataFrame, targets: pd.DataFrame, period: Period, grain: str,
                 span: tuple[date, date]) -> pd.DataFrame:
    keys = list(GRAIN_KEYS[grain])
    frame = _sum_by(_in_period(targets, period).dropna(subset=keys), keys, "target")
    complete = covers(span, period)
    windows = (("actual", period, True),
               ("previous_actual", period.shifted(-1), complete and covers(span,
                                                                          period.shifted(-1))),
               ("year_ago_actual", period.year_before(),
                complete and covers(span, period.year_before())))
    for column, window, known in windows:
        rows = _in_period(actuals, window)
        sums = _sum_by(rows, keys, "actual").rename(columns={"actual": column})
        frame = _attach(frame, sums, keys, column, known and not rows.empty)
    target = frame["target"].where(frame["target"] > 0)
    frame["attainment"] = frame["actual"] / target
    frame["gap"] = frame["target"] - frame["actual"]
    frame["shortage"] = frame["gap"].clip(lower=0.0) / target
    frame["growth_vs_previous"] = _growth(frame["actual"], frame["previous_actual"])
    frame["growth_vs_year_ago"] = _growth(frame["actual"], frame["year_ago_actual"])
    frame["rank"] = _rank(frame)
    frame["level"] = grain
    for column in TARGET_KEYS:
        if column not in frame:
            frame[column] = None
    return frame.sort_values(["rank", *keys], na_position="last", kind="stable")


def _growth(actual: pd.Series, earlier: pd.Series) -> pd.Series:
    return actual / earlier.where(earlier > 0) - 1.0


def _rank(frame: pd.DataFrame) -> pd.Series:
    """1 = best attainment; ties broken by actual; equal in both share the lower rank."""
    ranked = frame["attainment"].notna()
    order = frame[ranked].sort_values(["attainment", "actual"], ascending=False, kind="stable")
    ranks = pd.Series(pd.NA, index=frame.index, dtype="Int64")
    previous, rank = None, 0
    for position, (index, row) in enumerate(order[["attainment", "actual"]].iterrows(), 1):
        pair = (row["attainment"], row["actual"])
        if pair != previous:
            rank, previous = position, pair
        ranks[index] = rank
    return ranks


def summarise_attainment(frame: pd.DataFrame, top: int) -> dict:
    """A JSON-ready summary: the company row and, per grain (under ``levels``), totals and
    best/worst units.

    Args:
        frame: the result of :func:`build_attainment`.
        top: how many best and worst units to list per grain.
    """
    company = frame[frame["level"] == "company"]
    company_actual = float(company["actual"].iloc[0]) if len(company) else None
    grains = {}
    for grain, rows in frame.groupby("level", sort=False):
        ranked = rows[rows["rank"].notna()].sort_values("rank", kind="stable")
        grains[grain] = {
            "units": len(rows),
            "on_target": int((rows["attainment"] >= 1.0).sum()),
            "actual": _round(rows["actual"].sum(skipna=False)),
            "target": _round(rows["target"].sum(skipna=False)),
            "unattributed_actual": None if company_actual is None
            else _round(company_actual - rows["actual"].sum(skipna=False)),
            "best": _records(ranked.head(top)),
            "worst": _records(ranked.tail(top).iloc[::-1]),
        }
    return {"company": _records(company)[0] if len(company) else None, "levels": grains}


def _records(rows: pd.DataFrame) -> list[dict]:
    keep = ["region", "team", "rep_id", "actual", "target", "attainment", "gap", "shortage",
            "rank", "growth_vs_previous", "growth_vs_year_ago"]
    records = []
    for row in rows[keep].to_dict("records"):
        records.append({k: _round(v) for k, v in row.items()
                        if not (k in TARGET_KEYS and pd.isna(v))})
    return records


def _round(value: object) -> object:
    if value is None or value is pd.NA:
        return None
    if isinstance(value, int | np.integer):
        return int(value)
    if isinstance(value, float | np.floating):
        return None if np.isnan(value) else round(float(value), 4)
    return value
