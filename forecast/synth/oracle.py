"""The churn oracle: each customer's true probability of the churn label, from the generator.

The churn label of a snapshot is "no purchase in ``[cutoff, cutoff + horizon_days)``". The
oracle gives its probability conditional on what the generator knows about the customer up to
the cutoff: segment, base order rate (see ``knows_rate``), primary channel, basket preference, baseline
satisfaction (the churn hazard), drivers, a dip under way, and where the lifecycle stands
(churned already, declining since a known day, or not yet declining). What happens after the
cutoff is integrated over the generator's own distributions:

* churned before the cutoff: probability 1 (no orders after the churn day);
* declining since day ``D``: the decline length ``L`` is uniform on ``DECLINE_DAYS`` given
  ``D + L > cutoff`` (weighted by the exponential churn-time density at ``D + L``); the churn
  day is ``D + L``;
* not yet declining: ``L`` uniform, the churn wait exponential with the customer's hazard,
  conditioned on the decline starting after the cutoff (memoryless).

For each of ``samples`` stratified draws of that future, the expected number of orders in the
window is the integral of the generator's daily order rate (``orders.keep_probability`` times
the dominating calendar rate), and the probability of none is ``exp(-expected)`` (orders are a
Poisson process). Dips that start after the cutoff are future events the oracle does not know.

Two oracles come from this: with ``knows_rate`` (the full oracle) the customer's own purchase
rate is known, so the oracle also predicts the Poisson silence of a customer who is still
there; a snapshot only estimates that rate from a few past orders, so no model reaches this
ceiling. Without it (the churn-hazard oracle) the oracle knows the churn hazard and the
lifecycle exactly but the purchase rate only as the generator draws it for the segment
(lognormal, integrated by quadrature): the truth about churn, with the individual order rate a
model has to learn. A churn model is measured against the churn-hazard oracle and should stay
below the full one.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import numpy as np
import pandas as pd
from scipy.special import erfinv

from forecast.config import SynthOptions
from forecast.synth import params
from forecast.synth.customers import FREQUENCY, CustomerBlock, block_count, draw_customers
from forecast.synth.world import World, build_world

ORACLE_SEED = 20_240_601


def churn_oracle(options: SynthOptions, cutoffs: list[date], horizon_days: int = 90,
                 samples: int = 64, knows_rate: bool = True) -> pd.DataFrame:
    """True probability of the churn label per customer and cutoff.

    Args:
        options: the options the company was generated with (same seed, size, years, end).
        cutoffs: snapshot cutoffs; each label window must end within the data.
        horizon_days: the label window.
        samples: stratified draws of each customer's future lifecycle.
        knows_rate: use each customer's own purchase rate (the full oracle); otherwise its
            segment's distribution of rates (the churn-hazard oracle).

    Returns:
        One row per customer signed up before each cutoff: ``customer_id, cutoff`` (datetime64),
        ``oracle_proba`` (probability of no purchase in the window), ``state`` (``churned``,
        ``declining`` or ``active`` at the cutoff).

    Raises:
        ValueError: a cutoff's label window runs past the end of the data.
    """
    world = build_world(options)
    n_days = world.calendar.n_days
    frames = []
    for cutoff in sorted(set(cutoffs)):
        day = (cutoff - world.calendar.start).days
        if day < 0 or day + horizon_days > n_days:
            raise ValueError(f"cutoff {cutoff}: its {horizon_days}-day label window is not "
                             f"inside the data ({world.calendar.start}..{world.calendar.end})")
        for index in range(block_count(options.customers)):
            block = draw_customers(world, index)
            frames.append(_block_oracle(world, block, cutoff, day, horizon_days, samples,
                                        knows_rate))
    return pd.concat(frames, ignore_index=True)


def hazard_per_day(block: CustomerBlock) -> np.ndarray:
    """Daily churn hazard per customer: the segment's yearly rate tilted by satisfaction, as
    ``customers._lifecycle`` draws the churn wait."""
    yearly = -np.log1p(-np.asarray(params.CHURN_PER_YEAR))[block.segment]
    slope, spread = params.CHURN_SATISFACTION_SLOPE, params.SATISFACTION_SPREAD
    tilt = np.exp(-slope * (block.satisfaction - params.SATISFACTION_CENTRE)
                  - (slope * spread) ** 2 / 2)
    return yearly * tilt / 365.25


def base_rate_in_window(world: World, block: CustomerBlock, day: int, horizon: int
                        ) -> np.ndarray:
    """(customers, horizon) expected orders per day before any decline: base rate x calendar
    x promotion x a dip that started by the cutoff."""
    calendar = world.calendar
    days = day + np.arange(horizon)
    dominating = np.diff(calendar.cumulative[:, day:day + horizon + 1], axis=1)
    uplift = calendar.uplift[days]
    promotion = block.preference @ uplift.T / uplift.max(axis=1)
    rate = block.base_rate[:, None] / 365.25 * dominating[block.channel] * promotion
    known_dip = (block.dip_start >= 0) & (block.dip_start <= day)
    in_dip = known_dip[:, None] & (days >= block.dip_start[:, None]) & (
        days < block.dip_end[:, None])
    rate = np.where(in_dip, rate * block.dip_depth[:, None], rate)
    return np.where(days >= block.active_from[:, None], rate, 0.0)


def _stratified(rng: np.random.Generator, n: int, samples: int) -> np.ndarray:
    """(n, samples) uniforms, one in each 1/samples stratum per row, strata shuffled."""
    strata = (np.arange(samples) + rng.random((n, samples))) / samples
    return rng.permuted(strata, axis=1)


def _future_lifecycle(block: CustomerBlock, day: int, samples: int, rng: np.random.Generator
                      ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(customers, samples) decline start, churn day and weight of each drawn future."""
    low, high = params.DECLINE_DAYS
    hazard = hazard_per_day(block)[:, None]
    declining = (block.decline_start <= day)[:, None]
    # Declining: L uniform on [max(low, day - D + 1), high], churn = D + L.
    shortest = np.maximum(low, day - block.decline_start + 1)[:, None]
    u = _stratified(rng, block.size, samples)
    length_declining = np.floor(shortest + u * (high + 1 - shortest))
    churn_declining = block.decline_start[:, None] + length_declining
    weight = np.where(declining, np.exp(-hazard * (length_declining - low)), 1.0)
    # Not yet declining: L uniform, the wait exponential given decline start > cutoff.
    length = np.floor(low + _stratified(rng, block.size, samples) * (high + 1 - low))
    first = np.where(block.signup >= 0, block.signup + params.MIN_TENURE_DAYS, 0)[:, None]
    floor = np.maximum(day + length - first, 0.0)
    wait = floor + np.ceil(-np.log1p(-_stratified(rng, block.size, samples)) / hazard)
    churn_later = first + np.maximum(wait, 1.0)
    start_later = np.maximum(churn_later - length, block.signup[:, None])
    start = np.where(declining, block.decline_start[:, None], start_later)
    return start, np.where(declining, churn_declining, churn_later), weight


def rate_multipliers(block: CustomerBlock, knows_rate: bool, points: int = 32) -> np.ndarray:
    """(customers, points) multipliers of the unit order rate: the customer's own base rate, or
    quantiles of its segment's lognormal base-rate distribution when the rate is not known."""
    if knows_rate:
        return block.base_rate[:, None]
    sigma = params.ORDERS_PER_YEAR_SIGMA
    normal = np.sqrt(2) * erfinv(2 * (np.arange(points) + 0.5) / points - 1)
    mean = np.asarray(params.ORDERS_PER_YEAR)[block.segment][:, None]
    return mean * np.exp(-sigma**2 / 2 + sigma * normal[None, :])


def _block_oracle(world: World, block: CustomerBlock, cutoff: date, day: int, horizon: int,
                  samples: int, knows_rate: bool) -> pd.DataFrame:
    rng = np.random.default_rng([ORACLE_SEED, block.block, day])
    present = block.signup < day
    unit = replace(block, base_rate=np.ones(block.size))
    rate = base_rate_in_window(world, unit, day, horizon)
    rates = rate_multipliers(block, knows_rate)
    start, churn, weight = _future_lifecycle(block, day, samples, rng)
    frequency = block.has_driver(np.arange(block.size), FREQUENCY)[:, None]
    days = day + np.arange(horizon)
    none = np.zeros((block.size, samples))
    for k in range(samples):
        length = np.maximum(churn[:, k] - start[:, k], 1.0)[:, None]
        progress = np.clip((days - start[:, k, None]) / length, 0.0, 1.0)
        multiplier = np.where(frequency, 1.0 - (1.0 - params.FREQUENCY_FLOOR) * progress, 1.0)
        alive = days < churn[:, k, None]
        expected = (rate * multiplier * alive).sum(axis=1)
        none[:, k] = np.exp(-expected[:, None] * rates).mean(axis=1)
    proba = (none * weight).sum(axis=1) / weight.sum(axis=1)
    gone = block.churn <= day
    proba = np.where(gone, 1.0, proba)
    state = np.where(gone, "churned", np.where(block.decline_start <= day, "declining", "active"))
    ids = [f"C{i + 1:0{world.id_width}d}" for i in range(block.first, block.first + block.size)]
    frame = pd.DataFrame({"customer_id": ids, "cutoff": pd.Timestamp(cutoff),
                          "oracle_proba": proba, "state": state})
    return frame[present].reset_index(drop=True)
