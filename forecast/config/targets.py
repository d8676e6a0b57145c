"""Config of ``forecast targets``."""

from __future__ import annotations

from forecast.config.base import StrictModel


class TargetsConfig(StrictModel):
    """Settings of the targets step."""
