"""Join files larger than memory to boroughs, chunk by chunk: ``estates join``.

For analysts' own large point files (national site lists, address-level
points): a CSV (:mod:`estates.io.point_csv`) or GeoParquet
(:mod:`estates.io.geoparquet`) file is read in chunks, each chunk is joined
with :func:`estates.stages.join.iter_join_batches`, and the result is
appended to a Parquet file, so peak memory depends on the chunk size, not on
the file.

What happens to bad rows and targets
------------------------------------
- A row that cannot be joined (a coordinate that is not a number, only one
  coordinate, too many fields, a geometry that is not a point or not valid
  WKB, coordinates that look swapped) does not stop the file: it is written
  with NA borough and method and its reason in ``join_problem``, which starts
  with its row number as the user sees it (CSV: line number, header = 1;
  Parquet: 1 for the first row). The others are joined.
- The target is written to a hidden temporary file in its own folder and
  renamed over the target only when complete: an error, Ctrl-C or SIGTERM
  (the CLI turns it into an exit) leaves no partial target and removes the
  temporary file.
- The target may not be the source (same path or same file), a folder, or
  anything but a regular file (a device such as ``/dev/full``, a FIFO), and
  its folder must exist: each is refused before anything is read.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import stat
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import geopandas as gpd
import pyarrow as pa
import pyarrow.parquet as pq

from estates.errors import ConfigError, DataValidationError
from estates.io.point_csv import csv_point_columns, iter_csv_points
from estates.logs import counted
from estates.stages.join import iter_join_batches, iter_join_parquet

log = logging.getLogger("estates")

#: Columns added to every row.
JOIN_COLUMNS = (
    "borough_code",
    "borough_name",
    "join_method",
    "borough_distance_m",
    "join_problem",
)
#: How many problems :func:`join_file` lists in its result.
LISTED_PROBLEMS = 10


def check_target(source: Path, target: Path) -> None:
    """Refuse a target that would destroy the source or is not a plain file.

    Raises
    ------
    ConfigError
        If ``target`` is ``source`` (by resolved path or same file), a
        folder, not a regular file (a device, FIFO, socket), or in a folder
        that does not exist. The message gives the fix.
    """
    same = source.resolve() == target.resolve()
    if not same and target.exists():
        with contextlib.suppress(OSError):
            same = os.path.samefile(source, target)
    if same:
        msg = (
            f"{target}: the target is the source file; write the result to another file, "
            f"e.g. {source.with_name(source.stem + '-joined.parquet')}"
        )
        raise ConfigError(msg)
    if target.is_dir():
        example = target / "joined.parquet"
        msg = f"{target} is a folder; give a file name for the result, e.g. {example}"
        raise ConfigError(msg)
    if target.exists() and not stat.S_ISREG(target.stat().st_mode):
        msg = (
            f"{target} is not a regular file (a device, pipe or socket); "
            "give the path of a file to write"
        )
        raise ConfigError(msg)
    folder = target.parent
    if not folder.is_dir():
        msg = f"{target}: folder {folder} does not exist; create it first (mkdir -p {folder})"
        raise ConfigError(msg)


@contextlib.contextmanager
def sigterm_exits() -> Iterator[None]:
    """Within the block, SIGTERM raises ``SystemExit(143)``, so clean-up code runs.

    Python's default for SIGTERM ends the process at once, leaving temporary
    files behind; as an exception, it unwinds through :func:`join_file`,
    which removes its temporary file. Only the main thread can handle
    signals; elsewhere this does nothing.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def stop(signum: int, _frame: object) -> None:
        raise SystemExit(128 + signum)

    previous = signal.signal(signal.SIGTERM, stop)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _file_mode(target: Path) -> int:
    """Return the permissions the target keeps, or a new file gets under the umask."""
    if target.exists():
        return stat.S_IMODE(target.stat().st_mode)
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


def join_file(
    source: Path,
    target: Path,
    boroughs: gpd.GeoDataFrame,
    *,
    chunk_rows: int = 1_000_000,
    nearest_within_m: float = 250.0,
) -> dict[str, Any]:
    r"""Join every point of ``source`` to ``boroughs`` and write ``target`` (Parquet).

    Parameters
    ----------
    source : pathlib.Path
        A CSV (``latitude``/``longitude`` or ``easting``/``northing``
        columns) or a GeoParquet file of points. Only read.
    target : pathlib.Path
        The Parquet file to write: every input column (GeoParquet geometry
        dropped; its coordinates stay in the source), plus :data:`JOIN_COLUMNS`.
        Written to a temporary file beside it and renamed when complete.
    boroughs : geopandas.GeoDataFrame
        Borough polygons with ``borough_code`` and ``borough_name``.
    chunk_rows : int
        Rows per chunk: peak memory grows with it, not with the file.

    Returns
    -------
    dict
        Rows written, counts per ``join_method``, ``problems`` (rows not
        joined, with a ``join_problem``) and ``first_problems``, the first
        :data:`LISTED_PROBLEMS` of those reasons.

    Raises
    ------
    ConfigError
        If the target is refused (see :func:`check_target`).
    DataValidationError
        If the source cannot be read at all.

    Examples
    --------
    >>> import tempfile
    >>> import pandas as pd
    >>> from estates.io.inputs import load_boroughs
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     src = Path(folder) / "points.csv"
    ...     _ = src.write_text("id,latitude,longitude\na,51.5532,-0.1654\nb,,\nc,51.5,east\n")
    ...     counts = join_file(src, Path(folder) / "out.parquet", load_boroughs(), chunk_rows=1)
    ...     table = pd.read_parquet(Path(folder) / "out.parquet")
    >>> counts["rows"], counts["within"], counts["not_located"], counts["problems"]
    (3, 1, 1, 1)
    >>> counts["first_problems"]
    ["row 4: longitude 'east' is not a finite number"]
    >>> table[["id", "borough_name", "join_method"]].values.tolist()
    [['a', 'Camden', 'within'], ['b', <NA>, <NA>], ['c', <NA>, <NA>]]
    """
    if chunk_rows < 1:
        msg = f"chunk_rows must be 1 or more, not {chunk_rows}"
        raise ConfigError(msg)
    check_target(source, target)
    names = dict(zip(boroughs["borough_code"], boroughs["borough_name"], strict=True))
    if source.suffix.lower() in {".parquet", ".geoparquet"}:
        chunks = iter_join_parquet(
            source,
            boroughs,
            chunk_rows=chunk_rows,
            nearest_within_m=nearest_within_m,
            bad_rows="flag",
        )
    else:
        chunks = iter_join_batches(
            iter_csv_points(source, chunk_rows=chunk_rows),
            boroughs,
            crs=csv_point_columns(source)[2],
            name=source.name,
            nearest_within_m=nearest_within_m,
            bad_rows="flag",
        )
    counts: dict[str, Any] = dict.fromkeys(
        ("rows", "within", "nearest", "outside", "not_located", "problems"), 0
    )
    first_problems: list[str] = []
    try:
        fd, name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".partial")
    except OSError as exc:
        msg = f"{target}: cannot write in {target.parent} ({exc.strerror}); choose another folder"
        raise ConfigError(msg) from exc
    os.close(fd)
    partial = Path(name)
    partial.chmod(_file_mode(target))  # mkstemp makes it private; the target is not
    writer: pq.ParquetWriter | None = None
    try:
        for chunk in chunks:
            frame = chunk.copy()
            frame["borough_name"] = frame["borough_code"].map(names).astype("string")
            frame["join_method"] = frame["join_method"].astype("string")
            frame = frame[[c for c in frame.columns if c not in JOIN_COLUMNS] + list(JOIN_COLUMNS)]
            table = pa.Table.from_pandas(frame, preserve_index=False)
            if writer is None:
                writer = pq.ParquetWriter(partial, table.schema)
            writer.write_table(table.cast(writer.schema))
            counts["rows"] += len(frame)
            problems = frame["join_problem"].dropna()
            counts["problems"] += len(problems)
            first_problems += problems.iloc[: LISTED_PROBLEMS - len(first_problems)].tolist()
            method = frame["join_method"][frame["join_problem"].isna()]
            method = method.fillna("not_located").value_counts()
            for key in ("within", "nearest", "outside", "not_located"):
                counts[key] += int(method.get(key, 0))
        if writer is None:
            msg = f"{source.name} has no rows"
            raise DataValidationError(msg)
        writer.close()
        writer = None
        partial.replace(target)
    finally:
        if writer is not None:
            writer.close()
        partial.unlink(missing_ok=True)
    counts["first_problems"] = first_problems
    log.info(
        "joined %s from %s in chunks of %d: %d within, %d nearest, %d outside, "
        "%d not located, %d not joined (see join_problem)",
        counted(counts["rows"], "point"),
        source.name,
        chunk_rows,
        counts["within"],
        counts["nearest"],
        counts["outside"],
        counts["not_located"],
        counts["problems"],
    )
    return counts
