"""Hierarchy structure and reconciliation on a 2-region x 2-channel company worked by hand.

Bottom series (sorted): north|offline, north|online, south|offline, south|online; aggregates:
total, north, south. In the worked period the bottom values are 10, 20, 30, 40, so north = 30,
south = 70 and total = 100.
"""

from __future__ import annotations

import typing
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy.linalg import hadamard

from forecast.errors import ValidationError
from forecast.hierarchy import (
    OLS,
    RECONCILERS,
    BottomUp,
    MinTraceShrink,
    WLSVar,
    accuracy_by_grain,
    build_hierarchy,
    coherence_error,
    reconciler,
    shrunk_covariance,
)
from forecast.schemas import ReconcileMethod

REPO = Path(__file__).resolve().parents[2]
SHARED_DATA = REPO.parent / "shared" / "data"
BOTTOM = ["north|offline", "north|online", "south|offline", "south|online"]
ORDER = ["total", "north", "south", *BOTTOM]
DAYS = pd.to_datetime(["2024-01-01", "2024-01-08"])


def _stacked(bottom: dict[str, list[float]], days=DAYS) -> pd.DataFrame:
    """Series frame rows of every grain from bottom values (one list per series, per day)."""
    rows = []
    for uid, values in bottom.items():
        region, channel = uid.split("|")
        for ds, y in zip(days, values, strict=True):
            rows.append((uid, ds, y, "region/channel", region, channel))
            rows.append((region, ds, y, "region", region, None))
            rows.append(("total", ds, y, "total", None, None))
    frame = pd.DataFrame(rows, columns=["unique_id", "ds", "y", "grain", "region", "channel"])
    keys = ["unique_id", "ds", "grain", "region", "channel"]
    return frame.groupby(keys, dropna=False, as_index=False)["y"].sum()


HISTORY = {"north|offline": [10.0, 11.0], "north|online": [20.0, 22.0],
           "south|offline": [30.0, 33.0], "south|online": [40.0, 44.0]}


@pytest.fixture
def hierarchy():
    return build_hierarchy(_stacked(HISTORY))


def _forecasts(values: dict[str, float], ds=DAYS[:1], width: float = 5.0) -> pd.DataFrame:
    frame = pd.DataFrame([(uid, d, v) for uid, v in values.items() for d in ds],
                         columns=["unique_id", "ds", "yhat"])
    frame["yhat_lo_80"], frame["yhat_hi_80"] = frame.yhat - width, frame.yhat + width
    return frame


def _by_id(frame: pd.DataFrame) -> pd.Series:
    return frame.set_index("unique_id")["yhat"]


# Coherent at the bottom (10, 20, 30, 40) but the total is 7 too high.
INCOHERENT = {"total": 107.0, "north": 30.0, "south": 70.0, "north|offline": 10.0,
              "north|online": 20.0, "south|offline": 30.0, "south|online": 40.0}


def test_summing_matrix_has_aggregates_then_identity(hierarchy):
    assert hierarchy.grains == ("total", "region", "region/channel")
    assert hierarchy.keys == ("region", "channel")
    assert list(hierarchy.unique_ids) == ORDER
    assert list(hierarchy.bottom_ids) == BOTTOM and hierarchy.n_aggregates == 3
    expected = np.array([[1, 1, 1, 1], [1, 1, 0, 0], [0, 0, 1, 1], *np.eye(4)])
    assert hierarchy.summing.shape == (7, 4)
    np.testing.assert_array_equal(hierarchy.summing.toarray(), expected)
    np.testing.assert_array_equal(hierarchy.aggregation.toarray(), expected[:3])


def test_bottom_up_sums_the_bottom_forecasts(hierarchy):
    base = _forecasts({**INCOHERENT, "total": 500.0, "north": -1.0})
    out = _by_id(BottomUp().reconcile(base, hierarchy))
    assert out.to_dict() == {**INCOHERENT, "total": 100.0}


def test_ols_spreads_the_total_error_by_projection(hierarchy):
    # S'S = [[3,2,1,1],[2,3,1,1],[1,1,3,2],[1,1,2,3]], S'e = 7 * (1,1,1,1) for e = 7 at the
    # total; rows of S'S sum to 7, so (S'S)^-1 S'e = (1,1,1,1): every bottom series gains 1.
    base = _forecasts(INCOHERENT)
    out = OLS().reconcile(base, hierarchy)
    expected = {"total": 104.0, "north": 32.0, "south": 72.0, "north|offline": 11.0,
                "north|online": 21.0, "south|offline": 31.0, "south|online": 41.0}
    assert _by_id(out).to_dict() == pytest.approx(expected, rel=1e-12)
    summing = hierarchy.summing.toarray()
    projection = summing @ np.linalg.inv(summing.T @ summing) @ summing.T
    np.testing.assert_allclose(_by_id(out)[ORDER], projection @ _by_id(base)[ORDER])
    assert list(out.columns) == list(base.columns)


def test_reconcile_keeps_row_order_and_handles_all_periods_at_once(hierarchy):
    rng = np.random.default_rng(0)
    base = _forecasts(INCOHERENT, ds=DAYS).sample(frac=1.0, random_state=1)
    base["yhat"] += rng.normal(0, 3, len(base))
    out = OLS().reconcile(base, hierarchy)
    assert out.index.equals(base.index) and (out.unique_id == base.unique_id).all()
    assert coherence_error(base, hierarchy) > 1e-3
    assert coherence_error(out, hierarchy) < 1e-9


def test_mint_shrink_is_coherent_and_equals_ols_for_identity_covariance(hierarchy):
    base = _forecasts(INCOHERENT, ds=DAYS)
    base.loc[base.unique_id == "south", "yhat"] += np.array([-4.0, 6.0])
    # Columns of a Hadamard matrix are orthogonal with squared norm 8: E'E / 8 is the identity.
    errors = hadamard(8)[:, 1:] * 3.0
    residuals = pd.DataFrame(
        [(uid, pd.Timestamp("2023-01-01") + pd.Timedelta(weeks=t), errors[t, i])
         for i, uid in enumerate(ORDER) for t in range(8)],
        columns=["unique_id", "ds", "residual"])
    covariance, intensity = shrunk_covariance(errors.astype(float))
    np.testing.assert_allclose(covariance, 9.0 * np.eye(7))
    mint = MinTraceShrink().reconcile(base, hierarchy, residuals)
    ols = OLS().reconcile(base, hierarchy)
    np.testing.assert_allclose(mint.yhat, ols.yhat, rtol=1e-12)
    assert coherence_error(mint, hierarchy) < 1e-6

    noisy = residuals.assign(residual=np.random.default_rng(3).normal(0, 1, len(residuals)))
    weighted = MinTraceShrink().reconcile(base, hierarchy, noisy)
    assert coherence_error(weighted, hierarchy) < 1e-6
    assert not np.allclose(weighted.yhat, ols.yhat)


def test_shrinkage_intensity_matches_the_schafer_strimmer_formula():
    errors = np.random.default_rng(5).normal(size=(30, 3)) @ np.array(
        [[1.0, 0.5, 0.0], [0.0, 1.0, 0.3], [0.0, 0.0, 1.0]])
    covariance, intensity = shrunk_covariance(errors)
    t = len(errors)
    sample = errors.T @ errors / t
    scaled = errors / np.sqrt(np.diag(sample))
    pairs = [(0, 1), (0, 2), (1, 2)]
    # hts's shrink.estim: with w_tij = x_ti x_tj of the scaled residuals, r_ij = mean_t w_tij
    # and Var(r_ij) = sum_t (w_tij - r_ij)^2 / (T (T - 1)); lambda = sum Var / sum r^2.
    w = {p: scaled[:, p[0]] * scaled[:, p[1]] for p in pairs}
    var = sum(np.sum((w[p] - w[p].mean()) ** 2) / (t * (t - 1)) for p in pairs)
    correlation = sum(w[p].mean() ** 2 for p in pairs)
    assert intensity == pytest.approx(var / correlation)
    assert 0 < intensity < 1
    off = ~np.eye(3, dtype=bool)
    np.testing.assert_allclose(covariance[off], (1 - intensity) * sample[off])
    np.testing.assert_allclose(np.diag(covariance), np.diag(sample))


def test_mint_falls_back_to_wls_var_only_when_a_series_has_no_residuals(hierarchy):
    every = pd.DataFrame({"unique_id": ORDER * 3, "ds": [d for d in pd.date_range(
        "2024-01-01", periods=3, freq="W") for _ in ORDER], "residual": 1.0})
    mint = MinTraceShrink(fallback=WLSVar())
    assert mint.resolve(hierarchy, every) is mint
    newest = every[every["unique_id"] != ORDER[-1]]
    assert isinstance(mint.resolve(hierarchy, newest), WLSVar)
    assert isinstance(BottomUp().resolve(hierarchy, newest), BottomUp)
    # Without a fallback MinT refuses a series without residuals instead of guessing.
    with pytest.raises(ValidationError, match="none for series"):
        MinTraceShrink().reconcile(_forecasts(INCOHERENT), hierarchy, newest)
    fallback = mint.reconcile(_forecasts(INCOHERENT), hierarchy, newest)
    pd.testing.assert_frame_equal(
        fallback, WLSVar().reconcile(_forecasts(INCOHERENT), hierarchy, newest))


def test_mint_falls_back_to_wls_var_when_one_period_has_every_residual(hierarchy):
    # Quarterly data with a single backtest fold of one quarter: every series has a residual,
    # but of one period only, from which no covariance can be estimated. The configured
    # mint_shrink stopped `train revenue` there ("only 1 period(s) have a residual").
    rng = np.random.default_rng(3)
    one = pd.DataFrame({"unique_id": ORDER, "ds": pd.Timestamp("2022-07-01"),
                        "residual": rng.normal(size=len(ORDER))})
    mint = reconciler("mint_shrink")
    assert isinstance(mint.resolve(hierarchy, one), WLSVar)
    pd.testing.assert_frame_equal(
        mint.reconcile(_forecasts(INCOHERENT), hierarchy, one),
        WLSVar().reconcile(_forecasts(INCOHERENT), hierarchy, one))
    # A second period, complete for some series only, does not make two.
    partial = pd.concat([one, one.iloc[:3].assign(ds=pd.Timestamp("2022-10-01"))])
    assert isinstance(mint.resolve(hierarchy, partial), WLSVar)
    with pytest.raises(ValidationError, match="only 1 period"):
        MinTraceShrink().reconcile(_forecasts(INCOHERENT), hierarchy, one)
    two = pd.concat([one, one.assign(ds=pd.Timestamp("2022-10-01"), residual=1.0)])
    assert mint.resolve(hierarchy, two) is mint


def test_config_method_names_map_to_reconcilers():
    assert set(RECONCILERS) | {"none"} == set(typing.get_args(ReconcileMethod))
    assert reconciler("none") is None
    assert isinstance(reconciler("ols"), OLS) and isinstance(reconciler("bottom_up"), BottomUp)
    mint = reconciler("mint_shrink")
    assert isinstance(mint, MinTraceShrink) and isinstance(mint.fallback, WLSVar)


def test_wls_var_weighs_by_residual_variance_and_imputes_missing_series(hierarchy):
    from forecast.hierarchy.reconcile import series_variances

    days = pd.date_range("2024-01-01", periods=2, freq="W")
    # Total and regions well forecast (residual 1); bottom series off by 3; south|online has
    # no residuals and takes its grain's relative variance.
    size = {"total": 1.0, "north": 1.0, "south": 1.0}
    rows = [(uid, d, size.get(uid, 3.0)) for uid in ORDER[:-1] for d in days]
    residuals = pd.DataFrame(rows, columns=["unique_id", "ds", "residual"])
    base = _forecasts(INCOHERENT)
    values = base.set_index("unique_id").loc[ORDER, "yhat"].to_numpy()[:, None]
    variances = series_variances(residuals, hierarchy, values)
    np.testing.assert_allclose(variances[:6], [1, 1, 1, 9, 9, 9])
    # north|offline 9 / 10^2, north|online 9 / 20^2, south|offline 9 / 30^2: median 9/400.
    assert variances[6] == pytest.approx(9 / 400 * 40.0**2)
    out = _by_id(WLSVar().reconcile(base, hierarchy, residuals))
    weights = 1 / variances
    summing = hierarchy.summing.toarray()
    gls = np.linalg.solve(summing.T @ (summing * weights[:, None]),
                          (summing * weights[:, None]).T @ values)
    np.testing.assert_allclose(out[ORDER].to_numpy(), (summing @ gls).ravel(), rtol=1e-10)
    assert coherence_error(WLSVar().reconcile(base, hierarchy, residuals), hierarchy) < 1e-9
    # The precise total keeps most of its value: it moves less than under OLS.
    ols = _by_id(OLS().reconcile(base, hierarchy))
    assert abs(out["total"] - 107.0) < abs(ols["total"] - 107.0)
    with pytest.raises(ValidationError, match="wls_var.*needs residuals"):
        WLSVar().reconcile(base, hierarchy)


def test_mint_shrink_without_residuals_says_what_it_needs(hierarchy):
    with pytest.raises(ValidationError, match="mint_shrink.*needs residuals"):
        MinTraceShrink().reconcile(_forecasts(INCOHERENT), hierarchy)
    only_two = pd.DataFrame({"unique_id": ORDER, "ds": DAYS[0], "residual": 1.0})
    with pytest.raises(ValidationError, match="at least 2"):
        MinTraceShrink().reconcile(_forecasts(INCOHERENT), hierarchy, only_two)


def test_intervals_shift_with_yhat_and_stay_ordered(hierarchy):
    base = _forecasts(INCOHERENT, width=2.0)
    out = OLS().reconcile(base, hierarchy).set_index("unique_id")
    assert out.loc["total", "yhat_lo_80"] == pytest.approx(102.0)
    assert out.loc["north|online", "yhat_hi_80"] == pytest.approx(23.0)
    assert ((out.yhat_lo_80 <= out.yhat) & (out.yhat <= out.yhat_hi_80)).all()
    np.testing.assert_allclose(out.yhat_hi_80 - out.yhat_lo_80, 4.0)


def test_a_lower_bound_at_zero_stays_there_when_the_forecast_rises(hierarchy):
    # Sparse daily stores: a lower bound of 0 holds the days without a sale. OLS lifts every
    # bottom forecast by 1.4 here; a bound lifted with them left out every such day (80 %
    # intervals covered 60 % on stores with a sale every other day).
    base = _forecasts(INCOHERENT, width=2.0)
    bottom = base["unique_id"].str.contains("|", regex=False)
    base.loc[bottom, "yhat_lo_80"] = 0.0
    out = OLS().reconcile(base, hierarchy).set_index("unique_id")
    assert (out.loc[BOTTOM, "yhat"] > _by_id(base)[BOTTOM]).all()
    assert (out.loc[BOTTOM, "yhat_lo_80"] == 0).all()
    assert out.loc["north|online", "yhat_hi_80"] == pytest.approx(out.loc["north|online",
                                                                          "yhat"] + 2.0)
    assert out.loc["total", "yhat_lo_80"] == pytest.approx(out.loc["total", "yhat"] - 2.0)


def test_grains_that_do_not_nest_are_rejected():
    frame = _stacked(HISTORY)
    # Regions relabelled as segments: a segment grain is not a subset of region/channel.
    frame["segment"] = frame.region.where(frame.grain == "region")
    frame.loc[frame.grain == "region", "grain"] = "segment"
    with pytest.raises(ValidationError, match="'segment' and 'region/channel' do not nest"):
        build_hierarchy(frame)
    two_ways = _stacked(HISTORY)
    extra = two_ways[two_ways.grain == "region"].assign(grain="channel", region=None)
    with pytest.raises(ValidationError, match="'region' and 'channel' do not nest"):
        build_hierarchy(pd.concat([two_ways, extra]))


def test_unobserved_history_counts_as_zero_in_the_coherence_check():
    stacked = _stacked(HISTORY)
    bottom = stacked["unique_id"] == BOTTOM[0]
    closed = stacked[bottom]["ds"].iloc[0]
    # Closing one bottom series for a day: y missing there, its parents lose its value.
    value = stacked.loc[bottom & (stacked["ds"] == closed), "y"].iloc[0]
    parents = stacked["unique_id"].isin(["total", "north"]) & (stacked["ds"] == closed)
    stacked.loc[parents, "y"] -= value
    stacked.loc[bottom & (stacked["ds"] == closed), "y"] = np.nan
    assert build_hierarchy(stacked).n_bottom == len(BOTTOM)


def test_incoherent_history_names_the_series_and_period():
    frame = _stacked(HISTORY)
    frame.loc[(frame.unique_id == "south") & (frame.ds == DAYS[1]), "y"] += 1.0
    with pytest.raises(ValidationError, match=r"series 'south' \(grain 'region'\) at "
                       r"2024-01-08.*y is 78 but its bottom series sum to 77"):
        build_hierarchy(frame)
    frame = _stacked(HISTORY)
    frame.loc[frame.unique_id == "total", "y"] *= 1 + 1e-8
    assert build_hierarchy(frame).n_bottom == 4


def test_missing_parent_and_missing_forecasts_are_reported(hierarchy):
    frame = _stacked(HISTORY)
    with pytest.raises(ValidationError, match="'north\\|offline' has no aggregate in grain"):
        build_hierarchy(frame[frame.unique_id != "north"])
    partial = _forecasts(INCOHERENT)
    with pytest.raises(ValidationError, match="no row for series 'south'"):
        OLS().reconcile(partial[partial.unique_id != "south"], hierarchy)
    with pytest.raises(ValidationError, match="unknown reconciliation method"):
        reconciler("mint_sample").reconcile(partial, hierarchy)


def test_coherence_error_is_the_largest_relative_gap(hierarchy):
    assert coherence_error(_forecasts(INCOHERENT), hierarchy) == pytest.approx(7 / 107)
    assert coherence_error(_stacked(HISTORY), hierarchy, column="y") == 0.0


def test_accuracy_by_grain_compares_wape_per_grain(hierarchy):
    actuals = _stacked({"north|offline": [12.0], "north|online": [20.0],
                        "south|offline": [30.0], "south|online": [38.0]}, days=DAYS[:1])
    base = _forecasts(INCOHERENT)
    reconciled = OLS().reconcile(base, hierarchy)
    table = accuracy_by_grain(actuals, base, reconciled)
    assert list(table.columns) == ["grain", "unreconciled", "reconciled"]
    assert list(table.grain) == ["total", "region", "region/channel"]
    # total: y 100, base 107, ols 104. regions: y 32, 68; base 30, 70; ols 32, 72.
    # bottom: y 12, 20, 30, 38; base 10, 20, 30, 40; ols 11, 21, 31, 41.
    expected = [[7 / 100, 4 / 100], [4 / 100, 4 / 100], [4 / 100, 6 / 100]]
    np.testing.assert_allclose(table[["unreconciled", "reconciled"]].to_numpy(), expected)
    by_hierarchy = accuracy_by_grain(actuals.drop(columns="grain"), base, reconciled,
                                     hierarchy=hierarchy)
    pd.testing.assert_frame_equal(by_hierarchy, table)


def test_walmart_store_hierarchy_reconciles_perturbed_forecasts(tmp_path):
    if not SHARED_DATA.is_dir():
        pytest.skip(f"real data not found at {SHARED_DATA}")
    from forecast.config import load_config
    from forecast.io.ingest import ingest
    from forecast.pipeline import build_series

    config = load_config(REPO / "configs" / "walmart.yaml").with_workspace(tmp_path)
    ingest(config)
    series = pd.read_parquet(build_series(config).parquet)
    hierarchy = build_hierarchy(series)
    assert hierarchy.grains == ("total", "store") and hierarchy.summing.shape == (46, 45)

    rng = np.random.default_rng(7)
    last = series[series.ds >= series.ds.max() - pd.Timedelta(weeks=3)]
    base = last[["unique_id", "ds"]].assign(yhat=last.y * rng.normal(1, 0.05, len(last)))
    base["yhat_lo_80"], base["yhat_hi_80"] = base.yhat * 0.9, base.yhat * 1.1
    history = series[series.ds < series.ds.max() - pd.Timedelta(weeks=3)]
    residuals = history[["unique_id", "ds"]].assign(
        residual=history.y * rng.normal(0, 0.05, len(history)))
    assert coherence_error(base, hierarchy) > 1e-3
    for method in ("bottom_up", "ols", "mint_shrink"):
        out = reconciler(method).reconcile(base, hierarchy, residuals)
        assert coherence_error(out, hierarchy) < 1e-6
        assert ((out.yhat_lo_80 <= out.yhat) & (out.yhat <= out.yhat_hi_80)).all()
    table = accuracy_by_grain(series, base, out)
    assert list(table.grain) == ["total", "store"]


def test_restricted_hierarchy_sums_only_the_series_that_exist(hierarchy):
    # South's online channel had not opened at this origin: south is its offline channel alone.
    present = [uid for uid in ORDER if uid != "south|online"]
    sub = hierarchy.restrict(present)
    assert list(sub.unique_ids) == present and sub.n_aggregates == 3
    np.testing.assert_array_equal(sub.summing.toarray(), np.array(
        [[1, 1, 1], [1, 1, 0], [0, 0, 1], *np.eye(3)]))
    base = _forecasts({k: v for k, v in INCOHERENT.items() if k != "south|online"})
    out = _by_id(BottomUp().reconcile(base, sub))
    assert out["total"] == 60.0 and out["south"] == 30.0
    with pytest.raises(ValidationError, match="none of its bottom series"):
        hierarchy.restrict(["total", "south", "north|offline"])
    with pytest.raises(ValidationError, match="not in the hierarchy"):
        hierarchy.restrict(["total", "east"])
