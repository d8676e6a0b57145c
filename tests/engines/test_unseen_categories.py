"""Categories a churn model never saw in training are counted per column when scoring."""

from __future__ import annotations

import copy

import pytest
from scoring_helpers import Stop, stop_after

from forecast.engines.local import ScoringOptions, score_churn
from forecast.io.scores import UNSEEN_TABLE

OPTIONS = ScoringOptions(chunk_rows=100, reasons="none")


def _mark_unseen(con) -> None:
    """At the latest cutoff: 40 customers in segment 'a' (never seen in training) and 5 with
    no segment (missing, not a category)."""
    latest = "cutoff = (SELECT max(cutoff) FROM customer_snapshots)"
    con.execute(f"UPDATE customer_snapshots SET segment = 'a' WHERE {latest} "
                "AND customer_id < 'C0040'")
    con.execute(f"UPDATE customer_snapshots SET segment = NULL WHERE {latest} "
                "AND customer_id BETWEEN 'C0100' AND 'C0104'")


def test_the_model_keeps_the_categories_it_was_trained_on(churn_models):
    model, _ = churn_models
    assert model.categories_seen_ == {"segment": ["key account", "mid-market", "small"]}


def test_unseen_categories_are_counted_in_the_summary(snapshot_con, churn_models, small_config,
                                                      latest_frame):
    model, _ = churn_models
    clean = score_churn(snapshot_con, model, "customer_snapshots", small_config, options=OPTIONS)
    assert clean["unseen_categories"] == {}
    _mark_unseen(snapshot_con)
    summary = score_churn(snapshot_con, model, "customer_snapshots", small_config,
                          options=OPTIONS)
    assert summary["unseen_categories"] == {"segment": 40}
    assert model.unseen_categories(latest_frame()) == {"segment": 40}
    # Per chunk, in the run's bookkeeping: chunk 0 holds C0000..C0099.
    rows = snapshot_con.execute(f"SELECT chunk, feature, rows FROM {UNSEEN_TABLE} "
                                "ORDER BY chunk").fetchall()
    assert rows == [(0, "segment", 40), (1, "segment", 0), (2, "segment", 0)]


def test_a_resumed_run_counts_the_chunks_of_the_first_attempt(snapshot_con, churn_models,
                                                              small_config):
    model, _ = churn_models
    _mark_unseen(snapshot_con)
    with pytest.raises(Stop):
        score_churn(snapshot_con, model, "customer_snapshots", small_config, options=OPTIONS,
                    progress=stop_after(1))
    resumed = score_churn(snapshot_con, model, "customer_snapshots", small_config,
                          options=OPTIONS)
    assert (resumed["skipped_chunks"], resumed["unseen_categories"]) == (1, {"segment": 40})


def test_a_model_fitted_before_categories_were_kept_counts_by_its_encoders(
        snapshot_con, churn_models, small_config):
    older = copy.deepcopy(churn_models[0])
    del older.categories_seen_
    _mark_unseen(snapshot_con)
    summary = score_churn(snapshot_con, older, "customer_snapshots", small_config,
                          options=OPTIONS)
    assert summary["unseen_categories"] == {"segment": 40}
