"""Checks of a whole source that no single row can make: whether a filter can compare with its
column, and why a source would load nothing.

Both raise the project's errors (exit 2) with what was found and what to set, so a config that
would silently drop every row, or a file that would load nothing, stops the ingest (and
``forecast data check``) before anything is written.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from datetime import timedelta

import duckdb

from forecast.config import FilterSpec, SourceConfig
from forecast.config.base import EXCEL_DAYS, EXCEL_EPOCH
from forecast.errors import ConfigError, SourceError
from forecast.io.readers import ROW, ReadResult
from forecast.io.sql import Params, quote
from forecast.io.validate import number_text
from forecast.schemas import CANONICAL_TABLES

_COMPARISONS = ("eq", "ne", "gt", "ge", "lt", "le")
_ORDERINGS = ("gt", "ge", "lt", "le")
_NUMERIC_TYPES = ("DOUBLE", "FLOAT", "REAL", "DECIMAL", "INTEGER", "BIGINT", "SMALLINT",
                  "TINYINT", "HUGEINT", "UBIGINT", "UINTEGER", "USMALLINT", "UTINYINT")
_SAMPLE = 1000
_SHOWN = 3


def _is_number(value: object) -> bool:
    """A finite number, or text that reads as one."""
    if isinstance(value, bool):
        return False
    try:
        return math.isfinite(float(value if isinstance(value, int | float) else str(value)))
    except ValueError:
        return False


def _column_values(con: duckdb.DuckDBPyConnection, read: ReadResult, column: str,
                   source: SourceConfig) -> tuple[bool | None, list[str], list[str]]:
    """Whether most non-empty values of a column are numbers (None when it has no value), with
    a few values of each kind (numbers, other text) in file order."""
    p = Params()
    text = f"NULLIF(trim(CAST({quote(column)} AS VARCHAR)), '')"
    number = f"TRY_CAST({number_text(text, source, p)} AS DOUBLE)"
    filled, numeric = con.execute(*p.query(
        f"SELECT count({text}), count({number}) FROM {quote(read.relation)}")).fetchone()
    if not filled:
        return None, [], []
    samples = {}
    for kind, condition in (("numbers", f"{number} IS NOT NULL"),
                            ("text", f"{text} IS NOT NULL AND {number} IS NULL")):
        samples[kind] = [r[0] for r in con.execute(*p.query(
            f"SELECT {text} AS v FROM {quote(read.relation)} WHERE {condition} "
            f"GROUP BY v ORDER BY min({ROW}) LIMIT {_SHOWN}")).fetchall()]
    return 2 * numeric >= filled, samples["numbers"], samples["text"]


def filter_modes(con: duckdb.DuckDBPyConnection, source: SourceConfig,
                 read: ReadResult) -> list[bool]:
    """Per filter, whether it compares numbers (else text).

    The column decides: a numeric Parquet column, or one whose non-empty values are mostly
    numbers, compares as numbers; any other as text. A column without any value is left to the
    check that the source loads something.

    Raises:
        ConfigError: a filter would compare a number with a text column, or order (gt, ge, lt,
            le) a numeric column by a value that is not a number; every row would fail it.
    """
    modes = []
    for spec in source.filters:
        if spec.op not in _COMPARISONS or spec.column not in read.columns:
            modes.append(False)
            continue
        numeric_column, numbers, words = _column_values(con, read, spec.column, source)
        if numeric_column is not None and read.columns[spec.column].upper().split("(")[0] in (
                _NUMERIC_TYPES):
            numeric_column = True
        value_is_number = not isinstance(spec.value, str) and _is_number(spec.value)
        if numeric_column is None:
            modes.append(value_is_number)
            continue
        if value_is_number and not numeric_column:
            raise _incomparable(source, spec, "the value is a number but the column holds text",
                                words, "quote the value to compare text, or filter another "
                                "column")
        if isinstance(spec.value, str) and spec.op in _ORDERINGS and numeric_column:
            if not _is_number(spec.value):
                raise _incomparable(source, spec, "the value is text but the column holds "
                                    "numbers", numbers, "give a number as `value:`")
            modes.append(True)
            continue
        modes.append(value_is_number)
    return modes


def _incomparable(source: SourceConfig, spec: FilterSpec, what: str, samples: list[str],
                  fix: str) -> ConfigError:
    shown = ", ".join(repr(v) for v in samples) or "no values"
    value = repr(spec.value) if isinstance(spec.value, str) else spec.value
    return ConfigError(
        f"{source.path}: filter {spec.column} {spec.op} {value} cannot compare with column "
        f"{spec.column!r}: {what} (e.g. {shown}); {fix}"
    )


# Dates a user may have written, as (pattern, parts); parts name the groups in order.
_DATE_PATTERNS = (
    (re.compile(r"^(\d{1,2})([/.-])(\d{1,2})\2(\d{4}|\d{2})((?: \d{1,2}:\d{2})(?::\d{2})?)?$"),
     "dmy"),
    (re.compile(r"^(\d{4})([/.])(\d{1,2})\2(\d{1,2})$"), "ymd"),
    (re.compile(r"^(\d{4})(\d{2})(\d{2})$"), "compact"),
    (re.compile(r"^(\d{4})年(\d{1,2})月(\d{1,2})日$"), "chinese"),
    (re.compile(r"^(\d{4})([/.])(\d{1,2})$"), "ym"),
    (re.compile(r"^(\d{4})年(\d{1,2})月$"), "chinese month"),
    (re.compile(r"^([A-Za-z]{3,9})([ -])(\d{4})$"), "month name"),
)


# Spreadsheet day numbers of the years 1950-2099 (a date column formatted as a number).
_EXCEL_DAY = re.compile(r"^(\d{5})(?:\.\d+)?$")
_EXCEL_SPAN = (18264, 73050)


def _excel_days(values: list[str]) -> tuple[str, str, list[str]] | None:
    """The hint for dates written as spreadsheet day numbers (45292 is 2024-01-01)."""
    days = [int(m.group(1)) for m in map(_EXCEL_DAY.match, values) if m]
    if not days or len(days) * 2 < len(values) or not all(
            _EXCEL_SPAN[0] <= d <= _EXCEL_SPAN[1] for d in days):
        return None
    day = EXCEL_EPOCH + timedelta(days=days[0])
    return str(days[0]), f" (a spreadsheet day number: {day.isoformat()})", [EXCEL_DAYS]


def _date_formats(values: list[str]) -> tuple[str, str, list[str]] | None:
    """(a telling sample date, how the dates look, the date_format(s) that read them) for a
    sample of raw dates; None when they look like no known layout."""
    excel = _excel_days(values)
    if excel is not None:
        return excel
    for pattern, kind in _DATE_PATTERNS:
        matches = [m for m in map(pattern.match, values) if m]
        if not matches or len(matches) * 2 < len(values):
            continue
        first = matches[0]
        if kind == "month name":
            name = "%b" if all(len(m.group(1)) == 3 for m in matches) else "%B"
            return first.group(0), " (a month)", [f"{name}{first.group(2)}%Y"]
        if kind != "dmy":
            sep = first.group(2) if kind in ("ymd", "ym") else ""
            layout = {"ymd": f"%Y{sep}%m{sep}%d", "compact": "%Y%m%d", "chinese": "%Y年%m月%d日",
                      "ym": f"%Y{sep}%m", "chinese month": "%Y年%m月"}
            return first.group(0), " (a month)" if kind in ("ym", "chinese month") else "", [
                layout[kind]]
        sep, year = first.group(2), "%Y" if len(first.group(4)) == 4 else "%y"
        clock = first.group(5) or ""
        clock = (" %H:%M:%S" if clock.count(":") == 2 else " %H:%M") if clock else ""
        day = next((m for m in matches if int(m.group(1)) > 12), None)
        month = next((m for m in matches if int(m.group(3)) > 12), None)
        by_day, by_month = f"%d{sep}%m{sep}{year}{clock}", f"%m{sep}%d{sep}{year}{clock}"
        if day and not month:
            return day.group(0), " (day first)", [by_day]
        if month and not day:
            return month.group(0), " (month first)", [by_month]
        return first.group(0), " (day or month first)", [by_day, by_month]
    return None


def _failed_text_columns(con: duckdb.DuckDBPyConnection, source: SourceConfig,
                         read: ReadResult, reasons: dict[str, int], dtypes: tuple[str, ...],
                         problems: tuple[str, ...]):
    """``(column, sample of its raw values)`` for each text column of the source mapped to a
    column of ``dtypes`` that some row failed with one of ``problems`` (``cannot parse``...)."""
    table = CANONICAL_TABLES.get(source.table)
    for target, column in source.columns.items():
        dtype = source.types.get(target) or (table.column(target).dtype if table else None)
        if dtype not in dtypes or read.columns.get(column, "").upper() != "VARCHAR":
            continue
        label = f"{target} (column {column})" if column != target else target
        if not any(k.startswith(tuple(f"{label}: {p}" for p in problems)) for k in reasons):
            continue
        text = f"NULLIF(trim({quote(column)}), '')"
        values = [r[0] for r in con.execute(
            f"SELECT {text} AS v FROM {quote(read.relation)} WHERE v IS NOT NULL "
            f"ORDER BY {ROW} LIMIT {_SAMPLE}").fetchall()]
        if values:
            yield column, values


def _date_hint(con: duckdb.DuckDBPyConnection, source: SourceConfig, read: ReadResult,
               reasons: dict[str, int]) -> str:
    """What the text dates of a source look like and the date_format to set, for a date column
    that failed to parse (or parsed outside the allowed dates); '' if none or unknown."""
    for column, values in _failed_text_columns(con, source, read, reasons, ("DATE",),
                                               ("cannot parse", "date ")):
        found = _date_formats(values)
        if found is not None:
            example, how, formats = found
            sets = " or ".join(f'`date_format: "{f}"`' for f in formats)
            return f"dates in column {column!r} look like {example}{how}: set {sets}"
    return ""


# Numbers written as a plain number cast does not read them: a currency sign before or after
# ($1,234.50, -€12, 12,50 €), a thousands comma (1,234,567.50), a decimal comma (1.234,50).
_CURRENCY = re.compile(r"^(?P<sign>[-+])?(?:(?P<pre>[^\d\s.,'+\-]{1,4})\s*)?"
                       r"(?P<num>[-+]?\d[\d.,' ]*)(?:\s*(?P<post>[^\d\s.,'+\-]{1,4}))?$")
_THOUSANDS_COMMA = re.compile(r"^[-+]?\d{1,3}(?:,\d{3})+(?:\.\d+)?$")
_DECIMAL_COMMA = re.compile(r"^[-+]?(?:\d{1,3}(?:([.\s'])\d{3})+|\d+),\d+$")


def _number_settings(values: list[str], source: SourceConfig) -> tuple[str, list[str], list[str]]:
    """(a telling sample, what it shows, the settings that read it) for raw numbers that did
    not parse; no settings when they look like nothing known."""
    shown, what, sets = values[0], [], []
    symbols: Counter = Counter()
    numbers = {}  # raw value -> the number without its currency sign
    for value in values:
        match = _CURRENCY.match(value)
        if match is None:
            numbers[value] = value
            continue
        symbol = match.group("pre") or match.group("post")
        if symbol is not None and symbol != source.currency_symbol:
            symbols[symbol] += 1
        numbers[value] = (match.group("sign") or "") + match.group("num").strip()
    if symbols and source.currency_symbol is None:
        symbol, count = symbols.most_common(1)[0]
        if 2 * count >= len(values):
            shown = next(v for v in values if symbol in v)
            what.append("a currency sign")
            sets.append(f'`currency_symbol: "{symbol}"`')
    unread = {raw: n for raw, n in numbers.items() if not _is_number(n)}  # separators' work
    thousands = [raw for raw, n in unread.items() if _THOUSANDS_COMMA.match(n)]
    decimal = {raw: m for raw, n in unread.items() if (m := _DECIMAL_COMMA.match(n))}
    grouped = next((raw for raw, m in decimal.items() if m.group(1)), None)
    if unread and source.thousands is None and 2 * len(thousands) >= len(unread) and (
            source.decimal == "." or not decimal):
        shown = thousands[0]
        what.append("a thousands comma")
        sets.append('`thousands: ","`')
    elif unread and source.decimal == "." and 2 * len(decimal) >= len(unread):
        shown = grouped or next(iter(decimal))
        what.append("a decimal comma")
        sets.append('`decimal: ","`')
        if grouped and source.thousands is None:
            sets.append(f'`thousands: "{decimal[grouped].group(1)}"`')
    return shown, what, sets


def _number_hint(con: duckdb.DuckDBPyConnection, source: SourceConfig, read: ReadResult,
                 reasons: dict[str, int]) -> str:
    """What the text numbers of a source look like and the settings that read them, for a
    number column that failed to parse; '' if none or unknown."""
    for column, values in _failed_text_columns(con, source, read, reasons,
                                               ("DOUBLE", "BIGINT"), ("cannot parse",)):
        shown, what, sets = _number_settings(values, source)
        if sets:
            return (f"numbers in column {column!r} look like {shown} ({' and '.join(what)}): "
                    f"set {' and '.join(sets)}")
    return ""


def check_loads_something(con: duckdb.DuckDBPyConnection, source: SourceConfig, read: ReadResult,
                          rows_read: int, reasons: dict[str, int]) -> None:
    """A source that would load no row is an error naming the likely cause, unless the config
    sets ``allow_empty``.

    Args:
        con: connection holding the registered source.
        source: its config.
        read: the registered source.
        rows_read: rows the file holds.
        reasons: reason kind -> rows, as the summary counts them.

    Raises:
        SourceError: no data rows, or every row quarantined.
    """
    if source.allow_empty:
        return
    if rows_read == 0:
        raise SourceError(f"{source.path}: no data rows; if this source may be empty, set "
                          "`allow_empty: true`")
    cause = _date_hint(con, source, read, reasons) or _number_hint(con, source, read, reasons)
    if not cause:
        top = Counter(reasons).most_common(_SHOWN)
        cause = "; ".join(f"{kind} ({n:,} row{'s' if n != 1 else ''})" for kind, n in top)
    raise SourceError(
        f"{source.path}: all {rows_read:,} rows were quarantined, so nothing would load: "
        f"{cause}; fix the file or the config, or set `allow_empty: true` if this source may "
        "load nothing"
    )
