"""90-day inactivity churn on UCI Online Retail II, validated in time (slow, real data).

The figures for three held-out cutoffs are in
experiments/benchmarks/results/churn_online_retail.json.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from forecast.config import ChurnConfig, load_config
from forecast.factory import fit_churn_model
from forecast.io import warehouse
from forecast.pipeline import build_customer_snapshots, ingest

CONFIG = Path(__file__).resolve().parents[2] / "configs" / "online_retail.yaml"
CUTOFFS = [date(y, m, 1) for y in (2010, 2011) for m in range(1, 13)
           if date(2010, 3, 1) <= date(y, m, 1) <= date(2011, 9, 1)]
HELD_OUT = pd.Timestamp("2011-09-01")  # the last cutoff whose 90-day label the data complete


@pytest.mark.slow
def test_model_beats_recency_alone_on_the_held_out_cutoff(shared_data, tmp_path):
    config = load_config(CONFIG).with_workspace(tmp_path / "ws")
    ingest(config)
    build_customer_snapshots(config, CUTOFFS)
    with warehouse.connect(config.workspace, read_only=True) as con:
        frame = con.execute("SELECT * FROM customer_snapshots WHERE churned IS NOT NULL").df()
    frame["cutoff"] = pd.to_datetime(frame["cutoff"])
    # Train only on cutoffs whose labels were known at the held-out cutoff.
    train = frame[frame["cutoff"] <= HELD_OUT - pd.Timedelta(days=90)]
    held = frame[frame["cutoff"] == HELD_OUT]
    assert train["cutoff"].max() < HELD_OUT and len(held) > 200
    model = fit_churn_model(train, ChurnConfig())
    y = held["churned"].astype(int)
    recency = held["recency_days"].astype(float)
    recency_auc = roc_auc_score(y, recency.fillna(recency.max() + 1))
    model_auc = roc_auc_score(y, model.predict_proba(held)[:, 1])
    assert model_auc > recency_auc > 0.7
