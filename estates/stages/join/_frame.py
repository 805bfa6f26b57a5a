"""The join of a GeoDataFrame of sites: :func:`join_boroughs`."""

from __future__ import annotations

import logging
import math
import threading
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TYPE_CHECKING

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely

from estates.errors import DataValidationError
from estates.stages.join._exact import _MISSING, _OUTSIDE, _WITHIN, _join_points_xy
from estates.stages.join._grid import _grid_for, _sample_rows
from estates.stages.join._index import _BoroughIndex, _index_boroughs
from estates.stages.join._points import (
    ADDED_COLUMNS,
    _bng_transformer,
    _category_column,
    _check_options,
    _check_placed,
    _count_methods,
    _ExactRows,
    _extent_in,
    _in_box_swapped,
    _method_column,
    _point_rows,
    _positions,
    _read_points,
    _reproject_rows,
    _source_crs,
    _summary,
    _swapped,
    _swapped_message,
    _transform_xy,
)
from estates.stages.join._source_cells import _SRC_EXACT, _SRC_OUTSIDE, _source_grid

if TYPE_CHECKING:
    from numpy.typing import NDArray

logger = logging.getLogger("estates")

_CHUNK_ROWS = 1 << 17
# The method of a row by its code in the source-CRS table, indexed by
# min(code, 0): -2 outside, -1 left for the exact join (missing until then),
# 0 within (any borough).
_METHOD_OF_CODE = np.array([_WITHIN, _OUTSIDE, _MISSING], dtype=np.int8)
# With several threads, no chunk gets fewer rows than this.
_MIN_THREAD_ROWS = 1 << 15


def _chunks(n: int, chunk_rows: int, threads: int) -> list[tuple[int, int]]:
    """Split ``range(n)`` into chunks for the workers.

    At most ``chunk_rows`` rows each, and enough chunks for every thread to
    have one, unless that would make them smaller than ``_MIN_THREAD_ROWS``.
    """
    pieces = max(math.ceil(n / chunk_rows), min(threads, n // _MIN_THREAD_ROWS), 1)
    size = max(math.ceil(n / pieces), 1)
    return [(lo, min(lo + size, n)) for lo in range(0, n, size)]


def join_boroughs(
    sites: gpd.GeoDataFrame,
    boroughs: gpd.GeoDataFrame,
    *,
    nearest_within_m: float = 250.0,
    threads: int = 1,
) -> gpd.GeoDataFrame:
    """Add the borough each site lies in, with a nearest-borough fallback.

    A site takes the borough whose polygon it lies strictly within, exactly as
    ``geopandas.sjoin(sites.to_crs(27700), boroughs.to_crs(27700),
    predicate="within")`` decides. A site in no polygon (on a boundary, on the
    Thames, which the boundaries leave out, or outside London) takes the
    nearest borough if one lies within ``nearest_within_m`` metres; farther,
    it is outside London, and its distance is not measured. Distances are
    measured in British National Grid.

    Parameters
    ----------
    sites : geopandas.GeoDataFrame
        Point sites in any CRS; left unchanged. Rows with a missing (None) or
        empty geometry are kept and get NA.
    boroughs : geopandas.GeoDataFrame
        Polygons with a GSS code and a name column, in any CRS; left
        unchanged. The columns are found as :func:`estates.load_boroughs`
        finds them: ``borough_code``/``borough_name``, ``code``/``name``,
        ``GSS_CODE``/``NAME``, ONS ``LAD20CD``/``LAD20NM`` (any year)...
    nearest_within_m : float, default 250.0
        Fallback radius in metres (EPSG:27700) for sites in no polygon: a site
        at most this far from a borough is joined to it.
    threads : int, default 1
        Worker threads. Sites go in chunks of 131,072 (so temporaries stay
        small). With several, the calling thread reads each chunk's points
        (shapely holds the GIL for that) while the workers join the rows the
        cell table leaves, those near a boundary; with fewer than about
        65,000 such rows the join stays on one thread.

    Returns
    -------
    geopandas.GeoDataFrame
        A new frame: the sites with the same index, order, CRS and geometry,
        plus four columns:

        - ``borough_code``, ``borough_name`` (categorical, NaN for none):
          the categories are the boroughs' codes and names in the order of
          ``boroughs``, every borough whether or not a site lies in it. A
          categorical costs one byte a site; ``.astype("string")`` gives
          plain text, with NA for none;
        - ``join_method`` (categorical of :data:`JOIN_METHODS`):
          ``"within"``, ``"nearest"``, ``"outside"``, or NaN for a missing or
          empty geometry;
        - ``borough_distance_m`` (float): 0.0 within, metres to the nearest
          borough for ``"nearest"``; NaN for ``"outside"`` (more than
          ``nearest_within_m`` from every borough: not measured) and for no
          geometry.

        A site inside several overlapping polygons, or equidistant from
        several boroughs (a site on a shared boundary is at distance 0 from
        both), takes the borough that comes first in ``boroughs``.

    Raises
    ------
    CRSError
        If ``sites`` or ``boroughs`` has no CRS.
    DataValidationError
        If a site is not a point (the message names the first index), a
        borough is not a polygon, ``boroughs`` lacks a column, ``sites``
        already has one of the added columns, a site cannot be reprojected,
        or a site far outside London lies in a borough once its x and y are
        swapped (latitude given as x: the message names the first).
    ConfigError
        If ``nearest_within_m`` or ``threads`` is out of range.

    See Also
    --------
    iter_join_parquet : the same join, streamed over a GeoParquet file.

    Examples
    --------
    Two square boroughs side by side, in EPSG:27700 metres:

    >>> import geopandas as gpd
    >>> from shapely import Point, box
    >>> boroughs = gpd.GeoDataFrame(
    ...     {"borough_code": ["E09000001", "E09000002"], "borough_name": ["West", "East"]},
    ...     geometry=[box(0, 0, 100, 100), box(100, 0, 200, 100)],
    ...     crs="EPSG:27700",
    ... )
    >>> sites = gpd.GeoDataFrame(
    ...     {"site": ["a", "b", "c", "d", "e"]},
    ...     geometry=[Point(50, 50), Point(100, 50), Point(150, 300), Point(150, 900), None],
    ...     crs="EPSG:27700",
    ... )
    >>> joined = join_boroughs(sites, boroughs)
    >>> joined[["site", "borough_code", "join_method", "borough_distance_m"]]
      site borough_code join_method  borough_distance_m
    0    a    E09000001      within                 0.0
    1    b    E09000001     nearest                 0.0
    2    c    E09000002     nearest               200.0
    3    d          NaN     outside                 NaN
    4    e          NaN         NaN                 NaN

    Site ``b`` lies on the shared edge, so it is within neither square; both
    are 0 m away and the first one wins. The input is left as it was:

    >>> list(sites.columns)
    ['site', 'geometry']
    """
    if not isinstance(sites, gpd.GeoDataFrame):
        msg = f"sites must be a GeoDataFrame, not {type(sites).__name__}"
        raise DataValidationError(msg)
    _check_options(nearest_within_m, threads)
    clash = [c for c in ADDED_COLUMNS if c in sites.columns]
    if clash:
        msg = f"sites already has {', '.join(map(repr, clash))}; drop them before joining again"
        raise DataValidationError(msg)
    src = _source_crs(sites.crs, "sites")
    index = _index_boroughs(boroughs)
    geoms = np.asarray(sites.geometry.array)
    n = len(geoms)
    borough = np.full(n, -1, dtype=_positions(len(index)))
    method = np.full(n, _MISSING, dtype=np.int8)
    distance = np.full(n, np.nan)
    transformer = _bng_transformer(src)
    local = threading.local()
    spare = [index]  # the first worker takes it; any other gets a copy
    spare_lock = threading.Lock()
    # Points outside London whose swapped x and y fall in the boroughs' box:
    # checked once every thread is done (few or none).
    box = _extent_in(transformer, index)
    maybe_swapped: list[NDArray[np.int64]] = [np.empty(0, dtype=np.int64)]

    def settle(bounds: tuple[int, int]) -> _ExactRows:
        """Settle what the cell table can; return the rows left for the exact join."""
        lo, hi = bounds
        part = geoms[lo:hi]
        x, y, exact = read(part)
        if source is None:
            rows = np.flatnonzero(exact)
            return _ExactRows(lo + rows, x[rows], y[rows], shapely.has_z(part[rows]))
        # 3D points (reprojected with their z, as to_crs does) always go exact.
        has_z = shapely.has_z(part)
        code = source.lookup(x, y)
        code[~exact | has_z] = _SRC_EXACT
        # Whole-slice writes, cheaper than masked ones: rows left exact are
        # overwritten by the exact join.
        np.maximum(code, -1, out=borough[lo:hi])
        np.take(_METHOD_OF_CODE, np.minimum(code, 0), out=method[lo:hi])
        np.copyto(distance[lo:hi], 0.0, where=code >= 0)
        # Few rows or none have swapped x and y in the boroughs' box: test the
        # whole slice, then keep those the table put outside.
        far_rows = np.flatnonzero(_in_box_swapped(x, y, box))
        maybe_swapped.append(lo + far_rows[code[far_rows] == _SRC_OUTSIDE])
        rows = np.flatnonzero(exact & (code == _SRC_EXACT))
        return _ExactRows(lo + rows, x[rows], y[rows], has_z[rows])

    def join_exact(work: _ExactRows) -> None:
        """Reproject the rows and join them exactly, with this thread's own index."""
        at = work.rows
        if at.size == 0:
            return
        if not hasattr(local, "index"):
            with spare_lock:
                local.index = spare.pop() if spare else index.copy()
        bx, by = _reproject_rows(geoms, work, transformer)
        _check_placed(
            bx,
            by,
            np.ones(len(at), dtype=bool),
            labels=sites.index[at],
            what="sites index",
            describe=lambda i: geoms[at[i]].wkt,
        )
        borough[at], method[at], distance[at] = _join_points_xy(
            bx, by, local.index, nearest_within_m=nearest_within_m, grid=grid
        )
        far = np.flatnonzero(method[at] == _OUTSIDE)
        maybe_swapped.append(at[far[_in_box_swapped(work.x[far], work.y[far], box)]])

    def read(
        part: NDArray[np.object_],
    ) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.bool_]]:
        """x, y and the usable mask of ``part``; raise, naming the first, if a row is no point."""
        xy = _read_points(part)
        if xy is None:
            _point_rows(geoms, sites.index, "sites index")  # raises, with the count
            msg = "internal check failed: a geometry that is not a point was not named"
            raise AssertionError(msg)
        return xy

    # Built once, if worth it, and read by every chunk and thread. Counts and
    # samples take every row for a usable point: they only size the work.
    n_exact = n
    source = _source_grid(src, transformer, index, nearest_within_m, n_exact)
    grid = None
    sample = _sample_rows(np.ones(n, dtype=bool))
    sample_x, sample_y, placed = read(geoms[sample])
    if source is None:
        sample_x, sample_y = _transform_xy(sample_x, sample_y, placed, transformer)
        grid = _grid_for(sample_x, sample_y, n_exact, index)
    elif sample.size:
        # The rows the table leaves are near a boundary or on the river: many
        # of them are in no polygon, and the grid finds their nearest borough
        # fastest.
        left = source.lookup(sample_x, sample_y) == _SRC_EXACT
        n_exact = round(n_exact * float(np.mean(left)))
        sample_x, sample_y = _transform_xy(sample_x, sample_y, placed & left, transformer)
        grid = _grid_for(sample_x[left], sample_y[left], n_exact, index)

    pieces = _chunks(n, _CHUNK_ROWS, threads)
    # Threads pay only for many exact rows: below that, handing rows over
    # between threads costs more than the work.
    if threads == 1 or len(pieces) == 1 or n_exact < 2 * _MIN_THREAD_ROWS:
        for piece in pieces:
            join_exact(settle(piece))
    else:
        # Reading the points holds the GIL (shapely's accessors do); the
        # exact join mostly does not. So this thread reads chunk after chunk
        # while the workers join the rows it hands them.
        with ThreadPoolExecutor(max_workers=threads) as pool:
            pending: deque[Future[None]] = deque()
            for piece in pieces:
                pending.append(pool.submit(join_exact, settle(piece)))
                if len(pending) > 2 * threads:  # bound the rows in flight
                    pending.popleft().result()
            for future in pending:
                future.result()
    _refuse_swapped(geoms, np.sort(np.concatenate(maybe_swapped)), sites.index, transformer, index)
    logger.info(_summary(len(index), _count_methods(method)))
    return _assemble(sites, index, borough, method, distance)


def _refuse_swapped(
    geoms: NDArray[np.object_],
    rows: NDArray[np.int64],
    labels: pd.Index,
    transformer: pyproj.Transformer | None,
    index: _BoroughIndex,
) -> None:
    """Raise if any of ``rows`` (outside London) lies in a borough once x and y swap."""
    if rows.size == 0:
        return
    x, y = shapely.get_x(geoms[rows]), shapely.get_y(geoms[rows])
    swapped = np.flatnonzero(_swapped(x, y, transformer, index))
    if swapped.size:
        first = swapped[0]
        what = "sites index"
        msg = _swapped_message(what, labels[rows[first]], x[first], y[first], swapped.size)
        raise DataValidationError(msg)


def _copy_on_write() -> bool:
    """Whether pandas copies shared data on write (always so from pandas 3)."""
    if int(pd.__version__.split(".", 1)[0]) >= 3:
        return True
    return pd.options.mode.copy_on_write is True


def _assemble(
    sites: gpd.GeoDataFrame,
    index: _BoroughIndex,
    borough: NDArray[np.signedinteger],
    method: NDArray[np.int8],
    distance: NDArray[np.float64],
) -> gpd.GeoDataFrame:
    """Return a new frame: the sites plus the added columns.

    Under copy-on-write a shallow copy is safe, and it spares a copy of every
    column; without it the sites are copied deep, so that changing the result
    can never change them.
    """
    joined = sites.copy(deep=not _copy_on_write())
    # Two columns, two codes arrays: a change to one must not show in the other.
    joined["borough_code"] = pd.Series(_category_column(index.codes, borough), index=sites.index)
    names = _category_column(index.names, borough.copy())
    joined["borough_name"] = pd.Series(names, index=sites.index)
    joined["join_method"] = pd.Series(_method_column(method), index=sites.index)
    joined["borough_distance_m"] = pd.Series(distance, index=sites.index, copy=False)
    return joined
