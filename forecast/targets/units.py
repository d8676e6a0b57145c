"""The organisation units of a targets plan and their forecast distributions per span.

Units form a tree: the company (``unit_id`` ``total``), then one grain after another of
``GRAIN_KEYS`` (region; team = region, team; rep = region, team, rep_id), which the config and
the plan call levels. A unit's id is its key values joined by ``|`` (``North|North-1``), as in
the forecast's ``unique_id``.

A grain taken from the forecast has the units of the forecast series of its key columns, each
with its own forecast. A grain split by history has the units with orders in the trailing
window (orders without the grain's key columns belong to no unit of it, so the named units
share the whole parent); each gets ``share`` = its revenue / its siblings' revenue (negative revenue counts as
none; siblings without any revenue share equally) and the forecast of its parent scaled by
that share: ``yhat = share x parent yhat`` and ``yhat_sd = sqrt(share) x parent yhat_sd`` (the
deviations below and above the median alike).
The square root treats the parent as a sum of independent parts, so the variances of the
children add up to the parent's and a small unit is relatively less certain than a big one.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np
import pandas as pd

from forecast.hierarchy.distribution import SD_ABOVE, SD_BELOW, sides
from forecast.periods import MONTHS_IN, add_months
from forecast.schemas import GRAIN, TARGET_KEYS, TOTAL
from forecast.targets.attainment import GRAIN_KEYS, Period

WEEK_DAYS = 7
# The deviations a span's forecast carries: overall, below and above its median.
SPREADS = ("yhat_sd", SD_BELOW, SD_ABOVE)
_GRAIN_SEPARATOR = re.compile(r"[|/]")


def period_months(period: Period) -> list[pd.Timestamp]:
    """The month starts of a month or quarter."""
    return [pd.Timestamp(add_months(period.start, i)) for i in range(MONTHS_IN[period.kind])]


def unit_ids(frame: pd.DataFrame, keys: Sequence[str]) -> pd.Series:
    """``total`` for no keys, else the key values joined by ``|``, one per row."""
    if not keys:
        return pd.Series(TOTAL, index=frame.index, dtype=object)
    ids = frame[keys[0]].astype(str)
    for key in keys[1:]:
        ids = ids + "|" + frame[key].astype(str)
    return ids.astype(object)


def series_of_grain(frame: pd.DataFrame, keys: Sequence[str]) -> pd.DataFrame:
    """Rows of a forecast frame whose grain is exactly ``keys`` (in any order), with unit_id.

    A grain names its key columns joined by ``|`` or ``/`` (``region|channel``), or is
    ``total``.
    """
    wanted = set(keys)
    grains = frame[GRAIN].astype(str)
    match = grains.map(lambda g: set() if g == TOTAL else set(_GRAIN_SEPARATOR.split(g))) == wanted
    rows = frame[match.to_numpy()].copy()
    if keys and not set(keys) <= set(rows.columns):
        return rows.iloc[0:0].assign(unit_id=pd.Series(dtype=object))
    rows["unit_id"] = unit_ids(rows, keys)
    return rows


def build_units(forecast: pd.DataFrame, history: pd.DataFrame, grains: Sequence[str],
                forecast_grains: Sequence[str]) -> pd.DataFrame:
    """The unit tree.

    Args:
        forecast: ``revenue_forecast_periods`` rows (unique_id, grain, key columns, ...).
        history: trailing revenue at the deepest grain: key columns, ``revenue``.
        grains: grain names below the company, in order.
        forecast_grains: the leading grains whose units come from the forecast.

    Returns:
        ``level, depth, unit_id, parent_id, region, team, rep_id, from_forecast, history,
        share``: ``history`` is the unit's trailing revenue (0 without any); ``share`` its
        share of its siblings' history (1 for the company).
    """
    frames = [pd.DataFrame({"level": ["company"], "depth": [0], "unit_id": [TOTAL],
                            "parent_id": [None], "from_forecast": [True]})]
    parents, parent_keys = {TOTAL}, ()
    for depth, grain in enumerate(grains, 1):
        keys = list(GRAIN_KEYS[grain])
        from_forecast = grain in forecast_grains
        source = series_of_grain(forecast, keys) if from_forecast else history.dropna(
            subset=keys)
        rows = source[keys].drop_duplicates().sort_values(keys).reset_index(drop=True)
        rows["unit_id"] = unit_ids(rows, keys)
        rows["parent_id"] = unit_ids(rows, parent_keys)
        rows = rows[rows["parent_id"].isin(parents)]
        frames.append(rows.assign(level=grain, depth=depth, from_forecast=from_forecast))
        parents, parent_keys = set(rows["unit_id"]), keys
    units = pd.concat(frames, ignore_index=True)
    for column in TARGET_KEYS:
        if column not in units:
            units[column] = None
    units["history"] = _unit_history(units, history, grains)
    units["share"] = _sibling_shares(units)
    return units[["level", "depth", "unit_id", "parent_id", *TARGET_KEYS, "from_forecast",
                  "history", "share"]]


def _unit_history(units: pd.DataFrame, history: pd.DataFrame, grains: Sequence[str]) -> pd.Series:
    totals = {TOTAL: float(history["revenue"].sum()) if len(history) else 0.0}
    for grain in grains:
        keys = list(GRAIN_KEYS[grain])
        rows = history.dropna(subset=keys)
        sums = rows.groupby(unit_ids(rows, keys))["revenue"].sum() if len(rows) else {}
        totals.update({str(k): float(v) for k, v in dict(sums).items()})
    return units["unit_id"].map(lambda u: totals.get(u, 0.0)).astype(float)


def _sibling_shares(units: pd.DataFrame) -> pd.Series:
    revenue = units["history"].clip(lower=0.0)
    siblings = revenue.groupby(units["parent_id"].fillna("")).transform("sum")
    count = units.groupby(units["parent_id"].fillna(""))["unit_id"].transform("count")
    share = np.where(siblings > 0, revenue / siblings.where(siblings > 0, 1.0), 1.0 / count)
    return pd.Series(share, index=units.index).where(units["depth"] > 0, 1.0)


def build_spans(units: pd.DataFrame, forecast: pd.DataFrame, period: Period,
                grains: Sequence[str]) -> pd.DataFrame:
    """Forecast median and deviation of every unit for the period and each of its months.

    Args:
        units: the result of :func:`build_units`.
        forecast: ``revenue_forecast_periods`` rows.
        period: the month or quarter.
        grains: the grain names of ``units`` below the company.

    Returns:
        ``unit_id, span ('period' or 'month'), start, yhat, yhat_sd, sd_below, sd_above``
        (the deviations below and above the median, from the 80 % interval); every unit has
        the period and each month.
    """
    months = period_months(period)
    own = []
    for grain, keys in (("company", ()), *((g, GRAIN_KEYS[g]) for g in grains)):
        ids = set(units.loc[units["from_forecast"] & (units["level"] == grain), "unit_id"])
        if ids:
            rows = series_of_grain(forecast, keys)
            own.append(rows[rows["unit_id"].isin(ids)])
    rows = pd.concat(own, ignore_index=True)
    rows["period"] = pd.to_datetime(rows["period"])
    whole = rows[(rows["period_type"] == period.kind) & (rows["period"] == months[0])]
    parts = rows[(rows["period_type"] == "month") & rows["period"].isin(months)]
    spans = pd.concat([whole.assign(span="period"), parts.assign(span="month")],
                      ignore_index=True).rename(columns={"period": "start"})
    spans[SD_BELOW], spans[SD_ABOVE] = sides(spans)
    spans = spans[["unit_id", "span", "start", "yhat", *SPREADS]]
    return inherit(units, spans, ["span", "start"])


def inherit(units: pd.DataFrame, frame: pd.DataFrame, on: list[str]) -> pd.DataFrame:
    """Add the rows of units that have none: their parent's rows scaled by their share.

    ``yhat`` is multiplied by ``share`` and the deviations by its square root (see the module).

    Args:
        units: the unit tree with ``share``.
        frame: ``unit_id, *on, yhat, yhat_sd, sd_below, sd_above`` of the units that have
            their own rows.
        on: the columns that identify a row of a unit (span and start).
    """
    have = set(frame["unit_id"])
    parts = [frame]
    for depth in sorted(units["depth"].unique())[1:]:
        missing = units[(units["depth"] == depth) & ~units["unit_id"].isin(have)]
        if missing.empty:
            continue
        known = pd.concat(parts, ignore_index=True)
        child = missing[["unit_id", "parent_id", "share"]].merge(
            known.rename(columns={"unit_id": "parent_id"}), on="parent_id")
        child["yhat"] = child["yhat"] * child["share"]
        child[list(SPREADS)] = child[list(SPREADS)].mul(np.sqrt(child["share"]), axis=0)
        parts.append(child[["unit_id", *on, "yhat", *SPREADS]])
        have |= set(missing["unit_id"])
    return pd.concat(parts, ignore_index=True)


def build_week_pieces(units: pd.DataFrame, weekly: pd.DataFrame, spans: pd.DataFrame,
                      period: Period) -> pd.DataFrame | None:
    """Weekly forecasts cut at the month boundaries of the period.

    A week from ``ds`` covers seven days; the days it shares with a month form a piece with
    that fraction of its ``yhat`` and of its ``yhat_sd`` (the days of one forecast row move
    together). A unit without its own weekly series takes its parent's pieces scaled by its
    month's ``yhat`` over the parent's (``yhat_sd`` by the square root).

    Args:
        units: the unit tree.
        weekly: ``revenue_forecast`` rows: unique_id, grain, key columns, ds, yhat, yhat_sd
            (+ the 80 % interval, read by :func:`forecast.hierarchy.distribution.sides`).
        spans: the result of :func:`build_spans`.
        period: the month or quarter.

    Returns:
        ``unit_id, month, start, end (exclusive), yhat, yhat_sd, sd_below, sd_above``, or
        None when the company's
        weekly forecast does not cover every day of the period.
    """
    own = []
    for grain in units["level"].unique():
        keys = () if grain == "company" else GRAIN_KEYS[grain]
        rows = series_of_grain(weekly, keys)
        own.append(rows[rows["unit_id"].isin(units.loc[units["level"] == grain, "unit_id"])])
    rows = pd.concat(own, ignore_index=True)
    rows[SD_BELOW], rows[SD_ABOVE] = sides(rows)
    pieces = _cut_weeks(rows, period)
    company = pieces[pieces["unit_id"] == TOTAL]
    if (company["end"] - company["start"]).dt.days.sum() != (period.end - period.start).days:
        return None
    pieces = pieces[pieces.groupby("unit_id")["start"].transform("count") == len(company)]
    month_yhat = spans[spans["span"] == "month"].set_index(["unit_id", "start"])["yhat"]
    return _inherit_pieces(units, pieces, month_yhat)


def _cut_weeks(rows: pd.DataFrame, period: Period) -> pd.DataFrame:
    starts = pd.to_datetime(rows["ds"])
    out = []
    for month in period_months(period):
        month_end = pd.Timestamp(add_months(month.date(), 1))
        lo = starts.where(starts > month, month)
        hi = (starts + pd.Timedelta(days=WEEK_DAYS)).where(
            starts + pd.Timedelta(days=WEEK_DAYS) < month_end, month_end)
        days = (hi - lo).dt.days
        keep = days > 0
        fraction = days[keep] / WEEK_DAYS
        out.append(pd.DataFrame({
            "unit_id": rows.loc[keep, "unit_id"], "month": month, "start": lo[keep],
            "end": hi[keep], "yhat": rows.loc[keep, "yhat"] * fraction,
            **{c: rows.loc[keep, c] * fraction for c in SPREADS}}))
    pieces = pd.concat(out, ignore_index=True)
    return pieces.sort_values(["unit_id", "start"]).reset_index(drop=True)


def _inherit_pieces(units: pd.DataFrame, pieces: pd.DataFrame,
                    month_yhat: pd.Series) -> pd.DataFrame:
    have = set(pieces["unit_id"])
    parts = [pieces]
    for depth in sorted(units["depth"].unique())[1:]:
        missing = units[(units["depth"] == depth) & ~units["unit_id"].isin(have)]
        if missing.empty:
            continue
        known = pd.concat(parts, ignore_index=True).rename(columns={"unit_id": "parent_id"})
        child = missing[["unit_id", "parent_id"]].merge(known, on="parent_id")
        own = month_yhat.reindex(pd.MultiIndex.from_frame(child[["unit_id", "month"]]))
        parent = month_yhat.reindex(pd.MultiIndex.from_frame(child[["parent_id", "month"]]))
        share = (own.to_numpy() / np.where(parent.to_numpy() != 0, parent.to_numpy(), np.nan))
        share = np.nan_to_num(share, nan=0.0).clip(min=0.0)
        child["yhat"] = child["yhat"] * share
        child[list(SPREADS)] = child[list(SPREADS)].mul(np.sqrt(share), axis=0)
        parts.append(child.drop(columns="parent_id"))
        have |= set(missing["unit_id"])
    return pd.concat(parts, ignore_index=True)
