"""The customer-base candidate on simulated customer bases: a decaying base against the last
value, no leakage past the origin, several series, weekly and monthly periods, a young base,
returns, and the estimator contract."""

from __future__ import annotations

import copy
import functools
import pickle

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone

from forecast.errors import ValidationError
from forecast.models.customer_base import (
    CustomerActivity,
    CustomerBaseForecaster,
    expected_customer_value,
    period_edges,
    summarise_customers,
)
from forecast.schemas import interval_columns

START = pd.Timestamp("2023-01-02")  # a Monday: weeks are W-MON


def simulate_base(rng, arrivals: np.ndarray, end: float, uid: str = "total", r=0.8,
                  alpha=40.0, a=1.2, b=5.0, p=6.0, q=4.0, v=150.0) -> pd.DataFrame:
    """Purchase days of customers arriving at ``arrivals`` (days after START) until ``end``.

    A BG/NBD customer (lambda ~ Gamma(r, alpha) per day, dropout after repeat purchase J ~
    Geometric(p), p ~ Beta(a, b)) buys first on arrival; Gamma-Gamma spend (each purchase
    Gamma(p, nu), nu ~ Gamma(q, v)): a mean purchase of p v / (q - 1) = 300 by default.
    """
    n = len(arrivals)
    lam, drop = rng.gamma(r, 1 / alpha, n), rng.beta(a, b, n)
    J, nu = rng.geometric(drop), rng.gamma(q, 1 / v, n)
    N = rng.poisson(lam * (end - arrivals))
    who = np.repeat(np.arange(n), N)
    t = arrivals[who] + rng.uniform(0, 1, len(who)) * (end - arrivals)[who]
    order = np.lexsort((t, who))
    who, t = who[order], t[order]
    keep = np.arange(len(who)) - np.repeat(np.cumsum(N) - N, N) < J[who]
    who, t = np.r_[np.arange(n), who[keep]], np.r_[arrivals, t[keep]]
    return pd.DataFrame({"unique_id": uid, "customer_id": [f"{uid}-{i}" for i in who],
                         "ds": START + pd.to_timedelta(np.floor(t), "D"),
                         "amount": rng.gamma(p, 1 / nu[who])})


def series_of(activity: pd.DataFrame, freq: str = "W-MON") -> pd.DataFrame:
    """Each series' spend per period, labelled by the period's first day (as the project's)."""
    day = activity["ds"]
    start = day - pd.to_timedelta(day.dt.dayofweek, "D") if freq == "W-MON" \
        else day.dt.to_period("M").dt.start_time
    y = activity.groupby(["unique_id", start.rename("ds")])["amount"].sum()
    return y.rename("y").reset_index()


def burst_then_trickle(rng, uid: str = "total", burst: int = 3000, weeks: int = 92, **params):
    """An acquisition burst in the first 8 weeks, then 3 new customers a week."""
    end = weeks * 7
    arrivals = np.r_[rng.uniform(0, 56, burst), rng.uniform(56, end, int(3 * (end - 56) / 7))]
    return simulate_base(rng, arrivals, end, uid, **params)


@functools.cache
def decaying() -> tuple[pd.DataFrame, CustomerActivity, pd.DataFrame]:
    """92 weeks of a decaying base: the activity, as a CustomerActivity, and its weekly series."""
    activity = burst_then_trickle(np.random.default_rng(0))
    return activity, CustomerActivity(activity), series_of(activity)


def wape(forecast, truth) -> float:
    return float(np.abs(np.asarray(forecast) - truth).sum() / truth.sum())


def test_a_decaying_base_beats_the_last_value_and_totals_right():
    """52 weeks after a burst of 3,000 customers, 40 weeks ahead. The base keeps decaying,
    which the last value (and the last 4 weeks' mean) carried flat cannot see. The total's
    tolerance: over 12 seeds the forecast total / truth ranged 0.92-1.12 (sd 0.05), the
    simulated future's own noise with the fit's; 15 % is three of those sds."""
    _, activity, frame = decaying()
    history, future = frame.iloc[:52], frame.iloc[52:]
    got = CustomerBaseForecaster(activity).fit(history).predict(40)
    truth = future["y"].to_numpy()
    ours = wape(got["yhat"], truth)
    assert ours < 0.75 * wape(np.full(40, history["y"].iloc[-1]), truth)
    assert ours < 0.75 * wape(np.full(40, history["y"].iloc[-4:].mean()), truth)
    assert got["yhat"].sum() == pytest.approx(truth.sum(), rel=0.15)
    assert got["yhat"].iloc[-1] < got["yhat"].iloc[0]  # it forecasts the decay


def test_a_steady_acquisition_is_carried_by_the_new_customers():
    """30 new customers a week for 92 weeks: after 52, about half the next 40 weeks' spend is
    from customers not acquired yet (level, first purchase, repeats). The same tolerance as
    above: the total / truth ranged 0.96-1.09 over 6 seeds."""
    rng = np.random.default_rng(0)
    raw = simulate_base(rng, rng.uniform(0, 92 * 7, 30 * 92), 92 * 7, "steady")
    frame = series_of(raw)
    model = CustomerBaseForecaster(CustomerActivity(raw)).fit(frame.iloc[:52])
    assert model.fits_["new_per_period"].iloc[0] == pytest.approx(30, rel=0.1)
    got = model.predict(40)
    assert got["yhat"].sum() == pytest.approx(frame["y"].iloc[52:].sum(), rel=0.15)


def test_the_new_customer_level_weighs_the_latest_weeks_most():
    """k + 1 customers arrive in week k of 20; the level is the exponentially weighted mean
    of the last 13 weeks' counts (alpha = 2 / 14), the first-purchase spend that of their
    first days."""
    rng = np.random.default_rng(0)
    week = np.repeat(np.arange(20), np.arange(1, 21))
    arrival = week * 7 + rng.integers(0, 7, len(week))
    raw = simulate_base(rng, arrival.astype(float), 140.0, "level")
    activity = CustomerActivity(raw)
    model = CustomerBaseForecaster(activity).fit(series_of(raw))
    weights = (1 - 2 / 14) ** np.arange(13)[::-1]
    assert model.fits_["new_per_period"].iloc[0] == pytest.approx(
        weights @ np.arange(8, 21) / weights.sum())
    firsts = activity.frame.groupby("customer_id").head(1)  # first purchase days
    recent = firsts[firsts["ds"] >= START + pd.Timedelta(weeks=7)]["amount"]
    assert model.series_["level"].first_spend == pytest.approx(recent.mean())


def test_activity_after_the_origin_changes_nothing():
    raw, activity, frame = decaying()
    history = frame.iloc[:30]
    origin = history["ds"].max() + pd.Timedelta(days=7)
    full = CustomerBaseForecaster(activity).fit(history)
    cut = CustomerBaseForecaster(CustomerActivity(raw[raw["ds"] < origin])).fit(history)
    pd.testing.assert_frame_equal(full.predict(20), cut.predict(20))
    pd.testing.assert_frame_equal(full.fits_, cut.fits_)
    # The last day of the last week is history, the next one is not.
    for day, more in ((origin - pd.Timedelta(days=1), 1), (origin, 0)):
        extra = pd.DataFrame({"unique_id": ["total"], "customer_id": ["late"], "ds": [day],
                              "amount": [100.0]})
        model = CustomerBaseForecaster(CustomerActivity(pd.concat([raw, extra]))).fit(history)
        assert model.fits_["customers"].iloc[0] == full.fits_["customers"].iloc[0] + more


def test_clone_shares_the_activity_and_a_fitted_model_pickles():
    _, activity, frame = decaying()
    model = CustomerBaseForecaster(activity, acquisition_window=8)
    assert model.get_params() == {"activity": activity, "penalizer": 1e-6,
                                  "acquisition_window": 8, "purchase_model": "auto",
                                  "freq": None}
    twin = clone(model)
    assert twin.activity is activity and twin is not model
    assert copy.deepcopy(activity) is activity and twin.activity == activity
    assert activity != CustomerActivity(activity.frame) and hash(activity) == id(activity)
    assert twin.set_params(penalizer=1e-4, freq="W-MON").get_params()["penalizer"] == 1e-4
    model.fit(frame.iloc[:52])
    assert not hasattr(clone(model), "series_") and clone(model).activity is activity
    again = pickle.loads(pickle.dumps(model))
    pd.testing.assert_frame_equal(again.predict(6), model.predict(6))


def test_customer_activity_checks_its_frame_and_is_immutable():
    with pytest.raises(ValidationError, match=r"missing column\(s\) \['amount'\]"):
        CustomerActivity(pd.DataFrame({"unique_id": ["a"], "customer_id": [1], "ds": ["2024-01-01"]}))
    with pytest.raises(ValidationError, match="amount must be numeric"):
        CustomerActivity(pd.DataFrame({"unique_id": ["a"], "customer_id": [1],
                                       "ds": ["2024-01-01"], "amount": ["x"]}))
    activity = CustomerActivity(pd.DataFrame({
        "unique_id": ["a", "a", "a"], "customer_id": [1, 1, None],
        "ds": ["2024-01-01 09:00", "2024-01-01 17:00", "2024-01-02 08:00"], "amount": [5, 7, 3]}))
    assert activity.frame.to_dict("list") == {
        "unique_id": ["a"], "customer_id": [1.0], "ds": [pd.Timestamp("2024-01-01")],
        "amount": [12.0]}
    with pytest.raises(AttributeError, match="immutable"):
        activity.extra = 1


def test_series_without_activity_or_a_model_without_it_are_refused():
    _, activity, frame = decaying()
    stranger = frame.iloc[:20].assign(unique_id="mystery")
    with pytest.raises(ValidationError, match="'mystery'"):
        CustomerBaseForecaster(activity).fit(pd.concat([frame.iloc[:20], stranger]))
    with pytest.raises(ValidationError, match="needs activity"):
        CustomerBaseForecaster().fit(frame.iloc[:20])


@functools.cache
def channels() -> tuple[pd.DataFrame, CustomerActivity, pd.DataFrame]:
    """Two channels of different customers: online buys often and little, offline rarely and
    much (mean purchase 100 and 600)."""
    rng = np.random.default_rng(1)
    online = burst_then_trickle(rng, "online", burst=1500, alpha=15.0, v=50.0)
    offline = burst_then_trickle(rng, "offline", burst=1500, alpha=90.0, v=300.0)
    activity = pd.concat([online, offline], ignore_index=True)
    return activity, CustomerActivity(activity), series_of(activity)


def test_each_series_gets_its_own_fit():
    raw, activity, frame = channels()
    history = frame.groupby("unique_id").head(52)
    model = CustomerBaseForecaster(activity).fit(history)
    fits = model.fits_.set_index("unique_id")
    assert (fits["purchases"] == "own").all() and (fits["spend"] == "own").all()
    # Mean purchase rate r / alpha and mean spend, each channel's own (truth 0.8 / alpha).
    rate = fits["r"] / fits["alpha"]
    assert rate["online"] == pytest.approx(0.8 / 15, rel=0.15)
    assert rate["offline"] == pytest.approx(0.8 / 90, rel=0.15)
    assert fits.loc["online", "spend_mean"] == pytest.approx(100, rel=0.15)
    assert fits.loc["offline", "spend_mean"] == pytest.approx(600, rel=0.15)
    both = model.predict(30)
    for uid in ("online", "offline"):
        alone = CustomerBaseForecaster(activity).fit(history[history["unique_id"] == uid])
        pd.testing.assert_frame_equal(alone.predict(30), both[both["unique_id"] == uid]
                                      .reset_index(drop=True))
        truth = frame[frame["unique_id"] == uid]["y"].iloc[52:82].sum()
        assert both[both["unique_id"] == uid]["yhat"].sum() == pytest.approx(truth, rel=0.15)
    # Series ids that are numbers (text in the activity) find their customers all the same.
    numbers = {"offline": 7, "online": 30}
    numbered = CustomerBaseForecaster(CustomerActivity(raw.assign(
        unique_id=raw["unique_id"].map(numbers)))).fit(
        history.assign(unique_id=history["unique_id"].map(numbers)))
    got = numbered.predict(30)
    assert list(got["unique_id"].unique()) == [7, 30]
    np.testing.assert_allclose(got["yhat"], both["yhat"])


def test_a_series_too_small_for_its_own_spend_model_keeps_its_own_spend_scale():
    """A product line of a dozen customers, its purchases worth a twentieth of the total's:
    too few repeat buyers for a Gamma-Gamma of its own, it takes its empirical mean spend,
    not a spend model pooled with the total's customers (which put every product line's
    purchase at the company's scale: on the generated company, 23,000 a purchase)."""
    raw, _, frame = decaying()
    line = raw[raw["customer_id"].isin(raw["customer_id"].unique()[:12])].assign(
        unique_id="line", amount=lambda d: d["amount"] / 20)
    activity = CustomerActivity(pd.concat([raw, line]))
    line_series = series_of(line)
    history = pd.concat([frame.iloc[:52], line_series[line_series["ds"] < frame["ds"].iloc[52]]])
    model = CustomerBaseForecaster(activity).fit(history)
    fits = model.fits_.set_index("unique_id")
    assert fits.loc["line", "spend"] == "empirical" and fits.loc["total", "spend"] == "own"
    assert fits.loc["line", "spend_mean"] < fits.loc["total", "spend_mean"] / 5
    got = model.predict(13)
    per_week = got.loc[got["unique_id"] == "line", "yhat"].mean()
    recent = line_series[line_series["ds"] < frame["ds"].iloc[52]]["y"].tail(26).sum() / 26
    assert per_week < 3 * recent


def test_monthly_periods_start_on_the_first_and_forecast_the_decay():
    """Twelve months after the burst, the nine whole months simulated after them ahead; the
    acquisition window is a quarter: 3 months."""
    raw, activity, _ = decaying()
    monthly = series_of(raw[raw["ds"] < "2024-10-01"], "MS")
    history, future = monthly.iloc[:12], monthly.iloc[12:]
    model = CustomerBaseForecaster(activity).fit(history)
    assert model.freq_ == "MS" and model.regime(3, "MS") == "customer base"
    got = model.predict(9)
    assert list(got["ds"]) == list(future["ds"])
    truth = future["y"].to_numpy()
    assert wape(got["yhat"], truth) < 0.5 * wape(np.full(9, history["y"].iloc[-1]), truth)
    assert got["yhat"].sum() == pytest.approx(truth.sum(), rel=0.15)


def test_a_young_base_borrows_the_pooled_fit_or_is_refused_alone():
    """A region 4 weeks old with a few repeat buyers fits on all series' customers pooled;
    alone it cannot be fitted, which the RevenueForecaster reports as a dropped candidate."""
    raw, _, frame = decaying()
    rng = np.random.default_rng(5)
    young = simulate_base(rng, rng.uniform(300, 328, 40), 328, "young")
    young["ds"] = young["ds"].where(young["ds"] < START + pd.Timedelta(days=329))
    activity = CustomerActivity(pd.concat([raw, young.dropna()]))
    history = pd.concat([frame.iloc[:47], series_of(young.dropna())])
    model = CustomerBaseForecaster(activity).fit(history)
    fits = model.fits_.set_index("unique_id")
    assert fits.loc["young", "purchases"] == "pooled"
    assert fits.loc["total", "purchases"] == "own"
    got = model.predict(8)
    assert np.isfinite(got["yhat"]).all() and (got["yhat"] >= 0).all()
    assert model.regime(4, "W-MON") == "young customer base"
    assert model.regime(13, "W-MON") == "customer base"
    with pytest.raises(ValidationError, match="'young': no purchase model fits"):
        CustomerBaseForecaster(activity).fit(series_of(young.dropna()))


def test_returns_stay_out_of_the_purchases_and_scale_the_forecast():
    """A return (negative day) before each of 500 customers' first purchase: the purchase
    model is unchanged, the net ratio (series per unit of purchase spend) falls below 1."""
    raw, activity, _ = decaying()
    first = raw.groupby("customer_id")["ds"].min()
    chosen = first.sample(500, random_state=0)
    returns = pd.DataFrame({"unique_id": "total", "customer_id": chosen.index,
                            "ds": chosen.to_numpy() - pd.Timedelta(days=1), "amount": -200.0})
    with_returns = pd.concat([raw, returns], ignore_index=True)
    frame = series_of(with_returns)
    frame = frame[frame["ds"] >= START].iloc[:40]
    plain = CustomerBaseForecaster(activity).fit(series_of(raw).iloc[:40])
    netted = CustomerBaseForecaster(CustomerActivity(with_returns)).fit(frame)
    columns = ["customers", "r", "alpha", "a", "b", "spend_mean", "new_per_period"]
    pd.testing.assert_frame_equal(netted.fits_[columns], plain.fits_[columns])
    ratio = netted.fits_["net_ratio"].iloc[0]
    window = frame.iloc[-13:]
    positive = raw[(raw["ds"] >= window["ds"].min()) & (raw["ds"] < window["ds"].max()
                                                       + pd.Timedelta(days=7))]["amount"].sum()
    assert ratio == pytest.approx(window["y"].sum() / positive) and ratio < 1
    np.testing.assert_allclose(netted.predict(5)["yhat"], plain.predict(5)["yhat"] * ratio)


def test_intervals_are_clipped_at_zero_and_widen():
    _, activity, frame = decaying()
    got = CustomerBaseForecaster(activity).fit(frame.iloc[:52]).predict(20, levels=(80, 99.9))
    lo, hi = interval_columns(80)
    width = (got[hi] - got[lo]).to_numpy()
    assert (np.diff(width) > 0).all()
    assert (got[interval_columns(99.9)[0]] >= 0).all() and (got[lo] <= got["yhat"]).all()


def test_expected_customer_value_per_customer():
    raw, activity, _ = decaying()
    origin = START + pd.Timedelta(weeks=52)
    got = expected_customer_value(activity, origin, 280)
    assert list(got.columns) == ["customer_id", "p_alive", "expected_purchases",
                                 "expected_spend"]
    summary = summarise_customers(activity.frame, pd.Series({"total": origin}))
    assert len(got) == len(summary)
    single = summary["frequency"].to_numpy() == 0
    assert (got["p_alive"].to_numpy()[single] == 1).all()
    assert got["p_alive"].between(0, 1).all() and (got["expected_spend"] >= 0).all()
    # The known customers' spend in the 40 weeks after the origin, within 15 %.
    later = raw[(raw["ds"] >= origin) & (raw["ds"] < origin + pd.Timedelta(days=280))]
    truth = later[later["customer_id"].isin(got["customer_id"])]["amount"].sum()
    assert got["expected_spend"].sum() == pytest.approx(truth, rel=0.15)
    plain = expected_customer_value(raw.drop(columns="unique_id"), origin, 280)
    pd.testing.assert_frame_equal(plain, got)
    with pytest.raises(ValidationError, match="one series, got 2"):
        expected_customer_value(channels()[1], origin, 280)


def test_period_edges_follow_the_labels():
    def edges(labels, freq):
        return [d.strftime("%m-%d") for d in period_edges(pd.DatetimeIndex(labels), freq)]
    assert edges(["2024-01-05", "2024-01-12"], "W-FRI") == ["01-05", "01-12", "01-19"]
    assert edges(["2024-01-01", "2024-02-01"], "MS") == ["01-01", "02-01", "03-01"]
    assert edges(["2024-01-31", "2024-02-29"], "ME") == ["01-01", "02-01", "03-01"]
    assert edges(["2024-01-01", "2024-01-02"], "D") == ["01-01", "01-02", "01-03"]
