"""The reports' reads of the warehouse: a read connection that knows its tables, and the frames
of the result tables (churn scores, tiers, forecast, plan, funnel, backtest, snapshots).

SQL over the canonical tables is in :mod:`forecast.io.report_queries`; which frames a report
needs is :mod:`forecast.pipeline.reports`'s. Every function here returns a frame (or None or an
empty dict when its table is missing): a report omits a section it has no data for.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import duckdb
import pandas as pd

from forecast.errors import WorkspaceError
from forecast.io.catalog import (
    CHURN_SCORE_SKILL,
    CHURN_SCORE_UNSEEN,
    CHURN_SCORES,
    CUSTOMER_SNAPSHOTS,
    CUSTOMER_TIERS,
    FUNNEL_CONVERSION,
    ORDERS,
    REVENUE_BACKTEST,
    REVENUE_FORECAST_PERIODS,
    TARGETS,
    TARGETS_PLAN,
    Dataset,
)
from forecast.io.report_queries import (
    ReportMonth,
    between,
    customer_revenue_sql,
    lost_customers_cte,
    names_join,
    targets_by_sql,
)
from forecast.io.sql import Params, Query, as_query, quote
from forecast.schemas import TOTAL

SHOWN_TARGET_KEYS = ("region", "team")  # the keys whose targets the reports show
CONVERSION_COLUMNS = ("stage", "reached", "conversion", "median_days", "p_win", "as_of")
PLAN_COLUMNS = {"level", "unit_id", "span", "start", "base", "stretch", "target", "probability"}
DRIFT_SAMPLE = 50_000


class Warehouse:
    """A read connection with what the report queries need to know about the warehouse, looked
    up once: which tables exist, their columns, and which columns hold any value."""

    def __init__(self, con: duckdb.DuckDBPyConnection):
        self.con = con
        self.columns: dict[str, list[str]] = {}
        for table, column in con.execute(
                "SELECT table_name, column_name FROM information_schema.columns "
                "WHERE table_catalog = current_database() AND table_schema = 'main' "
                "ORDER BY table_name, ordinal_position").fetchall():
            self.columns.setdefault(table, []).append(column)
        self._filled: dict[str, set[str]] = {}

    def exists(self, table: Dataset | str) -> bool:
        """Whether the table (or view) is there."""
        return str(table) in self.columns

    def filled(self, table: Dataset | str, column: str) -> bool:
        """Whether ``table`` has ``column`` with at least one non-null value."""
        table = str(table)
        if column not in self.columns.get(table, []):
            return False
        if table not in self._filled:
            names = self.columns[table]
            counts = self.con.execute(
                "SELECT " + ", ".join(f"count({quote(c)})" for c in names)
                + f" FROM {quote(table)}").fetchone()
            self._filled[table] = {c for c, n in zip(names, counts, strict=True) if n}
        return column in self._filled[table]

    def rows(self, table: Dataset) -> int:
        """Rows of a table; 0 when it is absent."""
        if not self.exists(table):
            return 0
        return int(self.con.execute(f"SELECT count(*) FROM {table.sql}").fetchone()[0])

    def frame(self, query: str | Query) -> pd.DataFrame:
        """Run a query (SQL text, or a :class:`Query` with its values) into a frame."""
        return self.con.execute(*as_query(query)).df()


def orders_span(wh: Warehouse, workspace: Path) -> tuple[date, date]:
    """First and last order day.

    Raises:
        WorkspaceError: the warehouse has no orders.
    """
    if not wh.exists(ORDERS):
        raise WorkspaceError(f"{workspace}: the warehouse has no orders table; run "
                             "`forecast data ingest --config ...` first")
    first, last = wh.con.execute(
        f"SELECT min(order_date), max(order_date) FROM {ORDERS.sql}").fetchone()
    if first is None:
        raise WorkspaceError(f"{workspace}: the orders table is empty")
    return first, last


def key_account_tiers(wh: Warehouse) -> bool:
    """Whether ``customer_tiers`` names any key account."""
    return wh.filled(CUSTOMER_TIERS, "value_tier") and bool(wh.con.execute(
        f"SELECT count(*) FROM {CUSTOMER_TIERS.sql} WHERE value_tier = 'key account'"
    ).fetchone()[0])


def segment_orders(wh: Warehouse, segments: tuple[str, ...], start: date, end: date) -> int:
    """Order lines in [start, end) whose segment is one of ``segments``."""
    p = Params()
    values = ", ".join(p(s) for s in segments)
    return int(wh.con.execute(*p.query(
        f"SELECT count(*) FROM {ORDERS.sql} WHERE segment IN ({values}) "
        f"AND {between(p, start, end)}")).fetchone()[0])


def forecast_rows(wh: Warehouse, where: str, p: Params | None = None) -> pd.DataFrame | None:
    """Rows of ``revenue_forecast_periods`` matching ``where`` (its values bound in ``p``);
    None without the table."""
    if not wh.exists(REVENUE_FORECAST_PERIODS):
        return None
    return wh.frame((p or Params()).query(
        f"SELECT * FROM {REVENUE_FORECAST_PERIODS.sql} WHERE {where} ORDER BY period"))


def month_forecast(wh: Warehouse, month: date) -> pd.DataFrame | None:
    """Forecast rows of one calendar month, every series; None without the table."""
    p = Params()
    return forecast_rows(wh, f"period_type = 'month' AND period = {p(month)}", p)


def total_month_forecast(wh: Warehouse) -> pd.DataFrame | None:
    """The company total's forecast per month; None without the table."""
    p = Params()
    return forecast_rows(wh, f"period_type = 'month' AND grain = {p(TOTAL)}", p)


def forecast_after(wh: Warehouse, data_through: date) -> pd.DataFrame | None:
    """Forecast months and quarters not yet over at ``data_through``."""
    p = Params()
    return forecast_rows(wh, f"(period_type = 'month' AND period + INTERVAL 1 MONTH > "
                             f"{p(data_through)}) OR (period_type = 'quarter' AND "
                             f"period + INTERVAL 3 MONTH > {p(data_through)})", p)


def targets_by_grain(wh: Warehouse, periods: list[date]
                     ) -> dict[tuple[str, ...], pd.DataFrame]:
    """Targets of ``periods`` for the company and each key of ``SHOWN_TARGET_KEYS`` present."""
    if not wh.exists(TARGETS):
        return {}
    out = {(): wh.frame(targets_by_sql([], periods))}
    for key in SHOWN_TARGET_KEYS:
        if wh.filled(TARGETS, key):
            out[(key,)] = wh.frame(targets_by_sql([key], periods))
    return out


def plan_rows(wh: Warehouse, month: date) -> pd.DataFrame | None:
    """Month rows of ``targets_plan`` (from ``forecast targets``) for ``month``."""
    if not wh.exists(TARGETS_PLAN) or not PLAN_COLUMNS <= set(wh.columns[TARGETS_PLAN.name]):
        return None
    return wh.frame(Query(f"""
        SELECT level, unit_id AS unit, base, stretch, target, probability FROM {TARGETS_PLAN.sql}
        WHERE span = 'month' AND CAST("start" AS DATE) = $month
        ORDER BY CASE level WHEN 'company' THEN 0 WHEN 'region' THEN 1 WHEN 'team' THEN 2
                 ELSE 3 END, unit_id""", {"month": month}))


def stage_conversion(wh: Warehouse) -> pd.DataFrame | None:
    """``funnel_conversion``'s stages in funnel order; None without the table or its columns."""
    if not set(CONVERSION_COLUMNS) <= set(wh.columns.get(FUNNEL_CONVERSION.name, [])):
        return None
    return wh.frame(f"SELECT {', '.join(CONVERSION_COLUMNS)} FROM {FUNNEL_CONVERSION.sql} "
                    "ORDER BY stage_order")


def value_tiers(wh: Warehouse) -> pd.DataFrame | None:
    """``customer_id, value_tier`` of every tiered customer; None without value tiers."""
    if not wh.filled(CUSTOMER_TIERS, "value_tier"):
        return None
    return wh.frame("SELECT CAST(customer_id AS VARCHAR) AS customer_id, value_tier "
                    f"FROM {CUSTOMER_TIERS.sql}")


def backtest_scores(wh: Warehouse) -> pd.DataFrame | None:
    """The revenue backtest's scores per model and grain; None without the table."""
    return wh.frame(f"SELECT * FROM {REVENUE_BACKTEST.sql}") if wh.exists(REVENUE_BACKTEST) \
        else None


def _latest(alias: str = "") -> str:
    """The condition of the latest scoring cutoff."""
    column = f"{alias}.cutoff" if alias else "cutoff"
    return f"{column} = (SELECT max(cutoff) FROM {CHURN_SCORES.sql})"


def risk_frames(wh: Warehouse, top_n: int, names: bool) -> dict:
    """Churn-score frames shared by both reports (empty when there are no scores):
    ``risk_tiers`` (per tier at the latest cutoff: ``cutoff, tier, customers, revenue_at_risk,
    churn_proba_mean``), ``at_risk`` (the ``top_n`` high and medium customers with most revenue
    at risk) and ``at_risk_reasons`` (the reasons of all of them)."""
    if not wh.rows(CHURN_SCORES):
        return {}
    tiers = wh.frame(f"""
        SELECT max(cutoff) AS cutoff, tier, count(*) AS customers,
               coalesce(sum(revenue_at_risk), 0) AS revenue_at_risk,
               avg(churn_proba) AS churn_proba_mean
        FROM {CHURN_SCORES.sql} WHERE {_latest()} GROUP BY tier""")
    risky = ("high", "medium")
    every = wh.frame(_at_risk_sql(names, risky, None))
    return {"risk_tiers": tiers, "at_risk": wh.frame(_at_risk_sql(names, risky, top_n)),
            "at_risk_reasons": every[["reason_1", "reason_2", "reason_3"]],
            "churn_skill": churn_skill(wh)}


def churn_skill(wh: Warehouse) -> dict[str, float] | None:
    """How well the model that wrote the latest cutoff's scores ranked churners on held-out
    data (``roc_auc, roc_auc_low, roc_auc_high, rows, base_rate``), from its scoring run's
    row; None when no run recorded it."""
    if not (wh.exists(CHURN_SCORES) and wh.exists(CHURN_SCORE_SKILL)):
        return None
    frame = wh.frame(f"""
        SELECT k.* EXCLUDE (run_key) FROM {CHURN_SCORE_SKILL.sql} AS k
        WHERE k.run_key IN (SELECT run_key FROM {CHURN_SCORES.sql} WHERE {_latest()})
        LIMIT 1""")
    return None if frame.empty else {k: float(v) for k, v in frame.iloc[0].items()}


def _at_risk_sql(names: bool, tiers: tuple[str, ...], top_n: int | None) -> Query:
    """Scored customers of the given tiers at the latest cutoff, most revenue at risk first:
    ``customer_id, name, tier, churn_proba, revenue_at_risk, reason_1, reason_2, reason_3``."""
    name, join = names_join(names, "s")
    p = Params()
    in_tiers = ", ".join(p(t) for t in tiers)
    limit = f" LIMIT {int(top_n)}" if top_n else ""
    return p.query(f"""
        SELECT s.customer_id, {name}, s.tier, s.churn_proba, s.revenue_at_risk,
               s.reason_1, s.reason_2, s.reason_3
        FROM {CHURN_SCORES.sql} s{join}
        WHERE {_latest("s")} AND s.tier IN ({in_tiers})
        ORDER BY s.revenue_at_risk DESC NULLS LAST, s.churn_proba DESC, s.customer_id{limit}""")


def lost_reasons(wh: Warehouse, w: ReportMonth, horizon_days: int) -> pd.DataFrame:
    """Churn reasons of the month's lost customers at the latest scoring cutoff."""
    p = Params()
    return wh.frame(p.query(f"""
        WITH {lost_customers_cte(p, w, horizon_days)}
        SELECT s.reason_1, s.reason_2, s.reason_3 FROM {CHURN_SCORES.sql} s
        JOIN lost ON lost.customer_id = s.customer_id
        WHERE {_latest("s")}"""))


def scored_customers(wh: Warehouse, start: date, end: date) -> pd.DataFrame:
    """Every customer scored at the latest cutoff with their revenue in [start, end):
    ``customer_id, tier, churn_proba, revenue_at_risk, revenue``."""
    p = Params()
    return wh.frame(p.query(f"""
        SELECT s.customer_id, s.tier, s.churn_proba, s.revenue_at_risk,
               coalesce(r.revenue, 0) AS revenue
        FROM {CHURN_SCORES.sql} s LEFT JOIN ({p.embed(customer_revenue_sql(start, end))}) r
          ON r.customer_id = s.customer_id
        WHERE {_latest("s")}"""))


def churn_outcomes(wh: Warehouse, horizon_days: int, data_end: date) -> pd.DataFrame | None:
    """Scores whose label window has closed (cutoff + H <= data_end), with what happened:
    ``cutoff, churn_proba, churned`` (churned: no order in [cutoff, cutoff + H)); None without
    scores."""
    if not wh.exists(CHURN_SCORES):
        return None
    return wh.frame(Query(f"""
        SELECT s.cutoff, s.churn_proba,
               NOT EXISTS (SELECT 1 FROM {ORDERS.sql} o WHERE o.customer_id = s.customer_id
                           AND o.order_date >= s.cutoff
                           AND o.order_date < s.cutoff + INTERVAL {int(horizon_days)} DAY)
                 AS churned
        FROM {CHURN_SCORES.sql} s
        WHERE CAST(s.cutoff AS DATE) + INTERVAL {int(horizon_days)} DAY <= $data_end""",
        {"data_end": data_end}))


def unseen_categories(wh: Warehouse) -> pd.DataFrame | None:
    """Per categorical feature, the customers of the latest scored cutoff whose value the churn
    model never saw in training (``cutoff, feature, rows, scored``), from the bookkeeping of
    the run that wrote those scores; None when no run recorded it."""
    if not (wh.exists(CHURN_SCORES) and wh.exists(CHURN_SCORE_UNSEEN)):
        return None
    return wh.frame(f"""
        WITH latest AS (SELECT CAST(max(cutoff) AS DATE) AS cutoff FROM {CHURN_SCORES.sql}),
        scored AS (SELECT run_key, count(*) AS scored FROM {CHURN_SCORES.sql}
                   WHERE CAST(cutoff AS DATE) = (SELECT cutoff FROM latest) GROUP BY run_key)
        SELECT (SELECT cutoff FROM latest) AS cutoff, u.feature, sum(u.rows) AS rows,
               (SELECT sum(scored) FROM scored) AS scored
        FROM {CHURN_SCORE_UNSEEN.sql} AS u JOIN scored USING (run_key)
        GROUP BY u.feature ORDER BY rows DESC, u.feature""")


def snapshot_cutoffs(wh: Warehouse) -> tuple[list[date], date | None]:
    """The snapshot cutoffs, and the latest scored cutoff (None without scores)."""
    if not wh.exists(CUSTOMER_SNAPSHOTS):
        return [], None
    cutoffs = [c for (c,) in wh.con.execute(
        f"SELECT DISTINCT CAST(cutoff AS DATE) FROM {CUSTOMER_SNAPSHOTS.sql} ORDER BY 1"
    ).fetchall()]
    scored = None
    if wh.exists(CHURN_SCORES):
        scored = wh.con.execute(
            f"SELECT CAST(max(cutoff) AS DATE) FROM {CHURN_SCORES.sql}").fetchone()[0]
    return cutoffs, scored


def snapshot_sample(wh: Warehouse, cutoffs: list[date] | date) -> pd.DataFrame:
    """A repeatable sample of at most ``DRIFT_SAMPLE`` snapshot rows at one cutoff or a list."""
    p = Params()
    if isinstance(cutoffs, list):
        where = f"IN ({', '.join(p(c) for c in cutoffs)})"
    else:
        where = f"= {p(cutoffs)}"
    return wh.frame(p.query(
        f"SELECT * FROM {CUSTOMER_SNAPSHOTS.sql} WHERE CAST(cutoff AS DATE) {where} "
        f"USING SAMPLE reservoir({DRIFT_SAMPLE} ROWS) REPEATABLE (7)"))
