"""Every step's summary is a frozen dataclass whose ``to_json()`` is plain JSON.

The result classes are found, not listed: every subclass of ``Result`` in ``forecast.pipeline``.
Each is built from its type hints with a sample value per field, so a new result class is
checked the day it is added.
"""

from __future__ import annotations

import dataclasses
import importlib
import json
import pkgutil
import types
import typing
from collections.abc import Mapping, Sequence
from datetime import date
from pathlib import Path

import numpy as np
import pytest

import forecast.pipeline
from forecast.pipeline.results import ChainResult, ReportResult, Result, plain


def _result_classes() -> list[type[Result]]:
    for info in pkgutil.iter_modules(forecast.pipeline.__path__):
        importlib.import_module(f"forecast.pipeline.{info.name}")
    found, todo = [], list(Result.__subclasses__())
    while todo:
        cls = todo.pop()
        todo.extend(cls.__subclasses__())
        if cls.__module__.startswith("forecast.pipeline."):
            found.append(cls)
    return sorted(found, key=lambda c: (c.__module__, c.__name__))


RESULTS = _result_classes()


def _sample(hint: object) -> object:
    """A value of the type ``hint``: a string, a number, a one-item container, a dataclass."""
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        return _sample(next(a for a in args if a is not type(None)))
    if origin is not None and isinstance(origin, type) and issubclass(origin, Mapping):
        return {"key": _sample(args[1] if args else str)}
    if origin is not None and isinstance(origin, type) and issubclass(origin, Sequence):
        return [_sample(args[0] if args else str)]
    if dataclasses.is_dataclass(hint):
        return _build(hint)
    return {str: "text", int: 3, float: 0.25, bool: True}.get(hint, "any")


def _build(cls: type) -> object:
    hints = typing.get_type_hints(cls)
    return cls(**{f.name: _sample(hints[f.name]) for f in dataclasses.fields(cls)})


def test_the_pipeline_has_a_result_class_per_step():
    names = {cls.__name__ for cls in RESULTS}
    assert {"SynthResult", "CheckResult", "IngestResult", "SeriesResult", "SnapshotsResult",
            "RevenueTrainResult", "RevenuePredictResult", "ChurnTrainResult",
            "ChurnScoreResult", "TiersResult", "TargetsResult", "FunnelResult",
            "AttainmentResult", "ReportResult", "ChainResult", "DemoResult"} <= names


@pytest.mark.parametrize("cls", RESULTS, ids=lambda c: c.__name__)
def test_every_result_is_a_frozen_dataclass_whose_json_round_trips(cls):
    assert dataclasses.is_dataclass(cls) and cls.__dataclass_params__.frozen, cls
    result = _build(cls)
    with pytest.raises(dataclasses.FrozenInstanceError):
        setattr(result, dataclasses.fields(cls)[0].name, None)
    payload = result.to_json()
    assert list(payload) == [f.name for f in dataclasses.fields(cls)]
    assert json.loads(json.dumps(payload)) == payload
    assert all(isinstance(f, str) for f in result.output_files())


def test_plain_writes_what_json_dumps_with_default_str_wrote():
    value = {"day": date(2026, 10, 31), "path": Path("/w/x.csv"), "count": np.int64(4),
             "share": np.float64(0.5), "rows": ({"a": None},), "flag": True}
    assert json.dumps(plain(value)) == json.dumps(value, default=str)


def test_nested_results_and_summaries_with_to_dict_become_their_json():
    report = ReportResult("risk", None, "en", "2026-10-31", {"summary": "ok"}, [], {}, [],
                          {"html": "/w/r.html"}, 0.1)
    chain = ChainResult("/w", [{"step": "risk report", "status": "ran", "summary": report}],
                        ["/w/r.html"], 0.2)
    assert chain.to_json()["steps"][0]["summary"] == report.to_json()
    assert report.output_files() == ("/w/r.html",)

    @dataclasses.dataclass
    class Named:
        name: str

        def to_dict(self) -> dict:
            return {"name": self.name, "upper": self.name.upper()}

    assert plain([Named("a")]) == [{"name": "a", "upper": "A"}]
