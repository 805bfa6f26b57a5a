"""Read a user's site file into site records, whatever its format and headers.

CSV files, Excel workbooks and vector layers (GeoPackage, GeoJSON,
GeoParquet, Shapefile) give the same records: the project's snake_case
columns (:data:`RECORD_COLUMNS`), the file's name in ``source_file`` and the
spreadsheet row (header = 1) or feature number in ``source_row``. The file's
headers are mapped to those columns by the one detector,
:func:`estates.io.detect.detect_site_columns`, or by the user's explicit
mapping, and the choice is logged.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from estates.config import ERIC_AGGREGATE_CODE
from estates.crs import BNG, WGS84
from estates.errors import CRSError, DataValidationError
from estates.findings import Findings
from estates.io.csv_reader import DEFAULT_MAX_CSV_BYTES, clean_keys, parse_numbers
from estates.io.detect import ColumnMap, detect_site_columns
from estates.io.excel import is_excel_path
from estates.io.layers import geoparquet_column, read_vector
from estates.io.tabular import iter_table_text, read_table_text

__all__ = [
    "RECORD_COLUMNS",
    "SITE_NUMERIC_COLUMNS",
    "SITE_TEXT_COLUMNS",
    "iter_site_records",
    "read_site_records",
]

log = logging.getLogger("estates")

#: Optional numeric columns a user's site file may carry.
SITE_NUMERIC_COLUMNS = ("land_owned_ha", "land_unused_ha")
#: Optional text columns a user's site file may carry.
SITE_TEXT_COLUMNS = ("site_type", "trust_code", "trust_name")
#: Columns every loader of site records returns.
RECORD_COLUMNS = [
    "site_code",
    "site_name",
    "site_type",
    "trust_code",
    "trust_name",
    "latitude",
    "longitude",
    "easting",
    "northing",
    "source_file",
    "source_row",
]
_VECTOR_SUFFIXES = {".gpkg", ".geojson", ".json", ".shp", ".parquet", ".geoparquet", ".fgb"}


def read_site_records(
    path: Path | str,
    *,
    findings: Findings,
    max_csv_bytes: int = DEFAULT_MAX_CSV_BYTES,
    columns: Mapping[str, str] | None = None,
    sheet: str | None = None,
    column_maps: list[ColumnMap] | None = None,
) -> pd.DataFrame:
    """Read a user's site file into records with :data:`RECORD_COLUMNS`.

    The file's headers are mapped to the project's columns by
    :func:`estates.io.detect.detect_site_columns` (ERIC's, NHS ODS and NHS.UK
    headers, common latitude/longitude and easting/northing names), or by
    ``columns``; the choice is logged. A site code and a name are needed.
    Coordinates are optional: latitude/longitude (WGS84) or easting/northing
    (EPSG:27700); a row without them is located by its ODS code or postcode.
    CSV files and Excel workbooks (``sheet``, default the first) are read as
    text; GeoPackage, GeoJSON, GeoParquet and Shapefile layers need a declared
    CRS and point geometries. Optional: ``land_owned_ha``, ``land_unused_ha``,
    ``site_type``, ``trust_code``, ``trust_name``, ``postcode``. The
    detector's choice is logged and, if ``column_maps`` is given, appended to
    it (the build records it in ``summary.json``).

    Raises
    ------
    DataValidationError
        If no header is a site code or a name, two headers could each be one
        column (the message names both and the ``--columns`` fix), or only one
        of a coordinate pair is found.
    """
    path = Path(path)
    if path.suffix.lower() in _VECTOR_SUFFIXES:
        return _read_site_layer(path, findings=findings, columns=columns, column_maps=column_maps)
    text = read_table_text(path, findings, sheet=sheet, max_bytes=max_csv_bytes, unique=False)
    source = text.attrs["source"]
    found = _site_columns(
        text.columns, columns, source, delimited=not is_excel_path(path), column_maps=column_maps
    )
    return _text_records(text, source, findings, found)


def iter_site_records(
    path: Path | str,
    *,
    findings: Findings,
    chunk_rows: int = 1_000_000,
    columns: Mapping[str, str] | None = None,
    sheet: str | None = None,
    column_maps: list[ColumnMap] | None = None,
) -> Iterator[pd.DataFrame]:
    """Yield a user's site file as :func:`read_site_records` frames of ``chunk_rows`` rows.

    CSV (:func:`estates.io.csv_reader.iter_csv_text`) and GeoParquet (its row batches)
    are read a chunk at a time, so the file may be larger than memory; other
    formats are read whole and yielded in slices. The chunks, put together,
    equal :func:`read_site_records` on the whole file: same columns, values,
    row numbers and findings.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix in {".parquet", ".geoparquet"}:
        yield from _iter_parquet_records(
            path, findings=findings, chunk_rows=chunk_rows, columns=columns, column_maps=column_maps
        )
    elif suffix in _VECTOR_SUFFIXES:
        records = _read_site_layer(
            path, findings=findings, columns=columns, column_maps=column_maps
        )
        for start in range(0, len(records), chunk_rows):
            yield records.iloc[start : start + chunk_rows].reset_index(drop=True)
    else:
        found = None
        parts = iter_table_text(path, findings, sheet=sheet, chunk_rows=chunk_rows, unique=False)
        for text in parts:
            source = text.attrs["source"]
            found = found or _site_columns(
                text.columns,
                columns,
                source,
                delimited=not is_excel_path(path),
                column_maps=column_maps,
            )
            yield _text_records(text, source, findings, found)


def _site_columns(
    header: Sequence[object],
    columns: Mapping[str, str] | None,
    source: str,
    *,
    delimited: bool = False,
    column_maps: list[ColumnMap] | None = None,
) -> ColumnMap:
    """Return the site file's column map (:mod:`estates.io.detect`), logged once.

    ``delimited``: the file is delimited text, where one column in the header
    means the delimiter was not recognised.
    """
    if delimited and len(header) == 1:
        msg = (
            f"{source}: the header has one column ({str(header[0])[:60]!r}); expected columns "
            "such as site_code, site_name separated by commas"
        )
        raise DataValidationError(msg)
    names = [str(h) for h in header]
    # A header repeated in a column no one reads (ERIC 2019/20 has some) is no problem.
    found = detect_site_columns(list(dict.fromkeys(names)), columns=columns, source=source)
    twice = [h for h in found.chosen.values() if names.count(h) > 1]
    if twice:
        msg = f"{source}: column {twice[0]!r} appears twice in the header"
        raise DataValidationError(msg)
    log.info("%s", found.description)
    if column_maps is not None:
        column_maps.append(found)
    return found


def _text_records(
    text: pd.DataFrame, source: str, findings: Findings, found: ColumnMap
) -> pd.DataFrame:
    """Return site records from a text frame (:func:`read_table_text`) and its column map."""
    text = text[list(found.chosen.values())].rename(columns=found.renames)
    records = pd.DataFrame(index=text.index)
    records["site_code"] = text["site_code"].astype("string")
    records["site_name"] = text["site_name"].astype("string")
    for column in SITE_TEXT_COLUMNS:
        records[column] = text[column].astype("string") if column in text else pd.NA
    for column in _KEY_COLUMNS:
        records[column] = clean_keys(
            records[column], column=column, source_file=source, findings=findings
        )
    for column in ("latitude", "longitude", "easting", "northing"):
        if column in text:
            records[column] = parse_numbers(
                text[column], column=column, source_file=source, findings=None
            )
            records[f"{column}_text"] = text[column]
        else:
            records[column] = np.nan
    for column in SITE_NUMERIC_COLUMNS:
        if column in text:
            records[column] = parse_numbers(
                text[column],
                column=column,
                source_file=source,
                findings=findings,
                site_codes=text["site_code"],
            )
    if "postcode" in text:
        records["postcode"] = text["postcode"].astype("string")
    records["is_aggregate"] = _aggregate(records["site_code"])
    records["source_file"] = source
    records["source_row"] = text.index.to_numpy()
    return records.reset_index(drop=True)


#: Columns that identify a record: compared, so cleaned of invisible characters.
_KEY_COLUMNS = ("site_code", "trust_code")


def _aggregate(codes: pd.Series) -> np.ndarray:
    """Return True for ERIC's per-trust ``AGGRE`` rows: an ERIC return given as a site file."""
    flags: np.ndarray = (codes == ERIC_AGGREGATE_CODE).to_numpy(dtype=bool, na_value=False)
    return flags


def _read_site_layer(
    path: Path,
    *,
    findings: Findings,
    columns: Mapping[str, str] | None,
    column_maps: list[ColumnMap] | None,
) -> pd.DataFrame:
    if path.suffix.lower() in {".parquet", ".geoparquet"}:
        # One reader for GeoParquet, whole or in chunks: the same checks, the same findings.
        parts = list(
            _iter_parquet_records(
                path,
                findings=findings,
                chunk_rows=1 << 20,
                columns=columns,
                column_maps=column_maps,
            )
        )
        return pd.concat(parts, ignore_index=True) if len(parts) > 1 else parts[0]
    frame = read_vector(path)
    found = _site_columns(_attributes(frame), columns, path.name, column_maps=column_maps)
    return _layer_records(frame, path, findings=findings, found=found)


def _attributes(frame: gpd.GeoDataFrame) -> list[str]:
    """Return a layer's attribute names (not its geometry column)."""
    return [str(c) for c in frame.columns if c != frame.geometry.name]


def _iter_parquet_records(
    path: Path,
    *,
    findings: Findings,
    chunk_rows: int,
    columns: Mapping[str, str] | None,
    column_maps: list[ColumnMap] | None = None,
) -> Iterator[pd.DataFrame]:
    """Yield a GeoParquet site layer's records, one row batch at a time.

    A geometry that is not valid WKB rejects its record with a
    ``bad_geometry`` finding; the other records are read as usual.
    """
    import pyarrow.parquet as pq

    try:
        parquet = pq.ParquetFile(path, pre_buffer=False)
        metadata = parquet.schema_arrow.metadata or {}
        geo = json.loads(metadata[b"geo"]) if b"geo" in metadata else None
    except (OSError, ValueError) as exc:
        msg = f"{path.name}: cannot read as GeoParquet ({exc})"
        raise DataValidationError(msg) from exc
    if geo is None:
        msg = f"{path.name}: a Parquet file without GeoParquet metadata; save it with geopandas"
        raise DataValidationError(msg)
    column, crs = geoparquet_column(geo, parquet.schema_arrow.names, path.name)
    names = [n for n in parquet.schema_arrow.names if n != column]
    found = _site_columns(names, columns, path.name, column_maps=column_maps)
    first = 1
    batches = parquet.iter_batches(batch_size=chunk_rows)
    while True:
        try:
            batch = next(batches, None)
        except (OSError, ValueError) as exc:
            msg = f"{path.name}: cannot read as GeoParquet ({str(exc)[:200]})"
            raise DataValidationError(msg) from exc
        if batch is None:
            break
        frame = batch.drop_columns([column]).to_pandas()
        raw = batch.column(column).to_numpy(zero_copy_only=False)
        try:
            geometry = shapely.from_wkb(raw, on_invalid="ignore")
        except (TypeError, shapely.errors.GEOSException) as exc:
            msg = f"{path.name}: column {column!r} does not hold WKB geometries ({exc})"
            raise DataValidationError(msg) from exc
        broken = np.flatnonzero(pd.notna(raw) & pd.isna(geometry))
        layer = gpd.GeoDataFrame(frame, geometry=geometry, crs=crs)
        records = _layer_records(layer, path, findings=findings, found=found, first_row=first)
        for i in broken:
            findings.add(
                path.name,
                int(i) + first,
                "geometry is not valid WKB (damaged or truncated); record rejected",
                action="rejected",
                check="bad_geometry",
                site_code=records["site_code"].iloc[i],
                column=column,
            )
        records.loc[broken, "_reject_geometry"] = True
        yield records
        first += batch.num_rows


def _layer_records(
    frame: gpd.GeoDataFrame,
    path: Path,
    *,
    findings: Findings,
    found: ColumnMap,
    first_row: int = 1,
) -> pd.DataFrame:
    """Return site records from a vector layer whose first feature is row ``first_row``."""
    if frame.crs is None:
        msg = (
            f"{path.name}: the layer declares no CRS; save it with one "
            "(EPSG:4326 for longitude/latitude, EPSG:27700 for British National Grid)"
        )
        raise CRSError(msg)
    lower = found.chosen
    records = pd.DataFrame(index=range(len(frame)))
    for column in ("site_code", "site_name", *SITE_TEXT_COLUMNS):
        if column in lower:
            records[column] = frame[lower[column]].astype("string").str.strip().to_numpy()
        else:
            records[column] = pd.NA
    rows = pd.Series(np.arange(first_row, first_row + len(frame)), index=records.index)
    for column in _KEY_COLUMNS:
        records[column] = clean_keys(
            records[column], column=column, source_file=path.name, findings=findings, rows=rows
        )
    for column in SITE_NUMERIC_COLUMNS:
        if column not in lower:
            continue
        values = frame[lower[column]]
        if pd.api.types.is_numeric_dtype(values):
            records[column] = pd.to_numeric(values, errors="coerce").to_numpy()
        else:  # text in a layer: read by the same rule as a CSV's cells, with findings
            text = pd.Series(values.to_numpy(dtype=object), index=records.index + first_row)
            codes = pd.Series(records["site_code"].to_numpy(), index=text.index)
            records[column] = parse_numbers(
                text, column=column, source_file=path.name, findings=findings, site_codes=codes
            ).to_numpy()
    geoms = frame.geometry.to_numpy()
    types = shapely.get_type_id(geoms)
    x = np.full(len(frame), np.nan)
    y = np.full(len(frame), np.nan)
    ok = (types == 0) & ~shapely.is_empty(geoms)
    for i in np.flatnonzero((types != 0) & (types != -1)):
        findings.add(
            path.name,
            int(i) + first_row,
            f"geometry is a {geoms[i].geom_type}, expected a Point; record rejected",
            action="rejected",
            check="not_a_point",
            site_code=records["site_code"].iloc[i],
            column="geometry",
        )
    records["_reject_geometry"] = (types != 0) & (types != -1)
    x[ok] = shapely.get_x(geoms[ok])
    y[ok] = shapely.get_y(geoms[ok])
    if frame.crs.is_geographic:
        if not frame.crs.equals(WGS84) and ok.any():
            layer = gpd.GeoSeries(geoms[ok], crs=frame.crs).to_crs(WGS84)
            x[ok], y[ok] = layer.x.to_numpy(), layer.y.to_numpy()
        records["longitude"], records["latitude"] = x, y
        records["easting"] = records["northing"] = np.nan
    else:
        if not frame.crs.equals(BNG) and ok.any():
            layer = gpd.GeoSeries(geoms[ok], crs=frame.crs).to_crs(BNG)
            x[ok], y[ok] = layer.x.to_numpy(), layer.y.to_numpy()
        records["easting"], records["northing"] = x, y
        records["longitude"] = records["latitude"] = np.nan
    if "postcode" in lower:
        records["postcode"] = frame[lower["postcode"]].astype("string").str.strip().to_numpy()
    records["is_aggregate"] = _aggregate(records["site_code"])
    records["source_file"] = path.name
    records["source_row"] = np.arange(first_row, first_row + len(frame))
    return records
