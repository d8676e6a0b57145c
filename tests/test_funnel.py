"""The funnel core on a hand-made stage history whose every number is worked out below.

As of 2025-06-30 (later rows are ignored):

    opp  path (stage: day)                                   outcome  furthest  rep channel  segment
    A    ic 01-01, na 01-11, pr 01-31, ng 02-10, won 03-01   won      4         r1  online   small
    B    ic 01-05, na 01-10, lost 01-20                      lost     1         r1  online   small
    C    ic 02-01, lost 02-05                                lost     0         r2  offline  small
    D    ic 03-01, pr 03-21, ng 04-01, won 04-11             won      4         r2  offline  key account
    E    ic 05-01, na 05-15 (pr 07-05 after as-of)           open     1         r1  online   small
    F    ic 06-01, ng 06-20                                  open     3         r2  offline  small
    G    ic 06-10                                            open     0         r1  online   mid-market
    H    ic 07-02 (after as-of: not there)

reached: ic 7, na 5 (A B D E F), pr 3 (A D F), ng 3, won 2 -> conversion 5/7, 3/5, 3/3, 2/3.
P(win | stage) among closed A B C D: ic 2/4, na 2/3 (A B D), pr 2/2, ng 2/2.
Days in stage: ic A10 B5 C4 D20 E14 F19 (G still there); na A20 B10; pr A10 D11; ng A19 D10.
"""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest

from forecast import funnel
from forecast.config.funnel import FunnelConfig
from forecast.errors import ValidationError

AS_OF = date(2025, 6, 30)
Q3 = (date(2025, 7, 1), date(2025, 10, 1))
IC, NA, PR, NG = "initial contact", "needs analysis", "proposal", "negotiation"

# opportunity, stage, day, amount, expected close
_ROWS = [
    ("A", IC, "2025-01-01", 80, "2025-03-15"), ("A", NA, "2025-01-11", 90, "2025-03-15"),
    ("A", PR, "2025-01-31", 90, "2025-03-10"), ("A", NG, "2025-02-10", 95, "2025-03-05"),
    ("A", "won", "2025-03-01", 100, "2025-03-01"),
    ("B", IC, "2025-01-05", 50, "2025-03-01"), ("B", NA, "2025-01-10", 50, "2025-03-01"),
    ("B", "lost", "2025-01-20", 50, "2025-01-20"),
    ("C", IC, "2025-02-01", 70, "2025-04-01"), ("C", "lost", "2025-02-05", 70, "2025-02-05"),
    ("D", IC, "2025-03-01", 250, "2025-05-01"), ("D", PR, "2025-03-21", 280, "2025-04-20"),
    ("D", NG, "2025-04-01", 290, "2025-04-15"), ("D", "won", "2025-04-11", 300, "2025-04-11"),
    ("E", IC, "2025-05-01", 900, "2025-07-20"), ("E", NA, "2025-05-15", 1000, "2025-08-15"),
    ("E", PR, "2025-07-05", 1200, "2025-11-01"),
    ("F", IC, "2025-06-01", 400, "2025-09-01"), ("F", NG, "2025-06-20", 500, "2025-09-30"),
    ("G", IC, "2025-06-10", 200, "2025-10-05"),
    ("H", IC, "2025-07-02", 999, "2025-08-01"),
]
_ATTRIBUTES = {
    "A": ("r1", "online", "small"), "B": ("r1", "online", "small"),
    "C": ("r2", "offline", "small"), "D": ("r2", "offline", "key account"),
    "E": ("r1", "online", "small"), "F": ("r2", "offline", "small"),
    "G": ("r1", "online", "mid-market"), "H": ("r2", "online", "small"),
}


@pytest.fixture
def opportunities() -> pd.DataFrame:
    frame = pd.DataFrame(_ROWS, columns=["opportunity_id", "stage", "stage_date", "amount",
                                         "expected_close_date"])
    frame["stage_date"] = pd.to_datetime(frame["stage_date"])
    frame["expected_close_date"] = pd.to_datetime(frame["expected_close_date"])
    attributes = frame["opportunity_id"].map(_ATTRIBUTES)
    frame["rep_id"] = attributes.str[0]
    frame["channel"] = attributes.str[1]
    frame["segment"] = attributes.str[2]
    frame["team"] = "T1"
    frame["region"] = "North"
    # The order of the rows must not matter: the path is ordered by stage_date.
    return frame.sample(frac=1.0, random_state=3).reset_index(drop=True)


@pytest.fixture
def paths(opportunities) -> pd.DataFrame:
    return funnel.build_paths(opportunities, FunnelConfig(), AS_OF).set_index("opportunity_id")


def test_paths_take_the_last_row_before_the_as_of_day(paths):
    assert sorted(paths.index) == list("ABCDEFG")
    assert paths["outcome"].to_dict() == {"A": "won", "B": "lost", "C": "lost", "D": "won",
                                          "E": "open", "F": "open", "G": "open"}
    assert paths["furthest"].to_dict() == {"A": 4, "B": 1, "C": 0, "D": 4, "E": 1, "F": 3,
                                           "G": 0}
    assert paths.loc["E", "stage"] == NA
    assert paths.loc["E", "amount"] == 1000
    assert paths.loc["E", "expected_close_date"] == pd.Timestamp("2025-08-15")
    assert paths.loc["A", "first_date"] == pd.Timestamp("2025-01-01")


def test_same_day_rows_follow_funnel_order():
    rows = pd.DataFrame({
        "opportunity_id": ["X", "X", "X"], "stage": ["won", NG, IC],
        "stage_date": pd.to_datetime(["2025-02-01", "2025-02-01", "2025-01-01"]),
        "amount": [10.0, 9.0, 8.0], "expected_close_date": pd.to_datetime(["2025-02-01"] * 3),
    })
    path = funnel.build_paths(rows, FunnelConfig(), AS_OF).iloc[0]
    assert path["outcome"] == "won" and path["amount"] == 10.0


def test_stage_conversion(paths):
    table = funnel.stage_conversion(paths.reset_index(), FunnelConfig()).set_index("stage")
    assert table["reached"].tolist() == [7, 5, 3, 3, 2]
    assert table["converted"].tolist()[:4] == [5, 3, 3, 2]
    assert table["conversion"].tolist()[:4] == pytest.approx([5 / 7, 3 / 5, 1.0, 2 / 3])
    assert np.isnan(table.loc["won", "conversion"])
    assert table["reached_share"].tolist() == pytest.approx([1, 5 / 7, 3 / 7, 3 / 7, 2 / 7])
    assert table["open_at_stage"].tolist() == [1, 1, 0, 1, 0]
    assert table["next_stage"].tolist()[:4] == [NA, PR, NG, "won"]


def test_win_probabilities_among_closed(paths):
    table = funnel.win_probabilities(paths.reset_index(), FunnelConfig()).set_index("stage")
    assert table["closed_reached"].tolist() == [4, 3, 2, 2]
    assert table["won_reached"].tolist() == [2, 2, 2, 2]
    assert table["p_win"].tolist() == pytest.approx([0.5, 2 / 3, 1.0, 1.0])
    assert set(table["p_win_source"]) == {"history"}


def test_configured_probability_overrides_history(paths):
    config = FunnelConfig(stage_probabilities={NG: 0.5})
    table = funnel.win_probabilities(paths.reset_index(), config).set_index("stage")
    assert table.loc[NG, "p_win"] == 0.5 and table.loc[NG, "p_win_source"] == "config"
    assert table.loc[PR, "p_win"] == 1.0


def test_time_in_stage(opportunities):
    table = funnel.time_in_stage(opportunities, FunnelConfig(), AS_OF).set_index("stage")
    assert table["timed"].tolist() == [6, 2, 2, 2]
    assert table["mean_days"].tolist() == pytest.approx([12.0, 15.0, 10.5, 14.5])
    assert table["median_days"].tolist() == pytest.approx([12.0, 15.0, 10.5, 14.5])
    # Linear interpolation: ic sorted 4 5 10 14 19 20, position 4.5 -> 19.5.
    assert table["p90_days"].tolist() == pytest.approx([19.5, 19.0, 10.9, 18.1])


def test_time_in_stage_sums_repeated_visits():
    rows = pd.DataFrame({
        "opportunity_id": ["X"] * 4, "stage": [IC, NA, IC, "lost"],
        "stage_date": pd.to_datetime(["2025-01-01", "2025-01-03", "2025-01-10", "2025-01-20"]),
    })
    table = funnel.time_in_stage(rows, FunnelConfig(), AS_OF).set_index("stage")
    assert table.loc[IC, "timed"] == 1 and table.loc[IC, "mean_days"] == 2 + 10
    assert table.loc[NA, "mean_days"] == 7
    assert table.loc[PR, "timed"] == 0 and np.isnan(table.loc[PR, "mean_days"])


def test_win_rates_overall_and_by_breakdown(paths):
    rates = funnel.win_rates(paths.reset_index(), ["rep_id", "segment"])
    assert rates["dimension"].tolist() == ["all", "rep_id", "rep_id", "segment", "segment"]
    overall = rates.iloc[0]
    assert (overall["closed"], overall["won"], overall["lost"]) == (4, 2, 2)
    assert overall["win_rate"] == 0.5 and overall["won_amount"] == 100 + 300
    segment = rates[rates["dimension"] == "segment"].set_index("value")
    # key account 1 of 1 ranks above small 1 of 3.
    assert segment.index.tolist() == ["key account", "small"]
    assert segment["win_rate"].tolist() == pytest.approx([1.0, 1 / 3])
    assert segment["won_amount"].tolist() == [300, 100]
    rep = rates[rates["dimension"] == "rep_id"].set_index("value")
    assert rep["closed"].to_dict() == {"r1": 2, "r2": 2}


def test_weighted_pipeline_of_the_quarter(paths):
    probabilities = funnel.win_probabilities(paths.reset_index(), FunnelConfig())
    table = funnel.weighted_pipeline(paths.reset_index(), probabilities, Q3).set_index("stage")
    # E (needs analysis, 1000, closes 08-15) and F (negotiation, 500, 09-30); G closes 10-05.
    assert table["opportunities"].tolist() == [0, 1, 0, 1]
    assert table["amount"].tolist() == [0, 1000, 0, 500]
    assert table["weighted_amount"].sum() == pytest.approx(1000 * 2 / 3 + 500 * 1.0)


def test_opportunities_without_amount_are_counted_not_priced_at_zero(paths):
    """An open opportunity whose amount the data do not give was summed as 0 without a word;
    it is counted per stage so the pipeline amount reads as a lower bound."""
    probabilities = funnel.win_probabilities(paths.reset_index(), FunnelConfig())
    unpriced = paths.reset_index()
    unpriced.loc[unpriced["opportunity_id"] == "E", "amount"] = float("nan")
    table = funnel.weighted_pipeline(unpriced, probabilities, Q3).set_index("stage")
    assert table["opportunities"].tolist() == [0, 1, 0, 1]
    assert table["without_amount"].tolist() == [0, 1, 0, 0]
    assert table["amount"].tolist() == [0, 0, 0, 500]


def test_lookback_keeps_recent_opportunities(opportunities):
    config = FunnelConfig(lookback_days=130)  # first seen on or after 2025-02-21
    all_paths = funnel.build_paths(opportunities, config, AS_OF)
    recent = funnel.history(all_paths, config, AS_OF)
    assert sorted(recent["opportunity_id"]) == ["D", "E", "F", "G"]
    probabilities = funnel.win_probabilities(recent, config).set_index("stage")
    assert probabilities["p_win"].tolist() == [1.0, 1.0, 1.0, 1.0]
    assert probabilities["closed_reached"].tolist() == [1, 1, 1, 1]  # D passed every stage
    assert len(funnel.history(all_paths, FunnelConfig(lookback_days=None), AS_OF)) == 7


def test_no_closed_history_gives_no_probability(opportunities):
    config = FunnelConfig(lookback_days=60)  # since 2025-05-02: F and G, none closed
    paths = funnel.history(funnel.build_paths(opportunities, config, AS_OF), config, AS_OF)
    probabilities = funnel.win_probabilities(paths, config)
    assert probabilities["p_win"].isna().all()
    assert funnel.weighted_pipeline(paths, probabilities, Q3)["weighted_amount"].sum() == 0
    assert funnel.win_rates(paths, ["rep_id"]).empty
    assert funnel.cycle_days(paths) is None


def test_cycle_days_median_of_won(paths):
    assert funnel.cycle_days(paths.reset_index()) == (59 + 41) / 2


def test_compare_with_forecast():
    z = 1.2815515655446004
    result = funnel.compare_with_forecast(1100.0, {"yhat": 1000.0, "yhat_sd": 100.0,
                                                   "yhat_lo_80": 1000.0 - 100 * z,
                                                   "yhat_hi_80": 1000.0 + 100 * z})
    assert result["coverage"] == pytest.approx(1.1)
    assert result["percentile"] == pytest.approx(0.841345, abs=1e-6)  # Phi(1)
    assert result["yhat_lo_80"] == pytest.approx(871.84, abs=0.01) and result["yhat_hi_95"] is None
    # A lopsided interval (a month of monthly data): the upper bound is the 90th percentile.
    lopsided = {"yhat": 1000.0, "yhat_sd": 200.0, "yhat_lo_80": 1000.0 - 100 * z,
                "yhat_hi_80": 1000.0 + 300 * z}
    assert funnel.compare_with_forecast(1000.0 + 300 * z, lopsided)["percentile"] == \
        pytest.approx(0.9)
    assert funnel.compare_with_forecast(900.0, lopsided)["percentile"] == pytest.approx(
        0.158655, abs=1e-6)  # Phi(-1), the deviation below being 100
    assert funnel.compare_with_forecast(1100.0, {"yhat": 1000.0, "yhat_sd": 100.0})[
        "percentile"] == pytest.approx(0.841345, abs=1e-6)  # no interval: Normal(yhat, sd)
    assert result["actual_part"] is None
    known = funnel.compare_with_forecast(1.0, {"yhat": 10.0, "yhat_sd": 1.0, "actual_part": 0.3})
    assert known["actual_part"] == 0.3
    assert funnel.compare_with_forecast(1.0, None) is None
    assert funnel.compare_with_forecast(5.0, {"yhat": 10.0, "yhat_sd": 0.0})["percentile"] is None


def test_unknown_stages_are_named(opportunities):
    bad = pd.concat([opportunities, opportunities.head(2).assign(stage="Prospecting")])
    with pytest.raises(ValidationError, match=r"'Prospecting' \(2 rows\).*funnel.stages"):
        funnel.build_paths(bad, FunnelConfig(), AS_OF)


def test_config_rejects_inconsistent_stages():
    with pytest.raises(ValueError, match="must all be different"):
        FunnelConfig(stages=["a", "won"])
    with pytest.raises(ValueError, match="not one of funnel.stages"):
        FunnelConfig(stage_probabilities={"signed": 0.9})
    with pytest.raises(ValueError, match="between 0 and 1"):
        FunnelConfig(stage_probabilities={NG: 1.5})


def test_custom_stage_names():
    config = FunnelConfig(stages=["lead", "demo"], won_stage="closed won",
                          lost_stage="closed lost")
    rows = pd.DataFrame({
        "opportunity_id": ["X", "X", "X", "Y", "Y"],
        "stage": ["lead", "demo", "closed won", "lead", "closed lost"],
        "stage_date": pd.to_datetime(["2025-01-01", "2025-01-05", "2025-01-09", "2025-01-02",
                                      "2025-01-04"]),
        "amount": [1.0, 1.0, 5.0, 2.0, 2.0],
    })
    paths = funnel.build_paths(rows, config, AS_OF)
    table = funnel.stage_conversion(paths, config)
    assert table["stage"].tolist() == ["lead", "demo", "closed won"]
    assert table["conversion"].tolist()[:2] == [0.5, 1.0]
