"""Fixtures of the scoring-run tests: a small snapshot table in a warehouse and two churn
models fitted on its labelled cutoffs."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta

import pandas as pd
import pytest
from scoring_helpers import synthetic_snapshots

from forecast.config import ChurnConfig
from forecast.factory import fit_churn_model
from forecast.io import warehouse

SMALL = {"candidates": ["logistic"], "blend": False, "splines": False}
SMALL_CUTOFFS = [date(2025, 1, 1) + timedelta(days=120 * k) for k in range(3)]


def small_snapshots(n: int = 300, seed: int = 3) -> pd.DataFrame:
    """The same ``n`` customers at three cutoffs (see :func:`synthetic_snapshots`)."""
    return synthetic_snapshots(SMALL_CUTOFFS, [n] * len(SMALL_CUTOFFS), seed)


@pytest.fixture(scope="session")
def snapshot_frame() -> pd.DataFrame:
    return small_snapshots()


@pytest.fixture(scope="session")
def churn_models(snapshot_frame):
    """Two different models fitted on the labelled cutoffs (without and with spline terms)."""
    labelled = snapshot_frame[snapshot_frame["label_complete"]]
    return (fit_churn_model(labelled, ChurnConfig(**SMALL)),
            fit_churn_model(labelled, ChurnConfig(**{**SMALL, "splines": True})))


@pytest.fixture
def snapshot_con(tmp_path, snapshot_frame):
    """A warehouse holding the snapshots as ``customer_snapshots``."""
    with warehouse.connect(tmp_path / "ws", create=True) as connection:
        connection.register("frame", snapshot_frame)
        connection.execute("CREATE TABLE customer_snapshots AS SELECT * FROM frame")
        connection.unregister("frame")
        yield connection


@pytest.fixture
def small_config() -> ChurnConfig:
    """The settings the models were fitted with (tiers 0.5 and 0.2, every customer active
    within 365 days)."""
    return ChurnConfig(**SMALL)


@pytest.fixture
def latest_frame(snapshot_con) -> Callable[[], pd.DataFrame]:
    """The rows of the latest cutoff as ``customer_snapshots`` holds them now, by id."""

    def read() -> pd.DataFrame:
        return snapshot_con.execute(
            "SELECT * FROM customer_snapshots WHERE cutoff = ? ORDER BY customer_id",
            [SMALL_CUTOFFS[-1]]).df()

    return read


SPARK_MASTER = "local[2]"


def spark_missing() -> str | None:
    """Why Spark cannot run here (no pyspark, no Java), or None."""
    import importlib.util
    import os
    import shutil

    if importlib.util.find_spec("pyspark") is None:
        return "pyspark is not installed: `make test-spark` installs the spark extra"
    if not (shutil.which("java") or os.environ.get("JAVA_HOME")):
        return ("no Java runtime: `make test-spark` installs openjdk-17-jre-headless "
                "(or set JAVA_HOME)")
    return None


@pytest.fixture(scope="session")
def spark():
    """The one classic Spark session of the test run (``local[2]``), started with forecast's
    settings; Spark tests skip, saying why, without pyspark or Java."""
    reason = spark_missing()
    if reason:
        pytest.skip(reason)
    from forecast.config import EngineConfig
    from forecast.engines.spark import spark_session

    session, started = spark_session(EngineConfig(kind="spark", master=SPARK_MASTER))
    yield session
    if started:
        session.stop()


@pytest.fixture
def spark_engine(spark, tmp_path):
    """A Spark engine on the test session with its exchange folder in ``tmp_path``."""
    from forecast.engines.spark import SparkEngine

    return SparkEngine(spark, tmp_path / "exchange", partitions=4)
