"""Open GIS layers (GeoPackage, GeoJSON, Shapefile, GeoParquet) with one-line errors.

A damaged file or bogus metadata is the user's to fix: every failure of the
readers underneath becomes a :class:`~estates.errors.DataValidationError`
naming the file, never a traceback.

A Shapefile is three files that must agree, and GDAL reads a damaged set
without a word: shapes beyond the ``.dbf``'s record count are dropped, and
shapes past the end of a truncated ``.shp`` come back as missing geometries
(which would then read as "unlocated"). :func:`read_vector` checks the headers
of the ``.shp``, ``.shx`` and ``.dbf`` before reading and refuses a set that
is cut short or out of step.
"""

from __future__ import annotations

import struct
import warnings
from pathlib import Path

import geopandas as gpd
import pyogrio
import pyproj
import shapely

from estates.crs import WGS84
from estates.errors import DataValidationError

__all__ = ["check_shapefile", "geoparquet_column", "read_vector"]

_SHP_HEADER_BYTES = 100
_SHX_RECORD_BYTES = 8
_SHP_MAGIC = 9994
_FIX_SHAPEFILE = "copy or export the whole Shapefile (.shp, .shx, .dbf, .prj) again"


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
        if path.suffix.lower() == ".shp":
            check_shapefile(path)
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


def check_shapefile(path: Path) -> None:
    """Raise unless the ``.shp``, ``.shx`` and ``.dbf`` of ``path`` are whole and agree.

    Reads only the headers (and the last index entry): the ``.shp`` and
    ``.shx`` each state their own length in their header, the ``.shx`` holds
    one 8-byte entry per shape, and the ``.dbf`` header states its record
    count. A missing ``.shx`` or ``.dbf`` is left to GDAL's own message.

    Parameters
    ----------
    path : pathlib.Path
        The ``.shp`` file; left unchanged.

    Raises
    ------
    DataValidationError
        If a file is shorter than its header says (cut short by a copy or a
        download), if the last shape lies beyond the end of the ``.shp``, or
        if the shape count of the ``.shx`` and the record count of the
        ``.dbf`` differ, naming both counts.
    """
    shp_length = _declared_length(path)
    actual = path.stat().st_size
    if actual < shp_length:
        msg = (
            f"{path.name} is cut short: its header says {shp_length:,} bytes, the file has "
            f"{actual:,}; {_FIX_SHAPEFILE}"
        )
        raise DataValidationError(msg)
    shx = _sidecar(path, ".shx")
    dbf = _sidecar(path, ".dbf")
    shapes = None
    if shx is not None:
        shx_length = _declared_length(shx)
        if shx.stat().st_size < shx_length:
            msg = (
                f"{shx.name} is cut short: its header says {shx_length:,} bytes, the file has "
                f"{shx.stat().st_size:,}; {_FIX_SHAPEFILE}"
            )
            raise DataValidationError(msg)
        shapes = (shx_length - _SHP_HEADER_BYTES) // _SHX_RECORD_BYTES
        if shapes:
            with shx.open("rb") as f:
                f.seek(shx_length - _SHX_RECORD_BYTES)
                offset_words, length_words = struct.unpack(">ii", f.read(_SHX_RECORD_BYTES))
            end = 2 * offset_words + 8 + 2 * length_words  # 8: the record header
            if end > actual:
                msg = (
                    f"{path.name} is cut short: its index puts shape {shapes:,} at byte "
                    f"{end:,}, the file has {actual:,}; {_FIX_SHAPEFILE}"
                )
                raise DataValidationError(msg)
    if shapes is not None and dbf is not None:
        with dbf.open("rb") as f:
            header = f.read(8)
        if len(header) < 8:
            msg = f"{dbf.name} is cut short: it has no complete header; {_FIX_SHAPEFILE}"
            raise DataValidationError(msg)
        (records,) = struct.unpack("<I", header[4:8])
        if records != shapes:
            msg = (
                f"{path.name} holds {shapes:,} shapes but {dbf.name} {records:,} records; "
                f"the files are out of step (one was replaced or cut short); {_FIX_SHAPEFILE}"
            )
            raise DataValidationError(msg)


def _declared_length(path: Path) -> int:
    """Return the file length a ``.shp`` or ``.shx`` header states, in bytes."""
    with path.open("rb") as f:
        header = f.read(_SHP_HEADER_BYTES)
    if len(header) < _SHP_HEADER_BYTES:
        msg = f"{path.name} is cut short: it has no complete header; {_FIX_SHAPEFILE}"
        raise DataValidationError(msg)
    (code,) = struct.unpack(">i", header[:4])
    if code != _SHP_MAGIC:
        msg = f"{path.name} is not a Shapefile (its header is not one); {_FIX_SHAPEFILE}"
        raise DataValidationError(msg)
    words = int(struct.unpack(">i", header[24:28])[0])
    return 2 * words


def _sidecar(path: Path, suffix: str) -> Path | None:
    """Return the ``suffix`` file beside ``path`` (either case), or None."""
    for candidate in (path.with_suffix(suffix), path.with_suffix(suffix.upper())):
        if candidate.is_file():
            return candidate
    return None


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
