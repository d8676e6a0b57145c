"""The catalog of the warehouse: every table the chain reads or writes, named once.

In the spirit of Kedro's data catalog: each entry (a :class:`Dataset`) has its name and what it
holds, and the functions here read and write an entry by the entry, not by a name spelled again.
The canonical input tables are defined in :mod:`forecast.schemas` and listed here under the same
names; the output tables are defined here. The two registered MLflow models are entries too
(``kind="model"``), so a pipeline step can declare that it writes or reads one; they live in
the workspace's MLflow store, not in the warehouse (see :mod:`forecast.tracking`).

Pipeline steps declare the entries they read and write (see :mod:`forecast.pipeline.steps`); the
chain derives its order and what it checks before skipping a step from those declarations.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Literal

import duckdb
import pandas as pd

from forecast import schemas
from forecast.io import frames, outputs
from forecast.io.sql import Query, quote
from forecast.io.warehouse import table_columns, table_exists
from forecast.periods import add_months

Kind = Literal["input", "table", "model"]


@dataclass(frozen=True)
class Dataset:
    """One entry of the catalog.

    Attributes:
        name: the table's name in the warehouse (the registered name for a model).
        holds: what it holds, one row of it or its columns.
        kind: ``input`` (a canonical table the ingest loads), ``table`` (an output table of a
            step) or ``model`` (a model registered in MLflow).
    """

    name: str
    holds: str
    kind: Kind = "table"

    def __str__(self) -> str:
        return self.name

    @property
    def sql(self) -> str:
        """The quoted name, for SQL text."""
        return quote(self.name)


def _canonical(table: schemas.Table) -> Dataset:
    return Dataset(table.name, table.description, "input")


# Canonical inputs (columns in forecast.schemas), and the ingest's bookkeeping.
ORDERS = _canonical(schemas.ORDERS)
CUSTOMERS = _canonical(schemas.CUSTOMERS)
TARGETS = _canonical(schemas.TARGETS)
OPPORTUNITIES = _canonical(schemas.OPPORTUNITIES)
SURVEYS = _canonical(schemas.SURVEYS)
QUARANTINE = Dataset(schemas.QUARANTINE_TABLE, "rejected source rows with their reasons",
                     "input")
INGEST_LOG = Dataset(schemas.INGEST_LOG_TABLE, "one row per load of a source file", "input")
INPUTS = (ORDERS, CUSTOMERS, TARGETS, OPPORTUNITIES, SURVEYS, QUARANTINE)

# Features.
SERIES = Dataset("series", "unique_id, ds, y, grain + key columns and regressors: one row "
                 "per series of the hierarchy and period")
SERIES_PARTIAL = Dataset("series_partial", "unique_id, ds, y, through: the orders so far of a "
                         "last period the series leave out as partial")
CUSTOMER_SNAPSHOTS = Dataset("customer_snapshots", "customer_id, cutoff, features, churned: "
                             "one row per customer and snapshot cutoff")

# Revenue.
REVENUE_MODEL = Dataset("revenue-forecaster", "the registered revenue model", "model")
REVENUE_BACKTEST = Dataset("revenue_backtest", "backtest scores per model and grain")
REVENUE_FORECAST = Dataset("revenue_forecast", "unique_id, ds, yhat and intervals: the "
                           "forecast per series and period")
REVENUE_FORECAST_PERIODS = Dataset("revenue_forecast_periods", "the forecast summed per series "
                                   "and calendar month and quarter, with yhat_sd and intervals")

# Churn.
CHURN_MODEL = Dataset("churn-risk", "the registered churn model", "model")
CHURN_SCORES = Dataset("churn_scores", "customer_id, cutoff, churn_proba, tier, reasons: one "
                       "row per scored customer and cutoff")
CHURN_SCORE_CHUNKS = Dataset("churn_score_chunks", "one row per committed chunk of a scoring "
                             "run (its bookkeeping)")
CHURN_SCORE_UNSEEN = Dataset("churn_score_unseen", "per scoring chunk and categorical feature, "
                             "the rows whose value training never saw")
CHURN_SCORE_SKILL = Dataset("churn_score_skill", "per scoring run, how well the model that scored "
                            "ranked churners on held-out data: its ROC-AUC and 95 % interval")

# Decisions.
CUSTOMER_TIERS = Dataset("customer_tiers", "RFM, ABC, value and risk tiers: one row per "
                         "customer")
TIER_SUMMARY = Dataset("tier_summary", "customers and revenue per tier of each dimension")
TARGETS_PLAN = Dataset("targets_plan", "next-period targets per level, unit and span")
FUNNEL_CONVERSION = Dataset("funnel_conversion", "stage conversion, time in stage and P(win)")
FUNNEL_WIN_RATES = Dataset("funnel_win_rates", "win rates per breakdown")
FUNNEL_PIPELINE = Dataset("funnel_pipeline", "the weighted pipeline of a period per stage")
ATTAINMENT = Dataset("attainment", "actual against target per organisation unit")

CATALOG: dict[str, Dataset] = {d.name: d for d in (
    *INPUTS, INGEST_LOG, SERIES, SERIES_PARTIAL, CUSTOMER_SNAPSHOTS, REVENUE_MODEL,
    REVENUE_BACKTEST, REVENUE_FORECAST, REVENUE_FORECAST_PERIODS, CHURN_MODEL, CHURN_SCORES,
    CHURN_SCORE_CHUNKS, CHURN_SCORE_UNSEEN, CHURN_SCORE_SKILL, CUSTOMER_TIERS, TIER_SUMMARY,
    TARGETS_PLAN, FUNNEL_CONVERSION, FUNNEL_WIN_RATES, FUNNEL_PIPELINE, ATTAINMENT)}
OUTPUTS = tuple(d for d in CATALOG.values() if d.kind == "table")


def exists(con: duckdb.DuckDBPyConnection, dataset: Dataset) -> bool:
    """Whether the warehouse holds the table."""
    return table_exists(con, dataset.name)


def columns(con: duckdb.DuckDBPyConnection, dataset: Dataset) -> dict[str, str]:
    """Column name -> DuckDB type of the table, in table order (empty when absent)."""
    return table_columns(con, dataset.name)


def row_count(con: duckdb.DuckDBPyConnection, dataset: Dataset) -> int:
    """Rows of the table; 0 when it is absent."""
    if not exists(con, dataset):
        return 0
    return int(con.execute(f"SELECT count(*) FROM {dataset.sql}").fetchone()[0])


def read_frame(con: duckdb.DuckDBPyConnection, dataset: Dataset,
               select: Sequence[str] = (), where: str | None = None, params: Sequence = (),
               order_by: Sequence[str] = ()) -> pd.DataFrame:
    """Rows of the table as a frame.

    Args:
        con: a warehouse connection.
        dataset: the entry.
        select: column names (quoted here); all columns when empty.
        where: a SQL condition, its values as ``?`` parameters.
        params: the values of the condition's parameters.
        order_by: column names (quoted here) to sort by.
    """
    chosen = ", ".join(map(quote, select)) or "*"
    sql = f"SELECT {chosen} FROM {dataset.sql}"
    if where:
        sql += f" WHERE {where}"
    if order_by:
        sql += " ORDER BY " + ", ".join(map(quote, order_by))
    return con.execute(sql, list(params)).df()


def input_frame(con: duckdb.DuckDBPyConnection, dataset: Dataset) -> pd.DataFrame:
    """Every row of an input table, without the lineage columns the ingest adds."""
    return con.execute(f"SELECT * EXCLUDE ({schemas.SOURCE}, {schemas.SOURCE_ROW}) "
                       f"FROM {dataset.sql}").df()


def table_digest(con: duckdb.DuckDBPyConnection, name: str) -> str | None:
    """SHA-256 of a table's columns and types, row count and the sum of a hash of every row
    (order does not matter, content does); None when the table is absent."""
    if not table_exists(con, name):
        return None
    described = [[column, dtype] for column, dtype in table_columns(con, name).items()]
    rows, total = con.execute(f"SELECT count(*), sum(hash(t)) FROM {quote(name)} AS t"
                              ).fetchone()
    payload = json.dumps([described, rows, str(total)])
    return hashlib.sha256(payload.encode()).hexdigest()


def write_frame(con: duckdb.DuckDBPyConnection, dataset: Dataset, frame: pd.DataFrame) -> int:
    """Replace the table with ``frame`` in one transaction; returns the rows written."""
    return frames.write_frame(con, dataset.name, frame)


def write_select(con: duckdb.DuckDBPyConnection, dataset: Dataset, select: str | Query) -> int:
    """Replace the table with the rows of ``select`` (SQL text, or a :class:`Query` with its
    values) in one transaction; returns the rows written."""
    return outputs.write_table(con, dataset.name, select)


def drop(con: duckdb.DuckDBPyConnection, dataset: Dataset) -> bool:
    """Drop the table if it exists; whether it did."""
    if not exists(con, dataset):
        return False
    con.execute(f"DROP TABLE {dataset.sql}")
    return True


def export(con: duckdb.DuckDBPyConnection, dataset: Dataset, path: Path,
           order_by: str | None = None) -> Path:
    """Copy the table to Parquet or CSV (by the extension of ``path``), atomically."""
    return outputs.export_table(con, dataset.name, path, order_by=order_by)


def export_path(workspace: Path, dataset: Dataset, suffix: str, folder: str = "outputs"
                ) -> Path:
    """Where the table's copy goes: ``<workspace>/<folder>/<name><suffix>``."""
    return Path(workspace) / folder / f"{dataset.name}{suffix}"


def order_span(con: duckdb.DuckDBPyConnection) -> tuple[date, date] | None:
    """First and last order day; None without orders (no table, or an empty one)."""
    if not exists(con, ORDERS):
        return None
    first, last = con.execute(f"SELECT min(order_date), max(order_date) FROM {ORDERS.sql}"
                              ).fetchone()
    return None if last is None else (first, last)


def orders_through(con: duckdb.DuckDBPyConnection) -> date | None:
    """The last day the orders cover: the last order day, or, when every order is dated on
    the first day of a month over three months or more (a sheet of monthly figures, each
    dated on its month), the last day of the last month; None without orders."""
    if not exists(con, ORDERS):
        return None
    last, monthly, months = con.execute(
        f"SELECT max(order_date), bool_and(dayofmonth(order_date) = 1), "
        f"count(DISTINCT date_trunc('month', order_date)) FROM {ORDERS.sql}").fetchone()
    if last is None or not (monthly and months >= 3):
        return last
    return add_months(last, 1) - timedelta(days=1)


def customer_orders(con: duckdb.DuckDBPyConnection) -> tuple[int, date | None, date | None]:
    """Order lines with a customer id, the first day of such a line, and the last order day
    (any line)."""
    with_ids, first, last = con.execute(
        "SELECT count(*) FILTER (WHERE customer_id IS NOT NULL), "
        "min(order_date) FILTER (WHERE customer_id IS NOT NULL), max(order_date) "
        f"FROM {ORDERS.sql}").fetchone()
    return int(with_ids), first, last


def orders_on_series_dates(con: duckdb.DuckDBPyConnection) -> bool:
    """Whether every order is dated on the first day of a period of the series (weekly sales
    dated on their Friday, monthly ones on the 1st); False without orders or series."""
    if not exists(con, ORDERS) or not exists(con, SERIES):
        return False
    # fetchall: a result left unfetched blocks the connection's next write of a frame.
    off, total = con.execute(
        f"SELECT count(*) FILTER (WHERE order_date NOT IN (SELECT DISTINCT ds FROM "
        f"{SERIES.sql})), count(*) FROM {ORDERS.sql}").fetchall()[0]
    return off == 0 and total > 0


def series_summary(con: duckdb.DuckDBPyConnection) -> tuple[int, date, date]:
    """Series in ``series``, and its first and last period."""
    count, start, end = con.execute(
        f"SELECT count(DISTINCT unique_id), min(ds), max(ds) FROM {SERIES.sql}").fetchone()
    return int(count), start, end


def shared_series_ids(con: duckdb.DuckDBPyConnection, limit: int = 5) -> list[tuple]:
    """Series ids of ``series`` that more than one grain uses (a store named like the company
    total, a region and a store with one name): ``unique_id, [grains]``, at most ``limit``."""
    return con.execute(
        f"SELECT unique_id, list(DISTINCT grain ORDER BY grain) FROM {SERIES.sql} "
        "GROUP BY unique_id HAVING count(DISTINCT grain) > 1 ORDER BY unique_id LIMIT ?",
        [limit]).fetchall()


def snapshot_counts(con: duckdb.DuckDBPyConnection) -> list[tuple]:
    """Per cutoff of ``customer_snapshots``: ``cutoff, customers, labelled, churn rate``."""
    return con.execute(
        "SELECT cutoff, count(*), count(churned), avg(CAST(churned AS DOUBLE)) "
        f"FROM {CUSTOMER_SNAPSHOTS.sql} GROUP BY cutoff ORDER BY cutoff").fetchall()
