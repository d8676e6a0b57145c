"""Config of ``forecast reports``."""

from __future__ import annotations

from forecast.config.base import StrictModel


class ReportsConfig(StrictModel):
    """Settings of the reports step."""
