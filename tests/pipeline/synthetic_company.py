"""A config of the synthetic company, generated into a folder, with its orders filtered: the
chain tests' young or cut-short companies."""

from __future__ import annotations

import os
from pathlib import Path

from forecast.config import SynthOptions
from forecast.pipeline.data import synthesise
from forecast.pipeline.demo import demo_config


def company_config(root: Path, options: SynthOptions, orders_filter: dict) -> dict:
    """The demo config (as a mapping, defaults left out) of the company ``options`` generated
    into ``root / "data"``, workspace ``root / "ws"``, its orders kept by ``orders_filter``; the
    MLflow store is the workspace's."""
    os.environ.pop("MLFLOW_TRACKING_URI", None)
    synthesise(options, root / "data")
    config = demo_config(root / "data", root / "ws").model_dump(mode="json",
                                                                exclude_defaults=True)
    for source in config["sources"]:
        if source["table"] == "orders":
            source["filters"] = [orders_filter]
    return config
