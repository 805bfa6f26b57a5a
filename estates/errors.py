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
    errno.EFBIG: "the file is larger than this system allows; raise the limit (ulimit -f)",
}

#: Free space under which a failed write is put down to a full disk.
FULL_DISK_BYTES = 64 * 2**20


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


def classify_storage_error(
    exc: BaseException, folder: os.PathLike[str] | str, *, named: os.PathLike[str] | str = ""
) -> OperatorError | None:
    """Return an :class:`OperatorError` for a failed write the system's limits explain, else None.

    SQLite and GDAL (the GeoPackage) report a full disk or a file past the
    size limit as their own errors ("disk I/O error", "Error while writing
    batch to OGR layer"), without the system's error number. Such an error is
    the operator's to fix when the disk holding ``folder`` has less than
    :data:`FULL_DISK_BYTES` free, or when the process has a file size limit
    (``ulimit -f``); otherwise it stays what it was (a bug, as far as the
    tool can tell). The message names ``named`` (say ``--out``), else ``folder``.
    """
    import resource
    import shutil

    where = os.fsdecode(named or folder)
    try:
        free = shutil.disk_usage(folder).free
    except OSError:
        free = None
    if free is not None and free < FULL_DISK_BYTES:
        return OperatorError(
            f"{where}: the disk is full ({free / 2**20:.0f} MiB free) and writing failed ({exc}); "
            "free some space or choose another --out"
        )
    soft, _ = resource.getrlimit(resource.RLIMIT_FSIZE)
    if soft != resource.RLIM_INFINITY:
        return OperatorError(
            f"{where}: writing failed ({exc}) under this system's limit of {soft:,} bytes a file; "
            "raise the limit (ulimit -f)"
        )
    return None
