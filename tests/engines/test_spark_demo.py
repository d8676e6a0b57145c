"""`train revenue` and `predict revenue` on the demo company give the same warehouse tables on
the local engine and on Spark (``--engine spark``, ``local[2]``): the backtest scores, the forecast
and its period sums, same rows, values to rtol 1e-9. Run with ``make test-spark``."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from forecast.io import warehouse

pytestmark = pytest.mark.spark

CLI = "from forecast.cli import main; main()"
REPO = Path(__file__).resolve().parents[2]
# The backtest's scores per model and grain (every fold's Prophet fits feed them), the
# forecast and its calendar-period sums.
TABLES = {"revenue_backtest": ["model", "grain"], "revenue_forecast": ["unique_id", "ds"],
          "revenue_forecast_periods": ["unique_id", "period_type", "period"]}


def forecast(*args: str) -> None:
    env = {k: v for k, v in os.environ.items() if k != "MLFLOW_TRACKING_URI"}
    run = subprocess.run([sys.executable, "-c", CLI, *args], capture_output=True, text=True,
                         cwd=REPO, env=env, timeout=1200, check=False)
    assert run.returncode == 0, run.stderr[-3000:]


def tables(ws: Path) -> dict[str, pd.DataFrame]:
    with warehouse.connect(ws, read_only=True) as con:
        return {name: con.execute(f"SELECT * FROM {name}").df().sort_values(keys)
                .reset_index(drop=True) for name, keys in TABLES.items()}


def test_train_and_predict_revenue_on_spark_match_the_local_engine(tmp_path, spark):
    ws = tmp_path / "demo"
    forecast("demo", "--workspace", str(ws), "--customers", "300", "--until", "series")
    config = ws / "demo.yaml"
    config.write_text(config.read_text(encoding="utf-8")
                      + "engine: {master: 'local[2]', partitions: 4}\n", encoding="utf-8")
    forecast("train", "revenue", "--config", str(config))
    forecast("predict", "revenue", "--config", str(config))
    local = tables(ws)
    forecast("train", "revenue", "--config", str(config), "--engine", "spark")
    forecast("predict", "revenue", "--config", str(config), "--engine", "spark")
    on_spark = tables(ws)
    for name, keys in TABLES.items():
        mine, theirs = local[name], on_spark[name]
        assert len(mine) > 0
        pd.testing.assert_frame_equal(mine[keys], theirs[keys])
        values = [c for c in mine.columns if c not in keys and
                  pd.api.types.is_float_dtype(mine[c])]
        assert values
        for column in values:
            np.testing.assert_allclose(theirs[column], mine[column], rtol=1e-9, atol=0,
                                       equal_nan=True, err_msg=f"{name}.{column}")
