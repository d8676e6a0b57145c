"""Churn metrics against values worked out by hand."""

from __future__ import annotations

import numpy as np
import pytest

from forecast.errors import ValidationError
from forecast.evaluation.classification import (
    classification_metrics,
    expected_calibration_error,
    gains_chart,
    lift_and_capture,
    no_skill_note,
    ranking_skill,
    reliability_curve,
    roc_auc_interval,
)


def test_ece_weights_each_bin_by_its_share():
    # Four bins of one customer: (|0-.1| + |0-.2| + |1-.7| + |1-.9|) / 4 = 0.7 / 4.
    assert expected_calibration_error([0, 0, 1, 1], [0.1, 0.2, 0.7, 0.9]) == pytest.approx(0.175)


def test_ece_two_bins_of_two():
    # Bin [0, .5): mean .25, rate .5; bin [.5, 1]: mean .75, rate .5 -> .5 x .25 + .5 x .25.
    y, p = [0, 1, 0, 1], [0.25, 0.25, 0.75, 0.75]
    assert expected_calibration_error(y, p, n_bins=2) == pytest.approx(0.25)


def test_ece_of_perfect_calibration_is_zero():
    y = [0, 0, 0, 1, 0, 1, 1, 1]
    p = [0.25] * 4 + [0.75] * 4
    assert expected_calibration_error(y, p) == pytest.approx(0.0)


def test_probability_one_falls_in_the_last_bin():
    curve = reliability_curve([1, 1], [1.0, 0.95])
    assert curve["bin_lower"].tolist() == [0.9]
    assert curve["count"].tolist() == [2]


def test_lift_and_capture_top_decile():
    # 20 customers, 4 churners (rate .2); the top 2 are both churners: rate 1 -> lift 5,
    # 2 of 4 churners caught -> capture .5.
    y = np.array([1, 1, 0, 1, 0, 1] + [0] * 14)
    p = np.linspace(0.99, 0.01, 20)
    lift, capture = lift_and_capture(y, p, 0.1)
    assert lift == pytest.approx(5.0)
    assert capture == pytest.approx(0.5)


def test_lift_top_fraction_rounds_up():
    # ceil(.1 x 5) = 1 customer, a churner; base rate 2/5 -> lift 2.5, capture .5.
    lift, capture = lift_and_capture([1, 0, 1, 0, 0], [0.9, 0.8, 0.7, 0.2, 0.1], 0.1)
    assert (lift, capture) == (pytest.approx(2.5), pytest.approx(0.5))


def test_gains_chart_is_cumulative_and_ends_at_everyone():
    y = np.array([1, 1, 0, 1, 0, 1] + [0] * 14)
    p = np.linspace(0.99, 0.01, 20)
    gains = gains_chart(y, p, n_bins=10)
    assert gains["customers"].tolist() == list(range(2, 21, 2))
    assert gains["churners_caught"].tolist() == [2, 3, 4, 4, 4, 4, 4, 4, 4, 4]
    assert gains["capture"].iloc[-1] == pytest.approx(1.0)
    assert gains["lift"].iloc[0] == pytest.approx(5.0)
    assert gains["lift"].iloc[-1] == pytest.approx(1.0)


def test_reliability_curve_rows():
    curve = reliability_curve([0, 1, 0, 1], [0.25, 0.25, 0.75, 0.75], n_bins=2)
    assert curve.columns.tolist() == ["bin_lower", "bin_upper", "proba_mean", "observed_rate",
                                      "count"]
    assert curve["observed_rate"].tolist() == [0.5, 0.5]
    assert curve["proba_mean"].tolist() == [0.25, 0.75]


def test_classification_metrics_by_hand():
    y = [0, 0, 1, 1]
    p = [0.1, 0.2, 0.7, 0.9]
    m = classification_metrics(y, p)
    assert m["roc_auc"] == 1.0
    assert m["pr_auc"] == 1.0
    assert m["brier"] == pytest.approx((0.01 + 0.04 + 0.09 + 0.01) / 4)
    expected_ll = -np.mean(np.log([0.9, 0.8, 0.7, 0.9]))
    assert m["log_loss"] == pytest.approx(expected_ll)
    assert m["ece"] == pytest.approx(0.175)
    assert m["base_rate"] == 0.5
    assert m["lift_top_decile"] == pytest.approx(2.0)
    assert m["capture_top_decile"] == pytest.approx(0.5)


@pytest.mark.parametrize("y, p", [([0, 2], [0.1, 0.2]), ([0, 1], [0.1, 1.2]), ([0, 1], [0.1])])
def test_bad_inputs_are_refused(y, p):
    with pytest.raises(ValidationError):
        classification_metrics(y, p)


def test_churn_charts_are_written_as_png(tmp_path):
    pytest.importorskip("matplotlib")
    from forecast.reports.charts import render_gains_png, render_reliability_png

    rng = np.random.default_rng(0)
    p = rng.uniform(size=200)
    y = (rng.uniform(size=200) < p).astype(int)
    for render, frame in ((render_reliability_png, reliability_curve(y, p)),
                          (render_gains_png, gains_chart(y, p))):
        path = render(frame, tmp_path / f"{render.__name__}.png")
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_roc_auc_interval_by_hand():
    # AUC 0.5 with 50 churners and 50 stayers: Q1 = Q2 = 1/3, so
    # SE^2 = (0.25 + 49 (1/3 - 1/4) + 49 (1/3 - 1/4)) / 2500 = 0.0033667, SE = 0.058023.
    y = np.repeat([0, 1], 50)
    auc, low, high = roc_auc_interval(y, np.full(100, 0.3))
    assert auc == 0.5
    assert (low, high) == pytest.approx((0.5 - 1.959964 * 0.058023, 0.5 + 1.959964 * 0.058023),
                                        abs=1e-5)
    assert roc_auc_interval(y, y * 0.8 + 0.1) == (1.0, 1.0, 1.0)  # perfect: no spread
    assert all(np.isnan(roc_auc_interval(np.zeros(4), np.full(4, 0.2))))
    m = classification_metrics(y, np.full(100, 0.3))
    assert (m["roc_auc_low"], m["roc_auc_high"]) == pytest.approx((low, high))


def test_a_model_that_ranks_no_better_than_chance_is_said_to():
    # Superstore's churn model: held-out ROC-AUC 0.514 on 1,600 rows, interval 0.486-0.542.
    rng = np.random.default_rng(5)
    y = rng.integers(0, 2, 1600)
    noise = rng.uniform(0.45, 0.55, 1600)
    note = no_skill_note(ranking_skill(y, noise))
    assert note is not None and "no better than chance" in note and "1,600 rows" in note
    skilled = np.clip(0.5 + 0.3 * (y - 0.5) + rng.normal(0, 0.15, 1600), 0, 1)
    assert roc_auc_interval(y, skilled)[1] > 0.5
    assert no_skill_note(ranking_skill(y, skilled)) is None
