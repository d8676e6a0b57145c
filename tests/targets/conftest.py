"""A tiny company for the targets tests: two regions with forecasts, three teams by history.

Forecast of 2027-Q1 (reconciled: regions add up to the company):

    unit    quarter (sd)   Jan   Feb   Mar   month sd
    total   1000 (100)     300   300   400   57.735
    North    600 (80)      200   200   200   46.188
    South    400 (60)      100   100   200   34.641

Trailing revenue: North|N1 300, North|N2 100, South|S1 50. Last year's Q1: N1 100 a month,
S1 50 a month (450 in all). Weekly forecast: 77 a week for the company (60 % North, 40 % South),
weeks starting on Mondays from 2026-12-28.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from forecast.targets.plan import PlanInputs

MONTHS = ["2027-01-01", "2027-02-01", "2027-03-01"]
SERIES = [("total", "total", None, 1000.0, [300.0, 300.0, 400.0], 100.0),
          ("North", "region", "North", 600.0, [200.0, 200.0, 200.0], 80.0),
          ("South", "region", "South", 400.0, [100.0, 100.0, 200.0], 60.0)]


def tiny_forecast() -> pd.DataFrame:
    rows = []
    for unique_id, grain, region, quarter, months, sd in SERIES:
        base = {"unique_id": unique_id, "grain": grain, "region": region, "channel": None}
        rows.append({**base, "period_type": "quarter", "period": pd.Timestamp(MONTHS[0]),
                     "yhat": quarter, "yhat_sd": sd})
        rows += [{**base, "period_type": "month", "period": pd.Timestamp(month), "yhat": value,
                  "yhat_sd": sd / np.sqrt(3)} for month, value in zip(MONTHS, months, strict=True)]
    return pd.DataFrame(rows)


def tiny_weekly() -> pd.DataFrame:
    rows = []
    for unique_id, grain, region, share in (("total", "total", None, 1.0),
                                            ("North", "region", "North", 0.6),
                                            ("South", "region", "South", 0.4)):
        for ds in pd.date_range("2026-12-28", "2027-03-29", freq="W-MON"):
            rows.append({"unique_id": unique_id, "grain": grain, "region": region, "ds": ds,
                         "yhat": 77.0 * share, "yhat_sd": 10.0 * share})
    return pd.DataFrame(rows)


def tiny_history() -> pd.DataFrame:
    return pd.DataFrame({"region": ["North", "North", "South"], "team": ["N1", "N2", "S1"],
                         "rep_id": [None] * 3, "revenue": [300.0, 100.0, 50.0]})


def tiny_last_year() -> pd.DataFrame:
    return pd.DataFrame({"month": pd.to_datetime(MONTHS * 2),
                         "region": ["North"] * 3 + ["South"] * 3,
                         "team": ["N1"] * 3 + ["S1"] * 3, "rep_id": [None] * 6,
                         "revenue": [100.0] * 3 + [50.0] * 3})


@pytest.fixture
def tiny_inputs() -> PlanInputs:
    return PlanInputs(tiny_forecast(), tiny_history(), tiny_last_year(), tiny_weekly())
