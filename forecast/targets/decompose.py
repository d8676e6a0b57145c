"""Split a target down a hierarchy and across time so that the pieces add up to the cent.

All amounts here are whole cents (``int64``). A parent's amount is shared among its children
in proportion to weights with the largest-remainder method: each child gets the floor of its
exact share, and the cents left over go one each to the children with the largest remainders
(the earlier child on a tie). A unit's months (or weeks) and its children must agree both ways
- each child's months add up to the child's target, and the children add up to the parent in
every month - so a children x months table is rounded to both margins at once
(:func:`round_to_margins`): its exact values are fitted to the margins by iterative
proportional fitting, floored, and the missing cents are placed one per cell on the cells with
the largest fractional parts that a row and a column both still need (a flow problem, which
always has an answer when the margins are consistent).
"""

from __future__ import annotations

from collections import deque

import numpy as np
import pandas as pd

from forecast.errors import ValidationError

_IPF_ITERATIONS = 500
# Cents. Below a cent the floors cannot overshoot a margin; the relative part is the rounding
# noise of float sums of large tables (about 2e-3 cents for a 36-billion-yuan total).
_IPF_TOLERANCE = 1e-3
_IPF_RELATIVE_TOLERANCE = 1e-14


def to_cents(amount: float) -> int:
    """An amount of money in whole cents (half a cent rounds away from zero)."""
    value = float(amount)
    if not np.isfinite(value):
        raise ValidationError(f"cannot set a target of {value}: not a finite amount")
    return int(np.sign(value) * np.floor(abs(value) * 100 + 0.5))


def split_cents(total: int, weights: np.ndarray | list[float]) -> np.ndarray:
    """Share ``total`` cents in proportion to ``weights`` with the largest-remainder method.

    Negative or missing weights count as zero; when every weight is zero the split is equal.

    Returns:
        Integer cents, one per weight, that add up to ``total`` exactly.
    """
    w = np.nan_to_num(np.asarray(weights, dtype=float), nan=0.0).clip(min=0.0)
    if len(w) == 0:
        raise ValidationError("cannot split a target among no units")
    if w.sum() <= 0:
        w = np.ones(len(w))
    exact = int(total) * (w / w.sum())
    cents = np.floor(exact).astype(np.int64)
    left = int(total) - int(cents.sum())
    order = np.argsort(-(exact - cents), kind="stable")
    cents[order[:left]] += 1
    return cents


def round_to_margins(values: np.ndarray, rows: np.ndarray, columns: np.ndarray) -> np.ndarray:
    """Whole cents close to ``values`` whose rows add up to ``rows`` and columns to ``columns``.

    Args:
        values: non-negative exact amounts in cents, shape (rows, columns); they need not match
            the margins exactly (they are fitted to them first).
        rows: integer row totals.
        columns: integer column totals with the same grand total.

    Returns:
        An ``int64`` matrix with exactly those margins; each cell is the floor or the ceiling
        of the fitted value.

    Raises:
        ValidationError: the margins' grand totals differ, or a margin is negative.
    """
    rows = np.asarray(rows, dtype=np.int64)
    columns = np.asarray(columns, dtype=np.int64)
    if rows.sum() != columns.sum():
        raise ValidationError(f"row totals ({rows.sum()}) and column totals ({columns.sum()}) "
                              "of a target table differ")
    if (rows < 0).any() or (columns < 0).any():
        raise ValidationError("targets to split must not be negative")
    fitted = _fit_margins(np.asarray(values, dtype=float), rows, columns)
    cells = np.floor(fitted + 1e-9).astype(np.int64)
    need_row = rows - cells.sum(axis=1)
    need_column = columns - cells.sum(axis=0)
    fraction = fitted - cells
    for allowed in (fraction > 1e-9, fitted > 0, np.ones_like(fitted, dtype=bool)):
        extra = _place_cents(fraction, allowed, need_row.clip(min=0), need_column.clip(min=0))
        if extra is not None:
            break
    else:  # pragma: no cover - a consistent table always has an answer
        raise ValidationError("could not round a target table to its totals")
    result = cells + extra
    if (result.sum(axis=1) != rows).any() or (result.sum(axis=0) != columns).any():
        raise ValidationError("could not round a target table to its totals")
    return result


def _fit_margins(values: np.ndarray, rows: np.ndarray, columns: np.ndarray) -> np.ndarray:
    """Iterative proportional fitting of ``values`` to the margins (falls back to the outer
    product of the margins when the zeros of ``values`` make them unreachable)."""
    total = float(rows.sum())
    if total == 0:
        return np.zeros(values.shape)
    # Floats: an outer product of int64 cents overflows past about 3e9 cents per margin.
    independent = np.outer(rows.astype(float), columns.astype(float)) / total
    tolerance = min(0.5, max(_IPF_TOLERANCE, total * _IPF_RELATIVE_TOLERANCE))
    fitted = np.where(np.isfinite(values), values.clip(min=0.0), 0.0)
    fitted = np.where(fitted.sum(axis=1, keepdims=True) > 0, fitted, independent)
    fitted = np.where(fitted.sum(axis=0, keepdims=True) > 0, fitted, independent)
    for _ in range(_IPF_ITERATIONS):
        row_sums = fitted.sum(axis=1)
        fitted *= np.divide(rows, row_sums, out=np.zeros(len(rows)), where=row_sums > 0)[:, None]
        column_sums = fitted.sum(axis=0)
        fitted *= np.divide(columns, column_sums, out=np.zeros(len(columns)),
                            where=column_sums > 0)[None, :]
        if np.abs(fitted.sum(axis=1) - rows).max() <= tolerance:
            return fitted
    return independent


def _place_cents(fraction: np.ndarray, allowed: np.ndarray, need_row: np.ndarray,
                 need_column: np.ndarray) -> np.ndarray | None:
    """A 0/1 matrix on ``allowed`` cells with the needed row and column counts, or None.

    Cells are taken greedily by largest fraction, then augmenting paths (max flow on the
    bipartite rows-columns graph) move cents until every row has what it needs.
    """
    extra = np.zeros(fraction.shape, dtype=np.int64)
    row_left, column_left = need_row.copy(), need_column.copy()
    for flat in np.argsort(-np.where(allowed, fraction, -1.0), axis=None, kind="stable"):
        i, j = divmod(int(flat), fraction.shape[1])
        if allowed[i, j] and row_left[i] > 0 and column_left[j] > 0:
            extra[i, j], row_left[i], column_left[j] = 1, row_left[i] - 1, column_left[j] - 1
    while row_left.sum() > 0:
        if not _augment(extra, allowed, row_left, column_left):
            return None
    return extra


def _augment(extra: np.ndarray, allowed: np.ndarray, row_left: np.ndarray,
             column_left: np.ndarray) -> bool:
    """Find one path from a row that needs a cent to a column that needs one; apply it."""
    n_rows = extra.shape[0]
    came_from: dict[int, int | None] = {}
    queue: deque[int] = deque()
    for i in np.flatnonzero(row_left > 0):
        came_from[int(i)] = None
        queue.append(int(i))
    while queue:
        node = queue.popleft()
        if node < n_rows:  # a row: go to a column through a free allowed cell
            for j in np.flatnonzero(allowed[node] & (extra[node] == 0)):
                column = n_rows + int(j)
                if column not in came_from:
                    came_from[column] = node
                    if column_left[j] > 0:
                        _apply_path(extra, came_from, column, row_left, column_left)
                        return True
                    queue.append(column)
        else:  # a column: go back to a row through a cell that holds a cent
            for i in np.flatnonzero(extra[:, node - n_rows] == 1):
                if int(i) not in came_from:
                    came_from[int(i)] = node
                    queue.append(int(i))
    return False


def _apply_path(extra: np.ndarray, came_from: dict[int, int | None], end: int,
                row_left: np.ndarray, column_left: np.ndarray) -> None:
    n_rows = extra.shape[0]
    column_left[end - n_rows] -= 1
    node = end
    while came_from[node] is not None:
        previous = came_from[node]
        if node >= n_rows:
            extra[previous, node - n_rows] = 1
        else:
            extra[node, previous - n_rows] = 0
        node = previous
    row_left[node] -= 1


def decompose_tree(
    units: pd.DataFrame, top: np.ndarray, weights: pd.Series, shapes: pd.DataFrame,
    totals: pd.Series | None = None,
) -> dict[str, np.ndarray]:
    """Split the root's cents per column down the tree of units.

    Each parent's total is shared among its children by ``weights`` (largest remainder); each
    child's share is spread over the columns by its own ``shapes`` row, and the children x
    columns table is rounded so that it adds up to the child totals and to the parent's columns.

    Args:
        units: ``unit_id, parent_id, depth``; the one unit of depth 0 is the root.
        top: the root's cents per column (months of a period, or week pieces of a month).
        weights: weight of each unit among its siblings, indexed by ``unit_id``.
        shapes: non-negative weights per column, indexed by ``unit_id``; a row of zeros takes
            its parent's shape.
        totals: each unit's total cents when already decided (a unit's month, split into
            weeks), indexed by ``unit_id``; then ``weights`` is not used.

    Returns:
        ``unit_id`` -> int64 cents per column.
    """
    root = units.loc[units["depth"] == 0, "unit_id"]
    if len(root) != 1:
        raise ValidationError("a target tree needs exactly one top unit")
    cents = {str(root.iloc[0]): np.asarray(top, dtype=np.int64)}
    for depth in sorted(units["depth"].unique())[1:]:
        at_depth = units[units["depth"] == depth]
        for parent, children in at_depth.groupby("parent_id", sort=False):
            if parent not in cents:
                raise ValidationError(f"unit {children['unit_id'].iloc[0]!r} has no parent "
                                      f"{parent!r} among the units above it")
            ids = children["unit_id"].astype(str).tolist()
            fixed = None if totals is None else totals.reindex(ids).to_numpy(dtype=np.int64)
            split = split_children(cents[parent], weights.reindex(ids).to_numpy(),
                                   shapes.reindex(ids).to_numpy(), fixed)
            cents.update(zip(ids, split, strict=True))
    return cents


def split_children(parent: np.ndarray, weights: np.ndarray, shapes: np.ndarray,
                   totals: np.ndarray | None = None) -> np.ndarray:
    """Children x columns cents adding up to ``parent`` per column.

    Args:
        parent: the parent's cents per column.
        weights: the children's weights (used when ``totals`` is not given).
        shapes: children x columns non-negative weights; a row without weight takes the
            parent's shape.
        totals: the children's totals in cents, when already decided.
    """
    parent = np.asarray(parent, dtype=np.int64)
    if totals is None:
        totals = split_cents(int(parent.sum()), weights)
    shapes = np.nan_to_num(np.asarray(shapes, dtype=float), nan=0.0).clip(min=0.0)
    own = shapes.sum(axis=1, keepdims=True)
    fallback = parent.clip(min=0) if parent.clip(min=0).sum() > 0 else np.ones(len(parent))
    shape = np.where(own > 0, shapes / np.where(own > 0, own, 1.0),
                     fallback / fallback.sum())
    return round_to_margins(totals[:, None] * shape, totals, parent)
