"""Reconciling backtest folds whose series or dates are incomplete (new or closed stores)."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pandas as pd

from forecast.hierarchy import build_hierarchy, coherence_error, reconciler
from forecast.model_selection.folds import reconcile_folds

BOTTOM = ["a|x", "a|y", "b|x"]
DAYS = pd.date_range("2024-03-04", periods=3, freq="D")


def _frame(values: dict[str, list[float]]) -> pd.DataFrame:
    """Every grain's rows (total, region, region/store) from bottom values per day."""
    rows = []
    for uid, ys in values.items():
        region, store = uid.split("|")
        for ds, y in zip(DAYS, ys, strict=True):
            rows += [(uid, ds, y, "region/store", region, store),
                     (region, ds, y, "region", region, None), ("total", ds, y, "total", None, None)]
    frame = pd.DataFrame(rows, columns=["unique_id", "ds", "y", "grain", "region", "store"])
    keys = ["unique_id", "ds", "grain", "region", "store"]
    return frame.groupby(keys, dropna=False, as_index=False)["y"].sum()


def test_folds_reconcile_existing_series_on_complete_dates_and_keep_the_rest():
    history = _frame({"a|x": [10, 10, 10], "a|y": [20, 20, 20], "b|x": [30, 30, 30]})
    hierarchy = build_hierarchy(history)
    # Fold 0: store b|x (and so region b) had not opened; fold 1: a|y closed on the last day.
    fold0 = _frame({"a|x": [10, 11, 12], "a|y": [20, 21, 22]})
    fold1 = _frame({"a|x": [10, 11, 12], "a|y": [20, 21, 22], "b|x": [30, 31, 32]})
    fold1 = fold1[~((fold1["unique_id"] == "a|y") & (fold1["ds"] == DAYS[2]))]
    rows = pd.concat([fold0.assign(fold=0), fold1.assign(fold=1)], ignore_index=True)
    # Incoherent forecasts: every aggregate 5 too high.
    rows["yhat"] = rows["y"] + np.where(rows["grain"] == "region/store", 0.0, 5.0)
    rows["model"] = "selected"
    keys = rows[["unique_id", "ds"]].drop_duplicates()
    residuals = keys.assign(residual=np.random.default_rng(0).normal(0, 1, len(keys)))
    selections = {0: SimpleNamespace(residuals=residuals), 1: SimpleNamespace(residuals=residuals)}
    reconciled, by_grain = reconcile_folds(rows, selections, hierarchy, reconciler("mint_shrink"))
    assert len(reconciled) == len(rows) and (reconciled["model"] == "selected_reconciled").all()
    full = reconciled[~((reconciled["fold"] == 1) & (reconciled["ds"] == DAYS[2]))]
    for (fold, ds), part in full.groupby(["fold", "ds"]):
        present = hierarchy.restrict(part["unique_id"].unique())
        assert coherence_error(part, present) < 1e-9, (fold, ds)
    kept = reconciled[(reconciled["fold"] == 1) & (reconciled["ds"] == DAYS[2])]
    original = rows[(rows["fold"] == 1) & (rows["ds"] == DAYS[2])]
    np.testing.assert_allclose(kept.sort_values("unique_id")["yhat"],
                               original.sort_values("unique_id")["yhat"])
    assert list(by_grain["grain"]) == ["total", "region", "region/store"]
    # Bottom forecasts are exact and the aggregates 5 too high: reconciling cuts the total's
    # error, and the bottom series move less than the aggregates they fix.
    scores = by_grain.set_index("grain")
    assert scores.loc["total", "reconciled"] < scores.loc["total", "unreconciled"]
    assert scores.loc["region/store", "reconciled"] < scores.loc["total", "unreconciled"]
