"""Model selection above the estimators, evaluation and hierarchy (as scikit-learn keeps
``model_selection`` above its estimators): candidate weights chosen on backtests
(``weights``), the nested out-of-sample evaluation of a choice (``selection``), fixed-weight
combinations (``combination``) and the production :class:`RevenueForecaster` (``revenue``).
"""

from __future__ import annotations

from forecast.model_selection.combination import CombinationForecaster
from forecast.model_selection.revenue import CrossValidation, RevenueForecaster

__all__ = ["CombinationForecaster", "CrossValidation", "RevenueForecaster"]
