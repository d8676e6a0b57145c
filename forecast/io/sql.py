"""The SQL helper: identifiers quoted in one place, values bound as parameters.

No value is written into SQL text. Identifiers (tables, columns) go in through :func:`quote`;
values (dates, labels, filter values, file paths, run keys) are bound parameters. A builder writes its text with a :class:`Params` at hand: ``p(value)`` keeps the
value and returns its placeholder (``$v1``), so the text reads as it runs (``f"order_date <
{p(cutoff)}"``), and ``p.query(text)`` gives the :class:`Query`, the text with the values it
names, run as ``con.execute(*query)``. DuckDB binds the values before it optimises, so a date
test against a parameter still skips row groups as a constant in the text did.

Numbers formatted by ``int()`` or ``float()`` may stay in the text: they cannot carry a quote,
and DuckDB types them as the literals they are (``0.2 * n`` is DECIMAL arithmetic, exact, where
a DOUBLE parameter would not be).

Three statements cannot take a parameter for a file on every DuckDB the project supports
(``duckdb>=1.1``): ``CREATE VIEW`` (a view's text is stored; no DuckDB prepares it), ``ATTACH``
(parameters from DuckDB 2.0 only) and ``COPY ... TO`` (from 1.4 only). Their file name goes
through :func:`path_literal`, the one function that writes a value into SQL text.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import NamedTuple

# A ``$name`` placeholder (group 1), or a quoted string or name, whose ``$`` is none (``'$5'``,
# ``"price$usd"``); a ``$`` inside a word is none either.
_TOKEN = re.compile(r"""'(?:[^']|'')*'|"(?:[^"]|"")*"|(?<!\w)\$([A-Za-z_][A-Za-z0-9_]*)""")


def quote(identifier: str) -> str:
    """Quote an identifier (a table or column name) for DuckDB SQL."""
    return '"' + identifier.replace('"', '""') + '"'


class Query(NamedTuple):
    """SQL text and the values of its ``$name`` placeholders: ``con.execute(*query)``."""

    sql: str
    params: dict[str, object]


def as_query(statement: str | Query) -> Query:
    """A statement as a :class:`Query`: text without placeholders gets no values."""
    return statement if isinstance(statement, Query) else Query(statement, {})


def bound(sql: str, values: Mapping[str, object]) -> Query:
    """``sql`` with those of ``values`` its placeholders name (DuckDB refuses a value the text
    does not use)."""
    used = {m.group(1) for m in _TOKEN.finditer(sql) if m.group(1)}
    return Query(sql, {name: value for name, value in values.items() if name in used})


def _key(value: object) -> tuple[type, object] | None:
    """What makes two values one parameter: the same type and value (None when unhashable)."""
    try:
        hash(value)
    except TypeError:
        return None
    return type(value), value


class Params:
    """The values of one statement, each bound by name instead of pasted into its text.

    Calling it with a value keeps the value and returns its placeholder; the same value (of the
    same type) gets the same placeholder, so a cutoff used ten times is bound once.

    Args:
        values: values a statement already names (see :meth:`embed` to take in another
            statement's values under new names).
    """

    def __init__(self, values: Mapping[str, object] | None = None) -> None:
        self._values: dict[str, object] = dict(values or {})
        self._names: dict[tuple[type, object], str] = {}

    def __call__(self, value: object) -> str:
        key = _key(value)
        name = self._names.get(key) if key is not None else None
        if name is None:
            count = len(self._values) + 1
            while f"v{count}" in self._values:
                count += 1
            name = f"v{count}"
            self._values[name] = value
            if key is not None:
                self._names[key] = name
        return f"${name}"

    def embed(self, query: Query) -> str:
        """The text of ``query``, to put inside a larger statement, with its values taken into
        these params (renamed where needed, so two statements' ``$v1`` do not clash)."""
        names = {name: self(value) for name, value in query.params.items()}
        return _TOKEN.sub(lambda m: names.get(m.group(1) or "", m.group(0)), query.sql)

    def query(self, sql: str) -> Query:
        """The statement ``sql`` with the values its placeholders name."""
        return bound(sql, self._values)


def path_literal(path: Path | str) -> str:
    """A file path as a SQL string literal, for the three statements that take no parameter
    for it (``CREATE VIEW``, ``ATTACH``, ``COPY ... TO``; see the module docstring); a quote in
    the path is doubled. Everything else binds paths as parameters (``read_csv($path)``)."""
    return "'" + Path(path).as_posix().replace("'", "''") + "'"


def exact_sum(expr: str, where: str | None = None) -> str:
    """SQL of ``sum(expr)`` that gives the same double whatever order the rows are added in.

    DuckDB adds doubles in the order its threads meet the rows, so a parallel sum can differ in
    the last bits from one run to the next. Each value is rounded to 1e-9 and added as a
    DECIMAL, which is exact, so the total is the same on every run. A group holding a value no
    DECIMAL(38, 9) can hold (NaN, an infinity, beyond 1e29) sums as doubles instead, so a
    non-finite amount still shows as non-finite, never as a number."""
    only = f" FILTER (WHERE {where})" if where else ""
    exact = f"TRY_CAST({expr} AS DECIMAL(38, 9))"
    return (f"CASE WHEN count({expr}){only} = count({exact}){only} "
            f"THEN CAST(sum({exact}){only} AS DOUBLE) ELSE sum({expr}){only} END")
