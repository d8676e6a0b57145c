"""Benchmark: customer snapshot SQL at one and several cutoffs, against a plain DuckDB query of
the four lifetimes columns, lifetimes and a plain pandas group-by.

Each method runs in its own subprocess, so the peak RSS reported is that method's alone (the child
reports its own peak, ``benchlib.peak_rss_kb``, when it is done):

- ``plain``: a plain DuckDB query of the four lifetimes columns (purchase lines grouped per
  customer and day, then per customer), read from the warehouse and written to Parquet.
- ``duckdb``: the full snapshot (every feature and the label) of
  :func:`forecast.features.customers.build_snapshot_sql` at one cutoff, read from the workspace
  warehouse and written to Parquet, end to end with the warehouse's own memory settings.
- ``duckdb_many_per_cutoff``, ``duckdb_many_one_pass`` and ``duckdb_many_auto``: the same at
  ``--cutoffs`` cutoffs (the cutoff and earlier ones ``--spacing`` days apart) with each plan
  of ``build_snapshot_sql``: one SELECT per cutoff stacked with UNION ALL (the plan before the
  one-pass plan), every cutoff from one pass over the order lines, and ``auto`` (what the
  pipeline runs: the cutoffs in blocks sized to DuckDB's memory limit, each in one pass; the
  blocks are recorded). The per-cutoff and one-pass outputs are compared row by row.
- ``pandas``: the four lifetimes columns with a straightforward pandas group-by.
- ``lifetimes``: ``lifetimes.utils.summary_data_from_transaction_data``.

The peers get their input, the purchase rows (customer_id, order_date, amount > 0), as a frame in
memory; loading it is timed apart (``load_seconds``) and not counted in their ``seconds``, while
the DuckDB time includes all its reading. The four columns of every method are compared with each
other. Wall seconds are the figures of record; CPU seconds (user + system, all threads) and the
1-minute load average around each method are recorded too, because on a shared machine wall
time depends on what else runs. Results go to
``experiments/benchmarks/results/customer_features.json`` (``--results`` for another file).

Usage::

    python experiments/benchmarks/bench_customer_features.py --workspace WS [--cutoff DATE] \
        [--cutoffs 4 --spacing 90 --repeat 3 --results /tmp/trial.json]
    # no workspace yet? generate the synthetic company (forecast.synth) with N customers into
    # DIR/source-data, ingest it into DIR/ws and benchmark that:
    python experiments/benchmarks/bench_customer_features.py --generate 1000000 --into DIR
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

import duckdb

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))
from benchlib import peak_rss_kb  # the script's folder is on the path

RESULTS = REPO / "experiments" / "benchmarks" / "results" / "customer_features.json"
LIFETIMES_COLUMNS = ("lt_frequency", "lt_recency", "lt_T", "lt_monetary_value")
SNAPSHOT_METHODS = {"duckdb": None, "duckdb_many_per_cutoff": "per_cutoff",
                    "duckdb_many_one_pass": "one_pass", "duckdb_many_auto": "auto"}
METHODS = ("plain", *SNAPSHOT_METHODS, "pandas", "lifetimes")
PLAIN_SQL = """
WITH days AS (
    SELECT customer_id, order_date, sum(amount) AS amount
    FROM orders
    WHERE customer_id IS NOT NULL AND amount > 0 AND order_date < $cutoff
    GROUP BY customer_id, order_date)
SELECT customer_id,
    CAST(count(*) - 1 AS DOUBLE) AS lt_frequency,
    CAST(max(order_date) - min(order_date) AS DOUBLE) AS lt_recency,
    CAST(($cutoff - 1) - min(order_date) AS DOUBLE) AS lt_T,
    CASE WHEN count(*) > 1 THEN (sum(amount) - arg_min(amount, order_date)) / (count(*) - 1)
        ELSE 0.0 END AS lt_monetary_value
FROM days
GROUP BY customer_id"""


def generate_company_workspace(root: Path, customers: int) -> Path:
    """Generate the synthetic company (``forecast.synth``) into ``root/source-data`` and ingest
    it into the workspace ``root/ws``; returns the workspace."""
    from forecast.config import SynthOptions
    from forecast.io.ingest import ingest
    from forecast.pipeline import demo_config
    from forecast.synth import generate_company

    generate_company(SynthOptions(customers=customers, years=3, seed=0), root / "source-data")
    ingest(demo_config(root / "source-data", root / "ws"))
    return root / "ws"


def _purchases(workspace: Path):
    from forecast.io import warehouse

    with warehouse.connect(workspace, read_only=True) as con:
        return con.execute(
            "SELECT customer_id, order_date, amount FROM orders "
            "WHERE customer_id IS NOT NULL AND amount > 0"
        ).df()


def _pandas_summary(frame, cutoff: date):
    import pandas as pd

    end = pd.Timestamp(cutoff - timedelta(days=1))
    frame = frame[frame["order_date"] <= end]
    days = frame.groupby(["customer_id", "order_date"], as_index=False)["amount"].sum()
    per = days.groupby("customer_id")
    first, last, count = per["order_date"].min(), per["order_date"].max(), per["order_date"].size()
    total, first_amount = per["amount"].sum(), per["amount"].first()
    repeat = count - 1
    return pd.DataFrame({
        "lt_frequency": repeat.astype(float),
        "lt_recency": (last - first).dt.days.astype(float),
        "lt_T": (end - first).dt.days.astype(float),
        "lt_monetary_value": ((total - first_amount) / repeat.where(repeat > 0)).fillna(0.0),
    })


def _lifetimes_summary(frame, cutoff: date):
    from lifetimes.utils import summary_data_from_transaction_data

    out = summary_data_from_transaction_data(
        frame, "customer_id", "order_date", monetary_value_col="amount",
        observation_period_end=cutoff - timedelta(days=1), freq="D",
    )
    return out.rename(columns={c: f"lt_{c}" for c in ("frequency", "recency", "T",
                                                        "monetary_value")})


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _cutoffs(cutoff: date, count: int, spacing: int) -> list[date]:
    """The cutoff and ``count - 1`` earlier ones, ``spacing`` days apart."""
    return [cutoff - timedelta(days=spacing * i) for i in range(count)]


def _run_duckdb(method: str, workspace: Path, cutoffs: list[date], out: Path) -> dict:
    from forecast.config import CustomerFeaturesConfig
    from forecast.features.customers import build_snapshot_sql, cutoff_blocks
    from forecast.io import warehouse

    snapshot = (out / f"{method}_snapshot.parquet").as_posix()
    blocks = None
    started, cpu = time.perf_counter(), _cpu_seconds()
    with warehouse.connect(workspace, read_only=True) as con:
        # A read-only connection has no spill folder of its own; use one beside the outputs.
        con.execute(f"SET temp_directory = '{(out / 'spill').as_posix()}'")
        if method == "plain":
            sql, params = PLAIN_SQL, {"cutoff": cutoffs[0]}
        else:
            plan = SNAPSHOT_METHODS[method]
            days = cutoffs if plan else cutoffs[:1]
            sql, params = build_snapshot_sql(con, CustomerFeaturesConfig(), days,
                                             **({"plan": plan} if plan else {}))
            if plan == "auto":
                blocks = [len(b) for b in cutoff_blocks(con, days)]
        con.execute(f"COPY ({sql}) TO '{snapshot}' (FORMAT PARQUET)", params)
        seconds, cpu = time.perf_counter() - started, _cpu_seconds() - cpu
        rows = con.execute(f"SELECT count(*) FROM '{snapshot}'").fetchall()[0][0]
        columns = len(con.execute(f"DESCRIBE SELECT * FROM '{snapshot}'").fetchall())
        if method in ("plain", "duckdb"):
            where = "" if method == "plain" else "WHERE lt_frequency IS NOT NULL"
            con.execute(
                f"COPY (SELECT customer_id, {', '.join(LIFETIMES_COLUMNS)} FROM '{snapshot}' "
                f"{where}) TO '{(out / f'{method}.parquet').as_posix()}' (FORMAT PARQUET)")
    return {"seconds": seconds, "cpu_seconds": cpu, "rows": int(rows), "columns": columns,
            "cutoffs": [str(c) for c in (cutoffs[:1] if method in ("plain", "duckdb")
                                         else cutoffs)]} | ({"blocks": blocks} if blocks else {})


def _run_peer(method: str, workspace: Path, cutoff: date, out: Path) -> dict:
    started = time.perf_counter()
    frame = _purchases(workspace)
    load = time.perf_counter() - started
    started, cpu = time.perf_counter(), _cpu_seconds()
    summary = (_pandas_summary if method == "pandas" else _lifetimes_summary)(frame, cutoff)
    seconds, cpu = time.perf_counter() - started, _cpu_seconds() - cpu
    summary.index.name = "customer_id"
    summary.reset_index().to_parquet(out / f"{method}.parquet")
    return {"seconds": seconds, "cpu_seconds": cpu, "load_seconds": load, "rows": len(summary),
            "input_rows": len(frame)}


def run_child(method: str, workspace: Path, cutoffs: list[date], out: Path) -> None:
    """Run one method in this process and print its result with this process's peak RSS."""
    if method in ("plain", *SNAPSHOT_METHODS):
        result = _run_duckdb(method, workspace, cutoffs, out)
    else:
        result = _run_peer(method, workspace, cutoffs[0], out)
    result["peak_rss_mb"] = peak_rss_kb() / 1024
    print(json.dumps(result))


def _spawn(method: str, workspace: Path, cutoffs: list[date], out: Path) -> dict:
    cmd = [sys.executable, __file__, "--workspace", str(workspace),
           "--cutoff", ",".join(str(c) for c in cutoffs), "--child", method, "--out", str(out)]
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        return {"error": done.stderr[-2000:]}
    return json.loads(done.stdout.strip().splitlines()[-1])


def _compare(out: Path, methods: list[str]) -> dict:
    con = duckdb.connect()
    diffs = {}
    for method in methods:
        if method in SNAPSHOT_METHODS or not (out / f"{method}.parquet").exists():
            continue
        cols = ", ".join(f"max(abs(d.{c} - p.{c}))" for c in LIFETIMES_COLUMNS)
        row = con.execute(
            f"SELECT count(*), count(d.customer_id), count(p.customer_id), {cols} FROM "
            f"'{out.as_posix()}/duckdb.parquet' AS d FULL JOIN '{out.as_posix()}/{method}.parquet'"
            f" AS p USING (customer_id)"
        ).fetchall()[0]
        diffs[method] = {"customers": row[0], "missing_in_duckdb": row[0] - row[1],
                         "missing_in_peer": row[0] - row[2],
                         "max_abs_diff": dict(zip(LIFETIMES_COLUMNS, row[3:], strict=True))}
    return diffs


def _compare_plans(out: Path) -> dict:
    """The two plans' snapshots at several cutoffs, row by row: rows only one has, non-float
    columns that differ, and per float column the share of bit-identical values and the
    largest differences (sums grouped differently differ in the last bits, as two runs of one
    plan do: a parallel sum adds in the order the threads meet the lines)."""
    files = [out / f"{m}_snapshot.parquet" for m in ("duckdb_many_per_cutoff",
                                                     "duckdb_many_one_pass")]
    if not all(f.exists() for f in files):
        return {}
    con = duckdb.connect()
    a, b = (f"'{f.as_posix()}'" for f in files)
    types = dict(con.execute(f"SELECT column_name, column_type FROM (DESCRIBE {a})").fetchall())
    values = [c for c in types if c not in ("cutoff", "customer_id")]
    joined = f"{a} AS a FULL JOIN {b} AS b USING (cutoff, customer_id)"
    # label_complete is never NULL in a row, so a NULL one marks a row the other side lacks.
    rows, only_one_pass, only_per_cutoff = con.execute(
        f"SELECT count(*), count(*) FILTER (WHERE a.label_complete IS NULL), "
        f"count(*) FILTER (WHERE b.label_complete IS NULL) FROM {joined}").fetchall()[0]
    differ, floats = {}, {}
    for c in values:
        q = f'"{c}"'
        if types[c] == "DOUBLE":
            # Relative differences only where a value is not a cancellation residue near 0.
            same, gap, rel, nulls = con.execute(
                f"SELECT avg(CASE WHEN a.{q} IS NOT DISTINCT FROM b.{q} THEN 1.0 ELSE 0.0 END), "
                f"max(abs(a.{q} - b.{q})), max(abs(a.{q} - b.{q}) / abs(a.{q})) FILTER (WHERE "
                f"abs(a.{q}) >= 1e-6), count(*) FILTER (WHERE (a.{q} IS NULL) <> "
                f"(b.{q} IS NULL)) FROM {joined}").fetchall()[0]
            floats[c] = {"bit_identical_share": same, "max_abs_diff": gap,
                         "max_rel_diff": rel, "null_mismatch": nulls}
        else:
            n = con.execute(f"SELECT count(*) FROM {joined} WHERE a.{q} IS DISTINCT FROM "
                            f"b.{q}").fetchall()[0][0]
            if n:
                differ[c] = n
    return {"rows": rows, "only_per_cutoff": only_per_cutoff, "only_one_pass": only_one_pass,
            "non_float_columns_differing": differ,
            "float_columns_not_bit_identical": {c: f for c, f in floats.items()
                                                if f["bit_identical_share"] < 1},
            "float_null_mismatches": sum(f["null_mismatch"] for f in floats.values())}


def _data_sizes(workspace: Path) -> dict:
    from forecast.io import warehouse

    with warehouse.connect(workspace, read_only=True) as con:
        lines, customers, first, last = con.execute(
            "SELECT count(*), count(DISTINCT customer_id), min(order_date), max(order_date) "
            "FROM orders").fetchall()[0]
        orders = con.execute("SELECT count(DISTINCT order_id) FROM orders").fetchall()[0][0]
        sources = con.execute("SELECT DISTINCT source FROM orders").fetchall()
    return {"order_lines": lines, "orders": orders, "customers": customers,
            "first_day": str(first), "last_day": str(last),
            "sources": sorted(s[0] for s in sources),
            "warehouse_mb": round(warehouse.warehouse_path(workspace).stat().st_size / 2**20, 1)}


def _versions() -> dict:
    from importlib.metadata import version

    return {p: version(p) for p in ("duckdb", "pandas", "numpy", "lifetimes", "pyarrow")} | {
        "python": platform.python_version()}


def _run_rounds(workspace: Path, cutoffs: list[date], methods: list[str], repeat: int,
                out: Path) -> dict[str, list[dict]]:
    # Rounds interleave the methods, so a burst of load from elsewhere hits all of them alike.
    runs: dict[str, list[dict]] = {m: [] for m in methods}
    for _ in range(repeat):
        for method in methods:
            load_before = os.getloadavg()[0]
            result = _spawn(method, workspace, cutoffs, out)
            result["machine_load_1min"] = [round(load_before, 2), round(os.getloadavg()[0], 2)]
            runs[method].append(result)
    return runs


def _summarise(runs: dict[str, list[dict]]) -> tuple[dict, dict]:
    methods, ratios = {}, {}
    for method, results in runs.items():
        good = [r for r in results if "seconds" in r]
        if not good:
            methods[method] = {"error": results[0].get("error"), "runs": results}
            continue
        best = min(good, key=lambda r: r["seconds"])
        walls = sorted(r["seconds"] for r in good)
        methods[method] = {**best, "median_seconds": walls[len(walls) // 2],
                           "max_peak_rss_mb": max(r["peak_rss_mb"] for r in good),
                           "runs": results}
    pairs = [(m, "duckdb") for m in methods if m != "duckdb"]
    pairs += [("duckdb", "plain"), ("duckdb_many_per_cutoff", "duckdb_many_one_pass"),
              ("duckdb_many_per_cutoff", "duckdb_many_auto")]
    for method, base in pairs:
        top, bottom = methods.get(method, {}), methods.get(base, {})
        if "seconds" not in top or "seconds" not in bottom:
            continue
        for key in ("seconds", "median_seconds", "cpu_seconds"):
            ratios[f"{method}_{key}_over_{base}"] = round(top[key] / bottom[key], 2)
    return methods, ratios


def run_benchmark(workspace: Path, cutoff: date | None, methods: list[str], note: str,
                  repeat: int = 1, count: int = 4, spacing: int = 90) -> dict:
    """Run every method in its own subprocess, ``repeat`` rounds, and collect the figures.

    Per method the fastest run's figures are reported (with the median wall time and every run),
    and the ratios compare the fastest runs, the median runs and the CPU seconds: every method
    against the one-cutoff snapshot (``duckdb``), and the per-cutoff plan against the one-pass
    plan at ``count`` cutoffs ``spacing`` days apart.
    """
    sizes = _data_sizes(workspace)
    cutoff = cutoff or date.fromisoformat(sizes["last_day"]) - timedelta(days=89)
    cutoffs = _cutoffs(cutoff, count, spacing)
    with tempfile.TemporaryDirectory(prefix="bench-customers-") as tmp:
        runs = _run_rounds(workspace, cutoffs, methods, repeat, Path(tmp))
        agreement = _compare(Path(tmp), methods)
        plans = _compare_plans(Path(tmp))
    results, ratios = _summarise(runs)
    return {
        "benchmark": "customer snapshot (all features + label) at one and several cutoffs vs "
                     "the 4 lifetimes columns",
        "note": note, "cutoff": str(cutoff), "cutoffs": [str(c) for c in cutoffs],
        "workspace": str(workspace), "data": sizes,
        "machine": {"cores": os.cpu_count(), "platform": platform.platform(),
                    "duckdb_memory_limit": os.environ.get("FORECAST_DUCKDB_MEMORY", "2GB")},
        "versions": _versions(), "repeat": repeat, "methods": results, "ratios": ratios,
        "agreement_with_duckdb": agreement, "plans_agreement": plans,
        "targets": {"lifetimes_over_duckdb_at_least": 2.5, "pandas_over_duckdb_above": 1.0,
                    "duckdb_seconds_over_plain_at_most": 2.0,
                    "duckdb_many_auto_seconds_over_duckdb_at_most": 2.0,
                    "duckdb_peak_rss_mb_below": 2048},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workspace", type=Path, help="workspace whose warehouse holds orders")
    parser.add_argument("--cutoff", default=None,
                        help="default: last order day - 89 days (the label window is complete)")
    parser.add_argument("--cutoffs", type=int, default=4,
                        help="cutoffs of the several-cutoff runs (the cutoff and earlier ones)")
    parser.add_argument("--spacing", type=int, default=90, help="days between those cutoffs")
    parser.add_argument("--methods", default=",".join(METHODS))
    parser.add_argument("--generate", type=int, default=None, metavar="CUSTOMERS",
                        help="generate and ingest the synthetic company first (needs --into)")
    parser.add_argument("--into", type=Path, help="folder for --generate")
    parser.add_argument("--note", default="")
    parser.add_argument("--repeat", type=int, default=1, help="rounds of all methods")
    parser.add_argument("--results", type=Path, default=RESULTS)
    parser.add_argument("--child", choices=METHODS, help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        cutoffs = [date.fromisoformat(c) for c in args.cutoff.split(",")]
        run_child(args.child, args.workspace, cutoffs, args.out)
        return
    if args.generate:
        if not args.into:
            parser.error("--generate needs --into DIR")
        started = time.perf_counter()
        args.workspace = generate_company_workspace(args.into, args.generate)
        print(f"generated and ingested in {time.perf_counter() - started:.1f} s", file=sys.stderr)
    if not args.workspace:
        parser.error("give --workspace (or --generate N --into DIR)")
    cutoff = date.fromisoformat(args.cutoff) if args.cutoff else None
    report = run_benchmark(args.workspace, cutoff, args.methods.split(","), args.note,
                           args.repeat, args.cutoffs, args.spacing)
    args.results.parent.mkdir(parents=True, exist_ok=True)
    args.results.write_text(json.dumps(report, indent=2, default=str) + "\n", encoding="utf-8")
    print(json.dumps(report, indent=2, default=str))


if __name__ == "__main__":
    main()
