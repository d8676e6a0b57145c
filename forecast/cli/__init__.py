"""The ``forecast`` command line: thin commands over :mod:`forecast.pipeline`.

The only package that imports click. Heavy libraries are imported inside the commands that need
them, so ``forecast --help`` starts fast. With ``--json`` a command prints exactly one JSON object
on stdout; logs and progress bars always go to stderr. Each module attaches its commands to the
groups of :mod:`forecast.cli.groups`; importing them here registers them.
"""

from forecast.cli import (  # noqa: F401
    churn,
    data,
    features,
    funnel,
    reports,
    revenue,
    serve,
    targets,
    tiers,
)
from forecast.cli.groups import main

__all__ = ["main"]
