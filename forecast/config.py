"""Typed configuration: YAML files become frozen, strict pydantic models.

Unknown keys are rejected (``extra="forbid"``) so that a typo in a config is an error, not a
silently ignored setting. Relative paths in a config file are resolved against the folder that
holds the file, so a config means the same thing from any working directory; ``${VAR}`` in a
path is expanded from the environment.
"""

from __future__ import annotations

import os
from datetime import date
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from forecast.errors import ConfigError
from forecast.schemas import CANONICAL_TABLES, ColumnType

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
    date_format: str | None = Field(None, description="strptime format for every date column")
    date_formats: dict[str, str] = Field(default_factory=dict, description="per-column formats")
    thousands: str | None = Field(None, description="thousands separator to strip from numbers")
    derive_amount: bool = Field(False, description="amount = quantity x unit_price")
    required: list[str] = Field(default_factory=list, description="columns that must be non-empty")
    filters: list[FilterSpec] = Field(default_factory=list)
    constants: dict[str, str | float | bool] = Field(
        default_factory=dict, description="columns set to one value for every row"
    )
    lookups: list[LookupSpec] = Field(default_factory=list)
    unique_key: list[str] | None = Field(None, description="columns that identify a row")
    min_date: date = date(1900, 1, 1)
    max_date: date | None = Field(None, description="latest date allowed; default: today for "
                                  "past-only columns, 2100-12-31 otherwise")

    @property
    def source_name(self) -> str:
        return self.name or self.path.stem

    @property
    def file_format(self) -> FileFormat:
        return self.format or format_from_path(self.path)

    @property
    def is_canonical(self) -> bool:
        return self.table in CANONICAL_TABLES

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


Frequency = Literal["D", "W", "M", "Q"]
SeriesMeasure = Literal["revenue", "quantity", "orders", "margin"]


class ExogenousTable(StrictModel):
    """A warehouse table of dated values joined onto every series by date (e.g. Favorita's oil)."""

    table: str
    date_column: str = "date"
    columns: list[str] = Field(description="value columns to bring in")


class SeriesConfig(StrictModel):
    """How ``forecast features series`` cuts the orders into series."""

    grains: list[list[str]] = Field(
        default_factory=lambda: [[]],
        description="each grain is a list of level columns; [] is the company total",
    )
    freq: Frequency = "W"
    week_start: Literal["auto", "MON", "TUE", "WED", "THU", "FRI", "SAT", "SUN"] = Field(
        "auto", description="weekday weeks start on; auto: the one weekday all orders fall on "
        "(data that are already weekly), else Monday"
    )
    measures: list[SeriesMeasure] = Field(
        default_factory=lambda: ["revenue", "quantity", "orders", "margin"],
        description="measure columns of the frame (the target is always included)",
    )
    target: SeriesMeasure = Field("revenue", description="the measure that becomes `y`")
    margin_column: str | None = Field(
        None, description="order column holding the line margin or profit; default: "
        "amount - quantity x unit_cost where unit_cost is known"
    )
    exogenous: list[str] = Field(
        default_factory=list, description="numeric order columns averaged per period"
    )
    exogenous_tables: list[ExogenousTable] = Field(default_factory=list)
    holiday_table: str | None = Field(
        None, description="warehouse table with the data set's own holidays (date, description)"
    )
    stopped_after: int = Field(
        4, ge=1, description="a series with no activity in its last N periods is flagged stopped"
    )
    spring_festival_window: tuple[int, int] = Field(
        (14, 7), description="for CN: days before Chinese New Year (cny_before) and days of the "
        "festival from New Year's Day on (cny_window)"
    )


class CustomerFeaturesConfig(StrictModel):
    """How ``forecast features customers`` builds point-in-time customer snapshots."""

    horizon_days: int = Field(90, ge=1, description="churn = no order in [cutoff, cutoff + H)")
    cutoffs: list[date] = Field(default_factory=list)
    windows: list[int] = Field(
        default_factory=lambda: [30, 90, 180, 365],
        description="trailing windows (days) for order and revenue counts and their trends",
    )
    product_window_days: int = Field(
        90, ge=1, description="window (days) for recent vs previous product-line breadth"
    )

    @field_validator("windows")
    @classmethod
    def _windows_distinct_positive(cls, windows: list[int]) -> list[int]:
        if not windows or any(w < 1 for w in windows) or len(set(windows)) != len(windows):
            raise ValueError("windows must be a non-empty list of distinct positive day counts")
        return windows


class FeaturesConfig(StrictModel):
    """Feature builders' settings."""

    series: SeriesConfig = Field(default_factory=SeriesConfig)
    customers: CustomerFeaturesConfig = Field(default_factory=CustomerFeaturesConfig)


class SynthOptions(StrictModel):
    """Parameters of the synthetic company generator."""

    customers: int = Field(2000, ge=10, le=5_000_000)
    years: int = Field(3, ge=1, le=20)
    seed: int = Field(0, ge=0)
    end_date: date = Field(date(2026, 10, 31), description="last day with orders")
    formats: tuple[Literal["parquet", "csv"], ...] = ("parquet",)
    chunk_customers: int = Field(50_000, ge=1, description="customers generated per chunk")


ChurnCandidate = Literal["logistic", "gradient_boosting"]
CalibrationMethod = Literal["auto", "sigmoid", "isotonic", "none"]


class ChurnConfig(StrictModel):
    """How churn classifiers are trained, calibrated, thresholded and tiered.

    A snapshot table (``customer_id, cutoff, <features>, churned``) is validated in time: train on
    earlier cutoffs, validate on later ones. A table with ``label_column`` set (one row per
    customer, e.g. Telco's ``Churn``) is validated with stratified K-fold.
    """

    horizon_days: int = Field(90, ge=1, description="churn = no order in [cutoff, cutoff + H)")
    cutoffs: list[date] = Field(default_factory=list)
    label_column: str | None = Field(
        None, description="label column of a one-row-per-customer table; default `churned`"
    )
    positive_label: str = Field("Yes", description="value of a text label that means churned")
    id_column: str = "customer_id"
    drop_columns: list[str] = Field(
        default_factory=list, description="columns that are never features (keys, free text)"
    )
    candidates: list[ChurnCandidate] = Field(
        default_factory=lambda: ["logistic", "gradient_boosting"]
    )
    blend: bool = Field(True, description="also try the mean of the calibrated candidates")
    splines: bool = Field(True, description="spline terms for numeric features in the logistic")
    calibration: CalibrationMethod = Field("auto", description="auto = chosen on log-loss")
    cost_missed_churner: float = Field(5.0, gt=0, description="cost of a churner not acted on")
    cost_wasted_action: float = Field(1.0, gt=0, description="cost of acting on a stayer")
    tier_high: float = Field(0.5, gt=0, lt=1, description="churn_proba at or above is high")
    tier_medium: float = Field(0.2, gt=0, lt=1, description="churn_proba at or above is medium")
    capacity: int | None = Field(
        None, ge=1, description="if set, the N riskiest customers are high, overriding tier_high"
    )
    n_folds: int = Field(5, ge=2)
    validation_cutoffs: int = Field(2, ge=1, description="latest cutoffs used for validation")
    seed: int = Field(0, ge=0)

    @model_validator(mode="after")
    def _tiers_ordered(self) -> ChurnConfig:
        if self.tier_medium >= self.tier_high:
            raise ValueError("tier_medium must be below tier_high")
        if not self.candidates:
            raise ValueError("give at least one candidate model")
        return self


class Config(StrictModel):
    """A job configuration: where the workspace is and what goes into it."""

    workspace: Path
    sources: list[SourceConfig] = Field(default_factory=list)
    country: str | None = Field(None, description="ISO country code for holiday calendars")
    description: str = ""
    features: FeaturesConfig = Field(default_factory=FeaturesConfig)
    churn: ChurnConfig = Field(default_factory=ChurnConfig)

    @field_validator("sources")
    @classmethod
    def _names_unique(cls, sources: list[SourceConfig]) -> list[SourceConfig]:
        names = [(s.table, s.source_name) for s in sources]
        dupes = {n for n in names if names.count(n) > 1}
        if dupes:
            raise ValueError(f"two sources share table and name: {sorted(dupes)}; set `name:`")
        return sources

    @model_validator(mode="after")
    def _one_churn_horizon(self) -> Config:
        if self.churn.horizon_days != self.features.customers.horizon_days:
            raise ValueError(
                f"churn.horizon_days ({self.churn.horizon_days}) differs from "
                f"features.customers.horizon_days ({self.features.customers.horizon_days}): "
                "the label horizon and the validation gap must be the same; set both"
            )
        return self

    def with_workspace(self, workspace: Path | str | None) -> Config:
        """This config with its workspace replaced (the CLI's ``--workspace``)."""
        if workspace is None:
            return self
        return self.model_copy(update={"workspace": Path(workspace).resolve()})


def _expand(value: Any) -> Any:
    if isinstance(value, str):
        return os.path.expandvars(value)
    if isinstance(value, list):
        return [_expand(v) for v in value]
    if isinstance(value, dict):
        return {k: _expand(v) for k, v in value.items()}
    return value


def _resolve_paths(raw: dict[str, Any], base: Path) -> dict[str, Any]:
    def resolve(p: str) -> str:
        path = Path(p).expanduser()
        return str(path if path.is_absolute() else (base / path).resolve())

    out = dict(raw)
    if "workspace" in out and isinstance(out["workspace"], str):
        out["workspace"] = resolve(out["workspace"])
    sources = []
    for src in out.get("sources") or []:
        if isinstance(src, dict):
            src = dict(src)
            if isinstance(src.get("path"), str):
                src["path"] = resolve(src["path"])
            lookups = []
            for lk in src.get("lookups") or []:
                if isinstance(lk, dict) and isinstance(lk.get("path"), str):
                    lk = {**lk, "path": resolve(lk["path"])}
                lookups.append(lk)
            if lookups:
                src["lookups"] = lookups
        sources.append(src)
    if sources:
        out["sources"] = sources
    return out


def parse_config(raw: dict[str, Any], base_dir: Path, origin: str = "<config>") -> Config:
    """Build a :class:`Config` from a parsed YAML mapping, resolving paths against ``base_dir``."""
    from pydantic import ValidationError as PydanticValidationError

    if not isinstance(raw, dict):
        raise ConfigError(f"{origin}: expected a mapping at the top level")
    try:
        return Config.model_validate(_resolve_paths(_expand(raw), base_dir))
    except PydanticValidationError as exc:
        problems = []
        for err in exc.errors():
            where = ".".join(str(p) for p in err["loc"]) or "(top level)"
            msg = err["msg"]
            if err["type"] == "extra_forbidden":
                msg = "unknown key (check the spelling; see the config reference in the README)"
            problems.append(f"  {where}: {msg}")
        raise ConfigError(f"{origin}: invalid config\n" + "\n".join(problems)) from None


def load_config(path: Path | str) -> Config:
    """Read a YAML config file.

    Raises:
        ConfigError: the file is missing, is not YAML, or does not validate.
    """
    import yaml

    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"config file not found: {path}")
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from None
    return parse_config(raw or {}, path.resolve().parent, origin=str(path))
