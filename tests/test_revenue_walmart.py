"""`forecast train revenue --config configs/walmart.yaml --json` on the real Walmart data (slow)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from forecast.cli import main

CONFIG = Path(__file__).resolve().parents[1] / "configs" / "walmart.yaml"


@pytest.mark.slow
def test_walmart_protocol_prints_the_selected_forecasts_wape_and_coverage(
        shared_data, tmp_path, monkeypatch):
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    runner = CliRunner()
    workspace = ["--workspace", str(tmp_path / "ws")]
    for command in (["data", "ingest"], ["features", "series"]):
        result = runner.invoke(main, [*command, "--config", str(CONFIG), *workspace])
        assert result.exit_code == 0, result.output
    result = runner.invoke(main, ["train", "revenue", "--config", str(CONFIG), *workspace,
                                  "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    selected = summary["selected"]
    # 45 stores x 13 weeks x 3 evaluation folds, each chosen on the 3 folds before it.
    assert selected["grain"] == "store" and selected["n"] == 45 * 13 * 3
    by_grain = {(r["model"], r["grain"]): r for r in summary["by_grain"]}
    # The selected forecast beats the seasonal naive and Prophet peers on the same folds.
    assert selected["wape"] < by_grain[("seasonal_naive", "store")]["wape"]
    assert selected["wape"] < by_grain[("prophet", "store")]["wape"]
    assert 0.7 < selected["coverage_80"] < 0.9 and selected["coverage_95"] > selected["coverage_80"]
    assert [r["grain"] for r in summary["by_level"]] == ["total", "store"]
