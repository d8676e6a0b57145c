"""The report document: plain dicts of sections, metrics, tables and charts.

Builders produce this structure and every renderer (HTML, Markdown, JSON, Excel) reads it, so a
number exists once. Values stay raw (floats, ints, ISO dates); each metric and column carries a
``kind`` (see :data:`forecast.reports.i18n.Kind`) that tells renderers how to format it.

A section::

    {"key", "title", "status": "ok" | "omitted", "note", "paragraphs": [str],
     "metrics": [{"key", "label", "value", "kind"}],
     "tables": [{"key", "title", "columns": [{"key", "label", "kind"[, "labels"]}],
                 "rows": [dict]}],
     "charts": [{"kind", "key", "title", ...chart data}]}
"""

from __future__ import annotations

import math
from datetime import date, datetime
from typing import Any

import numpy as np
import pandas as pd


def clean(value: Any) -> Any:
    """A JSON-safe scalar: NaN -> None, numpy -> Python, dates -> ISO text."""
    if value is None or value is pd.NaT:
        return None
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, pd.Timestamp | datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return value


def metric(key: str, label: str, value: Any, kind: str) -> dict:
    """One headline number."""
    return {"key": key, "label": label, "value": clean(value), "kind": kind}


def column(key: str, label: str, kind: str = "text", labels: dict[str, str] | None = None
           ) -> dict:
    """One table column; ``labels`` maps raw values to what the reader sees (the rows keep the
    raw values), for values whose name depends on the report (key accounts, model names)."""
    out = {"key": key, "label": label, "kind": kind}
    if labels:
        out["labels"] = dict(labels)
    return out


def table(key: str, title: str, columns: list[dict], rows: pd.DataFrame | list[dict],
          note: str = "") -> dict:
    """A table; ``rows`` keeps only the columns named in ``columns``."""
    keys = [c["key"] for c in columns]
    records = rows.to_dict("records") if isinstance(rows, pd.DataFrame) else list(rows)
    out_rows = [{k: clean(r.get(k)) for k in keys} for r in records]
    return {"key": key, "title": title, "columns": columns, "rows": out_rows, "note": note}


def section(key: str, title: str, *, paragraphs: list[str] | None = None,
            metrics: list[dict] | None = None, tables: list[dict] | None = None,
            charts: list[dict] | None = None, note: str = "") -> dict:
    """A section with content."""
    return {"key": key, "title": title, "status": "ok", "note": note,
            "paragraphs": list(paragraphs or []), "metrics": list(metrics or []),
            "tables": list(tables or []), "charts": list(charts or [])}


def omitted(key: str, title: str, note: str) -> dict:
    """A section left out for lack of data, with the reason."""
    return {**section(key, title, note=note), "status": "omitted"}


def find_section(report: dict, key: str) -> dict:
    """The section ``key`` of a report.

    Raises:
        KeyError: the report has no such section.
    """
    for s in report["sections"]:
        if s["key"] == key:
            return s
    raise KeyError(f"no section {key!r}; sections: {[s['key'] for s in report['sections']]}")


def metric_values(section_: dict) -> dict[str, Any]:
    """Metric key -> raw value of a section."""
    return {m["key"]: m["value"] for m in section_["metrics"]}


def find_table(section_: dict, key: str) -> dict:
    """The table ``key`` of a section.

    Raises:
        KeyError: the section has no such table.
    """
    for t in section_["tables"]:
        if t["key"] == key:
            return t
    raise KeyError(f"no table {key!r} in section {section_['key']!r}")


def ratio(numerator: float | None, denominator: float | None) -> float | None:
    """numerator / denominator, or None when either is missing or the denominator is 0."""
    if numerator is None or denominator is None:
        return None
    if isinstance(numerator, float) and math.isnan(numerator):
        return None
    if isinstance(denominator, float) and math.isnan(denominator):
        return None
    return None if denominator == 0 else float(numerator) / float(denominator)
