"""Rows that two sources of one table both hold: exports that overlap, counted twice.

A table fed by several files (a file per year, per month, per shop) is read as their union.
When two exports overlap (the second starts on the last day of the first, or the same file is
listed twice under two names) the rows of the overlap would load twice and double that
stretch's revenue without a word. Each source is compared with the sources of the same table
staged before it, on the columns they share (NULLs equal):

- with a ``unique_key``, a row whose key an earlier source loaded is quarantined, as
  ``duplicate of source 'x' row N`` when every shared column repeats, else ``duplicate key
  (k) of source 'x' row N``, as repeats within one file are (a source in ``append`` mode is
  refused instead, as for keys of earlier loads: :mod:`forecast.io.load`);
- without one, such rows load (two shops' files may hold equal rows) and are counted per
  earlier source in ``SourceSummary.repeated_rows``, which the ingest summary shows with what
  to do.

The comparison is a hash semi-join on the good rows only (``reason = ''``).
"""

from __future__ import annotations

import logging

import duckdb

from forecast.io.staged import StagedSource
from forecast.io.warehouse import quote
from forecast.schemas import SOURCE_ROW

log = logging.getLogger(__name__)


def _earlier(item: StagedSource, earlier: list[StagedSource]) -> list[StagedSource]:
    return [e for e in earlier if e.source.table == item.source.table]


def _match(columns: list[str]) -> str:
    return " AND ".join(f"l.{quote(c)} IS NOT DISTINCT FROM e.{quote(c)}" for c in columns)


def quarantine_repeated_keys(con: duckdb.DuckDBPyConnection, item: StagedSource,
                             earlier: list[StagedSource]) -> None:
    """Quarantine the good rows of ``item`` (a source with a ``unique_key``) whose key a good
    row of an earlier source of the same table holds."""
    key = list(item.source.unique_key or ())
    for other in _earlier(item, earlier):
        if not set(key) <= set(other.columns):
            continue
        shared = [c for c in item.columns if c in other.columns]
        name = other.source.source_name
        keyed = f"duplicate key ({', '.join(key)}) of source {name!r} row "
        for columns, message in ((shared, f"duplicate of source {name!r} row "), (key, keyed)):
            con.execute(
                f"""UPDATE {quote(item.staged)} AS l SET reason = ? || e.first_row
                FROM (SELECT {', '.join(quote(c) for c in columns)},
                             min({SOURCE_ROW}) AS first_row
                      FROM {quote(other.staged)} WHERE reason = '' GROUP BY ALL) AS e
                WHERE l.reason = '' AND {_match(columns)}""", [message])


def repeated_rows(con: duckdb.DuckDBPyConnection, item: StagedSource,
                  earlier: list[StagedSource]) -> dict[str, int]:
    """Per earlier source of the same table, how many good rows of ``item`` repeat one of its
    good rows in every column the two share (they load); sources with none are left out."""
    out = {}
    for other in _earlier(item, earlier):
        shared = [c for c in item.columns if c in other.columns]
        n = con.execute(
            f"""SELECT count(*) FROM {quote(item.staged)} AS l
            SEMI JOIN (SELECT * FROM {quote(other.staged)} WHERE reason = '') AS e
            ON {_match(shared)} WHERE l.reason = ''""").fetchone()[0]
        if n:
            out[other.source.source_name] = int(n)
            log.warning("%s: %d row(s) repeat rows of source %r of table %s in every column; "
                        "they load (overlapping files count them twice): set unique_key to "
                        "quarantine them", item.source.source_name, n,
                        other.source.source_name, item.source.table)
    return out
