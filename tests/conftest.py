"""Shared fixtures: paths to the real data sets and small config writers."""

from __future__ import annotations

from pathlib import Path

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
