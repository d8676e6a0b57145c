"""Orchestration of customer tiers: warehouse measures -> tiers -> tables, CSV and Excel."""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import duckdb
import pandas as pd

from forecast.config import Config, TiersConfig
from forecast.errors import ValidationError, WorkspaceError
from forecast.io import catalog, warehouse
from forecast.io import decision_queries as queries
from forecast.io.catalog import CHURN_SCORES, CUSTOMER_TIERS, ORDERS, TIER_SUMMARY
from forecast.io.frames import export_workbook
from forecast.pipeline.results import Result
from forecast.tiers import build_customer_tiers, summarise_tiers

WORKBOOK_NAME = "tiers.xlsx"
EXCEL_MAX_ROWS = 1_048_576  # rows of an Excel sheet, the header included


@dataclass(frozen=True)
class RiskSource:
    """Where the risk tiers came from: the churn scores table and cutoff (None without
    scores), and how many customers have no score (risk ``unknown``)."""

    table: str | None
    cutoff: str | None
    unknown: int


@dataclass(frozen=True)
class TiersResult(Result):
    """The customers tiered.

    Attributes:
        as_of: the first day after the data tiered; customers, revenue: customers tiered and
            their revenue over the last ``revenue_days``; rfm_days: the RFM window (None: all).
        risk: where the risk tiers came from.
        notes: what is missing or left out, in words.
        summary: per dimension (``rfm_segment``, ``abc_class``, ``value_tier``,
            ``risk_tier``, ``matrix``) rows of ``tier, customers, customer_share, revenue,
            revenue_share`` (and ``action`` in the matrix).
        tables, files: the warehouse tables and the files written.
        seconds: wall time.
    """

    as_of: str
    customers: int
    revenue: float
    revenue_days: int
    rfm_days: int | None
    risk: RiskSource
    notes: Sequence[str]
    summary: Mapping[str, Sequence[Mapping[str, Any]]]
    tables: Sequence[str]
    files: Sequence[str]
    seconds: float

    def output_files(self) -> tuple[str, ...]:
        return tuple(self.files)


def _default_as_of(con: duckdb.DuckDBPyConnection) -> date:
    if not catalog.exists(con, ORDERS):
        raise WorkspaceError("no orders table in the warehouse: ingest orders first "
                             "(`forecast data ingest --config ...`)")
    last = queries.last_customer_order(con)
    if last is None:
        raise WorkspaceError(
            "the orders hold no customer ids: tiers need them; map `customer_id` in the "
            "orders source of the config and ingest again")
    return last + timedelta(days=1)


def _churn_risk(con: duckdb.DuckDBPyConnection, as_of: date):
    """The churn scores of the latest cutoff on or before ``as_of``, and a note when absent."""
    if not catalog.exists(con, CHURN_SCORES):
        return None, None, (f"no {CHURN_SCORES} table: every risk tier is unknown; run "
                            "`forecast score churn` to fill the value x risk matrix")
    risk, cutoff = queries.latest_scores(con, as_of)
    if cutoff is None:
        return None, None, (f"{CHURN_SCORES} has no cutoff on or before {as_of}: every risk "
                            "tier is unknown")
    return risk, cutoff, None


def _write_outputs(con: duckdb.DuckDBPyConnection, config: Config, tiers: pd.DataFrame,
                   summary: pd.DataFrame) -> dict:
    out_dir = config.workspace / "outputs"
    files = []
    for table, frame, order in ((CUSTOMER_TIERS, tiers, "revenue DESC, customer_id"),
                                (TIER_SUMMARY, summary, None)):
        catalog.write_frame(con, table, frame)
        files.append(str(catalog.export(con, table, out_dir / f"{table}.csv", order_by=order)))
    notes = []
    sheets = {TIER_SUMMARY.name: summary, CUSTOMER_TIERS.name: tiers}  # the summary first
    if len(tiers) >= EXCEL_MAX_ROWS:
        del sheets[CUSTOMER_TIERS.name]
        notes.append(f"{len(tiers):,} customers do not fit in an Excel sheet: {WORKBOOK_NAME} "
                     f"holds the summary only; the customers are in {CUSTOMER_TIERS}.csv")
    files.append(str(export_workbook(sheets, out_dir / WORKBOOK_NAME)))
    return {"tables": [CUSTOMER_TIERS.name, TIER_SUMMARY.name], "files": files, "notes": notes}


def _summary_json(summary) -> dict:
    """Tier summary rows as {dimension: [{tier, customers, shares[, action]}]}."""
    out: dict[str, list] = {}
    for row in summary.to_dict("records"):
        item = {"tier": row["tier"], "customers": int(row["customers"]),
                "customer_share": round(float(row["customer_share"]), 4),
                "revenue": round(float(row["revenue"]), 2),
                "revenue_share": (None if row["revenue_share"] != row["revenue_share"]
                                  else round(float(row["revenue_share"]), 4))}
        if row["dimension"] == "matrix":
            item["action"] = row["action"]
        out.setdefault(row["dimension"], []).append(item)
    return out


def build_tiers(config: Config, as_of: date | None = None) -> TiersResult:
    """RFM segments, ABC classes, value tiers and the value x risk matrix of every customer.

    Writes warehouse tables ``customer_tiers`` (see :func:`forecast.tiers.build_customer_tiers`,
    plus ``as_of``) and ``tier_summary`` (see :func:`forecast.tiers.summarise_tiers`, plus
    ``as_of``), their CSV copies and ``tiers.xlsx`` with both sheets into
    ``<workspace>/outputs`` (the summary only when the customers pass Excel's row limit).

    Args:
        config: the job config (workspace, ``tiers`` settings).
        as_of: the first day after the data the tiers describe; default the day after the
            last order with a customer. Orders on or after it are ignored.

    Returns:
        The summary: as_of, customers, revenue, risk source, notes, per-tier counts and
        shares, tables and files.

    Raises:
        WorkspaceError: no warehouse, no orders, no customer ids, or no order before ``as_of``.
    """
    started = time.perf_counter()
    cfg = config.tiers
    with warehouse.connect(config.workspace) as con:
        as_of = as_of or _default_as_of(con)
        tiers, summary, risk = _tier_frames(con, cfg, as_of)
        written = _write_outputs(con, config, tiers, summary)
    notes = [n for n in (risk["note"], risk["value_note"]) if n]
    unscored = int((tiers["risk_tier"] == "unknown").sum())
    if risk["table"] and unscored:
        notes.append(_unscored_note(tiers, unscored, risk["cutoff"],
                                    config.churn.active_within_days))
    return TiersResult(
        as_of=str(as_of),
        customers=len(tiers),
        revenue=round(float(tiers["revenue"].sum()), 2),
        revenue_days=cfg.revenue_days,
        rfm_days=cfg.rfm_days,
        risk=RiskSource(risk["table"], risk["cutoff"], unscored),
        notes=notes + written.pop("notes"),
        summary=_summary_json(summary),
        **written,
        seconds=round(time.perf_counter() - started, 3),
    )


def _unscored_note(tiers: pd.DataFrame, unscored: int, cutoff: str,
                   active_days: int | None) -> str:
    """How many customers have no churn score, and how many of them scoring left out as not
    recent buyers (``churn.active_within_days``)."""
    who = "customer has" if unscored == 1 else "customers have"
    note = f"{unscored:,} {who} no churn score at {cutoff}: risk unknown"
    if active_days is None:
        return note
    lapsed = int(((tiers["risk_tier"] == "unknown")
                  & (tiers["recency_days"] > active_days)).sum())
    if not lapsed:
        return note
    share = "all of them" if lapsed == unscored else f"{lapsed:,} of them"
    return (f"{note} ({share} bought nothing in the {active_days} days before it, and "
            "churn.active_within_days scores recent buyers only)")


def _tier_frames(con: duckdb.DuckDBPyConnection, cfg: TiersConfig, as_of: date):
    """Customer tiers and their summary as of a day, and where the risk tiers came from."""
    measures = con.execute(*queries.tier_measures_sql(as_of, cfg)).df()
    if measures.empty:
        raise WorkspaceError(f"no order with a customer id before {as_of}: nothing to tier; "
                             "pick a later --as-of or ingest orders with customer ids")
    for column in ("first_order", "last_order"):  # DuckDB DATE comes back as datetime64
        measures[column] = measures[column].dt.date
    value_note = None
    if cfg.expected_value:
        expected, value_note = _expected_values(con, cfg, as_of)
        measures = measures.merge(expected, on="customer_id", how="left") \
            if expected is not None else measures
    risk, cutoff, note = _churn_risk(con, as_of)
    tiers = build_customer_tiers(measures, cfg, risk)
    tiers.insert(1, "as_of", as_of)
    summary = summarise_tiers(tiers, cfg)
    summary.insert(0, "as_of", as_of)
    source = {"table": CHURN_SCORES.name if risk is not None else None,
              "cutoff": str(cutoff) if cutoff else None, "note": note,
              "value_note": value_note}
    return tiers, summary, source


def _expected_values(con: duckdb.DuckDBPyConnection, cfg: TiersConfig, as_of: date
                     ) -> tuple[pd.DataFrame | None, str | None]:
    """Each customer's P(alive) and expected spend over the next ``revenue_days`` (columns
    ``p_alive, expected_value``), or None and why where the purchase model cannot fit."""
    from forecast.models.customer_base import expected_customer_value  # scipy: load on use

    days = con.execute(*queries.customer_days_sql(as_of)).df()
    try:
        value = expected_customer_value(days, as_of, cfg.revenue_days)
    except ValidationError as exc:
        return None, (f"no expected value next {cfg.revenue_days} days: the purchase model "
                      f"does not fit these customers ({exc}); value tiers from revenue alone")
    return value[["customer_id", "p_alive", "expected_spend"]].rename(
        columns={"expected_spend": "expected_value"}), None
