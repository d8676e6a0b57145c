"""`forecast train revenue --config configs/favorita.yaml --json` on the real Favorita data (slow)."""

from __future__ import annotations

from pathlib import Path

import pytest

CONFIG = Path(__file__).resolve().parents[2] / "configs" / "favorita.yaml"


@pytest.mark.slow
def test_favorita_protocol_meets_the_accuracy_and_coverage_goal(train_revenue_cli):
    summary = train_revenue_cli(CONFIG)
    selected = summary["selected"]
    # 54 stores x 91 days x 2 folds, less store 52's 91 days in the first (it opened later).
    assert selected["grain"] == "region/city/store" and selected["n"] == (54 * 2 - 1) * 91
    # The goal: WAPE <= 0.056 and 80% intervals covering 77-83%.
    assert selected["wape"] <= 0.056
    assert 0.77 <= selected["coverage_80"] <= 0.83 and selected["coverage_95"] > 0.92
    by_grain = {(r["model"], r["grain"]): r for r in summary["by_grain"]}
    for model in ("seasonal_growth", "prophet", "global_hgb"):
        assert selected["wape"] < by_grain[(model, "region/city/store")]["wape"], model
    # Every fold reconciles, including the one before store 52 opened.
    assert [r["grain"] for r in summary["by_level"]] == [
        "total", "region", "region/city", "region/city/store"]
