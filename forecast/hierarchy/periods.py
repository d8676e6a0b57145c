"""Forecasts of a series frequency summed to calendar months and quarters, with a distribution.

A forecast row covers the days from its ``ds`` to the next period's start; its value is spread
evenly over those days and the days are summed into months and quarters, so a week that
straddles two months is split by its days in each. A period that starts before the first
forecast day is completed with the history of those days (spread the same way), so "November"
is the whole of November: known days plus forecast days. Data dated on one day of each period
(weekly sales on their Monday or Friday: ``booked``) are booked on that day, history and
forecast alike, as the orders and the monthly report book them: spread, a week dated Monday
30 June would count 6/7 of its sales in July that June's revenue already holds.

The distribution of a period total is Normal(``yhat``, ``yhat_sd``). Each forecast row's
standard deviation comes from its 80 % interval, ``(hi - lo) / (2 z_0.9)``; a row's share of a
period carries that share of its deviation; rows are combined as independent and the result is
multiplied by ``inflation``, the factor that makes the same computation match the spread of
actual multi-period totals in the backtest (:func:`total_error_inflation`), because errors of
neighbouring periods are correlated.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy.stats import norm

from forecast.errors import ValidationError
from forecast.periods import PERIOD_CODES
from forecast.schemas import DS, UNIQUE_ID, YHAT, Y, interval_columns

PERIOD_TYPE, PERIOD, YHAT_SD, ACTUAL_PART = "period_type", "period", "yhat_sd", "actual_part"
Z80 = float(norm.ppf(0.9))


def row_sd(frame: pd.DataFrame) -> np.ndarray:
    """Standard deviation of each forecast row from its 80 % interval."""
    lo, hi = interval_columns(80)
    if lo not in frame or hi not in frame:
        raise ValidationError(f"forecast: the 80% interval columns {lo}, {hi} are needed")
    return ((frame[hi] - frame[lo]).to_numpy(float) / (2 * Z80)).clip(min=0)


def _days(frame: pd.DataFrame, freq: str, booked: bool = False) -> pd.DataFrame:
    """One row per day each frame row covers, with the row's value and sd divided over them;
    ``booked``: the row's own day only."""
    start = pd.to_datetime(frame[DS])
    end = start + (pd.Timedelta(days=1) if booked else pd.tseries.frequencies.to_offset(freq))
    n_days = (end - start).dt.days.to_numpy()
    if (n_days < 1).any():
        raise ValidationError(f"frequency {freq!r} gives periods shorter than a day")
    index = np.repeat(np.arange(len(frame)), n_days)
    offset = np.arange(len(index)) - np.repeat(np.cumsum(n_days) - n_days, n_days)
    days = pd.DataFrame({"_row": index, "day": start.to_numpy()[index]
                         + offset.astype("timedelta64[D]")})
    days["_share"] = 1.0 / n_days[index]
    return days


# Totals with an sd below this share of their size have degenerate intervals; |z| is capped.
_DEGENERATE_SD = 1e-3
_MAX_Z = 10.0


def total_error_inflation(rows: pd.DataFrame) -> float:
    """How much wider actual errors of multi-period totals are than independent rows imply.

    Args:
        rows: scored backtest rows of one forecast ``fold, unique_id, y, yhat`` + 80 % interval.

    Returns:
        The root mean square of ``z = (sum y - sum yhat) / sqrt(sum sd^2)`` over each fold and
        series (1.0 when there are fewer than 10 such totals). Totals whose interval is
        degenerate (sd under 0.1 % of the total's size: a sparse series forecast at about zero
        with a zero-width interval) are left out, and ``|z|`` counts at most 10, so a few such
        series cannot widen every period's interval a million times.
    """
    frame = rows.dropna(subset=[Y, YHAT]).assign(_var=row_sd(rows.dropna(subset=[Y, YHAT])) ** 2)
    sums = frame.groupby(["fold", UNIQUE_ID], observed=True)[[Y, YHAT, "_var"]].sum()
    size = (sums[Y].abs() + sums[YHAT].abs()) / 2
    sums = sums[(sums["_var"] > 0) & (np.sqrt(sums["_var"]) >= _DEGENERATE_SD * size)]
    if len(sums) < 10:
        return 1.0
    z = ((sums[Y] - sums[YHAT]) / np.sqrt(sums["_var"])).abs().clip(upper=_MAX_Z)
    return float(np.sqrt(np.mean(z**2)))


def aggregate_to_periods(
    forecast: pd.DataFrame, history: pd.DataFrame, freq: str, keys: Sequence[str],
    inflation: float = 1.0, levels: Sequence[float] = (80, 95), booked: bool = False,
) -> pd.DataFrame:
    """Sum forecasts (completed with history) into calendar months and quarters.

    Args:
        forecast: ``unique_id, ds, yhat`` and the 80 % interval (+ ``keys`` columns).
        history: ``unique_id, ds, y`` of the same series (only days before the forecast count).
        freq: the series frequency alias (``W-MON``, ``D``, ``MS`` ...).
        keys: per-series columns carried through (``grain`` and key columns).
        inflation: see :func:`total_error_inflation`.
        levels: interval levels of the output.
        booked: the data are dated on one day of each period (``ds``): each row counts on
            that day instead of being spread over its period (see the module docstring).

    Returns:
        Frame ``unique_id, *keys, period_type, period, yhat, yhat_sd, actual_part,
        yhat_lo_<l>, yhat_hi_<l>``: one row per series and month or quarter that the forecast
        reaches, ``actual_part`` being the history's share of ``yhat``. A period is kept only
        if the forecast covers its last day (periods that ended before the forecast are not).
    """
    first = forecast.groupby(UNIQUE_ID, observed=True)[DS].min().rename("_first")
    past = history.merge(first, left_on=UNIQUE_ID, right_index=True)
    past = past[pd.to_datetime(past[DS]) >= pd.to_datetime(past["_first"])
                - pd.tseries.frequencies.to_offset("100D")]
    parts = []
    for frame, known in ((forecast, False), (past, True)):
        days = _days(frame, freq, booked)
        values = frame[Y if known else YHAT].to_numpy(float)
        sd = np.zeros(len(frame)) if known else row_sd(frame)
        days[UNIQUE_ID] = frame[UNIQUE_ID].to_numpy()[days["_row"]]
        days["value"] = values[days["_row"]] * days["_share"]
        days["sd"] = sd[days["_row"]] * days["_share"]
        days["known"] = known
        parts.append(days.drop(columns="_share"))
    days = pd.concat(parts, ignore_index=True)
    forecast_days = days.loc[~days["known"]].groupby(UNIQUE_ID)["day"]
    first_day, last_day = forecast_days.min(), forecast_days.max()
    if booked:  # a row booked on its day still forecasts its whole period
        ends = pd.to_datetime(forecast[DS]) + pd.tseries.frequencies.to_offset(freq)
        last_day = (ends - pd.Timedelta(days=1)).groupby(forecast[UNIQUE_ID].to_numpy()).max()
    days = days[~days["known"] | (days["day"] < days[UNIQUE_ID].map(first_day))]
    out = [_period_rows(days, kind, code, (first_day, last_day), inflation)
           for kind, code in PERIOD_CODES.items()]
    result = pd.concat(out, ignore_index=True)
    series_keys = forecast[[UNIQUE_ID, *keys]].drop_duplicates(UNIQUE_ID)
    result = series_keys.merge(result, on=UNIQUE_ID)
    for level in levels:
        lo, hi = interval_columns(level)
        z = float(norm.ppf(0.5 + level / 200))
        result[lo] = result[YHAT] - z * result[YHAT_SD]
        result[hi] = result[YHAT] + z * result[YHAT_SD]
    return result.sort_values([UNIQUE_ID, PERIOD_TYPE, PERIOD]).reset_index(drop=True)


def _period_rows(days: pd.DataFrame, kind: str, code: str, span: tuple[pd.Series, pd.Series],
                 inflation: float) -> pd.DataFrame:
    """Totals per series and period from day rows.

    Days of one forecast row move together (their deviations add); rows are independent.
    """
    period = days["day"].dt.to_period(code).dt.start_time
    frame = days.assign(**{PERIOD: period, "_known": days["value"].where(days["known"], 0.0)})
    per_row = frame.groupby([UNIQUE_ID, PERIOD, "known", "_row"], observed=True)[
        ["value", "_known", "sd"]].sum().reset_index()
    per_row["_var"] = per_row["sd"] ** 2
    totals = per_row.groupby([UNIQUE_ID, PERIOD], observed=True).agg(
        **{YHAT: ("value", "sum"), ACTUAL_PART: ("_known", "sum"), "_var": ("_var", "sum")}
    ).reset_index()
    period_end = totals[PERIOD].dt.to_period(code).dt.end_time.dt.normalize()
    first_day, last_day = (totals[UNIQUE_ID].map(day) for day in span)
    covered = ((period_end >= first_day) & (period_end <= last_day)).to_numpy()
    totals = totals[covered].copy()
    totals[YHAT_SD] = np.sqrt(totals.pop("_var")) * inflation
    totals[ACTUAL_PART] = totals[ACTUAL_PART] / totals[YHAT].where(totals[YHAT] != 0)
    totals.insert(1, PERIOD_TYPE, kind)
    return totals
