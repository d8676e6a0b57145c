"""Hierarchical forecasting: the aggregation structure of a series frame and reconciliation.

:func:`build_hierarchy` reads the structure (bottom series, aggregates, summing matrix ``S``)
from a stacked series frame and checks that its history adds up; the reconcilers
(:class:`BottomUp`, :class:`OLS`, :class:`WLSVar`, :class:`MinTraceShrink`) make base forecasts
of every series coherent; :func:`coherence_error` measures how far forecasts are from adding
up; and :func:`accuracy_by_grain` compares reconciled with unreconciled accuracy per grain.
"""

from __future__ import annotations

from forecast.hierarchy.accuracy import accuracy_by_grain
from forecast.hierarchy.reconcile import (
    OLS,
    RECONCILERS,
    BottomUp,
    MinTraceShrink,
    Reconciler,
    WLSVar,
    reconciler,
    shrunk_covariance,
)
from forecast.hierarchy.structure import Hierarchy, build_hierarchy, coherence_error

__all__ = [
    "OLS",
    "RECONCILERS",
    "BottomUp",
    "Hierarchy",
    "MinTraceShrink",
    "Reconciler",
    "WLSVar",
    "accuracy_by_grain",
    "build_hierarchy",
    "coherence_error",
    "reconciler",
    "shrunk_covariance",
]
