"""The file line each record of a CSV file starts on, so every row can be traced to its line.

DuckDB gives the good rows of a CSV in file order but not where they were; it names a rejected
(malformed) record by its record number, counting the header and blank lines but a record that
spans several lines (a quoted field holding a newline) only once. This module scans the file's
bytes once, in blocks and vectorised, to find where every record starts: a record ends at a
newline outside double quotes (RFC 4180: a quote inside a quoted field is doubled, so the parity
of the quotes before a newline tells inside from outside). Blank lines are records DuckDB skips.

The result is a :class:`LineMap`: the start line of every rejected record, and for the good
rows, in their order, a short list of segments ``(first good row, offset)`` with ``line = row +
offset``; the offset only changes after a blank line, a malformed record or a record spanning
lines, so the map stays small on any file.

When the scan does not agree with what DuckDB read (a dialect the scan does not follow, such as
a backslash-escaped quote), :func:`record_numbers` gives the fallback: DuckDB's record numbers,
which are the file lines whenever no record spans lines and no blank line precedes a row.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

_BLOCK = 8 << 20
_NEWLINE, _QUOTE, _CR = 10, 34, 13


@dataclass
class LineMap:
    """Where the records of a CSV file start.

    Attributes:
        segments: (first good row, offset) pairs, ascending; good row k (1-based, in file order)
            starts on line ``k + offset`` of the last segment whose first row is <= k.
        rejected: record number (as DuckDB counts) -> line the record starts on.
        good_rows: how many good rows the scan found.
        exact: the map comes from the scan (False: from DuckDB's record numbers alone).
    """

    segments: list[tuple[int, int]] = field(default_factory=list)
    rejected: dict[int, int] = field(default_factory=dict)
    good_rows: int = 0
    exact: bool = True


class _Scan:
    """State of the block-by-block scan (see the module docstring)."""

    def __init__(self, rejected: np.ndarray, quoted: bool):
        self.rejected = rejected
        self.quoted = quoted
        self.line = 1            # line the next byte is on
        self.record = 1          # DuckDB's number of the record being read (1 = the header)
        self.start_line = 1      # line the record being read starts on
        self.start = 0           # byte offset the record being read starts at
        self.inside = False      # inside a quoted field
        self.last_byte = -1      # last byte of the previous block
        self.map = LineMap()

    def block(self, data: np.ndarray, base: int) -> None:
        """Consume one block of bytes starting at file offset ``base``."""
        newlines = np.flatnonzero(data == _NEWLINE)
        if self.quoted:
            quotes = np.flatnonzero(data == _QUOTE)
            parity = (np.searchsorted(quotes, newlines) + int(self.inside)) & 1
            self.inside = bool((len(quotes) + int(self.inside)) & 1)
            ends = newlines[parity == 0]
            end_lines = self.line + np.flatnonzero(parity == 0)
        else:
            ends = newlines
            end_lines = self.line + np.arange(len(newlines))
        if len(ends):
            starts = np.concatenate(([self.start], ends[:-1] + base + 1))
            start_lines = np.concatenate(([self.start_line], end_lines[:-1] + 1))
            self._records(data, base, starts, ends + base, start_lines)
            self.start = int(ends[-1]) + base + 1
            self.start_line = int(end_lines[-1]) + 1
        self.line += len(newlines)
        if len(data):
            self.last_byte = int(data[-1])

    def finish(self, data_end: int, tail: np.ndarray) -> None:
        """Consume the last record when the file does not end with a newline."""
        if data_end > self.start:
            self._records(tail, data_end - len(tail), np.array([self.start]),
                          np.array([data_end]), np.array([self.start_line]))

    def _records(self, data: np.ndarray, base: int, starts: np.ndarray, ends: np.ndarray,
                 start_lines: np.ndarray) -> None:
        """Number the records [starts, ends) and file their start lines."""
        length = ends - starts
        before_end = ends - 1 - base
        last = np.where(before_end >= 0, data[np.clip(before_end, 0, None)], self.last_byte)
        blank = (length == 0) | ((length == 1) & (last == _CR))
        numbers = self.record + np.arange(len(starts))
        self.record += len(starts)
        data_rows = ~blank & (numbers >= 2)
        is_rejected = np.isin(numbers, self.rejected) & data_rows
        for number, line in zip(numbers[is_rejected], start_lines[is_rejected], strict=True):
            self.map.rejected[int(number)] = int(line)
        good_lines = start_lines[data_rows & ~is_rejected]
        rows = self.map.good_rows + 1 + np.arange(len(good_lines))
        offsets = good_lines - rows
        previous = self.map.segments[-1][1] if self.map.segments else None
        change = np.flatnonzero(np.diff(offsets, prepend=np.nan if previous is None
                                        else previous) != 0)
        self.map.segments += [(int(rows[i]), int(offsets[i])) for i in change]
        self.map.good_rows += len(good_lines)


def scan_lines(path: Path, rejected_records: list[int], quoted: bool = True) -> LineMap:
    """Scan a CSV file for the line every record starts on.

    Args:
        path: the file DuckDB read (UTF-8; a transcoded copy for GBK files).
        rejected_records: DuckDB's record numbers of the rejected records.
        quoted: the file uses double quotes to quote fields.
    """
    scan = _Scan(np.unique(np.asarray(rejected_records, dtype=np.int64)), quoted)
    base = 0
    data = np.empty(0, dtype=np.uint8)
    with open(path, "rb") as fh:
        while block := fh.read(_BLOCK):
            data = np.frombuffer(block, dtype=np.uint8)
            scan.block(data, base)
            base += len(data)
    scan.finish(base, data)
    return scan.map


def record_numbers(rejected_records: list[int], good_rows: int) -> LineMap:
    """The fallback map: DuckDB's record numbers, good rows numbered around the rejected ones."""
    line_map = LineMap(segments=[(1, 1)], good_rows=good_rows, exact=False)
    for i, number in enumerate(sorted(set(rejected_records)), start=1):
        line_map.rejected[number] = number
        first = number - i  # good rows before this record: number - 2 - (i - 1)
        if line_map.segments[-1][0] == first:
            line_map.segments[-1] = (first, 1 + i)
        else:
            line_map.segments.append((first, 1 + i))
    return line_map
