"""Text churn labels other than yes/no: ``positive_label`` alone, or with ``negative_label``."""

from __future__ import annotations

import json
import logging

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from pydantic import ValidationError as ConfigValidationError

from forecast.config import ChurnConfig
from forecast.errors import ValidationError
from forecast.factory import churn_training_set
from forecast.models.churn_data import build_training_set, label_counts

ATTRITED, EXISTING = "Attrited Customer", "Existing Customer"


def _bank(values: list[str | None]) -> pd.DataFrame:
    return pd.DataFrame({"id": [f"k{i}" for i in range(len(values))],
                         "x": np.arange(len(values), dtype=float), "Attrition_Flag": values})


def test_without_negative_label_every_other_value_is_negative_and_counts_are_logged(caplog):
    frame = _bank([ATTRITED, EXISTING, EXISTING, " attrited customer ", None])
    with caplog.at_level(logging.INFO, logger="forecast.models.churn_data"):
        X, y = build_training_set(frame, "Attrition_Flag", ATTRITED)
    assert y.tolist() == [1, 0, 0, 1]
    assert X.columns.tolist() == ["id", "x"]
    assert f"'{EXISTING}': 2" in caplog.text and "every other value stayed" in caplog.text


def test_with_negative_label_both_values_are_read():
    frame = _bank([EXISTING, ATTRITED, EXISTING])
    config = ChurnConfig(label_column="Attrition_Flag", positive_label=ATTRITED,
                         negative_label=EXISTING)
    _, y = churn_training_set(frame, config)
    assert y.tolist() == [0, 1, 0]


def test_with_negative_label_another_value_is_refused_with_the_values_and_counts():
    frame = _bank([EXISTING, ATTRITED, EXISTING, "Unknown"])
    with pytest.raises(ValidationError) as refused:
        build_training_set(frame, "Attrition_Flag", ATTRITED, EXISTING)
    message = str(refused.value)
    assert "neither positive_label 'Attrited Customer' nor negative_label" in message
    assert f"'{EXISTING}': 2, '{ATTRITED}': 1, 'Unknown': 1" in message


def test_text_labels_under_the_default_yes_positive_label_say_how_to_name_them():
    frame = _bank([EXISTING, ATTRITED, EXISTING])
    with pytest.raises(ValidationError, match="churn.positive_label") as refused:
        build_training_set(frame, "Attrition_Flag", "Yes")
    assert f"'{EXISTING}': 2, '{ATTRITED}': 1" in str(refused.value)


def test_yes_no_labels_read_as_before():
    frame = _bank(["Yes", "no", "TRUE", "0", None])
    assert build_training_set(frame, "Attrition_Flag", "Yes")[1].tolist() == [1, 0, 1, 0]
    assert label_counts(frame, "Attrition_Flag") == {"Yes": 1, "no": 1, "TRUE": 1, "0": 1}


def test_a_negative_label_equal_to_the_positive_one_is_a_config_error():
    with pytest.raises(ConfigValidationError, match="is the positive_label"):
        ChurnConfig(positive_label=ATTRITED, negative_label="attrited customer")


def test_train_churn_on_attrition_labels_reports_the_label_counts(tmp_path, monkeypatch):
    from forecast.cli import main

    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    rng = np.random.default_rng(0)
    months = rng.integers(1, 60, 300)
    attrited = rng.random(300) < 1 / (1 + np.exp(-(1.5 - 0.08 * months)))
    pd.DataFrame({"id": [f"K{i:04d}" for i in range(300)], "months": months,
                  "flag": np.where(attrited, ATTRITED, EXISTING)}).to_csv(
        tmp_path / "customers.csv", index=False)
    (tmp_path / "c.yaml").write_text(f"""
workspace: {tmp_path / 'ws'}
sources:
  - table: customers
    path: {tmp_path / 'customers.csv'}
    columns: {{customer_id: id, months: months, flag: flag}}
    types: {{months: BIGINT, flag: VARCHAR}}
churn:
  label_column: flag
  positive_label: {ATTRITED}
  candidates: [logistic]
  n_folds: 3
""", encoding="utf-8")
    runner = CliRunner()
    config = ["--config", str(tmp_path / "c.yaml")]
    assert runner.invoke(main, ["data", "ingest", *config]).exit_code == 0
    result = runner.invoke(main, ["train", "churn", *config, "--json"])
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert out["labels"] == {EXISTING: int((~attrited).sum()), ATTRITED: int(attrited.sum())}
    assert out["validation"] == "stratified 3-fold across rows"
    assert out["metrics"]["base_rate"] == pytest.approx(attrited.mean(), abs=1e-4)
    assert "baseline_auc" not in out["metrics"]
