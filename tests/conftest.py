"""Shared fixtures: paths to the real data sets and small config writers."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"


@pytest.fixture
def shared_data() -> Path:
    """The real data sets of ../shared/data; skips the test when they are absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"real data not found at {SHARED_DATA} (../shared/data is absent)")
    return SHARED_DATA


@pytest.fixture
def write_config(tmp_path: Path):
    """Write a config mapping to a YAML file in tmp_path and return its path."""

    def write(config: dict, name: str = "config.yaml") -> Path:
        config = {"workspace": str(tmp_path / "ws"), **config}
        path = tmp_path / name
        path.write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
        return path

    return write


@pytest.fixture
def train_revenue_cli(shared_data, tmp_path: Path, monkeypatch):
    """Run ``data ingest``, ``features series`` and ``train revenue --json`` on a shipped
    config in a fresh workspace; returns the printed summary."""
    import json

    from click.testing import CliRunner

    from forecast.cli import main

    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)

    def train(config: Path) -> dict:
        runner = CliRunner()
        workspace = ["--workspace", str(tmp_path / "ws")]
        for command in (["data", "ingest"], ["features", "series"],
                        ["train", "revenue", "--json"]):
            result = runner.invoke(main, [*command, "--config", str(config), *workspace])
            assert result.exit_code == 0, result.output
        return json.loads(result.stdout)

    return train


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
