"""Config of ``forecast funnel``."""

from __future__ import annotations

from forecast.config.base import StrictModel


class FunnelConfig(StrictModel):
    """Settings of the funnel step."""
