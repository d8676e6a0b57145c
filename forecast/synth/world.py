"""The world every customer lives in: organisation, product catalogue and calendar.

Built once per run from the options alone (its random streams do not involve customer blocks).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from forecast.config import SynthOptions
from forecast.synth import params
from forecast.synth.calendar import Calendar, build_calendar


@dataclass(frozen=True)
class Organisation:
    """Regions, teams and reps.

    Attributes:
        team_names: team ids like "East-1".
        team_region: region index per team.
        region_teams: (first team, number of teams) per region.
        rep_ids: rep ids like "R001".
        rep_team: team index per rep.
        team_reps: (first rep, number of reps) per team.
    """

    regions: tuple[str, ...]
    team_names: tuple[str, ...]
    team_region: np.ndarray
    region_teams: np.ndarray
    rep_ids: tuple[str, ...]
    rep_team: np.ndarray
    team_reps: np.ndarray


@dataclass(frozen=True)
class Catalogue:
    """Product lines and products.

    Attributes:
        product_line: line index per product (products are grouped by line).
        choice_keys: sorted keys to draw a product: the product's line index plus its
            cumulative popularity within the line, so ``searchsorted(keys, line + u)`` with
            ``u`` uniform on [0, 1) picks a product of that line by popularity.
        line_popularity: share of the average basket per line.
        line_value: expected list price of a line drawn at ``line_popularity``.
    """

    lines: tuple[str, ...]
    product_ids: tuple[str, ...]
    product_line: np.ndarray
    list_price: np.ndarray
    unit_cost: np.ndarray
    choice_keys: np.ndarray
    line_popularity: np.ndarray
    line_value: float


@dataclass(frozen=True)
class World:
    """Everything shared by all customer blocks."""

    options: SynthOptions
    calendar: Calendar
    organisation: Organisation
    catalogue: Catalogue

    @property
    def id_width(self) -> int:
        """Digits of the zero-padded customer number."""
        return max(7, len(str(self.options.customers)))


def world_rng(seed: int, stream: int) -> np.random.Generator:
    """Random stream of the world (not tied to any customer block)."""
    return np.random.default_rng([seed, params.WORLD_STREAM, stream])


def block_rng(seed: int, block: int, stream: int) -> np.random.Generator:
    """Random stream of one customer block."""
    return np.random.default_rng([seed, block, stream])


def reps_per_team(customers: int) -> int:
    """Typical team size: grows mildly with the customer base, within the allowed range."""
    low, high = params.REPS_PER_TEAM
    return int(np.clip(round(low + 1.5 * math.log10(max(customers, 1000) / 1000)), low, high))


def build_organisation(customers: int, rng: np.random.Generator) -> Organisation:
    """Regions with 2-3 teams each and 4-8 reps per team."""
    low_teams, high_teams = params.TEAMS_PER_REGION
    teams_per_region = rng.integers(low_teams, high_teams + 1, size=len(params.REGIONS))
    team_region = np.repeat(np.arange(len(params.REGIONS)), teams_per_region)
    team_names = tuple(
        f"{params.REGIONS[r]}-{k + 1}" for r, n in enumerate(teams_per_region) for k in range(n)
    )
    typical = reps_per_team(customers)
    low, high = params.REPS_PER_TEAM
    sizes = np.clip(typical + rng.integers(-1, 2, size=len(team_names)), low, high)
    rep_team = np.repeat(np.arange(len(team_names)), sizes)
    return Organisation(
        regions=params.REGIONS,
        team_names=team_names,
        team_region=team_region,
        region_teams=np.stack(
            [np.cumsum(teams_per_region) - teams_per_region, teams_per_region], axis=1
        ),
        rep_ids=tuple(f"R{i + 1:03d}" for i in range(rep_team.size)),
        rep_team=rep_team,
        team_reps=np.stack([np.cumsum(sizes) - sizes, sizes], 1),
    )


def build_catalogue(rng: np.random.Generator) -> Catalogue:
    """Products with log-uniform list prices, margins of 20-60 % and Zipf-like popularity."""
    lines = tuple(params.PRODUCT_LINES)
    specs = list(params.PRODUCT_LINES.values())
    product_line = np.repeat(np.arange(len(lines)), [spec[0] for spec in specs])
    low = np.log([spec[1] for spec in specs])[product_line]
    high = np.log([spec[2] for spec in specs])[product_line]
    list_price = np.round(np.exp(rng.uniform(low, high)), 2)
    margin = rng.uniform(*params.MARGIN_RANGE, size=product_line.size)
    unit_cost = np.round(list_price * (1.0 - margin), 2)
    popularity = 1.0 / (1.0 + rng.permutation(product_line.size) % 7)
    keys = np.empty(product_line.size)
    line_value = np.empty(len(lines))
    for line in range(len(lines)):
        members = product_line == line
        share = popularity[members] / popularity[members].sum()
        keys[members] = line + np.cumsum(share)
        keys[np.flatnonzero(members)[-1]] = line + 1.0
        line_value[line] = float(share @ list_price[members])
    line_popularity = rng.dirichlet(np.full(len(lines), 8.0))
    return Catalogue(
        lines=lines,
        product_ids=tuple(f"P{i + 1:04d}" for i in range(product_line.size)),
        product_line=product_line,
        list_price=list_price,
        unit_cost=unit_cost,
        choice_keys=keys,
        line_popularity=line_popularity,
        line_value=float(line_popularity @ line_value),
    )


def build_world(options: SynthOptions) -> World:
    """The organisation, catalogue and calendar of a run."""
    catalogue = build_catalogue(world_rng(options.seed, params.STREAM_CATALOGUE))
    calendar = build_calendar(
        options.end_date, options.years, catalogue.lines,
        world_rng(options.seed, params.STREAM_PROMOTIONS),
    )
    organisation = build_organisation(
        options.customers, world_rng(options.seed, params.STREAM_ORGANISATION)
    )
    return World(options, calendar, organisation, catalogue)


def products_table(catalogue: Catalogue) -> pa.Table:
    """Reference table: product_id, product_line, list_price, unit_cost."""
    return pa.table({
        "product_id": pa.array(catalogue.product_ids, pa.string()),
        "product_line": pa.array([catalogue.lines[i] for i in catalogue.product_line], pa.string()),
        "list_price": pa.array(catalogue.list_price, pa.float64()),
        "unit_cost": pa.array(catalogue.unit_cost, pa.float64()),
    })


def reps_table(organisation: Organisation) -> pa.Table:
    """Reference table: rep_id, team, region."""
    teams = organisation.rep_team
    return pa.table({
        "rep_id": pa.array(organisation.rep_ids, pa.string()),
        "team": pa.array([organisation.team_names[t] for t in teams], pa.string()),
        "region": pa.array(
            [organisation.regions[organisation.team_region[t]] for t in teams], pa.string()
        ),
    })
