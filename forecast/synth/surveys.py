"""Satisfaction surveys of one customer block: every ~90 days while the customer is active."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from forecast.synth import params
from forecast.synth.columns import SURVEYS_SCHEMA, customer_ids, dates
from forecast.synth.customers import SATISFACTION, CustomerBlock
from forecast.synth.world import World, block_rng


def survey_days(world: World, block: CustomerBlock, rng: np.random.Generator) -> np.ndarray:
    """(customers, rounds) survey day of every possible round, before masking."""
    rounds = world.calendar.n_days // params.SURVEY_EVERY_DAYS + 3
    after_signup = block.signup + rng.integers(*params.SURVEY_FIRST_DAYS, size=block.size)
    phase = rng.integers(0, params.SURVEY_EVERY_DAYS, size=block.size)
    first = np.where(block.signup >= 0, after_signup, phase)
    jitter = rng.integers(
        -params.SURVEY_JITTER_DAYS, params.SURVEY_JITTER_DAYS + 1, size=(block.size, rounds)
    )
    return first[:, None] + params.SURVEY_EVERY_DAYS * np.arange(rounds) + jitter


def survey_scores(
    block: CustomerBlock, customer: np.ndarray, day: np.ndarray, noise: np.ndarray
) -> np.ndarray:
    """Score 0-10 (one decimal): baseline + noise, minus a satisfaction decline and dips."""
    decline = block.has_driver(customer, SATISFACTION) * block.satisfaction_drop[customer]
    decline = decline * block.decline_progress(customer, day)
    dip = block.in_dip(customer, day) * block.dip_satisfaction_drop[customer]
    raw = block.satisfaction[customer] + noise - decline - dip
    return np.clip(np.round(raw, 1), 0.0, 10.0)


def build_surveys(world: World, block: CustomerBlock) -> tuple[pa.Table, np.ndarray]:
    """SURVEYS rows of the block (by customer, then date) and each customer's latest score.

    Returns:
        The table, and per customer the last score on or before ``end_date`` (NaN if none).
    """
    rng = block_rng(world.options.seed, block.block, params.STREAM_SURVEYS)
    day = survey_days(world, block, rng)
    noise = rng.normal(0.0, params.SURVEY_NOISE, size=day.shape)
    customer = np.broadcast_to(np.arange(block.size)[:, None], day.shape)
    valid = (day >= block.active_from[:, None]) & (day < block.active_to[:, None])
    score = survey_scores(block, customer, day, noise)
    rounds = np.where(valid, np.arange(day.shape[1]), -1).max(axis=1)
    latest = np.where(
        rounds >= 0, score[np.arange(block.size), np.maximum(rounds, 0)], np.nan
    )
    table = pa.table({
        "customer_id": customer_ids(block.first, block.size, world.id_width).take(
            pa.array(customer[valid], pa.int64())),
        "survey_date": dates(world.calendar.start_epoch, day[valid]),
        "score": pa.array(score[valid], pa.float64()),
    }, schema=SURVEYS_SCHEMA)
    return table, latest
