"""Seeded synthetic series shared by the model tests."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest


def make_weekly_panel(n_series: int = 6, n_weeks: int = 130, seed: int = 0) -> pd.DataFrame:
    """Weekly (Friday) series: level x (1 + yearly wave) + noise, a promo flag lifting sales 30 %.

    Columns: unique_id, ds, y, promo, region.
    """
    rng = np.random.default_rng(seed)
    ds = pd.date_range("2021-01-01", periods=n_weeks, freq="W-FRI")
    rows = []
    for i in range(n_series):
        level = 100.0 * (i + 1)
        wave = 1 + 0.3 * np.sin(2 * np.pi * np.arange(n_weeks) / 52)
        promo = (rng.random(n_weeks) < 0.15).astype(float)
        y = level * wave * (1 + 0.3 * promo) * (1 + 0.02 * rng.standard_normal(n_weeks))
        rows.append(pd.DataFrame({"unique_id": f"s{i}", "ds": ds, "y": y, "promo": promo,
                                  "region": "north" if i % 2 else "south"}))
    return pd.concat(rows, ignore_index=True)


@pytest.fixture
def weekly_panel() -> pd.DataFrame:
    return make_weekly_panel()


@pytest.fixture(scope="session")
def make_panel():
    """The panel builder itself, for tests that need other sizes or seeds."""
    return make_weekly_panel


@pytest.fixture(scope="session")
def synthetic_snapshots():
    """``build(root, options, cutoffs, where)``: snapshots of a generated company."""
    return _synthetic_snapshots


def _synthetic_snapshots(root, options, cutoffs, where: str = "TRUE") -> pd.DataFrame:
    """Customer snapshots of a generated company at ``cutoffs`` (rows matching ``where``)."""
    from forecast.io import warehouse
    from forecast.io.ingest import ingest
    from forecast.pipeline import build_customer_snapshots, demo_config
    from forecast.synth import generate_company

    generate_company(options, root / "data")
    config = demo_config(root / "data", root / "ws")
    ingest(config)
    build_customer_snapshots(config, cutoffs)
    with warehouse.connect(root / "ws", read_only=True) as con:
        frame = con.execute(f"SELECT * FROM customer_snapshots WHERE {where}").df()
    frame["cutoff"] = pd.to_datetime(frame["cutoff"])
    return frame
