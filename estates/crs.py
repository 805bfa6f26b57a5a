"""Coordinate reference systems: the only place CRS constants live.

Areas and distances are computed in British National Grid (EPSG:27700, metres);
data are stored and served to the web in WGS84 (EPSG:4326, degrees).
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any

import pyproj

from estates.errors import CRSError

if TYPE_CHECKING:
    import geopandas as gpd

#: Longitude/latitude, as GeoJSON and Leaflet expect.
WGS84 = "EPSG:4326"
#: British National Grid: metres, for areas and distances.
BNG = "EPSG:27700"

#: Greater London's extent in EPSG:27700 with a 5 km margin (easting and
#: northing, metres). Used to catch swapped or mis-declared coordinates.
LONDON_BOUNDS_BNG = (498_000.0, 150_000.0, 566_000.0, 206_000.0)
#: The same extent in WGS84 (lon_min, lat_min, lon_max, lat_max), rounded out.
LONDON_BOUNDS_WGS84 = (-0.60, 51.24, 0.40, 51.74)


@functools.lru_cache(maxsize=8)
def transformer(source: str, target: str) -> pyproj.Transformer:
    """Return the transformer from ``source`` to ``target`` (x = longitude/easting first).

    Built once per process and pair (:func:`shared_transformer`): building
    one takes 25-50 ms of PROJ's set-up each time, and a build asks for the
    same two several times.
    """
    crs = pyproj.CRS.from_user_input
    return shared_transformer(crs(source), crs(target))


def shared_transformer(source: pyproj.CRS, target: pyproj.CRS) -> pyproj.Transformer:
    """Return the transformer from ``source`` to ``target`` that geopandas' ``to_crs`` uses.

    geopandas keeps one transformer per pair of CRSs for ``to_crs``; this
    returns that one, made now if ``to_crs`` has not needed it yet, so a
    build that reprojects frames and transforms coordinates itself builds
    each only once. Where geopandas keeps none (a version without that
    cache), it is built here and remembered. A pyproj Transformer is safe to
    share between threads (each thread gets its own PROJ object).
    """
    from geopandas import array  # not at the top: the up-to-date check needs no geopandas

    kept: Any = getattr(array, "TransformerFromCRS", _kept_transformer)
    made: pyproj.Transformer = kept(source, target, always_xy=True)
    return made


@functools.lru_cache(maxsize=8)
def _kept_transformer(
    source: pyproj.CRS, target: pyproj.CRS, *, always_xy: bool
) -> pyproj.Transformer:
    return pyproj.Transformer.from_crs(source, target, always_xy=always_xy)


def require_crs(gdf: gpd.GeoDataFrame, expected: str, *, stage: str) -> None:
    """Raise :class:`CRSError` unless ``gdf`` is in the ``expected`` CRS.

    Parameters
    ----------
    gdf : geopandas.GeoDataFrame
        The frame to check; left unchanged.
    expected : str
        The CRS the stage needs, e.g. :data:`BNG`.
    stage : str
        The stage's name, for the message.

    Raises
    ------
    CRSError
        If the frame has no CRS, or another one. The message names both sides
        and the ``to_crs`` fix.

    Examples
    --------
    >>> import geopandas as gpd
    >>> from shapely import Point
    >>> require_crs(gpd.GeoDataFrame(geometry=[Point(0, 51)], crs=WGS84), BNG, stage="score")
    Traceback (most recent call last):
    ...
    estates.errors.CRSError: score needs EPSG:27700 but got EPSG:4326; call .to_crs(...) first
    """
    if gdf.crs is None:
        msg = f"{stage} needs {expected} but the data have no CRS; set one with .set_crs(...)"
        raise CRSError(msg)
    if not gdf.crs.equals(pyproj.CRS.from_user_input(expected)):
        actual = gdf.crs.to_string()
        msg = f"{stage} needs {expected} but got {actual}; call .to_crs({expected!r}) first"
        raise CRSError(msg)


def to_analysis_crs(gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Return a copy of ``gdf`` in British National Grid (EPSG:27700).

    Raises :class:`CRSError` if ``gdf`` has no CRS: guessing one is how
    British National Grid numbers end up declared as degrees.
    """
    if gdf.crs is None:
        msg = "the data have no CRS; declare it (e.g. EPSG:4326 or EPSG:27700) before reprojecting"
        raise CRSError(msg)
    return gdf.to_crs(BNG)


def to_web_crs(gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Return a copy of ``gdf`` in WGS84 (EPSG:4326) for GeoJSON and Leaflet."""
    if gdf.crs is None:
        msg = "the data have no CRS; declare it before reprojecting to WGS84"
        raise CRSError(msg)
    return gdf.to_crs(WGS84)
