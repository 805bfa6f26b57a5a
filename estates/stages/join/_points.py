"""Reading, checking and reprojecting site points; building the added columns."""

from __future__ import annotations

import functools
import logging
import math
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np
import pandas as pd
import pyarrow as pa
import pyproj
import shapely

from estates.crs import BNG, shared_transformer
from estates.errors import ConfigError, CRSError, DataValidationError
from estates.logs import counted
from estates.stages.join._index import _BoroughIndex, _locate

if TYPE_CHECKING:
    from numpy.typing import NDArray

logger = logging.getLogger("estates")


#: Values of the ``join_method`` column, besides NA for a site with no geometry.
JOIN_METHODS = ("within", "nearest", "outside")
#: Columns :func:`join_boroughs` adds to the sites.
ADDED_COLUMNS = ("borough_code", "borough_name", "join_method", "borough_distance_m")


def _check_options(nearest_within_m: float, threads: int | None) -> None:
    if not (isinstance(nearest_within_m, int | float) and math.isfinite(nearest_within_m)):
        msg = f"nearest_within_m must be a finite number of metres, not {nearest_within_m!r}"
        raise ConfigError(msg)
    if nearest_within_m < 0:
        msg = f"nearest_within_m must be >= 0 metres, not {nearest_within_m!r}"
        raise ConfigError(msg)
    if threads is None:
        return
    if isinstance(threads, bool) or not isinstance(threads, int) or threads < 1:
        msg = f"threads must be a whole number >= 1 (or None: one per core), not {threads!r}"
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
            f"{counted(int(bad.sum()), 'such row')}. Join sites as points "
            "(e.g. .representative_point())"
        )
        raise DataValidationError(msg)
    points: NDArray[np.bool_] = type_id == 0  # shapely's functions are untyped
    return points


def _point_mask(geoms: NDArray[np.object_], labels: Any, what: str) -> NDArray[np.bool_]:
    """Return the mask of usable points; raise on any geometry that is not a point."""
    usable = _point_rows(geoms, labels, what)
    usable[usable] = ~shapely.is_empty(geoms[usable])
    return usable


#: Rows a call of each shapely accessor reads in :func:`_read_points`: small
#: enough that the later passes over a block find its objects still in the
#: CPU cache (a pass over 131,072 points does not), large enough that the
#: calls cost little. About 10 ms less per million points than whole chunks.
_READ_BLOCK = 4096


def _read_points(
    geoms: NDArray[np.object_],
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.bool_]] | None:
    """Return x and y of ``geoms`` (NaN where missing or empty) and which have a z.

    None if one of them is not a point: the caller names it with
    :func:`_point_rows`. Three passes over the objects, block by block: the
    kind of each (``get_type_id``), its bounds, which for a point are its x
    and y (the same numbers ``get_x`` and ``get_y`` give, NaN included) read
    in one GEOS call per object instead of two, and ``has_z`` (False for a
    missing geometry). An empty point's bounds are NaN, where GEOS 3.14
    refuses its x. What a NaN stands for is asked later, of those rows only,
    by :func:`_usable_points`. x and y are views of one ``(n, 4)`` array.
    """
    n = len(geoms)
    kind = np.empty(n, dtype=np.int32)
    bounds = np.empty((n, 4))
    has_z = np.empty(n, dtype=bool)
    for lo in range(0, n, _READ_BLOCK):
        hi = min(lo + _READ_BLOCK, n)
        block = geoms[lo:hi]
        shapely.get_type_id(block, out=kind[lo:hi])
        shapely.bounds(block, out=bounds[lo:hi])
        shapely.has_z(block, out=has_z[lo:hi])
    if n and int(kind.max()) > 0:
        return None
    return bounds[:, 0], bounds[:, 1], has_z


def _read_xy(
    geoms: NDArray[np.object_],
) -> tuple[NDArray[np.float64], NDArray[np.float64]] | None:
    """Return x and y of ``geoms`` as :func:`_read_points` does, without the z test."""
    if len(geoms) and int(shapely.get_type_id(geoms).max()) > 0:
        return None
    bounds = shapely.bounds(geoms)
    return bounds[:, 0], bounds[:, 1]


def _usable_points(
    geoms: NDArray[np.object_],
    rows: NDArray[np.intp],
    x: NDArray[np.float64],
    y: NDArray[np.float64],
) -> NDArray[np.bool_] | None:
    """Which of ``geoms[rows]`` (x, y from :func:`_read_xy`) are usable points.

    shapely gives NaN for a missing geometry and for any that is not a point,
    so the rows with numbers are points, and only those whose x or y is NaN
    are asked their kind (a per-object query as costly as reading x). None
    means one of them is not a point: the caller names it with
    :func:`_point_rows`.
    """
    usable = np.ones(len(rows), dtype=bool)
    odd = np.flatnonzero(np.isnan(x) | np.isnan(y))
    if odd.size:
        asked = geoms[rows[odd]]
        type_id = shapely.get_type_id(asked)
        if ((type_id != 0) & (type_id != -1)).any():
            return None
        usable[odd] = (type_id == 0) & ~shapely.is_empty(asked)
    return usable


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
    if not work.has_z.any():  # the usual case: one call, no gathers
        flat_x, flat_y = transformer.transform(work.x, work.y)
        return flat_x, flat_y
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
    The very one (:func:`estates.crs.shared_transformer`), so the join and
    ``to_crs`` build it once between them.
    """
    if src.is_exact_same(pyproj.CRS.from_user_input(BNG)):
        return None
    return shared_transformer(src, pyproj.CRS.from_user_input(BNG))


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
            f"British National Grid ({BNG}); {counted(int(bad.sum()), 'such row')}. "
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


def _positions(n_values: int) -> type[np.signedinteger]:
    """Return the smallest signed integer type holding positions below ``n_values``, and -1.

    The 33 boroughs fit in a byte: at ten million sites that is 10 MB of
    positions instead of 40 MB.
    """
    for kind in (np.int8, np.int16):
        if n_values <= np.iinfo(kind).max:
            return kind
    return np.int32


def _take_indices(position: NDArray[np.signedinteger]) -> pa.Array:
    """``position`` as Arrow take indices, null where it is -1; share it between columns."""
    return pa.array(position, mask=position < 0)


def _string_column(
    values: NDArray[np.object_], position: NDArray[np.signedinteger] | pa.Array
) -> pd.api.extensions.ExtensionArray:
    """``values[position]`` as a pandas string array, NA where position is -1.

    ``position`` may come from :func:`_take_indices` already.
    """
    indices = position if isinstance(position, pa.Array) else _take_indices(position)
    taken = pa.array(values, type=pa.string()).take(indices)
    return pd.arrays.ArrowStringArray(taken)


def _category_column(
    values: NDArray[np.object_], position: NDArray[np.signedinteger]
) -> pd.Categorical:
    """``values[position]`` as a categorical of ``values``, NaN where position is -1.

    The categories are the distinct ``values`` in the order of the boroughs
    frame (the first of any repeated value stands for it), so every borough
    is a category, whether or not a site lies in it. A categorical takes one
    byte a row where strings take about twenty (Arrow offsets and
    characters), and it is built from the positions without touching a
    string: at ten million sites, 10 MB and no time instead of 230 MB and a
    quarter of a second per column. ``position`` is used as the codes when
    ``values`` has no repeats; pass a copy if another column shares it.
    """
    codes, uniques = pd.factorize(pd.Index(values, dtype=object))
    if len(uniques) < len(values):
        # Repeated values: map each position to its value's first position;
        # the appended -1 sends position -1 (no borough) to -1.
        lookup = np.append(codes, -1).astype(position.dtype)
        position = lookup[position]
    categories = pd.Index(uniques.astype(str))
    return pd.Categorical.from_codes(position, categories=categories)


def _method_column(method: NDArray[np.int8]) -> pd.Categorical:
    """Return the method codes as a categorical of :data:`JOIN_METHODS`, NaN for -1.

    A categorical takes one byte a row, where strings take about ten: at ten
    million sites that is the difference between 10 MB and 100 MB.
    """
    return pd.Categorical.from_codes(method, categories=JOIN_METHODS)


def _count_methods(method: NDArray[np.int8]) -> NDArray[np.int64]:
    """Count the missing, within, nearest and outside sites.

    One comparison per kind on the int8 codes: no wider copy of them.
    """
    return np.array([np.count_nonzero(method == k) for k in range(-1, 3)], dtype=np.int64)


def _summary(n_boroughs: int, counts: NDArray[np.int64]) -> str:
    missing, within, nearest, outside = (int(c) for c in counts)
    line = (
        f"joined {counted(int(counts.sum()), 'site')} to {counted(n_boroughs, 'borough')}: "
        f"{within} within, "
        f"{nearest} nearest (river bank), {outside} outside London"
    )
    return line + (f", {missing} without geometry" if missing else "")


def _swapped(
    x: NDArray[np.float64],
    y: NDArray[np.float64],
    transformer: pyproj.Transformer | None,
    index: _BoroughIndex,
) -> NDArray[np.bool_]:
    """Which points (x, y in the sites' CRS), in no borough, lie in one once x and y swap.

    A site given as (latitude, longitude) instead of (longitude, latitude), or
    (northing, easting), lands far from London and would come back "outside"
    without a word. Only points whose swapped coordinates fall in the
    boroughs' extent (a box in the sites' CRS) are reprojected and located,
    so the check costs next to nothing when none do.
    """
    swapped = np.zeros(len(x), dtype=bool)
    if len(x) == 0:
        return swapped
    cand = np.flatnonzero(_in_box_swapped(x, y, _extent_in(transformer, index)))
    if cand.size == 0:
        return swapped
    every = np.ones(len(cand), dtype=bool)
    bx, by = _transform_xy(y[cand], x[cand], every, transformer)
    placed = np.isfinite(bx) & np.isfinite(by)
    hit = np.zeros(len(cand), dtype=bool)
    hit[placed] = _locate(bx[placed], by[placed], index) >= 0
    swapped[cand[hit]] = True
    return swapped


def _in_box_swapped(
    x: NDArray[np.float64], y: NDArray[np.float64], box: tuple[float, float, float, float]
) -> NDArray[np.bool_]:
    """Return which points fall in ``box`` (x0, y0, x1, y1) once x and y swap."""
    x0, y0, x1, y1 = box
    return (y >= x0) & (y <= x1) & (x >= y0) & (x <= y1)


def _extent_in(
    transformer: pyproj.Transformer | None, index: _BoroughIndex
) -> tuple[float, float, float, float]:
    """Return the boroughs' EPSG:27700 extent as a box in the sites' CRS (NaN if it has none)."""
    x0, y0 = index.bounds[:, :2].min(axis=0)
    x1, y1 = index.bounds[:, 2:].max(axis=0)
    if transformer is None:
        return float(x0), float(y0), float(x1), float(y1)
    with np.errstate(all="ignore"):
        box = transformer.transform_bounds(x0, y0, x1, y1, densify_pts=21, direction="INVERSE")
    return tuple(float(v) for v in box)  # type: ignore[return-value]


def _swapped_message(what: str, label: Any, x: float, y: float, count: int) -> str:
    """Return the error for sites whose x and y look swapped."""
    return (
        f"{what} {_label(label)!r}: ({x}, {y}) is far outside London, but with x and y "
        f"swapped it lies in a borough; {counted(count, 'such site')}. Are latitude and longitude "
        "(or easting and northing) swapped? Give x as longitude (easting) and y as "
        "latitude (northing)"
    )
