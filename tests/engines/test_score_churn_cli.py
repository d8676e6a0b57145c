"""`forecast score churn` on a workspace with snapshots and a registered model: resume, --force,
a rebuilt snapshot, and categories the model never saw, in text and JSON."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from forecast import tracking
from forecast.cli import main
from forecast.io import warehouse


@pytest.fixture
def workspace(tmp_path, snapshot_frame, churn_models, monkeypatch):
    """A workspace holding ``customer_snapshots`` and ``churn-risk`` version 1; its config."""
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.chdir(tmp_path)
    ws = tmp_path / "ws"
    with warehouse.connect(ws, create=True) as con:
        con.register("frame", snapshot_frame)
        con.execute("CREATE TABLE customer_snapshots AS SELECT * FROM frame")
    model, _ = churn_models
    example = snapshot_frame.drop(columns=["churned", "label_complete"]).head(20)
    with tracking.start_run(ws, "churn-risk", "train churn", {}):
        assert tracking.log_model(model, example, "churn-risk") == "models:/churn-risk/1"
    config = tmp_path / "c.yaml"
    config.write_text(f"workspace: {ws}\nchurn:\n  candidates: [logistic]\n  blend: false\n"
                      "  splines: false\n", encoding="utf-8")
    return ws, str(config)


def _score(config: str, *flags: str) -> object:
    result = CliRunner().invoke(main, ["score", "churn", "--config", config, *flags])
    assert result.exit_code == 0, result.output
    return result


def test_force_rebuilt_snapshots_and_unseen_categories(workspace):
    ws, config = workspace
    first = json.loads(_score(config, "--json").stdout)
    assert (first["rows"], first["skipped_chunks"], first["unseen_categories"]) == (300, 0, {})
    again = json.loads(_score(config, "--json").stdout)
    assert (again["skipped_chunks"], again["scored_rows"]) == (1, 0)
    forced = json.loads(_score(config, "--force", "--json").stdout)
    assert (forced["run_key"], forced["skipped_chunks"], forced["scored_rows"]) == (
        first["run_key"], 0, 300)
    with warehouse.connect(ws) as con:  # the snapshot rebuilt: 40 customers in a new segment
        con.execute("UPDATE customer_snapshots SET segment = 'a' WHERE customer_id < 'C0040' "
                    "AND cutoff = (SELECT max(cutoff) FROM customer_snapshots)")
    text = _score(config).stdout
    assert "(0 of 1 chunks already done)" in text
    assert ("  categories never seen in training (scored as unknown): segment 40 rows of 300"
            in text)
    rescored = json.loads(_score(config, "--json").stdout)
    assert rescored["unseen_categories"] == {"segment": 40}
    assert rescored["run_key"] != first["run_key"] and rescored["skipped_chunks"] == 1


def test_a_scoring_run_records_how_well_its_model_ranked_churners(workspace, churn_models):
    from forecast.evaluation.classification import ranking_skill

    ws, config = workspace
    first = json.loads(_score(config, "--json").stdout)
    model, _ = churn_models
    held_out = model.validation_predictions_
    want = ranking_skill(held_out["churned"], held_out["churn_proba"])
    with warehouse.connect(ws) as con:
        rows = con.execute("SELECT * FROM churn_score_skill").df()
    assert rows["run_key"].tolist() == [first["run_key"]]
    assert rows.drop(columns="run_key").iloc[0].to_dict() == pytest.approx(want)
    # The fixture's model separates churners: no note.
    assert want["roc_auc_low"] > 0.5 and first["notes"] == []
    _score(config, "--json")  # a resumed run keeps one row
    with warehouse.connect(ws) as con:
        assert con.execute("SELECT count(*) FROM churn_score_skill").fetchone()[0] == 1
