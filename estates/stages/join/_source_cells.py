"""Sites in a geographic CRS: most of them settled without reprojection."""

from __future__ import annotations

import logging
import math
import threading
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np
import pyproj
import shapely

from estates.stages.join._disk_cache import _load, _save
from estates.stages.join._index import (
    _BoroughIndex,
    _boroughs_key,
    _csr,
    _expand,
    _locate,
    _segment_distance_fast,
)

if TYPE_CHECKING:
    from numpy.typing import NDArray

logger = logging.getLogger("estates")


# Codes of the source-CRS cell table besides a borough position (>= 0).
_SRC_EXACT, _SRC_OUTSIDE = -1, -2
# Cells per degree at the top level; each level halves them, _SRC_LEVELS times.
_SRC_TOP_PER_DEG = 64
_SRC_LEVELS = 5
# Free cells straddling the fallback radius are halved above this level only.
# Every level: since the table is kept on disk, its build (0.24 s stopping at
# level 3, 0.28 s at 5) is paid once per machine, while each join of 1e6
# points over London's box then leaves 33,300 rows exact instead of 39,600.
_SRC_RING_LEVELS = _SRC_LEVELS
# The table covers the boroughs' extent plus this margin, degrees...
_SRC_MARGIN_DEG = 0.25
# ... unless that takes more finest cells than this (London takes about 5.4 million).
_SRC_MAX_CELLS = 1 << 24
# A join builds the table (about 0.1 s, then kept) for at least this many points.
_SRC_MIN_POINTS = 100_000
# Samples per side of the lattice where the reprojection's scale is measured.
_SRC_SCALE_SAMPLES = 33


class _SourceGrid(NamedTuple):
    """Cells in the sites' geographic CRS whose reprojected points share one answer.

    ``code[(ix + 1) * (ny + 2) + iy + 1]`` is the answer for every point of
    cell ``[x0 + ix / per_unit, x0 + (ix + 1) / per_unit)`` by the same in y: a
    borough position (the point is within it), ``_SRC_OUTSIDE`` (the point is
    farther than ``nearest_within_m`` from every borough) or ``_SRC_EXACT``
    (reproject the point and join it exactly). A border of ``_SRC_EXACT``
    cells stands for everything off the table, so a look-up needs no mask.
    Build it with :func:`_bordered`.
    """

    per_unit: float
    x0: float
    y0: float
    nx: int
    ny: int
    code: NDArray[np.integer]

    def lookup(self, x: NDArray[np.float64], y: NDArray[np.float64]) -> NDArray[np.integer]:
        """Return the code of each point's cell; ``_SRC_EXACT`` off the table or for NaN."""
        return self.code[self.cells(x, y)]

    def extent(self) -> tuple[float, float, float, float]:
        """Return the box (x0, y0, x1, y1) the table covers, one cell wider on each side."""
        cell = 1.0 / self.per_unit
        return (
            self.x0 - cell,
            self.y0 - cell,
            self.x0 + (self.nx + 1) * cell,
            self.y0 + (self.ny + 1) * cell,
        )

    def cells(self, x: NDArray[np.float64], y: NDArray[np.float64]) -> NDArray[np.intp]:
        """Return the position in ``code`` of each point's cell (the border off the table).

        Whole numbers are exact in float64, so the position,
        ``(ix + 1) * (ny + 2) + iy + 1``, is summed there and converted once;
        ``fmax`` sends NaN to the border.
        """
        fx = np.subtract(x, self.x0)
        fx *= self.per_unit
        np.floor(fx, out=fx)
        np.fmax(fx, -1.0, out=fx)
        np.fmin(fx, float(self.nx), out=fx)
        fx *= float(self.ny + 2)
        fy = np.subtract(y, self.y0)
        fy *= self.per_unit
        np.floor(fy, out=fy)
        np.fmax(fy, -1.0, out=fy)
        np.fmin(fy, float(self.ny), out=fy)
        fx += fy
        fx += float(self.ny + 3)
        return fx.astype(np.intp)


def _bordered(per_unit: float, x0: float, y0: float, code: NDArray[np.integer]) -> _SourceGrid:
    """Return the table of the ``(nx, ny)`` array ``code``, with its border of exact cells."""
    nx, ny = code.shape
    padded = np.full((nx + 2, ny + 2), _SRC_EXACT, dtype=code.dtype)
    padded[1:-1, 1:-1] = code
    return _SourceGrid(per_unit=per_unit, x0=x0, y0=y0, nx=nx, ny=ny, code=padded.ravel())


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
            _SOURCE_GRIDS[key] = _kept_source_grid(src, transformer, index, nearest_within_m)
        return _SOURCE_GRIDS[key]


def _kept_source_grid(
    src: pyproj.CRS,
    transformer: pyproj.Transformer,
    index: _BoroughIndex,
    nearest_within_m: float,
) -> _SourceGrid | None:
    """Return the table from the disk cache, or build it and keep it there."""
    constants = (_SRC_TOP_PER_DEG, _SRC_LEVELS, _SRC_RING_LEVELS, _SRC_MARGIN_DEG, _SRC_MAX_CELLS)
    parts = (
        _boroughs_key(index),
        src.to_wkt().encode(),
        repr((float(nearest_within_m), constants, _SRC_SCALE_SAMPLES)).encode(),
    )
    kept = _load(parts)
    if kept is not None and set(kept) == {"head", "code"} and len(kept["head"]) == 5:
        # Kept with its border, so it is used as read: no copy.
        per_unit, x0, y0, nx, ny = (float(v) for v in kept["head"])
        if kept["code"].shape == ((int(nx) + 2) * (int(ny) + 2),):
            return _SourceGrid(per_unit, x0, y0, int(nx), int(ny), kept["code"])
    grid = _build_source_grid(src, transformer, index, nearest_within_m)
    if grid is not None:
        head = np.array([grid.per_unit, grid.x0, grid.y0, grid.nx, grid.ny], dtype=np.float64)
        _save(parts, {"head": head, "code": grid.code})
    return grid


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
    boundary is halved, down to 1/2048 degree; so is a cell in no borough
    that straddles the fallback radius (nearest boundary between
    ``nearest_within_m - r`` and ``nearest_within_m + r``), as deep as
    ``_SRC_RING_LEVELS``. What is left (points near a boundary or within
    reach of the nearest-borough fallback) is joined exactly.

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
        (left, bottom), (right, top_y) = (
            index.bounds[:, :2].min(axis=0),
            index.bounds[:, 2:].max(axis=0),
        )
        lo_x, lo_y, hi_x, hi_y = transformer.transform_bounds(
            left,
            bottom,
            right,
            top_y,
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
    gx, gy = np.meshgrid(
        np.linspace(x0, x0 + nx / top, _SRC_SCALE_SAMPLES),
        np.linspace(y0, y0 + ny / top, _SRC_SCALE_SAMPLES),
    )
    sx, sy = gx.ravel(), gy.ravel()
    step = 1e-4
    with np.errstate(all="ignore"):
        ex = np.subtract(*(np.array(transformer.transform(sx + s, sy)) for s in (step, -step)))
        ey = np.subtract(*(np.array(transformer.transform(sx, sy + s)) for s in (step, -step)))
    ex, ey = ex / (2 * step), ey / (2 * step)
    stretch = np.hypot(*np.concatenate([ex + ey, ex - ey], axis=1))
    if not np.isfinite(stretch).all():
        return None
    scale = float(stretch.max()) * 1.01

    dtype: type[np.signedinteger[Any]] = np.int8 if len(index) < 127 else np.int32
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
    return _bordered(per_unit, x0, y0, dense)
