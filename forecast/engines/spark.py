"""The Spark engine: per-series and per-batch work on a Spark session (the only pyspark import).

:class:`SparkEngine` implements :class:`forecast.engine.Engine`:

* ``map_groups`` writes the frame to Parquet in the exchange folder, Spark reads it, partitions
  it by the group keys (``partitions`` hash partitions) and runs ``fn`` per group with
  ``groupBy(...).applyInPandas``; each group reaches ``fn`` in its original row order, as on
  the local engine. Spark writes the results as Parquet, read back here.
* ``map_arrow`` has the source export its parts as Parquet (``DuckDB COPY`` with explicit
  casts, partitioned by part, with each row's position), Spark hash-partitions the rows by part
  over ``partitions`` tasks, sorted by part and position, and ``mapInArrow`` gathers each part's
  batches and runs ``fn`` on the whole part in its row order (the same table the local engine
  gives ``fn``, so the same bits come out); the results are written partitioned by part and
  yielded part by part in the source's order, so the caller commits them exactly as on one
  machine.

Data moves as Parquet only (no ``createDataFrame``, no ``collect``), so the same code works with
a classic session and with Spark Connect (nothing here touches ``sparkContext``), and the
exchange folder can be a cluster path (``s3://``, ``abfss://``, ``dbfs:/``) that both this
process and the executors reach.

The session (:func:`spark_session`): the worker Python is this Python in local mode
(``PYSPARK_PYTHON``), the session time zone is UTC, adaptive coalescing of partitions is off (it
merged 200 series into one Python worker in a trial), and work is cut into ``partitions``
(default 3 x the cores of a local master). On a cluster the executors need the forecast package:
ship its wheel (``spark.archives`` / ``--py-files``, or ``SparkSession.addArtifacts`` with
Spark Connect; see the README, "Running on Spark").
"""

from __future__ import annotations

import os
import re
import shutil
import sys
import time
import uuid
import warnings
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from functools import partial
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.fs as pafs
import pyarrow.parquet as pq
from pyspark.sql import SparkSession

from forecast.config import EngineConfig
from forecast.config.engine import is_uri
from forecast.engine import ArrowSource, BatchFn, GroupFn, available_cores
from forecast.engines.chunks import copy_target
from forecast.io.sql import quote

ROW = "_engine_row"
PART = "engine_part"
# Partitions per core of a local master: 2-4 keeps every core busy when groups differ in cost.
PARTITIONS_PER_CORE = 3
_LOCAL_CORES = re.compile(r"^local\[(\*|\d+)")


def session_settings(config: EngineConfig, partitions: int | None) -> dict[str, str]:
    """The settings forecast gives a session; the config's ``conf`` wins over them."""
    settings = {
        "spark.sql.session.timeZone": "UTC",
        "spark.sql.adaptive.coalescePartitions.enabled": "false",
        "spark.sql.execution.arrow.pyspark.enabled": "true",
    }
    if partitions:
        settings["spark.sql.shuffle.partitions"] = str(partitions)
    if config.py_files and not config.remote:
        settings["spark.submit.pyFiles"] = ",".join(config.py_files)
    if config.local_master:  # static settings: for a session (or Connect server) started here
        settings["spark.ui.showConsoleProgress"] = "false"
        settings["spark.pyspark.python"] = sys.executable
    return {**settings, **config.conf}


def local_cores(master: str) -> int | None:
    """Cores of a local master (``local`` 1, ``local[N]`` N, ``local[*]`` all); None for a
    cluster."""
    found = _LOCAL_CORES.match(master.strip())
    if master.strip() == "local":
        return 1
    if not found:
        return None
    return available_cores() if found.group(1) == "*" else int(found.group(1))


def default_partitions(config: EngineConfig) -> int | None:
    """The config's ``partitions``, else 3 x the cores of a local master; None on a cluster
    (the session's ``spark.sql.shuffle.partitions`` then)."""
    cores = local_cores(config.master)
    return config.partitions or (PARTITIONS_PER_CORE * cores if cores else None)


def spark_session(config: EngineConfig) -> tuple[SparkSession, bool]:
    """The session of an ``engine:`` config: an active one is reused, else one is started.

    Returns:
        ``(session, started)``: ``started`` is True when this call created it.
    """
    if config.local_master:
        # The Python workers of a local session must run this Python (and its packages).
        os.environ["PYSPARK_PYTHON"] = sys.executable
    partitions = default_partitions(config)
    settings = session_settings(config, partitions)
    active = SparkSession.getActiveSession()
    builder = SparkSession.builder.appName(config.app_name)
    builder = builder.remote(config.master) if config.remote else builder.master(config.master)
    if active is None:
        with warnings.catch_warnings():
            # A Connect client passes the static settings to the local server it starts, then
            # warns that it cannot set them on itself.
            warnings.filterwarnings("ignore", message="Failed to set spark", category=UserWarning)
            session = builder.config(map=settings).getOrCreate()
    else:
        session = active
    for key, value in settings.items():
        if key.startswith("spark.sql."):  # runtime settings, also on a session found active
            session.conf.set(key, value)
    if config.remote and config.py_files:
        session.addArtifacts(*config.py_files, pyfile=True)
    return session, active is None


class SparkEngine:
    """Runs :class:`forecast.engine.Engine` work on a Spark session.

    Args:
        session: a classic or Spark Connect session.
        exchange_dir: folder (or ``s3://``, ``abfss://``, ``dbfs:/`` URI) for the Parquet files.
        partitions: partitions of the work; default the session's
            ``spark.sql.shuffle.partitions``.
    """

    name = "spark"

    def __init__(self, session: SparkSession, exchange_dir: str | Path,
                 partitions: int | None = None):
        self.session = session
        self.exchange_dir = str(exchange_dir)
        self.partitions = partitions or int(session.conf.get("spark.sql.shuffle.partitions"))
        # Seconds spent per phase (``export``, ``spark``, ``import``), for benchmarks.
        self.timings: dict[str, float] = {"export": 0.0, "spark": 0.0, "import": 0.0}

    @contextmanager
    def _phase(self, name: str) -> Iterator[None]:
        started = time.perf_counter()
        try:
            yield
        finally:
            self.timings[name] += time.perf_counter() - started

    @property
    def workers(self) -> int:
        """Partitions of the work."""
        return self.partitions

    def map_groups(self, data: pd.DataFrame, by: Sequence[str], fn: GroupFn,
                   schema: pa.Schema) -> pd.DataFrame:
        """``fn`` per group with ``applyInPandas``, keyed by ``by``; see the module doc."""
        by = list(by)
        if data.empty:
            return schema.empty_table().to_pandas()
        groups = int(data.groupby(by, observed=True).ngroups)
        with exchange_folder(self.exchange_dir) as folder:
            with self._phase("export"):
                write_frame(data.assign(**{ROW: np.arange(len(data), dtype=np.int64)}),
                            f"{folder}/groups.parquet")
            with self._phase("spark"):
                frame = self.session.read.parquet(spark_path(f"{folder}/groups.parquet"))
                result = (frame.repartition(max(1, min(self.partitions, groups)), *by)
                          .groupBy(*by).applyInPandas(_ordered(fn), spark_ddl(schema)))
                result.write.mode("overwrite").parquet(spark_path(f"{folder}/results"))
            with self._phase("import"):
                table = read_parquet(f"{folder}/results", schema)
        return to_frame(table, schema)

    def map_arrow(self, source: ArrowSource, fn: BatchFn, schema: pa.Schema
                  ) -> Iterator[tuple[int, pa.Table]]:
        """``fn`` per part of every Arrow batch with ``mapInArrow``; see the module doc."""
        parts = list(source.parts)
        if not parts:
            return
        target = plain_schema(schema)
        with exchange_folder(self.exchange_dir) as folder:
            with self._phase("export"):
                path = source.export(f"{folder}/input", PART, ROW)
            out_schema = target.append(pa.field(PART, pa.int64()))
            with self._phase("spark"):
                frame = self.session.read.parquet(spark_path(path))
                tasks = max(1, min(self.partitions, len(parts)))
                result = (frame.repartition(tasks, PART).sortWithinPartitions(PART, ROW)
                          .mapInArrow(partial(map_parts, fn, target), spark_ddl(out_schema)))
                result.write.partitionBy(PART).mode("overwrite").parquet(
                    spark_path(f"{folder}/results"))
            for part in parts:
                with self._phase("import"):
                    table = read_parquet(f"{folder}/results/{PART}={part}", target)
                yield part, table


@contextmanager
def start(config: EngineConfig, workspace: Path) -> Iterator[SparkEngine]:
    """A :class:`SparkEngine` on the config's session, stopped at the end if started here."""
    session, started = spark_session(config)
    exchange = config.exchange_dir or str(Path(workspace).resolve() / "exchange")
    try:
        yield SparkEngine(session, exchange, default_partitions(config))
    finally:
        if started:
            session.stop()


def _ordered(fn: GroupFn) -> Callable:
    """:func:`in_row_order` of ``fn`` as a plain function (pyspark reads the kind of a grouped
    function from its type hints, and cannot from a ``functools.partial``)."""

    def run(group):
        return in_row_order(fn, group)

    return run


def in_row_order(fn: GroupFn, group: pd.DataFrame) -> pd.DataFrame:
    """``fn`` of a group in its original row order, without the row column (on executors)."""
    ordered = group.sort_values(ROW, kind="stable").drop(columns=ROW).reset_index(drop=True)
    return fn(ordered)


def map_parts(fn: BatchFn, schema: pa.Schema, batches: Iterator[pa.RecordBatch]
              ) -> Iterator[pa.RecordBatch]:
    """``fn`` of each whole part, in row order, from a task's batches sorted by part and row
    (on executors); results cast to ``schema`` and tagged with their part."""
    current, pending = None, []
    for batch in batches:
        table = pa.Table.from_batches([batch])
        column = table.column(PART)
        for part in pc.unique(column).to_pylist():
            if current is not None and part != current:
                yield from _run_part(fn, schema, current, pending)
                pending = []
            current = part
            pending.append(table.filter(pc.equal(column, part)))
    if pending:
        yield from _run_part(fn, schema, current, pending)


def _run_part(fn: BatchFn, schema: pa.Schema, part: int, pieces: list[pa.Table]
              ) -> Iterator[pa.RecordBatch]:
    rows = pa.concat_tables(pieces).sort_by(ROW).drop_columns([PART, ROW])
    result = fn(rows).select(schema.names).cast(schema)
    tags = pa.array(np.full(result.num_rows, part), pa.int64())
    yield from result.append_column(PART, tags).to_batches()


def plain_schema(schema: pa.Schema) -> pa.Schema:
    """``schema`` with dictionary columns as their values and timestamps in microseconds, as
    Parquet and Spark hold them."""
    fields = []
    for field in schema:
        kind = field.type
        if pa.types.is_dictionary(kind):
            kind = kind.value_type
        if pa.types.is_large_string(kind):
            kind = pa.string()
        if pa.types.is_timestamp(kind):
            kind = pa.timestamp("us", kind.tz)
        fields.append(pa.field(field.name, kind))
    return pa.schema(fields)


_SPARK_TYPES: list[tuple[Callable[[pa.DataType], bool], str]] = [
    (pa.types.is_boolean, "boolean"), (pa.types.is_int8, "tinyint"),
    (pa.types.is_int16, "smallint"), (pa.types.is_int32, "int"), (pa.types.is_int64, "bigint"),
    (pa.types.is_float32, "float"), (pa.types.is_float64, "double"),
    (pa.types.is_date32, "date"), (pa.types.is_string, "string"),
    (pa.types.is_large_string, "string"),
]


def spark_ddl(schema: pa.Schema) -> str:
    """A Spark DDL schema string for an Arrow schema (timestamps without a time zone are
    ``timestamp_ntz``)."""
    columns = []
    for field in plain_schema(schema):
        if pa.types.is_timestamp(field.type):
            kind = "timestamp_ntz" if field.type.tz is None else "timestamp"
        else:
            kind = next((name for test, name in _SPARK_TYPES if test(field.type)), None)
            if kind is None:
                raise TypeError(f"column {field.name!r}: no Spark type for {field.type}")
        columns.append(f"`{field.name}` {kind}")
    return ", ".join(columns)


def _duckdb_type(series: pd.Series) -> str:
    kind = series.dtype
    if pd.api.types.is_bool_dtype(kind):
        return "BOOLEAN"
    if pd.api.types.is_integer_dtype(kind):
        return "BIGINT"
    if pd.api.types.is_float_dtype(kind):
        return "DOUBLE"
    if pd.api.types.is_datetime64_any_dtype(kind):
        return "TIMESTAMP"
    return "VARCHAR"


def write_frame(frame: pd.DataFrame, path: str) -> None:
    """Write a frame to one Parquet file with ``DuckDB COPY``, every column cast explicitly
    (timestamps in microseconds, which Spark reads; text as VARCHAR)."""
    con = duckdb.connect()
    try:
        con.register("frame", frame)
        casts = ", ".join(f"CAST({quote(c)} AS {_duckdb_type(frame[c])}) AS {quote(c)}"
                          for c in frame.columns)
        target, params = copy_target(path)
        con.execute(f"COPY (SELECT {casts} FROM frame) TO {target} (FORMAT parquet)", params)
    finally:
        con.close()


def read_parquet(path: str, schema: pa.Schema) -> pa.Table:
    """A Parquet file or folder Spark wrote, cast to ``schema`` (empty when it is absent: a
    part with no rows)."""
    schema = plain_schema(schema)
    filesystem, where = _filesystem(path)
    info = filesystem.get_file_info(where)
    if info.type == pafs.FileType.NotFound:
        return schema.empty_table()
    table = pq.read_table(where, filesystem=filesystem, partitioning=None)
    return table.select(schema.names).cast(schema)


def to_frame(table: pa.Table, schema: pa.Schema) -> pd.DataFrame:
    """An Arrow result as pandas, timestamps in nanoseconds as the local engine gives them."""
    frame = table.to_pandas()
    for field in schema:
        if pa.types.is_timestamp(field.type):
            frame[field.name] = frame[field.name].astype("datetime64[ns]")
    return frame


def spark_path(path: str) -> str:
    """A path as Spark must read it: a local path as a ``file:`` URI (a bare path could mean the
    cluster's default file system), a URI as it is."""
    return path if is_uri(path) else Path(path).resolve().as_uri()


def _filesystem(path: str) -> tuple[pafs.FileSystem, str]:
    if is_uri(path):
        return pafs.FileSystem.from_uri(path)
    return pafs.LocalFileSystem(), str(Path(path).resolve())


@contextmanager
def exchange_folder(root: str) -> Iterator[str]:
    """A new folder under the exchange folder, removed afterwards."""
    folder = f"{root.rstrip('/')}/{uuid.uuid4().hex}"
    if not is_uri(folder):
        Path(folder).mkdir(parents=True, exist_ok=False)
    try:
        yield folder
    finally:
        if is_uri(folder):
            filesystem, where = _filesystem(folder)
            try:
                filesystem.delete_dir(where)
            except OSError:
                pass
        else:
            shutil.rmtree(folder, ignore_errors=True)
