"""The site table's GeoPackage layer, written by a second process while the build goes on.

GDAL writes a GeoPackage layer holding Python's global interpreter lock: a
thread cannot write it beside the build's own work, and the ``sites`` layer
of a million sites takes about six seconds. A build in parts (``--chunk-rows``)
therefore hands the layer to a second process (``python -m
estates.io.layer_process``) as it begins writing its site table. The build
appends each part's rows to an Arrow stream file, as it does when it writes
the layer itself (:class:`estates.io.tables.SiteTableWriter`), and tells the
second process on its standard input how many bytes of the file are complete;
the second process reads the rows as they come and writes them through
``pyogrio.write_arrow``, so the layer is finished shortly after the last part,
while the build writes its pages and pictures (the build waits for it before
it adds the GeoPackage's other layers). The file is the same: the same rows,
in the same batches, through the same call.

The second process imports only pyarrow and pyogrio, reads the stream a batch
(:data:`BATCH_ROWS` rows) at a time, and runs in a session of its own, so a
terminal's Ctrl-C reaches only the build, which stops it. If the build ends
without saying the stream is complete (it failed, or was killed), the second
process stops with an error instead of writing a truncated layer. If the
second process cannot start, or fails, :meth:`LayerProcess.wait` says why
and the build writes the layer itself from the same file.
"""

from __future__ import annotations

import contextlib
import io
import os
import signal
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import IO

import pyarrow as pa

from estates.machine import child_environment

__all__ = ["BATCH_ROWS", "LayerProcess", "write_gpkg_layer"]

#: Rows per Arrow batch of the stream file: what the second process holds at a time.
BATCH_ROWS = 16_384
#: How much of the second process's standard error a failure quotes.
_STDERR_TAIL = 2000
#: The files SQLite may keep beside a database, by the ends of their names.
_SQLITE_FILES = ("-journal", "-wal", "-shm")
#: What the build writes on the second process's standard input once the stream is complete.
_END = "end"


def write_gpkg_layer(rows: pa.RecordBatchReader, path: Path, layer: str, crs: str) -> None:
    """Write Arrow rows (last column ``geom``: WKB points in ``crs``) as a new GeoPackage.

    Whatever is at ``path`` goes first, with any journal SQLite left beside
    it (a writer that was stopped half-way leaves one, which SQLite would
    otherwise replay into the new file).
    """
    import pyogrio

    for leftover in (path, *(path.with_name(path.name + end) for end in _SQLITE_FILES)):
        leftover.unlink(missing_ok=True)
    pyogrio.write_arrow(
        rows,
        path,
        layer=layer,
        driver="GPKG",
        geometry_name="geom",
        geometry_type="Point",
        crs=crs,
    )


class LayerProcess:
    """A second process writing ``layer`` of ``gpkg`` from the Arrow stream file ``stream``.

    :meth:`ready` after each part appended to ``stream`` (its complete length
    in bytes), :meth:`end` once the stream is closed, then :meth:`wait`;
    :meth:`stop` if the layer will not be finished. Raises :class:`OSError`
    if the process cannot be started.
    """

    def __init__(self, stream: Path, gpkg: Path, layer: str, crs: str) -> None:
        self._stderr: IO[bytes] = tempfile.TemporaryFile()  # noqa: SIM115
        try:
            # -P: only the paths given, never the working folder's modules.
            self._process = subprocess.Popen(
                [sys.executable, "-P", "-m", __name__, str(stream), str(gpkg), layer, crs],
                stdin=subprocess.PIPE,
                stdout=subprocess.DEVNULL,
                stderr=self._stderr,
                env=_child_environment(),
                start_new_session=True,
                text=True,
            )
        except BaseException:
            self._stderr.close()
            raise

    def ready(self, length: int) -> None:
        """Say that the first ``length`` bytes of the stream file are written."""
        self._say(str(length))

    def end(self, length: int) -> None:
        """Say the stream is complete at ``length`` bytes; :meth:`wait` for the layer."""
        self._say(str(length))
        self._say(_END)
        with contextlib.suppress(OSError):
            if self._process.stdin is not None:
                self._process.stdin.close()

    def wait(self) -> str | None:
        """Wait for the process to end; return None if it wrote the layer, or why it did not."""
        code = self._process.wait()
        said = self._said()
        self._stderr.close()
        if code == 0:
            return None
        return f"exit code {code}" + (f"; it said: {said}" if said else "")

    def stop(self) -> None:
        """Stop the process (the layer will not be finished); harmless once it has ended."""
        with contextlib.suppress(OSError):
            if self._process.stdin is not None:
                self._process.stdin.close()
        if self._process.poll() is None:
            self._process.kill()
        self._process.wait()
        self._stderr.close()

    def _say(self, line: str) -> None:
        stdin = self._process.stdin
        # A process that has died is found out by wait(), from its exit code.
        with contextlib.suppress(OSError, ValueError):
            if stdin is not None:
                stdin.write(line + "\n")
                stdin.flush()

    def _said(self) -> str:
        self._stderr.seek(0, os.SEEK_END)
        self._stderr.seek(max(0, self._stderr.tell() - _STDERR_TAIL))
        return self._stderr.read().decode("utf-8", "replace").strip()


class _GrowingFile(io.RawIOBase):
    """Read a file as it is written: wait for each length the build reports on ``lengths``.

    A read past the last reported length waits for the next; after
    :data:`_END` it is the end of the file. Input that ends before
    :data:`_END` (the build is gone) raises :class:`EOFError`.
    """

    def __init__(self, path: Path, lengths: IO[str]) -> None:
        super().__init__()
        self._file = path.open("rb", buffering=0)
        self._lengths = lengths
        self._position = 0
        self._ready = 0
        self._ended = False
        #: What stopped a read: Arrow and GDAL report it only as a stream that failed.
        self.failure: EOFError | None = None

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        try:
            return self._read_into(buffer)
        except EOFError as exc:
            self.failure = exc
            raise

    def _read_into(self, buffer: memoryview) -> int:
        while self._position >= self._ready:
            if self._ended:
                return 0
            line = self._lengths.readline().strip()
            if line == _END:
                self._ended = True
            elif line:
                self._ready = int(line)
            else:
                msg = "the build stopped before the layer's rows were complete"
                raise EOFError(msg)
        wanted = min(len(buffer), self._ready - self._position)
        read = self._file.readinto(memoryview(buffer)[:wanted])
        if not read:
            msg = f"the stream file ends at {self._position} bytes, before {self._ready}"
            raise EOFError(msg)
        self._position += read
        return read

    def close(self) -> None:
        self._file.close()
        super().close()


def _child_environment() -> dict[str, str]:
    """Return the second process's environment, with this process's GeoPackage sync setting."""
    from estates.io.tables import SQLITE_SYNCHRONOUS, geopackage_writes_synced

    env = child_environment()
    if not geopackage_writes_synced():
        env[SQLITE_SYNCHRONOUS] = "OFF"
    return env


def _serve(stream: Path, gpkg: Path, layer: str, crs: str) -> None:
    """Write ``layer`` of ``gpkg`` from ``stream`` as its lengths come in on standard input."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    growing = _GrowingFile(stream, sys.stdin)
    with io.BufferedReader(growing, buffer_size=1 << 20) as source:
        try:
            rows = pa.ipc.open_stream(pa.PythonFile(source, mode="r"))
            write_gpkg_layer(rows, gpkg, layer, crs)
        except Exception as exc:
            if growing.failure is not None:  # say what it was, not only that the stream failed
                raise growing.failure from exc
            raise


if __name__ == "__main__":
    _serve(Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3], sys.argv[4])
