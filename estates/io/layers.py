"""Open GIS layers (GeoPackage, GeoJSON, Shapefile, GeoParquet) with one-line errors.

A damaged file or bogus metadata is the user's to fix: every failure of the
readers underneath becomes a :class:`~estates.errors.DataValidationError`
naming the file, never a traceback.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import geopandas as gpd
import pyogrio
import pyproj
import shapely

from estates.crs import WGS84
from estates.errors import DataValidationError

__all__ = ["geoparquet_column", "read_vector"]


def read_vector(path: Path) -> gpd.GeoDataFrame:
    """Return the layer in ``path``, in its own CRS; any failure to read is a one-line error.

    Raises
    ------
    DataValidationError
        If the file is missing, empty, or not a layer GDAL or GeoParquet can read.
    """
    if not path.exists():
        msg = f"{path}: no such file"
        raise DataValidationError(msg)
    if path.stat().st_size == 0:
        msg = f"{path.name} is empty"
        raise DataValidationError(msg)
    try:
        if path.suffix.lower() in {".parquet", ".geoparquet"}:
            return gpd.read_parquet(path)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            return gpd.read_file(path, engine="pyogrio")
    except (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError) as exc:
        first = str(exc).splitlines()[0][:200]
        msg = f"{path.name}: cannot read as a GIS layer ({first})"
        raise DataValidationError(msg) from exc
    except (ValueError, OSError, KeyError, AttributeError, shapely.errors.GEOSException) as exc:
        first = str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__
        msg = f"{path.name}: cannot read ({first})"
        raise DataValidationError(msg) from exc


def geoparquet_column(geo: object, names: list[str], name: str) -> tuple[str, object]:
    """Return the geometry column and CRS a GeoParquet ``geo`` metadata declares.

    Raises
    ------
    DataValidationError
        If the metadata is not a GeoParquet object, names a missing column,
        declares an encoding other than WKB, or a CRS that PROJ cannot read.
    """
    fix = "save the file again with geopandas or GDAL"
    if not isinstance(geo, dict) or not isinstance(geo.get("columns", {}), dict):
        msg = f"{name}: its GeoParquet 'geo' metadata is not a JSON object of columns; {fix}"
        raise DataValidationError(msg)
    column = geo.get("primary_column", "geometry")
    if not isinstance(column, str) or column not in names:
        msg = (
            f"{name}: its GeoParquet metadata names geometry column {column!r}, "
            f"not in the file; {fix}"
        )
        raise DataValidationError(msg)
    spec = geo.get("columns", {}).get(column, {})
    spec = spec if isinstance(spec, dict) else {}
    encoding = spec.get("encoding", "WKB")
    if not isinstance(encoding, str) or encoding.upper() != "WKB":
        msg = f"{name}: geometry column {column!r} is encoded as {encoding!r}; expected WKB; {fix}"
        raise DataValidationError(msg)
    # GeoParquet: no "crs" key means OGC:CRS84 (longitude, latitude); null means unknown.
    declared = spec.get("crs", WGS84)
    if declared is None:
        return column, None
    try:
        crs = (
            pyproj.CRS.from_json_dict(declared)
            if isinstance(declared, dict)
            else pyproj.CRS.from_user_input(declared)
        )
    except (pyproj.exceptions.CRSError, TypeError, ValueError) as exc:
        msg = (
            f"{name}: its GeoParquet metadata declares a CRS PROJ cannot read "
            f"({str(exc)[:120]}); {fix}"
        )
        raise DataValidationError(msg) from exc
    return column, crs
