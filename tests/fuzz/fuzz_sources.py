"""Hypothesis strategies for malformed sources and configs, and the ingest oracle they are
checked against.

A generated case is a file (CSV in several encodings, with ragged lines, stray bytes, quotes and
newlines in fields; Parquet with typed or text columns holding non-finite numbers; Excel; empty,
header-only and binary files) plus the source config that points at it, sometimes with mistakes
(unknown columns in ``required``/``unique_key``/``types``, filters that cannot be compared,
non-finite filter values, bad date formats). The oracle runs ``forecast data ingest --json``
in-process and asserts what the trustworthy-data contract promises whatever the input:

* the exit code is 0 or 2, never a traceback (an unexpected exception is exit 1);
* an exit 2 prints one ``error:`` message on stderr;
* on exit 0, per source: rows read = rows loaded + rows quarantined, and a CSV written by the
  ``csv`` module with no damage has exactly as many rows read as it has data rows;
* no loaded numeric column holds a non-finite value.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import yaml
from click.testing import CliRunner
from hypothesis import strategies as st

from forecast.cli import main

HEADER = ("date", "customer", "amount", "qty")
COLUMNS = {"order_date": "date", "customer_id": "customer", "amount": "amount", "quantity": "qty"}

DATES = st.one_of(
    st.sampled_from([
        "2024-01-31", "2024-02-29", "2023-02-29", "31/01/2024", "01/31/2024", "2024/01/31",
        "2024-13-01", "", "  ", "yesterday", "2024-01-31 10:00:00", "2024-01-31T10:00",
        "20240131", "1899-12-31", "2999-01-01", "31.01.2024", "-", "NULL",
    ]),
    st.dates().map(str),
    st.text(max_size=12),
)
NUMBERS = st.one_of(
    st.sampled_from([
        "10", "-3.5", "0", "1,234.5", "1.234,5", "nan", "NaN", "-nan", "inf", "Infinity",
        "-Infinity", "+inf", "1e400", "-1e400", "1e-400", "abc", "", " 12 ", "0x1A", "1_000",
        "12%", "$5", "--1", "1e", "９", "NULL",
    ]),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.integers(-10**20, 10**20).map(str),
    st.text(max_size=8),
)
TEXTS = st.one_of(
    st.sampled_from([
        "a", "b", "Acme, Inc.", 'say "hi"', "line\nbreak", "tab\there", "=1+1",
        '=HYPERLINK("http://example.invalid/x","Red Dragon")', "@SUM(A1)", "-2", "+3",
        "客户甲", "Ünïcødé", "", " ", "'quoted'", "\r", "a;b", "NULL",
    ]),
    st.text(max_size=15),
)
ROW = st.tuples(DATES, TEXTS, NUMBERS, NUMBERS)


@dataclass
class Case:
    """One generated source file and its config."""

    kind: str
    content: bytes | None = None
    rows: list[tuple] = field(default_factory=list)
    source: dict = field(default_factory=dict)
    exact_rows: int | None = None  # data rows a faithful reader must read, when known
    writer: str = "bytes"


def _csv_field(value: object, delimiter: str) -> str:
    """One field as RFC 4180 writes it: quoted when it holds the delimiter, a quote, CR or LF.

    Python's ``csv.writer`` with a ``\\n`` line terminator leaves a bare CR unquoted, and a bare CR
    ends a line for every CSV reader, so such a file has no one faithful row count.
    """
    text = str(value)
    if any(mark in text for mark in (delimiter, '"', "\r", "\n")):
        return '"' + text.replace('"', '""') + '"'
    return text


def _csv_text(rows: list[tuple], delimiter: str) -> str:
    lines = [delimiter.join(_csv_field(v, delimiter) for v in row) for row in [HEADER, *rows]]
    return "".join(line + "\n" for line in lines)


@st.composite
def csv_cases(draw) -> Case:
    rows = draw(st.lists(ROW, max_size=12))
    delimiter = draw(st.sampled_from([",", ";", "\t", "|"]))
    text = _csv_text(rows, delimiter)
    damage = draw(st.sampled_from(["none", "none", "ragged", "bad_byte", "truncate"]))
    encoding = draw(st.sampled_from(["utf-8", "utf-8", "utf-8-sig", "gb18030"]))
    data = text.encode(encoding, errors="replace") if encoding != "utf-8-sig" else (
        b"\xef\xbb\xbf" + text.encode("utf-8"))
    if damage == "ragged" and rows:
        lines = data.split(b"\n")
        k = draw(st.integers(1, len(lines) - 1))
        extra = draw(st.sampled_from([b"", delimiter.encode() + b"x", (delimiter * 3).encode()]))
        lines[k] = lines[k].rsplit(delimiter.encode(), 1)[0] if not extra else lines[k] + extra
        data = b"\n".join(lines)
    elif damage == "bad_byte" and data:
        at = draw(st.integers(0, len(data) - 1))
        data = data[:at] + draw(st.sampled_from([b"\xff", b"\x80", b"\x00", b"\xc3"])) + data[at:]
    elif damage == "truncate" and data:
        data = data[: draw(st.integers(0, len(data)))]
    configured = draw(st.sampled_from(["auto", "auto", encoding.replace("gb18030", "gbk")]))
    source = {"encoding": configured}
    if draw(st.booleans()):
        source["delimiter"] = delimiter
    clean = damage == "none" and configured in ("auto", encoding) and "delimiter" in source
    return Case("csv", data, rows, source, len(rows) if clean else None)


@st.composite
def degenerate_cases(draw) -> Case:
    kind = draw(st.sampled_from(["empty", "header", "binary", "blank_lines"]))
    content = {
        "empty": b"",
        "header": ",".join(HEADER).encode() + b"\n",
        "binary": draw(st.binary(min_size=1, max_size=200)),
        "blank_lines": ",".join(HEADER).encode() + b"\n\n\n",
    }[kind]
    suffix = draw(st.sampled_from(["csv", "csv", "parquet", "xlsx"]))
    return Case(suffix, content)


@st.composite
def parquet_cases(draw) -> Case:
    rows = draw(st.lists(st.tuples(
        st.one_of(st.dates(), DATES), TEXTS,
        st.one_of(st.floats(allow_nan=True, allow_infinity=True), NUMBERS, st.none()),
        st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.none()),
    ), max_size=12))
    return Case("parquet", rows=rows, writer="parquet", exact_rows=len(rows))


@st.composite
def excel_cases(draw) -> Case:
    rows = draw(st.lists(st.tuples(
        DATES, TEXTS, st.one_of(NUMBERS, st.floats(allow_nan=False, allow_infinity=False)),
        NUMBERS), max_size=10))
    return Case("xlsx", rows=rows, writer="xlsx")


def _typed_or_text(values: list) -> list:
    """A column's values as one Arrow-friendly type: all numbers, all dates, or text."""
    kinds = {type(v) for v in values if v is not None}
    if len(kinds) <= 1:
        return values
    return [None if v is None else str(v) for v in values]


def write_case(case: Case, folder: Path) -> Path:
    """Write a case's file into ``folder`` and return its path."""
    path = folder / f"orders.{case.kind}"
    if case.writer == "parquet":
        import pyarrow as pa
        import pyarrow.parquet as pq

        columns = list(zip(*case.rows, strict=True)) if case.rows else [[]] * len(HEADER)
        arrays = {name: pa.array(_typed_or_text(list(values)), from_pandas=False)
                  if values else pa.array([], pa.string())
                  for name, values in zip(HEADER, columns, strict=True)}
        pq.write_table(pa.table(arrays), path)
    elif case.writer == "xlsx":
        from openpyxl import Workbook

        book = Workbook()
        sheet = book.active
        sheet.append(HEADER)
        for row in case.rows:
            sheet.append([_excel_cell(v) for v in row])
        book.save(path)
    else:
        path.write_bytes(case.content or b"")
    return path


def _excel_cell(value: object) -> object:
    # openpyxl would store text starting with "=" as a formula; the fuzz wants the text itself.
    if isinstance(value, str):
        cleaned = "".join(ch for ch in value if ch >= " " or ch in "\t\n")
        return cleaned if not cleaned.startswith("=") else " " + cleaned
    return value


CONFIG_MISTAKES = st.fixed_dictionaries({}, optional={
    "required": st.lists(st.sampled_from(
        ["customer_id", "custmer_id", "amount", "quantity", "order_date", "qty"]), max_size=2),
    "unique_key": st.lists(st.sampled_from(
        ["customer_id", "order_idd", "order_date", "amount"]), min_size=1, max_size=2),
    "date_format": st.sampled_from(["%Y-%m-%d", "%d/%m/%Y", "%m/%d/%Y", "%Q/%m", "%", "%Y",
                                    "%d.%m.%Y %H", "abc"]),
    "filters": st.lists(st.fixed_dictionaries({
        "column": st.sampled_from(["amount", "customer", "qty", "date", "Country"]),
        "op": st.sampled_from(["eq", "ne", "gt", "ge", "lt", "le", "starts_with"]),
        "value": st.one_of(st.sampled_from([5, 0.5, "abc", "a", "2024-01-01", True]),
                           st.sampled_from([math.nan, math.inf, -math.inf])),
    }), max_size=2),
    "types": st.dictionaries(st.sampled_from(["temperature", "amount", "region"]),
                             st.sampled_from(["DOUBLE", "VARCHAR", "BIGINT", "DATE"]),
                             max_size=1),
    "thousands": st.sampled_from([",", ".", "'"]),
    "decimal": st.sampled_from([".", ","]),
    "currency_symbol": st.sampled_from(["$", "€", "1", " "]),
    "min_date": st.sampled_from(["2024-01-01", "2030-01-01"]),
})


def ingest(case: Case, folder: Path, mistakes: dict | None = None) -> tuple[object, Path]:
    """Write the case and its config into ``folder`` and run ``data ingest --json`` on it."""
    path = write_case(case, folder)
    source = {"table": "orders", "path": str(path), "columns": dict(COLUMNS), **case.source,
              **(mistakes or {})}
    if "types" in source:  # a type for a canonical column is itself a mistake worth trying
        source["columns"] |= {name: "qty" for name in source["types"] if name not in COLUMNS}
    config = folder / "config.yaml"
    config.write_text(yaml.safe_dump({"workspace": str(folder / "ws"), "sources": [source]},
                                     allow_unicode=True), encoding="utf-8")
    result = CliRunner().invoke(main, ["data", "ingest", "--config", str(config), "--json"])
    return result, folder / "ws"


def assert_contract(result, workspace: Path, case: Case) -> None:
    """The trustworthy-data contract of one ingest (see the module docstring)."""
    unexpected = result.exception is not None and not isinstance(result.exception, SystemExit)
    assert not unexpected, f"unexpected {result.exception!r}\n{result.output}"
    assert result.exit_code in (0, 2), result.output
    assert "Traceback" not in result.output
    if result.exit_code == 2:
        errors = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
        assert len(errors) == 1, result.stderr
        return
    summary = json.loads(result.stdout)
    for source in summary["sources"]:
        assert source["rows_read"] == source["rows_loaded"] + source["rows_quarantined"], source
        if case.exact_rows is not None:
            assert source["rows_read"] == case.exact_rows, source
    _assert_finite(workspace)


def _assert_finite(workspace: Path) -> None:
    con = duckdb.connect(str(workspace / "warehouse.duckdb"), read_only=True)
    try:
        numeric = con.execute(
            "SELECT table_name, column_name FROM information_schema.columns "
            "WHERE data_type IN ('DOUBLE', 'FLOAT', 'REAL') AND table_schema = 'main'").fetchall()
        for table, column in numeric:
            bad = con.execute(
                f'SELECT count(*) FROM "{table}" WHERE NOT isfinite("{column}")').fetchone()[0]
            assert bad == 0, f"{bad} non-finite value(s) loaded in {table}.{column}"
    finally:
        con.close()
