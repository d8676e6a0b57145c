"""Writer of report files: the rendered formats of one report, each beside the others.

Each file is written to a temporary name beside its target and renamed, so a reader never sees
half a report. Rendering is :func:`forecast.reports.render.render_report`'s.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path


def _replace(path: Path, data: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)
    return path


def write_report_files(rendered: Mapping[str, bytes], folder: Path, stem: str
                       ) -> dict[str, Path]:
    """Write each rendered format as ``<folder>/<stem>.<format>``.

    Args:
        rendered: format (``html``, ``md``, ``json``, ``xlsx``) -> the file's bytes.
        folder: created when missing.
        stem: file name without extension, e.g. ``monthly-2026-10``.

    Returns:
        format -> path written.
    """
    folder = Path(folder)
    return {fmt: _replace(folder / f"{stem}.{fmt}", data) for fmt, data in rendered.items()}
