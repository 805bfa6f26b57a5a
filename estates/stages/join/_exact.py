"""The exact join of EPSG:27700 coordinate arrays: point in polygon, then nearest boundary."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

import numpy as np
import shapely

from estates.stages.join._grid import _CELL_INSIDE, _CELL_STRADDLE, _MAX_CELL_CANDIDATES, _Grid
from estates.stages.join._index import _BoroughIndex, _expand, _locate, _segment_distance_exact

if TYPE_CHECKING:
    from numpy.typing import NDArray

logger = logging.getLogger("estates")

# Codes of the int8 method array returned by _join_points_xy.
_MISSING, _WITHIN, _NEAREST, _OUTSIDE = -1, 0, 1, 2

# Points per block when (point, segment) pairs are expanded. At about five
# candidate segments a point, a block's temporaries stay near 160 KiB each:
# a new process's first join of 1e6 sites then takes 470 fresh pages from the
# system instead of 2,600 (with 16,384 points a block), and later joins are
# no slower.
_PAIR_BLOCK = 1 << 12
# Two boroughs closer than this (metres) to being equidistant from a point, or
# a point this close to a boundary, are settled with GEOS distances.
_TIE_TOLERANCE_M = 1e-6
# Beyond this fallback radius (metres), points in no polygon are measured
# with a nearest query, not from all the segments within the radius.
_NEAR_QUERY_MAX_M = 2_000.0
# Slack (metres) on that radius, far above rounding in GEOS distances.
_NEAR_SLACK_M = 1e-3


def _pick_nearest(
    px: NDArray[np.float64],
    py: NDArray[np.float64],
    *,
    rep: NDArray[np.integer[Any]],
    first: NDArray[np.integer[Any]],
    seg: NDArray[np.integer[Any]],
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
    rep: NDArray[np.integer[Any]],
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
