"""The build's pictures, drawn in a second process while this one writes the tables and pages.

The PNGs are the build's largest single cost after its imports: matplotlib's
import and the drawing, about a second and a half of a bundled build, and
nothing else waits for them. So a build that draws maps starts a second
Python process as it begins (``python -m estates.builder.picture_worker``).
That process imports the picture code (matplotlib, geopandas) while this one
reads, checks and joins the data; once the data are ready it draws the
pictures into the staging folder while this one writes the GeoPackage's
layers, the changes, the summary and the pages; then it hands back the
pictures' paths. With two cores or more, the pictures cost the build little
time on the clock; their CPU time is the same.

The second process is a fresh interpreter running this module, not a copy of
the caller: a user's script that calls :func:`estates.build` at its top level,
with no ``if __name__ == "__main__"`` guard, is not run again there. It
imports the same ``estates`` as this process (it is given this process's
``sys.path``), takes the job as a pickle on its standard input and answers as
a pickle on its standard output; its own output goes to standard error.

Nothing fails quietly:

- an exception in the second process is raised here, of the same type (a
  :class:`~estates.errors.DataValidationError` stays one, an
  :class:`OSError` keeps its ``errno``), its traceback there added as a note;
- a second process that cannot start, cannot import the picture code or
  read the job, or that dies (killed for memory, say), leaves the pictures
  to this process, with a warning saying why (quoting the end of what it
  wrote to standard error, if it died);
- log records (warnings and above) of the second process are handed back
  and logged here, so they reach the build's log in its format, and the
  warnings raised while drawing are raised again here;
- the second process runs in a session of its own, so a terminal's Ctrl-C
  reaches only the build, which stops it, as it does when the build fails
  or is stopped, before the staging folder is removed; if the build is
  killed outright, the second process ends when its input closes.

A machine with one core draws the pictures in this process, as does
:func:`estates.render_maps`.
"""

from __future__ import annotations

import contextlib
import logging
import os
import pickle
import signal
import subprocess
import sys
import tempfile
import threading
import traceback
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from estates.builder.memory import collections_after_imports
from estates.builder.stopping import end_process
from estates.machine import child_environment, second_process_helps

if TYPE_CHECKING:
    from estates.render.static_map import PictureJob

__all__ = ["PictureWorker", "picture_worker"]

log = logging.getLogger(__name__)

#: How long closing waits for the second process to end after answering, before stopping it.
_CLOSE_WAIT_S = 5.0
#: How much of the second process's standard error a warning quotes.
_STDERR_TAIL = 2000
#: Blank maps the second process makes while it waits: a bundled build's six pictures.
_BLANK_MAPS = 6


class _KeepRecords(logging.Handler):
    """Keep the records logged in the second process, to hand back with its answer."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        # The message is formatted here: its arguments may not survive pickling.
        record.msg, record.args, record.exc_info = record.getMessage(), None, None
        self.records.append(record)


def _serve() -> None:
    """Run the second process: read one job while importing, draw it, answer, end.

    Answers ``("done", paths, records, caught)`` or ``("failed", exception,
    records, caught)``, ``caught`` being the warnings raised while drawing, or
    ``("unable", reason, records, [])`` when it could not import the picture
    code or read the job (the build then draws the pictures itself). Ends
    quietly if the build closes its input without sending a job.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # The answer goes out on a private copy of standard output; anything a
    # library prints goes to standard error instead of into the answer.
    answer_out = os.fdopen(os.dup(sys.stdout.fileno()), "wb")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    keep = _KeepRecords()
    logging.getLogger().addHandler(keep)
    # The job is read while the imports run, so the build never waits to send it.
    received: list[bytes] = []
    reader = threading.Thread(target=lambda: received.append(sys.stdin.buffer.read()))
    reader.start()
    # No collection while the libraries are imported; their objects, alive
    # until the process ends, are left out of the drawing's collections.
    with collections_after_imports() as imported:
        unable = _import_picture_code()
        if unable is None:
            _warm_up()
        imported()
        reader.join()
        if not received[0]:
            return
        data = _answer(received[0], unable, keep.records)
    with answer_out:
        answer_out.write(data)


def _import_picture_code() -> Exception | None:
    """Import everything drawing needs; return what stopped it, if anything did."""
    try:
        # matplotlib included; the job's frames are GeoDataFrames.
        import geopandas  # noqa: F401

        from estates.render import picture_canvas, site_markers, static_map  # noqa: F401
    except Exception as exc:
        return exc
    return None


def _answer(job_data: bytes, unable: Exception | None, records: list[logging.LogRecord]) -> bytes:
    """Draw the pickled job unless ``unable``; return the pickled answer (see :func:`_serve`)."""
    if unable is None:
        try:
            job = pickle.loads(job_data)  # written by the build that started this process
        except Exception as exc:
            unable = exc
    caught: list[warnings.WarningMessage] = []
    if unable is not None:
        answer: tuple[str, Any] = ("unable", f"{type(unable).__name__}: {unable}")
    else:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                answer = ("done", job.draw())
            except Exception as exc:
                exc.add_note("In the process drawing the pictures:\n" + traceback.format_exc())
                answer = ("failed", exc)
    seen = [(w.category, str(w.message), w.filename, w.lineno) for w in caught]
    try:
        return pickle.dumps((*answer, records, seen))
    except Exception:  # an exception that cannot be pickled: its type and text
        error = answer[1]
        plain = RuntimeError(f"{type(error).__name__}: {error}")
        return pickle.dumps(("failed", plain, records, seen))


def _warm_up() -> None:
    """Do what a first picture does first, while the build is still preparing the job.

    geopandas' transformation of WGS84 to British National Grid made and kept
    (PROJ's database opened), the fonts loaded, and a small figure of the
    pictures' kinds of artists (a polygon, an outline, a haloed label, a
    legend, lines of text) drawn on Agg: the six bundled pictures then take
    20-70 ms less once their job comes, for about 0.06 s spent here, in time
    this process would spend waiting. Then the pictures' blank maps are made
    (:func:`~estates.render.picture_frame.make_blank_maps`), 30 ms more. Only
    caches are filled: the pictures are the same bytes. Nothing is logged or
    warned from here, so a warning given only the first time a cache is
    filled is not given at all; a warm-up that fails is let go, as the
    drawing meets the same failure and reports it.
    """
    disabled = logging.root.manager.disable
    logging.disable(logging.CRITICAL)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            import geopandas as gpd
            import shapely
            from matplotlib import patheffects
            from matplotlib.collections import LineCollection, PathCollection
            from matplotlib.lines import Line2D
            from matplotlib.patches import Patch
            from matplotlib.path import Path as MplPath

            from estates.crs import BNG, WGS84
            from estates.render import picture_frame
            from estates.render.picture_canvas import PictureSeries

            gpd.GeoSeries([shapely.Point(-0.1, 51.5)], crs=WGS84).to_crs(BNG)
            figure = PictureSeries().new_figure((2.0, 1.5), dpi=150)
            axes = figure.add_axes((0.0, 0.0, 1.0, 1.0))
            axes.set_axis_off()
            square = MplPath([(0, 0), (1, 0), (1, 1), (0, 1), (0, 0)], closed=True)
            axes.add_collection(PathCollection([square], facecolors="#cccccc", edgecolors="k"))
            axes.add_collection(LineCollection([[(0, 0), (1, 1)]], colors="k"))
            halo = [patheffects.withStroke(linewidth=2, foreground="white")]
            axes.text(0.5, 0.5, "Camden", fontsize=7, path_effects=halo)
            handles = [Patch(facecolor="#cccccc", label="0 ha"), Line2D([], [], marker="o")]
            figure.legend(handles=handles, title="Unused NHS land (ha)", loc="lower right")
            figure.text(0.05, 0.9, "Unused NHS land", fontsize=16, fontweight="bold")
            figure.text(0.05, 0.05, "Data: ERIC", fontsize=7.5)
            figure.canvas.draw()
            picture_frame.make_blank_maps(_BLANK_MAPS)
    except Exception:  # the drawing meets it again, and says so
        pass
    finally:
        logging.disable(disabled)


class PictureWorker:
    """A second process that draws one :class:`~estates.render.static_map.PictureJob`.

    Start it early (it imports the picture code at once), :meth:`submit` the
    job when the data are ready, :meth:`wait` for the paths, :meth:`close`
    it in every case (closing twice is harmless).
    """

    def __init__(self) -> None:
        # Kept open until close(): what the second process says, for a warning.
        self._stderr: IO[bytes] = tempfile.TemporaryFile()  # noqa: SIM115
        try:
            # -P: only the paths given, never the working folder's modules.
            self._process = subprocess.Popen(
                [sys.executable, "-P", "-m", __name__],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=self._stderr,
                env=child_environment(),
                start_new_session=True,
            )
        except BaseException:
            self._stderr.close()
            raise
        self._job: PictureJob | None = None
        self._unsent: str | None = None
        self._answered = False

    def submit(self, job: PictureJob) -> None:
        """Send ``job`` to the second process; :meth:`wait` draws it here if it cannot go."""
        self._job = job
        stdin = self._process.stdin
        if stdin is None:
            return
        try:
            data = pickle.dumps(job)
        except Exception as exc:  # not picklable: the second process ends, wait() draws here
            self._unsent = f"{type(exc).__name__}: {exc}"
            data = b""
        with contextlib.suppress(OSError, ValueError):
            stdin.write(data)
        with contextlib.suppress(OSError):
            stdin.close()

    def wait(self) -> list[Path]:
        """Return the pictures' paths once drawn; raise what drawing them raised.

        If the second process died, the pictures are drawn here instead.
        """
        job = self._job
        if job is None:
            msg = "no pictures were submitted"
            raise RuntimeError(msg)
        if self._unsent is not None:
            log.warning(
                "the pictures could not be sent to the process drawing them (%s); "
                "drawing them here",
                self._unsent,
            )
            return job.draw()
        try:
            assert self._process.stdout is not None  # opened as a pipe above
            status, value, records, caught = pickle.load(self._process.stdout)
        except (EOFError, OSError, pickle.UnpicklingError):
            code = self._process.wait()
            log.warning(
                "the process drawing the pictures ended (exit code %s%s); drawing them here",
                code,
                self._said(),
            )
            return job.draw()
        self._answered = True
        for record in records:
            logging.getLogger(record.name).handle(record)
        if status == "unable":
            log.warning(
                "the process drawing the pictures could not draw them (%s); drawing them here",
                value,
            )
            return job.draw()
        for category, message, filename, lineno in caught:
            warnings.warn_explicit(message, category, filename, lineno)
        if status == "failed":
            raise value
        return list(value)

    def _said(self) -> str:
        """Return the end of the second process's standard error, for a warning."""
        self._stderr.seek(0, os.SEEK_END)
        self._stderr.seek(max(0, self._stderr.tell() - _STDERR_TAIL))
        text = self._stderr.read().decode("utf-8", "replace").strip()
        return f"; it said: {text}" if text else ""

    def close(self) -> None:
        """End the second process: once it has answered it ends on its own; else it is stopped.

        A build that fails, or is stopped, before the pictures are in stops
        the second process here, before the staging folder is removed.
        """
        process = self._process
        for stream in (process.stdin, process.stdout):
            if stream is not None:
                with contextlib.suppress(OSError):
                    stream.close()
        if self._answered:
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(_CLOSE_WAIT_S)
        if process.poll() is None:
            process.kill()
            process.wait()
        self._stderr.close()


@contextlib.contextmanager
def picture_worker(wanted: bool) -> Iterator[PictureWorker | None]:
    """Within the block, a :class:`PictureWorker`, or None to draw the pictures here.

    None when ``wanted`` is false (no maps), on a machine with one core, in
    a frozen application (whose executable is not Python), or when a second
    process cannot be started (a warning says why).
    """
    if not wanted or not second_process_helps():
        yield None
        return
    try:
        worker = PictureWorker()
    except OSError as exc:
        log.warning("cannot start a process to draw the pictures (%s); drawing them here", exc)
        yield None
        return
    try:
        yield worker
    finally:
        worker.close()


if __name__ == "__main__":
    _serve()
    end_process(0)  # without tearing the libraries down, which the build would wait for
