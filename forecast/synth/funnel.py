"""Sales opportunities of one customer block, as stage-event history.

Opportunities open while the customer is active, pass through the four open stages in order
and are won after negotiation or lost at any stage. A customer who churns loses its open deals
on the churn day; deals still open at ``end_date`` keep only the stages entered so far.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from forecast.schemas import CHANNELS, FUNNEL_STAGES, SEGMENTS
from forecast.synth import params
from forecast.synth.columns import customer_ids, dates, labels, numbered
from forecast.synth.customers import CustomerBlock
from forecast.synth.world import World, block_rng

OPEN_STAGES = 4
WON, LOST = FUNNEL_STAGES.index("won"), FUNNEL_STAGES.index("lost")


def deal_values(world: World, block: CustomerBlock, customer: np.ndarray) -> np.ndarray:
    """Expected revenue of ``DEAL_MONTHS`` months of each customer's business."""
    segment = block.segment[customer]
    lines = np.asarray(params.LINES_PER_ORDER) @ np.arange(1, 4)
    quantity = np.asarray(params.QUANTITY_MEDIAN) * np.exp(params.QUANTITY_SIGMA**2 / 2) + 0.5
    per_order = lines * quantity * np.asarray(params.PRICE_FACTOR) * world.catalogue.line_value
    return block.base_rate[customer] / 12.0 * params.DEAL_MONTHS * per_order[segment]


def _open_deals(block: CustomerBlock, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """(customer, day opened) of every opportunity, sorted by day then customer."""
    span = block.active_to - block.active_from
    rate = np.asarray(params.OPPORTUNITIES_PER_YEAR)[block.segment] * span / 365.25
    customer = np.repeat(np.arange(block.size), rng.poisson(rate))
    opened = block.active_from[customer] + (rng.random(customer.size) * span[customer]).astype(
        np.int64
    )
    order = np.lexsort((customer, opened))
    return customer[order], opened[order]


def _stage_days(block: CustomerBlock, rng: np.random.Generator, customer: np.ndarray):
    """(deals, stages) days spent in each open stage, and the median days of each."""
    factor = np.asarray(params.SEGMENT_CYCLE_FACTOR)[block.segment[customer]]
    median = np.asarray(params.STAGE_DAYS_MEDIAN)[None, :] * factor[:, None]
    noise = rng.lognormal(0.0, params.STAGE_DAYS_SIGMA, size=median.shape)
    return np.clip(np.round(median * noise), *params.STAGE_DAYS_RANGE).astype(np.int64), median


def _outcomes(block, rng, customer, entry, days) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Last open stage entered, closing day and whether won, with churn cutting deals short."""
    fails = rng.random(entry.shape) >= np.asarray(params.STAGE_ADVANCE)
    exit_stage = np.where(fails.any(axis=1), fails.argmax(axis=1), OPEN_STAGES)
    last = np.minimum(exit_stage, OPEN_STAGES - 1)
    rows = np.arange(customer.size)
    close = entry[rows, last] + days[rows, last]
    churn = block.churn[customer]
    cut = close >= churn
    last = np.where(cut, (entry < churn[:, None]).sum(axis=1) - 1, last)
    return last, np.where(cut, churn, close), (exit_stage == OPEN_STAGES) & ~cut


def build_opportunities(
    world: World, block: CustomerBlock, first_number: int
) -> tuple[pa.Table, int]:
    """OPPORTUNITIES rows of the block and the number of opportunities (numbered from
    ``first_number``); rows are grouped by opportunity, stages in order. Low-cardinality
    string columns are dictionary-encoded (``OPPORTUNITIES_SCHEMA`` otherwise)."""
    rng = block_rng(world.options.seed, block.block, params.STREAM_OPPORTUNITIES)
    customer, opened = _open_deals(block, rng)
    days, median = _stage_days(block, rng, customer)
    entry = opened[:, None] + np.concatenate(
        [np.zeros((customer.size, 1), np.int64), np.cumsum(days, axis=1)[:, :-1]], axis=1
    )
    last, close, won = _outcomes(block, rng, customer, entry, days)
    value = deal_values(world, block, customer) * rng.lognormal(
        -params.DEAL_SIGMA**2 / 2, params.DEAL_SIGMA, customer.size)
    spread = params.ESTIMATE_SIGMA * (OPEN_STAGES - np.arange(OPEN_STAGES)) / OPEN_STAGES
    estimate = value[:, None] * np.exp(rng.normal(0.0, 1.0, entry.shape) * spread)
    remaining = np.cumsum(median[:, ::-1], axis=1)[:, ::-1]
    rows = np.arange(customer.size)
    final_amount = np.where(won, value, estimate[rows, last])
    stage_date = np.concatenate([entry, close[:, None]], axis=1)
    grid = {
        "stage": np.concatenate([np.broadcast_to(np.arange(OPEN_STAGES), entry.shape),
                                 np.where(won, WON, LOST)[:, None]], axis=1),
        "amount": np.round(np.concatenate([estimate, final_amount[:, None]], axis=1)),
        "expected": np.concatenate([entry + np.round(remaining).astype(np.int64),
                                    close[:, None]], axis=1),
    }
    entered = np.concatenate([np.arange(OPEN_STAGES) <= last[:, None],
                              np.ones((customer.size, 1), bool)], axis=1)
    keep = entered & (stage_date < world.calendar.n_days)
    deal = np.broadcast_to(rows[:, None], keep.shape)[keep]
    table = _table(world, block, customer[deal], first_number + deal,
                   {"stage_date": stage_date[keep], **{k: v[keep] for k, v in grid.items()}})
    return table, int(customer.size)


def _table(world: World, block: CustomerBlock, customer: np.ndarray, number: np.ndarray,
           values: dict[str, np.ndarray]) -> pa.Table:
    org, start_epoch = world.organisation, world.calendar.start_epoch
    columns = {
        "opportunity_id": numbered("OP", number),
        "customer_id": customer_ids(block.first, block.size, world.id_width).take(
            pa.array(customer, pa.int64())),
        "rep_id": labels(org.rep_ids, block.rep[customer]),
        "team": labels(org.team_names, block.team[customer]),
        "region": labels(org.regions, block.region[customer]),
        "channel": labels(CHANNELS, block.channel[customer]),
        "segment": labels(SEGMENTS, block.segment[customer]),
        "stage": labels(FUNNEL_STAGES, values["stage"]),
        "stage_date": dates(start_epoch, values["stage_date"]),
        "amount": pa.array(values["amount"], pa.float64()),
        "expected_close_date": dates(start_epoch, values["expected"]),
    }
    return pa.table(columns)
