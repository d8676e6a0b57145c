"""Shared pieces of the config models: the strict base class and file formats."""

from __future__ import annotations

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


class StrictModel(BaseModel):
    """Base for every config model: immutable, and unknown keys are errors."""

    model_config = ConfigDict(extra="forbid", frozen=True)

