"""Config of ``forecast tiers``."""

from __future__ import annotations

from forecast.config.base import StrictModel


class TiersConfig(StrictModel):
    """Settings of the tiers step."""
