"""The ``forecast`` command line: thin commands over :mod:`forecast.pipeline`.

The only package that imports click. Heavy libraries are imported inside the commands that need
them, so ``forecast --help`` starts fast. With ``--json`` a command prints exactly one JSON object
on stdout; logs and progress bars always go to stderr. Each module attaches its commands to the
groups of :mod:`forecast.cli.groups`.
"""

from forecast.cli import churn, data, features, tiers  # noqa: F401  (they register their commands)
from forecast.cli import funnel  # noqa: F401  (registers funnel and attainment)
from forecast.cli import targets  # noqa: F401  (registers targets)
from forecast.cli import reports  # noqa: F401  (registers report monthly and report risk)
from forecast.cli.groups import main

__all__ = ["main"]
