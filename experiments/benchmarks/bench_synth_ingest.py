"""Benchmark: generate the synthetic company and ingest it, at up to 1,000,000 customers.

Each step runs in its own process so its peak RSS is its own. Records rows/s and peak RSS per step
to results/synth_ingest.json.

    python experiments/benchmarks/bench_synth_ingest.py --customers 1000000 --years 3
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from benchlib import record, run_python, versions  # noqa: E402

SYNTH = """
import json, sys
from pathlib import Path
from forecast.config import SynthOptions
from forecast.synth import generate_company
out, customers, years = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
summary = generate_company(SynthOptions(customers=customers, years=years), Path(out))
print(json.dumps(summary["rows"]))
"""

INGEST = """
import json, sys
from pathlib import Path
from forecast.io.ingest import ingest
from forecast.pipeline import demo_config
data, workspace = Path(sys.argv[1]), Path(sys.argv[2])
summaries = ingest(demo_config(data, workspace))
print(json.dumps({s.table: [s.rows_read, s.rows_loaded, s.rows_quarantined] for s in summaries}))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--years", type=int, default=3)
    parser.add_argument("--work", type=Path, default=Path(__file__).parent / "work" / "synth")
    parser.add_argument("--keep", action="store_true", help="keep the data and warehouse")
    parser.add_argument("--synth-only", action="store_true",
                        help="measure generation alone (recorded as synth_<customers>x<years>)")
    args = parser.parse_args()
    data, workspace = args.work / "data", args.work / "workspace"
    shutil.rmtree(args.work, ignore_errors=True)

    synth = run_python(SYNTH, [str(data), str(args.customers), str(args.years)])
    rows = json.loads(synth.pop("stdout").splitlines()[-1])
    data_facts = {"customers": args.customers, "years": args.years, "rows": rows,
                  "parquet_bytes": sum(f.stat().st_size for f in data.rglob("*.parquet"))}
    synth["rows_per_s"] = round(sum(rows.values()) / synth["seconds"])
    if args.synth_only:
        name = f"synth_{args.customers}x{args.years}"
        path = record(name, {"versions": versions("pyarrow", "numpy"), "data": data_facts,
                             "synth": synth})
        print(json.dumps({"data": data_facts, "synth": synth}, indent=2))
        print(f"recorded {path}")
        if not args.keep:
            shutil.rmtree(args.work, ignore_errors=True)
        return
    ingest = run_python(INGEST, [str(data), str(workspace)])
    counts = json.loads(ingest.pop("stdout").splitlines()[-1])
    total_rows = sum(rows[t] for t in counts)
    result = {
        "versions": versions("duckdb", "pyarrow", "numpy", "pandas"),
        "data": data_facts,
        "synth": synth,
        "ingest": {**ingest, "rows_per_s": round(total_rows / ingest["seconds"]),
                   "counts": counts,
                   "warehouse_bytes": (workspace / "warehouse.duckdb").stat().st_size},
    }
    path = record("synth_ingest", result)
    print(json.dumps(result, indent=2))
    print(f"recorded {path}")
    if not args.keep:
        shutil.rmtree(args.work, ignore_errors=True)


if __name__ == "__main__":
    main()
