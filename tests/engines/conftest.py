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
