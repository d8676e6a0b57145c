"""The evidence behind the shipped revenue settings: candidates scored on the origins before the
evaluated ones.

    python experiments/benchmarks/bench_revenue_dev_folds.py walmart
    python experiments/benchmarks/bench_revenue_dev_folds.py favorita

The acceptance protocol scores the last ``eval_folds`` origins of ``configs/<data>.yaml``. Every
setting the configs and defaults carry (which candidates, the global model's loss, step blocks
and iterations, the reconciliation method) was chosen on the origins *before* those: this script
backtests the candidates and the alternatives on ``DEV_FOLDS`` origins whose last test window
ends where the first evaluated one starts, and records

- each candidate's WAPE at the bottom grain over those origins, alone;
- with a hierarchy, the selected forecast (chosen on ``selection_folds`` origins before each
  scored one, as ``train revenue`` does) reconciled by OLS, ``wls_var`` and MinT-shrink, WAPE per
  grain before and after;

in experiments/benchmarks/results/revenue_dev_folds_<data>.json. The workspace needs its series
(``forecast features series --config configs/<data>.yaml``, which this script runs).
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from benchlib import record, versions

ROOT = Path(__file__).resolve().parents[2]
DEV_FOLDS = {"walmart": 3, "favorita": 6}
# Alternatives to the shipped settings, each a named change of the config's revenue section.
ALTERNATIVES = {
    "walmart": {"global_hgb_squared_error": {"global_model": {"loss": "squared_error"}}},
    "favorita": {"global_hgb_squared_error_one_block": {"global_model": {
        "loss": "squared_error", "blocks": [], "max_iter": 400, "learning_rate": 0.05,
        "min_samples_leaf": 20}}},
}


def candidates(config, freq: str, h: int, data: str) -> dict:
    """The config's candidates (plus the seasonal naive) and the alternatives, by name."""
    from forecast.factory import revenue_candidates as build_candidates

    revenue = config.revenue.model_copy(update={"candidates": sorted(
        {"seasonal_naive", *config.revenue.candidates})})
    made = build_candidates(revenue, freq, h, config.country)
    for name, change in ALTERNATIVES[data].items():
        options = config.revenue.global_model.model_copy(update=change["global_model"])
        variant = config.revenue.model_copy(update={"candidates": ["global_hgb"],
                                                    "global_model": options})
        made[name] = build_candidates(variant, freq, h, config.country)["global_hgb"]
    return made


def run(data: str) -> Path:
    from forecast.config import load_config
    from forecast.config.revenue import horizon_periods
    from forecast.evaluation.backtest import BacktestSpec, backtest
    from forecast.evaluation.metrics import score_backtest
    from forecast.factory import min_history_for
    from forecast.models.base import infer_freq
    from forecast.pipeline.revenue import _hierarchy, load_series
    from forecast.schemas import DS, GRAIN, UNIQUE_ID

    path = ROOT / "configs" / f"{data}.yaml"
    forecast = Path(sys.executable).with_name("forecast")
    subprocess.run([forecast, "features", "series", "--config", path], check=True,
                   capture_output=True)
    config = load_config(path)
    from forecast.io import warehouse

    with warehouse.connect(config.workspace, read_only=True) as con:
        frame, series = load_series(con, config)
    freq = infer_freq(frame[DS])
    cfg = config.revenue
    h = cfg.backtest_h or horizon_periods(cfg.horizon, freq)
    offset = pd.tseries.frequencies.to_offset(freq)
    end = frame[DS].max() - cfg.eval_folds * h * offset
    spec = BacktestSpec(h=h, n_folds=DEV_FOLDS[data], step=cfg.step, levels=tuple(cfg.levels),
                        exog=tuple(cfg.regressors),
                        min_history=min_history_for(cfg, freq), end=end)
    started = time.perf_counter()
    table = backtest(candidates(config, freq, h, data), frame[frame[DS] <= end], spec)
    seconds = time.perf_counter() - started
    grains = series.set_index(UNIQUE_ID)[GRAIN]
    bottom = max(grains.unique(), key=lambda g: -1 if g == "total" else g.count("/") + 1)
    scores = score_backtest(table[table[UNIQUE_ID].map(grains) == bottom], by=("model",))
    payload = {
        "data": data, "config": f"configs/{data}.yaml", "bottom_grain": bottom,
        "origins": [str(c) for c in sorted(table["cutoff"].unique())],
        "evaluated_origins_start_after": str(end), "backtest_seconds": round(seconds, 1),
        "candidates_alone": scores[["model", "n", "wape", "mase", "coverage_80"]].round(4)
        .to_dict("records"),
        "reconciliation": reconciliation(config, table[table["model"].isin(cfg.candidates)],
                                         frame, series, _hierarchy),
        "versions": versions("prophet", "scikit-learn", "pandas", "numpy"),
    }
    return record(f"revenue_dev_folds_{data}", payload)


def reconciliation(config, table, frame, series, make_hierarchy) -> dict | None:
    """Selected forecast of the dev origins reconciled three ways: WAPE per grain (None without
    a hierarchy)."""
    from forecast.hierarchy import reconciler
    from forecast.model_selection.folds import reconcile_folds
    from forecast.model_selection.selection import evaluate_selection
    from forecast.schemas import GRAIN, UNIQUE_ID

    hierarchy = make_hierarchy(frame, series, "mint_shrink")
    if hierarchy is None:
        return None
    cfg = config.revenue
    if table["fold"].nunique() <= cfg.selection_folds:
        return {"skipped": f"{table['fold'].nunique()} origins: too few to choose on "
                           f"{cfg.selection_folds} and score on the next"}
    rows, _, selections = evaluate_selection(table, cfg.selection_folds, cfg.strategy,
                                             cfg.levels, series.set_index(UNIQUE_ID)[GRAIN])
    out = {}
    for method in ("ols", "wls_var", "mint_shrink"):
        _, by_grain = reconcile_folds(rows, selections, hierarchy, reconciler(method))
        out[method] = by_grain.round(4).to_dict("records")
    return out


if __name__ == "__main__":
    for name in sys.argv[1:] or ["walmart", "favorita"]:
        print(json.dumps(json.loads(run(name).read_text()), indent=1)[:3000])
