"""Write the big site files in a second process, from the rows sent to it.

Two writes of a large site table hold this process's CPU for long: GDAL's
GeoPackage layer, written holding Python's lock (the GIL) from the first row
to the last, and the CSV's text. In a million-site build in parts they were
about six and seven seconds, on one core, with the rest of the build
waiting. :class:`TableProcess` hands both to a second Python process
(``python -m estates.io.table_process``): each part's layer rows (Arrow) and
CSV rows (the part's frame) go to it, pickled, on its standard input, as the
build makes them; it writes the layer batch by batch as they come
(:func:`write_gpkg_layer`) and appends the CSV text with the same
:func:`~estates.io.csv_text.append_csv` as this process would, then answers
once both files are whole. The build goes on meanwhile (its next parts, the
summary, the pages) and waits (:meth:`TableProcess.wait`) only before it adds
the GeoPackage's other layers. The files are the bytes this process would
write (the GeoPackage's timestamps aside).

The second process imports pandas, pyarrow and pyogrio, not geopandas, and
holds a part or two at a time.

Nothing fails quietly:

- an exception in the second process is raised by :meth:`~TableProcess.wait`,
  of the same type (a full disk stays the error the build words for the
  operator), its traceback there added as a note;
- a second process that dies, or cannot read the rows, makes
  :meth:`~TableProcess.write_layer`, :meth:`~TableProcess.write_csv` or
  :meth:`~TableProcess.wait` raise an error that quotes the end of what it
  wrote to standard error;
- it runs in a session of its own, so a terminal's Ctrl-C reaches only the
  build, which stops it (:meth:`~TableProcess.stop`) before the staging folder
  is removed; if the build is killed outright, its input ends short and it
  stops without whole files.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import queue
import signal
import subprocess
import sys
import tempfile
import threading
import traceback
from collections.abc import Iterator
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd
    import pyarrow as pa

__all__ = ["BOM", "CSV_CHUNK_ROWS", "TableProcess", "TableProcessError", "write_gpkg_layer"]

#: GDAL's setting for SQLite's ``PRAGMA synchronous`` in the files it writes (GeoPackage).
SQLITE_SYNCHRONOUS = "OGR_SQLITE_SYNCHRONOUS"
#: How much of the second process's standard error an error quotes.
_STDERR_TAIL = 2000
#: Messages (a part's layer or CSV rows) left waiting to be sent before a write waits itself.
_QUEUED_MESSAGES = 4
#: The UTF-8 byte-order mark ``--csv-bom`` starts a CSV with, for Excel.
BOM = b"\xef\xbb\xbf"
#: Rows of ``sites.csv`` formatted at a time: each row's text is built for these
#: rows at once, several copies deep, so fewer rows keep a part's peak memory down.
CSV_CHUNK_ROWS = 25_000
#: How long stopping waits for the second process to end once it has answered.
_CLOSE_WAIT_S = 5.0


class TableProcessError(RuntimeError):
    """The process writing the site table died or could not read the rows."""


def write_gpkg_layer(rows: Any, path: Path, layer: str) -> None:
    """Write Arrow rows (last column ``geom``: WKB points in EPSG:27700) as a new layer.

    ``rows`` is anything :func:`pyogrio.write_arrow` takes: a table, or a
    stream of batches, written a batch at a time. Any file at ``path`` is
    replaced.
    """
    import pyogrio

    path.unlink(missing_ok=True)
    pyogrio.write_arrow(
        rows,
        path,
        layer=layer,
        driver="GPKG",
        geometry_name="geom",
        geometry_type="Point",
        crs="EPSG:27700",
    )


class TableProcess:
    """A second process writing a GeoPackage layer and a CSV file from the rows sent to it.

    :meth:`write_layer` and :meth:`write_csv` each part's rows, in order;
    :meth:`end` the rows; :meth:`wait` for the files; :meth:`stop` in every
    case (stopping a finished process is harmless). The layer ``layer`` of
    ``gpkg`` is created with the first layer rows; ``csv`` is created with
    the first CSV rows. ``synced=False`` has SQLite hand the data to the
    system without waiting for the disk at each commit, as
    :func:`estates.io.tables.unsynced_geopackage_writes` does in this process.
    """

    def __init__(self, gpkg: Path, layer: str, csv: Path, *, synced: bool = True) -> None:
        self.paths = (gpkg, csv)
        # Kept until stop(): what the second process says, for an error.
        self._stderr: IO[bytes] = tempfile.TemporaryFile()  # noqa: SIM115
        try:
            # -P: only the paths given, never the working folder's modules.
            self._process = subprocess.Popen(
                [sys.executable, "-P", "-m", __name__, str(gpkg), layer, str(csv)],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=self._stderr,
                env=self._environment(synced),
                start_new_session=True,
            )
        except BaseException:
            self._stderr.close()
            raise
        self._answered = False
        # The rows go to the pipe from a thread of their own: a write to a pipe
        # lets go of the GIL, and the build goes on while the rows are sent.
        self._rows: queue.Queue[bytes | None] = queue.Queue(maxsize=_QUEUED_MESSAGES)
        self._ended = False
        self._failed: BaseException | None = None
        self._feeder = threading.Thread(target=self._feed, name="site-table-rows", daemon=True)
        self._feeder.start()

    @staticmethod
    def _environment(synced: bool) -> dict[str, str]:
        """Return the second process's environment: this one's, its ``sys.path``, ``synced``."""
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(p or os.getcwd() for p in sys.path)}
        if not synced:
            env[SQLITE_SYNCHRONOUS] = "OFF"  # GDAL reads its settings from the environment too
        return env

    def write_layer(self, table: pa.Table) -> None:
        """Send the layer's next rows (the first table sets the layer's columns)."""
        self._send(("layer", table))

    def write_csv(self, frame: pd.DataFrame, *, header: bool, bom: bool = False) -> None:
        """Send the CSV's next rows, as :func:`~estates.io.csv_text.append_csv` writes them.

        ``bom`` starts the file with a UTF-8 byte-order mark (before the header).
        """
        self._send(("csv", frame, header, bom))

    def _send(self, message: tuple[Any, ...]) -> None:
        """Queue ``message``, pickled now (the caller may change its frame later).

        Returns at once unless :data:`_QUEUED_MESSAGES` are waiting to be
        sent; raises if the second process has stopped reading.
        """
        if self._ended:
            msg = "the site table's rows were ended already"
            raise TableProcessError(msg)
        if self._failed is not None:
            self.end()
            self._outcome()  # raises what stopped it
        self._rows.put(pickle.dumps(message, protocol=5))

    def end(self) -> None:
        """End the rows: the second process writes the last of them and finishes the files."""
        if not self._ended:
            self._ended = True
            self._rows.put(None)

    def wait(self) -> None:
        """Return once both files are written; raise what writing them raised."""
        self.end()
        self._outcome()

    def _feed(self) -> None:
        """Write the messages queued to the second process, until ``None``."""
        stdin = self._process.stdin
        assert stdin is not None  # opened as a pipe
        try:
            while (data := self._rows.get()) is not None:
                stdin.write(data)
            stdin.close()
        except BaseException as exc:  # the process went away (OSError) or stopped
            self._failed = exc
            with contextlib.suppress(OSError):
                stdin.close()
            while self._rows.get() is not None:  # let _send() and end() return
                pass

    def _outcome(self) -> None:
        """Wait for the second process's answer; raise what failed, here or there."""
        self._feeder.join()
        stdout = self._process.stdout
        if stdout is None or stdout.closed:  # answered already
            return
        try:
            status, value = pickle.load(stdout)
        except (EOFError, OSError, pickle.UnpicklingError) as exc:
            what = "stopped reading the rows" if self._failed else "ended without writing them"
            raise self._died(what) from (self._failed or exc)
        finally:
            stdout.close()
        self._answered = True
        if status != "done":
            raise value
        if self._failed is not None:  # it answered, but not to the rows sent
            raise self._died("stopped reading the rows") from self._failed

    def stop(self) -> None:
        """End the second process: once it has answered it ends on its own; else it is stopped."""
        process = self._process
        if not self._answered and process.poll() is None:
            process.kill()  # the rows it is sent, or their end, are not waited for
        self.end()
        self._feeder.join()
        if process.stdout is not None:
            with contextlib.suppress(OSError):
                process.stdout.close()
        if self._answered:
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(_CLOSE_WAIT_S)
        if process.poll() is None:
            process.kill()
            process.wait()
        self._stderr.close()

    def _died(self, what: str) -> TableProcessError:
        """Return the error for a second process that ``what``, quoting its standard error."""
        code = self._process.wait()
        self._stderr.seek(0, os.SEEK_END)
        self._stderr.seek(max(0, self._stderr.tell() - _STDERR_TAIL))
        said = self._stderr.read().decode("utf-8", "replace").strip()
        return TableProcessError(
            f"the process writing {self.paths[0].name} and {self.paths[1].name} {what} "
            f"(exit code {code})" + (f"; it said: {said}" if said else "")
        )


def _serve(gpkg: Path, layer: str, csv: Path) -> None:
    """Run the second process: write the files from the messages on standard input, answer.

    Answers ``("done", None)`` or ``("failed", exception)`` as a pickle on
    standard output; anything a library prints goes to standard error.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    answer_out = os.fdopen(os.dup(sys.stdout.fileno()), "wb")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    answer: tuple[str, Any]
    try:
        with csv.open("wb") as handle:
            _write_files(_messages(sys.stdin.buffer), gpkg, layer, handle)
        answer = ("done", None)
    except Exception as exc:
        exc.add_note("In the process writing the site table:\n" + traceback.format_exc())
        answer = ("failed", exc)
    try:
        data = pickle.dumps(answer)
    except Exception:  # an exception that cannot be pickled: its type and text
        error = answer[1]
        data = pickle.dumps(("failed", TableProcessError(f"{type(error).__name__}: {error}")))
    with contextlib.suppress(OSError), answer_out:
        answer_out.write(data)


def _messages(source: IO[bytes]) -> Iterator[tuple[Any, ...]]:
    """Yield the messages pickled on ``source`` until it ends."""
    while True:
        try:
            yield pickle.load(source)  # sent by the build that started this process
        except EOFError:
            return


def _write_files(
    messages: Iterator[tuple[Any, ...]], gpkg: Path, layer: str, csv: IO[bytes]
) -> None:
    """Append CSV rows to ``csv`` and write the layer rows as ``layer``, as they come.

    The layer is written by one :func:`write_gpkg_layer` call, from a stream
    of batches that reads the messages: CSV rows met on the way are written
    there and then.
    """
    import pyarrow as pa

    from estates.io.csv_text import append_csv

    first: pa.Table | None = None
    for message in messages:
        if message[0] == "layer":
            first = message[1]
            break
        _, frame, header, bom = message
        if bom:
            csv.write(BOM)
        append_csv(frame, csv, header=header, chunk_rows=CSV_CHUNK_ROWS)
    if first is None:  # no layer rows
        return

    def batches() -> Iterator[pa.RecordBatch]:
        yield from first.to_batches()
        for message in messages:
            if message[0] == "layer":
                yield from message[1].to_batches()
            else:
                _, frame, header, bom = message
                if bom:
                    csv.write(BOM)
                append_csv(frame, csv, header=header, chunk_rows=CSV_CHUNK_ROWS)

    write_gpkg_layer(pa.RecordBatchReader.from_batches(first.schema, batches()), gpkg, layer)


if __name__ == "__main__":
    _serve(Path(sys.argv[1]), sys.argv[2], Path(sys.argv[3]))
