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
rerun to the same tables leaves its followers alone.

A step the data cannot support is marked "not applicable" with the reason, and so are the steps
that need it; every other step still runs. A step is not applicable when its declared check
says so before it runs (no customer ids for churn, no opportunities for the funnel), or when it
raises :class:`~forecast.errors.DataError` (too short a history for the revenue backtest, no
churners to validate a churn model on); any other error (a config mistake, a missing file)
stops the run. A step reading the output of a step that is not applicable only optionally (the
reports, the tiers without churn scores) runs without it and is told what is missing and why.
What a step that is not applicable left on an earlier run (its tables, the files it recorded)
is removed, so no later step or report reads results the current data no longer give; a step
that raised is recorded as not applicable, and reported so again without running while its
fingerprint holds.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from forecast.config import Config
from forecast.errors import ConfigError, DataError
from forecast.io.warehouse import warehouse_path
from forecast.pipeline import chain_outputs as outputs
from forecast.pipeline.chain_outputs import STATE_FILE
from forecast.pipeline.results import ChainResult
from forecast.pipeline.steps import STEPS, Missing, Step
from forecast.progress import ProgressCallback

log = logging.getLogger(__name__)


def _entry_writers(steps: Sequence[Step]) -> dict[str, list[str]]:
    """Catalog entry name -> the steps that write it, in declaration order."""
    writers: dict[str, list[str]] = {}
    for step in steps:
        for dataset in step.writes:
            writers.setdefault(dataset.name, []).append(step.name)
    return writers


def _writers(steps: Sequence[Step], reads: Callable[[Step], tuple]) -> dict[str, tuple[str, ...]]:
    """Step -> the other steps that write an entry of ``reads(step)``, in declaration order."""
    writers = _entry_writers(steps)
    found = {}
    for step in steps:
        names = {w for d in reads(step) for w in writers.get(d.name, []) if w != step.name}
        found[step.name] = tuple(s.name for s in steps if s.name in names)
    return found


def step_needs(steps: Sequence[Step]) -> dict[str, tuple[str, ...]]:
    """Step -> the steps that write an entry it needs (its ``reads``), in declaration order:
    when one of them is not applicable, so is the step."""
    return _writers(steps, lambda s: s.reads)


def step_inputs(steps: Sequence[Step]) -> dict[str, tuple[str, ...]]:
    """Step -> the steps that write an entry it reads, needed or optional, in declaration
    order: it runs after them and its fingerprint covers what they left."""
    return _writers(steps, lambda s: (*s.reads, *s.optional))


def chain_order(steps: Sequence[Step]) -> list[Step]:
    """The steps in an order where each comes after the steps whose entries it reads (needed
    or optional): the first declared step whose inputs have all run comes next.

    Raises:
        ConfigError: the declarations make a cycle (names the steps in it).
    """
    needs, done, order = step_inputs(steps), set(), []
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


def _fingerprint(step: Step, config: Config, inputs: tuple[str, ...],
                 upstream: dict[str, str], missing: Missing) -> str:
    dumped = config.model_dump(mode="json")
    settings = {name: _setting(dumped, name) for name in step.settings}
    if step.name == "ingest":
        settings["content"] = _source_digest(config)
    payload = {"step": step.name, "settings": settings,
               "upstream": {n: upstream.get(n, "") for n in inputs}}
    if missing:  # what the step is told of them (a report's notes say why)
        payload["missing"] = missing
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()


@dataclass
class _NotApplicable:
    """The steps of a run that are not applicable: why, and the step each goes back to (itself,
    or the first step it needs that is not applicable, followed to its own origin)."""

    reasons: dict[str, str] = field(default_factory=dict)
    origins: dict[str, str] = field(default_factory=dict)

    def check(self, step: Step, config: Config, needs: tuple[str, ...]
              ) -> tuple[str | None, str | None]:
        """Why ``step`` is not applicable before it runs (a step it needs is not, or its own
        check says so) and the step it needs that is not; (None, None) when it may run."""
        needed = next((n for n in needs if n in self.reasons), None)
        if needed is not None:
            return f"needs {needed}: {self.reasons[needed]}", needed
        return (step.applicable(config) if step.applicable is not None else None), None

    def add(self, step: str, reason: str, needed: str | None) -> None:
        self.reasons[step] = reason
        self.origins[step] = self.origins[needed] if needed is not None else step

    def missing(self, step: Step, writers: dict[str, list[str]]) -> Missing:
        """The optional reads of ``step`` whose writer is not applicable: entry -> (the step
        that is at the origin, its reason)."""
        out = {}
        for dataset in step.optional:
            writer = next((w for w in writers.get(dataset.name, []) if w in self.reasons),
                          None)
            if writer is not None:
                origin = self.origins[writer]
                out[dataset.name] = (origin, self.reasons[origin])
        return out


def run_chain(config: Config, force: bool = False,
              progress: ProgressCallback | None = None,
              until: str | None = None) -> ChainResult:
    """Run every step of the chain that is applicable and not up to date.

    Args:
        config: the job config.
        force: rerun every step, whatever the recorded fingerprints say.
        progress: called as ``(steps done, steps, step)`` as each step starts.
        until: stop after this step (see :func:`build_steps` for the names).

    Returns:
        ``steps``: per step its status (``ran``, ``unchanged``, ``not applicable``), the
        reason or the step's own summary, and seconds (a step that ran without an optional
        input also has ``missing``: entry -> why; one not applicable, ``removed``: what it had
        left on an earlier run); plus where the reports are.
    """
    state_path = Path(config.workspace) / STATE_FILE
    fresh = force or not state_path.exists() or not warehouse_path(config.workspace).exists()
    state = {} if fresh else json.loads(state_path.read_text(encoding="utf-8"))
    steps, results, prints, blocked = _steps_until(until), [], {}, _NotApplicable()
    needs, inputs, writers = step_needs(STEPS), step_inputs(STEPS), _entry_writers(STEPS)
    started = time.perf_counter()
    for index, step in enumerate(steps):
        if progress is not None:
            progress(index, len(steps), step.name)
        reason, needed = blocked.check(step, config, needs[step.name])
        fingerprint = None
        if reason is not None:
            result = _not_applicable(step, config, state, reason)
        else:
            missing = blocked.missing(step, writers)
            fingerprint = _fingerprint(step, config, inputs[step.name], prints, missing)
            result = _run_step(step, config, fingerprint, state, missing)
        _save_state(state_path, state)
        if result["status"] == "not applicable":
            blocked.add(step.name, result["reason"], needed)
        else:
            # What the steps after it see: its settings and inputs, and its tables' content.
            prints[step.name] = outputs.seen_downstream(fingerprint,
                                                        state[step.name]["outputs"])
        results.append(result)
    if progress is not None:
        progress(len(steps), len(steps), "done")
    reports = [f for r in results if r["step"].endswith("report")
               for f in state.get(r["step"], {}).get("files") or []]
    return ChainResult(workspace=str(config.workspace), steps=results, reports=reports,
                       seconds=round(time.perf_counter() - started, 3))


def _not_applicable(step: Step, config: Config, state: dict, reason: str,
                    record: dict | None = None) -> dict:
    """Mark ``step`` not applicable: remove what it left on an earlier run and replace its
    record in ``state`` with ``record`` (none: it will be checked again next time)."""
    log.warning("%s: not applicable: %s", step.name, reason)
    removed = outputs.withdraw(config, state.pop(step.name, None), step.tables())
    if record is not None:
        state[step.name] = record
    result = {"step": step.name, "status": "not applicable", "reason": reason}
    if removed:
        result["removed"] = removed
    return result


def _run_step(step: Step, config: Config, fingerprint: str, state: dict,
              missing: Missing) -> dict:
    """Run ``step`` unless its fingerprint matches the recorded one and its recorded outputs
    are all there unchanged (or it was recorded as not applicable); record its fingerprint,
    files and outputs in ``state``. A :class:`DataError` makes it not applicable."""
    recorded = state.get(step.name, {})
    reason = None
    if recorded.get("fingerprint") == fingerprint:
        if "not_applicable" in recorded:
            return {"step": step.name, "status": "not applicable",
                    "reason": recorded["not_applicable"]}
        reason = outputs.changed(config, recorded.get("outputs"))
        if reason is None:
            log.info("%s: unchanged, skipped", step.name)
            return {"step": step.name, "status": "unchanged", "seconds": 0.0}
        log.info("%s: %s, running again", step.name, reason)
    else:
        log.info("%s: running", step.name)
    started = time.perf_counter()
    try:
        summary = step.call(config, missing)
    except DataError as exc:
        return _not_applicable(step, config, state, str(exc),
                               {"fingerprint": fingerprint, "not_applicable": str(exc)})
    seconds = round(time.perf_counter() - started, 3)
    state[step.name] = {"fingerprint": fingerprint, "files": list(summary.output_files()),
                        "outputs": outputs.record(config, summary.to_json(),
                                                  step.output_tables(config))}
    result = {"step": step.name, "status": "ran", "seconds": seconds,
              "summary": summary.to_json()}
    if reason is not None:
        result["reason"] = f"ran again: {reason}"
    if missing:
        result["missing"] = {name: f"{writer}: {why}" for name, (writer, why) in missing.items()}
    return result


def _save_state(path: Path, state: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(state, indent=2), encoding="utf-8")
    tmp.replace(path)
