"""The boroughs indexed in British National Grid, and geometry on raw arrays.

The polygons are prepared once; their boundary segments are kept as flat
arrays (for numpy distances) and in a GEOS tree (for nearest queries).
"""

from __future__ import annotations

import hashlib
import logging
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import numpy as np
import shapely

from estates.crs import BNG
from estates.errors import CRSError, DataValidationError
from estates.io.detect import detect_boundary_columns

if TYPE_CHECKING:
    from numpy.typing import NDArray

logger = logging.getLogger("estates")


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
    # A digest of ``wkb``, taken once: every call keys its cell tables on it.
    key: bytes

    def __len__(self) -> int:
        return len(self.geoms)

    def copy(self) -> _BoroughIndex:
        """Return an index with its own GEOS geometries, tree and prepared state."""
        return _build_index(self.codes, self.names, self.wkb)


def _index_boroughs(boroughs: gpd.GeoDataFrame) -> _BoroughIndex:
    """Check ``boroughs`` and index it in EPSG:27700; ``boroughs`` is left unchanged.

    The index is kept per thread and boroughs (their geometry, CRS, codes and
    names), so repeated joins in one thread build it once.
    """
    if not isinstance(boroughs, gpd.GeoDataFrame):
        msg = f"boroughs must be a GeoDataFrame, not {type(boroughs).__name__}"
        raise DataValidationError(msg)
    # The one detector load_boroughs uses: borough_code/borough_name, LAD20CD/LAD20NM...
    # The first rows of each column, as boroughs.head(5) gives them: taken column
    # by column, since a frame's head costs a millisecond a join.
    attributes = [str(c) for c in boroughs.columns if c != boroughs.geometry.name]
    found = detect_boundary_columns(
        attributes,
        samples={c: [str(v) for v in boroughs[c].iloc[:5].tolist()] for c in attributes},
        source="boroughs",
    )
    logger.debug("%s", found.description)
    code_col, name_col = found.chosen["borough_code"], found.chosen["borough_name"]
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
            f"({code_col} {boroughs[code_col].iloc[first]!r}): geometry is {what}; "
            "each borough needs a non-empty Polygon or MultiPolygon"
        )
        raise DataValidationError(msg)
    for column in (code_col, name_col):
        nulls = boroughs[column].isna().to_numpy()
        if nulls.any():
            first = int(np.flatnonzero(nulls)[0])
            msg = f"boroughs row {boroughs.index[first]!r}: {column} is missing; fill it in"
            raise DataValidationError(msg)
    codes = np.array([str(v) for v in boroughs[code_col]], dtype=object)
    names = np.array([str(v) for v in boroughs[name_col]], dtype=object)
    key = (
        hashlib.sha1(b"".join(shapely.to_wkb(geoms))).digest(),
        boroughs.crs.to_wkt(),
        tuple(codes),
        tuple(names),
    )
    kept: dict[tuple[Any, ...], _BoroughIndex] = _THREAD.__dict__.setdefault("indexes", {})
    if key not in kept:
        # geopandas' own to_crs, so the polygons match an sjoin on to_crs(27700) exactly.
        bng = np.asarray(boroughs.geometry.to_crs(BNG).array)
        if len(kept) >= 4:
            kept.clear()
        kept[key] = _build_index(codes, names, shapely.to_wkb(bng))
    return kept[key]


# Indexes built by this thread, kept per boroughs: the next join of the same
# boroughs in the same thread (the next call, the next chunk of a file) reuses
# its index. Per thread, because GEOS objects are not shared between threads.
_THREAD = threading.local()


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
        key=hashlib.sha1(b"".join(wkb)).digest(),
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


def _locate(
    x: NDArray[np.float64], y: NDArray[np.float64], index: _BoroughIndex
) -> NDArray[np.int32]:
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
    px: NDArray[np.float64],
    py: NDArray[np.float64],
    seg: NDArray[np.integer[Any]],
    index: _BoroughIndex,
) -> NDArray[np.float64]:
    """Distance from points to segments, with the arithmetic of GEOS ``pointToSegment``.

    Every rounding step is the one GEOS takes, so the values equal GEOS
    distances to the borough polygons bit for bit (the tests check this
    against ``sjoin_nearest``). GEOS's ``(A.y - p.y) * dx - (A.x - p.x) * dy``
    is written ``qx * dy - qy * dx`` below: negation is exact, so only the sign
    differs, and the sign is dropped.
    """
    # numpy's stubs type fancy indexing with a non-intp array as Any; name the dtype.
    ax: NDArray[np.float64] = index.seg_ax[seg]
    ay: NDArray[np.float64] = index.seg_ay[seg]
    dx: NDArray[np.float64] = index.seg_dx[seg]
    dy: NDArray[np.float64] = index.seg_dy[seg]
    len2: NDArray[np.float64] = index.seg_len2[seg]
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
    px: NDArray[np.float64],
    py: NDArray[np.float64],
    seg: NDArray[np.integer[Any]],
    index: _BoroughIndex,
) -> NDArray[np.float64]:
    """Distance from points to segments, accurate to rounding; for cell centres."""
    ax: NDArray[np.float64] = index.seg_ax[seg]
    ay: NDArray[np.float64] = index.seg_ay[seg]
    dx: NDArray[np.float64] = index.seg_dx[seg]
    dy: NDArray[np.float64] = index.seg_dy[seg]
    len2: NDArray[np.float64] = index.seg_len2[seg]
    r = np.clip(((px - ax) * dx + (py - ay) * dy) / len2, 0.0, 1.0)
    ex = px - ax - r * dx
    ey = py - ay - r * dy
    dist: NDArray[np.float64] = np.sqrt(ex * ex + ey * ey)
    return dist


def _expand(
    start: NDArray[np.int64], count: NDArray[np.int64], rows: NDArray[np.integer[Any]]
) -> tuple[NDArray[np.intp], NDArray[np.int64], NDArray[np.int64]]:
    """Expand CSR rows into pairs: (row of each pair, position in data, first pair of row)."""
    cnt = count[rows]
    first = np.cumsum(cnt) - cnt
    rep = np.repeat(np.arange(len(rows)), cnt)
    pos = np.arange(int(cnt.sum()), dtype=np.int64) - np.repeat(first - start[rows], cnt)
    return rep, pos, first


def _csr(rows: NDArray[np.integer[Any]], n: int) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    count = np.bincount(rows, minlength=n).astype(np.int64)
    return np.cumsum(count) - count, count


def _boroughs_key(index: _BoroughIndex) -> bytes:
    """Return a digest of the boroughs' EPSG:27700 polygons, to key cached tables on.

    Taken when the index is built, not on every call: hashing the polygons'
    100 KB of WKB again cost a tenth of a millisecond each time.
    """
    return index.key
