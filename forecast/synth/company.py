"""Generate a whole synthetic company, block by block, streaming every table to files."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

import numpy as np
import pyarrow as pa

from forecast import __version__
from forecast.config import SynthOptions
from forecast.io.chunked import ChunkedTableWriter, write_json
from forecast.progress import ProgressCallback
from forecast.synth import params
from forecast.synth.columns import (
    CUSTOMERS_SCHEMA,
    OPPORTUNITIES_SCHEMA,
    ORDERS_SCHEMA,
    SURVEYS_SCHEMA,
    TARGETS_SCHEMA,
    TRUTH_SCHEMA,
)
from forecast.synth.customers import block_count, customers_table, draw_customers
from forecast.synth.funnel import build_opportunities
from forecast.synth.orders import build_orders
from forecast.synth.surveys import build_surveys
from forecast.synth.targets import build_targets
from forecast.synth.truth import seasonality_truth, truth_table
from forecast.synth.world import World, build_world, products_table, reps_table

# Output name -> (file name without extension, schema; None: the table's own).
OUTPUTS: dict[str, tuple[str, pa.Schema | None]] = {
    "orders": ("orders", ORDERS_SCHEMA),
    "customers": ("customers", CUSTOMERS_SCHEMA),
    "surveys": ("surveys", SURVEYS_SCHEMA),
    "opportunities": ("opportunities", OPPORTUNITIES_SCHEMA),
    "targets": ("targets", TARGETS_SCHEMA),
    "products": ("products", None),
    "reps": ("reps", None),
    "ground_truth_customers": ("ground_truth/customers", TRUTH_SCHEMA),
}
STREAMED = ("orders", "customers", "surveys", "opportunities", "ground_truth_customers")
# Nearly unique columns: Parquet dictionary encoding only costs time on them.
NOT_DICTIONARY = {"order_id", "opportunity_id", "name", "unit_price", "amount", "target"}


@dataclass
class Counters:
    """Running numbers across blocks, so ids are unique and independent of the chunking."""

    next_order: int = 1
    next_opportunity: int = 1
    revenue: np.ndarray | None = None
    done_customers: int = 0


class OutputFiles:
    """One writer per output and format; partial files are removed if generation fails."""

    def __init__(self, out_dir: Path, formats: tuple[str, ...]):
        self.out_dir = out_dir
        self.formats = formats
        self.writers: dict[str, list[ChunkedTableWriter]] = {}

    def path(self, name: str, format: str) -> Path:
        return self.out_dir / f"{OUTPUTS[name][0]}.{format}"

    def write(self, name: str, table: pa.Table) -> None:
        if name not in self.writers:
            schema = OUTPUTS[name][1] or table.schema
            dictionary = [c for c in schema.names if c not in NOT_DICTIONARY]
            self.writers[name] = [
                ChunkedTableWriter(self.path(name, f), schema, f, dictionary)
                for f in self.formats
            ]
        for writer in self.writers[name]:
            writer.write(table)

    def rows(self) -> dict[str, int]:
        return {name: writers[0].rows for name, writers in self.writers.items()}

    def files(self) -> dict[str, str]:
        found = {}
        for name in self.writers:
            for format in self.formats:
                key = name if format == self.formats[0] else f"{name}_{format}"
                found[key] = str(self.path(name, format))
        return found

    def __enter__(self) -> OutputFiles:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 traceback: TracebackType | None) -> None:
        for writers in self.writers.values():
            for writer in writers:
                if exc_type is None:
                    writer.close()
                else:
                    writer.abort()


@dataclass
class Chunk:
    """Tables of the blocks of one chunk, waiting to be written together."""

    parts: dict[str, list[pa.Table]] = field(default_factory=dict)

    def add(self, name: str, table: pa.Table) -> None:
        self.parts.setdefault(name, []).append(table)

    def write_to(self, outputs: OutputFiles) -> None:
        for name in STREAMED:
            if name in self.parts:
                outputs.write(name, pa.concat_tables(self.parts[name]))


def generate_block(world: World, block_index: int, counters: Counters, chunk: Chunk) -> None:
    """Generate every table of one customer block into ``chunk``; advance the counters."""
    block = draw_customers(world, block_index)
    orders = build_orders(world, block, counters.next_order)
    surveys, latest_score = build_surveys(world, block)
    opportunities, n_opportunities = build_opportunities(
        world, block, counters.next_opportunity
    )
    chunk.add("orders", orders.table)
    chunk.add("customers", customers_table(world, block, latest_score))
    chunk.add("surveys", surveys)
    chunk.add("opportunities", opportunities)
    chunk.add("ground_truth_customers", truth_table(world, block))
    counters.next_order += orders.orders
    counters.next_opportunity += n_opportunities
    counters.revenue = orders.revenue if counters.revenue is None else (
        counters.revenue + orders.revenue)
    counters.done_customers += block.size


def manifest(options: SynthOptions, world: World, outputs: OutputFiles) -> dict[str, Any]:
    """What was generated and from which options; no timings, so reruns are identical."""
    return {
        "generator": "forecast.synth",
        "version": __version__,
        "options": options.model_dump(mode="json"),
        "start_date": world.calendar.start.isoformat(),
        "end_date": world.calendar.end.isoformat(),
        "block_customers": params.BLOCK_CUSTOMERS,
        "rows": outputs.rows(),
        "files": {
            **{
                key: Path(path).relative_to(outputs.out_dir).as_posix()
                for key, path in outputs.files().items()
            },
            "seasonality": "ground_truth/seasonality.json",
        },
    }


def generate_company(
    options: SynthOptions, out_dir: Path, progress: ProgressCallback | None = None
) -> dict[str, Any]:
    """Generate a synthetic company into ``out_dir``.

    Writes orders, customers, surveys, opportunities, targets, products, reps (Parquet and/or
    CSV per ``options.formats``), ``ground_truth/customers``, ``ground_truth/seasonality.json``
    and ``manifest.json``. The same options give byte-identical files; ``chunk_customers`` only
    sets how many customers are written at a time.

    Args:
        options: sizes, seed, last day and formats.
        out_dir: folder to write into (created if missing).
        progress: called as ``progress(done_customers, total_customers)`` after each chunk.

    Returns:
        ``{"out_dir", "customers", "rows": {table: rows}, "files": {table: path}, "seconds"}``.
    """
    started = time.perf_counter()
    out_dir = Path(out_dir)
    world = build_world(options)
    n_blocks = block_count(options.customers)
    per_chunk = max(1, -(-options.chunk_customers // params.BLOCK_CUSTOMERS))
    counters = Counters()
    formats = tuple(dict.fromkeys(options.formats)) or ("parquet",)
    with OutputFiles(out_dir, formats) as outputs:
        for first_block in range(0, n_blocks, per_chunk):
            chunk = Chunk()
            for block_index in range(first_block, min(first_block + per_chunk, n_blocks)):
                generate_block(world, block_index, counters, chunk)
            chunk.write_to(outputs)
            if progress is not None:
                progress(counters.done_customers, options.customers)
        outputs.write("targets", build_targets(world, counters.revenue))
        outputs.write("products", products_table(world.catalogue))
        outputs.write("reps", reps_table(world.organisation))
    write_json(out_dir / "ground_truth" / "seasonality.json", seasonality_truth(world))
    write_json(out_dir / "manifest.json", manifest(options, world, outputs))
    files = {
        **outputs.files(),
        "seasonality": str(out_dir / "ground_truth" / "seasonality.json"),
        "manifest": str(out_dir / "manifest.json"),
    }
    return {
        "out_dir": str(out_dir),
        "customers": options.customers,
        "rows": outputs.rows(),
        "files": files,
        "seconds": round(time.perf_counter() - started, 3),
    }
