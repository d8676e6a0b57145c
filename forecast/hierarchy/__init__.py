"""Hierarchical forecasting: the aggregation structure of a series frame and reconciliation.

:func:`build_hierarchy` reads the structure (bottom series, aggregates, summing matrix ``S``)
from a stacked series frame and checks that its history adds up; :func:`reconcile` makes base
forecasts of every series coherent (bottom-up, OLS or MinT with shrinkage);
:func:`coherence_error` measures how far forecasts are from adding up; and
:func:`accuracy_by_level` compares reconciled with unreconciled accuracy per grain.
"""

from __future__ import annotations

from forecast.hierarchy.accuracy import accuracy_by_level
from forecast.hierarchy.reconcile import METHODS, ReconcileMethod, reconcile, shrunk_covariance
from forecast.hierarchy.structure import Hierarchy, build_hierarchy, coherence_error

__all__ = [
    "METHODS",
    "Hierarchy",
    "ReconcileMethod",
    "accuracy_by_level",
    "build_hierarchy",
    "coherence_error",
    "reconcile",
    "shrunk_covariance",
]
