"""`forecast train revenue --config configs/walmart.yaml --json` on the real Walmart data (slow)."""

from __future__ import annotations

from pathlib import Path

import pytest

CONFIG = Path(__file__).resolve().parents[2] / "configs" / "walmart.yaml"


@pytest.mark.slow
def test_walmart_protocol_prints_the_selected_forecasts_wape_and_coverage(train_revenue_cli):
    summary = train_revenue_cli(CONFIG)
    selected = summary["selected"]
    # 45 stores x 13 weeks x 3 evaluation folds, each chosen on the 3 folds before it.
    assert selected["grain"] == "store" and selected["n"] == 45 * 13 * 3
    by_grain = {(r["model"], r["grain"]): r for r in summary["by_grain"]}
    # The goal: WAPE <= 0.040 and 80% intervals covering 77-83%; the selected forecast
    # also beats every candidate alone on the same folds.
    assert selected["wape"] <= 0.040
    assert 0.77 <= selected["coverage_80"] <= 0.83 and selected["coverage_95"] > 0.93
    for model in ("seasonal_naive", "seasonal_growth", "prophet", "global_hgb"):
        assert selected["wape"] < by_grain[(model, "store")]["wape"], model
    assert [r["grain"] for r in summary["by_level"]] == ["total", "store"]
