"""The default revenue horizon reaches the end of the quarter `forecast targets --period next`
plans, wherever the data end: `forecast run` sets next quarter's targets with default settings.

Regression: the default horizon was one quarter (13 weeks) from the first forecast week. Data
ending partway through a quarter, or partway through a week (whose partial week the series
leave out), left the forecast short of the next quarter's end, and the chain marked targets,
its headline deliverable, "not applicable" (Superstore: orders to Friday 2022-12-30, forecast
weeks from Monday 12-26, 13 weeks to 2023-03-26).
"""

from __future__ import annotations

import json

import pytest
import yaml
from click.testing import CliRunner
from synthetic_company import company_config

from forecast.cli import main
from forecast.config import SynthOptions


@pytest.fixture(scope="module")
def mid_quarter_company(tmp_path_factory):
    """The synthetic company's orders up to Wednesday 2026-10-28, weekly series, the default
    revenue horizon and two quick candidates."""
    root = tmp_path_factory.mktemp("midquarter")
    config = company_config(root, SynthOptions(customers=80, years=2, seed=5),
                            {"column": "order_date", "op": "le", "value": "2026-10-28"})
    config["features"]["series"]["grains"] = [[], ["region"]]
    config["features"]["customers"].pop("cutoffs", None)  # chosen from the data
    config["revenue"] = {"candidates": ["naive", "seasonal_naive"]}  # horizon: the default
    path = root / "company.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def test_default_horizon_reaches_next_quarter_and_targets_are_set(mid_quarter_company):
    result = CliRunner().invoke(main, ["run", "--config", str(mid_quarter_company), "--until",
                                       "targets", "--json"])
    assert result.exit_code == 0, result.output
    steps = {s["step"]: s for s in json.loads(result.stdout)["steps"]}
    assert steps["targets"]["status"] == "ran", steps["targets"]
    assert steps["targets"]["summary"]["period"] == "2027-Q1"
    predict = steps["predict revenue"]["summary"]
    # From the week of 2026-10-26 (left out: the orders stop on its Wednesday) to the week
    # holding 2027-03-31: 23 weeks, where one quarter is 13.
    assert (predict["horizon"], predict["periods"]) == ("next_quarter", 23)
    assert predict["end"] >= "2027-03-25"
