"""Accuracy of the revenue forecasters on Walmart (weekly) and Favorita (daily) real data.

Protocol (nested, no peeking): for every outer forecast origin, the ensemble (the production
``RevenueForecaster``) is fit on the data up to that origin only. Inside, an inner rolling-origin
backtest on that training data chooses the candidate weights per series and calibrates conformal
intervals; the candidates are then refit on all the training data and forecast the outer
horizon, which is scored.

    python experiments/benchmarks/bench_revenue_accuracy.py walmart
    python experiments/benchmarks/bench_revenue_accuracy.py favorita

Writes experiments/benchmarks/results/revenue_accuracy_<data>.json.
"""

from __future__ import annotations

import json
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

from forecast.evaluation.backtest import BacktestSpec, make_cutoffs, seasonal_scales
from forecast.evaluation.metrics import score_backtest
from forecast.model_selection import RevenueForecaster
from forecast.model_selection.weights import (
    choose_models,
    combine_forecasts,
    crossfit_combination,
    extend_choice,
    pick_strategy,
)
from forecast.models.base import regularize
from forecast.models.baselines import SeasonalNaiveForecaster
from forecast.models.conformal import ConformalCalibrator
from forecast.models.global_model import GlobalForecaster
from forecast.models.prophet_model import ProphetForecaster
from forecast.schemas import DS, UNIQUE_ID, H, Y

DATA = Path(__file__).resolve().parents[3] / "shared" / "data"
RESULTS = Path(__file__).resolve().parent / "results"
LEVELS = (80, 95)


def load_walmart() -> tuple[pd.DataFrame, dict]:
    """Walmart weekly store sales: ``unique_id, ds, y, holiday_flag`` (weeks end on Friday)."""
    raw = pd.read_csv(DATA / "walmart_weekly" / "walmart_store_sales_weekly.csv")
    frame = pd.DataFrame({UNIQUE_ID: "store_" + raw["Store"].astype(str).str.zfill(2),
                          DS: pd.to_datetime(raw["Date"]), Y: raw["Weekly_Sales"].astype(float),
                          "holiday_flag": raw["Holiday_Flag"].astype(float)})
    setup = {"h": 13, "outer_folds": 3, "inner_folds": 3, "freq": "W-FRI", "country": "US",
             "exog": ("holiday_flag",), "holidays": None, "scale_window": None,
             "relative_window": None}
    return frame, setup


def load_favorita() -> tuple[pd.DataFrame, dict]:
    """Favorita daily transactions on a full daily grid per store (closed days: y missing).

    Gaps handled explicitly: each store's series starts at its first day with transactions;
    days without a row inside a store's span (closures, Christmas, New Year) become y = NaN so
    lags count days, and are not scored. National holidays become a holidays frame.
    """
    folder = DATA / "favorita"
    raw = pd.read_csv(folder / "transactions.csv", parse_dates=["date"])
    frame = pd.DataFrame({UNIQUE_ID: "store_" + raw["store_nbr"].astype(str).str.zfill(2),
                          DS: raw["date"], Y: raw["transactions"].astype(float)})
    frame = frame.sort_values([UNIQUE_ID, DS]).reset_index(drop=True)
    frame = regularize(frame, "D")
    stores = pd.read_csv(folder / "stores.csv")
    kinds = dict(zip("store_" + stores["store_nbr"].astype(str).str.zfill(2), stores["type"]))
    frame["store_type"] = frame[UNIQUE_ID].map(kinds).astype(str)
    events = pd.read_csv(folder / "holidays_events.csv", parse_dates=["date"])
    national = events[(events["locale"] == "National")
                      & (events["transferred"].astype(str) != "True")
                      & (events["type"] != "Work Day")]
    holidays = pd.DataFrame({"holiday": national["description"].str.replace(
        r"[-+]\d+$", "", regex=True).str.strip(), DS: national["date"],
        "lower_window": 0, "upper_window": 0}).drop_duplicates([DS])
    # scale_window and relative_window were chosen on the two 91-day folds before the outer
    # folds (origins 2016-08-16 and 2016-11-15): pooled WAPE 0.0660 (whole-window mean scale),
    # 0.0634 (last 182 days), 0.0614 (+ level relative to the 91-day mean h back).
    setup = {"h": 91, "outer_folds": 2, "inner_folds": 2, "freq": "D", "country": None,
             "exog": (), "holidays": holidays, "scale_window": 182, "relative_window": 91}
    return frame, setup


def make_candidates(setup: dict, n_jobs: int) -> dict:
    """The candidates of the ensemble; settings fixed before looking at any outer fold."""
    h, freq = setup["h"], setup["freq"]
    global_model = GlobalForecaster(
        horizon=h, exog=setup["exog"], key_columns=(), scale_window=setup["scale_window"],
        relative_window=setup["relative_window"], max_iter=400, learning_rate=0.05,
        loss="squared_error", holidays=setup["holidays"], country=setup["country"], freq=freq,
        n_threads=1, holdout_intervals=False)  # the ensemble calibrates its own intervals
    prophet = ProphetForecaster(
        seasonality_mode="multiplicative", uncertainty_samples=200,
        holidays=setup["holidays"], country=setup["country"], regressors=setup["exog"],
        n_jobs=n_jobs, freq=freq)
    return {"global_hgb": global_model, "prophet": prophet,
            "seasonal_naive": SeasonalNaiveForecaster(freq=freq)}


def run_outer_fold(frame, setup, cutoff, n_jobs) -> tuple[pd.DataFrame, pd.DataFrame, dict]:
    """Fit the ensemble on data up to ``cutoff``; forecast and score the next h periods."""
    h, freq = setup["h"], setup["freq"]
    offset = pd.tseries.frequencies.to_offset(freq)
    train = frame[frame[DS] <= cutoff]
    counts = train.dropna(subset=[Y]).groupby(UNIQUE_ID).size()
    train = train[train[UNIQUE_ID].isin(counts.index[counts >= 14])]
    test = frame[(frame[DS] > cutoff) & (frame[DS] <= cutoff + h * offset)
                 & frame[UNIQUE_ID].isin(train[UNIQUE_ID].unique())]
    started = time.perf_counter()
    ensemble = RevenueForecaster(make_candidates(setup, n_jobs), h=h, levels=LEVELS,
                                 strategy="inverse_error", selection_folds=setup["inner_folds"],
                                 min_history=14, exog=setup["exog"]).fit(train)
    exog = test[[UNIQUE_ID, DS, *setup["exog"]]] if setup["exog"] else None
    forecast = ensemble.predict(h, exog).drop(columns=H).assign(model="ensemble")
    pieces = [forecast]
    for name, model in ensemble.models_.items():
        pieces.append(model.predict(h, exog, LEVELS).assign(model=name))
    candidates = pd.concat(pieces[1:], ignore_index=True)
    auto, _ = pick_strategy(ensemble.backtest_)
    for strategy in ("best", "pooled_inverse_error", "auto"):
        choice = choose_models(ensemble.backtest_, auto if strategy == "auto" else strategy)
        combo = combine_forecasts(candidates, extend_choice(choice, candidates[UNIQUE_ID].unique()))
        calibrator = ConformalCalibrator(levels=LEVELS).fit(crossfit_combination(
            ensemble.backtest_, auto if strategy == "auto" else strategy))
        pieces.append(calibrator.transform(combo).assign(model=f"ensemble_{strategy}"))
    scored = pd.concat(pieces, ignore_index=True)
    scored[H] = scored.groupby(["model", UNIQUE_ID]).cumcount() + 1
    scales = seasonal_scales(regularize(train, freq), 52 if freq.startswith("W") else 7)
    rows = test[[UNIQUE_ID, DS, Y]].dropna().merge(scored, on=[UNIQUE_ID, DS])
    rows = rows.merge(scales, left_on=UNIQUE_ID, right_index=True).assign(cutoff=cutoff)
    info = {"cutoff": str(cutoff.date()), "train_rows": int(train[Y].notna().sum()),
            "series": int(train[UNIQUE_ID].nunique()), "seconds": time.perf_counter() - started,
            "auto_strategy": auto}
    return rows, ensemble.selection_.choice.assign(cutoff=cutoff), info


def main(name: str) -> dict:
    frame, setup = {"walmart": load_walmart, "favorita": load_favorita}[name]()
    n_jobs = int(os.environ.get("BENCH_N_JOBS", "-1"))
    outer = BacktestSpec(h=setup["h"], n_folds=setup["outer_folds"])
    cutoffs = make_cutoffs(frame[DS].max(), outer, setup["freq"])
    tables, choices, folds = [], [], []
    for cutoff in cutoffs:
        rows, choice, info = run_outer_fold(frame, setup, cutoff, n_jobs)
        print(name, info, flush=True)
        tables.append(rows)
        choices.append(choice)
        folds.append(info)
    table = pd.concat(tables, ignore_index=True)
    pooled = score_backtest(table, by=("model",))
    per_fold = score_backtest(table, by=("model", "cutoff"))
    print(pooled.to_string(), flush=True)
    weights = pd.concat(choices).groupby("model")["weight"].mean().round(3).to_dict()
    return record(name, frame, setup, pooled, per_fold, weights, folds)


def record(name, frame, setup, pooled, per_fold, weights, folds) -> dict:
    import prophet
    import sklearn

    def to_records(scores: pd.DataFrame) -> list[dict]:
        return json.loads(scores.to_json(orient="records", date_format="iso"))

    result = {
        "data": name, "protocol": {k: v for k, v in setup.items() if k != "holidays"},
        "data_size": {"series": int(frame[UNIQUE_ID].nunique()),
                      "observed_rows": int(frame[Y].notna().sum()),
                      "first": str(frame[DS].min().date()), "last": str(frame[DS].max().date())},
        "outer_folds": folds, "pooled": to_records(pooled), "per_fold": to_records(per_fold),
        "mean_ensemble_weights": weights,
        "environment": {"cores": os.cpu_count(), "load_average": os.getloadavg(),
                        "python": platform.python_version(), "prophet": prophet.__version__,
                        "sklearn": sklearn.__version__, "pandas": pd.__version__,
                        "numpy": np.__version__},
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"revenue_accuracy_{name}.json"
    path.write_text(json.dumps(result, indent=2, default=str), encoding="utf-8")
    return result


if __name__ == "__main__":
    for data_name in sys.argv[1:] or ["walmart", "favorita"]:
        main(data_name)
