"""The sales funnel: stage conversion, time in stage, win rates and the weighted pipeline.

Rules (every rate is a fraction: 0.4 means 40 %):

- An opportunity's path is its rows ordered by ``stage_date`` (ties in funnel order). Its
  current stage, amount, expected close date, rep, channel and segment are those of its last
  row; it is won or lost when that stage is the won or lost stage, open otherwise.
- Reaching a stage counts as having passed every earlier open stage, and winning counts as
  having passed them all; losing passes nothing. So an opportunity has reached open stage i
  when its furthest stage is i or later.
- conversion of stage i = opportunities that reached the next stage (the won stage after the
  last open stage) / opportunities that reached stage i. Opportunities still open in stage i
  count as not converted (yet): ``open_at_stage`` says how many there are.
- time in stage = days from entering a stage to entering the next stage of the path, summed
  over an opportunity's visits to that stage; the stage an open opportunity sits in has no
  time yet, and won and lost have none.
- win rate = won / (won + lost), among closed opportunities.
- P(win | stage) = among closed opportunities that reached the stage, the share won
  (``FunnelConfig.stage_probabilities`` overrides it).
- weighted pipeline of a window = sum, over open opportunities whose expected close date falls
  in it, of amount x P(win | current stage).

Rates and times come from the history set: opportunities first seen ``lookback_days`` before
the as-of day or later. The weighted pipeline uses every opportunity open on the as-of day.
"""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pandas as pd

from forecast.config.funnel import FunnelConfig
from forecast.errors import ValidationError
from forecast.hierarchy.distribution import probability_of_reaching, sides
from forecast.schemas import YHAT, interval_columns

ATTRIBUTES = ("rep_id", "team", "region", "channel", "segment")
PATH_COLUMNS = ("opportunity_id", "first_date", "last_date", "stage", "furthest", "outcome",
                "amount", "expected_close_date", *ATTRIBUTES)


def check_stages(opportunities: pd.DataFrame, config: FunnelConfig) -> None:
    """Raise when the data hold stages the config does not name.

    Raises:
        ValidationError: names the unknown stages, their row counts and the setting to change.
    """
    known = {*config.stages, config.won_stage, config.lost_stage}
    unknown = opportunities.loc[~opportunities["stage"].isin(known), "stage"]
    if len(unknown):
        counts = unknown.fillna("<empty>").value_counts()
        listed = ", ".join(f"{stage!r} ({n} rows)" for stage, n in counts.items())
        raise ValidationError(
            f"opportunities.stage has values outside the funnel: {listed}; the funnel knows "
            f"{', '.join(repr(s) for s in [*config.stages, config.won_stage, config.lost_stage])}"
            "; set funnel.stages, funnel.won_stage and funnel.lost_stage in the config")


def _stage_order(config: FunnelConfig) -> dict[str, int]:
    """Position of each stage: open stages 0..k-1, won k, lost -1 (passes nothing)."""
    order = {stage: i for i, stage in enumerate(config.stages)}
    return {**order, config.won_stage: len(config.stages), config.lost_stage: -1}


def build_paths(opportunities: pd.DataFrame, config: FunnelConfig, as_of: date) -> pd.DataFrame:
    """One row per opportunity as it stood at the end of ``as_of``.

    Args:
        opportunities: stage history: opportunity_id, stage, stage_date, amount,
            expected_close_date, rep_id, team, region, channel, segment (one row per stage
            entered). Rows after ``as_of`` are ignored.
        config: the funnel's stages.
        as_of: the last day of data to use.

    Returns:
        ``PATH_COLUMNS``: opportunity_id, first_date, last_date, stage (current), furthest
        (position of the furthest stage reached: open stages 0..k-1, k when won, -1 when only
        lost), outcome (won, lost, open), amount, expected_close_date and the attributes.
    """
    check_stages(opportunities, config)
    order = _stage_order(config)
    rows = opportunities[pd.to_datetime(opportunities["stage_date"]) <= pd.Timestamp(as_of)]
    rows = _ordered(rows, order)
    grouped = rows.groupby("opportunity_id", sort=False)
    last = grouped.tail(1).set_index("opportunity_id")
    paths = pd.DataFrame({
        "first_date": grouped["stage_date"].min(),
        "last_date": last["stage_date"],
        "stage": last["stage"],
        "furthest": grouped["position"].max(),
    })
    paths["outcome"] = np.select(
        [paths["stage"] == config.won_stage, paths["stage"] == config.lost_stage],
        ["won", "lost"], "open")
    for column in ("amount", "expected_close_date", *ATTRIBUTES):
        paths[column] = last.get(column)
    return paths.reset_index()[list(PATH_COLUMNS)]


def _ordered(rows: pd.DataFrame, order: dict[str, int]) -> pd.DataFrame:
    """Rows by opportunity, stage_date, then funnel order (won and lost after open stages)."""
    position = rows["stage"].map(order)
    tie = position.where(position >= 0, len(order))
    return (rows.assign(stage_date=pd.to_datetime(rows["stage_date"]), position=position,
                        _tie=tie)
            .sort_values(["opportunity_id", "stage_date", "_tie"], kind="stable")
            .drop(columns="_tie"))


def history(paths: pd.DataFrame, config: FunnelConfig, as_of: date) -> pd.DataFrame:
    """The paths rates are learnt from: first seen within ``lookback_days`` of ``as_of``."""
    if config.lookback_days is None:
        return paths
    since = pd.Timestamp(as_of - timedelta(days=config.lookback_days - 1))
    return paths[paths["first_date"] >= since]


def win_probabilities(paths: pd.DataFrame, config: FunnelConfig) -> pd.DataFrame:
    """P(win | stage) per open stage.

    Returns:
        stage, closed_reached (closed opportunities that reached it), won_reached, p_win
        (NaN when none closed), p_win_source (history or config).
    """
    closed = paths[paths["outcome"] != "open"]
    records = []
    for i, stage in enumerate(config.stages):
        reached = closed[closed["furthest"] >= i]
        won = int((reached["outcome"] == "won").sum())
        p_win = won / len(reached) if len(reached) else np.nan
        source = "history"
        if stage in config.stage_probabilities:
            p_win, source = config.stage_probabilities[stage], "config"
        records.append({"stage": stage, "closed_reached": len(reached), "won_reached": won,
                        "p_win": p_win, "p_win_source": source})
    return pd.DataFrame(records)


def stage_conversion(paths: pd.DataFrame, config: FunnelConfig) -> pd.DataFrame:
    """Stage-to-stage conversion of the open stages and the count of wins.

    Returns:
        One row per open stage and one for the won stage: stage, stage_order, reached,
        next_stage, converted (reached the next stage), conversion (converted / reached),
        reached_share (reached / reached the first stage), open_at_stage.
    """
    names = [*config.stages, config.won_stage]
    first = int((paths["furthest"] >= 0).sum())
    records = []
    for i, stage in enumerate(names):
        reached = int((paths["furthest"] >= i).sum())
        last = i == len(names) - 1
        converted = None if last else int((paths["furthest"] >= i + 1).sum())
        is_open = (paths["outcome"] == "open") & (paths["stage"] == stage)
        records.append({
            "stage": stage, "stage_order": i, "reached": reached,
            "next_stage": None if last else names[i + 1], "converted": converted,
            "conversion": converted / reached if converted is not None and reached else np.nan,
            "reached_share": reached / first if first else np.nan,
            "open_at_stage": int(is_open.sum()),
        })
    return pd.DataFrame(records)


def time_in_stage(opportunities: pd.DataFrame, config: FunnelConfig, as_of: date,
                  keep: pd.Series | None = None) -> pd.DataFrame:
    """Days spent in each open stage.

    Args:
        opportunities: stage history (opportunity_id, stage, stage_date).
        config: the funnel's stages.
        as_of: the last day of data to use; later rows are ignored.
        keep: opportunity ids to use (the history set); all when None.

    Returns:
        stage, timed (opportunities with a time in the stage), mean_days, median_days,
        p90_days.
    """
    rows = opportunities[pd.to_datetime(opportunities["stage_date"]) <= pd.Timestamp(as_of)]
    if keep is not None:
        rows = rows[rows["opportunity_id"].isin(keep)]
    rows = _ordered(rows, _stage_order(config))
    following = rows.groupby("opportunity_id", sort=False)["stage_date"].shift(-1)
    days = (following - rows["stage_date"]).dt.days
    timed = rows.assign(days=days)
    timed = timed[timed["stage"].isin(config.stages) & timed["days"].notna()]
    per_deal = timed.groupby(["stage", "opportunity_id"])["days"].sum().groupby("stage")
    stats = pd.DataFrame({
        "timed": per_deal.size(), "mean_days": per_deal.mean(),
        "median_days": per_deal.median(), "p90_days": per_deal.quantile(0.9),
    })
    stats = stats.reindex(config.stages)
    stats["timed"] = stats["timed"].fillna(0).astype(int)
    return stats.rename_axis("stage").reset_index()


def win_rates(paths: pd.DataFrame, breakdowns: list[str]) -> pd.DataFrame:
    """Win rate overall and by each breakdown column, among closed opportunities.

    Returns:
        dimension ("all" or the column), value (None for "all" and for a missing value),
        closed, won, lost, win_rate, won_amount; "all" first, then each breakdown in turn,
        within it by win_rate and closed from high to low.
    """
    closed = paths[paths["outcome"] != "open"]
    is_won = closed["outcome"] == "won"
    closed = closed.assign(won=is_won.astype(int), won_amount=closed["amount"].where(
        is_won, 0.0).fillna(0.0), all=None)
    parts = []
    for dimension in ["all", *breakdowns]:
        part = (closed.groupby(dimension, dropna=False)
                .agg(closed=("won", "size"), won=("won", "sum"), won_amount=("won_amount", "sum"))
                .rename_axis("value").reset_index())
        part["value"] = part["value"].astype(object).where(part["value"].notna(), None)
        part["win_rate"] = part["won"] / part["closed"]
        parts.append(part.assign(dimension=dimension).sort_values(
            ["win_rate", "closed"], ascending=False, kind="stable"))
    rates = pd.concat(parts, ignore_index=True)
    rates["lost"] = rates["closed"] - rates["won"]
    return rates[["dimension", "value", "closed", "won", "lost", "win_rate", "won_amount"]]


def weighted_pipeline(paths: pd.DataFrame, probabilities: pd.DataFrame,
                      window: tuple[date, date]) -> pd.DataFrame:
    """Open opportunities expected to close in ``[window[0], window[1])``, weighted by P(win).

    Args:
        paths: the result of :func:`build_paths`.
        probabilities: the result of :func:`win_probabilities` (stage, p_win).
        window: first day and the day after the last day.

    Returns:
        One row per open stage: stage, opportunities, without_amount (those of them whose
        amount the data do not give), amount (the sum of the known amounts), p_win,
        weighted_amount (0 opportunities where none is open).
    """
    close = pd.to_datetime(paths["expected_close_date"])
    due = paths[(paths["outcome"] == "open") & (close >= pd.Timestamp(window[0]))
                & (close < pd.Timestamp(window[1]))]
    grouped = due.assign(unknown=due["amount"].isna()).groupby("stage")
    frame = probabilities[["stage", "p_win"]].copy()
    frame["opportunities"] = frame["stage"].map(grouped.size()).fillna(0).astype(int)
    frame["without_amount"] = frame["stage"].map(grouped["unknown"].sum()).fillna(0).astype(int)
    frame["amount"] = frame["stage"].map(grouped["amount"].sum()).fillna(0.0)
    frame["weighted_amount"] = frame["amount"] * frame["p_win"].fillna(0.0)
    return frame[["stage", "opportunities", "without_amount", "amount", "p_win",
                  "weighted_amount"]]


def compare_with_forecast(weighted: float, forecast: dict | None) -> dict | None:
    """Where the weighted pipeline falls in the statistical forecast of the same period.

    Args:
        weighted: the weighted pipeline.
        forecast: a ``revenue_forecast_periods`` row (yhat, yhat_sd, yhat_lo_80, yhat_hi_80,
            yhat_lo_95, yhat_hi_95, and actual_part when the table has it), or None.

    Returns:
        None without a forecast; else the forecast's numbers, ``coverage`` = weighted / yhat
        and ``percentile`` = P(actual <= weighted) under the distribution the forecast's 80 %
        interval shows (:mod:`forecast.hierarchy.distribution`; Normal(yhat, yhat_sd) without
        one), None without spread.
    """
    if forecast is None:
        return None
    yhat = float(forecast["yhat"])
    row = pd.DataFrame([{k: forecast.get(k) for k in (YHAT, "yhat_sd", *interval_columns(80))}],
                       dtype=float)
    below, above = sides(row)
    side = above[0] if weighted >= yhat else below[0]
    percentile = None
    if np.isfinite(side) and side > 0:
        percentile = 1.0 - float(probability_of_reaching(weighted, yhat, below, above)[0])
    keys = ("yhat", "yhat_sd", "yhat_lo_80", "yhat_hi_80", "yhat_lo_95", "yhat_hi_95",
            "actual_part")
    out = {k: None if forecast.get(k) is None or pd.isna(forecast.get(k)) else
           float(forecast[k]) for k in keys}
    return {**out, "weighted_pipeline": float(weighted),
            "coverage": weighted / yhat if yhat else None, "percentile": percentile}


def cycle_days(paths: pd.DataFrame) -> float | None:
    """Median days from first stage to won, among won opportunities."""
    won = paths[paths["outcome"] == "won"]
    if won.empty:
        return None
    return float((won["last_date"] - won["first_date"]).dt.days.median())
