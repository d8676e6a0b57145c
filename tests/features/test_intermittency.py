"""Demand classes after Syntetos and Boylan: ADI, CV² and the four classes on known series."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from forecast.features.intermittency import class_counts, classify, demand_classes
from forecast.synth.beds import intermittent_demand


def _frame(series: dict[str, list[float]]) -> pd.DataFrame:
    return pd.concat([pd.DataFrame({"unique_id": uid, "ds": pd.date_range(
        "2024-01-01", periods=len(y)), "y": y}) for uid, y in series.items()], ignore_index=True)


def test_known_series_fall_in_their_quadrant_with_adi_and_cv2_by_hand():
    frame = _frame({
        "smooth": [10, 11, 9, 10, 12, 10],
        "erratic": [1, 20, 2, 30, 1, 25],
        "intermittent": [0, 0, 5, 0, 0, 6, 0, 0, 5],
        "lumpy": [0, 0, 1, 0, 0, 30, 0, 0, 2],
        "none": [0, 0, 0, 0],
    })
    classes = demand_classes(frame)
    assert classes["demand_class"].to_dict() == {
        "erratic": "erratic", "intermittent": "intermittent", "lumpy": "lumpy",
        "none": "no demand", "smooth": "smooth"}
    # ADI: observed periods over periods with a demand; CV²: sample variance of the sizes over
    # their squared mean.
    sizes = np.array([5.0, 6.0, 5.0])
    assert classes.loc["intermittent", "adi"] == pytest.approx(3.0)
    assert classes.loc["intermittent", "cv2"] == pytest.approx(sizes.var(ddof=1)
                                                               / sizes.mean() ** 2)
    assert classes.loc["smooth", "adi"] == 1.0
    assert classes.loc["none", "adi"] == np.inf and np.isnan(classes.loc["none", "cv2"])
    assert class_counts(classes) == {"smooth": 1, "erratic": 1, "intermittent": 1, "lumpy": 1,
                                     "no demand": 1}


def test_cut_offs_missing_periods_and_returns():
    # The cut-offs belong to the sporadic and varied sides.
    assert list(classify(np.array([1.32, 1.31, 1.0]), np.array([0.1, 0.49, 0.48]))) == [
        "intermittent", "erratic", "smooth"]
    # A missing period is not observed (not a zero); a return is a demand of its size.
    classes = demand_classes(_frame({"gaps": [4.0, np.nan, np.nan, 5.0, 4.0],
                                     "returns": [4.0, -4.0, 5.0, 4.0, 0.0]}))
    assert classes.loc["gaps", "adi"] == 1.0 and classes.loc["gaps", "periods"] == 3
    assert classes.loc["returns", "demands"] == 4
    assert classes.loc["returns", "demand_class"] == "smooth"


def test_the_generated_demand_classes_are_recovered():
    frame = intermittent_demand(n_series=40, n_days=365, seed=1)
    truth = frame.drop_duplicates("unique_id").set_index("unique_id")["kind"]
    found = demand_classes(frame)["demand_class"]
    assert (found == truth.reindex(found.index)).mean() >= 0.9
