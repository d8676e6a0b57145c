"""Helpers of the scoring tests: synthetic customer snapshots and a progress callback that
interrupts a run after a number of chunks."""

from __future__ import annotations

import copy
from collections.abc import Sequence
from datetime import date

import numpy as np
import pandas as pd

SEGMENTS = ("key account", "mid-market", "small")


def synthetic_snapshots(cutoffs: Sequence[date], sizes: Sequence[int], seed: int,
                        id_width: int = 4, with_interval: bool = False) -> pd.DataFrame:
    """Snapshots of ``sizes[k]`` customers at ``cutoffs[k]`` (the last one unlabelled):
    recency, order trend (and ``recency_to_interval`` when asked), 12-month revenue (some
    negative: net returns), a segment, and a churn label that rises with recency and a falling
    trend."""
    rng = np.random.default_rng(seed)
    frames = []
    for k, (cutoff, n) in enumerate(zip(cutoffs, sizes, strict=True)):
        columns = {
            "customer_id": [f"C{i:0{id_width}d}" for i in range(n)],
            "cutoff": pd.Timestamp(cutoff),
            "recency_days": rng.integers(1, 300, n).astype(float),
        }
        if with_interval:
            columns["recency_to_interval"] = rng.gamma(2.0, 0.6, n)
        columns["orders_trend_90d"] = rng.uniform(-1, 1, n)
        columns["revenue_365d"] = rng.normal(5000, 3000, n).round(2)
        columns["segment"] = rng.choice(SEGMENTS, n)
        frame = pd.DataFrame(columns)
        logit = (0.015 * (frame["recency_days"] - 150) - 1.5 * frame["orders_trend_90d"]
                 + 0.8 * (frame["segment"] == "small"))
        frame["churned"] = rng.uniform(size=n) < 1 / (1 + np.exp(-logit))
        frame["label_complete"] = k < len(cutoffs) - 1
        frames.append(frame)
    return pd.concat(frames, ignore_index=True)


class Stop(Exception):
    """Raised by :func:`stop_after` to interrupt a scoring run."""


def stop_after(chunks: int):
    """A progress callback that raises :class:`Stop` once ``chunks`` chunks are done."""
    def progress(done: int, n: int) -> None:
        if done == chunks:
            raise Stop
    return progress


def clone_with(model, **params):
    """A copy of a fitted model with other parameters (a shared fixture's model stays as it
    is)."""
    return copy.deepcopy(model).set_params(**params)
