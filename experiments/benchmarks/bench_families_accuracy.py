"""statsforecast's families beside the configured candidates on the Walmart and Favorita
protocols: each family's own accuracy and what adding it does to the selected forecast.

    python experiments/benchmarks/bench_families_accuracy.py walmart
    python experiments/benchmarks/bench_families_accuracy.py favorita

The config of the data set (``configs/<data>.yaml``: horizon, evaluation and selection folds,
candidates) gets the families added to its candidates; its sources are ingested into a fresh
workspace and one cross-validation of the ``RevenueForecaster`` is run (the same folds for every
candidate). The selection is then evaluated on those folds, as ``forecast train revenue`` does,
with the configured candidates alone, with each family added, and with all of them, so the
figures differ only by the candidates. Writes
experiments/benchmarks/results/families_accuracy_<data>.json.
"""

from __future__ import annotations

import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from benchlib import record, versions

from forecast import factory
from forecast.config import load_config
from forecast.evaluation.backtest import history_spans
from forecast.evaluation.metrics import score_backtest
from forecast.io import warehouse
from forecast.model_selection.selection import evaluate_selection
from forecast.models.base import infer_freq
from forecast.pipeline.revenue import _hierarchy, load_series
from forecast.schemas import DS, GRAIN, MODEL, UNIQUE_ID

ROOT = Path(__file__).resolve().parents[2]
FAMILIES = ("auto_theta", "mstl", "auto_ets")


def _config(name: str, folder: Path) -> tuple[Path, list[str]]:
    """The data set's config in ``folder`` with absolute paths and the families added."""
    text = (ROOT / "configs" / f"{name}.yaml").read_text(encoding="utf-8")
    text = re.sub(r"(?m)^workspace: .*$", f"workspace: {folder / 'ws'}", text)
    text = text.replace("path: ../../shared", f"path: {ROOT.parent / 'shared'}")
    match = re.search(r"(?m)^  candidates: \[(.*)\]$", text)
    configured = [c.strip() for c in match.group(1).split(",")]
    text = text.replace(match.group(0), f"  candidates: [{', '.join([*configured, *FAMILIES])}]")
    path = folder / f"{name}.yaml"
    path.write_text(text, encoding="utf-8")
    return path, configured


def _selected(cv, layout, regime, grain, models) -> dict:
    table = cv.table[cv.table[MODEL].isin(models)]
    rows, choices, _ = evaluate_selection(table, layout.selection_folds, "auto", (80,),
                                          grain, regime)
    rows = rows[rows[MODEL] == "selected"].assign(**{GRAIN: rows[UNIQUE_ID].map(grain)})
    scores = score_backtest(rows, by=(GRAIN,)).set_index(GRAIN)
    return {"by_grain": scores[["wape", "coverage_80"]].round(4).to_dict("index"),
            "mean_weights": choices.groupby(MODEL)["weight"].mean().round(3).to_dict()}


def run(name: str) -> Path:
    forecast = Path(sys.executable).with_name("forecast")
    with tempfile.TemporaryDirectory() as tmp:
        path, configured = _config(name, Path(tmp))
        for step in (["data", "ingest"], ["features", "series"]):
            subprocess.run([forecast, *step, "--config", path], check=True, capture_output=True)
        config = load_config(path)
        with warehouse.connect(config.workspace, read_only=True) as con:
            frame, series = load_series(con, config)
    freq = infer_freq(frame[DS])
    layout = factory.fold_layout(config.revenue, freq, int(history_spans(frame).max()))
    model = factory.revenue_forecaster(config.revenue, freq, config.country, layout)
    started = time.perf_counter()
    cv = model.cross_validation(frame, _hierarchy(frame, series, config.revenue.reconcile),
                                series, n_windows=layout.eval_folds)
    seconds = time.perf_counter() - started
    grain = series.set_index(UNIQUE_ID)[GRAIN]
    candidates = model.candidates
    regime = lambda name_, history: candidates[name_].regime(history, freq)
    own = score_backtest(cv.table.assign(**{GRAIN: cv.table[UNIQUE_ID].map(grain)}).pipe(
        lambda t: t[t["fold"] >= layout.selection_folds]), by=(MODEL, GRAIN))
    selections = {"configured": _selected(cv, layout, regime, grain, configured)}
    for family in FAMILIES:
        selections[f"+{family}"] = _selected(cv, layout, regime, grain, [*configured, family])
    selections["+all"] = _selected(cv, layout, regime, grain, [*configured, *FAMILIES])
    payload = {
        "data": name, "configured_candidates": configured, "families": list(FAMILIES),
        "layout": {"h": layout.h, "selection_folds": layout.selection_folds,
                   "eval_folds": layout.eval_folds},
        "cross_validation_seconds": round(seconds, 1),
        "candidates_on_eval_folds": own[["model", GRAIN, "wape", "coverage_80"]].round(4)
        .to_dict("records"),
        "selected": selections,
        "versions": versions("statsforecast", "prophet", "scikit-learn", "pandas"),
    }
    return record(f"families_accuracy_{name}", payload)


if __name__ == "__main__":
    for data_name in sys.argv[1:] or ["walmart", "favorita"]:
        print(run(data_name), flush=True)
