"""Read a (Geo)Parquet file of points batch by batch, as coordinate arrays.

The reader under ``estates join`` and :func:`estates.stages.join.iter_join_parquet`:
memory stays at one batch, whatever the file's size. Plain 2D little-endian
WKB points (what geopandas writes) are decoded straight from the Arrow
buffers, without GEOS objects; anything else goes through
:func:`shapely.from_wkb`. A row whose geometry cannot be read (not a point,
not valid WKB) is not fatal here: its coordinates are NaN and its
``problem`` says why, in words that name the 1-based row; the caller decides
whether to raise or to carry on.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import pyarrow as pa
import shapely

from estates.errors import CRSError, DataValidationError

if TYPE_CHECKING:
    import pyarrow.parquet as pq
    from numpy.typing import NDArray

__all__ = ["PointBatch", "PointParquet", "open_point_parquet"]

# A 2D point in little-endian WKB: byte order, type, x, y (21 bytes).
_POINT_WKB = np.dtype([("order", "u1"), ("type", "<u4"), ("x", "<f8"), ("y", "<f8")])
_POINT_WKB_BYTES = _POINT_WKB.itemsize
_FIX_GEO = "rewrite the file with GeoDataFrame.to_parquet, or pass x_col, y_col and crs"


@dataclass(frozen=True)
class PointBatch:
    """One batch of rows of a point file.

    Attributes
    ----------
    frame : pandas.DataFrame
        The file's columns other than the geometry; the index counts rows from
        the start of the file, from 0.
    row : numpy.ndarray of int64
        Each row's number as the user sees it, for messages: 1 for the first
        data row of a Parquet file; the line number (header = 1) in a CSV.
    x, y : numpy.ndarray
        Coordinates in the file's CRS; NaN where the row has no usable point
        (null, empty, or a ``problem``).
    z : numpy.ndarray or None
        Heights of 3D points (NaN for 2D ones); None when no point has one.
    problem : numpy.ndarray of object
        None for a readable row; else why its geometry was not read, e.g.
        ``"geometry is a LineString, not a Point"``.
    """

    frame: pd.DataFrame
    row: NDArray[np.int64]
    x: NDArray[np.float64]
    y: NDArray[np.float64]
    z: NDArray[np.float64] | None
    problem: NDArray[np.object_]

    @property
    def usable(self) -> NDArray[np.bool_]:
        """Rows with a point to join."""
        return ~(np.isnan(self.x) | np.isnan(self.y))


@dataclass(frozen=True)
class PointParquet:
    """A Parquet file of points, opened: its CRS, row count and batches.

    Build it with :func:`open_point_parquet`.
    """

    path: Path
    crs: Any
    num_rows: int
    geometry: str | None
    x_col: str | None = None
    y_col: str | None = None
    _file: pq.ParquetFile | None = field(default=None, repr=False)

    def batches(self, chunk_rows: int) -> Iterator[PointBatch]:
        """Yield :class:`PointBatch` es of at most ``chunk_rows`` rows, in file order."""
        assert self._file is not None
        offset = 0
        for batch in self._file.iter_batches(batch_size=chunk_rows):
            rows = np.arange(offset, offset + batch.num_rows, dtype=np.int64)
            if self.geometry is None:
                x = _float_column(batch.column(self.x_col))
                y = _float_column(batch.column(self.y_col))
                problem = np.full(len(x), None, dtype=object)
                out = PointBatch(batch.to_pandas(), rows + 1, x, y, None, problem)
            else:
                x, y, z, problem = _decode_points(batch.column(self.geometry))
                frame = batch.drop_columns([self.geometry]).to_pandas()
                out = PointBatch(frame, rows + 1, x, y, z, problem)
            out.frame.index = pd.RangeIndex(offset, offset + batch.num_rows)
            offset += batch.num_rows
            yield out


def open_point_parquet(
    path: str | Path,
    *,
    x_col: str | None = None,
    y_col: str | None = None,
    crs: str | None = None,
) -> PointParquet:
    """Open a GeoParquet file of points, or a Parquet file with coordinate columns.

    Parameters
    ----------
    path : str or pathlib.Path
        The file; only read.
    x_col, y_col : str, optional
        Read coordinates from these columns instead of the geometry. Both or neither.
    crs : str, optional
        CRS of ``x_col``/``y_col``; required with them.

    Returns
    -------
    PointParquet

    Raises
    ------
    DataValidationError
        The file is not Parquet, has no (or unreadable) GeoParquet ``geo``
        metadata, or lacks a named column. The message gives the fix.
    CRSError
        The geometry's CRS is unknown, or ``x_col`` comes without ``crs``.
    """
    import pyarrow.parquet as pq

    path = Path(path)
    try:
        # pre_buffer=False: with it on, pyarrow keeps every row group it has
        # read (memory grows with the file); off, memory stays at one batch.
        parquet = pq.ParquetFile(path, pre_buffer=False)
    except (pa.ArrowException, OSError) as exc:
        first = str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__
        msg = f"{path.name}: cannot read as Parquet ({first}); is it a Parquet file?"
        raise DataValidationError(msg) from exc
    names = parquet.schema_arrow.names
    rows = parquet.metadata.num_rows
    if x_col is not None or y_col is not None:
        missing = [c for c in (x_col, y_col) if c not in names]
        if missing:
            msg = f"{path}: no column {missing[0]!r}; the columns are {names}"
            raise DataValidationError(msg)
        if crs is None:
            msg = f"{path}: give the CRS of {x_col!r}/{y_col!r}, e.g. crs='EPSG:4326'"
            raise CRSError(msg)
        return PointParquet(path, crs, rows, None, x_col, y_col, parquet)
    column, file_crs = _geo_metadata(parquet.schema_arrow.metadata, names, path)
    return PointParquet(path, file_crs, rows, column, None, None, parquet)


def _geo_metadata(
    metadata: dict[bytes, bytes] | None, names: list[str], path: Path
) -> tuple[str, Any]:
    """Name and CRS of the primary geometry column of a GeoParquet file."""
    if not metadata or b"geo" not in metadata:
        msg = f"{path}: no GeoParquet 'geo' metadata; {_FIX_GEO}"
        raise DataValidationError(msg)
    try:
        geo = json.loads(metadata[b"geo"])
        column = geo["primary_column"]
        spec = geo["columns"][column]
        if not isinstance(spec, dict):
            raise TypeError(type(spec).__name__)
    except (ValueError, KeyError, TypeError) as exc:
        msg = f"{path}: its GeoParquet 'geo' metadata is not readable ({exc!r}); {_FIX_GEO}"
        raise DataValidationError(msg) from exc
    if column not in names:
        msg = f"{path}: the 'geo' metadata names column {column!r}, which is absent; {_FIX_GEO}"
        raise DataValidationError(msg)
    encoding = spec.get("encoding", "WKB")
    if not isinstance(encoding, str) or encoding.upper() != "WKB":
        msg = f"{path}: geometry column {column!r} is {encoding}-encoded; write it as WKB"
        raise DataValidationError(msg)
    if "crs" not in spec:
        return column, "OGC:CRS84"  # the GeoParquet default
    if spec["crs"] is None:
        msg = f"{path}: geometry column {column!r} has an unknown CRS; declare one and rewrite"
        raise CRSError(msg)
    return column, spec["crs"]


def _float_column(column: pa.Array) -> NDArray[np.float64]:
    """Return a numeric column as float64, NaN for null."""
    return np.asarray(column.to_numpy(zero_copy_only=False), dtype=np.float64).copy()


def _decode_points(
    wkb: pa.Array,
) -> tuple[NDArray, NDArray, NDArray | None, NDArray[np.object_]]:
    """x, y, z (or None) and problems of a WKB column."""
    if isinstance(wkb, pa.ChunkedArray):
        wkb = wkb.combine_chunks()
    plain = _plain_wkb_points(wkb)
    if plain is not None:  # the usual case, decoded without GEOS objects
        x, y = plain
        return x, y, None, np.full(len(x), None, dtype=object)
    raw = wkb.to_numpy(zero_copy_only=False)
    geoms = shapely.from_wkb(raw, on_invalid="ignore")
    n = len(raw)
    problem = np.full(n, None, dtype=object)
    null = wkb.is_null().to_numpy(zero_copy_only=False)
    unreadable = ~null & shapely.is_missing(geoms)
    problem[unreadable] = "geometry is not valid WKB"
    type_id = shapely.get_type_id(geoms)
    not_point = (type_id != 0) & (type_id != -1)
    for i in np.flatnonzero(not_point):
        problem[i] = f"geometry is a {geoms[i].geom_type}, not a Point"
    x = np.full(n, np.nan)
    y = np.full(n, np.nan)
    points = np.flatnonzero(type_id == 0)
    points = points[~shapely.is_empty(geoms[points])]
    has_z = shapely.has_z(geoms[points])
    xyz = shapely.get_coordinates(geoms[points], include_z=True)
    x[points], y[points] = xyz[:, 0], xyz[:, 1]
    z = None
    if has_z.any():
        z = np.full(n, np.nan)
        z[points[has_z]] = xyz[has_z, 2]
    return x, y, z, problem


def _plain_wkb_points(wkb: pa.Array) -> tuple[NDArray, NDArray] | None:
    """Decode a WKB column of plain 2D little-endian points straight from its buffers.

    Returns x and y (NaN for null and empty points), the very values
    :func:`shapely.from_wkb` would give; or None when any value is something
    else (3D, big-endian, not a point...), for :func:`shapely.from_wkb`.
    """
    if wkb.type not in (pa.binary(), pa.large_binary()):
        return None
    n = len(wkb)
    wide = wkb.type == pa.large_binary()
    offsets = np.frombuffer(
        wkb.buffers()[1],
        dtype=np.int64 if wide else np.int32,
        count=n + 1,
        offset=wkb.offset * (8 if wide else 4),
    )
    present = ~wkb.is_null().to_numpy(zero_copy_only=False)
    x = np.full(n, np.nan)
    y = np.full(n, np.nan)
    if not present.any():
        return x, y
    lengths = np.diff(offsets)
    # Every point 21 bytes and every null 0: the points lie back to back.
    if not (np.all(lengths[present] == _POINT_WKB_BYTES) and np.all(lengths[~present] == 0)):
        return None
    records = np.frombuffer(
        wkb.buffers()[2], dtype=_POINT_WKB, count=int(present.sum()), offset=int(offsets[0])
    )
    if not ((records["order"] == 1).all() and (records["type"] == 1).all()):
        return None
    x[present] = records["x"]
    y[present] = records["y"]
    if (np.isnan(x) != np.isnan(y)).any():  # half-empty points: leave them to GEOS
        return None
    return x, y
