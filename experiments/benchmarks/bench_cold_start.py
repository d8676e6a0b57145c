"""Cold start on real new stores: Favorita's stores that opened in 2015, forecast 13 weeks ahead
from a few weeks of history, with and without the parent-share candidate.

Favorita's weekly transactions per store (``../shared/data/favorita``), in the hierarchy total
/ state / store, through the pipeline's own ingest and series. At each origin every store with
less than a year of history is "young" (stores 20, 21, 22, 29 and 42 opened February to
October 2015). The default ``RevenueForecaster`` (every default candidate, MinT-shrink) is
fitted on the history before the origin twice: as shipped, and without ``parent_share``, so a
young store untested by the backtest gets the other candidates' weights of its group. Peers on
the young stores: the last week carried flat and the mean of its last four weeks. Scores:
WAPE of the young stores and of all stores over the 13 weeks, pooled over the origins.

    python experiments/benchmarks/bench_cold_start.py

Writes experiments/benchmarks/results/cold_start.json.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))

from benchlib import record, versions

from forecast import factory
from forecast.config import load_config
from forecast.factory import DEFAULT_CANDIDATES
from forecast.io import warehouse
from forecast.model_selection.layout import plan_layout
from forecast.pipeline.revenue import _hierarchy, load_series
from forecast.schemas import DS, GRAIN, TOTAL, UNIQUE_ID, YHAT, Y, interval_columns

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT.parent / "shared" / "data" / "favorita"
H = 13
ORIGINS = ("2015-11-06", "2016-01-08")
CONFIG = """workspace: {workspace}
country: EC
sources:
  - table: orders
    path: {data}/transactions.csv
    columns: {{order_date: date, store: store_nbr, amount: transactions}}
    required: [store]
    unique_key: [store, order_date]
    lookups:
      - path: {data}/stores.csv
        left_on: store_nbr
        columns: {{region: state}}
features:
  series:
    grains: [[], [region], [region, store]]
    freq: W
    empty_periods: missing
revenue:
  horizon: 13W
"""


def _series() -> tuple[pd.DataFrame, pd.DataFrame, object]:
    forecast = Path(sys.executable).with_name("forecast")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "favorita_weekly.yaml"
        path.write_text(CONFIG.format(workspace=Path(tmp) / "ws", data=DATA), encoding="utf-8")
        for step in (["data", "ingest"], ["features", "series"]):
            subprocess.run([forecast, *step, "--config", path], check=True, capture_output=True)
        config = load_config(path)
        with warehouse.connect(config.workspace, read_only=True) as con:
            frame, series = load_series(con, config)
    return frame, series, config


def _series_config():
    """The revenue settings of the benchmark's config (no data behind it)."""
    from forecast.config import parse_config

    return parse_config(yaml.safe_load(CONFIG.format(workspace="ws", data=DATA)), ROOT)


def _fit(frame, series, config, candidates, freq):
    revenue = config.revenue.model_copy(update={"candidates": tuple(candidates)})
    spans = frame.groupby(UNIQUE_ID).size()
    layout = plan_layout(int(spans.max()), H)
    model = factory.revenue_forecaster(revenue, freq, config.country, layout)
    model.fit(frame, _hierarchy(frame, series, revenue.reconcile), series)
    return model


def generated_bed() -> tuple[pd.DataFrame, pd.DataFrame]:
    """Twelve weekly product lines of one seasonal company (the season of
    ``synth.beds.stopping_and_new``: +-30 % over the year, 5 % noise) and their total; four
    lines launched 13 weeks before the origin (week 169 of 182), four 30 weeks before."""
    rng = np.random.default_rng(0)
    weeks = pd.date_range("2022-01-07", periods=182, freq="W-FRI")
    wave = 1 + 0.3 * np.sin(2 * np.pi * np.arange(182) / 52)
    pieces = []
    for i in range(12):
        y = 100.0 * (1 + i % 4) * wave * (1 + 0.05 * rng.standard_normal(182))
        start = (0, 156, 139)[i % 3]
        pieces.append(pd.DataFrame({UNIQUE_ID: f"line_{i:02d}", DS: weeks[start:],
                                    Y: y[start:], "line": f"line_{i:02d}"}))
    lines = pd.concat(pieces, ignore_index=True).assign(**{GRAIN: "line"})
    total = lines.groupby(DS, as_index=False)[Y].sum().assign(
        **{UNIQUE_ID: TOTAL, GRAIN: TOTAL, "line": None})
    frame = pd.concat([total, lines], ignore_index=True)
    series = frame[[UNIQUE_ID, GRAIN, "line"]].drop_duplicates(UNIQUE_ID)
    return frame[[UNIQUE_ID, DS, Y]], series


def run_bed(frame, series, config, origins, bottom: str) -> dict:
    """Both variants and the peers at each origin; WAPE of the young bottom series and all."""
    freq = pd.infer_freq(pd.DatetimeIndex(sorted(frame[DS].unique())))
    bottoms = set(series.loc[series[GRAIN] == bottom, UNIQUE_ID])
    rows, runs, young_at = [], [], {}
    for origin in map(pd.Timestamp, origins):
        history = frame[frame[DS] < origin]
        truth = frame[(frame[DS] >= origin) & (frame[DS] < origin + H * pd.Timedelta(weeks=1))]
        known = series[series[UNIQUE_ID].isin(history[UNIQUE_ID].unique())]
        weeks = history.groupby(UNIQUE_ID).size()
        young_at[origin] = set(bottoms) & set(weeks[weeks < 52].index)
        runs.append({"origin": str(origin.date()), "young_weeks": {
            s: int(weeks[s]) for s in sorted(young_at[origin])}})
        for name, candidates in (("cold start (shipped)", DEFAULT_CANDIDATES),
                                 ("without parent_share", [c for c in DEFAULT_CANDIDATES
                                                           if c != "parent_share"])):
            started = time.perf_counter()
            model = _fit(history, known, config, candidates, freq)
            got = model.predict(H)[[UNIQUE_ID, DS, YHAT, *interval_columns(80)]]
            runs.append({"origin": str(origin.date()), "variant": name,
                         "seconds": round(time.perf_counter() - started, 1),
                         "notes": model.notes()})
            rows.append(got.merge(truth[[UNIQUE_ID, DS, Y]], on=[UNIQUE_ID, DS]).assign(
                variant=name, origin=origin))
            if name == "cold start (shipped)" and model.selection_.young is not None:
                # The same forecast, the young series' intervals as they were before they were
                # measured on older series cut to their age (model_selection.young).
                model.selection_ = replace(model.selection_, young=None)
                got = model.predict(H)[[UNIQUE_ID, DS, YHAT, *interval_columns(80)]]
                rows.append(got.merge(truth[[UNIQUE_ID, DS, Y]], on=[UNIQUE_ID, DS]).assign(
                    variant=f"{name}, young intervals not measured", origin=origin))
        last = history.sort_values(DS).groupby(UNIQUE_ID)[Y]
        for name, level in (("last week", last.last()), ("mean of last 4 weeks",
                                                         last.apply(lambda y: y.tail(4).mean()))):
            peer = truth[truth[UNIQUE_ID].isin(level.index)].assign(
                **{YHAT: lambda d, level=level: d[UNIQUE_ID].map(level)})
            rows.append(peer[[UNIQUE_ID, DS, YHAT, Y]].assign(variant=name, origin=origin))
    table = pd.concat(rows, ignore_index=True)
    table["young"] = [uid in young_at[o] for uid, o in zip(table[UNIQUE_ID], table["origin"])]
    table["bottom"] = table[UNIQUE_ID].isin(bottoms)

    def wape(part: pd.DataFrame) -> float:
        return round(float(np.abs(part[YHAT] - part[Y]).sum() / part[Y].sum()), 4)

    def coverage_80(part: pd.DataFrame) -> float | None:
        lo, hi = interval_columns(80)
        if lo not in part or part[lo].isna().all():
            return None  # a peer without intervals
        return round(float(((part[Y] >= part[lo]) & (part[Y] <= part[hi])).mean()), 4)

    summary = {variant: {"young_wape": wape(part[part["young"]]),
                         "all_bottom_wape": wape(part[part["bottom"]]),
                         "young_bias": round(float(part.loc[part["young"], YHAT].sum()
                                                   / part.loc[part["young"], Y].sum() - 1), 4),
                         "young_coverage_80": coverage_80(part[part["young"]])}
               for variant, part in table.groupby("variant")}
    per_series = {variant: {f"{origin.date()} {uid}": wape(rows) for (origin, uid), rows in
                            part[part["young"]].groupby(["origin", UNIQUE_ID])}
                  for variant, part in table.groupby("variant")}
    return {"origins": list(origins), "summary": summary, "young_series_wape": per_series,
            "runs": runs}


def main() -> None:
    load = [round(x, 2) for x in os.getloadavg()]
    beds = {}
    frame, series = generated_bed()
    config = _series_config()
    beds["generated_product_lines"] = {
        "data": "12 weekly product lines of one seasonal company, 4 launched 13 and 4 30 weeks "
                "before the origin; hierarchy total/line",
        **run_bed(frame, series, config, ("2025-06-20",), "line")}
    if DATA.is_dir():
        frame, series, config = _series()
        beds["favorita_new_stores"] = {
            "data": "Favorita weekly transactions per store (stores 20, 21, 22, 29, 42 opened "
                    "in 2015), hierarchy total/state/store",
            **run_bed(frame, series, config, ORIGINS, "region/store")}
    else:
        print(f"{DATA} is absent: Favorita's new stores are not run")
    path = record("cold_start", {
        "horizon_weeks": H, "load_average_before": load,
        "versions": versions("pandas", "scikit-learn", "prophet", "statsforecast"),
        "beds": beds})
    for name, bed in beds.items():
        for variant, scores in bed["summary"].items():
            print(name, variant, scores)
    print("->", path)


if __name__ == "__main__":
    main()
