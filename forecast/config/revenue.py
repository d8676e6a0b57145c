"""Config of ``forecast revenue``."""

from __future__ import annotations

from forecast.config.base import StrictModel


class RevenueConfig(StrictModel):
    """Settings of the revenue step."""
