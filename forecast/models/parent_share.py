"""Cold start: a young series forecast as its recent share of its parent in the hierarchy.

A store that opened last quarter, a product line launched in spring: the series has too little
history for a season, so every model of the series alone forecasts a level (the seasonal ones
fall back to the last value). Its parent (the region of the store, the category of the line)
has years of history and knows the season that is coming. :class:`ParentShareForecaster`
forecasts each series as ``share x`` its parent's forecast, with ``share`` the series' part of
the parent's sales over its last ``share_window`` observed periods, and at most the latter half
of them (a new store's first weeks are its opening, not its level: Favorita's store 22 sold
50 % more in its second week than in its fifth): the young series inherits
the parent's season and trend at its own scale. The parent's forecast is the ``base`` model's
(default: the seasonal naive with growth, cheap and seasonal from one year of history).

The parents come from the hierarchy (:class:`SeriesParents`, the smallest aggregate that
contains each series); the :class:`~forecast.model_selection.RevenueForecaster` binds them and
uses this candidate, when it is among its candidates, for half the forecast of the series too
young for any backtest fold (the other half: the mean weights the backtest gave the others),
saying so in its notes (cold start). For older series it is a candidate like any other,
weighed on its backtest errors. A series without a parent in the frame (the total, or a child
whose parent sat out a fold) gets the base model's own forecast.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.base import clone

from forecast.errors import ValidationError
from forecast.models.base import Forecaster, future_dates
from forecast.models.baselines import SeasonalGrowthForecaster
from forecast.schemas import DS, UNIQUE_ID, YHAT, H, Y


class SeriesParents:
    """Each series' parent (unique_id -> unique_id), shared as is by copies of a model.

    Args:
        parents: child id -> parent id; series without a parent are left out.
    """

    def __init__(self, parents: dict):
        self.parents = dict(parents)

    @classmethod
    def of(cls, hierarchy) -> SeriesParents:
        """The smallest aggregate containing each series of a
        :class:`~forecast.hierarchy.Hierarchy` (by its summing matrix); the top has none."""
        summing = hierarchy.summing.tocsr().astype(np.int64)
        ids = list(hierarchy.unique_ids)
        sizes = np.asarray(summing.sum(axis=1)).ravel()
        overlap = (summing @ summing.T).tocoo()
        # j contains i when they share all of i's bottom series and j has more of them.
        contains = (overlap.data == sizes[overlap.row]) & (sizes[overlap.col] > sizes[overlap.row])
        rows, cols = overlap.row[contains], overlap.col[contains]
        order = np.lexsort((sizes[cols], rows))  # per child, the smallest container first
        parents = {}
        for child, parent in zip(rows[order], cols[order]):
            parents.setdefault(ids[child], ids[parent])
        return cls(parents)

    def get(self, uid):
        return self.parents.get(uid)

    def __deepcopy__(self, memo) -> SeriesParents:
        return self  # immutable: sklearn's clone shares it

    def __len__(self) -> int:
        return len(self.parents)


class ParentShareForecaster(Forecaster):
    """``share x`` the parent's forecast per series (cold start); see the module doc.

    Args:
        parents: each series' parent; None: every series gets the base model's forecast.
        base: the model that forecasts the parents (and the series without one); default the
            seasonal naive with growth.
        share_window: the series' last observed periods its share is measured on (at most
            half of its observed periods).
        freq: pandas frequency alias; inferred from the frame when None.
    """

    cold_start = True  # the candidate the RevenueForecaster uses for series too young to test

    def __init__(self, parents: SeriesParents | None = None, base: Forecaster | None = None,
                 share_window: int = 8, freq: str | None = None):
        self.parents = parents
        self.base = base
        self.share_window = share_window
        self.freq = freq

    def _fit(self, frame: pd.DataFrame) -> None:
        if int(self.share_window) < 1:
            raise ValidationError(f"share_window must be at least 1, got {self.share_window}")
        base = clone(self.base) if self.base is not None else SeasonalGrowthForecaster()
        self.base_ = base.set_params(freq=self.freq_).fit(frame)
        ids = self.last_ds_.index
        links = pd.DataFrame({UNIQUE_ID: ids, "parent": [
            self.parents.get(uid) if self.parents is not None else None for uid in ids]})
        links = links[links["parent"].isin(ids)]
        self.shares_ = _shares(frame, links, int(self.share_window))

    def _predict(self, h: int, future_exog, levels) -> pd.DataFrame:
        own = self.base_.predict(h, future_exog, levels)
        own[H] = own.groupby(UNIQUE_ID, sort=False).cumcount() + 1
        values = [c for c in own.columns if c == YHAT or c.startswith(f"{YHAT}_")]
        shares = self.shares_
        borrowed = shares.reset_index().merge(
            own.rename(columns={UNIQUE_ID: "parent"}).drop(columns=DS), on="parent")
        borrowed[values] = borrowed[values].mul(borrowed["share"], axis=0)
        dates = future_dates(self.last_ds_.loc[shares.index], h, self.freq_)
        dates[H] = dates.groupby(UNIQUE_ID, sort=False).cumcount() + 1
        borrowed = dates.merge(borrowed[[UNIQUE_ID, H, *values]], on=[UNIQUE_ID, H])
        out = pd.concat([own[~own[UNIQUE_ID].isin(shares.index)], borrowed], ignore_index=True)
        return out.drop(columns=H).sort_values([UNIQUE_ID, DS], kind="stable")


def _shares(frame: pd.DataFrame, links: pd.DataFrame, window: int) -> pd.DataFrame:
    """``share`` and ``parent`` per child (index ``unique_id``): the child's sum over its last
    ``window`` observed periods over its parent's sum on the same dates; children whose parent
    sold nothing then are left out (they keep their own forecast)."""
    observed = frame.loc[frame[UNIQUE_ID].isin(links[UNIQUE_ID]), [UNIQUE_ID, DS, Y]].dropna()
    groups = observed.groupby(UNIQUE_ID, sort=False, observed=True)
    back = groups.cumcount(ascending=False)
    span = groups[DS].transform("size")
    recent = observed[back < np.minimum(window, np.ceil(span / 2))]
    recent = recent.merge(links, on=UNIQUE_ID).merge(
        frame[[UNIQUE_ID, DS, Y]].rename(columns={UNIQUE_ID: "parent", Y: "parent_y"}),
        on=["parent", DS], how="left")
    sums = recent.groupby([UNIQUE_ID, "parent"], observed=True)[[Y, "parent_y"]].sum()
    sums = sums[sums["parent_y"] > 0]
    shares = (sums[Y] / sums["parent_y"]).rename("share").reset_index("parent")
    return shares[np.isfinite(shares["share"])]
