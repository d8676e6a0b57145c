"""A source staged for loading and the summary of its rows: what the ingest hands the loader."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from forecast.config import SourceConfig
from forecast.io.readers import ReadResult


@dataclass
class SourceSummary:
    """What happened to one source's rows.

    ``identical_rows`` counts loaded rows that repeat an earlier loaded row in every column:
    without a ``unique_key`` they load (repeat purchases are real), and the count shows them.
    ``repeated_rows``: per earlier source of the same table, the loaded rows that repeat one of
    its rows in every shared column (overlapping exports, see :mod:`forecast.io.overlap`).
    """

    table: str
    source: str
    path: str
    encoding: str
    rows_read: int
    rows_loaded: int
    rows_quarantined: int
    identical_rows: int = 0
    repeated_rows: dict[str, int] = field(default_factory=dict)
    reasons: dict[str, int] = field(default_factory=dict)
    sample: list[dict[str, object]] = field(default_factory=list)

    @property
    def reconciled(self) -> bool:
        return self.rows_read == self.rows_loaded + self.rows_quarantined

    def to_dict(self) -> dict[str, object]:
        return {**asdict(self), "reconciled": self.reconciled}


@dataclass
class StagedSource:
    """A source read and staged in the scratch database, ready to load, with its summary."""

    source: SourceConfig
    read: ReadResult
    staged: str
    columns: list[str]
    summary: SourceSummary
