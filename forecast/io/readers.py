"""Readers: bring a source file into DuckDB as a relation, as its owner wrote it.

CSV and Excel columns arrive as text (parsing is validation's job, so a bad cell quarantines one
row instead of failing the file); Parquet keeps its types. Every relation gets ``__row``, the
1-based data row number in the file, so every loaded or quarantined row can be traced back.
"""

from __future__ import annotations

import codecs
import hashlib
import logging
import shutil
from dataclasses import dataclass
from pathlib import Path

import duckdb

from forecast.config import Encoding, FileFormat
from forecast.errors import SourceError
from forecast.io.warehouse import quote

log = logging.getLogger(__name__)

ROW = "__row"
_SNIFF_BYTES = 4 << 20


@dataclass(frozen=True)
class ReadResult:
    """A source registered in DuckDB.

    Attributes:
        relation: name of the temp table or view holding the rows plus ``__row``.
        columns: source column name -> DuckDB type, in file order.
        rejected: lines the CSV parser could not split into the header's columns, as
            (line number, error, raw line).
        encoding: the encoding the file was read with.
    """

    relation: str
    columns: dict[str, str]
    rejected: list[tuple[int, str, str]]
    encoding: str


def file_sha256(path: Path) -> str:
    """Content hash of a file, streamed."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def detect_encoding(path: Path) -> str:
    """UTF-8 (with or without BOM) when the start of the file decodes as such, else GB18030.

    GB18030 is a superset of GBK and GB2312, the encodings Chinese Excel exports use.
    """
    with open(path, "rb") as fh:
        head = fh.read(_SNIFF_BYTES)
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    decoder = codecs.getincrementaldecoder("utf-8")()
    try:
        decoder.decode(head, final=False)
        return "utf-8"
    except UnicodeDecodeError:
        return "gb18030"


def _transcode_to_utf8(path: Path, encoding: str, scratch: Path) -> Path:
    scratch.mkdir(parents=True, exist_ok=True)
    out = scratch / (path.stem + ".utf8.csv")
    try:
        with open(path, encoding=encoding, newline="") as src, open(
            out, "w", encoding="utf-8", newline=""
        ) as dst:
            shutil.copyfileobj(src, dst, 1 << 20)
    except UnicodeDecodeError as exc:
        raise SourceError(
            f"{path}: not valid {encoding} at byte {exc.start}; set `encoding:` in the source "
            "config to the file's real encoding (utf-8, gbk or gb18030)"
        ) from None
    return out


def _check_file(path: Path) -> None:
    if not path.exists():
        raise SourceError(f"{path}: file not found")
    if not path.is_file():
        raise SourceError(f"{path}: not a file")
    if path.stat().st_size == 0:
        raise SourceError(f"{path}: file is empty (expected a header row and data)")


def _read_csv(
    con: duckdb.DuckDBPyConnection, path: Path, name: str, options: CsvOptions, scratch: Path
) -> tuple[list[tuple[int, str, str]], str]:
    encoding = detect_encoding(path) if options.encoding == "auto" else options.encoding
    readable = path
    if encoding in ("gbk", "gb18030"):
        readable = _transcode_to_utf8(path, encoding, scratch)
    args = [
        "header = true",
        "all_varchar = true",
        "store_rejects = true",
        f"rejects_table = {quote(name + '_rejects')}",
        f"rejects_scan = {quote(name + '_rejects_scan')}",
    ]
    if options.delimiter:
        args.append("delim = '" + options.delimiter.replace("'", "''") + "'")
    con.execute("SET preserve_insertion_order = true")
    try:
        con.execute(
            f"CREATE OR REPLACE TEMP TABLE {quote(name)} AS SELECT row_number() OVER () "
            f"AS {ROW}, * FROM read_csv('{readable.as_posix()}', {', '.join(args)})"
        )
    except duckdb.Error as exc:
        message = str(exc).splitlines()[0]
        if "unicode" in str(exc).lower():
            message = "not valid UTF-8; set `encoding:` (gbk or gb18030) in the source config"
        raise SourceError(f"{path}: cannot read as CSV: {message}") from None
    finally:
        con.execute("SET preserve_insertion_order = false")
    rejects = con.execute(
        f"SELECT line, error_type || ': ' || error_message, csv_line FROM {quote(name + '_rejects')}"
        " ORDER BY line"
    ).fetchall()
    # Several errors can name the same line; one rejected line is one lost row.
    seen: dict[int, tuple[int, str, str]] = {}
    for line, err, raw in rejects:
        seen.setdefault(int(line), (int(line), str(err), str(raw)))
    return list(seen.values()), encoding


def _read_excel(con: duckdb.DuckDBPyConnection, path: Path, name: str, sheet: str | int | None):
    import pandas as pd

    try:
        frame = pd.read_excel(path, sheet_name=sheet if sheet is not None else 0, dtype=str)
    except ValueError as exc:
        raise SourceError(f"{path}: cannot read sheet {sheet!r}: {exc}") from None
    except Exception as exc:  # openpyxl raises many types for corrupt files
        raise SourceError(f"{path}: cannot read as Excel (.xlsx): {exc}") from None
    if frame.columns.empty:
        raise SourceError(f"{path}: sheet {sheet if sheet is not None else 0!r} is empty")
    frame.insert(0, ROW, range(1, len(frame) + 1))
    con.register(name + "_frame", frame)
    con.execute(f"CREATE OR REPLACE TEMP TABLE {quote(name)} AS SELECT * FROM {quote(name + '_frame')}")
    con.unregister(name + "_frame")


def _read_parquet(con: duckdb.DuckDBPyConnection, path: Path, name: str) -> None:
    try:
        con.execute(
            f"CREATE OR REPLACE TEMP VIEW {quote(name)} AS SELECT file_row_number + 1 AS {ROW}, "
            f"* EXCLUDE (file_row_number) FROM read_parquet('{path.as_posix()}', "
            "file_row_number = true)"
        )
        con.execute(f"SELECT * FROM {quote(name)} LIMIT 0")
    except duckdb.Error as exc:
        raise SourceError(f"{path}: cannot read as Parquet: {str(exc).splitlines()[0]}") from None


@dataclass(frozen=True)
class CsvOptions:
    """How to split a CSV file."""

    encoding: Encoding = "auto"
    delimiter: str | None = None


def read_source(
    con: duckdb.DuckDBPyConnection,
    path: Path,
    name: str,
    file_format: FileFormat,
    csv: CsvOptions | None = None,
    sheet: str | int | None = None,
    scratch: Path | None = None,
) -> ReadResult:
    """Register a file as the temp relation ``name`` with a ``__row`` column.

    Raises:
        SourceError: missing or empty file, unreadable format or encoding.
    """
    path = Path(path)
    _check_file(path)
    rejected: list[tuple[int, str, str]] = []
    encoding = "binary"
    if file_format == "csv":
        scratch = scratch or path.parent
        rejected, encoding = _read_csv(con, path, name, csv or CsvOptions(), scratch)
    elif file_format == "xlsx":
        _read_excel(con, path, name, sheet)
    else:
        _read_parquet(con, path, name)
    described = con.execute(f"DESCRIBE SELECT * FROM {quote(name)}").fetchall()
    columns = {row[0]: row[1] for row in described if row[0] != ROW}
    if not columns:
        raise SourceError(f"{path}: no columns found (expected a header row)")
    log.debug("read %s as %s (%s): %d columns", path, file_format, encoding, len(columns))
    return ReadResult(name, columns, rejected, encoding)
