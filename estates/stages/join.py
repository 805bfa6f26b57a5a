"""Join sites to London boroughs: point in polygon, with a nearest-borough fallback.

The borough boundaries (ONS, clipped to the coastline and the river) leave the
Thames out, so a site on a river bank can fall between two polygons. A site in
no polygon takes the nearest borough when it lies within ``nearest_within_m``
metres of one (``join_method="nearest"``); farther away it is ``"outside"``.

How the join runs
-----------------
The points are reprojected once to British National Grid (EPSG:27700) with
:class:`pyproj.Transformer` on raw coordinate arrays, in chunks, so that
temporaries stay bounded. The answer matches ``geopandas.sjoin`` on
``to_crs(27700)`` frames exactly: the same transformer on the same numbers,
the same GEOS predicates.

By default points are joined directly: a bounding-box prefilter and
``shapely.contains_xy`` on prepared polygons, then one query of a GEOS tree of
boundary segments for each point in no polygon.

When a sample says that many points (over ``_GRID_MIN_OUTSIDE``) will be in no
polygon, the join first builds a grid of 256 m cells (128 m for very many
points) over the boroughs' extent plus 10 km, once per call, shared by every
chunk and thread. It is built coarse to fine, from 4096 m cells down. Each cell
keeps the boundary segments that can be nearest to any of its points (a segment
farther from the centre than the nearest one plus the cell's diagonal cannot
be). A cell whose nearest boundary is farther than half its diagonal holds no
boundary, so all its points share the location of its centre, tested once with
GEOS. A point then costs a table look-up: only points in cells that a boundary
crosses are tested one by one, and the distance of a point in no polygon is the
minimum over its cell's few segments, computed with the same arithmetic as GEOS
(``Distance::pointToSegment``), so equal distances stay equal; near-ties
between two boroughs and points on a boundary are settled by GEOS itself.

A point in no polygon and farther than ``nearest_within_m`` from every
borough is ``"outside"`` with no distance (NaN): one GEOS tree query with that
radius tells it apart, and only points within the radius are measured.

Sites in a geographic CRS (WGS84, as they usually arrive) mostly skip the
reprojection: :func:`join_boroughs` classifies square cells of that CRS,
coarse to fine down to 1/1024 degree, by their image in EPSG:27700. A cell
whose reprojected centre is farther from every boundary segment than the
cell's image can reach (the reprojection's stretch, measured over the table,
plus 1% and a margin) has one answer for all its points: within the borough
the centre is within, or outside when no borough is within
``nearest_within_m`` plus that reach. Those points take the answer of their
cell; the others (about 5% over London's bounding box: near a boundary, or
within reach of the fallback radius) are reprojected and joined exactly as
above. The table takes about 0.1 s to build and is kept per CRS, boroughs
and radius, so it is built only for calls with many points (or kept from one).

Among equidistant boroughs (a point on a shared boundary is 0 m from both),
and among overlapping polygons, the one first in the boroughs frame wins.
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import math
import threading
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow as pa
import pyproj
import shapely

from estates.crs import BNG
from estates.errors import ConfigError, CRSError, DataValidationError

if TYPE_CHECKING:
    from numpy.typing import NDArray

__all__ = ["JOIN_METHODS", "iter_join_parquet", "join_boroughs", "join_boroughs_dask"]

logger = logging.getLogger("estates")

#: Values of the ``join_method`` column, besides NA for a site with no geometry.
JOIN_METHODS = ("within", "nearest", "outside")
#: Columns the boroughs frame must have, besides its geometry.
BOROUGH_COLUMNS = ("borough_code", "borough_name")
#: Columns :func:`join_boroughs` adds to the sites.
ADDED_COLUMNS = ("borough_code", "borough_name", "join_method", "borough_distance_m")

# Codes of the int8 method array returned by _join_points_xy.
_MISSING, _WITHIN, _NEAREST, _OUTSIDE = -1, 0, 1, 2

_CHUNK_ROWS = 1 << 17
# A join builds the cell grid (0.1 to 0.3 s) first when it expects this many
# points in no polygon, judging from a sample of this many points.
_GRID_MIN_OUTSIDE = 50_000
_GRID_SAMPLE = 4096
# With several threads, no chunk gets fewer rows than this.
_MIN_THREAD_ROWS = 1 << 15
# The grid covers the boroughs' extent plus this margin, metres...
_GRID_MARGIN_M = 10_000.0
# ... unless that takes more cells than this (London takes about 310,000).
_GRID_MAX_CELLS = 1 << 22
# Grid cells halve from 4096 m down to 256 m, or to 128 m when at least
# _FINE_GRID_MIN_OUTSIDE points are expected in no polygon (finer cells cost
# twice the build and save a quarter of the time per point).
_TOP_CELL_M = 4096.0
_CELL_M = 256.0
_FINE_CELL_M = 128.0
_FINE_GRID_MIN_OUTSIDE = 500_000
# An outside cell with at most this many candidate segments is not refined.
_LEAF_CANDIDATES = 8
# A point in a cell with more candidate segments than this asks the GEOS tree.
_MAX_CELL_CANDIDATES = 256
# (cell, segment) pairs per block while the grid is built.
_PAIR_BUDGET = 1 << 18
# A 2D point in little-endian WKB: byte order, type, x, y (21 bytes).
_POINT_WKB = np.dtype([("order", "u1"), ("type", "<u4"), ("x", "<f8"), ("y", "<f8")])
_POINT_WKB_BYTES = _POINT_WKB.itemsize
# Points per block when (point, segment) pairs are expanded.
_PAIR_BLOCK = 1 << 14
# Two boroughs closer than this (metres) to being equidistant from a point, or
# a point this close to a boundary, are settled with GEOS distances.
_TIE_TOLERANCE_M = 1e-6
# Beyond this fallback radius (metres), points in no polygon are measured
# with a nearest query, not from all the segments within the radius.
_NEAR_QUERY_MAX_M = 2_000.0
# Slack (metres) on that radius, far above rounding in GEOS distances.
_NEAR_SLACK_M = 1e-3
# Kinds of grid cell.
_CELL_INSIDE, _CELL_OUTSIDE, _CELL_STRADDLE = 0, 1, 2


# --------------------------------------------------------------------------
# The boroughs, indexed in British National Grid
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class _BoroughIndex:
    """Borough polygons in EPSG:27700, prepared, with their boundary segments.

    Build it with :func:`_index_boroughs`. Its GEOS objects are not shared
    between threads: :meth:`copy` gives each worker thread its own.
    """

    codes: NDArray[np.object_]
    names: NDArray[np.object_]
    wkb: NDArray[np.object_]
    geoms: NDArray[np.object_]
    bounds: NDArray[np.float64]
    seg_ax: NDArray[np.float64]
    seg_ay: NDArray[np.float64]
    seg_bx: NDArray[np.float64]
    seg_by: NDArray[np.float64]
    seg_dx: NDArray[np.float64]
    seg_dy: NDArray[np.float64]
    seg_len2: NDArray[np.float64]
    seg_len: NDArray[np.float64]
    seg_label: NDArray[np.int32]
    seg_tree: shapely.STRtree

    def __len__(self) -> int:
        return len(self.geoms)

    def copy(self) -> _BoroughIndex:
        """Return an index with its own GEOS geometries, tree and prepared state."""
        return _build_index(self.codes, self.names, self.wkb)


def _index_boroughs(boroughs: gpd.GeoDataFrame) -> _BoroughIndex:
    """Check ``boroughs`` and index it in EPSG:27700; ``boroughs`` is left unchanged."""
    if not isinstance(boroughs, gpd.GeoDataFrame):
        msg = f"boroughs must be a GeoDataFrame, not {type(boroughs).__name__}"
        raise DataValidationError(msg)
    missing = [c for c in BOROUGH_COLUMNS if c not in boroughs.columns]
    if missing:
        msg = (
            f"boroughs has no {', '.join(repr(c) for c in missing)} column; "
            f"it needs {' and '.join(BOROUGH_COLUMNS)} plus a polygon geometry "
            "(rename the bundled 'code'/'name' properties)"
        )
        raise DataValidationError(msg)
    if len(boroughs) == 0:
        msg = "boroughs is empty; it needs at least one polygon"
        raise DataValidationError(msg)
    if boroughs.crs is None:
        msg = (
            "boroughs have no CRS; declare it with .set_crs(...) "
            "(the bundled boundaries are EPSG:4326)"
        )
        raise CRSError(msg)
    geoms = np.asarray(boroughs.geometry.array)
    type_ids = shapely.get_type_id(geoms)
    bad = ~np.isin(type_ids, (3, 6)) | shapely.is_empty(geoms)
    if bad.any():
        first = int(np.flatnonzero(bad)[0])
        geom = geoms[first]
        what = "missing" if geom is None else "empty" if geom.is_empty else f"a {geom.geom_type}"
        msg = (
            f"boroughs row {boroughs.index[first]!r} "
            f"(borough_code {boroughs['borough_code'].iloc[first]!r}): geometry is {what}; "
            "each borough needs a non-empty Polygon or MultiPolygon"
        )
        raise DataValidationError(msg)
    for column in BOROUGH_COLUMNS:
        nulls = boroughs[column].isna().to_numpy()
        if nulls.any():
            first = int(np.flatnonzero(nulls)[0])
            msg = f"boroughs row {boroughs.index[first]!r}: {column} is missing; fill it in"
            raise DataValidationError(msg)
    # geopandas' own to_crs, so the polygons match an sjoin on to_crs(27700) exactly.
    bng = np.asarray(boroughs.geometry.to_crs(BNG).array)
    codes = np.array([str(v) for v in boroughs["borough_code"]], dtype=object)
    names = np.array([str(v) for v in boroughs["borough_name"]], dtype=object)
    return _build_index(codes, names, shapely.to_wkb(bng))


def _build_index(
    codes: NDArray[np.object_], names: NDArray[np.object_], wkb: NDArray[np.object_]
) -> _BoroughIndex:
    geoms = shapely.from_wkb(wkb)  # our own objects: preparing them touches no input
    shapely.prepare(geoms)
    parts = [shapely.get_rings(shapely.get_parts(g)) for g in geoms]
    starts: list[NDArray[np.float64]] = []
    ends: list[NDArray[np.float64]] = []
    labels: list[NDArray[np.int32]] = []
    for k, rings in enumerate(parts):
        for ring in rings:
            xy = shapely.get_coordinates(ring)
            a, b = xy[:-1], xy[1:]
            keep = (a[:, 0] != b[:, 0]) | (a[:, 1] != b[:, 1])  # drop zero-length
            starts.append(a[keep])
            ends.append(b[keep])
            labels.append(np.full(int(keep.sum()), k, dtype=np.int32))
    a = np.concatenate(starts)
    b = np.concatenate(ends)
    dx = b[:, 0] - a[:, 0]
    dy = b[:, 1] - a[:, 1]
    tree = shapely.STRtree(shapely.linestrings(np.stack([a, b], axis=1)))
    index = _BoroughIndex(
        codes=codes,
        names=names,
        wkb=wkb,
        geoms=geoms,
        bounds=shapely.bounds(geoms),
        seg_ax=np.ascontiguousarray(a[:, 0]),
        seg_ay=np.ascontiguousarray(a[:, 1]),
        seg_bx=np.ascontiguousarray(b[:, 0]),
        seg_by=np.ascontiguousarray(b[:, 1]),
        seg_dx=dx,
        seg_dy=dy,
        seg_len2=dx * dx + dy * dy,
        seg_len=np.sqrt(dx * dx + dy * dy),
        seg_label=np.concatenate(labels),
        seg_tree=tree,
    )
    # GEOS builds trees and point locators lazily, on first use: do it now.
    centre = shapely.points(index.bounds[:, [0, 2]].mean(axis=1), index.bounds[:, [1, 3]].mean(1))
    tree.query_nearest(centre[:1])
    for k in range(len(geoms)):
        shapely.contains_xy(geoms[k], shapely.get_x(centre[k]), shapely.get_y(centre[k]))
    return index


# --------------------------------------------------------------------------
# Geometry helpers on raw arrays
# --------------------------------------------------------------------------


def _locate(x: NDArray[np.float64], y: NDArray[np.float64], index: _BoroughIndex) -> NDArray:
    """Return the lowest position of a borough strictly containing each point, or -1.

    "Strictly" as in ``within``: a point on a boundary is in no polygon.
    """
    found = np.full(len(x), -1, dtype=np.int32)
    for k in range(len(index)):
        x0, y0, x1, y1 = index.bounds[k]
        cand = np.flatnonzero((found < 0) & (x >= x0) & (x <= x1) & (y >= y0) & (y <= y1))
        if cand.size:
            hit = shapely.contains_xy(index.geoms[k], x[cand], y[cand])
            found[cand[hit]] = k
    return found


def _segment_distance_exact(
    px: NDArray[np.float64], py: NDArray[np.float64], seg: NDArray, index: _BoroughIndex
) -> NDArray[np.float64]:
    """Distance from points to segments, with the arithmetic of GEOS ``pointToSegment``.

    Every rounding step is the one GEOS takes, so the values equal GEOS
    distances to the borough polygons bit for bit (the tests check this
    against ``sjoin_nearest``). GEOS's ``(A.y - p.y) * dx - (A.x - p.x) * dy``
    is written ``qx * dy - qy * dx`` below: negation is exact, so only the sign
    differs, and the sign is dropped.
    """
    ax, ay = index.seg_ax[seg], index.seg_ay[seg]
    dx, dy, len2 = index.seg_dx[seg], index.seg_dy[seg], index.seg_len2[seg]
    qx = px - ax
    qy = py - ay
    r = qx * dx
    r += qy * dy
    r /= len2
    dist = qx * dy
    dist -= qy * dx
    np.abs(dist, out=dist)
    dist /= len2
    dist *= index.seg_len[seg]
    before = r <= 0.0
    end = np.flatnonzero(before | (r >= 1.0))
    if end.size:
        at_a = before[end]
        ex = np.where(at_a, qx[end], px[end] - index.seg_bx[seg[end]])
        ey = np.where(at_a, qy[end], py[end] - index.seg_by[seg[end]])
        dist[end] = np.sqrt(ex * ex + ey * ey)
    return dist


def _segment_distance_fast(
    px: NDArray[np.float64], py: NDArray[np.float64], seg: NDArray, index: _BoroughIndex
) -> NDArray[np.float64]:
    """Distance from points to segments, accurate to rounding; for cell centres."""
    ax, ay, dx, dy = index.seg_ax[seg], index.seg_ay[seg], index.seg_dx[seg], index.seg_dy[seg]
    r = np.clip(((px - ax) * dx + (py - ay) * dy) / index.seg_len2[seg], 0.0, 1.0)
    ex = px - ax - r * dx
    ey = py - ay - r * dy
    return np.sqrt(ex * ex + ey * ey)


def _expand(
    start: NDArray[np.int64], count: NDArray[np.int64], rows: NDArray
) -> tuple[NDArray, NDArray, NDArray]:
    """Expand CSR rows into pairs: (row of each pair, position in data, first pair of row)."""
    cnt = count[rows]
    first = np.cumsum(cnt) - cnt
    rep = np.repeat(np.arange(len(rows)), cnt)
    pos = np.arange(int(cnt.sum()), dtype=np.int64) - np.repeat(first - start[rows], cnt)
    return rep, pos, first


def _csr(rows: NDArray, n: int) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    count = np.bincount(rows, minlength=n).astype(np.int64)
    return np.cumsum(count) - count, count


def _group_cells(ix: NDArray[np.int64], iy: NDArray[np.int64]) -> tuple[NDArray, NDArray, NDArray]:
    """Return the unique (ix, iy) cells and the inverse map (dense count if the span is small)."""
    x0, y0 = int(ix.min()), int(iy.min())
    nx, ny = int(ix.max()) - x0 + 1, int(iy.max()) - y0 + 1
    if nx * ny <= max(4 * len(ix), 1 << 20):
        flat = (ix - x0) * ny + (iy - y0)
        occupied = np.flatnonzero(np.bincount(flat, minlength=nx * ny))
        lookup = np.empty(nx * ny, dtype=np.int64)
        lookup[occupied] = np.arange(len(occupied))
        return occupied // ny + x0, occupied % ny + y0, lookup[flat]
    cells, inverse = np.unique(np.stack([ix, iy], axis=1), axis=0, return_inverse=True)
    return cells[:, 0], cells[:, 1], inverse.reshape(-1)


class _Grid(NamedTuple):
    """Square cells over the boroughs' extent plus a margin, built once per join.

    Cell ``(ix, iy)`` covers ``[ix, ix + 1) * cell_m`` by ``[iy, iy + 1) * cell_m``
    in EPSG:27700; ``node[(ix - ix0) * ny + (iy - iy0)]`` is its node. A node
    is INSIDE a borough (``label``: every point of the cell is within it),
    OUTSIDE every borough, or STRADDLE (a boundary may cross the cell).
    OUTSIDE and STRADDLE nodes list, in CSR form (``start``, ``count``,
    ``cand``), the boundary segments that can be nearest to a point of the cell.
    """

    cell_m: float
    ix0: int
    iy0: int
    nx: int
    ny: int
    node: NDArray[np.int32]
    kind: NDArray[np.int8]
    label: NDArray[np.int32]
    start: NDArray[np.int64]
    count: NDArray[np.int64]
    cand: NDArray[np.int32]


def _refine(
    cx: NDArray[np.float64],
    cy: NDArray[np.float64],
    parent: NDArray[np.int64],
    *,
    parents: tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.int32]],
    reach: float,
    index: _BoroughIndex,
) -> tuple[NDArray[np.float64], NDArray[np.int64], NDArray[np.int32]]:
    """Candidates of cells centred on (cx, cy), from their parent cells' candidates.

    A cell keeps the segments no farther from its centre than the nearest one
    plus ``reach``. Cells go in blocks, so the (cell, segment) pairs in memory
    stay bounded. Returns the nearest distance of each centre, and the
    (cell, segment) pairs kept.
    """
    start, count, cand = parents
    cost = np.cumsum(count[parent])
    dmin = np.empty(len(cx))
    rows: list[NDArray[np.int64]] = []
    segs: list[NDArray[np.int32]] = []
    lo = 0
    while lo < len(cx):
        done_before = cost[lo - 1] if lo else 0
        hi = max(int(np.searchsorted(cost, done_before + _PAIR_BUDGET, side="right")), lo + 1)
        rep, pos, first = _expand(start, count, parent[lo:hi])
        seg = cand[pos]
        d = _segment_distance_fast(cx[lo:hi][rep], cy[lo:hi][rep], seg, index)
        dmin[lo:hi] = near = np.minimum.reduceat(d, first)
        keep = d <= near[rep] + reach
        rows.append(rep[keep] + lo)
        segs.append(seg[keep])
        lo = hi
    return dmin, np.concatenate(rows), np.concatenate(segs)


def _build_grid(index: _BoroughIndex, cell_m: float = _CELL_M) -> _Grid | None:
    """Classify every cell of the boroughs' extent (plus a margin), coarse to fine.

    Cells start at 4096 m, where GEOS finds each cell's candidate segments,
    and halve down to ``cell_m`` metres (a power of two). A cell whose
    nearest boundary is farther than half its diagonal holds no boundary: all
    its points share the location of its centre, tested once with GEOS, and
    it stops there (as does an outside cell with few candidates). Candidates
    of a cell: the segments no farther from its centre than the nearest one
    plus the cell's diagonal; any point of the cell has its nearest segment
    among them.

    Returns None when the extent would need more than ``_GRID_MAX_CELLS``
    cells (boundaries far bigger than London's): the join then runs directly.
    """
    x0, y0 = index.bounds[:, :2].min(axis=0) - _GRID_MARGIN_M
    x1, y1 = index.bounds[:, 2:].max(axis=0) + _GRID_MARGIN_M
    ix0, iy0 = math.floor(x0 / cell_m), math.floor(y0 / cell_m)
    nx = math.floor(x1 / cell_m) - ix0 + 1
    ny = math.floor(y1 / cell_m) - iy0 + 1
    if nx * ny > _GRID_MAX_CELLS:
        return None
    fx = np.repeat(np.arange(ix0, ix0 + nx, dtype=np.int64), ny)
    fy = np.tile(np.arange(iy0, iy0 + ny, dtype=np.int64), nx)
    final = np.empty(nx * ny, dtype=np.int64)
    active = np.arange(nx * ny)
    kinds, labels, counts, cands = [], [], [], []
    n_final = 0
    parents = None
    active_parent = np.empty(0, dtype=np.int64)
    shifts = range(round(math.log2(_TOP_CELL_M / cell_m)), -1, -1)
    for shift in shifts:
        size = cell_m * (1 << shift)
        half_diag = size * math.sqrt(0.5)
        slack = 1e-6 + 1e-12 * size  # covers rounding in the distances
        cx_i, cy_i, inverse = _group_cells(fx[active] >> shift, fy[active] >> shift)
        n = len(cx_i)
        cx, cy = (cx_i + 0.5) * size, (cy_i + 0.5) * size
        if parents is None:
            centres = shapely.points(cx, cy)
            (qi, _), near = index.seg_tree.query_nearest(
                centres, return_distance=True, all_matches=False
            )
            dmin = np.empty(n)
            dmin[qi] = near
            ci, cand = index.seg_tree.query(
                centres, predicate="dwithin", distance=dmin + 2 * half_diag + slack
            )
            order = np.argsort(ci, kind="stable")
            ci, cand = ci[order], cand[order].astype(np.int32)
        else:
            parent = np.empty(n, dtype=np.int64)
            parent[inverse] = active_parent
            dmin, ci, cand = _refine(
                cx, cy, parent, parents=parents, reach=2 * half_diag + slack, index=index
            )
        start, count = _csr(ci, n)
        pure = np.flatnonzero(dmin > half_diag + slack)
        label = np.full(n, -1, dtype=np.int32)
        label[pure] = _locate(cx[pure], cy[pure], index)
        kind = np.full(n, _CELL_STRADDLE, dtype=np.int8)
        kind[pure] = np.where(label[pure] >= 0, _CELL_INSIDE, _CELL_OUTSIDE)
        done = (kind == _CELL_INSIDE) | ((kind == _CELL_OUTSIDE) & (count <= _LEAF_CANDIDATES))
        if shift == 0:
            done[:] = True
        # Record the finished cells; an inside cell needs no candidates.
        done_ix = np.flatnonzero(done)
        node = np.full(n, -1, dtype=np.int64)
        node[done_ix] = n_final + np.arange(len(done_ix))
        kept = np.where(kind == _CELL_INSIDE, 0, count)
        _, pos, _ = _expand(start, kept, done_ix)
        kinds.append(kind[done_ix])
        labels.append(label[done_ix])
        counts.append(kept[done_ix])
        cands.append(cand[pos])
        n_final += len(done_ix)
        node_of_active = node[inverse]
        finished = node_of_active >= 0
        final[active[finished]] = node_of_active[finished]
        # Carry the others down a level.
        todo = np.flatnonzero(~done)
        if todo.size == 0:
            break
        renumber = np.full(n, -1, dtype=np.int64)
        renumber[todo] = np.arange(len(todo))
        _, pos, todo_start = _expand(start, count, todo)
        parents = (todo_start, count[todo], cand[pos])
        active, active_parent = active[~finished], renumber[inverse[~finished]]
    count = np.concatenate(counts)
    return _Grid(
        cell_m=cell_m,
        ix0=ix0,
        iy0=iy0,
        nx=nx,
        ny=ny,
        node=final.astype(np.int32),
        kind=np.concatenate(kinds),
        label=np.concatenate(labels),
        start=np.cumsum(count) - count,
        count=count,
        cand=np.concatenate(cands),
    )


def _pick_nearest(
    px: NDArray[np.float64],
    py: NDArray[np.float64],
    *,
    rep: NDArray,
    first: NDArray,
    seg: NDArray,
    index: _BoroughIndex,
) -> tuple[NDArray[np.int32], NDArray[np.float64]]:
    """Nearest borough and distance of each point among its candidate segments.

    ``rep`` maps each (point, segment) pair to its point in ``px``/``py``;
    ``first`` is where each point's run of pairs starts. Among equidistant
    boroughs the lowest position wins.
    """
    big = np.iinfo(np.int32).max
    d = _segment_distance_exact(px[rep], py[rep], seg, index)
    dmin = np.minimum.reduceat(d, first)
    seg_label = index.seg_label[seg]
    best = np.minimum.reduceat(np.where(d == dmin[rep], seg_label, big), first)
    # The runner-up borough: when it is all but tied, or the point is on a
    # boundary, GEOS decides (it gives exactly 0 on a boundary).
    runner_up = np.minimum.reduceat(np.where(seg_label != best[rep], d, np.inf), first)
    unsure = (dmin <= _TIE_TOLERANCE_M) | (runner_up - dmin <= _TIE_TOLERANCE_M)
    if unsure.any():
        in_unsure = unsure[rep]
        best[unsure], dmin[unsure] = _nearest_geos(
            px, py, rep[in_unsure], seg_label[in_unsure], index
        )
    return best, dmin


def _nearest_in_cells(
    px: NDArray[np.float64],
    py: NDArray[np.float64],
    cell: NDArray[np.int64],
    cells: _Grid,
    index: _BoroughIndex,
) -> tuple[NDArray[np.int32], NDArray[np.float64]]:
    """Nearest borough (lowest position among equidistant ones) and distance, per point.

    Each point is compared with the candidate segments of its grid node ``cell``.
    """
    label = np.empty(len(px), dtype=np.int32)
    dist = np.empty(len(px))
    for lo in range(0, len(px), _PAIR_BLOCK):
        hi = min(lo + _PAIR_BLOCK, len(px))
        rep, pos, first = _expand(cells.start, cells.count, cell[lo:hi])
        label[lo:hi], dist[lo:hi] = _pick_nearest(
            px[lo:hi], py[lo:hi], rep=rep, first=first, seg=cells.cand[pos], index=index
        )
    return label, dist


def _nearest_direct(
    px: NDArray[np.float64], py: NDArray[np.float64], index: _BoroughIndex
) -> tuple[NDArray[np.int32], NDArray[np.float64]]:
    """As :func:`_nearest_in_cells`, with a GEOS tree query per point; for few points."""
    points = shapely.points(px, py)
    (row, seg), d = index.seg_tree.query_nearest(points, all_matches=True, return_distance=True)
    order = np.argsort(row, kind="stable")
    row, seg, d = row[order], seg[order], d[order]
    first = np.flatnonzero(np.r_[True, row[1:] != row[:-1]])
    dist = np.minimum.reduceat(d, first)
    best = np.minimum.reduceat(index.seg_label[seg], first)  # all equidistant
    unsure = np.flatnonzero(dist <= _TIE_TOLERANCE_M)
    if unsure.size:
        near_row, near_seg = index.seg_tree.query(
            points[unsure], predicate="dwithin", distance=_TIE_TOLERANCE_M
        )
        order = np.argsort(near_row, kind="stable")
        near_row, near_seg = near_row[order], near_seg[order]
        best[unsure], dist[unsure] = _nearest_geos(
            px[unsure], py[unsure], near_row, index.seg_label[near_seg], index
        )
    return best.astype(np.int32), dist


def _nearest_within(
    px: NDArray[np.float64], py: NDArray[np.float64], index: _BoroughIndex, radius: float
) -> tuple[NDArray[np.int32], NDArray[np.float64]]:
    """As :func:`_nearest_direct` for points within ``radius`` of a borough; -1 and NaN beyond.

    One GEOS tree query gives each point the segments within ``radius`` (plus
    a slack far above rounding); the distances to them are then computed with
    the arithmetic of GEOS, as in :func:`_nearest_in_cells`. A point with no
    such segment is farther than ``radius`` from every borough and is not
    measured.
    """
    label = np.full(len(px), -1, dtype=np.int32)
    dist = np.full(len(px), np.nan)
    if radius > _NEAR_QUERY_MAX_M:
        best, d = _nearest_direct(px, py, index)
        close = d <= radius
        return np.where(close, best, -1).astype(np.int32), np.where(close, d, np.nan)
    for lo in range(0, len(px), _PAIR_BLOCK):
        hi = min(lo + _PAIR_BLOCK, len(px))
        row, seg = index.seg_tree.query(
            shapely.points(px[lo:hi], py[lo:hi]),
            predicate="dwithin",
            distance=radius + _NEAR_SLACK_M,
        )
        if row.size == 0:
            continue
        order = np.argsort(row, kind="stable")
        row, seg = row[order], seg[order]
        first = np.flatnonzero(np.r_[True, row[1:] != row[:-1]])
        pts = row[first] + lo
        rep = np.repeat(np.arange(len(first)), np.diff(np.r_[first, len(row)]))
        best, dmin = _pick_nearest(px[pts], py[pts], rep=rep, first=first, seg=seg, index=index)
        close = dmin <= radius
        label[pts] = np.where(close, best, -1)
        dist[pts] = np.where(close, dmin, np.nan)
    return label, dist


def _nearest_geos(
    px: NDArray[np.float64],
    py: NDArray[np.float64],
    rep: NDArray,
    seg_label: NDArray[np.int32],
    index: _BoroughIndex,
) -> tuple[NDArray[np.int32], NDArray[np.float64]]:
    """Settle near-ties with GEOS distances to the candidate boroughs.

    ``rep`` holds the point of each candidate segment, sorted, and covers every
    unsure point; ``seg_label`` the borough of that segment.
    """
    pairs = np.unique(np.stack([rep, seg_label.astype(np.int64)], axis=1), axis=0)
    d = shapely.distance(index.geoms[pairs[:, 1]], shapely.points(px[pairs[:, 0]], py[pairs[:, 0]]))
    first = np.flatnonzero(np.r_[True, pairs[1:, 0] != pairs[:-1, 0]])
    dmin = np.minimum.reduceat(d, first)
    row = np.repeat(np.arange(len(first)), np.diff(np.r_[first, len(pairs)]))
    big = np.iinfo(np.int32).max
    best = np.minimum.reduceat(np.where(d == dmin[row], pairs[:, 1], big), first)
    return best.astype(np.int32), dmin


def _join_points_xy(
    x: NDArray[np.float64],
    y: NDArray[np.float64],
    index: _BoroughIndex,
    *,
    nearest_within_m: float = 250.0,
    grid: _Grid | None = None,
) -> tuple[NDArray[np.int32], NDArray[np.int8], NDArray[np.float64]]:
    """Join points given as EPSG:27700 coordinate arrays to indexed boroughs.

    The engine under :func:`join_boroughs` and :func:`iter_join_parquet`, for
    any reader that has coordinate arrays (a streaming reader, say).

    Parameters
    ----------
    x, y : numpy.ndarray
        Easting and northing in EPSG:27700 metres. NaN marks a missing point.
    index : _BoroughIndex
        From :func:`_index_boroughs`.
    nearest_within_m : float
        Fallback radius in metres for points in no polygon.
    grid : _Grid, optional
        From :func:`_build_grid`: worth building for many points (it is
        read-only, so threads can share it). Without it, every point is
        tested with GEOS directly.

    Returns
    -------
    borough : numpy.ndarray of int32
        Position of the borough in ``index`` (the boroughs frame), -1 for none.
    method : numpy.ndarray of int8
        0 within, 1 nearest, 2 outside, -1 missing point.
    distance_m : numpy.ndarray of float64
        0 for within; metres to the nearest borough for nearest; NaN for
        outside (not measured) and missing.
    """
    n = len(x)
    borough = np.full(n, -1, dtype=np.int32)
    method = np.full(n, _MISSING, dtype=np.int8)
    distance = np.full(n, np.nan)
    ok = np.flatnonzero(~(np.isnan(x) | np.isnan(y)))
    if ok.size == 0:
        return borough, method, distance
    px, py = x[ok], y[ok]
    found = np.full(len(ok), -1, dtype=np.int32)
    node = np.full(len(ok), -1, dtype=np.int64)  # grid node; -1 off the grid
    if grid is None:
        test = np.arange(len(ok))
    else:
        cell_m = grid.cell_m
        lo_x, lo_y = grid.ix0 * cell_m, grid.iy0 * cell_m
        hi_x, hi_y = lo_x + grid.nx * cell_m, lo_y + grid.ny * cell_m
        on = np.flatnonzero((px >= lo_x) & (px < hi_x) & (py >= lo_y) & (py < hi_y))
        fx = np.floor(px[on] / cell_m).astype(np.int64) - grid.ix0
        fy = np.floor(py[on] / cell_m).astype(np.int64) - grid.iy0
        node[on] = grid.node[fx * grid.ny + fy]
        kind = np.full(len(ok), _CELL_STRADDLE, dtype=np.int8)  # off the grid: test too
        kind[on] = grid.kind[node[on]]
        inside = np.flatnonzero(kind == _CELL_INSIDE)
        found[inside] = grid.label[node[inside]]
        test = np.flatnonzero(kind == _CELL_STRADDLE)
    found[test] = _locate(px[test], py[test], index)
    dist = np.zeros(len(ok))
    meth = np.full(len(ok), _WITHIN, dtype=np.int8)
    out = np.flatnonzero(found < 0)
    if out.size:
        near_label = np.empty(len(out), dtype=np.int32)
        near_dist = np.empty(len(out))
        # Off the grid, or in a cell with many candidate segments (a sparse
        # corner far from London), a GEOS tree query per point is cheaper.
        by_tree = np.ones(len(out), dtype=bool)
        if grid is not None:
            out_node = node[out]
            by_tree = (out_node < 0) | (grid.count[out_node] > _MAX_CELL_CANDIDATES)
            mine = np.flatnonzero(~by_tree)
            o = out[mine]
            near_label[mine], near_dist[mine] = _nearest_in_cells(
                px[o], py[o], node[o], grid, index
            )
        tree = np.flatnonzero(by_tree)
        if tree.size:
            o = out[tree]
            near_label[tree], near_dist[tree] = _nearest_within(
                px[o], py[o], index, nearest_within_m
            )
        close = near_dist <= nearest_within_m
        found[out] = np.where(close, near_label, -1)
        meth[out] = np.where(close, _NEAREST, _OUTSIDE)
        # Farther than nearest_within_m from every borough: not reported.
        dist[out] = np.where(close, near_dist, np.nan)
    borough[ok], method[ok], distance[ok] = found, meth, dist
    return borough, method, distance


# --------------------------------------------------------------------------
# Sites in a geographic CRS: most of them settled without reprojection
# --------------------------------------------------------------------------

# Codes of the source-CRS cell table besides a borough position (>= 0).
_SRC_EXACT, _SRC_OUTSIDE = -1, -2
# Cells per degree at the top level; each level halves them, _SRC_LEVELS times.
_SRC_TOP_PER_DEG = 64
_SRC_LEVELS = 4
# Free cells straddling the fallback radius are halved above this level only:
# finer, a tree query per cell costs more than joining its few points exactly.
_SRC_RING_LEVELS = 3
# The table covers the boroughs' extent plus this margin, degrees...
_SRC_MARGIN_DEG = 0.25
# ... unless that takes more finest cells than this (London takes about 1.4 million).
_SRC_MAX_CELLS = 1 << 24
# A join builds the table (about 0.1 s, then kept) for at least this many points.
_SRC_MIN_POINTS = 100_000
# Samples per side of the lattice where the reprojection's scale is measured.
_SRC_SCALE_SAMPLES = 33


class _SourceGrid(NamedTuple):
    """Cells in the sites' geographic CRS whose reprojected points share one answer.

    ``code[ix * ny + iy]`` is the answer for every point of cell
    ``[x0 + ix / per_unit, x0 + (ix + 1) / per_unit)`` by the same in y: a
    borough position (the point is within it), ``_SRC_OUTSIDE`` (the point is
    farther than ``nearest_within_m`` from every borough) or ``_SRC_EXACT``
    (reproject the point and join it exactly).
    """

    per_unit: float
    x0: float
    y0: float
    nx: int
    ny: int
    code: NDArray[np.int32]

    def lookup(self, x: NDArray[np.float64], y: NDArray[np.float64]) -> NDArray[np.int32]:
        """Return the code of each point's cell; ``_SRC_EXACT`` off the table or for NaN."""
        fx = np.floor((x - self.x0) * self.per_unit)
        fy = np.floor((y - self.y0) * self.per_unit)
        on = (fx >= 0) & (fx < self.nx) & (fy >= 0) & (fy < self.ny)  # False for NaN
        code = np.full(len(x), _SRC_EXACT, dtype=np.int32)
        code[on] = self.code[fx[on].astype(np.int64) * self.ny + fy[on].astype(np.int64)]
        return code


_SOURCE_GRIDS: dict[tuple[Any, ...], _SourceGrid | None] = {}
_SOURCE_GRIDS_LOCK = threading.Lock()


def _source_grid(
    src: pyproj.CRS,
    transformer: pyproj.Transformer | None,
    index: _BoroughIndex,
    nearest_within_m: float,
    n_points: int,
) -> _SourceGrid | None:
    """Return the cell table for sites in ``src``, kept per CRS, boroughs and radius.

    None unless ``src`` is geographic (for a projected CRS reprojection is
    cheap enough), when the boroughs span too much of the globe, or when the
    table is not kept yet and ``n_points`` is too few to pay for building it.
    """
    if transformer is None or not src.is_geographic:
        return None
    key = (src, float(nearest_within_m), _boroughs_key(index))
    with _SOURCE_GRIDS_LOCK:
        if key not in _SOURCE_GRIDS:
            if n_points < _SRC_MIN_POINTS:  # not worth its build (about 0.1 s)
                return None
            if len(_SOURCE_GRIDS) >= 8:
                _SOURCE_GRIDS.clear()
            _SOURCE_GRIDS[key] = _build_source_grid(src, transformer, index, nearest_within_m)
        return _SOURCE_GRIDS[key]


def _build_source_grid(
    src: pyproj.CRS,
    transformer: pyproj.Transformer,
    index: _BoroughIndex,
    nearest_within_m: float,
) -> _SourceGrid | None:
    """Classify cells of the sites' CRS, coarse to fine, by their reprojected image.

    A cell of half-diagonal ``h`` (in degrees) maps into the disc of radius
    ``r = scale * h`` around its reprojected centre, where ``scale`` bounds how
    far the reprojection stretches a half-diagonal (measured on a lattice over
    the table, plus 1%). When the nearest boundary segment is farther than
    ``r`` (plus a margin) from the centre's image, every point of the cell is
    on the same side of every boundary as the centre: within the borough the
    centre is within (``_locate``, as for any point), or, in no borough and
    farther than ``nearest_within_m + r`` from all, outside. A cell near a
    boundary is halved, down to 1/1024 degree; so is a cell in no borough
    that straddles the fallback radius (nearest boundary between
    ``nearest_within_m - r`` and ``nearest_within_m + r``), while cells are
    coarse. What is left (points near a boundary or within reach of the
    nearest-borough fallback) is joined exactly.

    Segments near a cell are found once, at the top level, with the GEOS tree
    (every segment whose box meets the square of half-side ``R`` around the
    centre's image, ``R = 2 r`` plus the next level's margin); a halved cell's
    children test only the segments of their parent within ``R`` of its
    centre's image. That loses none: a child's centre image lies within ``r``
    of its parent's, and a child tests segments within ``r / 2`` plus its
    margin, then passes on those within ``r`` plus its children's margin, and
    so on: ``r + r / 2 + r / 4 + ...`` stays under ``2 r``, and margins shrink
    with the cells. Distances are computed with numpy, far within the margin.
    """
    with np.errstate(all="ignore"):
        lo_x, lo_y, hi_x, hi_y = transformer.transform_bounds(
            *index.bounds[:, :2].min(axis=0),
            *index.bounds[:, 2:].max(axis=0),
            densify_pts=21,
            direction="INVERSE",
        )
    if not all(map(math.isfinite, (lo_x, lo_y, hi_x, hi_y))) or hi_x < lo_x:
        return None
    top = float(_SRC_TOP_PER_DEG)
    x0 = math.floor((lo_x - _SRC_MARGIN_DEG) * top) / top
    y0 = math.floor((lo_y - _SRC_MARGIN_DEG) * top) / top
    nx = math.ceil((hi_x + _SRC_MARGIN_DEG - x0) * top)
    ny = math.ceil((hi_y + _SRC_MARGIN_DEG - y0) * top)
    if (nx * ny) << (2 * _SRC_LEVELS) > _SRC_MAX_CELLS:
        return None
    # How far the reprojection stretches a half-diagonal (1, +-1), at most.
    sx, sy = np.meshgrid(
        np.linspace(x0, x0 + nx / top, _SRC_SCALE_SAMPLES),
        np.linspace(y0, y0 + ny / top, _SRC_SCALE_SAMPLES),
    )
    sx, sy = sx.ravel(), sy.ravel()
    step = 1e-4
    with np.errstate(all="ignore"):
        ex = np.subtract(*(np.array(transformer.transform(sx + s, sy)) for s in (step, -step)))
        ey = np.subtract(*(np.array(transformer.transform(sx, sy + s)) for s in (step, -step)))
    ex, ey = ex / (2 * step), ey / (2 * step)
    stretch = np.hypot(*np.concatenate([ex + ey, ex - ey], axis=1))
    if not np.isfinite(stretch).all():
        return None
    scale = float(stretch.max()) * 1.01

    dtype = np.int8 if len(index) < 127 else np.int32
    ix = np.repeat(np.arange(nx, dtype=np.int64), ny)
    iy = np.tile(np.arange(ny, dtype=np.int64), nx)
    dense = np.empty((0, 0), dtype=dtype)
    per_unit = top
    parents: tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.int32]] | None = None
    parent = np.empty(0, dtype=np.int64)
    known_free = np.zeros(len(ix), dtype=bool)  # children of a free cell: in no borough
    for level in range(_SRC_LEVELS + 1):
        size = 1.0 / per_unit
        reach = scale * size / 2
        margin = 0.05 + 0.01 * reach
        # Segments a child cell may test: see the docstring.
        carry = 2 * reach + 0.05 + 0.01 * reach / 2 + 1e-3
        with np.errstate(all="ignore"):
            cx, cy = transformer.transform(x0 + (ix + 0.5) * size, y0 + (iy + 0.5) * size)
        cx, cy = np.asarray(cx, dtype=np.float64), np.asarray(cy, dtype=np.float64)
        placed = np.isfinite(cx) & np.isfinite(cy)
        n = len(ix)
        if parents is None:
            on = np.flatnonzero(placed)
            boxes = shapely.box(cx[on] - carry, cy[on] - carry, cx[on] + carry, cy[on] + carry)
            ci, seg = index.seg_tree.query(boxes)
            order = np.argsort(ci, kind="stable")
            ci, seg = on[ci[order]], seg[order].astype(np.int32)
        else:
            start, count, cand = parents
            ci, pos, _ = _expand(start, count, parent)
            seg = cand[pos]
            ok = placed[ci]
            ci, seg = ci[ok], seg[ok]
        d = _segment_distance_fast(cx[ci], cy[ci], seg, index)
        # Clear: no boundary segment within reach of the centre's image.
        blocked = np.zeros(n, dtype=bool)
        blocked[ci[d <= reach + margin]] = True
        clear = placed & ~blocked
        code = np.full(n, _SRC_EXACT, dtype=dtype)
        located = np.flatnonzero(clear & ~known_free)
        code[located] = _locate(cx[located], cy[located], index)
        # In no borough: outside if the nearest segment is farther than the
        # radius plus reach; if it is nearer than the radius minus reach,
        # every point of the cell takes the fallback and needs its distance;
        # in between (the cell straddles the radius), halve it while cells
        # are coarse. The nearest candidate segment bounds that distance
        # from above, so near a boundary no tree query is needed.
        free = np.flatnonzero(clear & (code < 0))
        code[free] = _SRC_EXACT
        bound = np.full(n, np.inf)
        np.minimum.at(bound, ci, d)
        free = free[bound[free] > nearest_within_m - reach - margin]
        (hit, _), near_m = index.seg_tree.query_nearest(
            shapely.points(cx[free], cy[free]),
            max_distance=nearest_within_m + reach + margin,
            return_distance=True,
            all_matches=False,
        )
        outside = np.ones(len(free), dtype=bool)
        outside[hit] = False
        code[free[outside]] = _SRC_OUTSIDE
        straddle = free[hit[near_m > nearest_within_m - reach - margin]]
        if level >= _SRC_RING_LEVELS:
            straddle = straddle[:0]
        if level == 0:
            dense = np.full((nx, ny), _SRC_EXACT, dtype=dtype)
        else:
            dense = np.repeat(np.repeat(dense, 2, axis=0), 2, axis=1)
        dense[ix, iy] = code
        if level == _SRC_LEVELS:
            break
        # Halve the blocked cells, with the segments near them, and the
        # straddling free cells, whose children need no segments.
        todo = np.flatnonzero(placed & blocked)
        near = d <= carry
        start, count = _csr(ci[near], n)
        _, pos, todo_start = _expand(start, count, todo)
        parents = (
            np.r_[todo_start, np.zeros(len(straddle), dtype=np.int64)],
            np.r_[count[todo], np.zeros(len(straddle), dtype=np.int64)],
            seg[near][pos],
        )
        halve = np.r_[todo, straddle]
        parent = np.repeat(np.arange(len(halve), dtype=np.int64), 4)
        known_free = np.repeat(np.r_[np.zeros(len(todo), bool), np.ones(len(straddle), bool)], 4)
        ix = ((2 * ix[halve])[:, None] + np.array([0, 0, 1, 1])).ravel()
        iy = ((2 * iy[halve])[:, None] + np.array([0, 1, 0, 1])).ravel()
        per_unit *= 2
    n_x, n_y = dense.shape
    code = dense.ravel()
    return _SourceGrid(per_unit=per_unit, x0=x0, y0=y0, nx=n_x, ny=n_y, code=code)


# --------------------------------------------------------------------------
# Sites: checks, reprojection, assembly
# --------------------------------------------------------------------------


def _check_options(nearest_within_m: float, threads: int) -> None:
    if not (isinstance(nearest_within_m, int | float) and math.isfinite(nearest_within_m)):
        msg = f"nearest_within_m must be a finite number of metres, not {nearest_within_m!r}"
        raise ConfigError(msg)
    if nearest_within_m < 0:
        msg = f"nearest_within_m must be >= 0 metres, not {nearest_within_m!r}"
        raise ConfigError(msg)
    if isinstance(threads, bool) or not isinstance(threads, int) or threads < 1:
        msg = f"threads must be a whole number >= 1, not {threads!r}"
        raise ConfigError(msg)


def _label(value: Any) -> Any:
    """Return an index label as Python shows it (``7``, not ``np.int64(7)``), for messages."""
    return value.item() if isinstance(value, np.generic) else value


def _point_rows(geoms: NDArray[np.object_], labels: Any, what: str) -> NDArray[np.bool_]:
    """Return the mask of point geometries (empty ones included); raise on any other kind."""
    type_id = shapely.get_type_id(geoms)
    bad = (type_id != 0) & (type_id != -1)
    if bad.any():
        first = int(np.flatnonzero(bad)[0])
        msg = (
            f"{what} {_label(labels[first])!r}: geometry is a {geoms[first].geom_type}, "
            "not a Point; "
            f"{int(bad.sum())} such row(s). Join sites as points (e.g. .representative_point())"
        )
        raise DataValidationError(msg)
    return type_id == 0


def _point_mask(geoms: NDArray[np.object_], labels: Any, what: str) -> NDArray[np.bool_]:
    """Return the mask of usable points; raise on any geometry that is not a point."""
    usable = _point_rows(geoms, labels, what)
    usable[usable] = ~shapely.is_empty(geoms[usable])
    return usable


def _point_xy(
    geoms: NDArray[np.object_], points: NDArray[np.bool_]
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.bool_]]:
    """Return x, y (NaN where unusable) and the mask of usable (non-empty) points.

    ``points`` marks the point geometries. Only a point whose x or y is NaN
    can be empty, so only those are asked; GEOS 3.14 refuses the x of an
    empty point (older versions give NaN), and a chunk holding one is then
    read again without it.
    """
    usable = points.copy()
    try:
        x, y = shapely.get_x(geoms), shapely.get_y(geoms)
    except shapely.errors.GEOSException:
        usable[points] = ~shapely.is_empty(geoms[points])
        x = np.full(len(geoms), np.nan)
        y = np.full(len(geoms), np.nan)
        x[usable], y[usable] = shapely.get_x(geoms[usable]), shapely.get_y(geoms[usable])
        return x, y, usable
    odd = np.flatnonzero(points & (np.isnan(x) | np.isnan(y)))
    if odd.size:
        usable[odd] = ~shapely.is_empty(geoms[odd])
    return x, y, usable


class _ExactRows(NamedTuple):
    """Rows left for the exact join, with their x and y as given and whether 3D."""

    rows: NDArray[np.int64]
    x: NDArray[np.float64]
    y: NDArray[np.float64]
    has_z: NDArray[np.bool_]


def _reproject_rows(
    geoms: NDArray[np.object_], work: _ExactRows, transformer: pyproj.Transformer | None
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """EPSG:27700 coordinates of the points ``geoms[work.rows]``.

    Calls the transformer as geopandas' ``to_crs`` does (2D and 3D points
    apart), so the coordinates are the ones an sjoin would see.
    """
    if transformer is None:
        return work.x, work.y
    bx = np.empty(len(work.rows))
    by = np.empty(len(work.rows))
    flat = np.flatnonzero(~work.has_z)
    bx[flat], by[flat] = transformer.transform(work.x[flat], work.y[flat])
    deep = np.flatnonzero(work.has_z)
    if deep.size:
        xyz = shapely.get_coordinates(geoms[work.rows[deep]], include_z=True)
        bx[deep], by[deep], _ = transformer.transform(xyz[:, 0], xyz[:, 1], xyz[:, 2])
    return bx, by


def _source_crs(crs: Any, what: str) -> pyproj.CRS:
    if crs is None:
        msg = (
            f"{what} have no CRS; declare it with .set_crs(...), e.g. 'EPSG:4326' for "
            "latitude/longitude or 'EPSG:27700' for British National Grid"
        )
        raise CRSError(msg)
    return pyproj.CRS.from_user_input(crs)


@functools.lru_cache(maxsize=16)
def _bng_transformer(src: pyproj.CRS) -> pyproj.Transformer | None:
    """Return the transformer from ``src`` to EPSG:27700 that geopandas' ``to_crs`` uses.

    None when ``src`` is EPSG:27700 itself (``to_crs`` skips that case too).
    Remembered, as geopandas remembers its own, because building one takes
    tens of milliseconds; a pyproj Transformer is safe to share between
    threads (each thread gets its own PROJ object).
    """
    if src.is_exact_same(pyproj.CRS.from_user_input(BNG)):
        return None
    return pyproj.Transformer.from_crs(src, BNG, always_xy=True)


def _grid_for(
    x: NDArray[np.float64], y: NDArray[np.float64], n_points: int, index: _BoroughIndex
) -> _Grid | None:
    """Build the cell grid if a sample (EPSG:27700 x, y) says it will pay.

    It pays when many points fall in no polygon: each then needs a
    nearest-boundary search, several times cheaper with the grid. The grid
    takes 0.1 to 0.3 s to build; None means join directly.
    """
    if n_points < _GRID_MIN_OUTSIDE:
        return None
    placed = np.isfinite(x) & np.isfinite(y)
    if not placed.any():
        return None
    expected = float(np.mean(_locate(x[placed], y[placed], index) < 0)) * n_points
    if expected < _GRID_MIN_OUTSIDE:
        return None
    cell_m = _FINE_CELL_M if expected >= _FINE_GRID_MIN_OUTSIDE else _CELL_M
    key = (_boroughs_key(index), cell_m)
    with _GRIDS_LOCK:
        if key not in _GRIDS:
            if len(_GRIDS) >= 8:
                _GRIDS.clear()
            _GRIDS[key] = _build_grid(index, cell_m)
        return _GRIDS[key]


#: Built grids, kept per boroughs and cell size: the next join of the same
#: boroughs (the next chunk of a file, the next call) reuses its grid.
_GRIDS: dict[tuple[bytes, float], _Grid | None] = {}
_GRIDS_LOCK = threading.Lock()


def _boroughs_key(index: _BoroughIndex) -> bytes:
    """Return a digest of the boroughs' EPSG:27700 polygons, to key cached tables on."""
    return hashlib.sha1(b"".join(index.wkb)).digest()


def _sample_rows(usable: NDArray[np.bool_]) -> NDArray[np.int64]:
    """Up to ``_GRID_SAMPLE`` usable rows, evenly spread (no randomness)."""
    rows = np.flatnonzero(usable)
    return rows[:: max(1, len(rows) // _GRID_SAMPLE)][:_GRID_SAMPLE].copy()  # not a view


def _transform_xy(
    x: NDArray[np.float64],
    y: NDArray[np.float64],
    usable: NDArray[np.bool_],
    transformer: pyproj.Transformer | None,
    z: NDArray[np.float64] | None = None,
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """EPSG:27700 coordinates of the usable (x, y[, z]) points; NaN elsewhere."""
    bx = np.full(len(x), np.nan)
    by = np.full(len(x), np.nan)
    if transformer is None:
        bx[usable], by[usable] = x[usable], y[usable]
    elif z is None:
        bx[usable], by[usable] = transformer.transform(x[usable], y[usable])
    else:
        bx[usable], by[usable], _ = transformer.transform(x[usable], y[usable], z[usable])
    return bx, by


def _check_placed(
    x: NDArray[np.float64],
    y: NDArray[np.float64],
    usable: NDArray[np.bool_],
    *,
    labels: Any,
    what: str,
    describe: Callable[[int], str],
) -> None:
    """Raise if a usable point did not land on British National Grid."""
    bad = usable & ~(np.isfinite(x) & np.isfinite(y))
    if bad.any():
        first = int(np.flatnonzero(bad)[0])
        msg = (
            f"{what} {_label(labels[first])!r}: {describe(first)} cannot be placed in "
            f"British National Grid ({BNG}); {int(bad.sum())} such row(s). "
            "Check the declared CRS and that x/y are not swapped"
        )
        raise DataValidationError(msg)


def _describe_xy(x: NDArray[np.float64], y: NDArray[np.float64]) -> Callable[[int], str]:
    return lambda i: f"({x[i]}, {y[i]})"


def _to_bng(
    geoms: NDArray[np.object_],
    usable: NDArray[np.bool_],
    transformer: pyproj.Transformer | None,
    labels: Any,
    what: str,
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """EPSG:27700 coordinates of point geometries, NaN where unusable.

    Calls the transformer as geopandas' ``to_crs`` does (2D and 3D points
    apart), so the coordinates are the ones an sjoin would see.
    """
    x = np.full(len(geoms), np.nan)
    y = np.full(len(geoms), np.nan)
    has_z = shapely.has_z(geoms) & usable
    for rows, include_z in (
        (np.flatnonzero(usable & ~has_z), False),
        (np.flatnonzero(has_z), True),
    ):
        if rows.size:
            xyz = shapely.get_coordinates(geoms[rows], include_z=include_z)
            every = np.ones(len(rows), dtype=bool)
            z = xyz[:, 2] if include_z else None
            x[rows], y[rows] = _transform_xy(xyz[:, 0], xyz[:, 1], every, transformer, z)
    _check_placed(x, y, usable, labels=labels, what=what, describe=lambda i: geoms[i].wkt)
    return x, y


def _chunks(n: int, chunk_rows: int, threads: int) -> list[tuple[int, int]]:
    """Split ``range(n)`` into chunks for the workers.

    At most ``chunk_rows`` rows each, and enough chunks for every thread to
    have one, unless that would make them smaller than ``_MIN_THREAD_ROWS``.
    """
    pieces = max(math.ceil(n / chunk_rows), min(threads, n // _MIN_THREAD_ROWS), 1)
    size = max(math.ceil(n / pieces), 1)
    return [(lo, min(lo + size, n)) for lo in range(0, n, size)]


def _string_column(
    values: NDArray[np.object_], position: NDArray[np.int32]
) -> pd.api.extensions.ExtensionArray:
    """``values[position]`` as a pandas string array, NA where position is -1."""
    taken = pa.array(values, type=pa.string()).take(
        pa.array(position, mask=position < 0, type=pa.int32())
    )
    return pd.arrays.ArrowStringArray(taken)


def _method_column(method: NDArray[np.int8]) -> pd.Categorical:
    """Return the method codes as a categorical of :data:`JOIN_METHODS`, NaN for -1.

    A categorical takes one byte a row, where strings take about ten: at ten
    million sites that is the difference between 10 MB and 100 MB.
    """
    return pd.Categorical.from_codes(method, categories=JOIN_METHODS)


def _count_methods(method: NDArray[np.int8]) -> NDArray[np.int64]:
    """Count the missing, within, nearest and outside sites."""
    return np.bincount(method.astype(np.int64) + 1, minlength=4)


def _summary(n_boroughs: int, counts: NDArray[np.int64]) -> str:
    missing, within, nearest, outside = (int(c) for c in counts)
    line = (
        f"joined {int(counts.sum())} sites to {n_boroughs} boroughs: {within} within, "
        f"{nearest} nearest (river bank), {outside} outside London"
    )
    return line + (f", {missing} without geometry" if missing else "")


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
        Polygons with ``borough_code`` and ``borough_name`` columns, in any
        CRS; left unchanged.
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

        - ``borough_code``, ``borough_name`` (string, NA for none);
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
        already has one of the added columns, or a site cannot be reprojected.
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
    3    d         <NA>     outside                 NaN
    4    e         <NA>         NaN                 NaN

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
    points = _point_rows(geoms, sites.index, "sites index")
    n = len(geoms)
    borough = np.full(n, -1, dtype=np.int32)
    method = np.full(n, _MISSING, dtype=np.int8)
    distance = np.full(n, np.nan)
    transformer = _bng_transformer(src)
    local = threading.local()
    spare = [index]  # the first worker takes it; any other gets a copy
    spare_lock = threading.Lock()

    def settle(bounds: tuple[int, int]) -> _ExactRows:
        """Settle what the cell table can; return the rows left for the exact join."""
        lo, hi = bounds
        part = geoms[lo:hi]
        x, y, exact = _point_xy(part, points[lo:hi])
        if source is None:
            rows = np.flatnonzero(exact)
            return _ExactRows(lo + rows, x[rows], y[rows], shapely.has_z(part[rows]))
        # 3D points (reprojected with their z, as to_crs does) always go exact.
        has_z = shapely.has_z(part)
        code = source.lookup(x, y)
        code[~exact | has_z] = _SRC_EXACT
        inside, far = code >= 0, code == _SRC_OUTSIDE
        borough[lo:hi][inside] = code[inside]
        method[lo:hi][inside] = _WITHIN
        distance[lo:hi][inside] = 0.0
        method[lo:hi][far] = _OUTSIDE
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

    # Built once, if worth it, and read by every chunk and thread. Counts and
    # samples take empty points for usable ones: they only size the work.
    n_exact = int(points.sum())
    source = _source_grid(src, transformer, index, nearest_within_m, n_exact)
    grid = None
    sample = _sample_rows(points)
    sample_x, sample_y, placed = _point_xy(geoms[sample], points[sample])
    if source is None:
        sample_x, sample_y = _transform_xy(sample_x, sample_y, placed, transformer)
        grid = _grid_for(sample_x, sample_y, n_exact, index)
    elif sample.size:
        n_exact = round(n_exact * float(np.mean(source.lookup(sample_x, sample_y) == _SRC_EXACT)))

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
    logger.info(_summary(len(index), _count_methods(method)))
    return _assemble(sites, index, borough, method, distance)


def _copy_on_write() -> bool:
    """Whether pandas copies shared data on write (always so from pandas 3)."""
    if int(pd.__version__.split(".", 1)[0]) >= 3:
        return True
    return pd.options.mode.copy_on_write is True


def _assemble(
    sites: gpd.GeoDataFrame,
    index: _BoroughIndex,
    borough: NDArray[np.int32],
    method: NDArray[np.int8],
    distance: NDArray[np.float64],
) -> gpd.GeoDataFrame:
    """Return a new frame: the sites plus the added columns.

    Under copy-on-write a shallow copy is safe, and it spares a copy of every
    column; without it the sites are copied deep, so that changing the result
    can never change them.
    """
    joined = sites.copy(deep=not _copy_on_write())
    joined["borough_code"] = pd.Series(_string_column(index.codes, borough), index=sites.index)
    joined["borough_name"] = pd.Series(_string_column(index.names, borough), index=sites.index)
    joined["join_method"] = pd.Series(_method_column(method), index=sites.index)
    joined["borough_distance_m"] = pd.Series(distance, index=sites.index, copy=False)
    return joined


# --------------------------------------------------------------------------
# Streaming: GeoParquet in, joined pandas frames out
# --------------------------------------------------------------------------


def _geoparquet_geometry(metadata: dict[bytes, bytes] | None, path: Path) -> tuple[str, Any]:
    """Name and CRS of the primary geometry column of a GeoParquet file."""
    if not metadata or b"geo" not in metadata:
        msg = (
            f"{path}: no GeoParquet 'geo' metadata; write it with GeoDataFrame.to_parquet, "
            "or pass x_col, y_col and crs"
        )
        raise DataValidationError(msg)
    geo = json.loads(metadata[b"geo"])
    column = geo["primary_column"]
    spec = geo["columns"][column]
    if spec.get("encoding", "WKB").upper() != "WKB":
        msg = f"{path}: geometry column {column!r} is {spec['encoding']}-encoded; write it as WKB"
        raise DataValidationError(msg)
    if "crs" not in spec:
        return column, "OGC:CRS84"  # the GeoParquet default
    if spec["crs"] is None:
        msg = f"{path}: geometry column {column!r} has an unknown CRS; declare one and rewrite"
        raise CRSError(msg)
    return column, spec["crs"]


def _plain_wkb_points(wkb: pa.Array) -> tuple[NDArray, NDArray, NDArray] | None:
    """Decode a WKB column of plain 2D little-endian points straight from its buffers.

    Returns x, y and the usable mask (null and empty points are not usable),
    the very values :func:`shapely.from_wkb` would give; or None when any
    value is something else (3D, big-endian, not a point...), for
    :func:`shapely.from_wkb` to handle.
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
        return x, y, present
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
    x_nan, y_nan = np.isnan(x), np.isnan(y)
    if (x_nan != y_nan).any():  # half-empty points: leave them to GEOS
        return None
    return x, y, ~x_nan


def iter_join_parquet(
    path: str | Path,
    boroughs: gpd.GeoDataFrame,
    *,
    chunk_rows: int = 1_000_000,
    x_col: str | None = None,
    y_col: str | None = None,
    crs: str | None = None,
    nearest_within_m: float = 250.0,
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
        If the file has no usable geometry, a row is not a point (the message
        gives its row number), or a column is missing.
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
    import pyarrow.parquet as pq

    if isinstance(chunk_rows, bool) or not isinstance(chunk_rows, int) or chunk_rows < 1:
        msg = f"chunk_rows must be a whole number >= 1, not {chunk_rows!r}"
        raise ConfigError(msg)
    _check_options(nearest_within_m, 1)
    if (x_col is None) != (y_col is None):
        msg = "give both x_col and y_col, or neither"
        raise ConfigError(msg)
    path = Path(path)
    index = _index_boroughs(boroughs)
    # pre_buffer=False: with it on, pyarrow keeps every row group it has read
    # (memory grows with the file); off, memory stays at one batch.
    parquet = pq.ParquetFile(path, pre_buffer=False)
    names = parquet.schema_arrow.names
    if x_col is not None:
        missing = [c for c in (x_col, y_col) if c not in names]
        if missing:
            msg = f"{path}: no column {missing[0]!r}; the columns are {names}"
            raise DataValidationError(msg)
        if crs is None:
            msg = f"{path}: give the CRS of {x_col!r}/{y_col!r}, e.g. crs='EPSG:4326'"
            raise CRSError(msg)
        geometry, src = None, _source_crs(crs, f"{path} columns {x_col}/{y_col}")
    else:
        geometry, file_crs = _geoparquet_geometry(parquet.schema_arrow.metadata, path)
        src = _source_crs(file_crs, f"{path}")
    transformer = _bng_transformer(src)
    grid = None
    counts = np.zeros(4, dtype=np.int64)
    offset = 0
    what = f"{path.name} row"
    for batch in parquet.iter_batches(batch_size=chunk_rows):
        rows = pd.RangeIndex(offset, offset + batch.num_rows)
        if geometry is None:
            x_raw = batch.column(x_col).to_numpy(zero_copy_only=False).astype(np.float64)
            y_raw = batch.column(y_col).to_numpy(zero_copy_only=False).astype(np.float64)
            usable = ~(np.isnan(x_raw) | np.isnan(y_raw))
            x, y = _transform_xy(x_raw, y_raw, usable, transformer)
            _check_placed(
                x,
                y,
                usable,
                labels=rows,
                what=f"{path.name} row",
                describe=_describe_xy(x_raw, y_raw),
            )
            frame = batch.to_pandas()
        else:
            wkb = batch.column(geometry)
            plain = _plain_wkb_points(wkb)
            if plain is not None:  # the usual case, decoded without GEOS objects
                x_raw, y_raw, usable = plain
                x, y = _transform_xy(x_raw, y_raw, usable, transformer)
                describe = _describe_xy(x_raw, y_raw)
                _check_placed(x, y, usable, labels=rows, what=what, describe=describe)
            else:
                points = shapely.from_wkb(wkb.to_numpy(zero_copy_only=False))
                usable = _point_mask(points, rows, what)
                x, y = _to_bng(points, usable, transformer, rows, what)
                del points
            frame = batch.drop_columns([geometry]).to_pandas()
        if offset == 0:  # the first batch tells whether the grid is worth building
            sample = _sample_rows(usable)
            grid = _grid_for(x[sample], y[sample], parquet.metadata.num_rows, index)
        borough, method, distance = _join_points_xy(
            x, y, index, nearest_within_m=nearest_within_m, grid=grid
        )
        counts += _count_methods(method)
        frame.index = rows
        frame["borough_code"] = pd.Series(_string_column(index.codes, borough), index=rows)
        frame["join_method"] = pd.Series(_method_column(method), index=rows)
        frame["borough_distance_m"] = distance
        offset += batch.num_rows
        yield frame
    logger.info(_summary(len(index), counts))


# --------------------------------------------------------------------------
# Dask
# --------------------------------------------------------------------------


def join_boroughs_dask(sites: Any, boroughs: gpd.GeoDataFrame, **options: Any) -> Any:
    """Run :func:`join_boroughs` on each partition of a dask-geopandas frame.

    Lazy: nothing runs until ``.compute()`` (or ``.persist()``), on whatever
    scheduler is active, e.g. a ``dask.distributed`` cluster. The boroughs
    travel with the task graph; they are small. Needs the ``estates[dask]``
    extra.

    Parameters
    ----------
    sites : dask_geopandas.GeoDataFrame
        Point sites in any CRS; left unchanged.
    boroughs : geopandas.GeoDataFrame
        As for :func:`join_boroughs`; checked now, not at compute time.
    **options
        ``nearest_within_m`` and ``threads``, passed to :func:`join_boroughs`.

    Returns
    -------
    dask_geopandas.GeoDataFrame
        The joined sites, partition by partition; computed, it equals
        ``join_boroughs(sites.compute(), boroughs, **options)``.

    Raises
    ------
    ImportError
        If dask-geopandas is not installed.
    CRSError, DataValidationError, ConfigError
        As for :func:`join_boroughs`, for problems visible before computing.

    See Also
    --------
    join_boroughs : the in-memory join; ``docs/dask.md`` has the full recipe.
    """
    try:
        import dask_geopandas  # noqa: F401  (registers the geometry dtype with dask)
    except ImportError as error:  # pragma: no cover - the dask extra is a test dependency
        msg = "join_boroughs_dask needs dask-geopandas: pip install 'estates[dask]'"
        raise ImportError(msg) from error
    unknown = sorted(set(options) - {"nearest_within_m", "threads"})
    if unknown:
        msg = f"unknown option(s) {unknown}; join_boroughs takes nearest_within_m and threads"
        raise ConfigError(msg)
    _check_options(options.get("nearest_within_m", 250.0), options.get("threads", 1))
    meta_sites = sites._meta
    clash = [c for c in ADDED_COLUMNS if c in meta_sites.columns]
    if clash:
        msg = f"sites already has {', '.join(map(repr, clash))}; drop them before joining again"
        raise DataValidationError(msg)
    _source_crs(sites.crs, "sites")
    index = _index_boroughs(boroughs)
    empty = np.empty(0, dtype=np.int32)
    meta = _assemble(meta_sites, index, empty, empty.astype(np.int8), np.empty(0))
    return sites.map_partitions(join_boroughs, boroughs, meta=meta, **options)
