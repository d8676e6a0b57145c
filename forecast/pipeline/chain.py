"""``forecast run``: the whole chain, skipping steps whose inputs and settings have not changed.

The steps and what each reads and writes are declared in :mod:`forecast.pipeline.steps`; the
chain derives the rest. A step needs every step that writes a catalog entry it reads (a table
or a registered model), and runs after them: in the order of the declarations where that
order allows it, so today ingest -> series and customer snapshots -> train and predict revenue
-> train and score churn -> tiers -> targets (next quarter) -> funnel and attainment -> monthly
and risk reports. Each step has a fingerprint: the SHA-256 of its own config sections and of
what the steps it needs left (ingest: of the source files' contents). A step whose fingerprint
matches the one recorded in ``<workspace>/run_state.json`` after its last success is skipped,
unless one of its outputs is missing or changed on disk: after a step runs, the state records
the files its summary names in the workspace (size, modification time and SHA-256) and the
warehouse tables it declares it writes (columns, rows and a hash of every row); a file or
table that is gone or differs reruns the step, with the reason. Steps see the content of the
tables they read, so a change anywhere upstream reruns everything downstream of it, and a step
rerun to the same tables leaves its followers alone. A step the data cannot support (no
customer ids for churn, no opportunities for the funnel) is marked "not applicable" with the
reason, and so are the steps that need it.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from forecast.config import Config
from forecast.errors import ConfigError
from forecast.io.warehouse import warehouse_path
from forecast.pipeline import chain_outputs as outputs
from forecast.pipeline.chain_outputs import STATE_FILE
from forecast.pipeline.steps import STEPS, Step

log = logging.getLogger(__name__)


def step_needs(steps: Sequence[Step]) -> dict[str, tuple[str, ...]]:
    """Step -> the steps that write an entry it reads, in declaration order."""
    writers: dict[str, list[str]] = {}
    for step in steps:
        for dataset in step.writes:
            writers.setdefault(dataset.name, []).append(step.name)
    needs = {}
    for step in steps:
        found = {w for d in step.reads for w in writers.get(d.name, []) if w != step.name}
        needs[step.name] = tuple(s.name for s in steps if s.name in found)
    return needs


def chain_order(steps: Sequence[Step]) -> list[Step]:
    """The steps in an order where each comes after the steps it needs: the first declared
    step whose needs have all run comes next.

    Raises:
        ConfigError: the declarations make a cycle (names the steps in it).
    """
    needs, done, order = step_needs(steps), set(), []
    waiting = list(steps)
    while waiting:
        ready = next((s for s in waiting if set(needs[s.name]) <= done), None)
        if ready is None:
            raise ConfigError("the reads and writes of the steps make a cycle among "
                              f"{[s.name for s in waiting]}")
        order.append(ready)
        done.add(ready.name)
        waiting.remove(ready)
    return order


def build_steps() -> list[Step]:
    """The chain's steps in the order they run."""
    return chain_order(STEPS)


def _steps_until(until: str | None) -> list[Step]:
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


def _setting(dumped: dict, name: str) -> object:
    """A config section, or a part of one (``features.customers``)."""
    value: object = dumped
    for part in name.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    return value


def _fingerprint(step: Step, config: Config, needs: tuple[str, ...],
                 upstream: dict[str, str]) -> str:
    dumped = config.model_dump(mode="json")
    settings = {name: _setting(dumped, name) for name in step.settings}
    if step.name == "ingest":
        settings["content"] = _source_digest(config)
    payload = {"step": step.name, "settings": settings,
               "upstream": {n: upstream.get(n, "") for n in needs}}
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
    state_path = Path(config.workspace) / STATE_FILE
    fresh = force or not state_path.exists() or not warehouse_path(config.workspace).exists()
    state = {} if fresh else json.loads(state_path.read_text(encoding="utf-8"))
    steps, results, prints, blocked = _steps_until(until), [], {}, {}
    needs = step_needs(STEPS)
    started = time.perf_counter()
    for index, step in enumerate(steps):
        reason = next((f"needs {n}: {blocked[n]}" for n in needs[step.name] if n in blocked),
                      None)
        if reason is None and step.applicable is not None:
            reason = step.applicable(config)
        if reason is not None:
            blocked[step.name] = reason
            results.append({"step": step.name, "status": "not applicable", "reason": reason})
        else:
            fingerprint = _fingerprint(step, config, needs[step.name], prints)
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
