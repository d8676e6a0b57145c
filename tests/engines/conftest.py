"""Fixtures of the scoring-run tests: a small snapshot table in a warehouse and two churn
models fitted on its labelled cutoffs."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta

import numpy as np
import pandas as pd
import pytest

from forecast.config import ChurnConfig
from forecast.io import warehouse
from forecast.models.churn import fit_churn_model

SMALL = {"candidates": ["logistic"], "blend": False, "splines": False}
SMALL_CUTOFFS = [date(2025, 1, 1) + timedelta(days=120 * k) for k in range(3)]
SEGMENTS = ("key account", "mid-market", "small")


def small_snapshots(n: int = 300, seed: int = 3) -> pd.DataFrame:
    """The same ``n`` customers at three cutoffs (the last unlabelled): recency, order trend,
    12-month revenue, a segment, and a churn label that rises with recency and a falling
    trend."""
    rng = np.random.default_rng(seed)
    frames = []
    for k, cutoff in enumerate(SMALL_CUTOFFS):
        frame = pd.DataFrame({
            "customer_id": [f"C{i:04d}" for i in range(n)],
            "cutoff": pd.Timestamp(cutoff),
            "recency_days": rng.integers(1, 300, n).astype(float),
            "orders_trend_90d": rng.uniform(-1, 1, n),
            "revenue_365d": rng.normal(5000, 3000, n).round(2),
            "segment": rng.choice(SEGMENTS, n),
        })
        logit = (0.015 * (frame["recency_days"] - 150) - 1.5 * frame["orders_trend_90d"]
                 + 0.8 * (frame["segment"] == "small"))
        frame["churned"] = rng.uniform(size=n) < 1 / (1 + np.exp(-logit))
        frame["label_complete"] = k < len(SMALL_CUTOFFS) - 1
        frames.append(frame)
    return pd.concat(frames, ignore_index=True)


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
