"""Monthly revenue targets per team, set the way a sales organisation would set them.

A month's target is the team's realised revenue in the same month a year earlier times growth
(with a little negotiation noise); in the first year, without a year-earlier month, it is that
month's own realised revenue times U(0.9, 1.15). Targets cover every data month and the months
just after ``end_date``.
"""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pyarrow as pa

from forecast.synth import params
from forecast.synth.columns import TARGETS_SCHEMA, take_strings
from forecast.synth.world import World, world_rng


def full_months(start: date, end: date, n_months: int) -> np.ndarray:
    """Whether each data month is covered from its first to its last day."""
    full = np.ones(n_months, dtype=bool)
    full[0] = start.day == 1
    full[-1] &= (end + timedelta(days=1)).day == 1
    return full


def target_values(world: World, revenue: np.ndarray) -> np.ndarray:
    """(teams, months incl. ahead) targets from (teams, data months) realised revenue."""
    n_teams, n_months = revenue.shape
    total = n_months + params.TARGET_MONTHS_AHEAD
    rng = world_rng(world.options.seed, params.STREAM_TARGETS)
    noise = rng.lognormal(0.0, params.TARGET_NOISE, size=(n_teams, total))
    first_year = rng.uniform(*params.FIRST_YEAR_TARGET_RANGE, size=(n_teams, total))
    month = np.arange(total)
    prior = month - 12
    full = full_months(world.calendar.start, world.calendar.end, n_months)
    has_prior = (prior >= 0) & full[np.clip(prior, 0, n_months - 1)]
    from_prior = revenue[:, np.clip(prior, 0, n_months - 1)] * params.TARGET_GROWTH * noise
    from_same = revenue[:, np.clip(month, 0, n_months - 1)] * first_year
    use_prior = has_prior | (month >= n_months)
    return np.round(np.where(use_prior, from_prior, from_same))


def build_targets(world: World, revenue: np.ndarray) -> pa.Table:
    """TARGETS rows (period, region, team, rep_id null, target), by period then team.

    Args:
        world: the run's world.
        revenue: (teams, data months) realised net revenue, accumulated over all blocks.
    """
    org = world.organisation
    values = target_values(world, revenue)
    n_teams, total = values.shape
    month = np.repeat(np.arange(total), n_teams)
    team = np.tile(np.arange(n_teams), total)
    periods = [world.calendar.month_starts[m] for m in range(total)]
    return pa.table({
        "period": pa.array(periods, pa.date32()).take(pa.array(month)),
        "region": take_strings(org.regions, org.team_region[team]),
        "team": take_strings(org.team_names, team),
        "rep_id": pa.nulls(month.size, pa.string()),
        "target": pa.array(values.T.ravel(), pa.float64()),
    }, schema=TARGETS_SCHEMA)
