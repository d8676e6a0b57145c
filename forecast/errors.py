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


class WorkspaceError(ForecastError):
    """The workspace or its warehouse is missing something a command needs."""
