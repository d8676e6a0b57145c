"""Shared pieces of the config models: the strict base class, file formats and date formats."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict

from forecast.errors import ConfigError

FileFormat = Literal["csv", "xlsx", "parquet"]
Encoding = Literal["auto", "utf-8", "utf-8-sig", "gbk", "gb18030"]
FilterOp = Literal[
    "eq", "ne", "in", "not_in", "gt", "ge", "lt", "le",
    "is_null", "not_null", "starts_with", "not_starts_with",
]


_FORMATS: dict[str, FileFormat] = {
    ".csv": "csv", ".txt": "csv", ".tsv": "csv", ".xlsx": "xlsx", ".parquet": "parquet"
}


def format_from_path(path: Path) -> FileFormat:
    """The file format a path's extension stands for.

    Raises:
        ConfigError: the extension is not one forecast reads.
    """
    suffix = path.suffix.lower()
    if suffix not in _FORMATS:
        raise ConfigError(
            f"{path}: cannot tell the format from the extension {suffix!r}; "
            "set `format:` to csv, xlsx or parquet"
        )
    return _FORMATS[suffix]


_DIRECTIVE = re.compile(r"%-?.?")
# The date_format of dates written as spreadsheet day numbers (45292 is 2024-01-01): days since
# 1899-12-30, a fraction of a day for the time, as Excel and Google Sheets count them.
EXCEL_DAYS = "excel"
EXCEL_EPOCH = date(1899, 12, 30)


def date_format_problem(fmt: str) -> str | None:
    """What is wrong with a strptime format, as DuckDB reads it; None when it is usable (or
    ``excel``: spreadsheet day numbers).

    A format without any ``%`` directive (``YYYY-MM-DD``) matches no date, and a directive DuckDB
    does not know (``%Q``) fails the whole ingest, so both are named here.
    """
    import duckdb

    if fmt == EXCEL_DAYS:
        return None
    directives = _DIRECTIVE.findall(fmt)
    if not directives:
        return (f"date_format {fmt!r} has no % directive, so no date can match it; "
                'write it with directives, e.g. "%Y-%m-%d" or "%d/%m/%Y" (or "excel" for '
                "spreadsheet day numbers such as 45292)")
    con = duckdb.connect()
    try:
        for directive in [fmt, *directives]:
            try:
                con.execute("SELECT try_strptime('', ?)", [directive])
            except duckdb.Error as exc:
                if directive == fmt:
                    reason = str(exc).split(": ")[-1]
                    continue
                return (f"date_format {fmt!r}: {directive!r} is not a strptime directive "
                        "(use e.g. %Y %m %d %H %M %S; see DuckDB's format specifiers)")
            else:
                if directive == fmt:
                    return None
        return f"date_format {fmt!r}: {reason}"
    finally:
        con.close()


class StrictModel(BaseModel):
    """Base for every config model: immutable, and unknown keys are errors."""

    model_config = ConfigDict(extra="forbid", frozen=True)

