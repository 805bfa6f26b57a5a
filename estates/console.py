"""A progress display for people at a terminal; nothing at all for scheduled jobs.

While a long step runs, a spinner on stderr shows the latest stage's log line.
It appears only when stderr is a terminal and the log format is text, so cron
and CI logs stay one plain line per stage.
"""

from __future__ import annotations

import contextlib
import logging
import sys
from collections.abc import Iterator

from rich.console import Console

_LOGGER = logging.getLogger("estates")


class _StatusHandler(logging.Handler):
    """Show each INFO record's message as the spinner's text."""

    def __init__(self, status: object) -> None:
        super().__init__(level=logging.INFO)
        self._status = status

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self._status.update(f"[bold]estates[/bold]: {record.getMessage()}")  # type: ignore[attr-defined]
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
    console = Console(stderr=True)
    with console.status(f"[bold]estates[/bold]: {title}", spinner="dots") as status:
        handler = _StatusHandler(status)
        _LOGGER.addHandler(handler)
        try:
            yield
        finally:
            _LOGGER.removeHandler(handler)
