"""Customers of one block: attributes, lifecycle (signup, decline, churn) and behaviour.

Day indices count from the first day of the data; a signup before the data has a negative
index, a churn after it an index of at least ``n_days``. Every customer has a churn day and a
decline before it; only those inside the data are visible.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from forecast.schemas import CHANNELS, SEGMENTS
from forecast.synth import params
from forecast.synth.columns import CUSTOMERS_SCHEMA, customer_ids, dates, take_strings
from forecast.synth.world import World, block_rng

NAME_PREFIXES = (
    "Golden", "Eastern", "Northern", "Bright", "Silver", "Great", "Pacific", "Jade", "Summit",
    "Harmony", "Red", "Blue", "Green", "Rising", "Grand", "Star", "Crystal", "Pearl", "Lotus",
    "Apex",
)
NAME_CORES = (
    "River", "Mountain", "Bridge", "Harbor", "Dragon", "Phoenix", "Bamboo", "Cloud", "Lake",
    "Ocean", "Garden", "Tower", "Valley", "Forest", "Horizon", "Stone", "Sun", "Wind", "Gate",
    "Peak",
)
NAME_SUFFIXES = (
    "Trading", "Industries", "Supplies", "Group", "Holdings", "Co.", "Technologies", "Services",
)
FREQUENCY, SATISFACTION, PRODUCT_MIX = 1, 2, 4  # driver bits, in the order of params.DRIVERS


@dataclass(frozen=True)
class CustomerBlock:
    """One block of customers as parallel arrays (``size`` entries, preference is (size, lines))."""

    block: int
    first: int
    segment: np.ndarray
    region: np.ndarray
    team: np.ndarray
    rep: np.ndarray
    industry: np.ndarray
    channel: np.ndarray
    signup: np.ndarray
    churn: np.ndarray
    active_from: np.ndarray
    active_to: np.ndarray
    base_rate: np.ndarray
    satisfaction: np.ndarray
    preference: np.ndarray
    favourite: np.ndarray
    decline_start: np.ndarray
    drivers: np.ndarray
    satisfaction_drop: np.ndarray
    dip_start: np.ndarray
    dip_end: np.ndarray
    dip_depth: np.ndarray
    dip_satisfaction_drop: np.ndarray
    name_parts: np.ndarray

    @property
    def size(self) -> int:
        return int(self.segment.size)

    def decline_progress(self, customer: np.ndarray, day: np.ndarray) -> np.ndarray:
        """0 before the decline starts, rising linearly to 1 at the churn day."""
        start = self.decline_start[customer]
        length = np.maximum(self.churn[customer] - start, 1)
        return np.clip((day - start) / length, 0.0, 1.0)

    def has_driver(self, customer: np.ndarray, bit: int) -> np.ndarray:
        return (self.drivers[customer] & bit) > 0

    def in_dip(self, customer: np.ndarray, day: np.ndarray) -> np.ndarray:
        return (day >= self.dip_start[customer]) & (day < self.dip_end[customer])


def block_count(customers: int) -> int:
    return -(-customers // params.BLOCK_CUSTOMERS)


def _organisation(world: World, rng: np.random.Generator, n: int) -> dict[str, np.ndarray]:
    org = world.organisation
    region = rng.choice(len(org.regions), size=n, p=params.REGION_WEIGHTS)
    first_team, n_teams = org.region_teams[region].T
    team = first_team + (rng.random(n) * n_teams).astype(np.int64)
    first_rep, n_reps = org.team_reps[team].T
    rep = first_rep + (rng.random(n) * n_reps).astype(np.int64)
    return {"region": region, "team": team, "rep": rep}


def _lifecycle(world: World, rng: np.random.Generator, segment: np.ndarray, sat: np.ndarray):
    """Signup, churn and decline-start days; churn hazard by segment, higher when unhappy."""
    n_days = world.calendar.n_days
    n = segment.size
    before = rng.random(n) < params.ACTIVE_AT_START_SHARE
    tenure = rng.integers(*params.PRE_START_TENURE_DAYS, size=n)
    signup = np.where(before, -tenure, rng.integers(0, n_days, size=n))
    yearly = -np.log1p(-np.asarray(params.CHURN_PER_YEAR))[segment]
    slope, spread = params.CHURN_SATISFACTION_SLOPE, params.SATISFACTION_SPREAD
    tilt = np.exp(-slope * (sat - params.SATISFACTION_CENTRE) - (slope * spread) ** 2 / 2)
    wait = np.ceil(rng.exponential(365.25 / (yearly * tilt)))
    wait = np.minimum(wait, n_days + 10_000).astype(np.int64)
    churn = np.where(before, np.maximum(wait, 1), signup + params.MIN_TENURE_DAYS + wait)
    decline = rng.integers(params.DECLINE_DAYS[0], params.DECLINE_DAYS[1] + 1, size=n)
    return signup, churn, np.maximum(churn - decline, signup)


def _drivers(rng: np.random.Generator, n: int) -> np.ndarray:
    active = rng.random((n, len(params.DRIVERS))) < params.DRIVER_PROBABILITY
    fallback = rng.integers(0, len(params.DRIVERS), size=n)
    none = ~active.any(axis=1)
    active[none, fallback[none]] = True
    return (active * (1 << np.arange(len(params.DRIVERS)))).sum(axis=1)


def _dips(rng: np.random.Generator, active_from: np.ndarray, active_to: np.ndarray):
    n = active_from.size
    has = (rng.random(n) < params.DIP_PROBABILITY) & (active_to > active_from)
    start = active_from + (rng.random(n) * (active_to - active_from)).astype(np.int64)
    length = rng.integers(params.DIP_DAYS[0], params.DIP_DAYS[1] + 1, size=n)
    depth = rng.uniform(*params.DIP_DEPTH, size=n)
    drop = rng.uniform(*params.DIP_SATISFACTION_DROP, size=n)
    drop *= rng.random(n) < params.DIP_SATISFACTION_PROBABILITY
    start = np.where(has, start, -1)
    return start, np.where(has, start + length, -1), depth, drop


def draw_customers(world: World, block: int) -> CustomerBlock:
    """Draw the customers of ``block`` (its own random stream, whatever the chunking)."""
    first = block * params.BLOCK_CUSTOMERS
    n = min(params.BLOCK_CUSTOMERS, world.options.customers - first)
    rng = block_rng(world.options.seed, block, params.STREAM_CUSTOMERS)
    segment = rng.choice(len(SEGMENTS), size=n, p=params.SEGMENT_SHARES)
    org = _organisation(world, rng, n)
    industry = rng.choice(len(params.INDUSTRIES), size=n, p=params.INDUSTRY_WEIGHTS)
    channel_u = rng.random(n)
    channel = (channel_u[:, None] > np.cumsum(params.CHANNEL_SHARES, axis=1)[segment]).sum(1)
    sigma = params.ORDERS_PER_YEAR_SIGMA
    base_rate = np.asarray(params.ORDERS_PER_YEAR)[segment] * rng.lognormal(-sigma**2 / 2, sigma, n)
    sat = np.clip(rng.normal(params.SATISFACTION_CENTRE, params.SATISFACTION_SPREAD, n),
                  *params.SATISFACTION_RANGE)
    signup, churn, decline_start = _lifecycle(world, rng, segment, sat)
    active_from = np.clip(signup, 0, world.calendar.n_days)
    active_to = np.clip(churn, active_from, world.calendar.n_days)
    alpha = params.LINE_PREFERENCE_CONCENTRATION * world.catalogue.line_popularity
    preference = rng.dirichlet(alpha, size=n)
    dip_start, dip_end, dip_depth, dip_drop = _dips(rng, active_from, active_to)
    names = rng.integers(0, [len(NAME_PREFIXES), len(NAME_CORES), len(NAME_SUFFIXES)], (n, 3))
    return CustomerBlock(
        block=block, first=first, segment=segment, industry=industry,
        channel=np.minimum(channel, len(CHANNELS) - 1), signup=signup, churn=churn,
        active_from=active_from, active_to=active_to, base_rate=base_rate, satisfaction=sat,
        preference=preference, favourite=preference.argmax(axis=1), decline_start=decline_start,
        drivers=_drivers(rng, n), satisfaction_drop=rng.uniform(*params.SATISFACTION_DROP, n),
        dip_start=dip_start, dip_end=dip_end, dip_depth=dip_depth, dip_satisfaction_drop=dip_drop,
        name_parts=names, **org,
    )


def customer_names(block: CustomerBlock) -> pa.Array:
    parts = [take_strings(words, block.name_parts[:, i])
             for i, words in enumerate((NAME_PREFIXES, NAME_CORES, NAME_SUFFIXES))]
    return pc.binary_join_element_wise(*parts, " ")


def customers_table(world: World, block: CustomerBlock, latest_score: np.ndarray) -> pa.Table:
    """CUSTOMERS rows of the block; ``latest_score`` is NaN for customers never surveyed."""
    org = world.organisation
    columns = {
        "customer_id": customer_ids(block.first, block.size, world.id_width),
        "name": customer_names(block),
        "segment": take_strings(SEGMENTS, block.segment),
        "region": take_strings(org.regions, block.region),
        "industry": take_strings(params.INDUSTRIES, block.industry),
        "signup_date": dates(world.calendar.start_epoch, block.signup),
        "satisfaction": pa.array(latest_score, pa.float64(), from_pandas=True),
        "rep_id": take_strings(org.rep_ids, block.rep),
        "channel": take_strings(CHANNELS, block.channel),
    }
    return pa.table(columns, schema=CUSTOMERS_SCHEMA)
