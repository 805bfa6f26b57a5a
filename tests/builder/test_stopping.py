"""A signal stops a run even when a library drops the exception it raised."""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest

from estates.builder.publish import current_build, publish, staged_output, store_dir
from estates.builder.stopping import Terminated, raise_if_stopped, stop_on_signals


def publish_set(out: Path, version: str, *, signum: signal.Signals | None = None) -> Path:
    """Publish one file holding ``version``; with ``signum``, a dropped signal comes first."""
    with staged_output(out) as staging:
        (staging / "index.html").write_text(version, encoding="utf-8")
        if signum is not None:
            swallow(signum)
        return publish(out, staging)


def swallow(signum: signal.Signals) -> None:
    """Send ``signum`` to this process and drop its exception, as some libraries do."""
    try:
        os.kill(os.getpid(), signum)
        # The handler runs at the next bytecode boundary, inside this block.
        for _ in range(1000):
            pass
    except BaseException:
        pass


@pytest.fixture
def terminal_ctrl_c() -> Iterator[None]:
    """Ctrl-C as from a terminal, even when the test run was started in the background.

    A background job starts with SIGINT ignored, which :func:`stop_on_signals`
    rightly leaves alone; this test is about a Ctrl-C the run does take.
    """
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


@pytest.mark.parametrize(
    ("signum", "raised"),
    [(signal.SIGTERM, Terminated), (signal.SIGINT, KeyboardInterrupt)],
    ids=["SIGTERM", "Ctrl-C"],
)
def test_a_dropped_signal_still_stops_the_publish(tmp_path, terminal_ctrl_c, signum, raised):
    out = tmp_path / "maps"
    old = publish_set(out, "v1")
    with stop_on_signals(), pytest.raises(raised):
        publish_set(out, "v2", signum=signum)
    assert current_build(out) == old
    assert (out / "index.html").read_text(encoding="utf-8") == "v1"
    # No staging folder and no second build left in the store.
    assert sorted(p.name for p in store_dir(out).iterdir()) == sorted([old.name, "history.json"])


def test_the_handlers_are_put_back_and_the_record_cleared(tmp_path):
    term, ctrl_c = signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGINT)
    with stop_on_signals():
        assert signal.getsignal(signal.SIGTERM) is not term
        swallow(signal.SIGTERM)
        with pytest.raises(Terminated):
            raise_if_stopped()
    assert signal.getsignal(signal.SIGTERM) is term
    assert signal.getsignal(signal.SIGINT) is ctrl_c
    raise_if_stopped()  # nothing recorded any more
    # Outside the block a library user's build publishes as before.
    publish_set(tmp_path / "maps", "v1")
    assert (tmp_path / "maps" / "index.html").read_text(encoding="utf-8") == "v1"


def test_an_ignored_ctrl_c_stays_ignored():
    # A job started in the background ignores SIGINT; the run must not take it back.
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        with stop_on_signals():
            assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN
            os.kill(os.getpid(), signal.SIGINT)
            raise_if_stopped()
    finally:
        signal.signal(signal.SIGINT, previous)
