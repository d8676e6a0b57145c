"""Demand classes of series after Syntetos and Boylan: smooth, intermittent, erratic, lumpy.

Two numbers describe how a series sells (Syntetos, Boylan & Croston 2005, "On the
categorization of demand patterns", JORS 56):

- ADI, the average interval between demands: the observed periods divided by the periods with a
  demand (a non-zero ``y``); 1 when every period sells, 3 when one in three does. Missing
  periods (``y`` NaN: not observed) do not count; zeros after the last sale do, so a product
  that stopped reads as more intermittent.
- CV², the squared coefficient of variation of the demand sizes: the variance of the non-zero
  ``|y|`` (with ``n - 1``, as R's ``sd`` in tsintermittent) over their squared mean; 0 with a
  single demand.

With the cut-offs ADI 1.32 and CV² 0.49 a series is ``smooth`` (regular, steady sizes),
``erratic`` (regular, varied sizes), ``intermittent`` (sporadic, steady sizes) or ``lumpy``
(sporadic, varied sizes); a series without any demand is ``no demand``. Syntetos, Boylan &
Croston find Croston's method with their bias correction (SBA) best in every class but smooth.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from forecast.errors import ValidationError
from forecast.schemas import DS, UNIQUE_ID, Y

ADI_CUTOFF = 1.32
CV2_CUTOFF = 0.49
SMOOTH, ERRATIC, INTERMITTENT, LUMPY = "smooth", "erratic", "intermittent", "lumpy"
NO_DEMAND = "no demand"
DEMAND_CLASS = "demand_class"


def demand_classes(frame: pd.DataFrame) -> pd.DataFrame:
    """ADI, CV² and demand class of every series of a long frame.

    Args:
        frame: ``unique_id, y`` (+ any other columns); rows with ``y`` missing are not observed.

    Returns:
        Frame indexed by ``unique_id`` (sorted) with ``periods`` (observed), ``demands``
        (non-zero periods), ``adi`` (inf without a demand), ``cv2`` (NaN without a demand) and
        ``demand_class``.
    """
    missing = [c for c in (UNIQUE_ID, Y) if c not in frame.columns]
    if missing:
        raise ValidationError(f"series frame: missing column(s) {missing}")
    y = frame[Y].to_numpy(float)
    observed = ~np.isnan(y)
    size = np.where(observed, np.abs(y), 0.0)
    demand = size > 0
    parts = pd.DataFrame({"periods": observed, "demands": demand, "_s": size,
                          "_s2": size**2}, index=frame.index)
    sums = parts.groupby(frame[UNIQUE_ID], sort=True, observed=True).sum()
    sums.index.name = UNIQUE_ID
    periods = sums["periods"].to_numpy(float)
    demands = sums["demands"].to_numpy(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        adi = np.where(demands > 0, periods / demands, np.inf)
        mean = sums["_s"].to_numpy() / demands
        variance = (sums["_s2"].to_numpy() - demands * mean**2) / (demands - 1)
        cv2 = np.where(demands > 1, np.maximum(variance, 0.0) / mean**2, 0.0)
    cv2 = np.where(demands > 0, cv2, np.nan)
    out = pd.DataFrame({"periods": periods.astype(int), "demands": demands.astype(int),
                        "adi": adi, "cv2": cv2}, index=sums.index)
    out[DEMAND_CLASS] = classify(adi, cv2)
    return out


def classify(adi: np.ndarray, cv2: np.ndarray) -> np.ndarray:
    """The demand class of each (ADI, CV²) pair; ``no demand`` where ADI is infinite."""
    adi, cv2 = np.asarray(adi, float), np.asarray(cv2, float)
    sporadic, varied = adi >= ADI_CUTOFF, cv2 >= CV2_CUTOFF
    label = np.select([sporadic & varied, sporadic, varied], [LUMPY, INTERMITTENT, ERRATIC],
                      default=SMOOTH).astype(object)
    label[~np.isfinite(adi)] = NO_DEMAND
    return label


def class_counts(classes: pd.DataFrame | pd.Series) -> dict[str, int]:
    """Series per demand class, in the order smooth, erratic, intermittent, lumpy, no demand
    (classes without a series left out)."""
    labels = classes[DEMAND_CLASS] if isinstance(classes, pd.DataFrame) else classes
    counts = labels.value_counts()
    return {name: int(counts[name]) for name in (SMOOTH, ERRATIC, INTERMITTENT, LUMPY, NO_DEMAND)
            if name in counts.index}


def stopped_series(frame: pd.DataFrame, freq: str, chance: float = 0.01) -> frozenset:
    """Series whose sales stopped before the last period of ``frame``.

    A series has stopped when it has been quiet (no sale, or no row) since its last sale for
    longer than any quiet spell between two of its sales, and so long that a series selling as
    often as it did would almost surely have sold: ``(1 - p) ** quiet < chance``, where ``p``
    is its share of periods with a sale from its first row to its last sale, shrunk toward
    one half by counting one more period (a single sale says little). A store that sold every
    week and then nothing for 20 weeks has stopped; a seasonal product quiet through its
    off-season has been as quiet before and has not; a lumpy series with a sale in one week of
    ten needs 44 quiet weeks. (Series quiet through every fold of the selection window are
    found by ``forecast.model_selection.selection.discontinued_series``.)
    """
    grid = pd.date_range(frame[DS].min(), frame[DS].max(), freq=freq)
    if len(grid) < 2:
        return frozenset()
    codes, ids = pd.factorize(frame[UNIQUE_ID])
    pos = grid.searchsorted(pd.to_datetime(frame[DS]).to_numpy())
    first = np.full(len(ids), len(grid), dtype=np.int64)
    np.minimum.at(first, codes, pos)
    # The periods with a sale, sorted by series and period, each once.
    sold = np.abs(frame[Y].to_numpy(dtype=float)) > 0
    series, spot = codes[sold], pos[sold]
    order = np.lexsort((spot, series))
    series, spot = series[order], spot[order]
    new = np.ones(len(series), bool)
    new[1:] = (series[1:] != series[:-1]) | (spot[1:] != spot[:-1])
    series, spot = series[new], spot[new]
    if not len(series):
        return frozenset()
    same = np.zeros(len(series), bool)
    same[1:] = series[1:] == series[:-1]
    gap = np.where(same, spot - np.roll(spot, 1) - 1, 0)
    starts = np.flatnonzero(~same)
    ends = np.append(starts[1:], len(series)) - 1
    code = series[starts]
    last, sales = spot[ends], ends - starts + 1
    longest = np.maximum.reduceat(gap, starts)
    quiet = len(grid) - 1 - last
    share = sales / (last - first[code] + 2)
    stopped = (quiet > longest) & ((1 - share) ** quiet < chance)
    return frozenset(ids[code[stopped]])
