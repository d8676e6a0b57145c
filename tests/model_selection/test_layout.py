"""The backtest layout fitted to the history: full when it can be, smaller and said so when not,
and explicit settings that cannot be met refused with the numbers."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from forecast.errors import ValidationError
from forecast.model_selection.layout import plan_layout


def test_a_long_history_gets_the_full_layout_without_a_note():
    layout = plan_layout(143, 13, min_history=14)
    assert (layout.h, layout.step, layout.selection_folds, layout.eval_folds) == (13, 13, 3, 3)
    assert layout.note == ""


def test_a_year_of_weekly_history_with_a_quarter_ahead_plan_still_backtests():
    layout = plan_layout(52, 13, min_history=14)
    assert (layout.selection_folds, layout.eval_folds, layout.h) == (1, 1, 13)
    assert "the reported accuracy rests on 1 fold(s) only" in layout.note


def test_too_little_history_means_shorter_folds_then_none():
    short = plan_layout(20, 13, min_history=14)
    assert short.h < 13 and short.eval_folds == 0 and short.selection_folds == 1
    assert "no accuracy is reported" in short.note and "not validated" in short.note
    none = plan_layout(10, 13, min_history=14)
    assert (none.selection_folds, none.eval_folds) == (0, 0)
    assert "equal weights" in none.note


def test_explicit_settings_are_kept_or_refused_with_the_history_and_the_layout():
    assert plan_layout(143, 13, selection_folds=3, eval_folds=3, min_history=14).note == ""
    with pytest.raises(ValidationError, match=r"selection_folds=3, eval_folds=3 needs 92 "
                                              r"periods of history .* has 60"):
        plan_layout(60, 13, selection_folds=3, eval_folds=3, min_history=14)
    with pytest.raises(ValidationError, match="backtest_h=13 needs"):
        plan_layout(20, 13, backtest_h=13, min_history=14)
    # One setting given: the others are fitted around it.
    layout = plan_layout(80, 13, eval_folds=1, min_history=14)
    assert layout.eval_folds == 1 and layout.selection_folds == 3


@given(history=st.integers(0, 400), horizon=st.integers(1, 120),
       min_history=st.integers(2, 30))
def test_a_fitted_layout_always_fits_its_history(history, horizon, min_history):
    layout = plan_layout(history, horizon, min_history=min_history)
    assert layout.needs(min_history) <= history
    assert layout.eval_folds <= 3 and layout.selection_folds <= 3
    assert layout.h <= horizon
    if layout.selection_folds == 0:
        assert layout.eval_folds == 0
