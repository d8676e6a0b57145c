"""A small synthetic company in a warehouse, with fixture tables for the results the reports read
(churn scores, a reconciled revenue forecast, backtest scores) built by hand here."""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb
import pytest

from forecast.config import Config, ReportsConfig, SynthOptions
from forecast.pipeline import demo_config, ingest, synthesise

CUSTOMERS = 300
SEED = 1
SCORING_CUTOFF = "2026-11-01"
FORECAST_MONTHS = ("2026-10-01", "2026-11-01", "2026-12-01", "2027-01-01", "2027-02-01",
                   "2027-03-01")
Z80, Z95 = 1.2815515655446004, 1.959963984540054


def add_churn_scores(con: duckdb.DuckDBPyConnection) -> None:
    """Deterministic scores for every customer: probability from a hash of the id, tiers at 0.5
    and 0.2, two reasons with numbers in them, revenue at risk = probability x 1000."""
    con.execute(f"""
        CREATE OR REPLACE TABLE churn_scores AS
        WITH p AS (SELECT customer_id, (hash(customer_id) % 1000) / 1000.0 AS proba
                   FROM customers)
        SELECT customer_id, TIMESTAMP '{SCORING_CUTOFF}' AS cutoff, proba AS churn_proba,
               CASE WHEN proba >= 0.5 THEN 'high' WHEN proba >= 0.2 THEN 'medium' ELSE 'low' END
                 AS tier,
               proba >= 0.5 AS act,
               CASE WHEN proba >= 0.2 THEN 'no order for ' || CAST(hash(customer_id) % 300 AS
                 VARCHAR) || ' days, 2.5x the usual interval' END AS reason_1,
               CASE WHEN proba >= 0.6 THEN 'days since survey is ' ||
                 CAST(hash(customer_id) % 97 AS VARCHAR) || ', typical 61' END AS reason_2,
               CAST(NULL AS VARCHAR) AS reason_3,
               proba * 1000 AS revenue_at_risk, 'fixture' AS run_key, 0 AS chunk
        FROM p""")


def add_forecast(con: duckdb.DuckDBPyConnection) -> None:
    """A reconciled monthly and quarterly forecast for the total and each region: a region's
    month is 1.05 x its revenue a year before, sd 10% of that; the total sums the regions, its
    sd is the root of the sum of squares."""
    months = ", ".join(f"(DATE '{m}')" for m in FORECAST_MONTHS)
    con.execute(f"""
        CREATE OR REPLACE TABLE revenue_forecast_periods AS
        WITH m(period) AS (VALUES {months}),
        regions AS (
          SELECT r.region, m.period, 'month' AS period_type,
                 1.05 * coalesce(sum(o.amount), 0) + 1000 AS yhat
          FROM m CROSS JOIN (SELECT DISTINCT region FROM orders) r
          LEFT JOIN orders o ON o.region = r.region
            AND date_trunc('month', o.order_date) = m.period - INTERVAL 12 MONTH
          GROUP BY 1, 2),
        q AS (
          SELECT region, CAST(date_trunc('quarter', period) AS DATE) AS period,
                 'quarter' AS period_type, sum(yhat) AS yhat
          FROM regions GROUP BY 1, 2),
        regional AS (
          SELECT region, period, period_type, yhat, 0.1 * yhat AS yhat_sd FROM regions
          UNION ALL
          SELECT region, period, period_type, yhat, 0.1 * yhat AS yhat_sd FROM q),
        everything AS (
          SELECT region AS unique_id, 'region' AS grain, region, period_type, period, yhat,
                 yhat_sd FROM regional
          UNION ALL
          SELECT 'total', 'total', NULL, period_type, period, sum(yhat),
                 sqrt(sum(yhat_sd * yhat_sd)) FROM regional GROUP BY period_type, period)
        SELECT unique_id, grain, region, CAST(NULL AS VARCHAR) AS channel, period_type,
               CAST(period AS DATE) AS period, yhat, yhat_sd,
               yhat - {Z80} * yhat_sd AS yhat_lo_80, yhat + {Z80} * yhat_sd AS yhat_hi_80,
               yhat - {Z95} * yhat_sd AS yhat_lo_95, yhat + {Z95} * yhat_sd AS yhat_hi_95
        FROM everything""")


def add_backtest(con: duckdb.DuckDBPyConnection) -> None:
    """Backtest scores of two models at two grains."""
    con.execute("""
        CREATE OR REPLACE TABLE revenue_backtest AS
        SELECT * FROM (VALUES
          ('seasonal_naive', 'total', 52, 0.12, 0.13, 0.01, 0.70, 0.90),
          ('prophet', 'total', 52, 0.08, 0.09, -0.02, 0.78, 0.93),
          ('prophet', 'region', 312, 0.15, 0.16, 0.00, 0.74, 0.92))
          t(model, grain, n, wape, smape, bias, coverage_80, coverage_95)""")


@pytest.fixture(scope="session")
def synthetic_base(tmp_path_factory) -> Path:
    """The synthetic company ingested once per session (orders, customers, surveys,
    opportunities, targets) with churn scores, a forecast and backtest scores added."""
    root = tmp_path_factory.mktemp("synthetic")
    synthesise(SynthOptions(customers=CUSTOMERS, years=3, seed=SEED), root / "src")
    ingest(demo_config(root / "src", root / "ws"))
    with duckdb.connect(str(root / "ws" / "warehouse.duckdb")) as con:
        add_churn_scores(con)
        add_forecast(con)
        add_backtest(con)
    return root / "ws"


@pytest.fixture
def synthetic_config(synthetic_base: Path, tmp_path: Path) -> Config:
    """A config over a private copy of the synthetic warehouse (tests may add tables)."""
    workspace = tmp_path / "ws"
    workspace.mkdir()
    shutil.copy(synthetic_base / "warehouse.duckdb", workspace / "warehouse.duckdb")
    config = demo_config(tmp_path / "src", workspace)
    return config.model_copy(update={"reports": ReportsConfig(formats=["json"])})
