"""Forecasts of a series frequency summed to calendar months and quarters, with a distribution.

A forecast row covers the days from its ``ds`` to the next period's start; its value is spread
evenly over those days and the days are summed into months and quarters, so a week that
straddles two months is split by its days in each. A period that starts before the first
forecast day is completed with the history of those days (spread the same way), so "November"
is the whole of November: known days plus forecast days. Data dated on one day of each period
(weekly sales on their Monday or Friday: ``booked``) are booked on that day, history and
forecast alike, as the orders and the monthly report book them: spread, a week dated Monday
30 June would count 6/7 of its sales in July that June's revenue already holds. A period
shorter than the data's (a month of quarterly totals dated on the quarter's first day) cannot
hold a whole booked row: it gets its days' share, as unbooked data.

The distribution of a period total is Normal(``yhat``, ``yhat_sd``). Each forecast row's
deviation ``s`` comes from its 80 % interval, ``(hi - lo) / (2 z_0.9)``, and a row's share of a
period carries that share of it. Errors of neighbouring periods move together (a level the
forecast missed is missed every period), so the variance of a total is
``sum_ij s_i s_j c(|i - j|)``: ``c(l)`` is the mean product ``z_t z_t+l`` of the backtest's
scaled errors ``z = (y - yhat) / s`` at lag ``l`` (:func:`error_covariances`), the moment
estimate of the variance of sums of rows, whatever their number. A month of four weekly rows
gets the spread the backtest's four-week stretches had, a quarter that of thirteen weeks. (One
factor measured on whole folds of 13 to 22 weeks made a month's interval nearly as wide, in
share, as a quarter's: pooled over five beds 88 % of months fell inside their "80 %"
intervals, 83 % now, quarters 81 % and 82 %,
``experiments/benchmarks/results/period_intervals.json``.) The lower bounds of a series whose
past months (quarters) never summed below zero stay at or above a month's (quarter's) known
part: a week of returns does not make a negative month likely. A period that is one whole
forecast row and nothing known (a month of monthly data, a quarter of quarterly data) is that
row, so it keeps the row's own interval (conformal, lopsided where the errors were) and the
spread it says, instead of a Normal one: the forecast table and the month table agree.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
from scipy.stats import norm

from forecast.errors import ValidationError
from forecast.hierarchy.distribution import Z80
from forecast.periods import MEAN_DAYS, PERIOD_CODES, freq_code
from forecast.schemas import ALL_SERIES, DS, UNIQUE_ID, YHAT, Y, interval_columns

PERIOD_TYPE, PERIOD, YHAT_SD, ACTUAL_PART = "period_type", "period", "yhat_sd", "actual_part"


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
    days["_row_days"] = n_days[index]
    return days


# Rows with an sd below this share of their size have degenerate intervals; |z| is capped;
# a lag's covariance needs this many pairs of rows.
_DEGENERATE_SD = 1e-3
_MAX_Z = 10.0
_MIN_PAIRS = 10


def error_covariances(rows: pd.DataFrame) -> np.ndarray:
    """How a forecast's errors spread and move together, by how many periods apart they are.

    Each backtest row's error is divided by its deviation (from its 80 % interval; ``|z|`` at
    most 10, rows with a degenerate interval, under 0.1 % of the row's size, left out), and
    ``c(l)`` is the mean of ``z_t z_t+l`` over the pairs of rows ``l`` periods apart in one
    fold of one series: ``c(0)`` is how much wider the errors spread than the intervals say
    (1 when they are Normal and calibrated), ``c(l)`` how much of it neighbouring periods
    share, clipped to [0, ``c(0)``].

    Args:
        rows: scored backtest rows of one forecast ``fold, unique_id, ds, y, yhat`` + 80 %
            interval.

    Returns:
        ``c(0), c(1), ...`` up to the last lag with at least 10 pairs of rows; ``[1.0]``
        (independent rows, as their intervals say) with fewer than 10 rows.
    """
    measured = _measured(rows)
    return np.ones(1) if measured is None else measured


def _measured(rows: pd.DataFrame) -> np.ndarray | None:
    """:func:`error_covariances`, None when fewer than 10 rows can measure them."""
    scored = rows.dropna(subset=[Y, YHAT])
    sd = row_sd(scored)
    size = (scored[Y].abs() + scored[YHAT].abs()).to_numpy(float) / 2
    keep = (sd > 0) & (sd >= _DEGENERATE_SD * size)
    scored, sd = scored[keep], sd[keep]
    if len(scored) < _MIN_PAIRS:
        return None
    z = np.clip((scored[Y] - scored[YHAT]).to_numpy(float) / sd, -_MAX_Z, _MAX_Z)
    step = scored.groupby(["fold", UNIQUE_ID], observed=True)[DS].rank(method="first")
    grid = pd.Series(z, index=pd.MultiIndex.from_arrays(
        [scored["fold"], scored[UNIQUE_ID], step.astype(int)])).unstack().to_numpy(float)
    out = [float(np.nanmean(grid * grid))]
    for lag in range(1, grid.shape[1]):
        products = grid[:, lag:] * grid[:, :-lag]
        if np.count_nonzero(~np.isnan(products)) < _MIN_PAIRS:
            break
        out.append(float(np.nanmean(products)))
    return np.clip(np.asarray(out), 0.0, out[0])


def group_covariances(rows: pd.DataFrame, groups: pd.Series | None = None
                      ) -> dict[str, np.ndarray]:
    """:func:`error_covariances` of every calibration group (``groups``: unique_id -> group,
    the grain and demand class the intervals were calibrated by) with rows enough to measure
    them, and of all the rows under ``ALL_SERIES``. Errors of sporadic product lines spread
    far wider against their intervals than the company total's: one profile for both made
    the total's months wider than its weeks erring as one would."""
    out = {ALL_SERIES: error_covariances(rows)}
    if groups is None:
        return out
    for name, part in rows.groupby(rows[UNIQUE_ID].map(groups), observed=True, sort=True):
        measured = _measured(part) if str(name) != ALL_SERIES else None
        if measured is not None:
            out[str(name)] = measured
    return out


def series_covariances(profiles: Mapping[str, Sequence[float]], groups: pd.Series | None,
                       ids) -> dict[str, Sequence[float]]:
    """unique_id -> the covariances of its calibration group (see :func:`group_covariances`).
    A series whose group had too few rows to measure them (a young company's total: one fold
    of six weeks) keeps the spread its own intervals say and borrows how all the rows moved
    together (their covariances over their ``c(0)``): all the rows' spread is mostly that of
    the sporadic series, which would have widened its totals several times over."""
    pooled = np.asarray(profiles.get(ALL_SERIES, (1.0,)), dtype=float)
    ids = pd.unique(pd.Series(ids))
    if groups is None:
        return dict.fromkeys(ids, pooled)
    borrowed = pooled / pooled[0] if pooled[0] > 0 else np.ones(1)
    names = groups[~groups.index.duplicated()].reindex(ids)
    return {uid: profiles.get(str(name), borrowed) if pd.notna(name) else borrowed
            for uid, name in zip(ids, names, strict=True)}


def _lag_weights(covariances: Sequence[float], lags: int) -> np.ndarray:
    """``c(0) .. c(lags - 1)``: the measured ones, extended past the last by the mean of the
    second half of the measured lags (0 when none was: independent rows)."""
    profile = np.asarray(covariances, dtype=float)
    tail = profile[1:][(len(profile) - 1) // 2:]
    fill = float(tail.mean()) if len(tail) else 0.0
    return np.r_[profile, np.full(max(lags - len(profile), 0), fill)][:max(lags, 1)]


def aggregate_to_periods(
    forecast: pd.DataFrame, history: pd.DataFrame, freq: str, keys: Sequence[str],
    covariances: Sequence[float] | Mapping[str, Sequence[float]] = (1.0,),
    levels: Sequence[float] = (80, 95),
    booked: bool = False, partial: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Sum forecasts (completed with history) into calendar months and quarters.

    Args:
        forecast: ``unique_id, ds, yhat`` and the 80 % interval (+ ``keys`` columns).
        history: ``unique_id, ds, y`` of the same series (only days before the forecast count).
        freq: the series frequency alias (``W-MON``, ``D``, ``MS`` ...).
        keys: per-series columns carried through (``grain`` and key columns).
        covariances: the scaled errors' covariances by lag, lag 0 first (see
            :func:`error_covariances`), for every series or per unique_id (a mapping, see
            :func:`series_covariances`; a series it lacks gets the default); the default:
            independent rows, as their intervals say.
        levels: interval levels of the output.
        booked: the data are dated on one day of each period (``ds``): each row counts on
            that day instead of being spread over its period (see the module docstring), in
            the periods at least as long as a row's (months of quarterly data are spread).
        partial: the orders so far of a last period the series left out as partial
            (``unique_id, ds, y, through``, see ``features.series.build_partial_sql``): the
            days of that period up to ``through`` are known, ``y`` of each series (0 for a
            series without a row), and only its later days are forecast.

    Returns:
        Frame ``unique_id, *keys, period_type, period, yhat, yhat_sd, actual_part,
        yhat_lo_<l>, yhat_hi_<l>``: one row per series and month or quarter that the forecast
        reaches, ``actual_part`` being the history's share of ``yhat``. A period is kept only
        if the forecast covers its last day (periods that ended before the forecast are not).
        No lower bound is below the period's known part (its history) where the series'
        past periods of its kind never summed below zero.
    """
    first = forecast.groupby(UNIQUE_ID, observed=True)[DS].min().rename("_first")
    past = history.merge(first, left_on=UNIQUE_ID, right_index=True)
    past = past[pd.to_datetime(past[DS]) >= pd.to_datetime(past["_first"])
                - pd.tseries.frequencies.to_offset("100D")]
    # Booked rows count on their day in periods at least as long as theirs; a shorter period
    # (a month of quarterly data) cannot hold a whole row, so it gets the row's days.
    ways = {kind: booked and MEAN_DAYS[code] >= MEAN_DAYS.get(freq_code(freq)[0], 1.0)
            for kind, code in PERIOD_CODES.items()}
    spans = {way: _forecast_days(forecast, past, freq, way, partial) for way in set(ways.values())}
    out = [_period_rows(spans[ways[kind]][0], kind, code, spans[ways[kind]][1], covariances)
           for kind, code in PERIOD_CODES.items()]
    result = pd.concat(out, ignore_index=True)
    series_keys = forecast[[UNIQUE_ID, *keys]].drop_duplicates(UNIQUE_ID)
    result = series_keys.merge(result, on=UNIQUE_ID)
    floor = result["_known"].where(_never_negative_totals(history, result))
    # A period that is one whole forecast row (a month of monthly data) is that row: it keeps
    # the row's own (calibrated, possibly lopsided) interval and the spread it says.
    single = result.pop("_single").to_numpy()
    one = single >= 0
    result.loc[one, YHAT_SD] = row_sd(forecast)[single[one]]
    for level in levels:
        lo, hi = interval_columns(level)
        z = float(norm.ppf(0.5 + level / 200))
        result[lo] = np.fmax(result[YHAT] - z * result[YHAT_SD], floor)
        result[hi] = result[YHAT] + z * result[YHAT_SD]
        if one.any() and lo in forecast and hi in forecast:
            result.loc[one, lo] = np.fmax(forecast[lo].to_numpy(float)[single[one]], floor[one])
            result.loc[one, hi] = forecast[hi].to_numpy(float)[single[one]]
    result = result.drop(columns="_known")
    return result.sort_values([UNIQUE_ID, PERIOD_TYPE, PERIOD]).reset_index(drop=True)


def _forecast_days(forecast: pd.DataFrame, past: pd.DataFrame, freq: str, booked: bool,
                   partial: pd.DataFrame | None
                   ) -> tuple[pd.DataFrame, tuple[pd.Series, pd.Series]]:
    """The days of the forecast rows and of the history before them (each row's value and
    deviation spread over its days, or ``booked`` on its own), and each series' first and last
    forecast day."""
    parts = []
    for frame, known in ((forecast, False), (past, True)):
        days = _days(frame, freq, booked)
        values = frame[Y if known else YHAT].to_numpy(float)
        sd = np.zeros(len(frame)) if known else row_sd(frame)
        # The forecast step of each row, for the lag between two rows (history has no spread).
        step = np.zeros(len(frame), int) if known else frame.groupby(
            UNIQUE_ID, observed=True)[DS].rank(method="first").to_numpy(int)
        days[UNIQUE_ID] = frame[UNIQUE_ID].to_numpy()[days["_row"]]
        days["step"] = step[days["_row"]]
        days["value"] = values[days["_row"]] * days["_share"]
        days["sd"] = sd[days["_row"]] * days["_share"]
        days["known"] = known
        if not known and partial is not None and len(partial) and not booked:
            _book_partial(days, frame, partial)
        parts.append(days.drop(columns="_share"))
    days = pd.concat(parts, ignore_index=True)
    forecast_days = days.loc[~days["known"]].groupby(UNIQUE_ID)["day"]
    first_day, last_day = forecast_days.min(), forecast_days.max()
    if booked:  # a row booked on its day still forecasts its whole period
        ends = pd.to_datetime(forecast[DS]) + pd.tseries.frequencies.to_offset(freq)
        last_day = (ends - pd.Timedelta(days=1)).groupby(forecast[UNIQUE_ID].to_numpy()).max()
    days = days[~days["known"] | (days["day"] < days[UNIQUE_ID].map(first_day))]
    return days, (first_day, last_day)


def _book_partial(days: pd.DataFrame, frame: pd.DataFrame, partial: pd.DataFrame) -> None:
    """Make the days of ``frame``'s rows (forecast rows, split into ``days``) that ``partial``
    covers known (in place): each series' orders so far spread over them, no deviation."""
    start = pd.Timestamp(partial[DS].iloc[0])
    through = pd.Timestamp(partial["through"].iloc[0])
    covered = ((pd.to_datetime(frame[DS]) == start).to_numpy()[days["_row"]]
               & (days["day"] <= through).to_numpy())
    if not covered.any():
        return
    sold = partial.set_index(UNIQUE_ID)[Y]
    spread = (through - start).days + 1
    values = days.loc[covered, UNIQUE_ID].map(sold).fillna(0.0).to_numpy(float) / spread
    days.loc[covered, "value"] = values
    days.loc[covered, "sd"] = 0.0
    days.loc[covered, "known"] = True


def _never_negative_totals(history: pd.DataFrame, result: pd.DataFrame) -> pd.Series:
    """Whether each row's series never summed below zero over a past period of the row's kind
    (a week of returns may, a month or a quarter of a selling business does not): its totals
    are kept at or above their known part."""
    out = np.zeros(len(result), dtype=bool)
    for kind, code in PERIOD_CODES.items():
        period = pd.to_datetime(history[DS]).dt.to_period(code)
        totals = history.groupby([history[UNIQUE_ID], period], observed=True)[Y].sum()
        ok = totals.groupby(level=0, observed=True).min() >= 0
        rows = (result[PERIOD_TYPE] == kind).to_numpy()
        out[rows] = result.loc[rows, UNIQUE_ID].map(ok).eq(True).to_numpy(bool)
    return pd.Series(out, index=result.index)


def _period_rows(days: pd.DataFrame, kind: str, code: str, span: tuple[pd.Series, pd.Series],
                 covariances: Sequence[float]) -> pd.DataFrame:
    """Totals per series and period from day rows (``_known``: the history's part).

    Days of one forecast row move together (their deviations add); two rows ``l`` steps apart
    share the covariance at lag ``l`` (see :func:`_lag_weights`).
    """
    period = days["day"].dt.to_period(code).dt.start_time
    frame = days.assign(**{PERIOD: period, "_known": days["value"].where(days["known"], 0.0),
                           "_n": 1})
    per_row = frame.groupby([UNIQUE_ID, PERIOD, "known", "_row", "step", "_row_days"],
                            observed=True)[["value", "_known", "sd", "_n"]].sum().reset_index()
    totals = per_row.groupby([UNIQUE_ID, PERIOD], observed=True).agg(
        **{YHAT: ("value", "sum"), "_known": ("_known", "sum")}).reset_index()
    # The forecast row a total is, when it is exactly one whole row and nothing known (-1 if
    # not): its interval is that row's (see aggregate_to_periods).
    rows = per_row[~per_row["known"]].groupby([UNIQUE_ID, PERIOD], observed=True).agg(
        _rows=("_row", "size"), _only=("_row", "first"), _n=("_n", "sum"),
        _whole=("_row_days", "first"))
    rows = rows.reindex(pd.MultiIndex.from_frame(totals[[UNIQUE_ID, PERIOD]]))
    whole = ((rows["_rows"] == 1) & (rows["_n"] == rows["_whole"])).to_numpy() & (
        totals["_known"] == 0).to_numpy()
    totals["_single"] = np.where(whole, rows["_only"].fillna(-1).to_numpy(), -1).astype(int)
    variance = _variance(per_row[~per_row["known"]], totals, covariances)
    period_end = totals[PERIOD].dt.to_period(code).dt.end_time.dt.normalize()
    first_day, last_day = (totals[UNIQUE_ID].map(day) for day in span)
    covered = ((period_end >= first_day) & (period_end <= last_day)).to_numpy()
    totals = totals[covered].copy()
    totals.insert(3, ACTUAL_PART, totals["_known"] / totals[YHAT].where(totals[YHAT] != 0))
    totals.insert(4, YHAT_SD, np.sqrt(variance[covered]))
    totals.insert(1, PERIOD_TYPE, kind)
    return totals


def _variance(rows: pd.DataFrame, totals: pd.DataFrame,
              covariances: Sequence[float] | Mapping[str, Sequence[float]]) -> np.ndarray:
    """The variance of each total of ``totals`` (``unique_id, period``): ``sum_ij s_i s_j
    c(|step_i - step_j|)`` over its forecast ``rows`` (``sd`` their share of deviation), with
    the covariances of the total's series."""
    rows = rows.sort_values([UNIQUE_ID, PERIOD, "step"])
    index = pd.MultiIndex.from_frame(totals[[UNIQUE_ID, PERIOD]])
    group = index.get_indexer(pd.MultiIndex.from_frame(rows[[UNIQUE_ID, PERIOD]]))
    sd, step = rows["sd"].to_numpy(float), rows["step"].to_numpy(int)
    if isinstance(covariances, Mapping):
        ids = pd.unique(rows[UNIQUE_ID])
        profiles = pd.Series([tuple(np.asarray(covariances.get(u, (1.0,)), dtype=float))
                              for u in ids], index=ids, dtype=object)
        per_id, distinct = pd.factorize(profiles)
        codes = pd.Series(per_id, index=ids).reindex(rows[UNIQUE_ID]).to_numpy()
    else:
        codes, distinct = np.zeros(len(rows), dtype=int), [tuple(covariances)]
    variance = np.zeros(len(totals))
    for k, profile in enumerate(distinct):
        mine = codes == k
        variance += _profile_variance(group[mine], sd[mine], step[mine], profile, len(totals))
    return variance


def _profile_variance(group: np.ndarray, sd: np.ndarray, step: np.ndarray,
                      covariances: Sequence[float], totals: int) -> np.ndarray:
    """:func:`_variance` of rows sharing one profile (sorted by total, then step)."""
    longest = int(np.bincount(group).max()) if len(group) else 0
    weights = _lag_weights(covariances, longest)
    variance = weights[0] * np.bincount(group, sd * sd, minlength=totals)
    for shift in range(1, longest):
        same = group[shift:] == group[:-shift]
        lag = np.clip(step[shift:] - step[:-shift], 0, len(weights) - 1)  # 0: not one total
        product = sd[shift:] * sd[:-shift] * weights[lag]
        variance += 2 * np.bincount(group[shift:][same], product[same], minlength=totals)
    return variance
