"""Validation as SQL: map source columns to canonical ones, parse, check, and give every rejected
row its reasons.

The output of :func:`stage_source` is a temp table with one row per source row: the parsed
canonical columns, ``source_row``, ``reason`` (empty when the row is good; otherwise every
problem found, separated by "; "). :func:`quarantine_records` joins rejected rows back to their
raw source values.
Everything runs inside DuckDB, so it scales to files larger than memory.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import duckdb

from forecast.config import FilterSpec, SourceConfig
from forecast.config.base import EXCEL_DAYS, EXCEL_EPOCH
from forecast.errors import SourceError
from forecast.io.readers import ROW, ReadResult
from forecast.io.sql import Params, quote
from forecast.schemas import CANONICAL_TABLES, SOURCE_ROW, ColumnType

_SQL_QUOTE = "''''"  # a SQL string literal holding one single quote
_NUMERIC = ("DOUBLE", "FLOAT", "REAL", "DECIMAL", "INTEGER", "BIGINT", "SMALLINT", "TINYINT",
            "HUGEINT", "UBIGINT", "UINTEGER", "USMALLINT", "UTINYINT")


@dataclass(frozen=True)
class TargetColumn:
    """One output column of a staged source.

    Attributes:
        name: canonical (or declared) column name.
        dtype: type to parse into.
        raw: SQL expression of the raw value (a source column, a lookup column or a constant's
            placeholder).
        raw_type: DuckDB type of the raw value.
        origin: what to call the raw value in messages (the source column name).
    """

    name: str
    dtype: ColumnType
    raw: str
    raw_type: str
    origin: str


def _missing_column_error(source: SourceConfig, column: str, target: str, found: list[str]):
    return SourceError(
        f"{source.path}: column {column!r} (mapped to {target!r}) not found; "
        f"columns found: {', '.join(found)}"
    )


def resolve_columns(
    source: SourceConfig, read: ReadResult, lookup_columns: dict[str, tuple[str, str]],
    p: Params,
) -> list[TargetColumn]:
    """The target columns of a source, checked against the columns the file really has.

    Args:
        source: the source config.
        read: the registered source file.
        lookup_columns: target name -> (SQL expression, type) for columns brought in by lookups.
        p: the statement's parameters; constants are bound there.

    Raises:
        SourceError: a mapped column is not in the file, naming the file, the column and the
            columns found.
    """
    table = CANONICAL_TABLES.get(source.table)
    found = list(read.columns)
    targets: list[TargetColumn] = []
    for target, column in source.columns.items():
        dtype = source.types.get(target) or table.column(target).dtype  # type: ignore[union-attr]
        if column not in read.columns:
            raise _missing_column_error(source, column, target, found)
        raw = f"src.{quote(column)}"
        targets.append(TargetColumn(target, dtype, raw, read.columns[column], column))
    for target, (expr, raw_type) in lookup_columns.items():
        dtype = source.types.get(target) or table.column(target).dtype  # type: ignore[union-attr]
        targets.append(TargetColumn(target, dtype, expr, raw_type, target))
    for target, value in source.constants.items():
        dtype = source.types.get(target) or table.column(target).dtype  # type: ignore[union-attr]
        targets.append(TargetColumn(target, dtype, p(value), "VARCHAR", "constant"))
    for spec in source.filters:
        if spec.column not in read.columns:
            raise SourceError(
                f"{source.path}: filter column {spec.column!r} not found; "
                f"columns found: {', '.join(found)}"
            )
    return targets


def _raw(index: int) -> str:
    return quote(f"__raw_{index}")


def _as_text(ref: str) -> str:
    return f"NULLIF(trim(CAST({ref} AS VARCHAR)), '')"


ISO_MONTH = "%Y-%m"  # read without a date_format, beside ISO dates and date-times
_EXCEL_LAST = 2958465  # 9999-12-31 as a spreadsheet day number


def parse_expression(col: TargetColumn, ref: str, source: SourceConfig, p: Params) -> str:
    """SQL that parses the raw value ``ref`` into the column's type; NULL when it cannot."""
    raw_type = col.raw_type.upper()
    if col.dtype == "VARCHAR":
        return _as_text(ref)
    if col.dtype == "DATE":
        if raw_type == "DATE":
            return ref
        if raw_type.startswith("TIMESTAMP"):
            return f"CAST({ref} AS DATE)"
        fmt = source.date_formats.get(col.name) or source.date_format
        text = _as_text(ref)
        if fmt == EXCEL_DAYS:  # whole days since 1899-12-30; a fraction is the time of day
            days = f"floor(TRY_CAST({text} AS DOUBLE))"
            return (f"CASE WHEN {days} BETWEEN 1 AND {_EXCEL_LAST} THEN "
                    f"{p(EXCEL_EPOCH)} + CAST({days} AS INTEGER) END")
        if fmt:
            return f"CAST(try_strptime({text}, {p(fmt)}) AS DATE)"
        # ISO dates, date-times and months (2026-10: the month's first day, as a planner's
        # monthly sheet writes its months).
        return (f"coalesce(TRY_CAST({text} AS DATE), CAST(TRY_CAST({text} AS TIMESTAMP) AS DATE), "
                f"CAST(try_strptime({text}, {p(ISO_MONTH)}) AS DATE))")
    if raw_type.split("(")[0] in _NUMERIC and col.dtype == "DOUBLE":
        return f"CAST({ref} AS DOUBLE)"
    if raw_type.split("(")[0] in _NUMERIC and col.dtype == "BIGINT":
        return f"TRY_CAST({ref} AS BIGINT)"  # NaN, infinity or out of range: cannot parse
    text = _as_text(ref)
    if col.dtype in ("DOUBLE", "BIGINT"):
        text = number_text(text, source, p)
    return f"TRY_CAST({text} AS {col.dtype})"


def _normalised(col: TargetColumn, parsed: str, source: SourceConfig) -> str:
    """The parsed value in its canonical form: money rounded to the currency's smallest unit,
    a key written as a whole number with a decimal part (``12417.0``) as the whole number."""
    table = CANONICAL_TABLES.get(source.table)
    spec = table.column(col.name) if table and col.name in table.column_names else None
    if spec is None:
        return parsed
    if spec.money and col.dtype == "DOUBLE":
        return f"round({parsed}, {int(source.money_decimals)})"
    if spec.identifier and col.dtype == "VARCHAR":
        return f"regexp_replace({parsed}, '^(-?[0-9]+)\\.0+$', '\\1')"
    return parsed


def _expected(col: TargetColumn, source: SourceConfig) -> str:
    if col.dtype == "DATE":
        fmt = source.date_formats.get(col.name) or source.date_format
        if fmt == EXCEL_DAYS:
            return "a spreadsheet day number (45292 = 2024-01-01)"
        return f"a date in format {fmt}" if fmt else "an ISO date (YYYY-MM-DD)"
    return {"DOUBLE": "a number", "BIGINT": "a whole number", "BOOLEAN": "true/false"}.get(
        col.dtype, "text"
    )


def _filter_condition(spec: FilterSpec, numeric: bool, source: SourceConfig,
                      p: Params) -> str:
    """SQL over the source row that is true when the row passes the filter.

    Args:
        spec: the filter.
        numeric: compare the column and the value as numbers (decided by
            :func:`forecast.io.source_checks.filter_modes`).
        source: the source, whose separators and currency symbol numbers carry.
        p: the statement's parameters; the filter's values are bound there.
    """
    col = f"src.{quote(spec.column)}"
    text = f"CAST({col} AS VARCHAR)"
    value = spec.value
    if spec.op == "is_null":
        return f"({col} IS NULL OR trim({text}) = '')"
    if spec.op == "not_null":
        return f"({col} IS NOT NULL AND trim({text}) <> '')"
    if spec.op in ("in", "not_in"):
        items = ", ".join(p(str(v)) for v in value)
        neg = "NOT " if spec.op == "not_in" else ""
        return f"coalesce({text} {neg}IN ({items}), {'TRUE' if neg else 'FALSE'})"
    if spec.op == "starts_with":
        return f"coalesce(starts_with({text}, {p(str(value))}), FALSE)"
    if spec.op == "not_starts_with":
        return f"coalesce(NOT starts_with({text}, {p(str(value))}), TRUE)"
    ops = {"eq": "=", "ne": "<>", "gt": ">", "ge": ">=", "lt": "<", "le": "<="}
    if numeric:
        number = number_text(text, source, p)
        # The number as a literal, typed as before (a DECIMAL such as 2.5 or a DOUBLE such as
        # 1e+300): a float's repr cannot carry a quote.
        return (f"coalesce(TRY_CAST({number} AS DOUBLE) {ops[spec.op]} "
                f"{float(value)!r}, FALSE)")
    return f"coalesce({text} {ops[spec.op]} {p(str(value))}, FALSE)"


def number_text(text: str, source: SourceConfig, p: Params) -> str:
    """SQL of a text value ready to cast to a number, as the source writes numbers: trimmed,
    its currency symbol and thousands separators (bound in ``p``) removed, a decimal comma made
    a point."""
    text = f"trim({text})"
    if source.currency_symbol:
        text = f"trim(replace({text}, {p(source.currency_symbol)}, ''))"
    if source.thousands:
        text = f"replace({text}, {p(source.thousands)}, '')"
    return f"replace({text}, ',', '.')" if source.decimal == "," else text


def describe_filter(spec: FilterSpec) -> str:
    if spec.value is None:
        return f"{spec.column} {spec.op}"
    return f"{spec.column} {spec.op} {spec.value}"


def _checks(
    targets: list[TargetColumn], source: SourceConfig, today: date, p: Params
) -> list[tuple[str, str]]:
    """(condition, message SQL) pairs over the parsed stage; a row is rejected when any holds
    (the messages' words bound in ``p``)."""
    table = CANONICAL_TABLES.get(source.table)
    required = set(source.required) | (set(table.required) if table else set())
    past_only = set(table.past_only) if table else set()
    checks: list[tuple[str, str]] = []
    for j, spec in enumerate(source.filters):
        message = p(f"excluded by filter {describe_filter(spec)}")
        checks.append((f"NOT {quote(f'__keep_{j}')}", message))
    for i, col in enumerate(targets):
        parsed = quote(col.name)
        text = _as_text(_raw(i))
        label = f"{col.name} (column {col.origin})" if col.origin != col.name else col.name
        checks.append(
            (
                f"{text} IS NOT NULL AND {parsed} IS NULL",
                (f"{p(label + ': cannot parse ')} || {_SQL_QUOTE} || {text} || "
                f"{_SQL_QUOTE} || {p(', expected ' + _expected(col, source))}"),
            )
        )
        if col.name in required:
            checks.append((f"{text} IS NULL", p(f"{label}: empty, a value is required")))
        if col.dtype == "DOUBLE":
            checks.append(
                (
                    f"NOT isfinite({parsed})",
                    (f"{p(label + ': ')} || {_SQL_QUOTE} || {text} || {_SQL_QUOTE} || "
                     f"{p(' is not a finite number')}"),
                )
            )
        if col.dtype == "DATE":
            high = source.max_date or (today if col.name in past_only else date(2100, 12, 31))
            low = source.min_date
            checks.append(
                (
                    f"{parsed} NOT BETWEEN {p(low)} AND {p(high)}",
                    (f"{p(label + ': date ')} || CAST({parsed} AS VARCHAR) || "
                    f"{p(f' outside {low}..{high}')}"),
                )
            )
    return checks


def _raw_sql(source: SourceConfig, read: ReadResult, targets: list[TargetColumn], join_sql: str,
             numeric: list[bool], p: Params) -> str:
    """SELECT of each source row's ``source_row``, raw values (``__raw_<i>``) and filter
    outcomes (``__keep_<j>``)."""
    raws = [f"{c.raw} AS {_raw(i)}" for i, c in enumerate(targets)]
    keeps = [f"{_filter_condition(f, numeric[j], source, p)} AS "
             f"{quote(f'__keep_{j}')}" for j, f in enumerate(source.filters)]
    return (f"SELECT src.{ROW} AS {SOURCE_ROW}, {', '.join(raws + keeps)} "
            f"FROM {quote(read.relation)} AS src {join_sql}")


def stage_source(
    con: duckdb.DuckDBPyConnection,
    source: SourceConfig,
    read: ReadResult,
    staged: str,
    lookups: tuple[str, dict[str, tuple[str, str]]] = ("", {}),
    today: date | None = None,
    numeric_filters: list[bool] | None = None,
) -> list[str]:
    """Parse and check every row of a registered source into the temp table ``staged``.

    The staged table has ``source_row``, the output columns and ``reason``. Rows repeating an
    earlier row's ``unique_key`` are rejected as duplicates; without a key, identical rows stay
    (see :func:`identical_rows`).

    Args:
        con: connection holding the registered source ``read.relation``.
        source: the source config.
        read: the registered source.
        staged: name of the temp table to create.
        lookups: (SQL join clause, target name -> (expression, type)) from the lookup files.
        today: the day past-only dates may not exceed (default: today).
        numeric_filters: per filter, compare as numbers (default: none).

    Returns:
        The output column names, in order.
    """
    today = today or date.today()
    join_sql, lookup_columns = lookups
    p = Params()
    targets = resolve_columns(source, read, lookup_columns, p)
    numeric = numeric_filters or [False] * len(source.filters)
    base = _raw_sql(source, read, targets, join_sql, numeric, p)
    parsed = [f"{_normalised(c, parse_expression(c, _raw(i), source, p), source)} AS "
              f"{quote(c.name)}" for i, c in enumerate(targets)]
    names = [c.name for c in targets]
    if source.derive_amount:
        parsed.append(f"round(quantity * unit_price, {int(source.money_decimals)}) AS amount")
        names.append("amount")
        derived = "SELECT *, " + parsed.pop() + " FROM"
    else:
        derived = "SELECT * FROM"
    checks = _checks(targets, source, today, p)
    if source.derive_amount:
        checks.append(("amount IS NULL", p("amount: needs quantity and unit_price")))
        checks.append(("NOT isfinite(amount)",
                       p("amount: quantity x unit_price is not a finite number")))
    reasons = ", ".join(f"CASE WHEN {cond} THEN {msg} END" for cond, msg in checks) or "NULL"
    columns = ", ".join(quote(n) for n in names)
    con.execute(*p.query(
        f"""CREATE OR REPLACE TEMP TABLE {quote(staged)} AS
        SELECT {SOURCE_ROW}, {columns}, concat_ws('; ', {reasons}) AS reason
        FROM ({derived} (SELECT *, {', '.join(parsed)} FROM ({base})))"""
    ))
    if source.unique_key:
        _mark_duplicates(con, staged, names, source.unique_key)
    return names


def quarantine_records(read: ReadResult, staged: str) -> str:
    """SQL selecting (source_row, reason, record) of the rejected rows, the record being the raw
    source values as JSON (keyed by the source's column names)."""
    struct = "struct_pack(" + ", ".join(
        f"{quote(name)} := CAST(src.{quote(name)} AS VARCHAR)" for name in read.columns
    ) + ")"
    return (
        f"SELECT s.{SOURCE_ROW}, s.reason, CAST(to_json({struct}) AS VARCHAR) AS record "
        f"FROM {quote(staged)} AS s JOIN {quote(read.relation)} AS src "
        f"ON src.{ROW} = s.{SOURCE_ROW} WHERE s.reason <> ''"
    )


def _repeat_candidates(con: duckdb.DuckDBPyConnection, table: str, columns: str) -> int:
    """Good rows whose hash over ``columns`` repeats, into the temp table ``dup_candidates``.

    Grouping by a hash is cheap on large files; only these rows are then compared column by
    column (so hash collisions cannot merge rows). Returns their count.
    """
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE dup_candidates AS
        SELECT {SOURCE_ROW}, {columns} FROM {table}
        WHERE reason = '' AND hash({columns}) IN (
            SELECT hash({columns}) AS h FROM {table} WHERE reason = ''
            GROUP BY h HAVING count(*) > 1)"""
    )
    return con.execute("SELECT count(*) FROM dup_candidates").fetchone()[0]


def identical_rows(con: duckdb.DuckDBPyConnection, staged: str, names: list[str]) -> int:
    """How many good rows repeat an earlier good row in every column (they load: the same
    customer buying the same thing twice in a day is real)."""
    columns = ", ".join(quote(c) for c in names)
    if not _repeat_candidates(con, quote(staged), columns):
        con.execute("DROP TABLE dup_candidates")
        return 0
    repeats = con.execute(
        f"SELECT coalesce(sum(n - 1), 0) FROM (SELECT count(*) AS n FROM dup_candidates "
        f"GROUP BY {columns})"
    ).fetchone()[0]
    con.execute("DROP TABLE dup_candidates")
    return int(repeats)


def _mark_duplicates(
    con: duckdb.DuckDBPyConnection, staged: str, names: list[str], unique_key: list[str]
) -> None:
    """Reject good rows that repeat an earlier good row's unique key: as a duplicate of that row
    when every column repeats, as a duplicate key otherwise."""
    groups = [("duplicate of source row ", names),
              (f"duplicate key ({', '.join(unique_key)}) of source row ", unique_key)]
    table = quote(staged)
    for message, cols in groups:
        columns = ", ".join(quote(c) for c in cols)
        found = _repeat_candidates(con, table, columns)
        if found == 0:
            con.execute("DROP TABLE dup_candidates")
            continue
        con.execute(
            f"""UPDATE {table} AS s SET reason = ? || d.first_row
            FROM (SELECT {SOURCE_ROW}, min({SOURCE_ROW}) OVER (PARTITION BY {columns})
                  AS first_row FROM dup_candidates) AS d
            WHERE s.{SOURCE_ROW} = d.{SOURCE_ROW} AND d.first_row <> d.{SOURCE_ROW}""",
            [message])
        con.execute("DROP TABLE dup_candidates")
