"""The project's own exceptions.

Domain code raises these; the command line turns them into a one-line message on stderr and a
non-zero exit code, never a traceback.
"""

from __future__ import annotations


class ForecastError(Exception):
    """Base class for every error a user can act on."""

    exit_code = 2


class ConfigError(ForecastError):
    """A configuration file is missing, malformed or inconsistent."""


class SourceError(ForecastError):
    """A source file cannot be read as configured (missing file or column, empty file, encoding)."""


class ValidationError(ForecastError):
    """Data failed a check that makes the whole load impossible."""


class DataError(ValidationError):
    """The data are valid but cannot support what a step does: too short a history for the
    backtest, no churners or no cutoff to validate a churn model on. ``forecast run`` marks
    such a step "not applicable" with this message and goes on with the steps that do not
    need it; a config mistake or a missing file is another error and stops the run."""


class WorkspaceError(ForecastError):
    """The workspace or its warehouse is missing something a command needs."""
