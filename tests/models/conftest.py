"""Seeded synthetic series shared by the model tests."""

from __future__ import annotations

import pandas as pd
import pytest


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
