"""The join of a GeoDataFrame of sites: :func:`join_boroughs`."""

from __future__ import annotations

import itertools
import logging
import math
import threading
from collections import deque
from collections.abc import Callable, Generator, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TYPE_CHECKING, NoReturn, TypeVar

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely

from estates.errors import DataValidationError
from estates.machine import usable_cores
from estates.stages.join._exact import _MISSING, _OUTSIDE, _WITHIN, _join_points_xy
from estates.stages.join._grid import _grid_for, _sample_range
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
    _read_xy,
    _reproject_rows,
    _source_crs,
    _summary,
    _swapped,
    _swapped_message,
    _transform_xy,
    _usable_points,
)
from estates.stages.join._source_cells import _SRC_EXACT, _SRC_OUTSIDE, _source_grid, _SourceGrid

if TYPE_CHECKING:
    from numpy.typing import NDArray

logger = logging.getLogger("estates")

_Item = TypeVar("_Item")
_Result = TypeVar("_Result")

_CHUNK_ROWS = 1 << 17
# The method and the distance of a row by its code in the source-CRS table,
# read as an unsigned byte (see _code_bytes): 254 (-2) outside, 255 (-1) left
# for the exact join (missing until then), any other a borough position
# (within, at 0 m). A take from 256 entries by byte is four to five times
# cheaper than a take by negative index or a masked write.
_METHOD_OF_BYTE = np.full(256, _WITHIN, dtype=np.int8)
_METHOD_OF_BYTE[[254, 255]] = _OUTSIDE, _MISSING
_DISTANCE_OF_BYTE = np.zeros(256)
_DISTANCE_OF_BYTE[[254, 255]] = np.nan
_METHOD_OF_BYTE.flags.writeable = False
_DISTANCE_OF_BYTE.flags.writeable = False
# With several threads, no chunk gets fewer rows than this.
_MIN_THREAD_ROWS = 1 << 15
# The most threads a join takes by default: reading the points is bound by
# memory, and two already keep it busy.
_MAX_DEFAULT_THREADS = 4
# On one thread, the rows the cell table leaves are joined in batches of at
# least this many (or all of them): at 1e6 sites, one call instead of eight.
_EXACT_BATCH_ROWS = 1 << 16


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
    threads: int | None = None,
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
    threads : int, optional
        Worker threads; default: one per core this process may use
        (:func:`estates.machine.usable_cores`), at most four. Sites go in
        chunks of 131,072 (so temporaries stay small), and fewer than 65,536
        sites are joined on the calling thread whatever ``threads`` says.
        With several, the workers read and settle chunks side by side
        (shapely and numpy let go of the GIL), and join the rows the cell
        table leaves, those near a boundary; with fewer than about 65,000
        such rows, the calling thread joins those while the workers read.
        ``threads=1`` keeps everything on the calling thread: give it when
        calling the join from threads or processes of your own (as
        :func:`join_boroughs_dask` does for dask's partitions), so their
        threads do not multiply.

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
    if threads is None:
        threads = min(usable_cores(), _MAX_DEFAULT_THREADS)
    clash = [c for c in ADDED_COLUMNS if c in sites.columns]
    if clash:
        msg = f"sites already has {', '.join(map(repr, clash))}; drop them before joining again"
        raise DataValidationError(msg)
    src = _source_crs(sites.crs, "sites")
    index = _index_boroughs(boroughs)
    geoms = np.asarray(sites.geometry.array)
    n = len(geoms)
    transformer = _bng_transformer(src)
    local = threading.local()
    spare = [index]  # the first worker takes it; any other gets a copy
    spare_lock = threading.Lock()
    # Points outside London whose swapped x and y fall in the boroughs' box:
    # checked once every thread is done (few or none).
    box = _extent_in(transformer, index)
    maybe_swapped: list[NDArray[np.int64]] = [np.empty(0, dtype=np.int64)]

    def settle(bounds: tuple[int, int]) -> _ExactRows | None:
        """Settle what the cell table can; return the usable rows left for the exact join.

        None if a geometry of the chunk is not a point. A row with no usable
        point has NaN for x or y, which the table sends to its border: it is
        left exact, and only such rows are asked what they are.
        """
        lo, hi = bounds
        part = geoms[lo:hi]
        read = _read_points(part)
        if read is None:
            return None
        # 3D points (reprojected with their z, as to_crs does) always go exact.
        x, y, has_z = read
        if source is None:
            rows = np.arange(len(part))
        else:
            code = source.lookup(x, y)
            if has_z.any():
                code[has_z] = _SRC_EXACT
            # Whole-slice writes, cheaper than masked ones: rows left exact are
            # overwritten by the exact join, or stay missing.
            np.maximum(code, -1, out=borough[lo:hi])
            byte = _code_bytes(code)
            np.take(_METHOD_OF_BYTE, byte, out=method[lo:hi])
            np.take(_DISTANCE_OF_BYTE, byte, out=distance[lo:hi])
            if swap_on_table:
                # Few rows or none have swapped x and y in the boroughs' box:
                # test the whole slice, then keep those the table put outside.
                far_rows = np.flatnonzero(_in_box_swapped(x, y, box))
                maybe_swapped.append(lo + far_rows[code[far_rows] == _SRC_OUTSIDE])
            rows = np.flatnonzero(code == _SRC_EXACT)
            x, y, has_z = x[rows], y[rows], has_z[rows]
        usable = _usable_points(part, rows, x, y)
        if usable is None:
            return None
        if not usable.all():
            keep = np.flatnonzero(usable)
            rows, x, y, has_z = rows[keep], x[keep], y[keep], has_z[keep]
        return _ExactRows(lo + rows, x, y, has_z)

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

    def refuse_non_points() -> NoReturn:
        """Raise, naming the first row whose geometry is not a point."""
        _point_rows(geoms, sites.index, "sites index")  # raises, with the count
        msg = "internal check failed: a geometry that is not a point was not named"
        raise AssertionError(msg)

    def run(
        settled: Iterator[_ExactRows | None],
        hand: Callable[[_ExactRows], object],
        batch_rows: int,
        drain: Callable[[], object] = lambda: None,
    ) -> None:
        """Hand the rows each settled chunk leaves exact on, in batches of ``batch_rows``.

        ``settled`` gives what :func:`settle` returned for each chunk, in the
        chunks' order. Errors come in that order, whatever the batches and
        threads: before a chunk that holds a geometry that is not a point is
        refused, the rows held back from earlier chunks are handed on, and
        ``drain`` waits for the rows handed to other threads to be joined.
        """
        held: list[_ExactRows] = []
        count = 0
        for work in settled:
            if work is None:
                if held:
                    hand(_merge_rows(held))
                drain()
                refuse_non_points()
            held.append(work)
            count += len(work.rows)
            if count >= batch_rows:
                hand(_merge_rows(held))
                held, count = [], 0
        if held:
            hand(_merge_rows(held))

    # Built once, if worth it, and read by every chunk and thread. Counts and
    # samples take every row for a usable point: they only size the work.
    n_exact = n
    source = _source_grid(src, transformer, index, nearest_within_m, n_exact)
    swap_on_table = source is not None and _table_may_swap(source, box)
    positions = _positions(len(index))
    if source is None:
        borough = np.full(n, -1, dtype=positions)
        method = np.full(n, _MISSING, dtype=np.int8)
        distance = np.full(n, np.nan)
    else:  # every chunk writes all its rows: nothing to fill first
        borough = np.empty(n, dtype=positions)
        method = np.empty(n, dtype=np.int8)
        distance = np.empty(n)
    grid = None
    sample = _sample_range(n)
    sample_xy = _read_xy(geoms[sample])
    placed = None if sample_xy is None else _usable_points(geoms, sample, *sample_xy)
    if sample_xy is None or placed is None:
        refuse_non_points()
    sample_x, sample_y = sample_xy
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
    if threads == 1 or len(pieces) == 1:
        # One thread: the exact join pays a fixed cost a call (a pass per
        # borough, a few dozen numpy calls), so it takes the rows of many
        # chunks at once.
        run(map(settle, pieces), join_exact, _EXACT_BATCH_ROWS)
    else:
        # shapely's accessors and numpy let go of the GIL: the workers read
        # and settle chunks side by side, a few ahead, handed back in order.
        with ThreadPoolExecutor(max_workers=threads) as pool:
            settled = _in_order(pool, settle, pieces, ahead=2 * threads)
            pending: deque[Future[None]] = deque()

            def hand(work: _ExactRows) -> None:
                pending.append(pool.submit(join_exact, work))
                if len(pending) > 2 * threads:  # bound the rows in flight
                    pending.popleft().result()

            def drain() -> None:
                while pending:
                    pending.popleft().result()

            try:
                if n_exact < 2 * _MIN_THREAD_ROWS:
                    # Few rows left exact: handing them over between threads
                    # costs more than their join, which stays on this thread.
                    run(settled, join_exact, _EXACT_BATCH_ROWS)
                else:
                    run(settled, hand, 1, drain)
                    drain()
            finally:  # after an error, the work not yet started is not started
                settled.close()
                for future in pending:
                    future.cancel()
    _refuse_swapped(geoms, np.sort(np.concatenate(maybe_swapped)), sites.index, transformer, index)
    logger.info(_summary(len(index), _count_methods(method)))
    return _assemble(sites, index, borough, method, distance)


def _in_order(
    pool: ThreadPoolExecutor,
    work: Callable[[_Item], _Result],
    items: Sequence[_Item],
    *,
    ahead: int,
) -> Generator[_Result, None, None]:
    """Yield ``work(item)`` for each of ``items``, in order, run on ``pool``.

    Up to ``ahead`` calls are submitted before their results are taken, so the
    workers stay busy while the results waiting stay few (``Executor.map``
    submits every call at once). Closing the generator, or an error from a
    call, cancels the calls not started.
    """
    queue: deque[Future[_Result]] = deque()
    rest = iter(items)
    try:
        queue.extend(pool.submit(work, item) for item in itertools.islice(rest, ahead))
        while queue:
            result = queue.popleft().result()
            queue.extend(pool.submit(work, item) for item in itertools.islice(rest, 1))
            yield result
    finally:
        for future in queue:
            future.cancel()


def _code_bytes(code: NDArray[np.integer]) -> NDArray[np.uint8]:
    """Return the table's codes as unsigned bytes: -2 and -1 are 254 and 255.

    int8 codes (fewer than 127 boroughs) are viewed, not copied; wider ones
    are first cut to 0 for any borough, which changes neither the method nor
    the distance they stand for.
    """
    if code.dtype != np.int8:
        code = np.minimum(code, 0).astype(np.int8)
    return code.view(np.uint8)


def _merge_rows(parts: list[_ExactRows]) -> _ExactRows:
    """Return the rows of several chunks as one batch, in their order."""
    if len(parts) == 1:
        return parts[0]
    return _ExactRows(*(np.concatenate(field) for field in zip(*parts, strict=True)))


def _table_may_swap(source: _SourceGrid, box: tuple[float, float, float, float]) -> bool:
    """Whether a point on the cell table can fall in ``box`` once its x and y swap.

    Rows the table settles lie on it, so when the table's extent, swapped, misses
    the boroughs' box, none of them needs the swapped-coordinates check: so it is
    for London in WGS84 (longitudes near 0, latitudes near 51.5). The extent is
    taken one cell wider on each side, and a NaN box counts as reachable.
    """
    x0, y0, x1, y1 = source.extent()
    bx0, by0, bx1, by1 = box
    return not (x1 < by0 or x0 > by1 or y1 < bx0 or y0 > bx1)


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
