"""Do the month and quarter intervals a planner reads hold their stated coverage?

    python experiments/benchmarks/bench_period_intervals.py            # every bed whose data is here
    python experiments/benchmarks/bench_period_intervals.py walmart demo

``revenue_forecast_periods`` sums each series' forecast into calendar months and quarters with
an 80 % and a 95 % interval (``forecast.hierarchy.periods``). This benchmark runs the default
forecaster (default config: the horizon through the end of next quarter) at rolling origins on
each bed, sums the forecast and the actuals into the same months and quarters, and scores the
period intervals: coverage of the months wholly forecast, of the quarters (the current one,
partly known, and the next), and the median width relative to the forecast.

Five ways of summing the rows' spread are scored on the same forecasts (the rows' deviations
``s`` from their 80 % intervals, a Normal interval around the summed forecast):

- ``factor`` (before): the deviations added as independent, times one factor measured on the
  backtest's whole fold totals (the root mean square of their z-scores), whatever the
  period's length;
- ``shared_correlation``: every two rows of a series share one correlation, the moment
  estimate from the same fold totals;
- ``correlations_by_lag``: rows ``l`` periods apart share the correlation of the backtest's
  scaled errors at lag ``l``;
- ``covariances_by_lag``: the same without dividing by the errors' own spread ``c(0)``, the
  moment estimate of the variance of any sum of rows, one profile for all the series;
- ``covariances_by_group`` (now, what the fitted model keeps: ``group_covariances``): that
  estimate per calibration group (grain and demand class), so that sporadic series whose
  errors spread far wider than their intervals say do not widen the others' totals.

The last four keep the lower bounds of a series that never sold below zero at or above the
period's known part.

Beds (weekly unless said): Walmart's 45 stores and their total; Superstore's 4 regions and
their total; Online Retail II's 10 countries and their total; the demo company's regions and
total (generated); Favorita's first 10 stores and their total, daily transactions.
"""

from __future__ import annotations

import os
import sys
import time
from datetime import timedelta
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.stats import norm

sys.path.insert(0, str(Path(__file__).resolve().parent))
from any_sales_beds import DATA
from benchlib import record, versions

from forecast import factory
from forecast.config.revenue import RevenueConfig, resolve_horizon
from forecast.hierarchy.periods import (
    ACTUAL_PART,
    PERIOD,
    PERIOD_TYPE,
    YHAT_SD,
    aggregate_to_periods,
    error_covariances,
    row_sd,
    series_covariances,
)
from forecast.model_selection.selection import apply_selection
from forecast.schemas import DS, UNIQUE_ID, YHAT, Y, interval_columns

LEVELS = (80, 95)
METHODS = ("factor", "shared_correlation", "correlations_by_lag", "covariances_by_lag",
           "covariances_by_group")


def _with_total(frame: pd.DataFrame) -> pd.DataFrame:
    total = frame.groupby(DS, as_index=False)[Y].sum().assign(**{UNIQUE_ID: "total"})
    return pd.concat([frame, total[[UNIQUE_ID, DS, Y]]], ignore_index=True)


_DAYS = ["MON", "TUE", "WED", "THU", "FRI", "SAT", "SUN"]


def _weekly(frame: pd.DataFrame, weekday: str) -> pd.DataFrame:
    """Daily rows summed into weeks ending on ``weekday``, zeros where nothing sold."""
    shift = (_DAYS.index(weekday) - frame[DS].dt.dayofweek) % 7
    out = frame.assign(**{DS: frame[DS] + pd.to_timedelta(shift, unit="D")}).groupby(
        [UNIQUE_ID, DS], as_index=False)[Y].sum()
    grid = pd.MultiIndex.from_product([out[UNIQUE_ID].unique(), pd.date_range(
        out[DS].min(), out[DS].max(), freq=f"W-{weekday}")], names=[UNIQUE_ID, DS])
    return out.set_index([UNIQUE_ID, DS]).reindex(grid, fill_value=0.0).reset_index()


def walmart() -> tuple[pd.DataFrame, str]:
    raw = pd.read_csv(DATA / "walmart_weekly" / "walmart_store_sales_weekly.csv",
                      usecols=["Store", "Date", "Weekly_Sales"])
    frame = pd.DataFrame({UNIQUE_ID: "store_" + raw["Store"].astype(str),
                          DS: pd.to_datetime(raw["Date"]), Y: raw["Weekly_Sales"].astype(float)})
    return _with_total(frame), "W-FRI"


def superstore() -> tuple[pd.DataFrame, str]:
    raw = pd.read_csv(DATA / "superstore" / "superstore.csv", encoding="utf-8-sig",
                      usecols=["Order Date", "Region", "Sales"])
    frame = pd.DataFrame({UNIQUE_ID: raw["Region"], DS: pd.to_datetime(raw["Order Date"],
                                                                       format="%d/%m/%y"),
                          Y: raw["Sales"].astype(float)})
    return _with_total(_weekly(frame, "FRI")), "W-FRI"


def online_retail() -> tuple[pd.DataFrame, str]:
    raw = pd.read_csv(DATA / "online_retail_ii" / "online_retail_II_10countries.csv",
                      usecols=["Quantity", "InvoiceDate", "Price", "Country"])
    frame = pd.DataFrame({UNIQUE_ID: raw["Country"],
                          DS: pd.to_datetime(raw["InvoiceDate"]).dt.normalize(),
                          Y: (raw["Quantity"] * raw["Price"]).astype(float)})
    return _with_total(_weekly(frame, "FRI")), "W-FRI"


def demo() -> tuple[pd.DataFrame, str]:
    import tempfile

    from forecast.config.features import SynthOptions
    from forecast.synth.company import generate_company

    with tempfile.TemporaryDirectory() as tmp:
        written = generate_company(SynthOptions(customers=2000, years=3, seed=0), Path(tmp))
        orders = pd.read_parquet(written["files"]["orders"],
                                 columns=["order_date", "amount", "region"])
    frame = pd.DataFrame({UNIQUE_ID: orders["region"].astype(str),
                          DS: pd.to_datetime(orders["order_date"]),
                          Y: orders["amount"].astype(float)})
    return _with_total(_weekly(frame, "FRI")), "W-FRI"


def favorita() -> tuple[pd.DataFrame, str]:
    raw = pd.read_csv(DATA / "favorita" / "transactions.csv", parse_dates=["date"])
    raw = raw[raw["store_nbr"] <= 10]
    frame = pd.DataFrame({UNIQUE_ID: "store_" + raw["store_nbr"].astype(str), DS: raw["date"],
                          Y: raw["transactions"].astype(float)})
    grid = pd.MultiIndex.from_product([frame[UNIQUE_ID].unique(), pd.date_range(
        frame[DS].min(), frame[DS].max(), freq="D")], names=[UNIQUE_ID, DS])
    frame = frame.set_index([UNIQUE_ID, DS]).reindex(grid, fill_value=0.0).reset_index()
    return _with_total(frame), "D"


# Origins: month ends, every other month, each with its next quarter inside the data.
BEDS = {
    "walmart": (walmart, pd.date_range("2011-03-31", "2012-06-30", freq="2ME")),
    "superstore": (superstore, pd.date_range("2021-01-31", "2022-08-31", freq="2ME")),
    "online_retail": (online_retail, pd.date_range("2010-11-30", "2011-06-30", freq="2ME")),
    "demo": (demo, None),  # set from the generated dates
    "favorita": (favorita, pd.date_range("2016-01-31", "2017-03-31", freq="3ME")),
}
_NEEDS = {"walmart": "walmart_weekly", "superstore": "superstore",
          "online_retail": "online_retail_ii", "favorita": "favorita"}


def _old_factor(rows: pd.DataFrame) -> float:
    """The spread factor the periods were multiplied by before: the root mean square of the
    fold totals' z-scores against independent rows (degenerate totals out, |z| at most 10)."""
    frame = rows.dropna(subset=[Y, YHAT]).assign(_var=row_sd(rows.dropna(subset=[Y, YHAT])) ** 2)
    sums = frame.groupby(["fold", UNIQUE_ID], observed=True)[[Y, YHAT, "_var"]].sum()
    size = (sums[Y].abs() + sums[YHAT].abs()) / 2
    sums = sums[(sums["_var"] > 0) & (np.sqrt(sums["_var"]) >= 1e-3 * size)]
    if len(sums) < 10:
        return 1.0
    z = ((sums[Y] - sums[YHAT]) / np.sqrt(sums["_var"])).abs().clip(upper=10.0)
    return float(np.sqrt(np.mean(z**2)))


def _shared_correlation(rows: pd.DataFrame) -> float:
    """One correlation between every two rows of a fold, the moment estimate from the fold
    totals: E[z^2] = 1 + rho (k - 1), k = (sum s)^2 / sum s^2 (an alternative measured here)."""
    frame = rows.dropna(subset=[Y, YHAT])
    sd = row_sd(frame)
    sums = frame.assign(_var=sd**2, _sd=sd).groupby(["fold", UNIQUE_ID], observed=True)[
        [Y, YHAT, "_var", "_sd"]].sum()
    size = (sums[Y].abs() + sums[YHAT].abs()) / 2
    sums = sums[(sums["_var"] > 0) & (np.sqrt(sums["_var"]) >= 1e-3 * size)]
    z = ((sums[Y] - sums[YHAT]) / np.sqrt(sums["_var"])).abs().clip(upper=10.0)
    pairs = float((sums["_sd"] ** 2 / sums["_var"] - 1).sum())
    if len(sums) < 10 or pairs <= 0:
        return 0.0
    return float(np.clip((z**2 - 1).sum() / pairs, 0.0, 1.0))


def _factor_periods(forecast, history, freq, factor: float) -> pd.DataFrame:
    out = aggregate_to_periods(forecast, history, freq, [])
    out[YHAT_SD] *= factor
    for level in LEVELS:
        lo, hi = interval_columns(level)
        z = float(norm.ppf(0.5 + level / 200))
        out[lo], out[hi] = out[YHAT] - z * out[YHAT_SD], out[YHAT] + z * out[YHAT_SD]
    return out


def run_origin(frame: pd.DataFrame, freq: str, origin: pd.Timestamp) -> pd.DataFrame:
    history = frame[frame[DS] <= origin]
    history = history[history.groupby(UNIQUE_ID)[Y].transform(lambda y: (y != 0).cumsum()) > 0]
    offset = pd.tseries.frequencies.to_offset(freq)
    first = history[DS].max() + offset
    config = RevenueConfig()
    h = resolve_horizon(config.horizon, freq, first.date(), origin.date())
    layout = factory.fold_layout(config, freq, int(history.groupby(UNIQUE_ID).size().max()), h)
    model = factory.revenue_forecaster(config, freq, None, layout, horizon=h)
    model.fit(history)
    forecast = model.predict(h)
    rows = apply_selection(model.backtest_.drop(columns=[c for c in model.backtest_
                                                         if c.startswith("scale_")]),
                           model.selection_)
    past = history[[UNIQUE_ID, DS, Y]]
    actual_rows = frame[(frame[DS] > origin) & (frame[DS] <= forecast[DS].max())]
    truth = forecast[[UNIQUE_ID, DS]].merge(actual_rows, on=[UNIQUE_ID, DS], how="left")
    lo, hi = interval_columns(80)
    truth = truth.assign(**{YHAT: truth[Y].fillna(0.0), lo: truth[Y].fillna(0.0),
                            hi: truth[Y].fillna(0.0)})
    actual = aggregate_to_periods(truth, past, freq, [], levels=())
    covariances = error_covariances(rows)
    profiles = {"shared_correlation": [1.0, _shared_correlation(rows)],
                "correlations_by_lag": covariances / covariances[0],
                "covariances_by_lag": covariances}
    methods = {"factor": _factor_periods(forecast, past, freq, _old_factor(rows))}
    profiles["covariances_by_group"] = series_covariances(
        model.error_covariances_, model.covariance_groups_, forecast[UNIQUE_ID])
    methods |= {name: aggregate_to_periods(forecast, past, freq, [], profile)
                for name, profile in profiles.items()}
    described = {"factor": _old_factor(rows), "c0": covariances[0],
                 "c1": covariances[1] if len(covariances) > 1 else np.nan,
                 "shared_correlation": profiles["shared_correlation"][1]}
    keys = [UNIQUE_ID, PERIOD_TYPE, PERIOD]
    out = []
    for name, periods in methods.items():
        scored = periods.merge(actual[[*keys, YHAT]].rename(columns={YHAT: "actual"}), on=keys)
        out.append(scored.assign(method=name, origin=origin, h=h, **described))
    return pd.concat(out, ignore_index=True)


def _scores(table: pd.DataFrame) -> dict:
    """Coverage and relative width per method and kind of period."""
    kinds = {"months_forecast": (table[PERIOD_TYPE] == "month") & (table[ACTUAL_PART] == 0),
             "quarters": table[PERIOD_TYPE] == "quarter"}
    out: dict = {}
    for method, part in table.groupby("method"):
        entry = {}
        for kind, mask in kinds.items():
            rows = part[mask.loc[part.index]]
            scores = {"n": len(rows)}
            for level in LEVELS:
                lo, hi = interval_columns(level)
                inside = (rows["actual"] >= rows[lo] - 1e-9) & (rows["actual"] <= rows[hi] + 1e-9)
                scores[f"coverage_{level}"] = round(float(inside.mean()), 4)
                width = (rows[hi] - rows[lo]) / rows[YHAT].abs().where(rows[YHAT] != 0)
                scores[f"median_relative_width_{level}"] = round(float(width.median()), 4)
            scores["negative_lower_bounds"] = int((rows[interval_columns(80)[0]] < 0).sum())
            entry[kind] = scores
        out[method] = entry
    return out


def run_bed(name: str) -> dict:
    load, started = os.getloadavg(), time.perf_counter()
    loader, origins = BEDS[name]
    frame, freq = loader()
    if origins is None:  # the demo: every other month end from its second year
        last = frame[DS].max()
        origins = pd.date_range(frame[DS].min() + timedelta(days=400),
                                last - timedelta(days=190), freq="2ME")
    table = pd.concat([run_origin(frame, freq, pd.Timestamp(o)) for o in origins],
                      ignore_index=True)
    per_origin = table[table["method"] == "factor"].groupby("origin")[
        ["h", "factor", "c0", "c1", "shared_correlation"]].first()
    return {"bed": name, "freq": freq, "series": int(frame[UNIQUE_ID].nunique()),
            "origins": [str(o.date()) for o in pd.to_datetime(list(origins))],
            "per_origin": {str(k.date()): {c: round(float(v), 4) for c, v in r.items()}
                           for k, r in per_origin.iterrows()},
            "scores": _scores(table), "seconds": round(time.perf_counter() - started, 1),
            "load_average_before": load}


def available() -> list[str]:
    return [b for b in BEDS if b not in _NEEDS or (DATA / _NEEDS[b]).is_dir()]


def main(names: list[str]) -> None:
    results = []
    for name in names or available():
        result = run_bed(name)
        print(name, result["scores"], flush=True)
        results.append(result)
    pooled = {}
    for method in METHODS:
        for kind in ("months_forecast", "quarters"):
            n = sum(r["scores"][method][kind]["n"] for r in results)
            pooled[f"{method}_{kind}_coverage_80"] = round(sum(
                r["scores"][method][kind]["coverage_80"] * r["scores"][method][kind]["n"]
                for r in results) / n, 4) if n else None
    record("period_intervals", {"beds": results, "pooled": pooled,
                                "load_average_after": os.getloadavg(),
                                "versions": versions("statsforecast", "prophet", "pandas",
                                                     "numpy", "scikit-learn")})


if __name__ == "__main__":
    main(sys.argv[1:])
