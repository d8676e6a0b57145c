"""Calendar and holiday features of period-end dates, as frames, for the forecasting models.

The series builder computes its calendar columns in SQL over period starts
(:mod:`forecast.features.calendar`); models that build their own feature rows for future periods
use these pandas versions. Both read a country's public holidays through
:func:`forecast.features.calendar.country_holiday_names`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from forecast.errors import ValidationError
from forecast.features.calendar import country_holiday_names
from forecast.periods import freq_code
from forecast.schemas import DS

# HistGradientBoosting takes at most 255 categories per categorical feature.
MAX_CATEGORIES = 250


def build_holiday_calendar(
    ds: pd.Series, holidays: pd.DataFrame | None, country: str | None
) -> pd.Series:
    """Holiday dates and names from a holidays frame and/or a country's public holidays.

    Args:
        ds: dates of the training frame (sets the years of the country calendar, plus 3 ahead).
        holidays: frame ``holiday, ds`` with optional ``lower_window, upper_window`` in days.
        country: ISO country code for the ``holidays`` package.

    Returns:
        Holiday names indexed by sorted, unique dates (the first name wins on shared dates).
    """
    names: list[pd.Series] = []
    if holidays is not None and len(holidays):
        missing = [c for c in ("holiday", DS) if c not in holidays.columns]
        if missing:
            raise ValidationError(f"holidays frame: missing column(s) {missing}")
        table = holidays.assign(lower_window=holidays.get("lower_window", 0),
                                upper_window=holidays.get("upper_window", 0))
        for offset in range(int(table["lower_window"].min()), int(table["upper_window"].max()) + 1):
            rows = table[(table["lower_window"] <= offset) & (table["upper_window"] >= offset)]
            label = rows["holiday"].astype(str) + ("" if offset == 0 else f"{offset:+d}")
            dates = pd.to_datetime(rows[DS]) + pd.Timedelta(days=offset)
            names.append(pd.Series(label.to_numpy(), index=pd.DatetimeIndex(dates)))
    if country:
        found = country_holiday_names(country, range(ds.min().year - 1, ds.max().year + 4))
        names.append(pd.Series(list(found.values()), index=pd.DatetimeIndex(list(found))))
    if not names:
        return pd.Series([], index=pd.DatetimeIndex([]), dtype=object)
    calendar = pd.concat(names)
    return calendar[~calendar.index.duplicated()].sort_index()


def build_calendar_features(ds: pd.Series, freq: str, calendar: pd.Series) -> pd.DataFrame:
    """Calendar and holiday features of period-end dates.

    Args:
        ds: dates labelling each period by its last day (a week ending Friday is its Friday).
        freq: pandas frequency alias.
        calendar: holiday names by date, from :func:`build_holiday_calendar`.

    Returns:
        Frame with ``month, week, day_of_year, day_of_month`` (+ ``day_of_week`` for daily),
        ``holiday`` (categorical name of a holiday inside the period), ``next_holiday``,
        ``days_to_holiday`` and ``days_since_holiday``; same index as ``ds``.
    """
    dates = pd.DatetimeIndex(ds.unique())
    out = pd.DataFrame(index=dates)
    out["month"] = dates.month
    out["week"] = dates.isocalendar().week.to_numpy().astype(int)
    out["day_of_year"] = dates.day_of_year
    out["day_of_month"] = dates.day
    daily = freq_code(freq) in ("D", "B")
    if daily:
        out["day_of_week"] = dates.day_of_week
        out["days_to_month_end"] = (dates.days_in_month - dates.day).to_numpy()
    period = pd.Timedelta(days=1 if daily else 7 if freq.upper().startswith("W") else 30)
    out = pd.concat([out, _holiday_features(dates, period, calendar)], axis=1)
    return out.reindex(pd.DatetimeIndex(ds)).set_index(ds.index)


def _holiday_features(dates: pd.DatetimeIndex, period: pd.Timedelta, calendar: pd.Series):
    categories = ["none", *[n for n in pd.unique(calendar.to_numpy()) if n != "none"]]
    out = pd.DataFrame(index=dates)
    if calendar.empty:
        out["holiday"] = out["next_holiday"] = pd.Categorical(["none"] * len(dates), ["none"])
        out["days_to_holiday"] = out["days_since_holiday"] = np.nan
        return out
    names = calendar.to_numpy()
    when = calendar.index.to_numpy()
    upper = np.searchsorted(when, dates.to_numpy(), side="right")
    lower = np.searchsorted(when, (dates - period).to_numpy(), side="right")
    has_next, has_last = upper < len(when), upper > 0
    nxt, last = np.minimum(upper, len(when) - 1), np.maximum(upper - 1, 0)
    categories = categories[:MAX_CATEGORIES]
    first = np.minimum(lower, len(when) - 1)
    out["holiday"] = pd.Categorical(np.where(upper > lower, names[first], "none"), categories)
    out["next_holiday"] = pd.Categorical(np.where(has_next, names[nxt], "none"), categories)
    day = np.timedelta64(1, "D")
    out["days_to_holiday"] = np.where(has_next, (when[nxt] - dates.to_numpy()) / day, np.nan)
    out["days_since_holiday"] = np.where(has_last, (dates.to_numpy() - when[last]) / day, np.nan)
    return out
