"""The aggregation structure of a stacked series frame: bottom series, aggregates, summing matrix.

A series frame (:func:`forecast.features.series.build_series_sql`) stacks every configured
grain: ``total``, ``region``, ``region/channel``, ... . The finest grain holds the *bottom*
series; every other series is an *aggregate*, the sum of the bottom series that share its key
values. The summing matrix ``S`` (all series x bottom series, 0/1) states that: a coherent set
of values ``y`` (one per series) is ``S @ b`` for the bottom values ``b``.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
import pandas as pd
from scipy import sparse

from forecast.errors import ValidationError
from forecast.schemas import DS, GRAIN, NULL_KEY, TOTAL, UNIQUE_ID, YHAT, Y

RELATIVE_TOLERANCE = 1e-6
_KEY_SEPARATOR = "\x1f"


@dataclass(frozen=True, eq=False)
class Hierarchy:
    """The aggregation structure of a set of series.

    Attributes:
        grains: grain labels from the coarsest to the bottom one, e.g.
            ``("total", "region", "region/channel")``.
        keys: key columns of the bottom grain, in the order of its label.
        series: one row per series, ``unique_id, grain`` and the key columns (missing where
            not in the grain); aggregates first (coarsest grain first, then by ``unique_id``),
            then the bottom series by ``unique_id``. This is the row order of ``summing``.
        summing: ``S``, sparse CSR (n_series x n_bottom) of 0/1: row ``i`` marks the bottom
            series that add up to series ``i``; its last ``n_bottom`` rows are the identity.
    """

    grains: tuple[str, ...]
    keys: tuple[str, ...]
    series: pd.DataFrame
    summing: sparse.csr_matrix

    @property
    def unique_ids(self) -> pd.Index:
        """Every series, in the row order of ``summing``."""
        return pd.Index(self.series[UNIQUE_ID].to_numpy(), name=UNIQUE_ID)

    @property
    def n_bottom(self) -> int:
        return self.summing.shape[1]

    @property
    def n_aggregates(self) -> int:
        return self.summing.shape[0] - self.n_bottom

    @property
    def bottom_ids(self) -> pd.Index:
        return self.unique_ids[self.n_aggregates:]

    @property
    def aggregate_ids(self) -> pd.Index:
        return self.unique_ids[: self.n_aggregates]

    @property
    def aggregation(self) -> sparse.csr_matrix:
        """The aggregate rows of ``S`` (n_aggregates x n_bottom)."""
        return self.summing[: self.n_aggregates]

    def restrict(self, ids) -> Hierarchy:
        """The hierarchy of a subset of its series, e.g. those a backtest fold could forecast.

        A bottom series left out (a store not yet open at the fold's origin) adds nothing to
        its aggregates there, so they are the sums of the bottom series kept.

        Raises:
            ValidationError: an id is not a series of the hierarchy, or a kept aggregate has no
                kept bottom series.
        """
        wanted = set(ids)
        unknown = wanted - set(self.unique_ids)
        if unknown:
            raise ValidationError(f"series {sorted(unknown)[:3]} are not in the hierarchy")
        keep = self.unique_ids.isin(wanted)
        bottom = keep[self.n_aggregates:]
        summing = self.summing[keep][:, bottom]
        empty = np.flatnonzero(np.asarray(summing.sum(axis=1)).ravel() == 0)
        if len(empty):
            name = self.unique_ids[keep][empty[0]]
            raise ValidationError(f"series {name!r} has none of its bottom series in the subset")
        return Hierarchy(grains=self.grains, keys=self.keys,
                         series=self.series[keep].reset_index(drop=True),
                         summing=sparse.csr_matrix(summing))


class SeriesMatrix(NamedTuple):
    """A long frame's column as a (series x period) matrix, and where each frame row went."""

    values: np.ndarray
    periods: pd.Index
    rows: np.ndarray
    columns: np.ndarray
    observed: np.ndarray


def grain_columns(grain: str) -> tuple[str, ...]:
    """Key columns of a grain label: ``"region/channel"`` -> ``("region", "channel")``."""
    return () if grain == TOTAL else tuple(grain.split("/"))


def require_columns(frame: pd.DataFrame, columns: list[str], what: str) -> None:
    """Raise ValidationError naming the columns of ``columns`` that ``frame`` lacks."""
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValidationError(f"{what}: missing column(s) {missing}; it has {list(frame.columns)}")


def _ordered_grains(frame: pd.DataFrame) -> list[tuple[str, tuple[str, ...]]]:
    """Grains from coarsest to finest, each a subset of the next; ValidationError otherwise."""
    grains = sorted(((g, grain_columns(g)) for g in pd.unique(frame[GRAIN].astype(str))),
                    key=lambda item: len(item[1]))
    for (coarse, coarse_cols), (fine, fine_cols) in itertools.pairwise(grains):
        if len(coarse_cols) == len(fine_cols) or not set(coarse_cols) <= set(fine_cols):
            raise ValidationError(
                f"grains {coarse!r} and {fine!r} do not nest: each grain's keys must be a "
                f"subset of the next finer grain's keys (grains: {[g for g, _ in grains]})")
    require_columns(frame, list(grains[-1][1]), "series frame (key columns of the grains)")
    return grains


def _series_table(frame: pd.DataFrame, grains: list[tuple[str, tuple[str, ...]]]) -> pd.DataFrame:
    """One row per series, ordered by grain rank then ``unique_id``."""
    per_id = frame.groupby(UNIQUE_ID, sort=False)[GRAIN].nunique()
    if (per_id > 1).any():
        bad = per_id.index[per_id > 1][0]
        raise ValidationError(f"series {bad!r} appears in more than one grain; "
                              "unique_id must identify one series")
    rank = {g: i for i, (g, _) in enumerate(grains)}
    table = frame.drop_duplicates(UNIQUE_ID)[[UNIQUE_ID, GRAIN, *grains[-1][1]]].copy()
    table[GRAIN] = table[GRAIN].astype(str)
    table["_rank"] = table[GRAIN].map(rank)
    table = table.sort_values(["_rank", UNIQUE_ID], kind="stable")
    return table.drop(columns="_rank").reset_index(drop=True)


def _keys(table: pd.DataFrame, columns: tuple[str, ...]) -> pd.Index:
    """One string per row joining its values of ``columns`` (missing as ``(none)``)."""
    if not columns:
        return pd.Index(np.full(len(table), "", dtype=object))
    parts = [table[c].astype(object).where(table[c].notna(), NULL_KEY).astype(str).to_numpy()
             for c in columns]
    joined = parts[0].astype(object)
    for part in parts[1:]:
        joined = joined + _KEY_SEPARATOR + part
    return pd.Index(joined)


def _summing_matrix(table: pd.DataFrame, grains: list) -> sparse.csr_matrix:
    """S from the series table: each bottom series is matched to its parent in every grain."""
    bottom_grain = grains[-1][0]
    bottom = table[table[GRAIN] == bottom_grain]
    n_bottom, n_aggregates = len(bottom), len(table) - len(bottom)
    rows, offset = [], 0
    for grain, columns in grains[:-1]:
        aggregates = table[table[GRAIN] == grain]
        keys = _keys(aggregates, columns)
        if keys.has_duplicates:
            raise ValidationError(f"grain {grain!r}: two series share the key values "
                                  f"{keys[keys.duplicated()][0]!r}")
        parent = keys.get_indexer(_keys(bottom, columns))
        if (parent < 0).any():
            orphan = bottom[UNIQUE_ID].iloc[int(np.argmax(parent < 0))]
            raise ValidationError(f"bottom series {orphan!r} has no aggregate in grain {grain!r}")
        childless = np.setdiff1d(np.arange(len(aggregates)), parent)
        if len(childless):
            raise ValidationError(f"aggregate series {aggregates[UNIQUE_ID].iloc[childless[0]]!r}"
                                  f" (grain {grain!r}) has no bottom series ({bottom_grain!r})")
        rows.append(parent + offset)
        offset += len(aggregates)
    rows.append(np.arange(n_aggregates, n_aggregates + n_bottom))
    row = np.concatenate(rows)
    column = np.tile(np.arange(n_bottom), len(grains))
    shape = (n_aggregates + n_bottom, n_bottom)
    return sparse.csr_matrix((np.ones(len(row)), (row, column)), shape=shape)


def series_matrix(
    frame: pd.DataFrame, hierarchy: Hierarchy, column: str, what: str, complete: bool
) -> SeriesMatrix:
    """A long frame's ``column`` as a (series x period) matrix in the hierarchy's row order.

    Args:
        frame: long frame with ``unique_id, ds`` and ``column``, one row per series and period.
        hierarchy: gives the series and their order.
        column: the value column.
        what: name of the frame, for error messages.
        complete: every series must have a row in every period; else missing cells are 0.

    Raises:
        ValidationError: unknown series, duplicate rows, missing values, or (``complete``) a
            series without a row in some period.
    """
    require_columns(frame, [UNIQUE_ID, DS, column], what)
    rows = hierarchy.unique_ids.get_indexer(frame[UNIQUE_ID])
    if (rows < 0).any():
        unknown = frame[UNIQUE_ID].to_numpy()[rows < 0]
        raise ValidationError(f"{what}: series {unknown[0]!r} is not in the hierarchy "
                              f"({len(pd.unique(unknown))} unknown series)")
    periods = pd.Index(pd.unique(frame[DS])).sort_values()
    columns = periods.get_indexer(frame[DS])
    cell = rows * len(periods) + columns
    if pd.Series(cell).duplicated().any():
        first = int(np.argmax(pd.Series(cell).duplicated().to_numpy()))
        raise ValidationError(f"{what}: more than one row for series "
                              f"{frame[UNIQUE_ID].iloc[first]!r} at {frame[DS].iloc[first]}")
    values = frame[column].to_numpy(dtype=float, na_value=np.nan)
    if np.isnan(values).any():
        first = int(np.argmax(np.isnan(values)))
        raise ValidationError(f"{what}: {column} is missing for series "
                              f"{frame[UNIQUE_ID].iloc[first]!r} at {frame[DS].iloc[first]}")
    matrix = np.zeros((len(hierarchy.unique_ids), len(periods)))
    observed = np.zeros(matrix.shape, dtype=bool)
    matrix[rows, columns], observed[rows, columns] = values, True
    if complete and not observed.all():
        i, t = np.argwhere(~observed)[0]
        raise ValidationError(f"{what}: no row for series {hierarchy.unique_ids[i]!r} at "
                              f"{periods[t]}; every series needs a value in every period")
    return SeriesMatrix(matrix, periods, rows, columns, observed)


def relative_gaps(values: np.ndarray, hierarchy: Hierarchy) -> tuple[np.ndarray, np.ndarray]:
    """|aggregate - sum of its bottom series| / max(|aggregate|, sum of |bottom series|).

    Args:
        values: (n_series x n_periods) in the hierarchy's row order.
        hierarchy: the structure.

    Returns:
        The gaps (n_aggregates x n_periods, each in [0, 2], 0 where all values are 0) and the
        bottom sums of every aggregate.
    """
    aggregates, bottom = values[: hierarchy.n_aggregates], values[hierarchy.n_aggregates:]
    sums = np.asarray(hierarchy.aggregation @ bottom)
    scale = np.maximum(np.abs(aggregates), np.asarray(hierarchy.aggregation @ np.abs(bottom)))
    gap = np.abs(aggregates - sums)
    return np.divide(gap, scale, out=np.zeros_like(gap), where=scale > 0), sums


def _check_history(frame: pd.DataFrame, hierarchy: Hierarchy) -> None:
    """Every aggregate equals the sum of its bottom series in every period of the history.

    An unobserved value (y missing: a closed store day) counts as 0, like a missing row.
    """
    history = series_matrix(frame.dropna(subset=[Y]), hierarchy, Y, "series frame",
                            complete=False)
    gaps, sums = relative_gaps(history.values, hierarchy)
    if (gaps > RELATIVE_TOLERANCE).any():
        i, t = np.argwhere(gaps > RELATIVE_TOLERANCE)[0]
        series = hierarchy.series.iloc[i]
        raise ValidationError(
            f"series {series[UNIQUE_ID]!r} (grain {series[GRAIN]!r}) at {history.periods[t]}: "
            f"y is {history.values[i, t]:.6g} but its bottom series sum to {sums[i, t]:.6g} "
            f"(relative difference {gaps[i, t]:.2g} > {RELATIVE_TOLERANCE:g}); every aggregate "
            "must equal the sum of its bottom series")


def build_hierarchy(frame: pd.DataFrame) -> Hierarchy:
    """Derive the aggregation structure of a stacked series frame, and check its history adds up.

    Args:
        frame: long series frame, one row per series and period: ``unique_id, ds, y, grain``
            (``total`` or key columns joined by ``/``) and the key columns of the grains
            (values may be missing outside the series' grain). Other columns are ignored. A
            series without a row in some period counts as 0 there.

    Returns:
        The :class:`Hierarchy`: bottom series (finest grain), aggregates and summing matrix.

    Raises:
        ValidationError: a column is missing; the grains do not nest (each grain's keys must
            be a subset of the next finer grain's); a series has no parent or no children; or
            an aggregate differs from the sum of its bottom series by more than 1e-6 relative
            (the message names the first such series and period).
    """
    require_columns(frame, [UNIQUE_ID, DS, Y, GRAIN], "series frame")
    if frame.empty:
        raise ValidationError("series frame: no rows")
    grains = _ordered_grains(frame)
    table = _series_table(frame, grains)
    hierarchy = Hierarchy(
        grains=tuple(g for g, _ in grains), keys=grains[-1][1], series=table,
        summing=_summing_matrix(table, grains))
    _check_history(frame, hierarchy)
    return hierarchy


def coherence_error(
    forecasts: pd.DataFrame, hierarchy: Hierarchy, column: str = YHAT
) -> float:
    """Largest relative difference between an aggregate and the sum of its bottom series.

    The relative difference is |parent - sum| / max(|parent|, sum of |bottom series|), so it
    lies in [0, 2]; coherent forecasts score 0 up to rounding. Comparing with the bottom series
    rather than the immediate children is equivalent for coherence (the grains nest).

    Args:
        forecasts: long frame ``unique_id, ds`` and ``column`` for every series and period.
        hierarchy: the structure.
        column: the value column, ``yhat`` by default (``y`` for a history).

    Raises:
        ValidationError: see :func:`series_matrix` (``complete=True``).
    """
    matrix = series_matrix(forecasts, hierarchy, column, "forecasts", complete=True)
    if hierarchy.n_aggregates == 0:
        return 0.0
    gaps, _ = relative_gaps(matrix.values, hierarchy)
    return float(gaps.max(initial=0.0))
