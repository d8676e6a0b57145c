"""Sales data nobody tuned for: the tool's default forecast against statsforecast's on test beds.

    python experiments/benchmarks/bench_any_sales.py            # every bed whose data is here
    python experiments/benchmarks/bench_any_sales.py walmart_young decaying_base
    python experiments/benchmarks/bench_any_sales.py --chain     # forecast run on every bed

For each bed of ``any_sales_beds.py`` and each of its origins, the tool is run as a user would
run it with the default config (only the horizon set): the fold layout fitted to the history,
the default candidates, backtest, selection, calibration and refit
(``forecast.factory.revenue_forecaster`` -> ``RevenueForecaster.fit`` -> ``predict``), on the
history up to the origin only; the forecast is scored on the horizon after it. On the same
history and horizon, statsforecast fits its reference models: Naive, SeasonalNaive, Croston SBA,
TSB and the mean of the last 28 periods (WindowAverage), on the history with periods whose
returns outweigh their sales given as no sale (the intermittent models are for demand that is
never negative, and TSB cannot fit a product with returns and no sale yet), each with an 80 %
interval: Naive's and SeasonalNaive's own, and for the three intermittent models (which have
none) statsforecast's conformal intervals (``ConformalIntervals``, as many windows of ``h`` as
our selection folds, 3, or 2 where the history holds no more), their lower bounds clipped at
zero, as a user would. On the regular seasonal beds (monthly, quarterly) AutoETS and
AutoTheta with the frequency's season join them, the models a planner would run on such data
instead; there the goal is a MASE no worse than the best of SeasonalNaive, AutoETS and
AutoTheta. Pooled over each bed's origins: WAPE, MASE (scale: the in-sample
seasonal naive error of the history), bias, the 80 % interval's coverage and scaled pinball
loss. The issue's goals are checked per bed and recorded in
experiments/benchmarks/results/any_sales.json with versions, cores and load.

``--chain`` writes each bed as an orders file (``store`` = the series, ``order_date``,
``amount``) with a config of its frequency and horizon, runs ``forecast run --json`` on it in a
fresh workspace and records each step's status and reason in results/any_sales_chain.json: the
chain must complete (exit 0) on every bed, with the steps the data cannot support (churn without
customers, the funnel without opportunities) marked not applicable.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
import any_sales_beds
from benchlib import RESULTS, record, versions

from forecast import factory
from forecast.config.revenue import RevenueConfig
from forecast.evaluation.backtest import SCALE_MAE, SCALE_MSE, seasonal_scales
from forecast.evaluation.metrics import coverage, score_backtest
from forecast.models.base import never_negative
from forecast.models.baselines import season_length_for, year_length_for
from forecast.schemas import (
    CUTOFF,
    DISCONTINUED,
    DS,
    MODEL,
    UNIQUE_ID,
    YHAT,
    Y,
    interval_columns,
)

PEERS = ("Naive", "SeasonalNaive", "CrostonSBA", "TSB", "WindowAverage")
INTERMITTENT_PEERS = ("CrostonSBA", "TSB", "WindowAverage")
# The peers a planner would run on regular seasonal data, added on the seasonal beds.
SEASONAL_PEERS = ("SeasonalNaive", "AutoETS", "AutoTheta")
PEER_WINDOWS = 3  # conformal windows of the peers' intervals: our default selection folds
OURS = "forecast"


def _horizon_text(freq: str, h: int) -> str:
    return f"{h}{freq[0].upper()}"


def ours(history: pd.DataFrame, freq: str, h: int) -> tuple[pd.DataFrame, dict]:
    """The tool's default forecast from ``history``, and what it chose."""
    config = RevenueConfig(horizon=_horizon_text(freq, h))
    spans = history.groupby(UNIQUE_ID).size()
    layout = factory.fold_layout(config, freq, int(spans.max()))
    model = factory.revenue_forecaster(config, freq, None, layout)
    model.fit(history)
    forecast = model.predict(h)
    info = {"layout": [layout.h, layout.selection_folds, layout.eval_folds],
            "candidates": sorted(model.models_), "dropped": dict(model.dropped_),
            "notes": model.notes()}
    return forecast, info


def peers(history: pd.DataFrame, freq: str, h: int, seasonal: bool = False) -> pd.DataFrame:
    """statsforecast's reference models fitted on ``history``, forecasting ``h`` periods; with
    ``seasonal`` also AutoETS and AutoTheta with the frequency's season."""
    from statsforecast import StatsForecast
    from statsforecast.models import (
        TSB,
        AutoETS,
        AutoTheta,
        CrostonSBA,
        Naive,
        SeasonalNaive,
        WindowAverage,
    )
    from statsforecast.utils import ConformalIntervals

    m = season_length_for(freq)
    # Periods whose returns outweigh their sales are given as no sale: the intermittent models
    # are for demand that is never negative, and statsforecast's TSB cannot fit a history (or a
    # conformal window of one) with returns and no sale (a product at the start of its life).
    history = history.assign(**{Y: history[Y].clip(lower=0.0)})
    spans = history.groupby(UNIQUE_ID).size()
    pieces = []
    # Conformal intervals need n_windows * h periods and more, and at least 2 windows: series
    # too young for 3 windows get 2, those too young for 2 get none (their interval columns
    # stay empty and they are left out of the peers' interval scores).
    windows = np.clip((spans.to_numpy() - 1) // h, 0, PEER_WINDOWS)
    windows[windows < 2] = 0
    for n_windows in np.unique(windows):
        intervals = ConformalIntervals(h=h, n_windows=int(n_windows)) if n_windows else None
        models = [Naive(), SeasonalNaive(season_length=m),
                  CrostonSBA(prediction_intervals=intervals),
                  TSB(alpha_d=0.2, alpha_p=0.2, prediction_intervals=intervals),
                  WindowAverage(window_size=28, prediction_intervals=intervals)]
        if seasonal:
            models += [AutoETS(season_length=m, prediction_intervals=intervals),
                       AutoTheta(season_length=m, prediction_intervals=intervals)]
        part = history[history[UNIQUE_ID].isin(spans.index[windows == n_windows])]
        sf = StatsForecast(models=models, freq=freq, n_jobs=1)
        pieces.append(sf.forecast(df=part[[UNIQUE_ID, DS, Y]], h=h,
                                  level=[80] if n_windows else None))
    return _long(pd.concat(pieces, ignore_index=True), history,
                 PEERS + (SEASONAL_PEERS[1:] if seasonal else ()))


def _long(wide: pd.DataFrame, history: pd.DataFrame, names: tuple[str, ...]) -> pd.DataFrame:
    """statsforecast's wide output of the peers ``names`` as ``unique_id, ds, model, yhat,
    yhat_lo_80, yhat_hi_80``; lower bounds clipped at zero on series whose history never went
    below zero."""
    lo, hi = interval_columns(80)
    frames = []
    for peer in names:
        columns = {peer: YHAT, f"{peer}-lo-80": lo, f"{peer}-hi-80": hi}
        part = wide.reindex(columns=[UNIQUE_ID, DS, *columns]).rename(columns=columns)
        frames.append(part.assign(**{MODEL: peer}))
    long = pd.concat(frames, ignore_index=True)
    clip = long[UNIQUE_ID].map(never_negative(history)).fillna(False).to_numpy(bool)
    long.loc[clip, lo] = long.loc[clip, lo].clip(lower=0.0)
    return long


def run_bed(bed: any_sales_beds.Bed) -> dict:
    """Every origin of ``bed``: the tool and the peers, scored on the same points."""
    offset = pd.tseries.frequencies.to_offset(bed.freq)
    load = os.getloadavg()
    rows, infos, seconds = [], [], {"forecast": 0.0, "statsforecast": 0.0}
    selling = []  # our rows of the series not forecast as discontinued
    young = []  # every model's rows of the series that started inside the data and were
    # younger than a year at their origin (new stores, new product lines)
    for origin in bed.origins:
        history = bed.frame[bed.frame[DS] <= origin]
        actual = bed.frame[(bed.frame[DS] > origin) & (bed.frame[DS] <= origin + bed.h * offset)]
        started = time.perf_counter()
        mine, info = ours(history, bed.freq, bed.h)
        seconds["forecast"] += time.perf_counter() - started
        started = time.perf_counter()
        theirs = peers(history, bed.freq, bed.h, seasonal=bed.kind == "seasonal")
        seconds["statsforecast"] += time.perf_counter() - started
        mine = mine.assign(**{MODEL: OURS})
        scales = seasonal_scales(history.sort_values([UNIQUE_ID, DS]),
                                 season_length_for(bed.freq))
        scored = [frame.merge(actual[[UNIQUE_ID, DS, Y]], on=[UNIQUE_ID, DS], how="inner")
                  .merge(scales, left_on=UNIQUE_ID, right_index=True, how="left")
                  .assign(**{CUTOFF: origin}) for frame in (mine, theirs)]
        rows += scored
        selling.append(scored[0][~scored[0][DISCONTINUED].astype(bool)])
        spans = history.groupby(UNIQUE_ID).size()
        opened = history.groupby(UNIQUE_ID)[DS].min() > bed.frame[DS].min()
        young_ids = spans.index[(spans < year_length_for(bed.freq)) & opened.reindex(
            spans.index).to_numpy()]
        young += [frame[frame[UNIQUE_ID].isin(young_ids)] for frame in scored]
        infos.append({"origin": str(origin.date()), **info})
    table = pd.concat(rows, ignore_index=True)
    # A series with a zero in-sample scale (constant history) has no MASE; it is left out of
    # MASE and counted, never divided by zero.
    table.loc[table[SCALE_MAE] <= 0, [SCALE_MAE, SCALE_MSE]] = np.nan
    scores = _scores(table.dropna(subset=[YHAT]))
    active = pd.concat(selling, ignore_index=True)
    lo, hi = interval_columns(80)
    return {"bed": bed.name, "kind": bed.kind, "note": bed.note, "freq": bed.freq, "h": bed.h,
            "series": int(bed.frame[UNIQUE_ID].nunique()),
            "zero_share": round(float((bed.frame[Y] == 0).mean()), 3),
            "load_average_before": load, "origins": infos, "seconds": {k: round(v, 1) for k, v in seconds.items()},
            "scores": scores.round(4).to_dict("records"), "goals": goals(bed, scores),
            # Series forecast as discontinued get [0, 0], right every period they stay quiet.
            "forecast_coverage_80_on_series_not_discontinued": round(coverage(
                active[Y].to_numpy(float), active[lo].to_numpy(float),
                active[hi].to_numpy(float)), 4) if len(active) else None,
            "young_series": _young_scores(young)}


def _young_scores(young: list[pd.DataFrame]) -> dict | None:
    """Our scores and the peers' on the series that started inside the bed's data and were
    younger than a year at their origin (new stores, new product lines), where it has any."""
    table = pd.concat(young, ignore_index=True) if young else pd.DataFrame()
    if table.empty:
        return None
    table = table.assign(**{SCALE_MAE: np.nan, SCALE_MSE: np.nan})  # no season to scale by
    scores = _scores(table.dropna(subset=[YHAT]))
    keep = [MODEL, "n", "wape", "bias", "n_intervals", "coverage_80"]
    return {"series_origins": int(table.groupby([CUTOFF, UNIQUE_ID]).ngroups),
            "scores": scores[keep].round(4).to_dict("records")}


def _scores(table: pd.DataFrame) -> pd.DataFrame:
    """Point metrics on every row; interval metrics on the rows that have an interval (a peer
    has none for a series too young for one conformal window), counted in ``n_intervals``."""
    lo, hi = interval_columns(80)
    points = score_backtest(table, levels=[])
    bounded = table.dropna(subset=[lo, hi])
    intervals = score_backtest(bounded, levels=[80])[[MODEL, "n", "coverage_80", "pinball_80"]]
    intervals = intervals.rename(columns={"n": "n_intervals"})
    return points.merge(intervals, on=MODEL, how="left")


def _recorded_beds() -> list[dict]:
    path = RESULTS / "any_sales.json"
    return json.loads(path.read_text(encoding="utf-8"))["beds"] if path.exists() else []


def goals(bed: any_sales_beds.Bed, scores: pd.DataFrame) -> dict:
    """The issue's goals on this bed: met or not, with the figures they compare."""
    by = scores.set_index(MODEL)
    mine = by.loc[OURS]
    out: dict = {}
    if "coverage_80" in by.columns:
        out["coverage_80_within_75_85"] = bool(0.75 <= mine["coverage_80"] <= 0.85)
    if bed.kind == "intermittent":
        best = min(by.loc[p, "mase"] for p in INTERMITTENT_PEERS)
        out["mase_no_worse_than_best_intermittent_peer"] = bool(mine["mase"] <= best)
        out["best_intermittent_peer_mase"] = round(float(best), 4)
        best = min(by.loc[p, "pinball_80"] for p in INTERMITTENT_PEERS)
        out["pinball_no_worse_than_best_intermittent_peer"] = bool(mine["pinball_80"] <= best)
        out["best_intermittent_peer_pinball_80"] = round(float(best), 4)
        out["bias_within_10pct"] = bool(abs(mine["bias"]) <= 0.10)
    if bed.kind == "seasonal":
        best = min(by.loc[p, "mase"] for p in SEASONAL_PEERS)
        out["mase_no_worse_than_best_seasonal_peer"] = bool(mine["mase"] <= best)
        out["best_seasonal_peer_mase"] = round(float(best), 4)
        out["wape_over_best_seasonal_peer"] = round(float(
            mine["wape"] / min(by.loc[p, "wape"] for p in SEASONAL_PEERS)), 4)
    if bed.kind == "short":
        naive = by.loc["Naive", "wape"]
        out["wape_within_5pct_of_naive"] = bool(mine["wape"] <= 1.05 * naive)
        out["wape_over_naive"] = round(float(mine["wape"] / naive), 4)
    return out


def main(names: list[str]) -> Path:
    """Run the named beds (default all); named beds replace their entries of the last record,
    the others are kept as they were."""
    load_before = os.getloadavg()
    kept = _recorded_beds() if names else []
    results = [bed for bed in kept if bed["bed"] not in names]
    for name in names or any_sales_beds.available():
        bed = any_sales_beds.BEDS[name]()
        result = run_bed(bed)
        print(name, result["goals"], flush=True)
        results.append(result)
    order = list(any_sales_beds.BEDS)
    results.sort(key=lambda bed: order.index(bed["bed"]))
    payload = {"load_average_before": load_before,
               "load_average_after": os.getloadavg(), "beds": results,
               "versions": versions("statsforecast", "prophet", "scikit-learn", "pandas",
                                    "numpy")}
    return record("any_sales", payload)


def _bed_config(bed: any_sales_beds.Bed, data: Path, workspace: Path) -> str:
    unit = bed.freq[0].upper()
    return json.dumps({
        "description": f"any-sales bed {bed.name}", "workspace": str(workspace),
        "sources": [{"table": "orders", "name": bed.name, "path": str(data),
                     "columns": {"store": "store", "order_date": "order_date",
                                 "amount": "amount"},
                     "required": ["store"], "unique_key": ["store", "order_date"]}],
        # One series is the company total itself; several are stores under it.
        "features": {"series": {"grains": [[], ["store"]] if bed.frame[UNIQUE_ID].nunique() > 1
                                else [[]], "freq": unit}},
        "revenue": {"horizon": f"{bed.h}{unit}"}})


def chain(names: list[str]) -> Path:
    """``forecast run`` on the named beds (default all); each step's status and reason. Named
    beds replace their runs of the last record, the others are kept as they were (each run
    says when it ran)."""
    forecast = Path(sys.executable).with_name("forecast")
    path = RESULTS / "any_sales_chain.json"
    kept = json.loads(path.read_text(encoding="utf-8"))["runs"] if names and path.exists() else []
    runs = [run for run in kept if run["bed"] not in names]
    for name in names or any_sales_beds.available():
        bed = any_sales_beds.BEDS[name]()
        with tempfile.TemporaryDirectory() as tmp:
            data = Path(tmp) / "orders.csv"
            bed.frame.rename(columns={UNIQUE_ID: "store", DS: "order_date", Y: "amount"}).to_csv(
                data, index=False)
            config = Path(tmp) / "bed.yaml"  # JSON is YAML
            config.write_text(_bed_config(bed, data, Path(tmp) / "ws"), encoding="utf-8")
            started = time.perf_counter()
            proc = subprocess.run([forecast, "run", "--config", config, "--json"],
                                  capture_output=True, text=True, check=False)
            seconds = time.perf_counter() - started
        steps = []
        if proc.returncode == 0:
            steps = [{k: v for k, v in step.items() if k in ("step", "status", "reason")}
                     for step in json.loads(proc.stdout)["steps"]]
        runs.append({"bed": name, "run_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
                     "exit_code": proc.returncode, "seconds": round(seconds, 1),
                     "steps": steps, "error": proc.stderr.strip().splitlines()[-1:]
                     if proc.returncode else []})
        print(name, proc.returncode, [(s["step"], s["status"]) for s in steps], flush=True)
    order = list(any_sales_beds.BEDS)
    runs.sort(key=lambda run: order.index(run["bed"]))
    return record("any_sales_chain", {"runs": runs, "versions": versions("pandas", "duckdb")})


if __name__ == "__main__":
    if sys.argv[1:2] == ["--chain"]:
        print(chain(sys.argv[2:]))
    else:
        print(main(sys.argv[1:]))
