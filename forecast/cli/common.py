"""Helpers shared by the command modules: error handling, options, output, progress."""

from __future__ import annotations

import json
import logging
import sys
import threading
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, Self

import click

from forecast.errors import ForecastError

if TYPE_CHECKING:  # the pipeline is imported inside each command, so --help starts fast
    from forecast.pipeline.results import Result

log = logging.getLogger("forecast")


class Group(click.Group):
    """A group that turns the project's errors into a message and an exit code."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except ForecastError as exc:
            click.echo(f"error: {exc}", err=True)
            ctx.exit(exc.exit_code)


def setup_logging(verbose: int, quiet: bool) -> None:
    level = logging.WARNING if quiet else (logging.DEBUG if verbose else logging.INFO)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s",
                                           "%H:%M:%S"))
    root = logging.getLogger("forecast")
    root.handlers[:] = [handler]
    root.setLevel(level)
    root.propagate = False
    for noisy in ("cmdstanpy", "prophet"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    # MLflow's hint about integer columns in a signature: the models' integer inputs (``h``,
    # counts) never hold missing values, so the hint is noise on every training run.
    warnings.filterwarnings("ignore", message="Hint: Inferred schema contains integer",
                            category=UserWarning)


def emit(result: Result, as_json: bool, human: Callable[[Any], str]) -> None:
    """Print a step's summary: with ``--json`` its JSON object, else ``human(result)``."""
    if as_json:
        click.echo(json.dumps(result.to_json(), default=str, ensure_ascii=False))
    else:
        click.echo(human(result))


def json_option(f: Callable) -> Callable:
    return click.option("--json", "as_json", is_flag=True,
                        help="Print one JSON object with the results and output paths.")(f)


def workspace_option(f: Callable) -> Callable:
    return click.option("--workspace", type=click.Path(file_okay=False, path_type=Path),
                        help="Workspace folder; overrides the config's `workspace:`.")(f)


def config_option(f: Callable) -> Callable:
    return click.option("--config", "config_path", required=True,
                        type=click.Path(dir_okay=False, path_type=Path),
                        help="YAML config file (see configs/).")(f)


def engine_option(f: Callable) -> Callable:
    return click.option("--engine", type=click.Choice(["local", "spark"]),
                        help="Where per-series fits and scoring run; overrides the config's "
                        "`engine.kind` [default: local].")(f)


def load_config_for(config_path: Path, workspace: Path | None, engine: str | None = None):
    from forecast.config import load_config

    return load_config(config_path).with_workspace(workspace).with_engine(engine)


class Progress:
    """Progress of a long step on stderr, driven by ``(done, total[, what])`` callbacks.

    On a terminal: a rich progress bar whose description names the unit under way. Otherwise
    (a log file, CI, a pipe): log lines, so a batch job's log shows that it moves: one when a
    named unit starts and one at the end, at most one every ``every_seconds`` for units that
    are all alike (chunks, fits), and a heartbeat with the elapsed time when nothing was
    logged for ``every_seconds`` (a single long write is not silence).
    """

    def __init__(self, description: str, enabled: bool = True, every_seconds: float = 10.0):
        self.description = description
        self.enabled = enabled and sys.stderr.isatty()
        self.every_seconds = every_seconds
        self._bar = None
        self._task = None
        self._state: tuple[int, int, str] | None = None
        self._last_line = 0.0
        self._started = time.monotonic()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._heartbeat: threading.Thread | None = None

    def __enter__(self) -> Self:
        if self.enabled:
            from rich.console import Console
            from rich.progress import Progress as RichProgress

            self._bar = RichProgress(console=Console(stderr=True), transient=True)
            self._bar.__enter__()
            self._task = self._bar.add_task(self.description, total=None)
        else:
            self._started = self._last_line = time.monotonic()
            self._heartbeat = threading.Thread(target=self._beat, daemon=True)
            self._heartbeat.start()
        return self

    def __call__(self, done: int, total: int, what: str = "") -> None:
        if self._bar is not None:
            label = f"{self.description}: {what}" if what else self.description
            self._bar.update(self._task, completed=done, total=total, description=label)
            return
        with self._lock:
            first = self._state is None
            new_unit = first or (bool(what) and what != self._state[2])
            self._state = (done, total, what)
            due = time.monotonic() - self._last_line >= self.every_seconds
            if new_unit or due or done >= total:
                self._log("")

    def _log(self, suffix: str) -> None:
        done, total, what = self._state
        now = f", {what}" if what and done < total else ""
        log.info("%s: %s of %s%s%s", self.description, f"{done:,}", f"{total:,}", now, suffix)
        self._last_line = time.monotonic()

    def _beat(self) -> None:
        while not self._stop.wait(min(self.every_seconds, 1.0)):
            with self._lock:
                quiet = time.monotonic() - self._last_line >= self.every_seconds
                if quiet and self._state is not None and self._state[0] < self._state[1]:
                    self._log(f" (running for {time.monotonic() - self._started:,.0f} s)")

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._heartbeat is not None:
            self._heartbeat.join()
        if self._bar is not None:
            self._bar.__exit__(*exc)
