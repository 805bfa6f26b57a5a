"""A progress display for people at a terminal; nothing at all for scheduled jobs.

While a long step runs, a spinner on stderr shows the latest stage's log line.
It appears only when stderr is a terminal and the log format is text, so cron
and CI logs stay one plain line per stage. ``rich``, which draws it, is
imported only then: its import took 30-50 ms of every command's start.
"""

from __future__ import annotations

import contextlib
import logging
import re
import sys
from collections.abc import Iterator

__all__ = ["progress", "terminal_text"]

_LOGGER = logging.getLogger("estates")

#: C0 and C1 control characters, DEL, and the Unicode line and bidi controls that
#: can move the cursor, rewrite a line or reorder what a terminal shows.
_CONTROL_RE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def terminal_text(text: str) -> str:
    r"""Return ``text`` safe to print on one terminal line.

    Control characters (ESC, CR, LF, NUL, bidi overrides, ...) come from
    users' files and option values; printed raw they can clear the screen,
    overwrite a line or forge a second message. Each is shown as its Python
    escape instead, so the text stays readable and nothing reaches the
    terminal as a command.

    Examples
    --------
    >>> terminal_text("NCL\x1b[2J\rdone\n")
    'NCL\\x1b[2J\\rdone\\n'
    >>> terminal_text("Barking & Dagenham")
    'Barking & Dagenham'
    """
    return _CONTROL_RE.sub(lambda m: repr(m.group())[1:-1], text)


class _StatusHandler(logging.Handler):
    """Show each INFO record's message as the spinner's text."""

    def __init__(self, status: object) -> None:
        super().__init__(level=logging.INFO)
        self._status = status

    def emit(self, record: logging.LogRecord) -> None:
        from rich.markup import escape  # imported by progress() already

        try:
            text = escape(terminal_text(record.getMessage()))
            self._status.update(f"[bold]estates[/bold]: {text}")  # type: ignore[attr-defined]
        except Exception:  # a display must never break a build
            self.handleError(record)


@contextlib.contextmanager
def progress(title: str, *, enabled: bool | None = None) -> Iterator[None]:
    """Show a spinner titled ``title`` on stderr while the block runs.

    Parameters
    ----------
    title : str
        The first text shown.
    enabled : bool, optional
        Force the display on or off; by default on only when stderr is a terminal.
    """
    if enabled is None:
        enabled = sys.stderr.isatty()
    if not enabled:
        yield
        return
    from rich.console import Console
    from rich.markup import escape

    console = Console(stderr=True)
    first = escape(terminal_text(title))
    with console.status(f"[bold]estates[/bold]: {first}", spinner="dots") as status:
        handler = _StatusHandler(status)
        _LOGGER.addHandler(handler)
        try:
            yield
        finally:
            _LOGGER.removeHandler(handler)
