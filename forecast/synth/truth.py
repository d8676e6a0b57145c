"""Ground truth of a run: each customer's lifecycle, and the calendar factors used.

Models are judged against these: churn labels and their behavioural drivers, and the
seasonality, trend, holiday and promotion effects a forecaster should recover.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from forecast.schemas import CHANNELS
from forecast.synth import params
from forecast.synth.calendar import channel_mix
from forecast.synth.columns import TRUTH_SCHEMA, customer_ids, dates, take_strings
from forecast.synth.customers import CustomerBlock
from forecast.synth.world import World

RATE_FORMULA = (
    "expected orders of a customer on a day = base_rate / 365.25"
    " x growth_per_year ** (days since trend.reference_date / 365.25)"
    " x monthly[month - 1]"
    " x sum over channels of channel_mix[primary channel][channel]"
    " x weekday[channel][weekday] x product of the channel's holiday factors on the day"
    " x sum over product lines of preference[line] x promotion uplift of the line"
    " x decline and dip multipliers (see ground_truth/customers.parquet)"
)


def driver_names(drivers: np.ndarray, visible: np.ndarray) -> pa.Array:
    """Comma-separated driver names per customer, null where ``visible`` is false."""
    by_mask = tuple(
        ",".join(d for i, d in enumerate(params.DRIVERS) if mask & (1 << i))
        for mask in range(1 << len(params.DRIVERS))
    )
    names = take_strings(by_mask, drivers)
    return pc.if_else(pa.array(visible), names, pa.scalar(None, pa.string()))


def truth_table(world: World, block: CustomerBlock) -> pa.Table:
    """Ground truth per customer; churn and decline dates are null when not inside the data.

    Columns: customer_id, signup_date, churned, churn_date (first day without the customer:
    no orders or surveys on or after it), decline_start (may precede the data, or belong to a
    churn just after ``end_date``), drivers, base_rate (orders per year at the start of the
    data, before trend, seasonality and any decline).
    """
    n_days = world.calendar.n_days
    churned = block.churn < n_days
    declining = block.decline_start < n_days
    start_epoch = world.calendar.start_epoch
    columns = {
        "customer_id": customer_ids(block.first, block.size, world.id_width),
        "signup_date": dates(start_epoch, block.signup),
        "churned": pa.array(churned),
        "churn_date": dates(start_epoch, np.minimum(block.churn, n_days), ~churned),
        "decline_start": dates(start_epoch, np.minimum(block.decline_start, n_days), ~declining),
        "drivers": driver_names(block.drivers, declining),
        "base_rate": pa.array(block.base_rate, pa.float64()),
    }
    return pa.table(columns, schema=TRUTH_SCHEMA)


def seasonality_truth(world: World) -> dict[str, Any]:
    """The calendar factors used to generate orders, as a JSON-serialisable document."""
    calendar = world.calendar
    mix = channel_mix()
    return {
        "start_date": calendar.start.isoformat(),
        "end_date": calendar.end.isoformat(),
        "formula": RATE_FORMULA,
        "trend": {
            "growth_per_year": params.GROWTH_PER_YEAR,
            "reference_date": calendar.start.isoformat(),
        },
        "monthly": list(params.MONTHLY),
        "weekday": {channel: list(params.WEEKDAY[channel]) for channel in CHANNELS},
        "weekday_order": "Monday first",
        "channel_mix": {
            primary: {c: float(mix[i, j]) for j, c in enumerate(CHANNELS)}
            for i, primary in enumerate(CHANNELS)
        },
        "holidays": [
            {"name": w.name, "start": w.start.isoformat(), "end": w.end.isoformat(),
             "factor": w.factor, "channels": list(w.channels)}
            for w in calendar.holidays
        ],
        "promotions": [
            {"start": p.start.isoformat(), "end": p.end.isoformat(),
             "product_lines": list(p.product_lines), "uplift": p.uplift, "discount": p.discount}
            for p in calendar.promotions
        ],
        "returns": {"share_of_lines": params.RETURN_RATE, "days_after": list(params.RETURN_DAYS)},
    }
