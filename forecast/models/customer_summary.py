"""The customers behind a revenue series: their purchase days, and their summary at an origin.

:class:`CustomerActivity` holds each series' customers' purchase days (the warehouse's order
lines, read by ``forecast.features.customer_activity``); :func:`summarise_customers` turns
them into the frequency, recency and age the purchase models are fitted on, at each series'
origin; :func:`period_edges` maps the series' period labels to the days they span.
"""

from __future__ import annotations

import pandas as pd

from forecast.errors import ValidationError
from forecast.models.base import future_dates
from forecast.schemas import CUSTOMER_ID, DS, UNIQUE_ID

AMOUNT = "amount"
ACTIVITY_COLUMNS = (UNIQUE_ID, CUSTOMER_ID, DS, AMOUNT)
_DAY = pd.Timedelta(days=1)
_END_ANCHORED = (pd.offsets.MonthEnd, pd.offsets.QuarterEnd, pd.offsets.YearEnd,
                 pd.offsets.BusinessMonthEnd, pd.offsets.BQuarterEnd, pd.offsets.BYearEnd,
                 pd.offsets.SemiMonthEnd)


class CustomerActivity:
    """The customers' purchase days of every series, immutable and shared, not copied.

    Args:
        frame: ``unique_id, customer_id, ds, amount``: a row per series, customer and day,
            ``amount`` the customer's net spend in that series that day (rows repeating a
            series, customer and day are summed; times of day are dropped).

    ``copy.deepcopy`` (which ``clone`` applies to a parameter that is not an estimator) returns
    the object itself and equality is identity: a model and its clones share one frame.

    Raises:
        ValidationError: a missing column, ``ds`` that does not parse, a non-numeric ``amount``.
    """

    def __init__(self, frame: pd.DataFrame):
        missing = [c for c in ACTIVITY_COLUMNS if c not in frame.columns]
        if missing:
            raise ValidationError(f"customer activity: missing column(s) {missing}; expected "
                                  f"{', '.join(ACTIVITY_COLUMNS)}")
        out = frame[list(ACTIVITY_COLUMNS)].copy()
        try:
            out[DS] = pd.to_datetime(out[DS]).dt.normalize()
        except (ValueError, TypeError) as exc:
            raise ValidationError(f"customer activity: ds does not parse ({exc})") from None
        if not pd.api.types.is_numeric_dtype(out[AMOUNT]):
            raise ValidationError(f"customer activity: amount must be numeric, got "
                                  f"{out[AMOUNT].dtype}")
        out[UNIQUE_ID] = out[UNIQUE_ID].astype(str)
        out = out.dropna(subset=[CUSTOMER_ID, DS, AMOUNT])
        out = out.groupby([UNIQUE_ID, CUSTOMER_ID, DS], sort=True, observed=True)[AMOUNT].sum()
        object.__setattr__(self, "_frame", out.astype(float).reset_index())

    @property
    def frame(self) -> pd.DataFrame:
        """The rows, sorted by ``unique_id, customer_id, ds``; read it, do not change it."""
        return self._frame

    def __setattr__(self, name, value):
        raise AttributeError("CustomerActivity is immutable")

    def __deepcopy__(self, memo) -> CustomerActivity:
        return self

    def __eq__(self, other) -> bool:
        return self is other

    def __hash__(self) -> int:
        return id(self)

    def __repr__(self) -> str:
        return f"CustomerActivity({len(self._frame)} rows)"


def period_edges(labels: pd.DatetimeIndex, freq: str) -> pd.DatetimeIndex:
    """First day of each labelled period and the day after the last one (``len + 1`` edges).

    Labels are period starts (the project's series: ``D``, ``W-<day>``, ``MS``) or, for
    pandas' end-anchored aliases (``ME``, ``QE``, ...), period ends.
    """
    offset = pd.tseries.frequencies.to_offset(freq)
    if isinstance(offset, _END_ANCHORED):
        return pd.DatetimeIndex([labels[0] - offset]).append(labels) + _DAY
    after = future_dates(pd.Series([labels[-1]], index=["_"]), 1, freq)[DS]
    return labels.append(pd.DatetimeIndex(after))


def summarise_customers(frame: pd.DataFrame, origins: pd.Series,
                        starts: pd.Series | None = None) -> pd.DataFrame:
    """Each series' customers at its origin, from their purchase days before it.

    Args:
        frame: activity rows (``CustomerActivity.frame``), sorted by series, customer, day.
        origins: the first day after each series' history, indexed by ``unique_id``.
        starts: first day of each series' recent window (default: its origin).

    Returns:
        A row per series and customer with a purchase (a day of positive amount) before the
        origin: ``unique_id, customer_id, first`` (day), ``frequency`` (purchase days - 1),
        ``recency`` (days from first to last purchase), ``T`` (days from first purchase to the
        origin), ``monetary`` (mean spend of the repeat purchase days, 0 without),
        ``first_amount`` (spend of the first purchase day), ``recent`` (spend of the purchase
        days from the series' ``starts`` day on).
    """
    rows = frame[frame[UNIQUE_ID].isin(origins.index)]
    rows = rows[(rows[DS] < rows[UNIQUE_ID].map(origins)) & (rows[AMOUNT] > 0)]
    since = rows[UNIQUE_ID].map(origins if starts is None else starts)
    groups = rows.assign(recent=rows[AMOUNT].where(rows[DS] >= since, 0.0)).groupby(
        [UNIQUE_ID, CUSTOMER_ID], sort=False, observed=True)
    out = groups.agg(first=(DS, "min"), last=(DS, "max"), days=(DS, "size"),
                     total=(AMOUNT, "sum"), first_amount=(AMOUNT, "first"),
                     recent=("recent", "sum")).reset_index()
    out["frequency"] = (out["days"] - 1).astype(float)
    out["recency"] = (out["last"] - out["first"]) / _DAY
    out["T"] = (out[UNIQUE_ID].map(origins) - out["first"]) / _DAY
    out["monetary"] = ((out["total"] - out["first_amount"]) / out["frequency"]).where(
        out["frequency"] > 0, 0.0)
    return out.drop(columns=["last", "days", "total"])
