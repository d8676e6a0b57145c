"""Next month: the forecast per series with intervals, targets and the odds of reaching them."""

from __future__ import annotations

import numpy as np
import pandas as pd

from forecast.hierarchy.distribution import forecast_quantile, probability_of_reaching, sides
from forecast.reports import document as doc
from forecast.reports.i18n import Locale
from forecast.reports.inputs import MonthlyInputs
from forecast.schemas import TOTAL


def grain_keys(grain: str) -> tuple[str, ...]:
    """``'total'`` -> (); ``'region|channel'`` or ``'region/channel'`` -> ('region', 'channel')."""
    return () if grain in ("", TOTAL) else tuple(grain.replace("/", "|").split("|"))


def forecast_against_targets(forecast: pd.DataFrame,
                             targets: dict[tuple[str, ...], pd.DataFrame],
                             period_column: str | None = None) -> pd.DataFrame:
    """Forecast rows with their target, P10 and the probability of reaching the target.

    A period's actual is distributed as its 80 % interval says: Normal below and above the
    median ``yhat`` with the interval's deviation on each side (Normal(yhat, yhat_sd) where the
    interval is symmetric, see :mod:`forecast.hierarchy.distribution`), so ``p10`` is the
    interval's lower bound and ``probability = 1 - Phi((target - yhat) / sd)`` with the
    deviation of the target's side; without a deviation the target is reached for certain at or
    below ``yhat`` and never above it.

    Args:
        forecast: ``unique_id, grain, <key columns>, yhat, yhat_sd, yhat_lo_80, ...``.
        targets: grain keys -> ``<keys>, target`` (and ``period`` when ``period_column``).
        period_column: join on this column as well (several periods at once).

    Returns:
        The forecast rows of grains that have targets, plus the company total and single-key
        grains when no targets exist, with ``target, p10, probability, gap`` added
        (``gap = yhat - target``).
    """
    rows = []
    for grain, part in forecast.groupby("grain", sort=False):
        key_columns = grain_keys(str(grain))
        wanted = key_columns in targets or len(key_columns) <= (1 if not targets else 0)
        if not wanted:
            continue
        rows.append(_with_targets(part, targets.get(key_columns), key_columns, period_column))
    if not rows:
        return forecast.iloc[0:0].assign(target=[], p10=[], probability=[], gap=[])
    out = pd.concat(rows, ignore_index=True)
    below, above = sides(out)
    out["p10"] = [None if pd.isna(v) else float(v)
                  for v in forecast_quantile(out["yhat"], below, 0.1, above)]
    reach = probability_of_reaching(out["target"], out["yhat"], np.nan_to_num(below),
                                    np.nan_to_num(above))
    out["probability"] = [None if pd.isna(t) or pd.isna(r) else float(r)
                          for t, r in zip(out["target"], reach, strict=True)]
    out["gap"] = out["yhat"] - out["target"]
    out["depth"] = out["grain"].map(lambda g: len(grain_keys(str(g))))
    return out.sort_values(["depth", "unique_id"], kind="stable").reset_index(drop=True)


def _with_targets(part: pd.DataFrame, targets: pd.DataFrame | None, key_columns: tuple[str, ...],
                  period_column: str | None) -> pd.DataFrame:
    part = part.copy()
    if targets is None:
        return part.assign(target=float("nan"))
    keys = list(key_columns) + ([period_column] if period_column else [])
    if not keys:
        return part.assign(target=float(targets["target"].sum()) if len(targets) else np.nan)
    t = targets.copy()
    for k in key_columns:
        t[k], part[k] = t[k].astype(str), part[k].astype(str)
    if period_column:
        t[period_column] = pd.to_datetime(t[period_column])
        part[period_column] = pd.to_datetime(part[period_column])
    return part.merge(t[keys + ["target"]], on=keys, how="left")


def forecast_columns(loc: Locale) -> list[dict]:
    """Columns of a forecast-vs-target table."""
    return [
        doc.column("unique_id", loc.t("series"), "member"),
        doc.column("yhat", loc.t("forecast"), "money"),
        doc.column("yhat_lo_80", loc.t("lo_80"), "money"),
        doc.column("yhat_hi_80", loc.t("hi_80"), "money"),
        doc.column("yhat_lo_95", loc.t("lo_95"), "money"),
        doc.column("yhat_hi_95", loc.t("hi_95"), "money"),
        doc.column("p10", loc.t("p10"), "money"),
        doc.column("target", loc.t("target"), "money"),
        doc.column("gap", loc.t("forecast_gap"), "signed_money"),
        doc.column("probability", loc.t("probability"), "prob"),
    ]


# A forecast table shows every series of a level up to this many (Favorita's 54 stores, say);
# past it (2,882 products) the ones with the largest forecast, and says so.
MOST_SERIES = 100


def largest_series(rows: pd.DataFrame, loc: Locale, most: int = MOST_SERIES
                   ) -> tuple[pd.DataFrame, list[str]]:
    """The rows of ``rows`` (``grain, unique_id, yhat``, one or more periods per series)
    of every level with at most ``most`` series, and of each larger level those of the
    ``most`` series with the largest forecast (summed over the periods); and a note per level
    cut short."""
    series = rows.groupby(["grain", "unique_id"], sort=False)["yhat"].sum().reset_index()
    counts = series.groupby("grain", sort=False)["unique_id"].size()
    large = counts[counts > most]
    if large.empty:
        return rows, []
    cut = series[series["grain"].isin(large.index)]
    shown = cut.sort_values("yhat", ascending=False, kind="stable").groupby("grain").head(most)
    keep = ~rows["grain"].isin(cut["grain"]) | rows["unique_id"].isin(shown["unique_id"])
    notes = [loc.t("capped_series", grain=grain, n=most, total=f"{total:,}")
             for grain, total in large.items()]
    return rows[keep.to_numpy()], notes


def next_month_section(inputs: MonthlyInputs, loc: Locale) -> dict:
    """Next month's forecast per series with 80% and 95% intervals, target and probability."""
    f = inputs.forecast_next
    if f is None or f.empty:
        return doc.omitted("next_month", loc.t("s_next_month"),
                           inputs.notes.get("next_month", loc.t("no_forecast")))
    rows = forecast_against_targets(f, inputs.targets_next)
    total = rows[rows["depth"] == 0]
    metrics = []
    if len(total):
        t = total.iloc[0]
        metrics = [
            doc.metric("forecast", loc.t("forecast"), t["yhat"], "money"),
            doc.metric("lo_80", loc.t("lo_80"), t["yhat_lo_80"], "money"),
            doc.metric("hi_80", loc.t("hi_80"), t["yhat_hi_80"], "money"),
            doc.metric("target", loc.t("target"), t["target"], "money"),
            doc.metric("probability", loc.t("probability"), t["probability"], "prob"),
        ]
        # A month the data already reach into (their last period left out of the series as
        # partial, or monthly data): the orders booked so far are part of the figure.
        booked = float(t.get("actual_part") or 0.0) * float(t["yhat"])
        if booked > 0:
            metrics.insert(1, doc.metric("booked", loc.t("booked"), booked, "money"))
    rows, capped = largest_series(rows, loc)
    table = doc.table("forecast", loc.t("next_month_table", month=loc.month(inputs.window.end)),
                      forecast_columns(loc), rows)
    tables, notes = [table], [loc.t("probability_note"), *capped]
    if inputs.plan_next is not None and len(inputs.plan_next):
        tables.append(plan_table(inputs.plan_next, loc))
    elif "plan" in inputs.notes:  # the targets step could not run on the data
        notes.append(inputs.notes["plan"])
    return doc.section("next_month", loc.t("s_next_month"), metrics=metrics, tables=tables,
                       note=" ".join(notes))


def plan_table(plan: pd.DataFrame, loc: Locale) -> dict:
    """The next month's rows of the targets plan (``forecast targets``): base, stretch, target
    and the probability of reaching it, per organisation unit."""
    return doc.table("plan", loc.t("plan_table"), [
        doc.column("level", loc.t("level"), "member"),
        doc.column("unit", loc.t("unit"), "member"),
        doc.column("base", loc.t("plan_base"), "money"),
        doc.column("stretch", loc.t("plan_stretch"), "money"),
        doc.column("target", loc.t("target"), "money"),
        doc.column("probability", loc.t("probability"), "prob"),
    ], plan)
