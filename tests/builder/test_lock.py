"""One run at a time: the lock, tested with real processes."""

from __future__ import annotations

import json
import logging
import os
import signal
import socket
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from estates.builder.lock import LOCK_NAME, acquire_lock
from estates.builder.publish import store_dir
from estates.errors import EXIT_LOCKED, ConfigError, EstatesError, LockedError

REPO = Path(__file__).resolve().parents[2]

HOLDER = textwrap.dedent(
    """
    import sys, time
    from estates.builder.lock import acquire_lock

    with acquire_lock(sys.argv[1], wait_s=0):
        print("locked", flush=True)
        time.sleep(float(sys.argv[2]))
    """
)


def start_holder(out: Path, hold_s: float) -> subprocess.Popen[str]:
    """Start a process that takes the lock on ``out``; return once it holds it."""
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]),
    }
    proc = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(out), str(hold_s)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    line = proc.stdout.readline()
    if line != "locked\n":
        proc.kill()
        _, err = proc.communicate()
        pytest.fail(f"holder did not take the lock: {line!r} {err}")
    return proc


def stop(proc: subprocess.Popen[str]) -> None:
    proc.kill()
    proc.communicate()


def test_lock_records_the_holder_and_clears_on_release(tmp_path):
    out = tmp_path / "maps"
    with acquire_lock(out) as path:
        assert path == store_dir(out) / LOCK_NAME
        holder = json.loads(path.read_text())
        assert holder["pid"] == os.getpid()
        assert holder["host"] == socket.gethostname()
        assert holder["started"].endswith("Z")
        assert holder["out"] == str(out)
    assert path.read_text() == ""
    with acquire_lock(out, wait_s=0):  # free again
        pass


def test_second_process_waits_then_gives_up(tmp_path):
    out = tmp_path / "maps"
    proc = start_holder(out, 60)
    try:
        with (
            pytest.raises(LockedError) as info,
            acquire_lock(out, wait_s=0.5, poll_s=0.05),
        ):
            pytest.fail("took a lock another process holds")
    finally:
        stop(proc)
    message = str(info.value)
    assert message.startswith(f"another estates build (pid {proc.pid}, started 20")
    assert f"is writing {out}/; waited 0.5 s. Try again later or pass --wait SECONDS." in message
    assert info.value.exit_code == EXIT_LOCKED
    assert isinstance(info.value, EstatesError)


def test_waiting_run_gets_the_lock_when_the_holder_finishes(tmp_path, caplog):
    out = tmp_path / "maps"
    proc = start_holder(out, 1)
    try:
        with caplog.at_level(logging.INFO, logger="estates"), acquire_lock(out, wait_s=60):
            assert proc.wait(timeout=30) == 0  # the holder finished normally
            assert json.loads((store_dir(out) / LOCK_NAME).read_text())["pid"] == os.getpid()
    finally:
        stop(proc)
    assert f"another estates build (pid {proc.pid}" in caplog.text
    assert "waiting up to 60 s" in caplog.text
    assert "stale" not in caplog.text  # it released the lock properly


def test_a_killed_holder_leaves_no_lock_only_a_note(tmp_path, caplog):
    out = tmp_path / "maps"
    proc = start_holder(out, 60)
    os.kill(proc.pid, signal.SIGKILL)
    proc.communicate()
    assert json.loads((store_dir(out) / LOCK_NAME).read_text())["pid"] == proc.pid
    with caplog.at_level(logging.WARNING, logger="estates"), acquire_lock(out, wait_s=5):
        pass
    assert f"cleared a stale lock left by pid {proc.pid} " in caplog.text


def test_same_process_cannot_take_it_twice(tmp_path):
    out = tmp_path / "maps"
    with (
        acquire_lock(out),
        pytest.raises(LockedError, match=rf"pid {os.getpid()}, started"),
        acquire_lock(out, wait_s=0),
    ):
        pytest.fail("took the lock twice")


def test_other_output_folders_are_independent(tmp_path):
    with acquire_lock(tmp_path / "maps"), acquire_lock(tmp_path / "tables", wait_s=0):
        pass


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"wait_s": -1}, "--wait must be a number of seconds >= 0"),
        ({"wait_s": float("nan")}, "--wait must be"),
        ({"wait_s": "5"}, "--wait must be"),
        ({"poll_s": 0}, "poll_s must be a number of seconds > 0"),
    ],
)
def test_bad_waits_are_refused(tmp_path, kwargs, match):
    with pytest.raises(ConfigError, match=match), acquire_lock(tmp_path / "maps", **kwargs):
        pytest.fail("took the lock with bad options")


def test_unwritable_place_gives_a_clear_error(tmp_path):
    (tmp_path / "file").write_text("x")
    with (
        pytest.raises(EstatesError, match="cannot create"),
        acquire_lock(tmp_path / "file" / "maps"),
    ):
        pytest.fail("locked inside a file")
