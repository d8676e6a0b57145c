"""Series test beds with known demand processes: the kinds of sales data nobody tuned for.

Each generator returns a long series frame ``unique_id, ds, y`` (and ``kind`` where the bed
mixes processes) from a seeded generator, so tests and benchmarks see the same data on every
run:

- :func:`intermittent_demand`: daily item sales drawn from the four demand classes of Syntetos &
  Boylan (smooth, intermittent, erratic, lumpy), each from a Bernoulli occurrence with mean
  interval ``adi`` and a gamma size with squared coefficient of variation ``cv2``.
- :func:`decaying_base`: the weekly revenue of a young company whose customers came in one
  acquisition burst and leave at a constant rate: less than a year of history, no season yet.
- :func:`decaying_base_orders`: the order lines of such a company, customer by customer, for
  the models that forecast from the customers (``models.customer_base``).
- :func:`stopping_and_new`: weekly series of which some stop (zero after a date, a discontinued
  product) and some start late (a store opened last quarter), beside steady seasonal ones.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from forecast.schemas import CUSTOMER_ID, DS, TOTAL, UNIQUE_ID, Y

# (mean inter-demand interval, squared CV of the sizes) in the middle of each demand class.
DEMAND_CLASSES: dict[str, tuple[float, float]] = {
    "smooth": (1.0, 0.2), "erratic": (1.0, 1.0), "intermittent": (3.0, 0.2), "lumpy": (3.0, 1.0)}


def intermittent_demand(n_series: int = 40, n_days: int = 730, seed: int = 0,
                        start: str = "2023-01-02") -> pd.DataFrame:
    """Daily demand of ``n_series`` items, spread evenly over the four demand classes.

    Occurrence each day with probability ``1 / adi``; a size from a gamma with mean ``mu`` (1 to
    20, per item) and squared CV ``cv2``, rounded up to whole units; a weekly pattern lifts
    Saturdays by 30 %.

    Returns:
        ``unique_id, ds, y, kind`` with ``kind`` the demand class the item was drawn from.
    """
    rng = np.random.default_rng(seed)
    days = pd.date_range(start, periods=n_days, freq="D")
    weekly = np.where(days.dayofweek == 5, 1.3, 1.0)
    kinds = list(DEMAND_CLASSES)
    pieces = []
    for i in range(n_series):
        kind = kinds[i % len(kinds)]
        adi, cv2 = DEMAND_CLASSES[kind]
        mu = rng.uniform(1.0, 20.0)
        occurs = rng.random(n_days) < np.minimum(1.0, weekly / adi)
        shape = 1.0 / cv2
        sizes = np.ceil(rng.gamma(shape, mu / shape, n_days))
        pieces.append(pd.DataFrame({UNIQUE_ID: f"item_{i:03d}", DS: days,
                                    Y: np.where(occurs, sizes, 0.0), "kind": kind}))
    return pd.concat(pieces, ignore_index=True)


def decaying_base(n_weeks: int = 40, seed: int = 0, burst_customers: int = 5000,
                  weekly_churn: float = 0.03, start: str = "2024-01-05") -> pd.DataFrame:
    """Weekly revenue of a company whose customers all came in its first weeks, then leave.

    Customers arrive over the first four weeks, each leaves with probability ``weekly_churn``
    every week and spends a gamma amount (mean 50) in the weeks it stays.

    Returns:
        ``unique_id, ds, y`` of one series, ``total``.
    """
    rng = np.random.default_rng(seed)
    arrivals = np.bincount(rng.integers(0, 4, burst_customers), minlength=n_weeks)[:n_weeks]
    active = np.zeros(n_weeks)
    customers = 0.0
    for week in range(n_weeks):
        customers = rng.binomial(int(customers), 1 - weekly_churn) + arrivals[week]
        active[week] = customers
    revenue = np.array([rng.gamma(2.0, 25.0, int(n)).sum() for n in active])
    return pd.DataFrame({UNIQUE_ID: TOTAL, DS: pd.date_range(start, periods=n_weeks,
                                                                 freq="W-FRI"), Y: revenue})


def decaying_base_orders(n_weeks: int = 80, seed: int = 0, burst_customers: int = 4000,
                         weekly_new: float = 5.0, weekly_churn: float = 0.03,
                         weekly_purchases: float = 0.6, mean_spend: float = 50.0,
                         start: str = "2024-01-01") -> pd.DataFrame:
    """Order lines of a company whose customers came in a burst over its first four weeks,
    then a trickle of ``weekly_new`` a week, and leave as time passes.

    Each customer buys on arrival, then as a Poisson process of a rate drawn from a gamma
    (shape 1.5, mean ``weekly_purchases`` a week) until they leave, after an exponential
    lifetime of the same hazard ``weekly_churn`` for everyone, whether they buy or not; each
    purchase is worth a gamma amount (shape 4) around the customer's own mean, lognormal
    around ``mean_spend``. Nothing of this is the BG/NBD's own story (customers who leave only
    right after a purchase, at rates that differ between them).

    Returns:
        ``customer_id, ds, amount``, a line per purchase (``ds`` a day), sorted by ``ds``.
    """
    rng = np.random.default_rng(seed)
    days = 7.0 * n_weeks
    arrival = np.r_[rng.uniform(0, 28, burst_customers),
                    rng.uniform(28, days, int(weekly_new * (n_weeks - 4)))]
    n = len(arrival)
    rate = rng.gamma(1.5, weekly_purchases / 1.5 / 7, n)
    leave = np.minimum(arrival + rng.exponential(7 / weekly_churn, n), days)
    repeats = rng.poisson(rate * np.maximum(leave - arrival, 0))
    who = np.r_[np.arange(n), np.repeat(np.arange(n), repeats)]
    when = np.r_[arrival, arrival[who[n:]] + rng.uniform(0, 1, len(who) - n)
                 * (leave - arrival)[who[n:]]]
    spend = rng.lognormal(np.log(mean_spend) - 0.18, 0.6, n)  # 0.18 = 0.6^2 / 2: mean kept
    frame = pd.DataFrame({CUSTOMER_ID: who.astype(str),
                          DS: pd.Timestamp(start) + pd.to_timedelta(np.floor(when), "D"),
                          "amount": rng.gamma(4.0, spend[who] / 4.0)})
    return frame.sort_values(DS, kind="stable", ignore_index=True)


def stopping_and_new(n_series: int = 12, n_weeks: int = 156, seed: int = 0,
                     start: str = "2022-01-07", stop_weeks: tuple[int, ...] = (52,),
                     new_weeks: tuple[int, ...] = (13,)) -> pd.DataFrame:
    """Weekly seasonal series: a third stop before the end, a third start late, the rest run
    throughout.

    Args:
        stop_weeks: how many weeks before the end the stopped series stop selling, taken in
            turn by the stopped series (the default: all a year before the end).
        new_weeks: how many weeks of history the new series have at the end, taken in turn
            (the default: all 13). Staggered values let a benchmark meet new series at several
            ages at each of its origins.

    Returns:
        ``unique_id, ds, y, kind`` (``steady``, ``stopped`` or ``new``); a stopped series has
        zeros after its last sale, a new one has no rows before its first week.
    """
    rng = np.random.default_rng(seed)
    ds = pd.date_range(start, periods=n_weeks, freq="W-FRI")
    wave = 1 + 0.3 * np.sin(2 * np.pi * np.arange(n_weeks) / 52)
    pieces = []
    for i in range(n_series):
        kind = ("steady", "stopped", "new")[i % 3]
        y = 100.0 * (1 + i % 4) * wave * (1 + 0.05 * rng.standard_normal(n_weeks))
        frame = pd.DataFrame({UNIQUE_ID: f"{kind}_{i:02d}", DS: ds, Y: y, "kind": kind})
        if kind == "stopped":
            frame.loc[frame.index >= n_weeks - stop_weeks[i // 3 % len(stop_weeks)], Y] = 0.0
        elif kind == "new":
            frame = frame.iloc[n_weeks - new_weeks[i // 3 % len(new_weeks)]:]
        pieces.append(frame)
    return pd.concat(pieces, ignore_index=True)
