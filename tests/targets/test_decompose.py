"""Largest-remainder splits and two-way rounding: the pieces add up to the cent."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from forecast.errors import ValidationError
from forecast.targets.decompose import (
    _place_cents,
    decompose_tree,
    round_to_margins,
    split_cents,
    to_cents,
)


def test_to_cents_rounds_half_a_cent_away_from_zero():
    assert to_cents(1025.334710) == 102533
    assert to_cents(0.005) == 1
    assert to_cents(-0.005) == -1
    with pytest.raises(ValidationError, match="not a finite amount"):
        to_cents(float("nan"))


def test_split_cents_by_largest_remainder():
    # 100 / 3 = 33.33 each: the cent left goes to the first of the tied remainders.
    assert split_cents(100, [1, 1, 1]).tolist() == [34, 33, 33]
    # 1001 x 1/3 = 333.67 and x 2/3 = 667.33: floors 333 + 667 = 1000, the cent to .67.
    assert split_cents(1001, [1, 2]).tolist() == [334, 667]
    assert split_cents(1000, [0.5, 0.3, 0.2]).tolist() == [500, 300, 200]
    # 12345 x (.5, .3, .2) = 6172.5, 3703.5, 2469: floors leave one cent; .5 tie -> first.
    assert split_cents(12345, [0.5, 0.3, 0.2]).tolist() == [6173, 3703, 2469]


def test_split_cents_ignores_negative_weights_and_splits_equally_without_any():
    assert split_cents(10, [-5, 1]).tolist() == [0, 10]
    assert split_cents(10, [0, float("nan")]).tolist() == [5, 5]
    with pytest.raises(ValidationError, match="no units"):
        split_cents(10, [])


def test_split_cents_always_adds_up_and_stays_within_a_cent_of_the_exact_share():
    rng = np.random.default_rng(7)
    for _ in range(500):
        total = int(rng.integers(0, 10**9))
        weights = rng.random(int(rng.integers(1, 20))) * rng.integers(0, 2, 1)[0]
        cents = split_cents(total, weights)
        assert cents.sum() == total
        w = weights if weights.sum() > 0 else np.ones(len(weights))
        assert np.all(np.abs(cents - total * w / w.sum()) < 1)


def test_round_to_margins_on_a_hand_worked_table():
    # Rows 6667 and 3333 cents, columns 3334/3333/3333. The second row's exact values are
    # 1111 each; fitted to the columns they become 1111.2, 1110.9, 1110.9, whose floors leave
    # two cents for the two largest fractions; the first row gets the remaining cent in col 0.
    values = np.array([[6667 / 3] * 3, [1111.0] * 3])
    table = round_to_margins(values, np.array([6667, 3333]), np.array([3334, 3333, 3333]))
    assert table.tolist() == [[2223, 2222, 2222], [1111, 1111, 1111]]


def test_round_to_margins_keeps_consistent_integers_and_zeros():
    values = np.array([[100.0, 0.0], [50.0, 25.0]])
    table = round_to_margins(values, np.array([100, 75]), np.array([150, 25]))
    assert table.tolist() == [[100, 0], [50, 25]]


def test_round_to_margins_rejects_inconsistent_or_negative_margins():
    with pytest.raises(ValidationError, match="differ"):
        round_to_margins(np.ones((2, 2)), np.array([1, 2]), np.array([1, 1]))
    with pytest.raises(ValidationError, match="negative"):
        round_to_margins(np.ones((2, 2)), np.array([-1, 3]), np.array([1, 1]))


def test_place_cents_moves_a_greedy_cent_along_an_augmenting_path():
    # Greedy takes (0, 0) (the largest fraction); row 1 can then only use column 0, so the
    # cent of row 0 must move to column 1.
    fraction = np.array([[0.9, 0.6], [0.8, 0.0]])
    extra = _place_cents(fraction, fraction > 0, np.array([1, 1]), np.array([1, 1]))
    assert extra.tolist() == [[0, 1], [1, 0]]


def test_round_to_margins_on_random_tables():
    rng = np.random.default_rng(0)
    for _ in range(300):
        n_rows, n_columns = int(rng.integers(1, 8)), int(rng.integers(1, 6))
        values = rng.random((n_rows, n_columns)) * rng.integers(0, 2, (n_rows, n_columns)) * 1e3
        rows = split_cents(int(rng.integers(0, 10**7)), rng.random(n_rows))
        columns = split_cents(int(rows.sum()), rng.random(n_columns))
        table = round_to_margins(values, rows, columns)
        assert table.sum(axis=1).tolist() == rows.tolist()
        assert table.sum(axis=0).tolist() == columns.tolist()


def test_round_to_margins_on_a_table_of_hundreds_of_billions():
    # A regional table of 362 billion yuan, in cents (~1e13): float sums carry ~2e-3 cents of
    # noise, more than the absolute fitting tolerance, and an int64 outer product of the
    # margins overflows. The fit must converge and keep each cell at a floor or ceiling of it.
    values = np.array([
        [4733784325691.03, 3400591870249.5806, 5453157252086.388],
        [1237097954533.6836, 486296334551.25885, 592761848194.0571],
        [1030515221283.9366, 830852681244.9431, 1218176590692.1199],
        [541392899678.03253, 454717116938.88837, 392783988326.079],
        [3317890131450.1924, 4280577330929.5674, 3763424661545.2393],
        [2110032628320.6528, 839295442640.0769, 1512113841310.27]])
    rows = np.array([13587533448027, 2316156137279, 3079544493221, 1388894004943,
                     11361892123925, 4461441912271])
    columns = np.array([12970713160958, 10292330776554, 12932418182154])
    table = round_to_margins(values, rows, columns)
    assert table.sum(axis=1).tolist() == rows.tolist()
    assert table.sum(axis=0).tolist() == columns.tolist()
    # Close to the values scaled to the margins, not to the margins' outer product.
    fitted = values * (rows / values.sum(axis=1))[:, None]
    assert np.abs(table / fitted - 1).max() < 0.05
    independent = np.outer(rows, columns.astype(float)) / rows.sum()
    assert np.abs(table / independent - 1).max() > 0.1


def _tree() -> pd.DataFrame:
    return pd.DataFrame({
        "unit_id": ["total", "A", "B", "A|1", "A|2"],
        "parent_id": [None, "total", "total", "A", "A"],
        "depth": [0, 1, 1, 2, 2],
    })


def test_decompose_tree_by_hand():
    # 100.00 over three equal months: 3334, 3333, 3333. A and B weigh 2 and 1: 6667 and 3333.
    # A's teams weigh 3 and 1 of 6667: 5000.25 and 1666.75 -> 5000 and 1667. The teams have no
    # shape of their own, so they follow A's months: exact 1667.05/1666.47/1666.47 and
    # 555.83/555.58/555.58; the three cents the floors leave go to the largest fractions.
    weights = pd.Series({"A": 2.0, "B": 1.0, "A|1": 3.0, "A|2": 1.0})
    shapes = pd.DataFrame([[1, 1, 1], [1, 1, 1], [1, 1, 1], [0, 0, 0], [0, 0, 0]],
                          index=["total", "A", "B", "A|1", "A|2"], dtype=float)
    top = split_cents(10000, [1, 1, 1])
    cents = decompose_tree(_tree(), top, weights, shapes)
    assert cents["total"].tolist() == [3334, 3333, 3333]
    assert cents["A"].tolist() == [2223, 2222, 2222]
    assert cents["B"].tolist() == [1111, 1111, 1111]
    assert cents["A|1"].tolist() == [1667, 1666, 1667]
    assert cents["A|2"].tolist() == [556, 556, 555]


def test_decompose_tree_with_fixed_totals_splits_each_unit_by_its_own_shape():
    totals = pd.Series({"total": 1000, "A": 700, "B": 300, "A|1": 400, "A|2": 300})
    shapes = pd.DataFrame([[1, 1], [1, 1], [1, 0], [0, 0], [0, 0]],
                          index=["total", "A", "B", "A|1", "A|2"], dtype=float)
    cents = decompose_tree(_tree(), np.array([500, 500]), pd.Series(dtype=float), shapes, totals)
    # B sells only in the first column, so A takes 500 - 300 = 200 there and 500 after.
    assert cents["B"].tolist() == [300, 0]
    assert cents["A"].tolist() == [200, 500]
    assert (cents["A|1"] + cents["A|2"]).tolist() == [200, 500]
    assert cents["A|1"].sum() == 400 and cents["A|2"].sum() == 300


def test_decompose_tree_needs_one_root_and_known_parents():
    shapes = pd.DataFrame([[1.0]], index=["total"])
    with pytest.raises(ValidationError, match="exactly one top unit"):
        decompose_tree(_tree().iloc[1:], np.array([1]), pd.Series(dtype=float), shapes)
    orphan = pd.DataFrame({"unit_id": ["total", "X"], "parent_id": [None, "nope"],
                           "depth": [0, 1]})
    with pytest.raises(ValidationError, match="no parent"):
        decompose_tree(orphan, np.array([1]), pd.Series({"X": 1.0}), shapes)
