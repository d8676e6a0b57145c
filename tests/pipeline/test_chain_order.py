"""The chain's order and each step's needs come from what the steps declare they read and write
(forecast.pipeline.steps), not from a hand-kept list. A step's optional reads order it the same
way but do not make it need their writers."""

from __future__ import annotations

import dataclasses
import random

import pytest

from forecast.errors import ConfigError
from forecast.io import catalog
from forecast.pipeline.chain import build_steps, chain_order, step_inputs, step_needs
from forecast.pipeline.steps import STEPS

ORDER = ["ingest", "series", "customer snapshots", "train revenue", "predict revenue",
         "train churn", "score churn", "tiers", "targets", "funnel", "attainment",
         "monthly report", "risk report"]
# The steps whose entries each step reads, needed or optional: it runs after them.
INPUTS = {
    "ingest": (),
    "series": ("ingest",),
    "customer snapshots": ("ingest",),
    "train revenue": ("series",),
    "predict revenue": ("series", "train revenue"),
    "train churn": ("ingest",),
    "score churn": ("customer snapshots", "train churn"),
    "tiers": ("ingest", "score churn"),
    "targets": ("ingest", "predict revenue"),
    "funnel": ("ingest", "predict revenue"),
    "attainment": ("ingest",),
    "monthly report": ("ingest", "predict revenue", "score churn", "tiers", "targets", "funnel"),
    "risk report": ("ingest", "customer snapshots", "train revenue", "predict revenue",
                    "score churn", "tiers"),
}
# The steps each one needs: when one is not applicable, so is the step. The tiers run without
# churn scores, the funnel without a forecast, the monthly report with what it finds; the risk
# report is about the customers at risk and needs their scores.
NEEDS = {**INPUTS, "tiers": ("ingest",), "funnel": ("ingest",), "monthly report": ("ingest",),
         "risk report": ("ingest", "score churn")}


def test_the_order_derived_from_the_declarations_is_the_chain_order():
    assert [s.name for s in build_steps()] == ORDER


def test_a_step_needs_the_steps_that_write_what_it_reads():
    assert step_needs(STEPS) == NEEDS
    assert step_inputs(STEPS) == INPUTS
    for name, needs in NEEDS.items():
        assert set(needs) <= set(INPUTS[name]), name


@pytest.mark.parametrize("seed", range(5))
def test_any_declaration_order_runs_a_step_after_what_it_reads(seed):
    shuffled = list(STEPS)
    random.Random(seed).shuffle(shuffled)
    order = [s.name for s in chain_order(shuffled)]
    assert sorted(order) == sorted(ORDER)
    for name, inputs in INPUTS.items():
        assert all(order.index(n) < order.index(name) for n in inputs), (name, order)


def test_a_new_read_moves_a_step_after_its_writer():
    # Attainment reading the tiers would run after them, whatever the declaration order.
    steps = [dataclasses.replace(s, reads=(*s.reads, catalog.CUSTOMER_TIERS))
             if s.name == "attainment" else s for s in STEPS]
    steps.insert(2, steps.pop([s.name for s in steps].index("attainment")))
    order = [s.name for s in chain_order(steps)]
    assert order.index("tiers") < order.index("attainment")
    assert step_needs(steps)["attainment"] == ("ingest", "tiers")


def test_an_optional_read_moves_a_step_after_its_writer_without_needing_it():
    steps = [dataclasses.replace(s, optional=(catalog.CUSTOMER_TIERS,))
             if s.name == "attainment" else s for s in STEPS]
    steps.insert(2, steps.pop([s.name for s in steps].index("attainment")))
    order = [s.name for s in chain_order(steps)]
    assert order.index("tiers") < order.index("attainment")
    assert step_needs(steps)["attainment"] == ("ingest",)
    assert step_inputs(steps)["attainment"] == ("ingest", "tiers")


def test_declarations_that_make_a_cycle_are_refused():
    steps = [dataclasses.replace(s, reads=(*s.reads, catalog.CUSTOMER_TIERS))
             if s.name == "score churn" else s for s in STEPS]
    with pytest.raises(ConfigError, match="cycle"):
        chain_order(steps)


def test_the_tables_checked_before_skipping_are_the_declared_table_writes():
    steps = {s.name: s for s in STEPS}
    assert steps["score churn"].output_tables(None) == ("churn_scores", "churn_score_unseen",
                                                        "churn_score_skill")
    assert steps["train revenue"].output_tables(None) == ("revenue_backtest",)
    assert steps["train churn"].output_tables(None) == ()
    assert steps["funnel"].output_tables(None) == ("funnel_conversion", "funnel_win_rates",
                                                   "funnel_pipeline")
