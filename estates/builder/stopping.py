"""Stopping a run on SIGTERM or Ctrl-C, with nothing published after either.

Python runs a signal handler in the main thread at whatever line it has
reached, and the exception the handler raises unwinds from there. That line
may be inside a library that catches and drops it, or in a C callback that
cannot raise at all, and the run would then go on and publish as if no signal
had come. So the handler here also records the signal, and
:func:`raise_if_stopped` raises it again: :func:`estates.builder.publish.publish`
calls it just before the new set goes live.

Outside :func:`stop_on_signals` (a library user calling :func:`estates.build`)
nothing is recorded and :func:`raise_if_stopped` never raises: the caller's own
signal handling is left alone.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import signal
import sys
import threading
from collections.abc import Iterator
from types import FrameType
from typing import NoReturn

__all__ = ["Terminated", "end_process", "raise_if_stopped", "stop_on_signals"]

#: Exit code when standard output's reader went away before its last lines (128 + SIGPIPE).
EXIT_BROKEN_PIPE = 141


class Terminated(BaseException):
    """Raised in the main thread on SIGTERM, so every ``finally`` (staging, lock) runs."""


#: The signals received inside :func:`stop_on_signals`.
_received: set[signal.Signals] = set()


def _stop(signum: int, _frame: FrameType | None) -> None:
    """Record the signal and raise it as an exception where the main thread is."""
    _received.add(signal.Signals(signum))
    raise_if_stopped()


def raise_if_stopped() -> None:
    """Raise :class:`Terminated` or :class:`KeyboardInterrupt` if a signal came.

    Call it before any step that cannot be undone, so that a signal whose
    exception a library swallowed still stops the run there.
    """
    if signal.SIGTERM in _received:
        raise Terminated
    if signal.SIGINT in _received:
        raise KeyboardInterrupt


@contextlib.contextmanager
def stop_on_signals() -> Iterator[None]:
    """Within the block, SIGTERM and Ctrl-C unwind as exceptions and are remembered.

    SIGTERM (a service stop, a cron timeout) raises :class:`Terminated`
    instead of ending the process at once, so clean-up code runs. Ctrl-C
    raises :class:`KeyboardInterrupt` as usual, unless SIGINT was ignored or
    handled by someone else when the block began (a job started in the
    background ignores it), in which case it is left alone. Both are
    recorded for :func:`raise_if_stopped`. Only the main thread can handle
    signals; elsewhere this does nothing.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous_term = signal.signal(signal.SIGTERM, _stop)
    previous_int = None
    if signal.getsignal(signal.SIGINT) is signal.default_int_handler:
        previous_int = signal.signal(signal.SIGINT, _stop)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous_term)
        if previous_int is not None:
            signal.signal(signal.SIGINT, previous_int)
        _received.clear()


def end_process(code: int) -> NoReturn:
    """End this process now with ``code``, as the interpreter would, without its teardown.

    For a process whose work is done and whose files are closed: what is left
    is Python freeing every object of pandas, geopandas, GDAL and matplotlib
    one by one, a tenth of a second or more that whoever waits for the
    process would wait for. What the interpreter does before that still
    happens: threads still running are waited for, the exit functions run
    (the log handlers flush), standard output and error are flushed. If
    standard output's reader went away before its last lines, the code is
    :data:`EXIT_BROKEN_PIPE`.
    """
    for thread in threading.enumerate():
        if thread is not threading.main_thread() and not thread.daemon:
            thread.join()
    atexit._run_exitfuncs()
    try:
        sys.stdout.flush()
    except BrokenPipeError:
        code = EXIT_BROKEN_PIPE
    with contextlib.suppress(OSError, ValueError):
        sys.stderr.flush()
    os._exit(code)
