"""The customer-base candidate in the pipeline: the customers' purchase days behind every
series read from the warehouse, and the candidate backtested beside the others."""

from __future__ import annotations

import pytest

from forecast import factory
from forecast.config import RevenueConfig, SynthOptions
from forecast.errors import ConfigError
from forecast.io import warehouse
from forecast.io.ingest import ingest
from forecast.pipeline import build_series, demo_config
from forecast.pipeline.revenue import load_activity, load_series, train_revenue
from forecast.synth import generate_company


def test_customer_base_without_activity_is_a_config_error():
    config = RevenueConfig(candidates=["customer_base"])
    with pytest.raises(ConfigError, match="customer_base needs the customers' purchases"):
        factory.revenue_candidates(config, "W-MON", 13, None)


def test_activity_adds_up_to_each_series_and_the_candidate_is_backtested(tmp_path):
    generate_company(SynthOptions(customers=400, years=2, seed=5), tmp_path / "data")
    config = demo_config(tmp_path / "data", tmp_path / "ws")
    ingest(config)
    build_series(config)
    with warehouse.connect(config.workspace, read_only=True) as con:
        frame, series = load_series(con, config)
        activity = load_activity(con, series).frame
        with_customer = con.execute(
            "SELECT sum(amount) FROM orders WHERE customer_id IS NOT NULL").fetchone()[0]
    # Every series has its customers' days, and the total's are every order line's.
    assert set(activity["unique_id"]) == set(series["unique_id"])
    totals = activity.groupby("unique_id")["amount"].sum()
    assert totals["total"] == pytest.approx(with_customer)
    bottom = series.loc[series["grain"] == series["grain"].iloc[-1], "unique_id"]
    assert totals[bottom].sum() == pytest.approx(with_customer)
    revenue = config.revenue.model_copy(update={"candidates": ("seasonal_naive",
                                                                "customer_base")})
    result = train_revenue(config.model_copy(update={"revenue": revenue}))
    assert "customer_base" in {row["model"] for row in result.pooled}
    assert "customer_base" not in result.dropped
