"""The build's pictures, drawn in a second process while this one writes the tables and pages.

The PNGs are the build's largest single cost after its imports: matplotlib's
import and the drawing, about a second and a half of a bundled build, and
nothing else waits for them. So a build that draws maps starts a second
Python process as it begins. That process imports the picture code
(matplotlib, geopandas) while this one reads, checks and joins the data;
once the data are ready it draws the pictures into the staging folder while
this one writes the GeoPackage's layers, the changes, the summary and the
pages; then it hands back the pictures' paths. With two cores or more, the
pictures cost the build little time on the clock; their CPU time is the same.

Nothing fails quietly:

- an exception in the second process is raised here, of the same type (a
  :class:`~estates.errors.DataValidationError` stays one, an
  :class:`OSError` keeps its ``errno``), its traceback there added as a note;
- a second process that cannot start, or that dies (killed for memory, say),
  leaves the pictures to this process, with a warning;
- log records (warnings and above) of the second process are handed back
  and logged here, so they reach the build's log in its format, and the
  warnings raised while drawing are raised again here;
- the second process ignores Ctrl-C, which reaches every process of the
  terminal: this process stops it, as it does when the build fails or is
  stopped, before the staging folder is removed.

A machine with one core draws the pictures in this process, as does
:func:`estates.render_maps`.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import os
import signal
import traceback
import warnings
from collections.abc import Iterator
from multiprocessing.connection import Connection
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from estates.render.static_map import PictureJob

__all__ = ["PictureWorker", "picture_worker"]

log = logging.getLogger(__name__)

#: How long closing waits for the second process to end after answering, before stopping it.
_CLOSE_WAIT_S = 5.0


class _KeepRecords(logging.Handler):
    """Keep the records logged in the second process, to hand back with its answer."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        # The message is formatted here: its arguments may not survive pickling.
        record.msg, record.args, record.exc_info = record.getMessage(), None, None
        self.records.append(record)


@contextlib.contextmanager
def _sigint_held() -> Iterator[None]:
    """Within the block, hold back Ctrl-C (SIGINT) in this thread and what it starts."""
    if not hasattr(signal, "pthread_sigmask"):
        yield
        return
    before = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, before)


def _serve(conn: Connection) -> None:
    """Run the second process: import the picture code, draw one job, answer, end.

    Answers ``("done", paths, records, caught)`` or ``("failed", exception,
    records, caught)``, ``caught`` being the warnings raised while drawing.
    Ends quietly if the build closes the pipe without sending a job.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if hasattr(signal, "pthread_sigmask"):  # held back by the build while this process started
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})
    keep = _KeepRecords()
    logging.getLogger().addHandler(keep)
    try:
        # Imported before the job comes, while the build reads its data; the
        # job's frames are GeoDataFrames.
        import geopandas  # noqa: F401

        from estates.render import static_map  # noqa: F401

        not_ready: Exception | None = None
    except Exception as exc:  # raised with the job, in the build
        not_ready = exc
    try:
        job = conn.recv()
    except (EOFError, OSError):
        return
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            if not_ready is not None:
                raise not_ready
            answer: tuple[str, Any] = ("done", job.draw())
        except Exception as exc:
            exc.add_note("In the process drawing the pictures:\n" + traceback.format_exc())
            answer = ("failed", exc)
    seen = [(w.category, str(w.message), w.filename, w.lineno) for w in caught]
    try:
        conn.send((*answer, keep.records, seen))
    except Exception:  # an exception that cannot be pickled: its type and text
        error = answer[1]
        plain = RuntimeError(f"{type(error).__name__}: {error}")
        conn.send(("failed", plain, keep.records, seen))


class PictureWorker:
    """A second process that draws one :class:`~estates.render.static_map.PictureJob`.

    Start it early (it imports the picture code at once), :meth:`submit` the
    job when the data are ready, :meth:`wait` for the paths, :meth:`close`
    it in every case.
    """

    def __init__(self) -> None:
        context = multiprocessing.get_context("spawn")
        self._conn, child = context.Pipe()
        self._process = context.Process(
            target=_serve, args=(child,), name="estates-pictures", daemon=True
        )
        try:
            # Started with Ctrl-C held back, so one pressed while the second
            # process starts up waits in this process (and is raised here once
            # started) and never reaches the second one before it ignores it.
            with _sigint_held():
                self._process.start()
        except BaseException:
            self._conn.close()
            raise
        finally:
            child.close()
        self._job: PictureJob | None = None
        self._answered = False

    def submit(self, job: PictureJob) -> None:
        """Send ``job`` to the second process; :meth:`wait` draws it here if it cannot go."""
        self._job = job
        with contextlib.suppress(OSError, ValueError):
            self._conn.send(job)

    def wait(self) -> list[Path]:
        """Return the pictures' paths once drawn; raise what drawing them raised.

        If the second process died, the pictures are drawn here instead.
        """
        job = self._job
        if job is None:
            msg = "no pictures were submitted"
            raise RuntimeError(msg)
        try:
            status, value, records, caught = self._conn.recv()
        except (EOFError, OSError):
            log.warning(
                "the process drawing the pictures ended (exit code %s); drawing them here",
                self._process.exitcode,
            )
            return job.draw()
        self._answered = True
        for record in records:
            logging.getLogger(record.name).handle(record)
        for category, message, filename, lineno in caught:
            warnings.warn_explicit(message, category, filename, lineno)
        if status == "failed":
            raise value
        return list(value)

    def close(self) -> None:
        """End the second process: once it has answered it ends on its own; else it is stopped.

        A build that fails, or is stopped, before the pictures are in stops
        the second process here, before the staging folder is removed.
        """
        self._conn.close()
        if self._answered:
            self._process.join(_CLOSE_WAIT_S)
        if self._process.is_alive():
            self._process.terminate()
            self._process.join()


def _cores() -> int:
    """Return the number of cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


@contextlib.contextmanager
def picture_worker(wanted: bool) -> Iterator[PictureWorker | None]:
    """Within the block, a :class:`PictureWorker`, or None to draw the pictures here.

    None when ``wanted`` is false (no maps), on a machine with one core, or
    when a second process cannot be started (a reason is logged).
    """
    if not wanted or _cores() < 2:
        yield None
        return
    try:
        worker = PictureWorker()
    except (OSError, RuntimeError, ValueError) as exc:
        log.warning("cannot start a process to draw the pictures (%s); drawing them here", exc)
        yield None
        return
    try:
        yield worker
    finally:
        worker.close()
