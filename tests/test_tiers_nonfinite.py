"""Customer tiers refuse a measure that is NaN or infinite, naming the column and a customer:
an infinite revenue made every other customer's revenue share 0."""

from __future__ import annotations

import pandas as pd
import pytest

from forecast.config import TiersConfig
from forecast.errors import ValidationError
from forecast.tiers import build_customer_tiers


def _measures(**overrides) -> pd.DataFrame:
    frame = pd.DataFrame({
        "customer_id": ["a", "b", "c"],
        "recency_days": [5, 40, 300],
        "frequency": [4, 2, 1],
        "monetary": [50.0, 20.0, 5.0],
        "revenue": [50.0, 20.0, 5.0],
        "revenue_prior": [40.0, 10.0, 5.0],
    })
    return frame.assign(**overrides)


@pytest.mark.parametrize("bad", [float("inf"), float("-inf"), float("nan")])
def test_a_non_finite_measure_is_refused_naming_column_and_customer(bad):
    with pytest.raises(ValidationError, match=r"'revenue'.*\b1\b.*'b'"):
        build_customer_tiers(_measures(revenue=[50.0, bad, 5.0]), TiersConfig())


def test_finite_measures_still_build():
    tiers = build_customer_tiers(_measures(), TiersConfig())
    assert len(tiers) == 3
