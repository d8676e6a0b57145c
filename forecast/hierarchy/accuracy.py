"""Accuracy of reconciled forecasts against the unreconciled ones, per grain."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from forecast.errors import ValidationError
from forecast.evaluation.metrics import wape
from forecast.hierarchy.structure import Hierarchy, grain_columns, require_columns
from forecast.schemas import DS, GRAIN, UNIQUE_ID, YHAT, Y

UNRECONCILED = "unreconciled"
RECONCILED = "reconciled"


def _grain_of_series(actuals: pd.DataFrame, hierarchy: Hierarchy | None) -> pd.Series:
    """``unique_id`` -> grain, from the hierarchy or else the actuals' ``grain`` column."""
    if hierarchy is not None:
        return pd.Series(hierarchy.series[GRAIN].to_numpy(), index=hierarchy.unique_ids)
    if GRAIN not in actuals.columns:
        raise ValidationError("accuracy_by_grain: actuals have no 'grain' column; pass the "
                              "series frame as actuals or give hierarchy=")
    return actuals.drop_duplicates(UNIQUE_ID).set_index(UNIQUE_ID)[GRAIN].astype(str)


def accuracy_by_grain(
    actuals: pd.DataFrame, base: pd.DataFrame, reconciled: pd.DataFrame,
    metric: Callable[[np.ndarray, np.ndarray], float] = wape,
    hierarchy: Hierarchy | None = None,
) -> pd.DataFrame:
    """Accuracy of unreconciled and reconciled forecasts per grain, pooled over its series.

    Args:
        actuals: ``unique_id, ds, y`` (and ``grain`` unless ``hierarchy`` is given), e.g. the
            series frame over the forecast periods.
        base: unreconciled forecasts ``unique_id, ds, yhat``.
        reconciled: reconciled forecasts ``unique_id, ds, yhat`` (output of :func:`reconcile`).
        metric: ``metric(y, yhat) -> float`` over all rows of a grain; WAPE by default.
        hierarchy: gives each series' grain and the order of the grains.

    Returns:
        Frame ``grain, unreconciled, reconciled``, one row per grain with actuals, coarsest
        grain first. Only (series, period) pairs present in all three frames count.

    Raises:
        ValidationError: a column is missing, or no forecast has an actual.
    """
    require_columns(actuals, [UNIQUE_ID, DS, Y], "actuals")
    require_columns(base, [UNIQUE_ID, DS, YHAT], "base forecasts")
    require_columns(reconciled, [UNIQUE_ID, DS, YHAT], "reconciled forecasts")
    keys = [UNIQUE_ID, DS]
    merged = (actuals[[*keys, Y]]
              .merge(base[[*keys, YHAT]].rename(columns={YHAT: UNRECONCILED}), on=keys)
              .merge(reconciled[[*keys, YHAT]].rename(columns={YHAT: RECONCILED}), on=keys))
    if merged.empty:
        raise ValidationError("accuracy_by_grain: no (unique_id, ds) is in the actuals and in "
                              "both forecast frames")
    merged[GRAIN] = merged[UNIQUE_ID].map(_grain_of_series(actuals, hierarchy))
    rows = [
        {GRAIN: grain,
         UNRECONCILED: metric(group[Y].to_numpy(float), group[UNRECONCILED].to_numpy(float)),
         RECONCILED: metric(group[Y].to_numpy(float), group[RECONCILED].to_numpy(float))}
        for grain, group in merged.groupby(GRAIN, sort=False)
    ]
    order = list(hierarchy.grains) if hierarchy is not None else []
    table = pd.DataFrame(rows, columns=[GRAIN, UNRECONCILED, RECONCILED])
    rank = table[GRAIN].map(lambda g: order.index(g) if g in order else len(grain_columns(g)))
    return table.iloc[np.argsort(rank.to_numpy(), kind="stable")].reset_index(drop=True)
