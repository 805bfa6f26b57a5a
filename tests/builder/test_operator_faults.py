"""Operator faults: errors the system reports, bad --out values, and the terminal.

A full disk, a path that is too long or an ``--out`` holding a line break is
the operator's to fix, not a bug: exit code 2 and one line naming the fix.
Text from users' files and options never reaches the terminal as control
sequences or console markup.
"""

from __future__ import annotations

import errno
import logging
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from estates import console
from estates.builder import publish
from estates.cli import main
from estates.errors import classify_os_error
from estates.logs import reset_logging

REPO = Path(__file__).resolve().parents[2]
GROUPINGS = REPO / "data" / "boundaries" / "london_groupings.csv"


@pytest.fixture(autouse=True)
def _fresh_logging() -> Iterator[None]:
    """The CLI points the estates logger at CliRunner's stream; undo it afterwards."""
    yield
    reset_logging()


def _build(*args: object):
    return CliRunner().invoke(main, ["--quiet", "build", *[str(a) for a in args]])


def _one_error_line(result) -> str:
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.stderr
    assert "internal error" not in result.stderr
    lines = result.stderr.strip().splitlines()
    errors = [line for line in lines if line.startswith("estates: error: ")]
    assert errors == [lines[-1]], result.stderr
    return lines[-1]


# --- errors the system reports -------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "fix"),
    [
        (errno.ENOSPC, "free some space"),
        (errno.EROFS, "read-only"),
        (errno.EACCES, "permissions"),
        (errno.ENAMETOOLONG, "shorter path"),
        (errno.EFBIG, "ulimit -f"),
    ],
)
def test_a_full_disk_or_read_only_folder_exits_2_naming_the_fix(tmp_path, monkeypatch, code, fix):
    def fail(folder: Path) -> int:
        raise OSError(code, errno.errorcode[code], str(folder / "sites.gpkg"))

    monkeypatch.setattr(publish, "sync_tree", fail)
    out = tmp_path / "maps"
    line = _one_error_line(_build("--out", out))
    assert "sites.gpkg" in line
    assert fix in line
    assert not out.exists()


def test_an_unexpected_os_error_is_still_reported_as_a_bug(tmp_path, monkeypatch):
    def fail(folder: Path) -> int:
        raise OSError(errno.EBADF, "Bad file descriptor")

    monkeypatch.setattr(publish, "sync_tree", fail)
    result = _build("--out", tmp_path / "maps")
    assert result.exit_code == 1
    assert "This is a bug" in result.stderr


def test_classify_os_error_keeps_the_path_and_names_the_fix():
    err = classify_os_error(OSError(errno.ENOSPC, "No space left on device", "maps/sites.gpkg"))
    assert err is not None
    assert err.exit_code == 2
    assert str(err).startswith("maps/sites.gpkg: No space left on device; free some space")
    assert classify_os_error(OSError(errno.EBADF, "Bad file descriptor")) is None
    assert classify_os_error(KeyError("x")) is None


def _limited_to(size: int):
    """For ``preexec_fn``: files of at most ``size`` bytes, as ``ulimit -f`` sets."""
    import resource

    def limit() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past it fails with EFBIG
        resource.setrlimit(resource.RLIMIT_FSIZE, (size, resource.RLIM_INFINITY))

    return limit


def test_a_file_past_the_size_limit_exits_2_naming_the_limit(tmp_path):
    # sites.gpkg (1.2 MB) cannot be written under 700 kB a file: SQLite reports "disk I/O
    # error", GDAL its own error, neither the system's error number.
    out = tmp_path / "maps"
    result = subprocess.run(
        [sys.executable, "-m", "estates", "build", "--out", str(out)],
        preexec_fn=_limited_to(700_000),
        capture_output=True,
        text=True,
        check=False,
        cwd=tmp_path,
    )
    assert result.returncode == 2, result.stderr
    assert "internal error" not in result.stderr
    assert "Traceback" not in result.stderr
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith(f"estates: error: {out}: writing failed (")
    assert "under this system's limit of 700,000 bytes a file; raise the limit (ulimit -f)" in last
    assert not out.exists()
    assert [p.name for p in (tmp_path / ".maps.estates").iterdir()] == ["lock"]


def test_a_failed_write_on_a_full_disk_names_the_disk(tmp_path, monkeypatch):
    import shutil
    import sqlite3

    from estates.errors import classify_storage_error

    error = sqlite3.OperationalError("disk I/O error")
    assert classify_storage_error(error, tmp_path) is None  # room to spare, no size limit
    usage = shutil.disk_usage(tmp_path)
    monkeypatch.setattr(shutil, "disk_usage", lambda _: usage._replace(free=3 * 2**20))
    err = classify_storage_error(error, tmp_path, named="maps")
    assert err is not None
    assert err.exit_code == 2
    assert str(err) == (
        "maps: the disk is full (3 MiB free) and writing failed (disk I/O error); "
        "free some space or choose another --out"
    )


def test_a_path_too_long_exits_2(tmp_path):
    line = _one_error_line(_build("--out", tmp_path / ("a" * 300)))
    assert "File name too long" in line


# --- bad --out values ----------------------------------------------------------------


@pytest.mark.parametrize("name", ["maps\nx", "maps\rx", "maps\x1b[2Jx", "maps\tx"])
def test_an_out_with_a_control_character_exits_2_and_creates_nothing(tmp_path, name):
    line = _one_error_line(_build("--out", tmp_path / name))
    assert "contains a control character" in line
    assert list(tmp_path.iterdir()) == []


def test_an_out_inside_the_store_is_refused_and_names_the_real_folder(tmp_path):
    out = tmp_path / "maps"
    assert _build("--out", out).exit_code == 0
    build = out.resolve()
    line = _one_error_line(_build("--out", build))
    assert f"use --out {out} instead" in line
    assert not (build.parent / f".{build.name}.estates").exists()
    assert sorted(p.name for p in build.parent.iterdir() if p.name.startswith(".")) == []


# --- the terminal --------------------------------------------------------------------


def test_control_characters_in_a_group_name_reach_the_terminal_escaped(tmp_path):
    groupings = tmp_path / "groupings.csv"
    text = GROUPINGS.read_text(encoding="utf-8")
    evil = '"North Central\x1b[2J\x1b]0;owned\x07 London\rFAKE: all good"'
    groupings.write_text(text.replace("North Central London estates pilot", evil), "utf-8")
    args = ["build", "--groupings", str(groupings), "--out", str(tmp_path / "maps")]
    result = CliRunner().invoke(main, args)  # not --quiet: the headline names the group
    assert result.exit_code == 0, result.stderr
    assert "\x1b" not in result.output
    assert "\r" not in result.output
    assert "\x07" not in result.output
    assert "North Central\\x1b[2J\\x1b]0;owned\\x07 London\\rFAKE: all good" in result.output


def test_control_characters_in_an_error_message_stay_on_one_line(tmp_path):
    missing = tmp_path / "sites\nestates: error: forged.csv"
    line = _one_error_line(CliRunner().invoke(main, ["validate", "--sites", str(missing)]))
    assert "sites\\nestates: error: forged.csv" in line


def test_console_markup_in_a_log_line_is_shown_as_text(capsys):
    logger = logging.getLogger("estates")
    old = logger.level
    logger.setLevel(logging.INFO)
    try:
        with console.progress("writing to m[/x]", enabled=True):
            logger.info("publishing to m[/x] and [bold]\x1b[2J")
    finally:
        logger.setLevel(old)
    err = capsys.readouterr().err
    assert "Logging error" not in err
    assert "MarkupError" not in err
    assert "\x1b[2J" not in err


def test_terminal_text_escapes_controls_and_keeps_ordinary_text():
    assert console.terminal_text("a\x00b\x7f\u202ec\u2028") == "a\\x00b\\x7f\\u202ec\\u2028"
    assert console.terminal_text("Café £1,000 – Barking & Dagenham") == (
        "Café £1,000 – Barking & Dagenham"
    )


# --- SIGTERM -------------------------------------------------------------------------


def test_sigterm_mid_build_removes_the_staging_folder_and_exits_143(tmp_path):
    environ = dict(os.environ)
    environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), environ.get("PYTHONPATH")]))
    out = tmp_path / "maps"
    proc = subprocess.Popen(
        [sys.executable, "-m", "estates.cli", "--quiet", "build", "--out", str(out)],
        cwd=tmp_path,
        env=environ,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    store = tmp_path / ".maps.estates"
    deadline = time.monotonic() + 60
    while not list(store.glob("staging-*")) and time.monotonic() < deadline:
        time.sleep(0.01)
    assert list(store.glob("staging-*")), "the build never started staging"
    proc.send_signal(signal.SIGTERM)
    _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 143, stderr
    assert "terminated; nothing was published" in stderr
    assert "Traceback" not in stderr
    assert list(store.glob("staging-*")) == []
    assert not out.exists()
