"""The engine seam: how per-series and per-batch work runs, here or on a cluster.

An engine has two primitives:

* :meth:`Engine.map_groups` ``(data, by, fn, schema)``: ``fn(group) -> frame`` for every group of
  rows of a pandas frame with equal ``by`` values (per-series, or per-(fold, series), work such
  as fitting one Prophet per series); the results are concatenated in no particular order.
* :meth:`Engine.map_arrow` ``(source, fn, schema)``: ``fn(table) -> table`` for every part of an
  :class:`ArrowSource` (per-batch work such as scoring a chunk of customers), each part whole and
  in its row order, so ``fn`` computes exactly what it computes here; yields ``(part, result)``
  in the source's order of parts, so the caller commits them in that order.

``fn`` is a picklable module-level function (or a ``functools.partial`` of one): it may run in
another process or on another machine. ``schema`` is the Arrow schema of what ``fn`` returns; an
engine that moves results through files needs it, the local engine does not.

:class:`LocalEngine` is this machine: joblib's loky processes over groups (in ``4 x workers``
round-robin slices of the sorted groups), threads over the parts of a source (each part read on
the calling thread, at most ``threads + 1`` parts in memory). The Spark engine lives in
``forecast.engines.spark``, the only module that imports pyspark.

Models never know which engine runs them: they take it from the context (:func:`use_engine`,
:func:`current_engine`) when they fit or predict, and never store it, so a pickled model (or one
logged to MLflow) holds no engine and serves the same everywhere. This module sits below the
models in the layers and imports no heavy library at import time.
"""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from contextvars import ContextVar
from typing import TYPE_CHECKING, Protocol, runtime_checkable

if TYPE_CHECKING:
    import pandas as pd
    import pyarrow as pa

GroupFn = Callable[["pd.DataFrame"], "pd.DataFrame"]
BatchFn = Callable[["pa.Table"], "pa.Table"]


class ArrowSource(Protocol):
    """Data cut into numbered parts, readable one part at a time or all at once as Parquet.

    Attributes:
        parts: the part numbers, in the order their results are wanted.
    """

    parts: Sequence[int]

    def read(self, part: int) -> pa.Table:
        """One part as an Arrow table."""

    def export(self, folder: str, part: str, row: str) -> str:
        """Every part as Parquet under ``folder``, with a column ``part`` holding the part number
        (hive layout ``part=<k>/``) and a column ``row`` ordering the rows of a part as
        :meth:`read` does; returns the path to read."""


@runtime_checkable
class Engine(Protocol):
    """How work runs: see the module doc.

    Attributes:
        name: ``local`` or ``spark``.
        workers: the parallelism it uses (threads, processes or partitions), for summaries.
    """

    name: str

    @property
    def workers(self) -> int:
        """Work that runs at once."""

    def map_groups(self, data: pd.DataFrame, by: Sequence[str], fn: GroupFn,
                   schema: pa.Schema) -> pd.DataFrame:
        """``fn`` over the groups of ``data`` by ``by``, results concatenated."""

    def map_arrow(self, source: ArrowSource, fn: BatchFn, schema: pa.Schema
                  ) -> Iterator[tuple[int, pa.Table]]:
        """``(part, fn(part's table))`` for every part of ``source``, in its order."""


def available_cores() -> int:
    """CPU cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


class LocalEngine:
    """This machine: processes for groups, threads for the parts of a source.

    Args:
        n_jobs: worker processes for :meth:`map_groups` as joblib counts them (-1: every core;
            1: in this process).
        threads: threads for :meth:`map_arrow`; default every core this process may use.
    """

    name = "local"

    def __init__(self, n_jobs: int = -1, threads: int | None = None):
        self.n_jobs = n_jobs
        self.threads = threads

    @property
    def workers(self) -> int:
        """Threads of :meth:`map_arrow`."""
        return max(1, self.threads or available_cores())

    def map_groups(self, data: pd.DataFrame, by: Sequence[str], fn: GroupFn,
                   schema: pa.Schema | None = None) -> pd.DataFrame:
        """``fn`` over the groups (sorted by ``by``, each with a fresh index), in this process
        when one worker is asked for, else in joblib's loky processes."""
        import pandas as pd
        from joblib import Parallel, delayed, effective_n_jobs

        groups = [group.reset_index(drop=True)
                  for _, group in data.groupby(list(by), sort=True, observed=True)]
        slices = split_round_robin(groups, effective_n_jobs(self.n_jobs))
        if effective_n_jobs(self.n_jobs) == 1 or len(slices) == 1:
            results = [apply_each(fn, s) for s in slices]
        else:
            results = Parallel(n_jobs=self.n_jobs, backend="loky")(
                delayed(apply_each)(fn, s) for s in slices)
        frames = [frame for result in results for frame in result]
        if not frames:
            return data.iloc[:0] if schema is None else schema.empty_table().to_pandas()
        return pd.concat(frames, ignore_index=True)

    def map_arrow(self, source: ArrowSource, fn: BatchFn, schema: pa.Schema | None = None
                  ) -> Iterator[tuple[int, pa.Table]]:
        """Read each part here, run ``fn`` on a worker thread, yield results in part order."""
        workers = self.workers
        pending: deque[tuple[int, Future]] = deque()
        with ThreadPoolExecutor(max_workers=workers) as pool:
            try:
                for part in source.parts:
                    pending.append((part, pool.submit(fn, source.read(part))))
                    while len(pending) > workers:
                        done, future = pending.popleft()
                        yield done, future.result()
                while pending:
                    done, future = pending.popleft()
                    yield done, future.result()
            finally:
                for _, future in pending:
                    future.cancel()


def split_round_robin(items: list, workers: int) -> list[list]:
    """``items`` in ``min(len, 4 x workers)`` round-robin slices (one slice for one worker), so
    slow and fast items spread over the workers."""
    n_slices = 1 if workers == 1 else min(len(items), workers * 4)
    return [items[i::n_slices] for i in range(n_slices) if items[i::n_slices]]


def apply_each(fn: GroupFn, groups: list[pd.DataFrame]) -> list[pd.DataFrame]:
    """``fn`` of each group, in a worker."""
    return [fn(group) for group in groups]


_ENGINE: ContextVar[Engine | None] = ContextVar("forecast_engine", default=None)


@contextmanager
def use_engine(engine: Engine | None) -> Iterator[Engine | None]:
    """Run the block with ``engine`` as :func:`current_engine` (None: the models' own local
    default), then restore the previous one."""
    token = _ENGINE.set(engine)
    try:
        yield engine
    finally:
        _ENGINE.reset(token)


def current_engine() -> Engine | None:
    """The engine set by :func:`use_engine` around this call, or None."""
    return _ENGINE.get()
