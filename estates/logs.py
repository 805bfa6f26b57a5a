"""Log lines for people and for machines, from the ``estates`` logger.

Every module logs to a child of the ``estates`` logger (``estates.builder.publish``,
``estates.builder.lock`` ...), one summary line per stage. The CLI calls
:func:`configure_logging` once to choose the format:

``text``
    ``estates: published 36 files to maps/``; warnings and errors read
    ``estates: warning: ...``.
``json``
    One JSON object per line with ``time`` (UTC ISO 8601), ``level``,
    ``logger``, ``message`` and any ``extra=`` fields of the call, such as
    ``stage`` and ``counts``.
"""

from __future__ import annotations

import json
import logging
import math
import sys
import warnings
from datetime import UTC, datetime
from typing import Any, Literal, TextIO

from estates.console import terminal_text
from estates.errors import ConfigError

__all__ = ["LOG_FORMATS", "configure_logging", "counted", "reset_logging"]

#: Accepted values of ``fmt``.
LOG_FORMATS = ("text", "json")

_LOGGER_NAME = "estates"
#: Attributes every LogRecord has; anything else came from ``extra=``.
_RECORD_ATTRS = frozenset(vars(logging.makeLogRecord({}))) | {"message", "asctime", "taskName"}


class _EstatesHandler(logging.StreamHandler[TextIO]):
    """The handler :func:`configure_logging` installs; marked to be found again."""


#: ``warnings.showwarning`` as it was before :func:`configure_logging` captured warnings.
_ORIGINAL_SHOWWARNING: list[Any] = []


def _log_warning(  # noqa: PLR0917 (warnings.showwarning's signature)
    message: Warning | str,
    category: type[Warning],
    filename: str,
    lineno: int,
    file: TextIO | None = None,
    line: str | None = None,
) -> None:
    """Send a Python warning (a library's, say) to the ``estates.warnings`` logger.

    One line in the chosen format, like every other line on stderr, instead
    of Python's two-line ``file:line: Category: message`` and source line.
    """
    logging.getLogger(f"{_LOGGER_NAME}.warnings").warning("%s (%s)", message, category.__name__)


class _TextFormatter(logging.Formatter):
    """``estates: <message>``, with the level named for warnings and errors."""

    def format(self, record: logging.LogRecord) -> str:
        prefix = "estates: "
        if record.levelno >= logging.WARNING:
            prefix += f"{record.levelname.lower()}: "
        text = prefix + terminal_text(record.getMessage())
        if record.exc_info:
            text += "\n" + self.formatException(record.exc_info)
        return text


class _JsonFormatter(logging.Formatter):
    """One JSON object per record, on one line."""

    def format(self, record: logging.LogRecord) -> str:
        data: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC)
            .isoformat(timespec="milliseconds")
            .replace("+00:00", "Z"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in _RECORD_ATTRS and key not in data and not key.startswith("_"):
                data[key] = value
        if record.exc_info:
            data["exc_info"] = self.formatException(record.exc_info)
        try:
            return json.dumps(data, default=str, ensure_ascii=False, allow_nan=False)
        except ValueError:  # NaN or infinity in an extra field: JSON has no such numbers
            return json.dumps(_finite(data), default=str, ensure_ascii=False)


def _finite(value: Any) -> Any:
    """Replace non-finite floats with None, recursively."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {key: _finite(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(item) for item in value]
    return value


def counted(n: int, noun: str, plural: str | None = None, *, grouped: bool = False) -> str:
    """Return ``n`` with its noun, plural unless ``n`` is 1: ``1 site``, ``2 sites``.

    Every line that counts things builds its count here, so that a small build
    reads "valued 1 London site", not "valued 1 London sites".

    Parameters
    ----------
    n : int
        The count.
    noun : str
        The singular, e.g. ``"London site"``.
    plural : str, optional
        The plural where it is not ``noun`` + ``s``.
    grouped : bool, default False
        Write the count with thousands separators (``1,000,000 rows``).

    Examples
    --------
    >>> counted(1, "London site"), counted(33, "borough"), counted(0, "part")
    ('1 London site', '33 boroughs', '0 parts')
    >>> counted(1_000_000, "row", grouped=True)
    '1,000,000 rows'
    """
    number = f"{n:,}" if grouped else f"{n}"
    return f"{number} {noun if n == 1 else plural or noun + 's'}"


def configure_logging(
    *,
    quiet: bool = False,
    fmt: Literal["text", "json"] = "text",
    stream: TextIO | None = None,
    capture_warnings: bool = False,
) -> logging.Logger:
    """Send the ``estates`` logger's records to ``stream`` in one format.

    Calling it again replaces the handler it installed before, so lines are
    never duplicated. Records still propagate to the root logger, which has
    no handler in the CLI.

    Parameters
    ----------
    quiet : bool, default False
        Only warnings and errors; otherwise INFO and above.
    fmt : {"text", "json"}, default "text"
        ``text``: ``estates: <message>`` per line. ``json``: one JSON object
        per line with ``time``, ``level``, ``logger``, ``message`` and the
        ``extra=`` fields.
    stream : file-like, optional
        Where to write; standard error (as it is at call time) by default.
    capture_warnings : bool, default False
        Also write Python warnings (a library's, say) as ``estates.warnings``
        records, so that every line on the stream has the chosen format; the
        command line turns it on. :func:`reset_logging` turns it off.

    Returns
    -------
    logging.Logger
        The ``estates`` logger.

    Raises
    ------
    ConfigError
        If ``fmt`` is not one of :data:`LOG_FORMATS`.

    See Also
    --------
    reset_logging : undo it.

    Examples
    --------
    >>> import sys
    >>> logger = configure_logging(fmt="text", stream=sys.stdout)
    >>> logger.info("joined %d sites to %d boroughs", 412, 33)
    estates: joined 412 sites to 33 boroughs
    >>> configure_logging(fmt="xml")
    Traceback (most recent call last):
    ...
    estates.errors.ConfigError: log format 'xml' is not one of 'text', 'json'
    >>> reset_logging()
    """
    if fmt not in LOG_FORMATS:
        allowed = ", ".join(repr(f) for f in LOG_FORMATS)
        raise ConfigError(f"log format {fmt!r} is not one of {allowed}")
    logger = logging.getLogger(_LOGGER_NAME)
    _remove_handlers(logger)
    handler = _EstatesHandler(sys.stderr if stream is None else stream)
    handler.setFormatter(_JsonFormatter() if fmt == "json" else _TextFormatter())
    logger.addHandler(handler)
    logger.setLevel(logging.WARNING if quiet else logging.INFO)
    if capture_warnings and not _ORIGINAL_SHOWWARNING:
        _ORIGINAL_SHOWWARNING.append(warnings.showwarning)
        warnings.showwarning = _log_warning
    return logger


def reset_logging() -> None:
    """Remove the handler :func:`configure_logging` installed, reset the level and warnings."""
    logger = logging.getLogger(_LOGGER_NAME)
    _remove_handlers(logger)
    logger.setLevel(logging.NOTSET)
    if _ORIGINAL_SHOWWARNING:
        warnings.showwarning = _ORIGINAL_SHOWWARNING.pop()


def _remove_handlers(logger: logging.Logger) -> None:
    """Remove and close the handlers this module installed on ``logger``."""
    for handler in list(logger.handlers):
        if isinstance(handler, _EstatesHandler):
            logger.removeHandler(handler)
            handler.close()
