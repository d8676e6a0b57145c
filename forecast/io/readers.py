"""Readers: bring a source file into DuckDB as a relation, as its owner wrote it.

CSV and Excel columns arrive as text (parsing is validation's job, so a bad cell quarantines one
row instead of failing the file); Parquet keeps its types. Every relation gets ``__row``, the
number a user opens the file at to find the row, and every loaded or quarantined row of a source
carries that one numbering as ``source_row``:

- CSV: the file line the row starts on, the header being line 1. Blank lines count as lines, a
  row whose quoted field holds newlines has the line it starts on, and a malformed line
  (``ReadResult.rejected``) has its own line, so loaded and malformed rows never share a number.
  Files are read as RFC 4180 CSV: fields quoted with ``"``, a quote inside a quoted field
  doubled, the header on the first line, no comment lines. Should a file's quoting defeat the
  line scan (:mod:`forecast.io.csv_lines`), rows are numbered by DuckDB's record count instead
  (exact unless a record spans lines or a blank line comes before it) and a warning says so.
- Excel: the sheet row (the header is row 1, so the first data row is row 2).
- Parquet: the 1-based row of the file.
"""

from __future__ import annotations

import hashlib
import logging
import shutil
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import duckdb
import pandas as pd
from openpyxl import load_workbook

from forecast.config import Encoding, FileFormat
from forecast.errors import SourceError
from forecast.io import csv_lines
from forecast.io.encodings import HINT, detect_encoding, first_bad_byte, not_valid
from forecast.io.sql import path_literal, quote

log = logging.getLogger(__name__)

ROW = "__row"
_ORDINAL = "__ordinal"
_CASE_SEGMENTS = 64


@dataclass(frozen=True)
class ReadResult:
    """A source registered in DuckDB.

    Attributes:
        relation: name of the temp table or view holding the rows plus ``__row``.
        columns: source column name -> DuckDB type, in file order.
        rejected: lines the CSV parser could not split into the header's columns, as
            (line number, error, raw line), numbered like ``__row``.
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


def _transcode_to_utf8(path: Path, encoding: str, scratch: Path, detected: bool) -> Path:
    scratch.mkdir(parents=True, exist_ok=True)
    out = scratch / (path.stem + ".utf8.csv")
    try:
        with open(path, encoding=encoding, newline="") as src, open(
            out, "w", encoding="utf-8", newline=""
        ) as dst:
            shutil.copyfileobj(src, dst, 1 << 20)
    except UnicodeDecodeError:
        raise not_valid(path, encoding, first_bad_byte(path, encoding) or 0, detected) from None
    return out


def _check_file(path: Path) -> None:
    if not path.exists():
        raise SourceError(f"{path}: file not found")
    if not path.is_file():
        raise SourceError(f"{path}: not a file")
    if path.stat().st_size == 0:
        raise SourceError(f"{path}: file is empty (expected a header row and data)")


def _scan_csv(con: duckdb.DuckDBPyConnection, readable: Path, raw: str, options: CsvOptions,
              name: str) -> None:
    """Read a CSV file into the temp table ``raw``: its rows in file order with their ordinal;
    the records DuckDB cannot split go to the table ``<name>_rejects``."""
    args = ["header = true", "all_varchar = true", "quote = '\"'", "escape = '\"'",
            "comment = ''", "skip = 0", "store_rejects = true",
            f"rejects_table = {quote(name + '_rejects')}",
            f"rejects_scan = {quote(name + '_rejects_scan')}"]
    params: list[object] = [readable.as_posix()]
    if options.delimiter:
        args.append("delim = ?")
        params.append(options.delimiter)
    con.execute("SET preserve_insertion_order = true")
    try:
        con.execute(
            f"CREATE OR REPLACE TEMP TABLE {quote(raw)} AS SELECT row_number() OVER () AS "
            f"{_ORDINAL}, * FROM read_csv(?, {', '.join(args)})", params)
    finally:
        con.execute("SET preserve_insertion_order = false")


def _rejects(con: duckdb.DuckDBPyConnection, name: str) -> list[tuple[int, str, str, str]]:
    """(record number, error type, message, raw line) of the rejected records, one per record."""
    rows = con.execute(
        f"SELECT line, error_type, error_type || ': ' || error_message, csv_line "
        f"FROM {quote(name + '_rejects')} ORDER BY line, byte_position").fetchall()
    seen: dict[int, tuple[int, str, str, str]] = {}
    for line, kind, err, raw in rows:
        seen.setdefault(int(line), (int(line), str(kind), str(err), str(raw)))
    return list(seen.values())


def _number_rows(con: duckdb.DuckDBPyConnection, path: Path, readable: Path, raw: str,
                 name: str, rejects: list[tuple[int, str, str, str]]) -> dict[int, int]:
    """Create the view ``name``: the rows of ``raw`` with ``__row``, their file line.

    Returns:
        DuckDB record number -> file line of each rejected record.
    """
    numbers = [r[0] for r in rejects]
    good = con.execute(f"SELECT count(*) FROM {quote(raw)}").fetchone()[0]
    line_map = csv_lines.scan_lines(readable, numbers)
    if line_map.good_rows != good or set(line_map.rejected) != set(numbers):
        log.warning("%s: the file's quoting could not be followed line by line; rows are "
                    "numbered by record (blank lines and quoted newlines not counted)", path)
        line_map = csv_lines.record_numbers(numbers, good)
    _add_line_numbers(con, raw, name, line_map.segments or [(1, 1)])
    return line_map.rejected


def _add_line_numbers(con: duckdb.DuckDBPyConnection, raw: str, name: str,
                      segments: list[tuple[int, int]]) -> None:
    """``name``: the rows of ``raw`` with ``__row`` = ordinal + the offset of its segment.

    A few segments (the usual case) make a view with a CASE; many make a table, joined once.
    """
    ordinal = f"r.{_ORDINAL}"
    if len(segments) <= _CASE_SEGMENTS:
        offset = "CASE " + " ".join(
            f"WHEN {ordinal} >= {int(first)} THEN {int(off)}" for first, off in reversed(segments)
        ) + " END"
        con.execute(
            f"CREATE OR REPLACE TEMP VIEW {quote(name)} AS SELECT {ordinal} + {offset} AS {ROW}, "
            f"r.* EXCLUDE ({_ORDINAL}) FROM {quote(raw)} AS r")
        return
    table = f"{name}_segments"
    con.execute(f"CREATE OR REPLACE TEMP TABLE {quote(table)} (first BIGINT, off BIGINT)")
    con.executemany(f"INSERT INTO {quote(table)} VALUES (?, ?)", segments)
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE {quote(name)} AS SELECT {ordinal} + s.off AS {ROW}, "
        f"r.* EXCLUDE ({_ORDINAL}) FROM {quote(raw)} AS r "
        f"ASOF JOIN {quote(table)} AS s ON {ordinal} >= s.first")
    con.execute(f"DROP TABLE {quote(raw)}")


def _read_csv(
    con: duckdb.DuckDBPyConnection, path: Path, name: str, options: CsvOptions, scratch: Path
) -> tuple[list[tuple[int, str, str]], str]:
    detected = options.encoding == "auto"
    encoding = detect_encoding(path) if detected else options.encoding
    readable = path
    if encoding in ("gbk", "gb18030"):
        readable = _transcode_to_utf8(path, encoding, scratch, detected)
    raw = name + "_raw"
    try:
        _scan_csv(con, readable, raw, options, name)
    except duckdb.Error as exc:
        lines = str(exc).splitlines()
        message = " ".join(lines[:2]) if "sniffing" in lines[0] and len(lines) > 1 else lines[0]
        if "unicode" in str(exc).lower():
            raise not_valid(path, encoding, first_bad_byte(path, "utf-8") or 0, detected) from None
        raise SourceError(f"{path}: cannot read as CSV: {message}") from None
    rejects = _rejects(con, name)
    if any(kind == "INVALID ENCODING" for _, kind, _, _ in rejects):
        bad = first_bad_byte(path, "utf-8")
        if bad is not None:
            raise not_valid(path, encoding, bad, detected)
        raise SourceError(f"{path}: not valid UTF-8; {HINT}")
    lines = _number_rows(con, path, readable, raw, name, rejects)
    return [(lines[number], err, text) for number, _, err, text in rejects], encoding


def _sheet_name(path: Path, sheet: str | int | None) -> str | int:
    """The sheet to read, checked against the workbook's sheets."""
    try:
        workbook = load_workbook(path, read_only=True)
    except Exception as exc:  # openpyxl raises many types for corrupt files
        raise SourceError(f"{path}: cannot read as Excel (.xlsx): {exc}") from None
    try:
        names = list(workbook.sheetnames)
    finally:
        workbook.close()
    found = f"sheets found: {', '.join(names)}"
    if sheet is None:
        if not names:
            raise SourceError(f"{path}: the workbook has no sheets")
        return 0
    if isinstance(sheet, int) and not 0 <= sheet < len(names):
        raise SourceError(f"{path}: sheet {sheet} not found (sheets count from 0); {found}")
    if isinstance(sheet, str) and sheet not in names:
        raise SourceError(f"{path}: sheet {sheet!r} not found; {found}")
    return sheet


def _read_excel(con: duckdb.DuckDBPyConnection, path: Path, name: str, sheet: str | int | None):
    sheet_name = _sheet_name(path, sheet)
    try:
        # Text as written: "NA", "null" or "nan" in a cell stay text for validation to judge.
        frame = pd.read_excel(path, sheet_name=sheet_name, dtype=object, keep_default_na=False,
                              na_values=[""])
    except Exception as exc:  # openpyxl raises many types for corrupt files
        raise SourceError(f"{path}: cannot read sheet {sheet_name!r} as Excel: {exc}") from None
    if frame.columns.empty:
        raise SourceError(f"{path}: sheet {sheet_name!r} is empty")
    frame = frame.apply(_excel_column)
    frame.insert(0, ROW, range(2, len(frame) + 2))
    con.register(name + "_frame", frame)
    con.execute(f"CREATE OR REPLACE TEMP TABLE {quote(name)} AS SELECT * FROM {quote(name + '_frame')}")
    con.unregister(name + "_frame")


def _excel_column(cells: pd.Series) -> pd.Series:
    """A sheet's column as the ingest reads it: a column of date cells only stays dates (a date
    cell is a date whatever ``date_format`` says of text: with the format of the CSV the sheet
    was made from, every row was quarantined); any other column is each cell's text."""
    filled = cells.dropna()
    if len(filled) and filled.map(lambda v: isinstance(v, date)).all():
        return pd.to_datetime(cells)
    return cells.map(lambda v: v if pd.isna(v) else str(v))


def _read_parquet(con: duckdb.DuckDBPyConnection, path: Path, name: str) -> None:
    try:
        # A view's text is stored and cannot hold a parameter: the path goes in as a literal
        # (a temp view, not a table, so the file is read where it lies; load.write reads the
        # view after switching to the warehouse, where only temp objects stay in reach).
        con.execute(
            f"CREATE OR REPLACE TEMP VIEW {quote(name)} AS SELECT file_row_number + 1 AS {ROW}, "
            f"* EXCLUDE (file_row_number) FROM read_parquet({path_literal(path)}, "
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
