"""How per-series and per-chunk work is run: the engines behind :mod:`forecast.engine`'s seam.

``local``: on this machine, chunk by chunk with bounded memory; batch churn scoring
(:func:`forecast.engines.local.score_churn`) is resumable and idempotent, its warehouse side
lives in :mod:`forecast.io.scores`. A chunk is scored by :mod:`forecast.engines.chunk_scoring`
with the model compiled to array code (:mod:`forecast.engines.compiled`, tree ensembles in
:mod:`forecast.engines.trees`). ``spark`` (:mod:`forecast.engines.spark`, the only module that
imports pyspark) runs the same per-series fits and the same chunk scorer on a Spark session, for
users who outgrow one machine.

:func:`open_engine` turns the config's ``engine:`` section into an engine for the length of a
command, and :func:`on_engine` makes it the engine in force around a pipeline step.
"""

from __future__ import annotations

import functools
import importlib.util
import os
import shutil
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

from forecast.config import EngineConfig
from forecast.engine import Engine, use_engine
from forecast.errors import ConfigError

Step = TypeVar("Step", bound=Callable)


@contextmanager
def open_engine(config: EngineConfig, workspace: Path) -> Iterator[Engine | None]:
    """The engine of an ``engine:`` section for the block: None for ``local`` (each model and
    the scorer use their own local settings, as without an engine), a
    :class:`~forecast.engines.spark.SparkEngine` for ``spark``, whose session is stopped at
    the end when it was started here.

    Raises:
        ConfigError: ``spark`` without pyspark installed, or without Java for a local master.
    """
    if config.kind == "local":
        yield None
        return
    check_spark(config)
    from forecast.engines import spark

    with spark.start(config, workspace) as engine:
        yield engine


def check_spark(config: EngineConfig) -> None:
    """Refuse a Spark engine that cannot start here, saying what to install.

    Raises:
        ConfigError: pyspark is not installed, or Java is missing for a local master (a
            Spark Connect client needs no Java).
    """
    if importlib.util.find_spec("pyspark") is None:
        raise ConfigError("engine.kind is spark but pyspark is not installed: install the "
                          "spark extra (pip install -e '.[spark]', or `make test-spark`)")
    needs_java = not (config.remote and not config.local_master)
    if needs_java and not (shutil.which("java") or os.environ.get("JAVA_HOME")):
        raise ConfigError(f"engine.kind is spark with master {config.master!r}, which runs Spark "
                          "in this machine, but no Java runtime was found: install Java 17 "
                          "(Debian: apt-get install openjdk-17-jre-headless) or set JAVA_HOME")


def on_engine(step: Step) -> Step:
    """Run a pipeline step (a function whose first argument is the job config) with the
    config's engine in force (:func:`forecast.engine.use_engine`)."""

    @functools.wraps(step)
    def run(config, *args, **kwargs):
        with open_engine(config.engine, config.workspace) as engine, use_engine(engine):
            return step(config, *args, **kwargs)

    return run  # type: ignore[return-value]
