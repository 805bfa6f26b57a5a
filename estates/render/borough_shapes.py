"""The boroughs' shapes as the pages draw them, worked out once per set of boundaries.

Every page of a build, and every build with the same boundaries, draws the
same borough shapes and the same pilot and sub-region outlines: only the
figures and texts beside them change. The outlines are unions of borough
shapes (snapped to a 1e-5 degree grid), the costliest step of preparing the
boroughs, and the shapes' GeoJSON is rounded ring by ring. Both are kept,
keyed by a digest of the shapes (their WKB) and of the group memberships, so a
second page or build with the same boundaries reuses them instead of redoing
the unions: in memory for the process, and on disk for the next process
(:mod:`estates.io.array_cache`, as the join's cell tables; one JSON record, the
outlines as WKB, under a name that also holds the GEOS and shapely versions).
A bundled build's first page then takes a few milliseconds for what took about
50. The values are those of the first computation, so the pages' bytes do not
change; a kept record that does not read back whole is ignored and rewritten.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import shapely
from shapely.ops import polylabel

from estates.io.array_cache import cache_path, load_arrays, save_arrays

__all__ = ["BoroughShapes", "borough_shapes", "geometry_json", "label_point"]

#: Tolerance of the label point, in degrees (about 50 m): finer gains nothing on a screen.
_LABEL_TOLERANCE = 0.0005
#: The grid the outlines are snapped to, in degrees (about a metre).
_GRID = 1e-5

# Sets of boundaries kept: a build uses one; a session trying a few keeps each.
_KEPT = 4
_CACHE: OrderedDict[bytes, BoroughShapes] = OrderedDict()
# Bump when the layout or meaning of the record kept on disk changes.
_FORMAT = b"borough-shapes-1"


def _geojson_coords(obj: Any, digits: int = 5) -> Any:
    if isinstance(obj, (list, tuple)):
        if obj and isinstance(obj[0], float | int):
            return [round(float(v), digits) for v in obj]
        return [_geojson_coords(v, digits) for v in obj]
    return obj


def _rounded_rings(rings: Sequence[Any], digits: int = 5) -> list[list[list[float]]] | None:
    """Return each ring's coordinates as ``[[x, y], ...]``, each rounded as ``round`` rounds.

    ``np.round`` gives ``round``'s float unless a value times ``10**digits``
    lies within rounding error of a half; those rings, and any that are not
    finite or 2-D, give None, for the value-by-value path.
    """
    if shapely.has_z(rings).any():
        return None
    coords = shapely.get_coordinates(rings)
    scaled = coords * 10.0**digits
    if not np.isfinite(scaled).all() or (np.abs(scaled - np.floor(scaled) - 0.5) < 1e-6).any():
        return None
    rounded = np.round(coords, digits).tolist()
    ends = np.cumsum(shapely.get_num_coordinates(rings)).tolist()
    return [rounded[start:end] for start, end in zip([0, *ends[:-1]], ends, strict=True)]


def _polygon_coords(polygon: Any) -> list[list[list[float]]] | None:
    return _rounded_rings([polygon.exterior, *polygon.interiors])


def geometry_json(geom: Any) -> dict[str, Any] | None:
    """Return a shape as GeoJSON, coordinates rounded to 5 places (about a metre).

    Polygons and multipolygons have their coordinates rounded a ring at a
    time with numpy; any other shape, or a ring numpy might round otherwise,
    coordinate by coordinate with ``round``. The values are the same either way.
    """
    if geom is None or geom.is_empty:
        return None
    fast: Any = None
    if geom.geom_type == "Polygon":
        fast = _polygon_coords(geom)
    elif geom.geom_type == "MultiPolygon":
        fast = [_polygon_coords(part) for part in geom.geoms]
        fast = None if any(part is None for part in fast) else fast
    if fast is not None:
        return {"type": geom.geom_type, "coordinates": fast}
    mapped = shapely.geometry.mapping(geom)
    return {"type": mapped["type"], "coordinates": _geojson_coords(mapped["coordinates"])}


def label_point(geom: Any) -> tuple[float, float] | None:
    """Return (lon, lat) of a point well inside ``geom``'s largest part, None if empty.

    The point is the pole of inaccessibility (the point farthest from the
    edges), so a borough's name sits inside even an odd shape.
    """
    if geom is None or geom.is_empty:
        return None
    parts = list(getattr(geom, "geoms", [geom]))
    largest = max(parts, key=lambda g: g.area)
    try:
        point = polylabel(largest, tolerance=_LABEL_TOLERANCE)
    except (ValueError, shapely.errors.GEOSException):  # a degenerate ring
        point = largest.representative_point()
    return float(point.x), float(point.y)


def _members(geoms: np.ndarray, keys: Sequence[tuple[str, ...]]) -> dict[str, list[Any]]:
    """Return each group's borough shapes (none empty); ``keys`` holds each borough's groups."""
    members: dict[str, list[Any]] = {}
    for geom, groups in zip(geoms, keys, strict=True):
        if geom is None or geom.is_empty:
            continue
        for gid in groups:
            members.setdefault(gid, []).append(geom)
    return members


def _dissolve(members: dict[str, list[Any]]) -> dict[str, Any]:
    """Union each group's borough shapes, in id order."""
    out = {}
    for gid in sorted(members):
        snapped = shapely.set_precision(np.asarray(members[gid], dtype=object), _GRID)
        out[gid] = shapely.union_all(snapped, grid_size=_GRID)
    return out


@dataclass(frozen=True)
class BoroughShapes:
    """What the boroughs' shapes give every page: GeoJSON, label points and group outlines.

    ``geometries`` holds each borough's GeoJSON geometry (None for none) and
    ``label_points`` where its name goes (:func:`label_point`), in the order
    given; ``pilots`` and ``subregions`` each group's outline, a
    union of its boroughs, by group id in id order. The values are shared by
    every caller with the same boundaries: read them, never change them.
    """

    geometries: tuple[dict[str, Any] | None, ...]
    label_points: tuple[tuple[float, float] | None, ...]
    pilots: dict[str, Any]
    subregions: dict[str, Any]


def _digest(
    geoms: np.ndarray, pilots: Sequence[tuple[str, ...]], subregions: Sequence[str]
) -> bytes:
    """Return a digest of the shapes (WKB, none as empty) and each one's groups, in order."""
    h = hashlib.sha256()
    for wkb in shapely.to_wkb(geoms, hex=False).tolist():
        h.update(len(wkb or b"").to_bytes(8, "little"))
        h.update(wkb or b"")
    for groups, sub in zip(pilots, subregions, strict=True):
        h.update(repr((groups, sub)).encode("utf-8", "surrogatepass"))
    return h.digest()


def borough_shapes(
    geoms: Sequence[Any], pilots: Sequence[tuple[str, ...]], subregions: Sequence[str]
) -> BoroughShapes:
    """Return the boroughs' GeoJSON and outlines, worked out once per shapes and groups.

    Parameters
    ----------
    geoms : sequence of shapely geometries
        The borough shapes (EPSG:4326), in the order the page lists them.
    pilots : sequence of tuple of str
        Each borough's pilot ids.
    subregions : sequence of str
        Each borough's sub-region id ("" for none).
    """
    array = np.asarray(list(geoms), dtype=object)
    key = _digest(array, pilots, subregions)
    found = _CACHE.get(key)
    if found is not None:
        _CACHE.move_to_end(key)
        return found
    groups = {
        "pilots": _members(array, pilots),
        "subregions": _members(array, [(s,) if s else () for s in subregions]),
    }
    path = _kept_path(key)
    shapes = _read_kept(path, len(array), {kind: sorted(m) for kind, m in groups.items()})
    if shapes is None:
        shapes = BoroughShapes(
            geometries=tuple(geometry_json(g) for g in array),
            label_points=tuple(label_point(g) for g in array),
            pilots=_dissolve(groups["pilots"]),
            subregions=_dissolve(groups["subregions"]),
        )
        _keep(path, shapes)
    _CACHE[key] = shapes
    while len(_CACHE) > _KEPT:
        _CACHE.popitem(last=False)
    return shapes


def _kept_path(key: bytes) -> Path | None:
    """Return the file that keeps the shapes of ``key`` on disk, or None when caching is off.

    The name holds what the values depend on besides the shapes and groups:
    this module's settings and the shapely and GEOS versions (bump
    :data:`_FORMAT` when the way they are worked out changes).
    """
    settings = repr((_GRID, _LABEL_TOLERANCE, shapely.__version__, shapely.geos_version_string))
    return cache_path("borough-shapes", (_FORMAT, settings.encode(), key))


def _keep(path: Path | None, shapes: BoroughShapes) -> None:
    """Keep ``shapes`` in ``path``: a JSON record and its SHA-256; give up quietly if unwritable."""
    if path is None:
        return
    record = {
        "geometries": shapes.geometries,
        "label_points": shapes.label_points,
        "pilots": {gid: shapely.to_wkb(g, hex=True) for gid, g in shapes.pilots.items()},
        "subregions": {gid: shapely.to_wkb(g, hex=True) for gid, g in shapes.subregions.items()},
    }
    data = json.dumps(record, separators=(",", ":")).encode("utf-8")
    save_arrays(
        path,
        {
            "record": np.frombuffer(data, dtype=np.uint8),
            "sha256": np.frombuffer(hashlib.sha256(data).digest(), dtype=np.uint8),
        },
    )


def _read_kept(path: Path | None, count: int, ids: dict[str, list[str]]) -> BoroughShapes | None:
    """Return the shapes kept in ``path``, or None unless they read back whole.

    ``count`` is the number of boroughs and ``ids`` each kind's group ids, in
    order: a record for others, altered since it was written (its SHA-256) or
    with a value of the wrong kind is not used, and the shapes are worked out
    again and rewritten.
    """
    arrays = load_arrays(path)
    if arrays is None or set(arrays) != {"record", "sha256"}:
        return None
    data = arrays["record"].tobytes()
    if hashlib.sha256(data).digest() != arrays["sha256"].tobytes():
        return None
    try:
        return _parsed(json.loads(data), count, ids)
    except Exception:  # whatever a damaged record raises: worked out again
        return None


def _parsed(record: Any, count: int, ids: dict[str, list[str]]) -> BoroughShapes | None:
    """Return the shapes a kept record holds, or None if any value is not of its kind."""
    if not isinstance(record, dict) or set(record) != {"geometries", "label_points", *ids}:
        return None
    geometries, points = record["geometries"], record["label_points"]
    if not (isinstance(geometries, list) and isinstance(points, list)):
        return None
    if len(geometries) != count or len(points) != count:
        return None
    for geometry in geometries:
        if geometry is not None and not (
            isinstance(geometry, dict)
            and geometry.get("type") in {"Polygon", "MultiPolygon"}
            and isinstance(geometry.get("coordinates"), list)
        ):
            return None
    for point in points:
        if point is not None and not (
            isinstance(point, list)
            and len(point) == 2
            and all(type(v) in {int, float} and math.isfinite(v) for v in point)
        ):
            return None
    outlines: dict[str, dict[str, Any]] = {}
    for kind, wanted in ids.items():
        kept = record[kind]
        if not isinstance(kept, dict) or list(kept) != wanted:
            return None
        if not all(isinstance(wkb, str) for wkb in kept.values()):
            return None
        shapes = {gid: shapely.from_wkb(wkb) for gid, wkb in kept.items()}
        if not all(shape.geom_type in {"Polygon", "MultiPolygon"} for shape in shapes.values()):
            return None
        # WKB does not carry the grid the unions were made on: give it back, as they had it.
        outlines[kind] = {
            gid: shapely.set_precision(shape, _GRID, mode="pointwise")
            for gid, shape in shapes.items()
        }
    return BoroughShapes(
        tuple(geometries),
        tuple(None if p is None else (float(p[0]), float(p[1])) for p in points),
        outlines["pilots"],
        outlines["subregions"],
    )
