"""One hierarchy for every error the tool raises on purpose.

Everything derives from :class:`EstatesError`, which also subclasses
:class:`ValueError` so that a generic handler still catches it. The CLI turns
an ``EstatesError`` into a one-line message and the exit code it carries; any
other exception is a bug and exits with :data:`EXIT_INTERNAL`.
"""

from __future__ import annotations

import errno
import os

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
    """Base class of every error ``estates`` raises on purpose.

    ``cli_message``, where given, words the error for a command-line user: a
    message that names a Python argument (``columns={...}``) names the option
    (``--columns ...``) there. The command prints :attr:`for_command_line`.
    """

    exit_code: int = EXIT_BAD_INPUT

    def __init__(self, *args: object, cli_message: str | None = None) -> None:
        super().__init__(*args)
        self.cli_message = cli_message

    @property
    def for_command_line(self) -> str:
        """The message as the command line prints it: ``cli_message``, else ``str(self)``."""
        return self.cli_message if self.cli_message is not None else str(self)


class DataValidationError(EstatesError):
    """Input data are malformed: a file, row, column or value is wrong."""


class CRSError(EstatesError):
    """A coordinate reference system is missing or not the one a stage needs."""


class ConfigError(EstatesError):
    """An option or a configuration file value is invalid."""


class LockedError(EstatesError):
    """Another ``estates build`` holds the output folder."""

    exit_code = EXIT_LOCKED


class OperatorError(EstatesError):
    """The system refused an operation for a reason the operator can fix.

    A full disk, a read-only or permission-denied folder, a path that is too
    long: not a bug in ``estates``, so it exits with :data:`EXIT_BAD_INPUT`
    and one line naming the path and the fix.
    """


#: errno values that mean the operator's environment, not the tool, is at fault,
#: with the fix the message suggests.
_OPERATOR_ERRNOS: dict[int, str] = {
    errno.ENOSPC: "free some space or choose another --out",
    errno.EDQUOT: "free some space or raise the quota",
    errno.ENAMETOOLONG: "use a shorter path",
    errno.EACCES: "check the permissions or choose another path",
    errno.EPERM: "check the permissions or choose another path",
    errno.EROFS: "the filesystem is read-only; choose another --out",
    errno.ENOTDIR: "a part of the path is a file, not a folder; fix the path",
    errno.EISDIR: "the path is a folder; name a file",
    errno.ENOENT: "check that the path exists",
    errno.ELOOP: "the path has a loop of symbolic links; fix the path",
    errno.EMFILE: "too many open files; raise the limit (ulimit -n)",
    errno.EXDEV: "keep --out on one filesystem",
    errno.EIO: "the disk reported an I/O error; check the device",
}


def classify_os_error(exc: BaseException) -> OperatorError | None:
    """Return an :class:`OperatorError` for an ``OSError`` the operator can fix, else None.

    The CLI calls this for any exception that is not an ``EstatesError``, so
    that a full disk or a read-only folder anywhere in a run exits with code 2
    and a one-line message rather than as an internal error.

    Examples
    --------
    >>> err = classify_os_error(OSError(errno.ENOSPC, "No space left on device", "maps/x"))
    >>> str(err)
    'maps/x: No space left on device; free some space or choose another --out'
    >>> classify_os_error(ValueError("x")) is None
    True
    """
    if not isinstance(exc, OSError) or exc.errno not in _OPERATOR_ERRNOS:
        return None
    where = exc.filename if exc.filename is not None else ""
    reason = exc.strerror or os.strerror(exc.errno)
    prefix = f"{os.fsdecode(where)}: " if where != "" else ""
    return OperatorError(f"{prefix}{reason}; {_OPERATOR_ERRNOS[exc.errno]}")
