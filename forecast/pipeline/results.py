"""Typed run summaries: what the pipeline's steps return, and their JSON form.

Every step returns a frozen dataclass deriving from :class:`Result`; the command line prints
its attributes, or with ``--json`` the dict of :meth:`Result.to_json`, and the chain records the
files it names (:meth:`Result.output_files`). The classes sit beside the functions that return
them; the ones two modules share are here: :class:`ReportResult` (the monthly and risk reports)
and :class:`ChainResult` (``forecast run`` and the demo).

Fields are typed; nested tables (rows of a frame, scores per model, counts per tier) stay lists
of dicts or mappings, as the layer below hands them over.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields, is_dataclass
from typing import Any


def plain(value: Any) -> Any:
    """``value`` as JSON values, the way ``json.dumps(value, default=str)`` writes it.

    Results and other dataclasses become dicts of their fields in declaration order (an object
    with its own ``to_dict``, such as the ingest's source summaries, by that method); mappings
    keep their keys and order; lists and tuples become lists; strings, numbers, booleans and
    None stay; anything else (a date, a path, a NumPy integer) becomes its ``str``.
    """
    if isinstance(value, Result):
        return value.to_json()
    if is_dataclass(value) and not isinstance(value, type):
        if callable(getattr(value, "to_dict", None)):
            return plain(value.to_dict())
        return {f.name: plain(getattr(value, f.name)) for f in fields(value)}
    if isinstance(value, Mapping):
        return {key: plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [plain(item) for item in value]
    if value is None or isinstance(value, str | int | float):
        return value
    return str(value)


class Result:
    """What every step's summary can do; subclasses are frozen dataclasses."""

    def to_json(self) -> dict[str, Any]:
        """The summary as one JSON object: its fields in declaration order, as plain values
        (see :func:`plain`); what ``--json`` prints."""
        return {f.name: plain(getattr(self, f.name)) for f in fields(self)}

    def output_files(self) -> tuple[str, ...]:
        """The files this run wrote that the chain lists (a report's files); none by default."""
        return ()


@dataclass(frozen=True)
class ReportResult(Result):
    """What ``forecast report monthly|risk`` did.

    Attributes:
        report: ``monthly`` or ``risk``.
        month: the report month (``YYYY-MM``; None for the risk report).
        lang: the report's language.
        data_through: the last day of the orders (ISO date).
        sections: section key -> ``ok`` or ``omitted``, in the report's order.
        omitted: the keys of the sections left out for lack of data.
        headline: the headline metrics of the revenue, at-risk and concentration sections.
        problems: the findings of the problems section.
        files: format -> path of each file written.
        seconds: wall time.
    """

    report: str
    month: str | None
    lang: str
    data_through: str
    sections: Mapping[str, str]
    omitted: Sequence[str]
    headline: Mapping[str, Any]
    problems: Sequence[str]
    files: Mapping[str, str]
    seconds: float

    def output_files(self) -> tuple[str, ...]:
        return tuple(self.files.values())


@dataclass(frozen=True)
class ChainResult(Result):
    """What ``forecast run`` did.

    Attributes:
        workspace: the workspace folder.
        steps: per step, in the order run, a record: ``step``, ``status`` (``ran``,
            ``unchanged``, ``not applicable``) and, as they apply, ``reason``, ``seconds``,
            ``summary`` (the step's own summary, as JSON), ``missing`` and ``removed`` (see
            :func:`forecast.pipeline.chain.run_chain`).
        reports: the report files the run's report steps name.
        seconds: wall time.
    """

    workspace: str
    steps: Sequence[Mapping[str, Any]]
    reports: Sequence[str]
    seconds: float
