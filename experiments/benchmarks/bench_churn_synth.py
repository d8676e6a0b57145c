"""Benchmark: the churn model on the synthetic company against the generator's own truth.

1. Generate a company (``--customers``, 3 years, seed 0), ingest it with the demo config and
   build customer snapshots at quarterly cutoffs 2024-07-01 .. 2026-07-01 (90-day labels).
2. Hold out the latest labelled cutoff; fit the default :class:`ChurnModel` on the cutoffs whose
   labels were known by then (at least 90 days earlier); score the held-out cutoff.
3. Oracles at the same held-out rows (:mod:`forecast.synth.oracle`), the probability of the
   label given the generator's truth at the cutoff:

   * ``churn_hazard``: knows each customer's churn hazard and lifecycle (churned, declining
     since, or not yet), integrates the future and the purchase rate over the generator's
     distributions (the customer's purchase rate drawn from its segment's);
   * ``full``: also knows the customer's own purchase rate, so it also predicts the Poisson
     silence of an active customer: a ceiling no model of the snapshot features can reach.

   Also on the customers with a purchase in the 365 days before the cutoff alone (the ones
   ``forecast score churn`` scores by default).
4. Reasons of the high-risk customers (``churn_proba >= tier_high``) against the planted drivers
   of ``ground_truth/customers.parquet``, and the product-mix investigation: churn by the sign of
   ``product_lines_change_90d`` as now defined (NULL without a previous basket) and as before (0).

Usage::

    .venv/bin/python experiments/benchmarks/bench_churn_synth.py [--customers 5000]
"""

from __future__ import annotations

import argparse
import os
import time
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
from benchlib import record, versions
from sklearn.metrics import brier_score_loss, roc_auc_score

from forecast.config import ChurnConfig, SynthOptions
from forecast.factory import fit_churn_model
from forecast.io import warehouse
from forecast.io.ingest import ingest
from forecast.models.reasons import explain_churn
from forecast.pipeline import build_customer_snapshots, demo_config
from forecast.synth import generate_company
from forecast.synth.oracle import churn_oracle

HERE = Path(__file__).resolve().parent
CUTOFFS = [date(2024, 7, 1), date(2024, 10, 1)] + [date(y, m, 1) for y in (2025, 2026)
                                                   for m in (1, 4, 7, 10)]
HELD_OUT = date(2026, 7, 1)
# Reason families that show each planted driver; "surveys" (no survey answered) is evidence the
# customer has already left: the generator stops surveys at churn, whatever the driver.
DRIVER_FAMILIES = {"frequency": {"recency", "activity", "frequency"},
                   "satisfaction": {"satisfaction"}, "product_mix": {"product_mix"}}
DEPARTURE = {"surveys"}
GOAL = {"max_auc_gap_to_hazard_oracle": 0.03}


def prepare(options: SynthOptions, work: Path) -> pd.DataFrame:
    """Labelled snapshots of the company (generated and built once into ``work``)."""
    if not (work / "data" / "manifest.json").exists():
        generate_company(options, work / "data")
    config = demo_config(work / "data", work / "ws")
    if not warehouse.warehouse_path(work / "ws").exists():
        ingest(config)
        build_customer_snapshots(config, [c for c in CUTOFFS if c <= HELD_OUT])
    with warehouse.connect(work / "ws", read_only=True) as con:
        frame = con.execute("SELECT * FROM customer_snapshots WHERE churned IS NOT NULL").df()
    frame["cutoff"] = pd.to_datetime(frame["cutoff"])
    return frame


def auc(y, p) -> float:
    return round(float(roc_auc_score(y, p)), 4)


def reason_families(model, held: pd.DataFrame, truth: pd.DataFrame) -> pd.DataFrame:
    """The held-out high-risk customers with their reason families, drivers and state."""
    explained = explain_churn(model, held, families=True)
    out = held[["customer_id", "proba", "state"]].join(explained.filter(like="family_"))
    out = out.merge(truth[["customer_id", "drivers"]], on="customer_id", how="left")
    return out[out["proba"] >= model.tier_high].reset_index(drop=True)


def driver_mapping(high: pd.DataFrame) -> dict:
    """How often each family is given, and per driver how often its families are given to
    high-risk customers with and without the driver."""
    families = pd.concat([high[c] for c in ("family_1", "family_2", "family_3")]).dropna()
    counts = families.value_counts()
    first = high["family_1"].value_counts()
    out = {"high_risk_customers": len(high), "states": high["state"].value_counts().to_dict(),
           "families_any_rank": counts.to_dict(), "families_first_reason": first.to_dict(),
           "drivers": {}}
    given = high[["family_1", "family_2", "family_3"]]
    for driver, names in DRIVER_FAMILIES.items():
        has = high["drivers"].fillna("").str.contains(driver).to_numpy()
        shown = given.isin(names).any(axis=1).to_numpy()
        still = (high["state"] != "churned").to_numpy()
        out["drivers"][driver] = {
            "with_driver": round(float(shown[has].mean()), 4) if has.any() else None,
            "without_driver": round(float(shown[~has].mean()), 4) if (~has).any() else None,
            "with_driver_not_yet_churned": round(float(shown[has & still].mean()), 4)
            if (has & still).any() else None,
            "without_driver_not_yet_churned": round(float(shown[~has & still].mean()), 4)
            if (~has & still).any() else None,
            "customers_with_driver": int(has.sum())}
    planted = set().union(*DRIVER_FAMILIES.values())
    top = list(counts.index[:3])
    out["top3_families"] = top
    out["top3_are_drivers_or_departure"] = all(f in planted | DEPARTURE for f in top)
    return out


def product_mix_investigation(frame: pd.DataFrame) -> dict:
    """Churn rate by the sign of the product-line change, as now defined and as before."""
    before = np.sign(frame["product_lines_90d"] - frame["product_lines_prev_90d"])
    now = np.sign(frame["product_lines_change_90d"])
    churned = frame["churned"].astype(float)

    def rates(sign: pd.Series) -> dict:
        table = churned.groupby(sign.map({-1: "narrower", 0: "same", 1: "wider"})).agg(
            ["mean", "size"])
        return {k: {"churn_rate": round(float(r["mean"]), 4), "rows": int(r["size"])}
                for k, r in table.iterrows()}

    return {"previous_definition_0_without_previous_basket": rates(before),
            "current_definition_null_without_previous_basket": rates(now),
            "rows_without_previous_basket": int(frame["product_lines_change_90d"].isna().sum())}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=5000)
    args = parser.parse_args()
    options = SynthOptions(customers=args.customers, years=3, seed=0)
    load_start = os.getloadavg()
    frame = prepare(options, HERE / "work" / f"churn_synth_{args.customers}")
    held_at = pd.Timestamp(HELD_OUT)
    train = frame[frame["cutoff"] <= held_at - pd.Timedelta(days=90)]
    held = frame[frame["cutoff"] == held_at].reset_index(drop=True)
    started = time.perf_counter()
    model = fit_churn_model(train, ChurnConfig())
    fit_seconds = time.perf_counter() - started
    held["proba"] = model.predict_proba(held)[:, 1]
    oracle = {}
    for name, knows_rate in (("churn_hazard", False), ("full", True)):
        found = churn_oracle(options, [HELD_OUT], knows_rate=knows_rate)
        held = held.merge(found[["customer_id", "oracle_proba", "state"]].rename(
            columns={"oracle_proba": name, "state": f"state_{name}"}), on="customer_id")
    held = held.rename(columns={"state_full": "state"}).drop(columns="state_churn_hazard")
    y = held["churned"].astype(int)
    for name in ("churn_hazard", "full"):
        oracle[name] = {"roc_auc": auc(y, held[name]),
                        "brier": round(float(brier_score_loss(y, held[name])), 4),
                        "mean_probability": round(float(held[name].mean()), 4)}
    model_auc = auc(y, held["proba"])
    active = (held["recency_days"] <= 365).to_numpy()  # the customers scoring covers by default
    active_aucs = {name: auc(y[active], held.loc[active, column]) for name, column in
                   (("model", "proba"), ("churn_hazard", "churn_hazard"), ("full", "full"))}
    truth = pd.read_parquet(HERE / "work" / f"churn_synth_{args.customers}" / "data" /
                            "ground_truth" / "customers.parquet")
    path = record(f"churn_synth_{args.customers}", {
        "versions": versions("duckdb", "pandas", "scikit-learn", "numpy"),
        "load_average_at_start": [round(x, 2) for x in load_start],
        "load_average_at_end": [round(x, 2) for x in os.getloadavg()],
        "company": options.model_dump(mode="json"),
        "protocol": {"cutoffs": [c.isoformat() for c in CUTOFFS if c <= HELD_OUT],
                     "held_out_cutoff": HELD_OUT.isoformat(), "horizon_days": 90,
                     "train_rows": len(train), "held_out_rows": len(held),
                     "held_out_churn_rate": round(float(y.mean()), 4)},
        "model": {"chosen": model.chosen_, "roc_auc": model_auc,
                  "brier": round(float(brier_score_loss(y, held["proba"])), 4),
                  "fit_seconds": round(fit_seconds, 1),
                  "validation": model.validation_.drop(columns="params").round(4)
                  .to_dict("records")},
        "oracle": oracle,
        "gap_to_churn_hazard_oracle": round(model_auc - oracle["churn_hazard"]["roc_auc"], 4),
        "gap_to_full_oracle": round(model_auc - oracle["full"]["roc_auc"], 4),
        "active_within_365_days": {"rows": int(active.sum()), "roc_auc": active_aucs},
        "goal": GOAL,
        "goal_met": abs(model_auc - oracle["churn_hazard"]["roc_auc"])
        <= GOAL["max_auc_gap_to_hazard_oracle"],
        "reasons_of_high_risk_customers": driver_mapping(reason_families(model, held, truth)),
        "product_mix": product_mix_investigation(frame),
    })
    print(path.read_text(encoding="utf-8"))


if __name__ == "__main__":
    main()
