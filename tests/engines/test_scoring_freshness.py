"""A scoring run never serves stale scores: its key follows the content scored (feature values,
revenue, model, settings), ``force`` rescoring everything, and lost scores heal themselves."""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
import pytest

from forecast.config import ChurnConfig
from forecast.engines.local import ScoringOptions, score_churn
from forecast.io.scores import CHUNKS_TABLE, SCORES_TABLE

OPTIONS = ScoringOptions(chunk_rows=100, reasons="none")


def read_scores(con) -> pd.DataFrame:
    cutoff = con.execute("SELECT max(cutoff) FROM customer_snapshots").fetchone()[0]
    return con.execute(f"SELECT * FROM {SCORES_TABLE} WHERE cutoff = ? ORDER BY customer_id",
                       [cutoff]).df()


def _expected(model, frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    proba = model.predict_proba(frame)[:, 1]
    return proba, proba * frame["revenue_365d"].clip(lower=0).to_numpy()


@pytest.mark.parametrize("change", [
    "orders_trend_90d = -orders_trend_90d",
    "revenue_365d = revenue_365d + 1000",
    "segment = CASE segment WHEN 'small' THEN 'key account' ELSE 'small' END",
])
def test_changed_values_of_the_same_customers_are_rescored(snapshot_con, churn_models,
                                                           small_config, latest_frame, change):
    """Same customers, same row count, other values (a rebuilt snapshot after orders
    changed): every chunk is scored again with the new values."""
    model, _ = churn_models
    first = score_churn(snapshot_con, model, "customer_snapshots", small_config, options=OPTIONS)
    snapshot_con.execute(f"UPDATE customer_snapshots SET {change}")
    again = score_churn(snapshot_con, model, "customer_snapshots", small_config, options=OPTIONS)
    assert again["run_key"] != first["run_key"]
    assert (again["skipped_chunks"], again["scored_rows"]) == (0, 300)
    got = read_scores(snapshot_con)
    proba, at_risk = _expected(model, latest_frame())
    assert len(got) == 300 and set(got["run_key"]) == {again["run_key"]}
    np.testing.assert_allclose(got["churn_proba"], proba, rtol=1e-12)
    np.testing.assert_allclose(got["revenue_at_risk"], at_risk, rtol=1e-12)


def test_unchanged_content_still_resumes_and_skips(snapshot_con, churn_models, small_config):
    """The content digest is the same in a second run over the same rows."""
    model, _ = churn_models
    first = score_churn(snapshot_con, model, "customer_snapshots", small_config, options=OPTIONS)
    snapshot_con.execute("UPDATE customer_snapshots SET segment = segment")  # same values
    again = score_churn(snapshot_con, model, "customer_snapshots", small_config, options=OPTIONS)
    assert again["run_key"] == first["run_key"]
    assert (again["skipped_chunks"], again["scored_rows"]) == (3, 0)


def test_another_model_behind_the_same_uri_is_rescored(snapshot_con, churn_models,
                                                       small_config, latest_frame):
    """``models:/churn-risk/latest`` after a retraining is another model."""
    first, second = churn_models
    options = ScoringOptions(chunk_rows=100, reasons="none", model_key="models:/churn-risk/latest")
    score_churn(snapshot_con, first, "customer_snapshots", small_config, options=options)
    again = score_churn(snapshot_con, second, "customer_snapshots", small_config, options=options)
    assert (again["skipped_chunks"], again["scored_rows"]) == (0, 300)
    proba, _ = _expected(second, latest_frame())
    np.testing.assert_allclose(read_scores(snapshot_con)["churn_proba"], proba, rtol=1e-12)


def test_dropping_the_capacity_gives_threshold_tiers_again(snapshot_con, churn_models,
                                                           small_config):
    model, _ = churn_models
    score_churn(snapshot_con, model, "customer_snapshots",
                ChurnConfig(**{**small_config.model_dump(), "capacity": 7}), options=OPTIONS)
    assert (read_scores(snapshot_con)["tier"] == "high").sum() == 7
    score_churn(snapshot_con, model, "customer_snapshots", small_config, options=OPTIONS)
    got = read_scores(snapshot_con)
    expected = np.where(got["churn_proba"] >= 0.5, "high",
                        np.where(got["churn_proba"] >= 0.2, "medium", "low"))
    assert got["tier"].tolist() == expected.tolist()


def test_force_rescoring_every_chunk(snapshot_con, churn_models, small_config):
    model, _ = churn_models
    first = score_churn(snapshot_con, model, "customer_snapshots", small_config, options=OPTIONS)
    before = read_scores(snapshot_con)
    forced = score_churn(snapshot_con, model, "customer_snapshots", small_config,
                         options=ScoringOptions(chunk_rows=100, reasons="none", force=True))
    assert forced["run_key"] == first["run_key"]
    assert (forced["skipped_chunks"], forced["scored_rows"]) == (0, 300)
    assert snapshot_con.execute(f"SELECT count(*) FROM {CHUNKS_TABLE}").fetchone()[0] == 3
    pd.testing.assert_frame_equal(read_scores(snapshot_con), before)


def test_a_dropped_scores_table_heals_instead_of_failing(snapshot_con, churn_models,
                                                        small_config, latest_frame, caplog,
                                                        monkeypatch):
    """The chunk bookkeeping says committed, the scores are gone: the run scores them again
    (it used to fail with "scored 0 rows, expected 300" on every later run)."""
    # The command line's logging setup stops "forecast" records from reaching pytest's handler.
    monkeypatch.setattr(logging.getLogger("forecast"), "propagate", True)
    model, _ = churn_models
    score_churn(snapshot_con, model, "customer_snapshots", small_config, options=OPTIONS)
    snapshot_con.execute(f"DROP TABLE {SCORES_TABLE}")
    with caplog.at_level(logging.WARNING, logger="forecast"):
        healed = score_churn(snapshot_con, model, "customer_snapshots", small_config,
                             options=OPTIONS)
    assert (healed["rows"], healed["skipped_chunks"], healed["scored_rows"]) == (300, 0, 300)
    assert "3 of 3 committed chunks have lost their scores" in caplog.text
    proba, _ = _expected(model, latest_frame())
    np.testing.assert_allclose(read_scores(snapshot_con)["churn_proba"], proba, rtol=1e-12)


def test_a_chunk_with_missing_scores_is_scored_again(snapshot_con, churn_models, small_config):
    model, _ = churn_models
    score_churn(snapshot_con, model, "customer_snapshots", small_config, options=OPTIONS)
    before = read_scores(snapshot_con)
    snapshot_con.execute(f"DELETE FROM {SCORES_TABLE} WHERE chunk = 1 AND customer_id LIKE "
                         "'%7'")
    healed = score_churn(snapshot_con, model, "customer_snapshots", small_config,
                         options=OPTIONS)
    assert (healed["skipped_chunks"], healed["scored_rows"]) == (2, 100)
    pd.testing.assert_frame_equal(read_scores(snapshot_con), before)
