"""Orders of one customer block: order events, their lines, and returns.

Order events are an inhomogeneous Poisson process per customer and day, with the daily rate
``base_rate / 365.25 x level x channel mix x promotion uplift x decline x dip``. It is drawn by
thinning, which gives exactly independent Poisson counts per (customer, day) at a cost per
order instead of per customer-day: first a dominating rate that depends only on the customer's
base rate and primary channel (with the largest uplift of the day), whose events are placed by
inverse transform on its running sum; then each event is kept with probability
``actual rate / dominating rate``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from forecast.schemas import CHANNELS, SEGMENTS
from forecast.synth import params
from forecast.synth.calendar import channel_mix
from forecast.synth.columns import choose, customer_ids, dates, labels, numbered
from forecast.synth.customers import FREQUENCY, PRODUCT_MIX, CustomerBlock
from forecast.synth.world import World, block_rng


@dataclass(frozen=True)
class OrderBlock:
    """Orders of a block: the ORDERS rows, how many orders (not lines), revenue per team-month."""

    table: pa.Table
    orders: int
    revenue: np.ndarray


@dataclass
class Lines:
    """Order lines as parallel arrays; ``customer`` indexes the block, ``day`` the calendar."""

    customer: np.ndarray
    day: np.ndarray
    order_number: np.ndarray
    channel: np.ndarray
    product: np.ndarray
    quantity: np.ndarray
    unit_price: np.ndarray
    promo: np.ndarray
    is_return: np.ndarray

    def subset(self, index: np.ndarray) -> Lines:
        return Lines(**{k: v[index] for k, v in vars(self).items()})

    @staticmethod
    def concat(first: Lines, second: Lines) -> Lines:
        return Lines(**{k: np.concatenate([v, getattr(second, k)]) for k, v in vars(first).items()})


def keep_probability(
    world: World, block: CustomerBlock, customer: np.ndarray, day: np.ndarray
) -> np.ndarray:
    """Actual over dominating daily rate of each candidate event."""
    uplift = world.calendar.uplift[day]
    promotion = (block.preference[customer] * uplift).sum(axis=1) / uplift.max(axis=1)
    progress = block.decline_progress(customer, day)
    frequency = np.where(
        block.has_driver(customer, FREQUENCY), 1.0 - (1.0 - params.FREQUENCY_FLOOR) * progress, 1.0
    )
    dip = np.where(block.in_dip(customer, day), block.dip_depth[customer], 1.0)
    return promotion * frequency * dip


def draw_order_events(
    world: World, block: CustomerBlock, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """(customer, day) of every order, sorted by day then customer."""
    customers, days = [], []
    for channel in range(len(CHANNELS)):
        cumulative = world.calendar.cumulative[channel]
        members = np.flatnonzero(block.channel == channel)
        low = cumulative[block.active_from[members]]
        high = cumulative[block.active_to[members]]
        counts = rng.poisson(block.base_rate[members] / 365.25 * (high - low))
        customer = np.repeat(members, counts)
        target = np.repeat(low, counts) + rng.random(customer.size) * np.repeat(high - low, counts)
        day = np.searchsorted(cumulative, target, side="right") - 1
        customers.append(customer)
        days.append(np.clip(day, block.active_from[customer], block.active_to[customer] - 1))
    customer, day = np.concatenate(customers), np.concatenate(days)
    keep = rng.random(customer.size) < keep_probability(world, block, customer, day)
    customer, day = customer[keep], day[keep]
    order = np.lexsort((customer, day))
    return customer[order], day[order]


def _choose_products(
    world: World, block: CustomerBlock, rng: np.random.Generator,
    customer: np.ndarray, day: np.ndarray,
) -> np.ndarray:
    """Product of each line: line by the customer's preference (narrowing during a mix
    decline) times the day's promotion uplift, then product by popularity within the line."""
    shift = block.has_driver(customer, PRODUCT_MIX) * block.decline_progress(customer, day)
    shift *= params.MIX_CONCENTRATION
    weights = block.preference[customer] * (1.0 - shift)[:, None]
    weights[np.arange(customer.size), block.favourite[customer]] += shift
    weights *= world.calendar.uplift[day]
    line = choose(weights, rng.random(customer.size))
    keys = world.catalogue.choice_keys
    return np.searchsorted(keys, line + rng.random(customer.size), side="right")


def draw_lines(
    world: World, block: CustomerBlock, rng: np.random.Generator, first_number: int
) -> Lines:
    """Order lines of the block; orders are numbered from ``first_number`` in event order."""
    customer, day = draw_order_events(world, block, rng)
    segment = block.segment[customer]
    n_lines = 1 + choose(np.asarray(params.LINES_PER_ORDER)[segment], rng.random(customer.size))
    weights = channel_mix()[block.channel[customer]] * world.calendar.channel_factor[day]
    channel = choose(weights, rng.random(customer.size))
    number = first_number + np.arange(customer.size)
    customer, day, channel, number, segment = (
        np.repeat(a, n_lines) for a in (customer, day, channel, number, segment)
    )
    product = _choose_products(world, block, rng, customer, day)
    # An order lists each product once: a repeated draw within an order is dropped.
    pair = number.astype(np.int64) * (int(product.max(initial=0)) + 1) + product
    keep = np.sort(np.unique(pair, return_index=True)[1])
    customer, day, channel, number, segment, product = (
        a[keep] for a in (customer, day, channel, number, segment, product)
    )
    catalogue, n = world.catalogue, customer.size
    quantity = np.ceil(rng.lognormal(
        np.log(np.asarray(params.QUANTITY_MEDIAN)[segment]), params.QUANTITY_SIGMA, n))
    discount = world.calendar.discount[day, catalogue.product_line[product]]
    noise = 1.0 + rng.normal(0.0, params.PRICE_NOISE, n)
    price = catalogue.list_price[product] * np.asarray(params.PRICE_FACTOR)[segment]
    unit_price = np.round(price * (1.0 - discount) * noise, 2)
    return Lines(customer, day, number, channel, product, quantity, unit_price, discount > 0,
                 np.zeros(n, dtype=bool))


def draw_returns(block: CustomerBlock, rng: np.random.Generator, lines: Lines) -> Lines:
    """Returns of some lines, 3-30 days later while the customer is still active."""
    n = lines.customer.size
    chosen = rng.random(n) < params.RETURN_RATE
    lag = rng.integers(params.RETURN_DAYS[0], params.RETURN_DAYS[1] + 1, size=n)
    everything = rng.random(n) < params.RETURN_ALL_PROBABILITY
    part = np.minimum(np.ceil(lines.quantity * rng.uniform(0.2, 0.9, size=n)), lines.quantity)
    day = lines.day + lag
    keep = np.flatnonzero(chosen & (day < block.active_to[lines.customer]))
    returned = lines.subset(keep)
    returned.day = day[keep]
    returned.quantity = -np.where(everything, lines.quantity, part)[keep]
    returned.is_return = np.ones(keep.size, dtype=bool)
    return returned


def order_ids(number: np.ndarray, is_return: np.ndarray) -> pa.Array:
    """"O" + order number, and "RO" + the original order number for returns."""
    ids = numbered("O", number)
    returned = np.flatnonzero(is_return)
    if returned.size == 0:
        return ids
    prefixed = pc.binary_replace_slice(ids.take(pa.array(returned)), 0, 0, "R")
    return pc.replace_with_mask(ids, pa.array(is_return), prefixed)


def orders_table(world: World, block: CustomerBlock, lines: Lines) -> pa.Table:
    """ORDERS rows (without ``store``) of the given lines, in their order; low-cardinality
    string columns are dictionary-encoded (``ORDERS_SCHEMA`` otherwise)."""
    org, catalogue = world.organisation, world.catalogue
    c = lines.customer
    columns = {
        "order_id": order_ids(lines.order_number, lines.is_return),
        "order_date": dates(world.calendar.start_epoch, lines.day),
        "customer_id": customer_ids(block.first, block.size, world.id_width).take(c),
        "product_id": labels(catalogue.product_ids, lines.product),
        "product_line": labels(catalogue.lines, catalogue.product_line[lines.product]),
        "channel": labels(CHANNELS, lines.channel),
        "region": labels(org.regions, block.region[c]),
        "team": labels(org.team_names, block.team[c]),
        "rep_id": labels(org.rep_ids, block.rep[c]),
        "segment": labels(SEGMENTS, block.segment[c]),
        "quantity": pa.array(lines.quantity, pa.float64()),
        "unit_price": pa.array(lines.unit_price, pa.float64()),
        "amount": pa.array(np.round(lines.quantity * lines.unit_price, 2), pa.float64()),
        "unit_cost": pa.array(catalogue.unit_cost[lines.product], pa.float64()),
        "promo": pa.array(lines.promo, pa.bool_()),
    }
    return pa.table(columns)


def team_month_revenue(world: World, block: CustomerBlock, lines: Lines) -> np.ndarray:
    """(teams, data months) net revenue of the lines, returns included."""
    n_teams = len(world.organisation.team_names)
    n_months = world.calendar.n_data_months
    cell = block.team[lines.customer] * n_months + world.calendar.month_index[lines.day]
    amount = np.round(lines.quantity * lines.unit_price, 2)
    totals = np.bincount(cell, weights=amount, minlength=n_teams * n_months)
    return totals.reshape(n_teams, n_months)


def build_orders(world: World, block: CustomerBlock, first_number: int) -> OrderBlock:
    """Orders and returns of a block, sorted by order date (returns after orders of a day)."""
    rng = block_rng(world.options.seed, block.block, params.STREAM_ORDERS)
    lines = draw_lines(world, block, rng, first_number)
    # Orders are numbered consecutively, so the last number tells how many there are.
    orders = int(lines.order_number[-1]) - first_number + 1 if lines.order_number.size else 0
    everything = Lines.concat(lines, draw_returns(block, rng, lines))
    everything = everything.subset(np.argsort(everything.day, kind="stable"))
    return OrderBlock(
        table=orders_table(world, block, everything),
        orders=orders,
        revenue=team_month_revenue(world, block, everything),
    )
