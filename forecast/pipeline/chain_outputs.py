"""What a step of ``forecast run`` left behind, and whether it is still there unchanged.

After a step runs, :func:`record` notes its outputs: every file its summary names inside the
workspace (size, modification time in ns and SHA-256) and every warehouse table it writes
(columns and types, row count and the sum of a hash of every row: order does not matter,
content does). Before the step is skipped, :func:`changed` checks them again: a missing file or
table, or one whose content differs, is the reason to run the step again. A file whose size and
modification time are both unchanged is taken as unchanged without reading it.

Files the chain does not own are never outputs: the warehouse itself (its tables are checked
one by one), the run state, the MLflow stores and the configured source files.

When a step is not applicable, :func:`withdraw` removes what it left on an earlier run (its
tables, and the files recorded then that are still as written), so nothing downstream reads
results the current data no longer give.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from pathlib import Path

from forecast.config import Config
from forecast.io import catalog, warehouse
from forecast.io.catalog import Dataset
from forecast.io.readers import file_sha256

STATE_FILE = "run_state.json"
MLFLOW_NAMES = ("mlflow.db", "mlartifacts", "mlruns")


def record(config: Config, summary: dict, tables: tuple[str, ...]) -> dict:
    """The outputs of a step that just ran: ``{"files": {path: {size, mtime_ns, sha256}},
    "tables": {table: digest | None}}`` (None: the step did not create that table)."""
    files = {str(path): _file_state(path) for path in summary_files(config, summary)}
    return {"files": files, "tables": table_digests(config, tables)}


def changed(config: Config, recorded: dict | None) -> str | None:
    """Why the recorded outputs no longer hold (a file or table missing or changed), or None
    when every one is there as recorded."""
    if not recorded:
        return "no record of its outputs"
    for name, was in sorted(recorded.get("files", {}).items()):
        path = Path(name)
        if not path.is_file():
            return f"{path} is missing"
        if _file_changed(path, was):
            return f"{path} changed since it was written"
    tables = recorded.get("tables", {})
    now = table_digests(config, tuple(tables))
    for table in sorted(tables):
        if tables[table] is not None and now[table] is None:
            return f"table {table} is missing from the warehouse"
        if now[table] != tables[table]:
            return f"table {table} changed since it was written"
    return None


def withdraw(config: Config, recorded: dict | None, tables: tuple[Dataset, ...]) -> list[str]:
    """Remove the outputs of an earlier run of a step that is not applicable now: the files
    of its record (``recorded``, as :func:`record` made it under ``outputs``) that are still
    as written, and ``tables``; returns the paths and table names removed."""
    removed = []
    files = ((recorded or {}).get("outputs") or {}).get("files", {})
    for name, was in sorted(files.items()):
        path = Path(name)
        if path.is_file() and not _file_changed(path, was):
            path.unlink()
            removed.append(str(path))
    if not tables or not warehouse.warehouse_path(config.workspace).exists():
        return removed
    with warehouse.connect(config.workspace) as con:
        for dataset in tables:
            if catalog.drop(con, dataset):
                removed.append(dataset.name)
    return removed


def seen_downstream(fingerprint: str, outputs: dict) -> str:
    """What the steps after this one see of it: its fingerprint and its tables' content (not
    its files, which no step reads and whose bytes may carry a time stamp)."""
    payload = json.dumps({"fingerprint": fingerprint, "tables": outputs.get("tables", {})},
                         sort_keys=True)
    return hashlib.sha256(payload.encode()).hexdigest()


def summary_files(config: Config, summary: object) -> list[Path]:
    """The files a step's summary names inside the workspace, other than the ones the chain
    does not own (see the module doc)."""
    workspace = Path(config.workspace).resolve()
    foreign = _foreign_files(config)
    found = []
    for text in _strings(summary):
        path = Path(text)
        if not path.is_absolute() or not path.is_file():
            continue
        path = path.resolve()
        if path in foreign or workspace not in path.parents:
            continue
        if any(part in MLFLOW_NAMES for part in path.relative_to(workspace).parts):
            continue
        found.append(path)
    return sorted(set(found))


def table_digests(config: Config, tables: tuple[str, ...]) -> dict[str, str | None]:
    """Table -> digest of its columns, types and rows (None when the table is absent)."""
    if not tables:
        return {}
    if not warehouse.warehouse_path(config.workspace).exists():
        return dict.fromkeys(tables)
    with warehouse.connect(config.workspace, read_only=True) as con:
        return {table: catalog.table_digest(con, table) for table in tables}


def _foreign_files(config: Config) -> set[Path]:
    paths = {warehouse.warehouse_path(config.workspace), Path(config.workspace) / STATE_FILE}
    for source in config.sources:
        paths.add(Path(source.path))
        paths.update(Path(lookup.path) for lookup in source.lookups)
    return {p.resolve() for p in paths}


def _strings(value: object) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _strings(item)


def _file_state(path: Path) -> dict:
    stat = path.stat()
    return {"size": stat.st_size, "mtime_ns": stat.st_mtime_ns, "sha256": file_sha256(path)}


def _file_changed(path: Path, was: dict) -> bool:
    stat = path.stat()
    if stat.st_size != was.get("size"):
        return True
    if stat.st_mtime_ns == was.get("mtime_ns"):
        return False
    return file_sha256(path) != was.get("sha256")
