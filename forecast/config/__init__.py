"""Typed configuration: YAML files become frozen, strict pydantic models.

Unknown keys are rejected (``extra="forbid"``) so that a typo in a config is an error, not a
silently ignored setting. Relative paths in a config file are resolved against the folder that
holds the file, so a config means the same thing from any working directory; ``${VAR}`` in a
path is expanded from the environment.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from pydantic import Field, field_validator, model_validator

from forecast.config.base import (
    Encoding,
    FileFormat,
    FilterOp,
    StrictModel,
    format_from_path,
)
from forecast.config.churn import CalibrationMethod, ChurnCandidate, ChurnConfig
from forecast.config.engine import EngineConfig, EngineKind, is_uri
from forecast.config.features import (
    CustomerFeaturesConfig,
    ExogenousTable,
    FeaturesConfig,
    Frequency,
    SeriesConfig,
    SeriesMeasure,
    SynthOptions,
)
from forecast.config.funnel import AttainmentConfig, FunnelConfig
from forecast.config.reports import ReportsConfig
from forecast.config.revenue import RevenueConfig
from forecast.config.sources import FilterSpec, LookupSpec, SourceConfig
from forecast.config.targets import TargetsConfig
from forecast.config.tiers import TiersConfig
from forecast.errors import ConfigError

__all__ = [
    "CalibrationMethod",
    "ChurnCandidate",
    "ChurnConfig",
    "Config",
    "CustomerFeaturesConfig",
    "Encoding",
    "EngineConfig",
    "EngineKind",
    "ExogenousTable",
    "FeaturesConfig",
    "FileFormat",
    "FilterOp",
    "FilterSpec",
    "Frequency",
    "FunnelConfig",
    "LookupSpec",
    "ReportsConfig",
    "RevenueConfig",
    "SeriesConfig",
    "SeriesMeasure",
    "SourceConfig",
    "StrictModel",
    "SynthOptions",
    "TargetsConfig",
    "TiersConfig",
    "format_from_path",
    "load_config",
    "parse_config",
]


class Config(StrictModel):
    """A job configuration: where the workspace is and what goes into it."""

    workspace: Path
    sources: tuple[SourceConfig, ...] = ()
    country: str | None = Field(None, description="ISO country code for holiday calendars")
    description: str = ""
    features: FeaturesConfig = Field(default_factory=FeaturesConfig)
    churn: ChurnConfig = Field(default_factory=ChurnConfig)
    revenue: RevenueConfig = Field(default_factory=RevenueConfig)
    tiers: TiersConfig = Field(default_factory=TiersConfig)
    targets: TargetsConfig = Field(default_factory=TargetsConfig)
    funnel: FunnelConfig = Field(default_factory=FunnelConfig)
    attainment: AttainmentConfig = Field(default_factory=AttainmentConfig)
    reports: ReportsConfig = Field(default_factory=ReportsConfig)
    engine: EngineConfig = Field(default_factory=EngineConfig)

    @field_validator("sources")
    @classmethod
    def _names_unique(cls, sources: tuple[SourceConfig, ...]) -> tuple[SourceConfig, ...]:
        names = [(s.table, s.source_name) for s in sources]
        dupes = {n for n in names if names.count(n) > 1}
        if dupes:
            raise ValueError(f"two sources share table and name: {sorted(dupes)}; set `name:`")
        return sources

    @field_validator("sources")
    @classmethod
    def _one_mode_per_table(cls, sources: tuple[SourceConfig, ...]
                            ) -> tuple[SourceConfig, ...]:
        for table in dict.fromkeys(s.table for s in sources):
            fed = [s for s in sources if s.table == table]
            modes = {s.mode: s.source_name for s in fed}
            if len(modes) > 1:
                raise ValueError(
                    f"table {table!r} is fed in mode append by {modes['append']!r} and in mode "
                    f"replace by {modes['replace']!r}; give every source of a table the same mode")
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

    def with_engine(self, kind: EngineKind | None) -> Config:
        """This config with its engine kind replaced (the CLI's ``--engine``)."""
        if kind is None:
            return self
        return self.model_copy(update={"engine": self.engine.model_copy(update={"kind": kind})})


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
    if isinstance(out.get("engine"), dict):
        out["engine"] = _resolve_engine_paths(out["engine"], resolve)
    return out


def _resolve_engine_paths(engine: dict[str, Any], resolve) -> dict[str, Any]:
    """The engine's exchange folder and Python files against the config's folder; a URI
    (``s3://``, ``dbfs:/``) stays as written."""
    engine = dict(engine)
    if isinstance(engine.get("exchange_dir"), str) and not is_uri(engine["exchange_dir"]):
        engine["exchange_dir"] = resolve(engine["exchange_dir"])
    if isinstance(engine.get("py_files"), list):
        engine["py_files"] = [resolve(p) if isinstance(p, str) and not is_uri(p) else p
                              for p in engine["py_files"]]
    return engine


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
