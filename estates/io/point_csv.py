"""Read a CSV file of points larger than memory, chunk by chunk, as coordinate arrays.

The CSV reader of ``estates join``. A file holds ``latitude`` and
``longitude`` (WGS84) or ``easting`` and ``northing`` (EPSG:27700). One bad
row does not stop the file: a coordinate that is not a number, a row with
only one coordinate, or a row with more fields than the header comes back
with NaN coordinates and a ``problem`` naming the value; the caller keeps it
(with its line number, the header being line 1) and joins the rest. Both
coordinates blank (or ``n/a`` and the like) is a site without a location,
not a problem.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from estates.crs import BNG, WGS84
from estates.errors import DataValidationError
from estates.io.csv_reader import MISSING_MARKERS
from estates.io.detect import detect_site_columns
from estates.io.excel import check_not_workbook
from estates.io.geoparquet import PointBatch

if TYPE_CHECKING:
    from numpy.typing import NDArray

__all__ = ["csv_point_columns", "iter_csv_points"]

_SKIPPED = re.compile(r"Skipping line (\d+): expected (\d+) fields, saw (\d+)")


def csv_point_columns(path: Path) -> tuple[str, str, str]:
    """Return the x column, the y column and their CRS, from a CSV file's header.

    The columns are found by the site files' detector
    (:func:`estates.io.detect.detect_site_columns`): ``latitude``/``Latitude``/``LAT``
    and ``longitude``/``LON`` (WGS84), or ``easting``/``northing`` and their
    common names (EPSG:27700). Latitude/longitude win when a file has both.

    Raises
    ------
    DataValidationError
        If the file cannot be read, is a workbook, has no coordinate columns,
        or has two candidates for one (the message names both).
    """
    check_not_workbook(path)
    try:
        header = pd.read_csv(path, nrows=0, encoding="utf-8-sig").columns
    except (OSError, ValueError, UnicodeDecodeError) as exc:
        msg = f"{path.name}: cannot read as CSV ({exc})"
        raise DataValidationError(msg) from exc
    found = detect_site_columns([str(h) for h in header], required=(), source=path.name).chosen
    if "latitude" in found:
        return found["longitude"], found["latitude"], WGS84
    if "easting" in found:
        return found["easting"], found["northing"], BNG
    msg = (
        f"{path.name}: no coordinate columns; expected latitude and longitude (WGS84) "
        "or easting and northing (EPSG:27700)"
    )
    raise DataValidationError(msg)


def iter_csv_points(path: Path, *, chunk_rows: int = 1_000_000) -> Iterator[PointBatch]:
    """Yield the rows of a CSV file of points as :class:`PointBatch` es, in file order.

    Every column is kept as text. Row numbers (``PointBatch.row``) are line
    numbers, the header being line 1 (a value quoted across lines shifts
    them). Blank lines are skipped, as they hold no record.

    Raises
    ------
    DataValidationError
        If the file cannot be read as CSV at all (the message gives the line).
    """
    x_col, y_col, _ = csv_point_columns(path)
    reader = pd.read_csv(
        path,
        dtype=str,
        keep_default_na=False,
        chunksize=chunk_rows,
        encoding="utf-8-sig",
        encoding_errors="replace",
        on_bad_lines="warn",
        skip_blank_lines=False,
    )
    line = 2  # the first data line
    start = 0
    while True:
        try:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always", pd.errors.ParserWarning)
                chunk = next(reader, None)
        except (pd.errors.ParserError, UnicodeDecodeError) as exc:
            msg = f"{path.name}: cannot read line {line} onwards ({exc}); is it truncated?"
            raise DataValidationError(msg) from exc
        skipped = _skipped_lines(caught)
        if chunk is None and not skipped:
            return
        chunk = chunk if chunk is not None else pd.DataFrame(columns=pd.Index([x_col, y_col]))
        batch, line = _batch(chunk, skipped, line, start, x_col, y_col)
        start += len(batch.frame)
        if len(batch.frame):
            yield batch


def _skipped_lines(caught: list[warnings.WarningMessage]) -> dict[int, str]:
    """Lines pandas skipped for having too many fields, with the problem of each."""
    skipped = {}
    for warning in caught:
        for number, want, saw in _SKIPPED.findall(str(warning.message)):
            skipped[int(number)] = (
                f"{saw} fields but the header has {want}; quote values that contain a comma"
            )
    return skipped


def _batch(  # noqa: PLR0917 - a private helper with one caller
    chunk: pd.DataFrame,
    skipped: dict[int, str],
    line: int,
    start: int,
    x_col: str,
    y_col: str,
) -> tuple[PointBatch, int]:
    """Give the chunk's rows their line numbers, put skipped lines back, parse coordinates.

    Returns the batch and the line the next chunk starts at.
    """
    gone = np.array(sorted(skipped), dtype=np.int64)
    span = np.arange(line, line + len(chunk) + len(gone), dtype=np.int64)
    good_lines = span[~np.isin(span, gone)][: len(chunk)]
    text = chunk.astype(object).where(chunk.notna(), "")
    blank = (text == "").all(axis=1).to_numpy()  # a blank line: no record
    filler = pd.DataFrame("", index=range(len(gone)), columns=chunk.columns, dtype=object)
    frame = pd.concat([text[~blank], filler], ignore_index=True)
    rows = np.r_[good_lines[~blank], gone]
    problem = np.array([None] * int((~blank).sum()) + [skipped[int(n)] for n in gone], dtype=object)
    order = np.argsort(rows, kind="stable")
    frame, rows, problem = frame.iloc[order], rows[order], problem[order]
    x, x_problem = _numbers(frame[x_col], x_col)
    y, y_problem = _numbers(frame[y_col], y_col)
    problem = np.where(problem == None, x_problem, problem)  # noqa: E711 - elementwise
    problem = np.where(problem == None, y_problem, problem)  # noqa: E711
    one_blank = np.isnan(x) != np.isnan(y)
    for i in np.flatnonzero(one_blank & (problem == None)):  # noqa: E711
        blank_col, other = (x_col, y_col) if np.isnan(x[i]) else (y_col, x_col)
        problem[i] = f"{blank_col} is blank but {other} is not"
    bad = problem != None  # noqa: E711
    x[bad] = y[bad] = np.nan
    frame.index = pd.RangeIndex(start, start + len(frame))
    last = max(int(good_lines.max(initial=line - 1)), int(gone.max(initial=line - 1)))
    return PointBatch(frame, rows, x, y, None, problem), last + 1


def _numbers(text: pd.Series, column: str) -> tuple[NDArray[np.float64], NDArray[np.object_]]:
    """Parse a text column; NaN and a problem where a value is not a finite number."""
    cells = text.fillna("").astype(str).str.strip()
    missing = cells.str.lower().isin(MISSING_MARKERS).to_numpy()
    numbers = pd.to_numeric(cells.where(~missing, None), errors="coerce")
    values = numbers.to_numpy(dtype=float, copy=True)
    problem = np.full(len(cells), None, dtype=object)
    bad = ~missing & ~np.isfinite(values)
    for i in np.flatnonzero(bad):
        problem[i] = f"{column} {cells.iloc[i]!r} is not a finite number"
    values[bad] = np.nan
    return values, problem
