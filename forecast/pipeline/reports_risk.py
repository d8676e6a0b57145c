"""The frames of the risk report, read from the warehouse (see :class:`RiskInputs`)."""

from __future__ import annotations

from datetime import date, timedelta
from typing import TYPE_CHECKING

import pandas as pd

from forecast.config import Config
from forecast.pipeline.reports import (
    Warehouse,
    forecast_rows,
    orders_span,
    risk_frames,
    targets_by_grain,
)

if TYPE_CHECKING:
    from forecast.reports.inputs import RiskInputs

DRIFT_SAMPLE = 50_000


def _forecast_part(wh: Warehouse, data_through: date) -> dict:
    """Forecast periods not yet over at the data's end, and their targets (quarters only when
    all three months have targets)."""
    from forecast.reports.periods import add_months
    from forecast.reports.queries import day

    rows = forecast_rows(wh, f"(period_type = 'month' AND period + INTERVAL 1 MONTH > "
                              f"{day(data_through)}) OR (period_type = 'quarter' AND "
                              f"period + INTERVAL 3 MONTH > {day(data_through)})")
    if rows is None or rows.empty:
        return {}
    rows["period"] = pd.to_datetime(rows["period"]).dt.date
    months = sorted(set(rows.loc[rows["period_type"] == "month", "period"]))
    quarters = sorted(set(rows.loc[rows["period_type"] == "quarter", "period"]))
    in_quarters = [add_months(q, i) for q in quarters for i in range(3)]
    monthly = targets_by_grain(wh, sorted(set(months) | set(in_quarters)))
    targets = {"month": monthly, "quarter": {}}
    for grain, t in monthly.items():
        t = t.assign(period=pd.to_datetime(t["period"]).dt.date)
        t["quarter"] = [add_months(p, -((p.month - 1) % 3)) for p in t["period"]]
        keys = ["quarter", *grain]
        summed = t.groupby(keys, as_index=False).agg(target=("target", "sum"),
                                                    months=("period", "nunique"))
        summed = summed[summed["months"] == 3].drop(columns="months")
        targets["quarter"][grain] = summed.rename(columns={"quarter": "period"})
    return {"forecast": rows, "targets": targets}


def _health_part(wh: Warehouse, config: Config, data_through: date) -> dict:
    from forecast.reports import queries as q

    out: dict = {}
    if wh.exists("revenue_backtest"):
        out["backtest"] = wh.frame("SELECT * FROM revenue_backtest")
    if wh.exists("churn_scores"):
        outcomes = wh.frame(q.churn_outcomes_sql(config.churn.horizon_days,
                                                   data_through + timedelta(days=1)))
        if len(outcomes):
            out["churn_outcomes"] = outcomes
    out.update(_unseen_part(wh))
    out.update(_drift_part(wh, config))
    return out


def _unseen_part(wh: Warehouse) -> dict:
    """Per categorical feature, the customers of the latest scored cutoff whose value the churn
    model never saw in training (``cutoff, feature, rows, scored``), from the bookkeeping of
    the run that wrote those scores; nothing when no run recorded it."""
    from forecast.io.scores import SCORES_TABLE, UNSEEN_TABLE

    if not (wh.exists(SCORES_TABLE) and wh.exists(UNSEEN_TABLE)):
        return {}
    unseen = wh.frame(f"""
        WITH latest AS (SELECT CAST(max(cutoff) AS DATE) AS cutoff FROM {SCORES_TABLE}),
        scored AS (SELECT run_key, count(*) AS scored FROM {SCORES_TABLE}
                   WHERE CAST(cutoff AS DATE) = (SELECT cutoff FROM latest) GROUP BY run_key)
        SELECT (SELECT cutoff FROM latest) AS cutoff, u.feature, sum(u.rows) AS rows,
               (SELECT sum(scored) FROM scored) AS scored
        FROM {UNSEEN_TABLE} AS u JOIN scored USING (run_key)
        GROUP BY u.feature ORDER BY rows DESC, u.feature""")
    return {"unseen_categories": unseen} if len(unseen) else {}


def _drift_part(wh: Warehouse, config: Config) -> dict:
    """Snapshot features at the scoring cutoff and at the training cutoffs (sampled)."""
    from forecast.reports.queries import day

    if not wh.exists("customer_snapshots"):
        return {}
    cutoffs = [c for (c,) in wh.con.execute(
        "SELECT DISTINCT CAST(cutoff AS DATE) FROM customer_snapshots ORDER BY 1").fetchall()]
    scoring = cutoffs[-1] if cutoffs else None
    if wh.exists("churn_scores"):
        scored = wh.con.execute("SELECT CAST(max(cutoff) AS DATE) FROM churn_scores").fetchone()[0]
        scoring = scored if scored in cutoffs else scoring
    configured = set(config.churn.cutoffs or config.features.customers.cutoffs)
    training = [c for c in cutoffs if c != scoring and (not configured or c in configured)]
    if scoring is None or not training:
        return {}
    sample = f"USING SAMPLE reservoir({DRIFT_SAMPLE} ROWS) REPEATABLE (7)"
    listed = ", ".join(day(c) for c in training)
    reference = wh.frame(f"SELECT * FROM customer_snapshots "
                           f"WHERE CAST(cutoff AS DATE) IN ({listed}) {sample}")
    current = wh.frame(f"SELECT * FROM customer_snapshots "
                         f"WHERE CAST(cutoff AS DATE) = {day(scoring)} {sample}")
    return {"drift_reference": reference, "drift_current": current,
            "drift_cutoffs": ([c.isoformat() for c in training], scoring.isoformat())}


def read_risk_inputs(wh: Warehouse, config: Config) -> RiskInputs:
    """Every frame of the risk report from the warehouse."""
    from forecast.reports import queries as q
    from forecast.reports.inputs import RiskInputs
    from forecast.reports.risk import CONCENTRATION_LEVELS

    _, last = orders_span(wh, config.workspace)
    start, end = last - timedelta(days=364), last + timedelta(days=1)
    parts: dict = {**risk_frames(wh, config.reports.top_n)}
    if wh.filled("orders", "customer_id"):
        parts["customer_revenue"] = wh.frame(q.customer_revenue_sql(start, end))
        if "risk_tiers" in parts:
            parts["scored"] = wh.frame(q.scored_customers_sql(start, end))
    if wh.filled("customer_tiers", "value_tier"):
        parts["value_tiers"] = wh.frame(
            "SELECT CAST(customer_id AS VARCHAR) AS customer_id, value_tier FROM customer_tiers")
    parts["level_revenue"] = {lv: wh.frame(q.level_revenue_sql(lv, start, end))
                              for lv in CONCENTRATION_LEVELS if wh.filled("orders", lv)}
    parts.update(_forecast_part(wh, last))
    parts.update(_health_part(wh, config, last))
    return RiskInputs(data_through=last, trailing_start=start, **parts)
