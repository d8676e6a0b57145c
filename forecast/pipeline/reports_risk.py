"""The frames of the risk report, read from the warehouse (see :class:`RiskInputs`)."""

from __future__ import annotations

from datetime import date, timedelta

import pandas as pd

from forecast.config import Config
from forecast.io import report_queries as q
from forecast.io import report_reads as reads
from forecast.io.catalog import CUSTOMERS, ORDERS
from forecast.io.report_reads import Warehouse
from forecast.periods import add_months
from forecast.reports.inputs import RiskInputs
from forecast.reports.risk import CONCENTRATION_KEYS


def _forecast_part(wh: Warehouse, data_through: date) -> dict:
    """Forecast periods not yet over at the data's end, and their targets (quarters only when
    all three months have targets)."""
    rows = reads.forecast_after(wh, data_through)
    if rows is None or rows.empty:
        return {}
    rows["period"] = pd.to_datetime(rows["period"]).dt.date
    months = sorted(set(rows.loc[rows["period_type"] == "month", "period"]))
    quarters = sorted(set(rows.loc[rows["period_type"] == "quarter", "period"]))
    in_quarters = [add_months(q, i) for q in quarters for i in range(3)]
    monthly = reads.targets_by_grain(wh, sorted(set(months) | set(in_quarters)))
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
    out: dict = {}
    backtest = reads.backtest_scores(wh)
    if backtest is not None:
        out["backtest"] = backtest
    outcomes = reads.churn_outcomes(wh, config.churn.horizon_days,
                                    data_through + timedelta(days=1))
    if outcomes is not None and len(outcomes):
        out["churn_outcomes"] = outcomes
    unseen = reads.unseen_categories(wh)
    if unseen is not None and len(unseen):
        out["unseen_categories"] = unseen
    out.update(_drift_part(wh, config))
    return out


def _drift_part(wh: Warehouse, config: Config) -> dict:
    """Snapshot features at the scoring cutoff and at the training cutoffs (sampled)."""
    cutoffs, scored = reads.snapshot_cutoffs(wh)
    if not cutoffs:
        return {}
    scoring = scored if scored in cutoffs else cutoffs[-1]
    configured = set(config.churn.cutoffs or config.features.customers.cutoffs)
    training = [c for c in cutoffs if c != scoring and (not configured or c in configured)]
    if not training:
        return {}
    return {"drift_reference": reads.snapshot_sample(wh, training),
            "drift_current": reads.snapshot_sample(wh, scoring),
            "drift_cutoffs": ([c.isoformat() for c in training], scoring.isoformat())}


def read_risk_inputs(wh: Warehouse, config: Config) -> RiskInputs:
    """Every frame of the risk report from the warehouse."""
    _, last = reads.orders_span(wh, config.workspace)
    start, end = last - timedelta(days=364), last + timedelta(days=1)
    names = wh.filled(CUSTOMERS, "name")
    parts: dict = {**reads.risk_frames(wh, config.reports.top_n, names)}
    if wh.filled(ORDERS, "customer_id"):
        parts["customer_revenue"] = wh.frame(q.customer_revenue_sql(start, end))
        if "risk_tiers" in parts:
            parts["scored"] = reads.scored_customers(wh, start, end)
    value_tiers = reads.value_tiers(wh)
    if value_tiers is not None:
        parts["value_tiers"] = value_tiers
    parts["key_revenue"] = {key: wh.frame(q.key_revenue_sql(key, start, end))
                            for key in CONCENTRATION_KEYS if wh.filled(ORDERS, key)}
    parts.update(_forecast_part(wh, last))
    parts.update(_health_part(wh, config, last))
    return RiskInputs(data_through=last, trailing_start=start, **parts)
