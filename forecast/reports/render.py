"""A report document rendered in each file format the reports are written in.

Rendering is here, beside the renderers; :mod:`forecast.io.report_files` writes the bytes.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence

from forecast.errors import ConfigError
from forecast.reports.html import render_html
from forecast.reports.markdown import render_markdown
from forecast.reports.pdf import pdf_bytes
from forecast.reports.workbook import excel_bytes

RENDERERS: dict[str, Callable[[dict], bytes]] = {
    "html": lambda report: render_html(report).encode("utf-8"),
    "md": lambda report: render_markdown(report).encode("utf-8"),
    "json": lambda report: json.dumps(report, ensure_ascii=False, indent=1).encode("utf-8"),
    "xlsx": excel_bytes,
    "pdf": pdf_bytes,
}


def render_report(report: dict, formats: Sequence[str]) -> dict[str, bytes]:
    """The report in each of ``formats``.

    Args:
        report: a report document (see :mod:`forecast.reports.document`).
        formats: any of ``html``, ``md``, ``json``, ``xlsx``, ``pdf`` (needs headless
            Chromium, see :mod:`forecast.reports.pdf`).

    Returns:
        format -> the file's bytes, in the order asked.

    Raises:
        ConfigError: an unknown format (nothing is rendered).
    """
    unknown = [f for f in formats if f not in RENDERERS]
    if unknown:
        raise ConfigError(f"unknown report format(s) {unknown}; use any of {list(RENDERERS)}")
    return {fmt: RENDERERS[fmt](report) for fmt in formats}
