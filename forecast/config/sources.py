"""Config of sources: how one file becomes rows of one warehouse table."""

from __future__ import annotations

import math
from datetime import date
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from forecast.config.base import (
    Encoding,
    FileFormat,
    FilterOp,
    StrictModel,
    date_format_problem,
    format_from_path,
)
from forecast.schemas import CANONICAL_TABLES, ColumnType


def _non_finite(value: Any) -> bool:
    return isinstance(value, float) and not math.isfinite(value)


class FilterSpec(StrictModel):
    """Keep only source rows for which ``column op value`` holds; the rest are quarantined."""

    column: str
    op: FilterOp
    value: Any = None

    @model_validator(mode="after")
    def _value_matches_op(self) -> FilterSpec:
        if self.op in ("is_null", "not_null"):
            if self.value is not None:
                raise ValueError(f"filter op {self.op!r} takes no value")
        elif self.op in ("in", "not_in"):
            if not isinstance(self.value, list) or not self.value:
                raise ValueError(f"filter op {self.op!r} needs a non-empty list as value")
        elif self.value is None:
            raise ValueError(f"filter op {self.op!r} needs a value")
        values = self.value if isinstance(self.value, list) else [self.value]
        if any(_non_finite(v) for v in values):
            raise ValueError(
                f"filter value {self.value!r} is not a finite number: compare with a finite "
                "number, or use op is_null / not_null for missing values"
            )
        return self


class LookupSpec(StrictModel):
    """A second file joined onto a source by a key, to bring in attributes it lacks.

    Example: Favorita's ``stores.csv`` gives each store's state and city.
    """

    path: Path
    left_on: str = Field(description="column of the main source holding the key")
    right_on: str | None = Field(
        None, description="key column of the lookup file; defaults to `left_on`"
    )
    columns: dict[str, str] = Field(description="new column name -> lookup file column")
    encoding: Encoding = "auto"


class SourceConfig(StrictModel):
    """How one file becomes rows of one warehouse table."""

    table: str = Field(description="canonical table (orders, customers, ...) or a new table name")
    path: Path
    name: str | None = Field(None, description="source name used for lineage; default file stem")
    format: FileFormat | None = Field(None, description="inferred from the file extension")
    encoding: Encoding = "auto"
    delimiter: str | None = None
    sheet: str | int | None = Field(None, description="Excel sheet name or index")
    columns: dict[str, str] = Field(description="canonical column -> source column")
    types: dict[str, ColumnType] = Field(
        default_factory=dict, description="types of columns that are not canonical"
    )
    date_format: str | None = Field(None, description="strptime format for every date column, "
                                    'or "excel" for spreadsheet day numbers (45292 = 2024-01-01)')
    date_formats: dict[str, str] = Field(default_factory=dict, description="per-column formats")
    thousands: str | None = Field(None, description="thousands separator to strip from numbers")
    decimal: Literal[".", ","] = Field(
        ".", description="decimal separator of numbers written as text: \",\" for files that "
        "write 1.234,50 (with `thousands: \".\"`)")
    currency_symbol: str | None = Field(
        None, min_length=1, description="currency symbol written before or after numbers "
        "($1,234.50, 12,50 €), removed before they are read; numbers carrying any other "
        "symbol are quarantined, so amounts in two currencies are never added up")
    derive_amount: bool = Field(False, description="amount = quantity x unit_price")
    money_decimals: int = Field(
        2, ge=0, le=6, description="decimals of the currency's smallest unit: amounts of money "
        "(amount, target) are rounded to them at ingest; 2 for cents, 0 for yen or won")
    required: tuple[str, ...] = Field((), description="columns that must be non-empty")
    filters: tuple[FilterSpec, ...] = ()
    constants: dict[str, str | float | bool] = Field(
        default_factory=dict, description="columns set to one value for every row"
    )
    lookups: tuple[LookupSpec, ...] = ()
    unique_key: tuple[str, ...] | None = Field(None, description="columns that identify a row")
    min_date: date = date(1900, 1, 1)
    max_date: date | None = Field(None, description="latest date allowed; default: today for "
                                  "past-only columns, 2100-12-31 otherwise")
    allow_empty: bool = Field(
        False,
        description="the source may load no rows (a header-only file, or every row quarantined "
        "or filtered out); otherwise that is an error naming the likely cause",
    )
    mode: Literal["replace", "append"] = Field(
        "replace", description="replace: every ingest loads the table afresh from the config's "
        "files; append: adds this file's rows to the earlier loads and refuses keys they hold "
        "(needs unique_key)")

    @property
    def source_name(self) -> str:
        return self.name or self.path.stem

    @property
    def file_format(self) -> FileFormat:
        return self.format or format_from_path(self.path)

    @property
    def is_canonical(self) -> bool:
        return self.table in CANONICAL_TABLES

    @property
    def output_columns(self) -> list[str]:
        """The columns this source gives its table: mapped, from lookups, constants, derived."""
        names = list(self.columns)
        names += [c for lk in self.lookups for c in lk.columns if c not in names]
        names += [c for c in self.constants if c not in names]
        if self.derive_amount and "amount" not in names:
            names.append("amount")
        return names

    @field_validator("constants")
    @classmethod
    def _constants_finite(cls, constants: dict[str, Any]) -> dict[str, Any]:
        bad = {k: v for k, v in constants.items() if _non_finite(v)}
        if bad:
            raise ValueError(f"constant(s) {bad} are not a finite number")
        return constants

    @field_validator("date_format")
    @classmethod
    def _date_format_usable(cls, fmt: str | None) -> str | None:
        problem = date_format_problem(fmt) if fmt is not None else None
        if problem:
            raise ValueError(problem)
        return fmt

    @field_validator("date_formats")
    @classmethod
    def _date_formats_usable(cls, formats: dict[str, str]) -> dict[str, str]:
        for column, fmt in formats.items():
            problem = date_format_problem(fmt)
            if problem:
                raise ValueError(f"date_formats.{column}: {problem}")
        return formats

    @model_validator(mode="after")
    def _named_columns_exist(self) -> SourceConfig:
        """Every column named by required, unique_key, types and date_formats is one the source
        gives (a typo would otherwise be ignored, or fail deep inside the SQL)."""
        found = self.output_columns
        for option, names in (("required", self.required), ("unique_key", self.unique_key or []),
                              ("types", list(self.types)),
                              ("date_formats", list(self.date_formats))):
            unknown = [n for n in names if n not in found]
            if unknown:
                raise ValueError(
                    f"{option}: {', '.join(repr(n) for n in unknown)} "
                    f"{'is not a column' if len(unknown) == 1 else 'are not columns'} of this "
                    f"source; columns found: {', '.join(found)} (the names under `columns:`, "
                    "lookups, constants and derive_amount)"
                )
        return self

    @model_validator(mode="after")
    def _columns_are_known(self) -> SourceConfig:
        if self.is_canonical:
            table = CANONICAL_TABLES[self.table]
            provided = set(self.columns) | set(self.constants)
            if self.derive_amount:
                if not {"quantity", "unit_price"} <= set(self.columns):
                    raise ValueError("derive_amount needs both quantity and unit_price mapped")
                provided.add("amount")
            missing = [c for c in table.required if c not in provided]
            if missing:
                raise ValueError(
                    f"table {self.table!r} needs column(s) {missing} mapped; "
                    f"canonical columns are {list(table.column_names)}"
                )
            extra = set(self.columns) - set(table.column_names) - set(self.types)
            lookup_cols = {c for lk in self.lookups for c in lk.columns}
            extra -= lookup_cols
            if extra:
                raise ValueError(
                    f"column(s) {sorted(extra)} are not canonical for table {self.table!r}: "
                    f"give their type under `types:` or use one of {list(table.column_names)}"
                )
        else:
            untyped = (set(self.columns) | {c for lk in self.lookups for c in lk.columns}) - set(
                self.types
            )
            if untyped:
                raise ValueError(
                    f"table {self.table!r} is not canonical: give the type of {sorted(untyped)} "
                    "under `types:`"
                )
        return self

    @model_validator(mode="after")
    def _separators_differ(self) -> SourceConfig:
        if self.thousands is not None and self.thousands == self.decimal:
            raise ValueError(f"thousands and decimal are both {self.decimal!r}: a number such as "
                             f"1{self.decimal}234 could not be read; give different separators")
        symbol = self.currency_symbol
        if symbol is not None and (symbol.strip() != symbol or any(
                c.isdigit() or c in ".,+-" for c in symbol)):
            raise ValueError(f"currency_symbol {symbol!r} must be the sign alone ($, €, EUR), "
                             "without digits, separators, signs or spaces")
        return self

    @model_validator(mode="after")
    def _append_has_a_key(self) -> SourceConfig:
        if self.mode == "append" and not self.unique_key:
            raise ValueError("mode 'append' needs `unique_key:` (the columns that identify a "
                             "row), so rows an earlier load already holds can be refused")
        return self

