"""One ``estates build`` at a time per output folder.

The lock is an advisory :func:`fcntl.flock` on ``.<out>.estates/lock`` in the
store beside the output folder (see :mod:`estates.builder.publish`). The kernel drops
it when the holder's process ends, however it ends, so a killed run never
blocks the next one. The file also records who holds the lock (pid, host,
start time), only so that a waiting run can say who it waited for.

The lock file is never deleted: deleting it would let two runs lock two
different files of the same name. POSIX only. A child made with a plain
``fork`` (no ``exec``) inherits the lock until it exits.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import math
import os
import socket
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import IO

from estates.builder.publish import store_dir
from estates.errors import ConfigError, EstatesError, LockedError

__all__ = ["LOCK_NAME", "acquire_lock"]

log = logging.getLogger(__name__)

#: Name of the lock file inside the store.
LOCK_NAME = "lock"


@contextlib.contextmanager
def acquire_lock(out: Path | str, *, wait_s: float = 300, poll_s: float = 0.2) -> Iterator[Path]:
    """Hold the lock on output folder ``out`` for the duration of the block.

    If another run holds it, wait up to ``wait_s`` seconds, checking every
    ``poll_s``. If the lock file names a holder but nobody holds the lock, the
    holder was killed: a warning says so and the lock is taken.

    Parameters
    ----------
    out : pathlib.Path or str
        The output folder the run will publish to, e.g. ``maps``. Its parent
        and the store beside it are created if missing.
    wait_s : float, default 300
        How long to wait for another run, in seconds; 0 tries once.
    poll_s : float, default 0.2
        How often to retry while waiting, in seconds.

    Yields
    ------
    pathlib.Path
        The lock file.

    Raises
    ------
    LockedError
        If another run still holds the lock after ``wait_s`` seconds. The
        message names its pid and start time; the CLI exits with
        :data:`estates.errors.EXIT_LOCKED`.
    ConfigError
        If ``wait_s`` is negative or ``poll_s`` is not positive.
    EstatesError
        If the lock file cannot be created.

    Examples
    --------
    A sketch of a run (not run here)::

        with acquire_lock("maps", wait_s=args.wait):
            with staged_output("maps") as staging:
                ...
                publish("maps", staging, check=check_outputs)
    """
    if not isinstance(wait_s, int | float) or math.isnan(wait_s) or wait_s < 0:
        raise ConfigError(f"--wait must be a number of seconds >= 0, not {wait_s!r}")
    if not isinstance(poll_s, int | float) or not poll_s > 0:
        raise ConfigError(f"poll_s must be a number of seconds > 0, not {poll_s!r}")
    path = _lock_path(out)
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    except OSError as exc:
        raise _cannot_create(out, f"the lock file {path}", exc) from exc
    with os.fdopen(fd, "r+", encoding="utf-8", errors="replace") as f:
        _wait_for_lock(f, path, out, wait_s=wait_s, poll_s=poll_s)
        stale = _read_holder(f)
        if stale:
            log.warning(
                "cleared a stale lock left by pid %s (started %s on %s); that run was killed",
                stale.get("pid", "unknown"),
                stale.get("started", "at an unknown time"),
                stale.get("host", "an unknown host"),
                extra={"stage": "lock"},
            )
        _write_holder(f, out)
        try:
            yield path
        finally:
            # Empty the file before the kernel drops the lock on close, so
            # that only a killed holder leaves its details behind.
            f.seek(0)
            f.truncate()
            f.flush()


def _lock_path(out: Path | str) -> Path:
    """Return the lock file of ``out``, creating the store if needed."""
    store = store_dir(out)
    try:
        store.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise _cannot_create(out, f"a folder in {store.parent}", exc) from exc
    return store / LOCK_NAME


def _cannot_create(out: Path | str, what: str, exc: OSError) -> EstatesError:
    """Return the error for a lock that cannot be made beside ``out``, with the fix.

    The command line names ``--out``, which the user can change; the Python
    API names the output folder it was given.
    """
    reason = f"cannot create {what} ({exc.strerror}); choose an output folder where you can write"
    return EstatesError(f"output folder {out}: {reason}", cli_message=f"--out {out}: {reason}")


def _wait_for_lock(
    f: IO[str], path: Path, out: Path | str, *, wait_s: float, poll_s: float
) -> None:
    """Take the flock on ``f``, waiting up to ``wait_s`` seconds."""
    deadline = time.monotonic() + wait_s
    announced = False
    while True:
        try:
            fcntl.flock(f.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            pass
        else:
            return
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise LockedError(_locked_message(_read_holder_at(path), out, wait_s))
        if not announced:
            log.info(
                "%s; waiting up to %g s",
                _holder_phrase(_read_holder_at(path), out),
                wait_s,
                extra={"stage": "lock"},
            )
            announced = True
        time.sleep(min(poll_s, remaining))


def _display(out: Path | str) -> str:
    """Return ``out`` for messages, as a folder: ``maps/``."""
    return f"{os.fspath(out).rstrip('/')}/"


def _holder_phrase(holder: dict[str, object], out: Path | str) -> str:
    """Describe who holds the lock: 'another estates build (pid 1, ...) is writing maps/'."""
    pid = holder.get("pid", "unknown")
    started = holder.get("started")
    host = holder.get("host")
    details = f"pid {pid}"
    if host and host != socket.gethostname():
        details += f" on {host}"
    if started:
        details += f", started {started}"
    return f"another estates build ({details}) is writing {_display(out)}"


def _locked_message(holder: dict[str, object], out: Path | str, wait_s: float) -> str:
    """Return the LockedError message."""
    return (
        f"{_holder_phrase(holder, out)}; waited {wait_s:g} s. "
        "Try again later or pass --wait SECONDS."
    )


def _parse_holder(text: str) -> dict[str, object]:
    """Parse the lock file's content; an empty or garbled file gives {}."""
    if not text.strip():
        return {}
    try:
        data = json.loads(text)
    except json.JSONDecodeError:
        return {"pid": "unknown"}
    return data if isinstance(data, dict) else {"pid": "unknown"}


def _read_holder(f: IO[str]) -> dict[str, object]:
    """Read the holder recorded in the open lock file."""
    f.seek(0)
    return _parse_holder(f.read())


def _read_holder_at(path: Path) -> dict[str, object]:
    """Read the holder recorded in the lock file at ``path`` (best effort)."""
    try:
        return _parse_holder(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError):
        return {}


def _write_holder(f: IO[str], out: Path | str) -> None:
    """Record this process as the holder."""
    holder = {
        "pid": os.getpid(),
        "host": socket.gethostname(),
        "started": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "out": os.fspath(out),
    }
    f.seek(0)
    f.truncate()
    f.write(json.dumps(holder, sort_keys=True) + "\n")
    f.flush()
    os.fsync(f.fileno())
