"""The ``engine:`` section: where per-series fits and batch scoring run."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import Field, field_validator

from forecast.config.base import StrictModel

EngineKind = Literal["local", "spark"]
_LOCAL_MASTER = re.compile(r"^local(\[(\*|\d+)(,\s*\d+)?\])?$")
# A scheme such as s3://, abfss://, dbfs:/ or file:/ (not a Windows drive letter).
_URI = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]+:/")


def is_local_master(master: str) -> bool:
    """True for ``local``, ``local[N]``, ``local[*]`` (and ``local[N, retries]``)."""
    return bool(_LOCAL_MASTER.match(master.strip()))


def is_uri(path: str) -> bool:
    """True for a path with a scheme (``s3://bucket/x``, ``dbfs:/x``), which is left as written."""
    return bool(_URI.match(path))


class EngineConfig(StrictModel):
    """How ``train revenue``, ``predict revenue`` and ``score churn`` run their per-series and
    per-batch work (the CLI's ``--engine`` overrides ``kind``).

    ``local`` is this machine (processes for per-series fits, threads for scoring chunks).
    ``spark`` runs them on a Spark session: ``master`` ``local[N]``, a cluster (``spark://host:7077``,
    ``yarn``) or a Spark Connect server (``sc://host:15002``; or ``connect: true`` with a local
    master, which starts a local Connect server). Data moves as Parquet through ``exchange_dir``,
    which executors must be able to read and write (a shared path or ``s3://``, ``abfss://``,
    ``dbfs:/`` on a cluster).
    """

    kind: EngineKind = "local"
    master: str = Field("local[*]", description="Spark master URL: local[N], spark://..., "
                        "yarn, or a Spark Connect sc://... URL")
    connect: bool = Field(False, description="use Spark Connect (implied by an sc:// master)")
    exchange_dir: str | None = Field(
        None, description="folder for the Parquet files Spark reads and writes; default "
        "<workspace>/exchange (a cluster needs a shared path or s3://, abfss://, dbfs:/)")
    partitions: int | None = Field(
        None, ge=1, description="partitions of per-series and scoring work; default 3 x the "
        "cores of a local master, else spark.sql.shuffle.partitions")
    py_files: tuple[str, ...] = Field(
        (), description="wheels or zip files the executors import (the forecast wheel on a "
        "cluster whose Python lacks it): spark.submit.pyFiles, or addArtifacts with Connect")
    app_name: str = "forecast"
    conf: dict[str, str] = Field(
        default_factory=dict, description="extra Spark settings (spark.executor.memory ...); "
        "they win over forecast's own")

    @field_validator("conf", mode="before")
    @classmethod
    def _conf_as_text(cls, conf: object) -> object:
        if isinstance(conf, dict):
            return {str(k): str(v).lower() if isinstance(v, bool) else str(v)
                    for k, v in conf.items()}
        return conf

    @property
    def remote(self) -> bool:
        """A Spark Connect session."""
        return self.connect or self.master.startswith("sc://")

    @property
    def local_master(self) -> bool:
        """Spark runs on this machine (so its Python workers use this Python)."""
        return is_local_master(self.master)
