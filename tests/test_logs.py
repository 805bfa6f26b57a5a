"""Log formats for people and machines."""

from __future__ import annotations

import io
import json
import logging
import re
import warnings

import pytest

from estates.errors import ConfigError
from estates.logs import LOG_FORMATS, configure_logging, reset_logging


@pytest.fixture(autouse=True)
def _clean_logging():
    yield
    reset_logging()


def test_text_is_one_prefixed_line_per_message():
    stream = io.StringIO()
    logger = configure_logging(quiet=False, fmt="text", stream=stream)
    assert logger.name == "estates"
    logging.getLogger("estates.stages.join").info("joined %d sites to %d boroughs", 412, 33)
    logging.getLogger("estates.builder.lock").warning("cleared a stale lock left by pid 7")
    assert stream.getvalue() == (
        "estates: joined 412 sites to 33 boroughs\n"
        "estates: warning: cleared a stale lock left by pid 7\n"
    )


def test_json_has_time_level_logger_message_and_extras():
    stream = io.StringIO()
    configure_logging(quiet=False, fmt="json", stream=stream)
    logging.getLogger("estates.stages.join").info(
        "joined %d sites",
        412,
        extra={"stage": "join", "counts": {"sites": 412, "outside_london": 3}},
    )
    lines = stream.getvalue().splitlines()
    assert len(lines) == 1
    record = json.loads(lines[0])
    assert record == {
        "time": record["time"],
        "level": "info",
        "logger": "estates.stages.join",
        "message": "joined 412 sites",
        "stage": "join",
        "counts": {"sites": 412, "outside_london": 3},
    }
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", record["time"])


def test_json_stays_valid_with_odd_extras_and_exceptions():
    stream = io.StringIO()
    configure_logging(fmt="json", stream=stream)
    log = logging.getLogger("estates")
    log.info("line\nbreak", extra={"counts": {"score": float("nan")}, "path": object()})
    try:
        raise RuntimeError("boom")
    except RuntimeError:
        log.exception("failed")
    first, second = (json.loads(line) for line in stream.getvalue().splitlines())
    assert first["message"] == "line\nbreak"
    assert first["counts"] == {"score": None}
    assert first["path"].startswith("<object")
    assert second["level"] == "error"
    assert "RuntimeError: boom" in second["exc_info"]


def test_quiet_keeps_only_warnings_and_errors():
    stream = io.StringIO()
    configure_logging(quiet=True, fmt="text", stream=stream)
    log = logging.getLogger("estates.builder.publish")
    log.info("published 12 files")
    log.warning("nothing published")
    log.error("disk full")
    assert stream.getvalue() == "estates: warning: nothing published\nestates: error: disk full\n"


def test_configuring_twice_does_not_duplicate_lines():
    first, second = io.StringIO(), io.StringIO()
    configure_logging(fmt="text", stream=first)
    configure_logging(fmt="json", stream=second)
    configure_logging(fmt="json", stream=second)
    logging.getLogger("estates").info("once")
    assert first.getvalue() == ""
    assert len(second.getvalue().splitlines()) == 1
    assert len(logging.getLogger("estates").handlers) == 1


def test_default_stream_is_stderr_at_call_time(capsys):
    configure_logging(fmt="text")
    logging.getLogger("estates").info("to stderr")
    assert capsys.readouterr().err == "estates: to stderr\n"


def test_bad_format_lists_the_allowed_ones():
    assert LOG_FORMATS == ("text", "json")
    with pytest.raises(ConfigError, match=r"log format 'yaml' is not one of 'text', 'json'"):
        configure_logging(fmt="yaml")  # type: ignore[arg-type]


def test_reset_removes_the_handler():
    stream = io.StringIO()
    configure_logging(fmt="text", stream=stream)
    reset_logging()
    logging.getLogger("estates").warning("after reset")
    assert stream.getvalue() == ""
    assert logging.getLogger("estates").level == logging.NOTSET


def test_captured_warnings_are_lines_of_the_chosen_format():
    stream = io.StringIO()
    original = warnings.showwarning
    configure_logging(fmt="json", stream=stream, capture_warnings=True)
    with warnings.catch_warnings():
        warnings.simplefilter("always")
        warnings.warn("More than one layer found in 'sites.gpkg'", RuntimeWarning, stacklevel=1)
    [record] = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert record["level"] == "warning"
    assert record["logger"] == "estates.warnings"
    assert record["message"] == "More than one layer found in 'sites.gpkg' (RuntimeWarning)"
    reset_logging()
    assert warnings.showwarning is original


def test_captured_warnings_stay_under_quiet_as_text():
    stream = io.StringIO()
    configure_logging(quiet=True, stream=stream, capture_warnings=True)
    with warnings.catch_warnings():
        warnings.simplefilter("always")
        warnings.warn("driver does not support ...", UserWarning, stacklevel=1)
    assert stream.getvalue() == "estates: warning: driver does not support ... (UserWarning)\n"
