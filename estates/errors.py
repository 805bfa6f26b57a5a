"""One hierarchy for every error the tool raises on purpose.

Everything derives from :class:`EstatesError`, which also subclasses
:class:`ValueError` so that a generic handler still catches it. The CLI turns
an ``EstatesError`` into a one-line message and the exit code it carries; any
other exception is a bug and exits with :data:`EXIT_INTERNAL`.
"""

from __future__ import annotations

#: The run succeeded.
EXIT_OK = 0
#: Internal error: a bug. The message asks the user to report it.
EXIT_INTERNAL = 1
#: Bad input file or bad options; nothing was published.
EXIT_BAD_INPUT = 2
#: The output folder is locked by another run and ``--wait`` ran out.
EXIT_LOCKED = 3
#: The run succeeded and published, but rejected more rows than ``--max-rejected``.
EXIT_TOO_MANY_REJECTED = 4


class EstatesError(ValueError):
    """Base class of every error ``estates`` raises on purpose."""

    exit_code: int = EXIT_BAD_INPUT


class DataValidationError(EstatesError):
    """Input data are malformed: a file, row, column or value is wrong."""


class CRSError(EstatesError):
    """A coordinate reference system is missing or not the one a stage needs."""


class ConfigError(EstatesError):
    """An option or a configuration file value is invalid."""


class LockedError(EstatesError):
    """Another ``estates build`` holds the output folder."""

    exit_code = EXIT_LOCKED
