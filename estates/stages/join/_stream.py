"""Streaming: GeoParquet in, joined pandas frames out."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj

from estates.crs import BNG
from estates.errors import ConfigError, DataValidationError
from estates.io.geoparquet import PointBatch, open_point_parquet
from estates.logs import counted
from estates.stages.join._exact import _MISSING, _OUTSIDE, _join_points_xy
from estates.stages.join._grid import _grid_for, _sample_rows
from estates.stages.join._index import _BoroughIndex, _index_boroughs
from estates.stages.join._points import (
    _bng_transformer,
    _check_options,
    _count_methods,
    _method_column,
    _source_crs,
    _string_column,
    _summary,
    _swapped,
    _transform_xy,
)

logger = logging.getLogger("estates")

#: Values of ``iter_join_parquet(bad_rows=...)``.
BAD_ROWS = ("raise", "flag")


def iter_join_parquet(
    path: str | Path,
    boroughs: gpd.GeoDataFrame,
    *,
    chunk_rows: int = 1_000_000,
    x_col: str | None = None,
    y_col: str | None = None,
    crs: str | None = None,
    nearest_within_m: float = 250.0,
    bad_rows: str = "raise",
) -> Iterator[pd.DataFrame]:
    """Stream a (Geo)Parquet file of point sites and yield borough-joined batches.

    Memory stays bounded by ``chunk_rows``: the file is read batch by batch
    (:meth:`pyarrow.parquet.ParquetFile.iter_batches`, without pre-buffering,
    which would keep every row group read), each batch's WKB geometry is
    decoded (plain 2D points straight from the Arrow buffers, anything else
    with :func:`shapely.from_wkb`), reprojected to EPSG:27700 and joined
    exactly as :func:`join_boroughs` does.

    Parameters
    ----------
    path : str or pathlib.Path
        A GeoParquet file with a WKB point geometry column; or any Parquet
        file with coordinate columns, given by ``x_col``, ``y_col`` and ``crs``.
        The file is only read.
    boroughs : geopandas.GeoDataFrame
        As for :func:`join_boroughs`; left unchanged.
    chunk_rows : int, default 1_000_000
        Rows per batch.
    x_col, y_col : str, optional
        Read coordinates from these columns instead of the geometry (NaN or
        null marks a missing point). Both or neither.
    crs : str, optional
        CRS of ``x_col``/``y_col``, e.g. ``"EPSG:4326"``; required with them.
    nearest_within_m : float, default 250.0
        As for :func:`join_boroughs`.
    bad_rows : {"raise", "flag"}, default "raise"
        What a row that cannot be joined does: a geometry that is not a point
        or not valid WKB, a point that cannot be reprojected, or one whose x
        and y look swapped (far outside London, in a borough once swapped).
        ``"raise"`` stops at the first with a :class:`DataValidationError`
        naming its 1-based row; ``"flag"`` joins the other rows and gives the
        bad ones NA borough and method and the reason, after their 1-based
        row number (``"row 7: geometry is a LineString, not a Point"``), in a
        ``join_problem`` column (NA on good rows), which every batch then has.

    Yields
    ------
    pandas.DataFrame
        One frame per batch: the file's non-geometry columns, then
        ``borough_code``, ``join_method`` and ``borough_distance_m`` as in
        :func:`join_boroughs`. The index counts rows from the start of the file.

    Raises
    ------
    CRSError
        If the geometry's CRS is unknown, or ``x_col`` comes without ``crs``.
    DataValidationError
        If the file has no usable geometry or a column is missing; with
        ``bad_rows="raise"``, at the first bad row (the message gives its
        1-based row number).
    ConfigError
        If ``chunk_rows`` or ``nearest_within_m`` is out of range.

    See Also
    --------
    join_boroughs : the in-memory join.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> import geopandas as gpd
    >>> from shapely import Point, box
    >>> boroughs = gpd.GeoDataFrame(
    ...     {"borough_code": ["E09000001"], "borough_name": ["Square"]},
    ...     geometry=[box(0, 0, 100, 100)], crs="EPSG:27700")
    >>> sites = gpd.GeoDataFrame({"site": ["a", "b", "c"]},
    ...     geometry=[Point(50, 50), None, Point(50, 500)], crs="EPSG:27700")
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     sites.to_parquet(Path(folder) / "sites.parquet")
    ...     batches = list(iter_join_parquet(Path(folder) / "sites.parquet", boroughs,
    ...                                      chunk_rows=2))
    >>> [len(b) for b in batches]
    [2, 1]
    >>> pd.concat(batches)
      site borough_code join_method  borough_distance_m
    0    a    E09000001      within                 0.0
    1    b         <NA>         NaN                 NaN
    2    c         <NA>     outside                 NaN
    """
    if isinstance(chunk_rows, bool) or not isinstance(chunk_rows, int) or chunk_rows < 1:
        msg = f"chunk_rows must be a whole number >= 1, not {chunk_rows!r}"
        raise ConfigError(msg)
    _check_options(nearest_within_m, 1)
    _check_bad_rows(bad_rows)
    if (x_col is None) != (y_col is None):
        msg = "give both x_col and y_col, or neither"
        raise ConfigError(msg)
    path = Path(path)
    index = _index_boroughs(boroughs)
    source = open_point_parquet(path, x_col=x_col, y_col=y_col, crs=crs)
    where = f"{path} columns {x_col}/{y_col}" if x_col is not None else str(path)
    yield from _join_batches(
        source.batches(chunk_rows),
        index,
        src=_source_crs(source.crs, where),
        num_rows=source.num_rows,
        name=path.name,
        nearest_within_m=nearest_within_m,
        bad_rows=bad_rows,
    )


def iter_join_batches(
    batches: Iterable[PointBatch],
    boroughs: gpd.GeoDataFrame,
    *,
    crs: Any,
    name: str,
    num_rows: int | None = None,
    nearest_within_m: float = 250.0,
    bad_rows: str = "raise",
) -> Iterator[pd.DataFrame]:
    """Join batches of points read by any reader, e.g. :mod:`estates.io.geoparquet`.

    The engine of :func:`iter_join_parquet`, for readers of other formats
    (``estates join`` reads CSV files with it).

    Parameters
    ----------
    batches : iterable of estates.io.geoparquet.PointBatch
        Coordinates in ``crs``, the rows' other columns, row numbers and
        per-row problems.
    boroughs : geopandas.GeoDataFrame
        As for :func:`join_boroughs`; left unchanged.
    crs : str or pyproj.CRS
        CRS of the coordinates.
    name : str
        The file's name, for messages.
    num_rows : int, optional
        Rows in all; sizes the cell grid (default: the first batch's).
    nearest_within_m, bad_rows
        As for :func:`iter_join_parquet`.

    Yields
    ------
    pandas.DataFrame
        As :func:`iter_join_parquet` does.
    """
    _check_options(nearest_within_m, 1)
    _check_bad_rows(bad_rows)
    yield from _join_batches(
        batches,
        _index_boroughs(boroughs),
        src=_source_crs(crs, name),
        num_rows=num_rows,
        name=name,
        nearest_within_m=nearest_within_m,
        bad_rows=bad_rows,
    )


def _check_bad_rows(bad_rows: str) -> None:
    if bad_rows not in BAD_ROWS:
        msg = f"bad_rows must be one of {', '.join(map(repr, BAD_ROWS))}, not {bad_rows!r}"
        raise ConfigError(msg)


def _join_batches(
    batches: Iterable[PointBatch],
    index: _BoroughIndex,
    *,
    src: pyproj.CRS,
    num_rows: int | None,
    name: str,
    nearest_within_m: float,
    bad_rows: str,
) -> Iterator[pd.DataFrame]:
    transformer = _bng_transformer(src)
    grid = None
    first_batch = True
    counts = np.zeros(4, dtype=np.int64)
    for batch in batches:
        rows = batch.frame.index
        problem = batch.problem.copy()
        usable = batch.usable
        x, y = _transform_xy(batch.x, batch.y, usable, transformer, batch.z)
        unplaced = usable & ~(np.isfinite(x) & np.isfinite(y))
        problem[unplaced] = [
            f"({batch.x[i]}, {batch.y[i]}) cannot be placed in British National Grid ({BNG}); "
            "check the CRS and that x/y are not swapped"
            for i in np.flatnonzero(unplaced)
        ]
        x[unplaced] = y[unplaced] = np.nan
        if first_batch:  # the first batch tells whether the grid is worth building
            sample = _sample_rows(usable & ~unplaced)
            total = len(rows) if num_rows is None else num_rows
            grid = _grid_for(x[sample], y[sample], total, index)
            first_batch = False
        borough, method, distance = _join_points_xy(
            x, y, index, nearest_within_m=nearest_within_m, grid=grid
        )
        far = np.flatnonzero(method == _OUTSIDE)
        swapped = far[_swapped(batch.x[far], batch.y[far], transformer, index)]
        problem[swapped] = (
            "far outside London, but in a borough with x and y swapped; "
            "are latitude and longitude (or easting and northing) swapped?"
        )
        bad = np.flatnonzero(problem != None)  # noqa: E711 - elementwise on objects
        if bad.size and bad_rows == "raise":
            first = int(bad[0])
            such = counted(int(bad.size), "such row")
            msg = f"{name} row {batch.row[first]}: {problem[first]}; {such} here"
            raise DataValidationError(msg)
        borough[bad], method[bad], distance[bad] = -1, _MISSING, np.nan
        counts += _count_methods(method)
        frame = batch.frame
        frame["borough_code"] = pd.Series(_string_column(index.codes, borough), index=rows)
        frame["join_method"] = pd.Series(_method_column(method), index=rows)
        frame["borough_distance_m"] = distance
        if bad_rows == "flag":
            said = problem.copy()
            said[bad] = [f"row {batch.row[i]}: {problem[i]}" for i in bad]
            frame["join_problem"] = pd.Series(said, index=rows, dtype="string")
        yield frame
    logger.info(_summary(len(index), counts))
