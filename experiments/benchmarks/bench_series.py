"""Benchmark: build the series frame of a large warehouse and record time and memory.

Times ``build_series_sql`` plus materialising its result as a warehouse table (what
``forecast features series`` does before the Parquet copy, which is timed separately), for the
given grains and frequency, and writes a JSON record.

Usage::

    # a workspace whose warehouse holds the synthetic company's orders (1M customers):
    python experiments/benchmarks/bench_series.py --workspace ../workspaces/synth-1m
    # no such workspace at hand: fill a scratch warehouse with N random order lines first
    python experiments/benchmarks/bench_series.py --workspace /tmp/bench-ws --fabricate 20000000

The target: every region x channel x product_line weekly series of 20,000,000 orders in under
10 s on 2 cores.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from datetime import date
from pathlib import Path

import duckdb
import psutil
from benchlib import peak_rss_kb

from forecast.config import SeriesConfig
from forecast.features.series import build_series_sql
from forecast.io import warehouse
from forecast.io.outputs import export_table, write_table
from forecast.schemas import ORDERS

RESULTS = Path(__file__).resolve().parent / "results" / "series.json"
REGIONS = ("North", "East", "South", "West", "Central", "Northeast")
CHANNELS = ("online", "offline", "distributor")
LINES = ("Office Supplies", "Packaging", "Cleaning", "Safety Equipment", "Electronics",
         "Furniture")


def _pick(values: tuple[str, ...], seed_sql: str) -> str:
    items = ", ".join("'" + v + "'" for v in values)
    return f"[{items}][1 + CAST(({seed_sql}) % {len(values)} AS INTEGER)]"


def fabricate_orders(con: duckdb.DuckDBPyConnection, lines: int, customers: int) -> None:
    """Fill ``orders`` with ``lines`` random order lines (about 1.2 lines per order) over
    three years, so the benchmark can run without the synthetic company's files."""
    warehouse.ensure_canonical_table(con, ORDERS)
    con.execute("DELETE FROM orders WHERE source = 'bench_fabricated'")
    start = date(2023, 11, 1)
    order, customer = "(i * 5 // 6)", f"(hash(i * 5 // 6, 1) % {customers})"
    con.execute(f"""
        INSERT INTO orders (order_id, order_date, customer_id, product_id, product_line, channel,
                            region, segment, quantity, unit_price, amount, unit_cost, promo,
                            source, source_row)
        SELECT 'O' || CAST({order} AS VARCHAR),
               DATE '{start}' + CAST(hash({order}, 2) % 1096 AS INTEGER),
               'C' || CAST({customer} AS VARCHAR), 'P' || CAST(hash(i, 3) % 5000 AS VARCHAR),
               {_pick(LINES, 'hash(i, 4)')}, {_pick(CHANNELS, f'hash({customer}, 5)')},
               {_pick(REGIONS, f'hash({customer}, 6)')}, 'small',
               q, p, q * p, p * 0.6, false, 'bench_fabricated', i
        FROM (SELECT i, CAST(1 + hash(i, 7) % 20 AS DOUBLE) AS q,
                     CAST(5 + hash(i, 8) % 500 AS DOUBLE) AS p FROM range({lines}) AS t(i))""")


def _peak_rss_mb() -> float:
    return round(peak_rss_kb() / 1024, 1)


def run(args: argparse.Namespace) -> dict:
    """Build the series once per repeat and return the timing record."""
    grains = [[c for c in g.split(",") if c] for g in args.grain] or [
        ["region", "channel", "product_line"]]
    measures = args.measures.split(",") if args.measures else SeriesConfig().measures
    config = SeriesConfig(grains=grains, freq=args.freq, measures=measures)
    with warehouse.connect(Path(args.workspace), create=bool(args.fabricate)) as con:
        con.execute(f"SET threads = {args.threads}")
        if args.fabricate:
            started = time.perf_counter()
            fabricate_orders(con, args.fabricate, args.customers)
            print(f"fabricated {args.fabricate:,} lines in {time.perf_counter() - started:.1f} s")
        rows = con.execute("SELECT count(*), count(DISTINCT order_id) FROM orders").fetchall()[0]
        timings, cpu = [], []
        for _ in range(args.repeat):
            started, cpu_started = time.perf_counter(), time.process_time()
            sql = build_series_sql(con, config, args.country)
            written = write_table(con, "bench_series", sql)
            timings.append(time.perf_counter() - started)
            cpu.append(time.process_time() - cpu_started)
        series = con.execute("SELECT count(DISTINCT unique_id) FROM bench_series").fetchall()[0][0]
        started = time.perf_counter()
        parquet = Path(args.workspace) / "features" / "bench_series.parquet"
        export_table(con, "bench_series", parquet, order_by="unique_id, ds")
        export_seconds = time.perf_counter() - started
        con.execute("DROP TABLE bench_series")
    return {
        "benchmark": "series", "workspace": str(args.workspace),
        "fabricated": bool(args.fabricate), "cores": psutil.cpu_count(logical=True),
        "threads": args.threads, "python": platform.python_version(),
        "duckdb": duckdb.__version__, "platform": platform.platform(),
        "order_lines": int(rows[0]), "orders": int(rows[1]), "grains": grains,
        "freq": args.freq, "measures": measures, "country": args.country, "series": int(series),
        "series_rows": written, "seconds": round(min(timings), 3),
        "seconds_all": [round(t, 3) for t in timings],
        # CPU seconds of all threads; wall time / CPU shows how busy the machine was.
        "cpu_seconds": round(min(cpu), 3), "load_average_1m": round(os.getloadavg()[0], 2),
        "parquet_export_seconds": round(export_seconds, 3), "peak_rss_mb": _peak_rss_mb(),
        "recorded": time.strftime("%Y-%m-%dT%H:%M:%S"), "note": args.note,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workspace", required=True, help="workspace whose warehouse has orders")
    parser.add_argument("--grain", action="append", default=[],
                        help="comma-separated key columns (repeatable; '' is the total); "
                        "default region,channel,product_line")
    parser.add_argument("--freq", default="W", choices=["D", "W", "M", "Q"])
    parser.add_argument("--country", default="CN")
    parser.add_argument("--measures", default="",
                        help="comma-separated measures; default: the SeriesConfig default")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--fabricate", type=int, default=0,
                        help="first fill the warehouse with this many random order lines")
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--note", default="", help="free text stored with the record")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    record = run(args)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    history = json.loads(args.out.read_text()) if args.out.exists() else []
    history = history if isinstance(history, list) else [history]
    args.out.write_text(json.dumps(history + [record], indent=2) + "\n", encoding="utf-8")
    print(json.dumps(record, indent=2))


if __name__ == "__main__":
    main()
