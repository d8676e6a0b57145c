"""Every bad input of the trustworthy-data work, run through the real command line.

Each case writes a small source (or damages a workspace), runs the `forecast` command a user
would run, and records the exit code, the error message (or the summary's reasons) and the row
counts. The result is a Markdown table on stdout and `experiments/trust/bad_inputs.json`.

    .venv/bin/python experiments/trust/bad_inputs.py            # ingest and config cases
    .venv/bin/python experiments/trust/bad_inputs.py --chain    # plus the scoring/chain cases

The chain cases build a 300-customer synthetic company first (about a minute).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import click
import yaml

HERE = Path(__file__).resolve().parent
FORECAST = [str(Path(sys.executable).parent / "forecast")]
ORDERS = {"order_date": "date", "customer_id": "customer", "amount": "amount"}
GOOD = "date,customer,amount\n2024-01-02,a,10\n2024-01-03,b,20\n"


def run(*args: str, cwd: Path | None = None) -> dict:
    """Run one forecast command; exit code, the error line (or last stderr line), stdout."""
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    env.pop("MLFLOW_TRACKING_URI", None)
    proc = subprocess.run([*FORECAST, *args], capture_output=True, text=True, cwd=cwd, env=env,
                          timeout=600, check=False)
    lines = proc.stderr.splitlines()
    at = [i for i, line in enumerate(lines) if line.startswith("error: ")]
    message = ""
    if at:  # the error line and the indented detail lines under it (a config's field errors)
        detail = [line.strip() for line in lines[at[-1] + 1:] if line.startswith(" ")]
        message = " / ".join([lines[at[-1]][7:], *detail])
    warnings = [line[9:] for line in lines if line.startswith("warning: ")]
    return {"exit": proc.returncode, "message": message, "warnings": warnings,
            "traceback": "Traceback" in proc.stderr, "stdout": proc.stdout,
            "stderr_tail": proc.stderr.strip().splitlines()[-1:] if proc.stderr.strip() else []}


def config(folder: Path, sources: list[dict], **extra) -> Path:
    path = folder / "config.yaml"
    path.write_text(yaml.safe_dump({"workspace": str(folder / "ws"), "sources": sources,
                                    **extra}, allow_unicode=True), encoding="utf-8")
    return path


def source(path: Path, **extra) -> dict:
    return {"table": "orders", "path": str(path), "columns": dict(ORDERS), **extra}


def ingest(folder: Path, sources: list[dict]) -> dict:
    out = run("data", "ingest", "--config", str(config(folder, sources)), "--json")
    if out["exit"] == 0:
        summary = json.loads(out["stdout"])
        out["counts"] = [
            {k: s.get(k) for k in ("source", "rows_read", "rows_loaded", "rows_quarantined",
                                    "identical_rows")} | {"reasons": s.get("reasons")}
            for s in summary["sources"]]
        out["summary"] = summary
        out["warnings"] = [*out["warnings"], *(w["message"] for w in summary.get("removed", []))]
    return out


def write(folder: Path, name: str, text: str | bytes) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text if isinstance(text, bytes) else text.encode("utf-8"))
    return path


def warehouse(folder: Path, sql: str) -> list[tuple]:
    import duckdb

    con = duckdb.connect(str(folder / "ws" / "warehouse.duckdb"), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


# ---- ingest and config cases ---------------------------------------------------------------

def non_finite_csv(folder: Path) -> dict:
    src = write(folder, "o.csv", "date,customer,amount\n2024-01-02,a,10\n2024-01-03,b,NaN\n"
                "2024-01-04,c,inf\n2024-01-05,d,-Infinity\n2024-01-06,e,1e400\n")
    return ingest(folder, [source(src)])


def non_finite_parquet(folder: Path) -> dict:
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = folder / "o.parquet"
    pq.write_table(pa.table({"date": ["2024-01-02"] * 3, "customer": ["a", "b", "c"],
                             "amount": [10.0, float("nan"), float("inf")]}), path)
    return ingest(folder, [source(path)])


def non_finite_excel(folder: Path) -> dict:
    from openpyxl import Workbook

    book = Workbook()
    for row in [("date", "customer", "amount"), ("2024-01-02", "a", 10), ("2024-01-03", "b", "nan"),
                ("2024-01-04", "c", "1e400")]:
        book.active.append(row)
    path = folder / "o.xlsx"
    book.save(path)
    return ingest(folder, [source(path)])


def config_typo(key: str, value) -> Callable[[Path], dict]:
    def case(folder: Path) -> dict:
        return ingest(folder, [source(write(folder, "o.csv", GOOD), **{key: value})])
    return case


def uncomparable_filter(column: str, value) -> Callable[[Path], dict]:
    def case(folder: Path) -> dict:
        src = write(folder, "o.csv", "date,customer,amount,Quantity,Country\n"
                    "2024-01-02,a,10,2,France\n2024-01-03,b,20,3,Spain\n")
        return ingest(folder, [source(src, filters=[{"column": column, "op": "gt",
                                                     "value": value}])])
    return case


def all_quarantined(folder: Path) -> dict:
    src = write(folder, "o.csv", "date,customer,amount\n2024-01-02,a,ten\n2024-01-03,b,x\n")
    return ingest(folder, [source(src)])


def header_only(folder: Path) -> dict:
    return ingest(folder, [source(write(folder, "o.csv", "date,customer,amount\n"))])


def header_only_allowed(folder: Path) -> dict:
    return ingest(folder, [source(write(folder, "o.csv", "date,customer,amount\n"),
                                  allow_empty=True)])


def day_first(folder: Path) -> dict:
    src = write(folder, "o.csv", "date,customer,amount\n13/01/2024,a,10\n25/02/2024,b,20\n")
    return ingest(folder, [source(src)])


def repointed(folder: Path) -> dict:
    october = write(folder, "orders_2026-10.csv", GOOD)
    first = ingest(folder, [source(october)])
    november = write(folder, "orders_2026-11.csv", GOOD + "2024-01-04,c,30\n")
    second = ingest(folder, [source(november)])
    second["rows_in_table"] = warehouse(folder, "SELECT count(*) FROM orders")[0][0]
    second["first"] = first.get("counts")
    return second


def removed_source(folder: Path) -> dict:
    a = write(folder, "a.csv", GOOD)
    b = write(folder, "b.csv", "date,customer,amount\n2024-02-01,z,5\n")
    ingest(folder, [source(a), {**source(b), "table": "orders"}])
    out = ingest(folder, [source(a)])
    out["rows_in_table"] = warehouse(folder, "SELECT count(*) FROM orders")[0][0]
    return out


def identical_rows(folder: Path) -> dict:
    src = write(folder, "o.csv", GOOD + "2024-01-03,b,20\n")
    return ingest(folder, [source(src)])


def identical_rows_keyed(folder: Path) -> dict:
    src = write(folder, "o.csv", GOOD + "2024-01-03,b,20\n")
    return ingest(folder, [source(src, unique_key=["customer_id", "order_date"])])


def apostrophe_source(folder: Path) -> dict:
    return ingest(folder, [source(write(folder / "o'brien", "sales.csv", GOOD))])


def apostrophe_workspace(folder: Path) -> dict:
    src = write(folder, "o.csv", GOOD)
    path = folder / "config.yaml"
    path.write_text(yaml.safe_dump({"workspace": str(folder / "o'brien ws"),
                                    "sources": [source(src)]}), encoding="utf-8")
    return run("data", "ingest", "--config", str(path))


def bad_utf8_byte(folder: Path) -> dict:
    text = ("date,customer,amount\n" + "".join(f"2024-01-02,客户{i},10\n" for i in range(50)))
    data = text.encode("utf-8")
    return ingest(folder, [source(write(folder, "o.csv", data[:300] + b"\xff" + data[300:]))])


def corrupt_xlsx(folder: Path) -> dict:
    return ingest(folder, [source(write(folder, "o.xlsx", b"PK\x03\x04 not really a zip"))])


def missing_sheet(folder: Path) -> dict:
    from openpyxl import Workbook

    book = Workbook()
    book.active.title = "Orders"
    book.active.append(("date", "customer", "amount"))
    path = folder / "o.xlsx"
    book.save(path)
    return ingest(folder, [source(path, sheet="Sheet1")])


def malformed_lines(folder: Path) -> dict:
    lines = ["date,customer,amount"] + [f"2024-01-{d:02d},c{d},{d}" for d in range(1, 9)]
    lines.insert(3, "2024-01-99,x,1,extra")
    src = write(folder, "o.csv", "\n".join(lines) + "\n")
    out = ingest(folder, [source(src)])
    if out["exit"] == 0:
        out["rows"] = {
            "loaded": warehouse(folder, "SELECT source_row, customer_id FROM orders ORDER BY 1"),
            "quarantined": warehouse(folder, "SELECT source_row FROM quarantine ORDER BY 1")}
    return out


HOLD_WAREHOUSE = ("import duckdb, sys, time; c = duckdb.connect(sys.argv[1]); "
                  "print('ready', flush=True); time.sleep(60)")


def locked_workspace(folder: Path) -> dict:
    src = write(folder, "o.csv", GOOD)
    cfg = config(folder, [source(src)])
    run("data", "ingest", "--config", str(cfg))
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_WAREHOUSE, str(folder / "ws" / "warehouse.duckdb")],
        stdout=subprocess.PIPE, text=True)
    try:
        holder.stdout.readline()
        out = run("data", "ingest", "--config", str(cfg))
        out["holder_pid"] = holder.pid
        return out
    finally:
        holder.kill()
        holder.wait()


INGEST_CASES: dict[str, Callable[[Path], dict]] = {
    "NaN, inf, -Infinity, 1e400 in a CSV amount": non_finite_csv,
    "NaN and inf in a Parquet DOUBLE column": non_finite_parquet,
    "nan and 1e400 in an Excel amount": non_finite_excel,
    "required: [custmer_id]": config_typo("required", ["custmer_id"]),
    "unique_key: [order_idd]": config_typo("unique_key", ["order_idd"]),
    "types: {temprature: DOUBLE} (not mapped)": config_typo("types", {"temprature": "DOUBLE"}),
    "filter on a missing column": config_typo("filters", [{"column": "Cuntry", "op": "eq",
                                                           "value": "x"}]),
    "filter Quantity gt 'abc'": uncomparable_filter("Quantity", "abc"),
    "filter Country gt 5": uncomparable_filter("Country", 5),
    "filter value .nan": config_typo("filters", [{"column": "amount", "op": "gt",
                                                  "value": float("nan")}]),
    "filter value .inf": config_typo("filters", [{"column": "amount", "op": "lt",
                                                  "value": float("inf")}]),
    'date_format: "%Q/%m"': config_typo("date_format", "%Q/%m"),
    "every row quarantined": all_quarantined,
    "header-only file": header_only,
    "header-only file with allow_empty: true": header_only_allowed,
    "day-first dates without date_format": day_first,
    "source repointed orders_2026-10.csv -> orders_2026-11.csv": repointed,
    "source removed from the config": removed_source,
    "identical order lines, no unique_key": identical_rows,
    "identical order lines, unique_key [customer_id, order_date]": identical_rows_keyed,
    "source path with an apostrophe (o'brien/sales.csv)": apostrophe_source,
    "workspace path with an apostrophe": apostrophe_workspace,
    "UTF-8 file with one bad byte": bad_utf8_byte,
    "corrupt .xlsx": corrupt_xlsx,
    "missing sheet": missing_sheet,
    "malformed CSV line (an extra field) before good rows": malformed_lines,
    "two processes on one workspace": locked_workspace,
}


# ---- chain cases on a small synthetic company -------------------------------------------

def _demo(folder: Path) -> Path:
    ws = folder / "demo"
    out = run("demo", "--workspace", str(ws), "--customers", "300", "--json")
    if out["exit"] != 0:
        raise SystemExit(f"demo failed: {out['message'] or out['stderr_tail']}")
    return ws / "demo.yaml"


def chain_cases(folder: Path) -> dict[str, dict]:
    cfg = _demo(folder)
    results: dict[str, dict] = {}
    results["features customers --cutoff 2099-01-01"] = run(
        "features", "customers", "--config", str(cfg), "--cutoff", "2099-01-01")
    results["score churn --model models:/nonexistent/1"] = run(
        "score", "churn", "--config", str(cfg), "--model", "models:/nonexistent/1")
    workspace = cfg.parent
    reports = sorted((workspace / "reports").glob("monthly*.html"))
    if reports:
        reports[0].unlink()
        out = run("run", "--config", str(cfg), "--json")
        out["report_back"] = reports[0].exists()
        results[f"forecast run after deleting {reports[0].name}"] = out
    first = run("score", "churn", "--config", str(cfg), "--json")
    again = run("score", "churn", "--config", str(cfg), "--force", "--json")
    results["score churn --force"] = {**again, "first": first["exit"]}
    mlruns = Path.cwd() / "mlruns"
    results["MLflow artifacts outside the workspace"] = {
        "exit": 0, "message": "", "cwd_mlruns_exists": mlruns.exists(),
        "workspace_artifacts": (workspace / "mlartifacts").exists()}
    return results


def _row(name: str, out: dict) -> str:
    counts = out.get("counts")
    shown = "; ".join(f"read {c['rows_read']}, loaded {c['rows_loaded']}, quarantined "
                      f"{c['rows_quarantined']}" for c in counts) if counts else ""
    reasons = "; ".join(f"{k} ({v})" for c in counts or [] for k, v in (c["reasons"] or {}).items())
    message = out.get("message") or "; ".join([*out.get("warnings", []), reasons] if reasons
                                              else out.get("warnings", []))
    extra = {k: v for k, v in out.items() if k in ("rows_in_table", "holder_pid", "rows",
                                                   "report_back", "cwd_mlruns_exists",
                                                   "workspace_artifacts")}
    if extra:
        shown = (shown + " " if shown else "") + json.dumps(extra, default=str)
    flag = " (traceback!)" if out.get("traceback") else ""
    return f"| {name} | {out['exit']}{flag} | {message.replace('|', '/')} | {shown} |"


@click.command()
@click.option("--chain", is_flag=True, help="Also run the scoring and chain cases.")
def main(chain: bool) -> None:
    results: dict[str, dict] = {}
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="forecast-bad-") as tmp:
        for i, (name, case) in enumerate(INGEST_CASES.items()):
            folder = Path(tmp) / f"case{i}"
            folder.mkdir()
            results[name] = case(folder)
        if chain:
            cwd = Path(tmp) / "cwd"
            cwd.mkdir()
            os.chdir(cwd)
            results |= chain_cases(Path(tmp))
    lines = ["| bad input | exit | message or reasons | counts |", "|---|---|---|---|"]
    lines += [_row(name, out) for name, out in results.items()]
    click.echo("\n".join(lines))
    slim = {k: {f: v for f, v in out.items() if f not in ("stdout", "summary")}
            for k, out in results.items()}
    (HERE / "bad_inputs.json").write_text(json.dumps(
        {"seconds": round(time.perf_counter() - started, 1), "cases": slim}, indent=1,
        default=str, ensure_ascii=False) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
