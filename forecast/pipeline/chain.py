"""``forecast run``: the whole chain, skipping steps whose inputs and settings have not changed.

Steps, in order: ingest -> series and customer snapshots -> train and predict revenue -> train
and score churn -> tiers -> targets (next quarter) -> funnel and attainment -> monthly and risk
reports. Each step has a fingerprint: the SHA-256 of its own config section and the
fingerprints of the steps it reads from (ingest: of the source files' contents). A step whose
fingerprint matches the one recorded in ``<workspace>/run_state.json`` after its last success
is skipped, unless one of its outputs is missing or changed on disk: after a step runs, the
state records the files its summary names in the workspace (size, modification time and
SHA-256) and the warehouse tables it writes (columns, rows and a hash of every row); a file or
table that is gone or differs reruns the step, with the reason. Downstream steps see the
content of the tables they read, so a change anywhere upstream reruns everything downstream of
it, and a step rerun to the same tables leaves its followers alone. A step the data cannot
support (no customer ids for churn, no opportunities for the funnel) is marked "not
applicable" with the reason, and so are the steps that need it.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from forecast.config import Config

log = logging.getLogger(__name__)
STATE_FILE = "run_state.json"


@dataclass(frozen=True)
class Step:
    """One step of the chain.

    Attributes:
        name: step name, as shown and recorded.
        needs: steps whose outputs it reads.
        settings: config sections its fingerprint covers.
        run: does the step; returns its summary.
        applicable: returns None when the data support the step, else the reason it cannot run.
        tables: warehouse tables it writes (or a function of the config giving them); with the
            files its summary names, what is checked before the step is skipped.
    """

    name: str
    needs: tuple[str, ...]
    settings: tuple[str, ...]
    run: Callable[[Config], dict]
    applicable: Callable[[Config], str | None] | None = None
    tables: tuple[str, ...] | Callable[[Config], tuple[str, ...]] = ()

    def output_tables(self, config: Config) -> tuple[str, ...]:
        """The warehouse tables the step writes."""
        return self.tables(config) if callable(self.tables) else self.tables


def _customers_known(config: Config) -> str | None:
    from forecast.io import warehouse

    if config.churn.label_column:
        return None
    with warehouse.connect(config.workspace, read_only=True) as con:
        known = con.execute("SELECT count(customer_id) FROM orders").fetchall()[0][0]
    return None if known else "the orders have no customer_id"


def _has_rows(table: str) -> Callable[[Config], str | None]:
    def check(config: Config) -> str | None:
        from forecast.io import warehouse

        with warehouse.connect(config.workspace, read_only=True) as con:
            rows = (con.execute(f"SELECT count(*) FROM {warehouse.quote(table)}").fetchall()[0][0]
                    if warehouse.table_exists(con, table) else 0)
        return None if rows else f"no {table} in the warehouse"
    return check


def _report_month(config: Config) -> str:
    """The last month the orders cover completely (the monthly report's own default)."""
    from forecast.io import warehouse
    from forecast.reports.periods import default_month

    with warehouse.connect(config.workspace, read_only=True) as con:
        last = con.execute("SELECT max(order_date) FROM orders").fetchall()[0][0]
    month = default_month(last)
    return f"{month.year:04d}-{month.month:02d}"


def _ingested_tables(config: Config) -> tuple[str, ...]:
    """The canonical tables the config's sources load, and the quarantine."""
    from forecast.schemas import QUARANTINE_TABLE

    return (*sorted({source.table for source in config.sources}), QUARANTINE_TABLE)


def build_steps() -> list[Step]:
    """The chain's steps in the order they run."""
    from forecast import pipeline as p

    return [
        Step("ingest", (), ("sources",), p.ingest, tables=_ingested_tables),
        Step("series", ("ingest",), ("features", "country"), p.build_series,
             tables=("series",)),
        Step("customer snapshots", ("ingest",), ("features",), p.build_customer_snapshots,
             _customers_known, tables=("customer_snapshots",)),
        Step("train revenue", ("series",), ("revenue", "country"), p.train_revenue,
             tables=("revenue_backtest",)),
        Step("predict revenue", ("train revenue",), ("revenue",), p.predict_revenue,
             tables=("revenue_forecast", "revenue_forecast_periods")),
        Step("train churn", ("customer snapshots",), ("churn",), p.train_churn, _customers_known),
        Step("score churn", ("train churn",), ("churn",), p.score_churn, _customers_known,
             tables=("churn_scores",)),
        Step("tiers", ("ingest", "score churn"), ("tiers",), p.build_tiers, _customers_known,
             tables=("customer_tiers", "tier_summary")),
        Step("targets", ("predict revenue",), ("targets",),
             lambda c: p.build_targets(c, "next"), tables=("targets_plan",)),
        Step("funnel", ("ingest", "predict revenue"), ("funnel",), p.build_funnel,
             _has_rows("opportunities"),
             tables=("funnel_conversion", "funnel_win_rates", "funnel_pipeline")),
        Step("attainment", ("ingest",), ("attainment",),
             lambda c: p.build_attainment(c, _report_month(c)), _has_rows("targets"),
             tables=("attainment",)),
        Step("monthly report", ("ingest", "predict revenue", "score churn", "tiers", "targets",
                                "funnel", "attainment"), ("reports",),
             lambda c: p.build_monthly_report(c, _report_month(c))),
        Step("risk report", ("ingest", "predict revenue", "score churn", "tiers", "targets"),
             ("reports",), p.build_risk_report),
    ]


def _steps_until(until: str | None) -> list[Step]:
    from forecast.errors import ConfigError

    steps = build_steps()
    names = [s.name for s in steps]
    if until is None:
        return steps
    if until not in names:
        raise ConfigError(f"unknown step {until!r}; steps are {names}")
    return steps[: names.index(until) + 1]


def _source_digest(config: Config) -> str:
    digest = hashlib.sha256()
    for source in config.sources:
        paths = [source.path, *(lookup.path for lookup in source.lookups)]
        for path in paths:
            digest.update(str(path).encode())
            with open(path, "rb") as fh:
                for block in iter(lambda: fh.read(1 << 20), b""):
                    digest.update(block)
    return digest.hexdigest()


def _fingerprint(step: Step, config: Config, upstream: dict[str, str]) -> str:
    dumped = config.model_dump(mode="json")
    settings = {name: dumped.get(name) for name in step.settings}
    if step.name == "ingest":
        settings["content"] = _source_digest(config)
    payload = {"step": step.name, "settings": settings,
               "upstream": {n: upstream.get(n, "") for n in step.needs}}
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()


def run_chain(config: Config, force: bool = False,
              progress: Callable[[int, int], None] | None = None,
              until: str | None = None) -> dict:
    """Run every step of the chain that is applicable and not up to date.

    Args:
        config: the job config.
        force: rerun every step, whatever the recorded fingerprints say.
        progress: called as (steps done, steps).
        until: stop after this step (see :func:`build_steps` for the names).

    Returns:
        ``steps``: per step its status (``ran``, ``unchanged``, ``not applicable``), the
        reason or the step's own summary, and seconds; plus where the reports are.
    """
    from forecast.io.warehouse import warehouse_path
    from forecast.pipeline import chain_outputs as outputs

    state_path = Path(config.workspace) / STATE_FILE
    fresh = force or not state_path.exists() or not warehouse_path(config.workspace).exists()
    state = {} if fresh else json.loads(state_path.read_text(encoding="utf-8"))
    steps, results, prints, blocked = _steps_until(until), [], {}, {}
    started = time.perf_counter()
    for index, step in enumerate(steps):
        reason = next((f"needs {n}: {blocked[n]}" for n in step.needs if n in blocked), None)
        if reason is None and step.applicable is not None:
            reason = step.applicable(config)
        if reason is not None:
            blocked[step.name] = reason
            results.append({"step": step.name, "status": "not applicable", "reason": reason})
        else:
            fingerprint = _fingerprint(step, config, prints)
            results.append(_run_step(step, config, fingerprint, state))
            _save_state(state_path, state)
            # What the steps after it see: its settings and inputs, and its tables' content.
            prints[step.name] = outputs.seen_downstream(fingerprint,
                                                        state[step.name]["outputs"])
        if progress is not None:
            progress(index + 1, len(steps))
    reports = [f for r in results if r["step"].endswith("report")
               for f in state.get(r["step"], {}).get("files") or []]
    return {"workspace": str(config.workspace), "steps": results, "reports": reports,
            "seconds": round(time.perf_counter() - started, 3)}


def _run_step(step: Step, config: Config, fingerprint: str, state: dict) -> dict:
    """Run ``step`` unless its fingerprint matches the recorded one and its recorded outputs
    are all there unchanged; record its fingerprint, files and outputs in ``state``."""
    from forecast.pipeline import chain_outputs as outputs

    recorded = state.get(step.name, {})
    reason = None
    if recorded.get("fingerprint") == fingerprint:
        reason = outputs.changed(config, recorded.get("outputs"))
        if reason is None:
            log.info("%s: unchanged, skipped", step.name)
            return {"step": step.name, "status": "unchanged", "seconds": 0.0}
        log.info("%s: %s, running again", step.name, reason)
    else:
        log.info("%s: running", step.name)
    started = time.perf_counter()
    summary = step.run(config)
    seconds = round(time.perf_counter() - started, 3)
    files = summary.get("files") or {}
    state[step.name] = {"fingerprint": fingerprint,
                        "files": list(files.values()) if isinstance(files, dict) else files,
                        "outputs": outputs.record(config, summary,
                                                  step.output_tables(config))}
    result = {"step": step.name, "status": "ran", "seconds": seconds, "summary": summary}
    if reason is not None:
        result["reason"] = f"ran again: {reason}"
    return result


def _save_state(path: Path, state: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(state, indent=2), encoding="utf-8")
    tmp.replace(path)
