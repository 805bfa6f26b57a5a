"""A grid of square cells in EPSG:27700, each knowing its boroughs and boundary segments.

Built once per boroughs and cell size and kept, in memory and on disk
(:mod:`._disk_cache`), so every chunk, thread, later call and later process
reuses it: a point then costs a table look-up, and only points in cells a
boundary crosses are tested one by one.
"""

from __future__ import annotations

import logging
import math
import threading
from typing import TYPE_CHECKING, NamedTuple

import numpy as np
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

# A join uses the cell grid (0.1 to 0.3 s to build, once per machine; under a
# ms to map back) when it expects this many points in no polygon, judging
# from a sample of this many points.
_GRID_MIN_OUTSIDE = 10_000
_GRID_SAMPLE = 4096
# The grid covers the boroughs' extent plus this margin, metres...
_GRID_MARGIN_M = 10_000.0
# ... unless that takes more cells than this (London takes about 310,000).
_GRID_MAX_CELLS = 1 << 22
# Grid cells halve from 4096 m down to 256 m, or to 128 m when at least
# _FINE_GRID_MIN_OUTSIDE points are expected in no polygon (finer cells cost
# half as much again to build and keep, and halve the time per point).
_TOP_CELL_M = 4096.0
_CELL_M = 256.0
_FINE_CELL_M = 128.0
_FINE_GRID_MIN_OUTSIDE = 20_000
# An outside cell with at most this many candidate segments is not refined.
_LEAF_CANDIDATES = 8
# A point in a cell with more candidate segments than this asks the GEOS tree.
_MAX_CELL_CANDIDATES = 256
# (cell, segment) pairs per block while the grid is built.
_PAIR_BUDGET = 1 << 18
# A 2D point in little-endian WKB: byte order, type, x, y (21 bytes).
# Kinds of grid cell.
_CELL_INSIDE, _CELL_OUTSIDE, _CELL_STRADDLE = 0, 1, 2


def _group_cells(
    ix: NDArray[np.int64], iy: NDArray[np.int64]
) -> tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.intp]]:
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
    # A field named like tuple.count shadows that method; the name is kept
    # because it is also the array's key in the on-disk grid cache.
    count: NDArray[np.int64]  # type: ignore[assignment]
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
        # Already float64; astype (no copy) tells the type checker so.
        cx = ((cx_i + 0.5) * size).astype(np.float64, copy=False)
        cy = ((cy_i + 0.5) * size).astype(np.float64, copy=False)
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
            _GRIDS[key] = _kept_grid(index, cell_m)
        return _GRIDS[key]


def _kept_grid(index: _BoroughIndex, cell_m: float) -> _Grid | None:
    """Return the grid from the disk cache, or build it and keep it there."""
    constants = (
        _GRID_MARGIN_M,
        _GRID_MAX_CELLS,
        _TOP_CELL_M,
        _LEAF_CANDIDATES,
        _PAIR_BUDGET,
        float(cell_m),
    )
    parts = (_boroughs_key(index), repr(constants).encode())
    kept = _load(parts, kind="grid")
    if kept is not None and set(kept) == {"head", *_GRID_ARRAYS} and len(kept["head"]) == 5:
        head = kept["head"]
        return _Grid(
            cell_m=float(head[0]),
            ix0=int(head[1]),
            iy0=int(head[2]),
            nx=int(head[3]),
            ny=int(head[4]),
            **{name: kept[name] for name in _GRID_ARRAYS},
        )
    grid = _build_grid(index, cell_m)
    if grid is not None:
        head = np.array([grid.cell_m, grid.ix0, grid.iy0, grid.nx, grid.ny], dtype=np.float64)
        arrays = {name: getattr(grid, name) for name in _GRID_ARRAYS}
        _save(parts, {"head": head, **arrays}, kind="grid")
    return grid


# The array fields of a _Grid, as kept on disk.
_GRID_ARRAYS = ("node", "kind", "label", "start", "count", "cand")


#: Built grids, kept per boroughs and cell size: the next join of the same
#: boroughs (the next chunk of a file, the next call) reuses its grid.
_GRIDS: dict[tuple[bytes, float], _Grid | None] = {}
_GRIDS_LOCK = threading.Lock()


def _sample_rows(usable: NDArray[np.bool_]) -> NDArray[np.int64]:
    """Up to ``_GRID_SAMPLE`` usable rows, evenly spread (no randomness)."""
    rows = np.flatnonzero(usable)
    return rows[:: max(1, len(rows) // _GRID_SAMPLE)][:_GRID_SAMPLE].copy()  # not a view


def _sample_range(n: int) -> NDArray[np.int64]:
    """As :func:`_sample_rows` when all of ``n`` rows are usable, with no mask built."""
    return np.arange(0, n, max(1, n // _GRID_SAMPLE), dtype=np.int64)[:_GRID_SAMPLE]
