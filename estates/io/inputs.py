"""Read every input the pipeline takes, and nothing else: the only module that opens input files.

Each loader returns records with snake_case columns, the file's name in
``source_file`` and the spreadsheet row (header = 1) or feature number in
``source_row``, so that every later finding can point at the record it is about.
Coordinates stay as numbers here; :mod:`estates.coords` checks them.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from estates.config import ERIC_AGGREGATE_CODE, ERIC_SITE_COLUMNS, ERIC_TEXT_COLUMNS
from estates.crs import BNG, LONDON_BOUNDS_BNG, WGS84
from estates.errors import CRSError, DataValidationError
from estates.findings import Findings
from estates.io import bundled
from estates.io.borough_columns import find_borough_columns
from estates.io.csv_reader import (
    DEFAULT_MAX_CSV_BYTES,
    clean_keys,
    iter_csv_text,
    parse_numbers,
    read_csv_text,
)
from estates.io.group_ids import check_group_ids
from estates.io.layers import geoparquet_column, read_vector

# The optional small inputs have their own module; callers import their loaders from here too.
from estates.io.optional_inputs import (
    LAND_VALUE_COLUMNS,
    PIPELINE_COLUMNS,
    check_small_input,
    load_disposal_pipeline,
    load_land_values,
    load_locations,
)

__all__ = [
    "LAND_VALUE_COLUMNS",
    "PIPELINE_COLUMNS",
    "RECORD_COLUMNS",
    "SITE_NUMERIC_COLUMNS",
    "SITE_TEXT_COLUMNS",
    "iter_site_records",
    "load_boroughs",
    "load_context_sites",
    "load_disposal_pipeline",
    "load_eric_pfi",
    "load_eric_sites",
    "load_eric_trust_totals",
    "load_groupings",
    "load_land_values",
    "load_locations",
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


def load_boroughs(
    path: Path | str | None = None,
    *,
    code_column: str | None = None,
    name_column: str | None = None,
) -> gpd.GeoDataFrame:
    """Load London borough polygons.

    Parameters
    ----------
    path : path-like, optional
        Any polygon layer pyogrio reads (GeoJSON, GeoPackage, Shapefile,
        GeoParquet). Default: the bundled ONS May 2020 boundaries.
    code_column, name_column : str, optional
        The columns holding the GSS code and the name. By default the first of
        :data:`~estates.io.borough_columns.BOROUGH_CODE_CANDIDATES` /
        :data:`~estates.io.borough_columns.BOROUGH_NAME_CANDIDATES` found
        (case-insensitive), then any ONS ``LADyyCD`` / ``LADyyNM``: see
        :func:`~estates.io.borough_columns.find_borough_columns`.

    Returns
    -------
    geopandas.GeoDataFrame
        ``borough_code``, ``borough_name``, ``geometry``, one row per borough,
        in the file's CRS (WGS84 for the bundled file). Self-intersecting
        polygons are repaired with :func:`shapely.make_valid` and logged.

    Raises
    ------
    DataValidationError
        Missing code or name column, non-polygon, empty or missing geometry,
        duplicate codes, or an unreadable file.
    CRSError
        If the layer declares no CRS, or its polygons are not in Greater London
        once reprojected (a wrong CRS, e.g. British National Grid metres
        declared as WGS84).

    Examples
    --------
    >>> boroughs = load_boroughs()
    >>> len(boroughs), boroughs.crs.to_string()
    (33, 'EPSG:4326')
    """
    path = Path(path) if path is not None else bundled.boundaries_path()
    frame = read_vector(path)
    name = path.name
    if frame.crs is None:
        msg = (
            f"{name}: the layer declares no CRS; save it with one "
            "(EPSG:27700 for British National Grid, EPSG:4326 for longitude/latitude)"
        )
        raise CRSError(msg)
    if frame.empty:
        msg = f"{name} has no features; expected one polygon per borough"
        raise DataValidationError(msg)
    code_col, name_col = find_borough_columns(
        frame.columns, where=name, code_column=code_column, name_column=name_column
    )
    boroughs = gpd.GeoDataFrame(
        {
            "borough_code": frame[code_col].astype("string").str.strip(),
            "borough_name": frame[name_col].astype("string").str.strip(),
        },
        geometry=frame.geometry.to_numpy(),
        crs=frame.crs,
    )
    geoms = boroughs.geometry.to_numpy()
    for i, geom in enumerate(geoms, start=1):
        label = f"{name} feature {i} ({boroughs['borough_code'].iloc[i - 1]})"
        if geom is None or shapely.is_empty(geom):
            msg = f"{label}: geometry is missing or empty; every borough needs a polygon"
            raise DataValidationError(msg)
        if shapely.get_type_id(geom) not in (3, 6):
            msg = f"{label}: geometry is a {geom.geom_type}, expected Polygon or MultiPolygon"
            raise DataValidationError(msg)
    if boroughs["borough_code"].isna().any():
        row = int(np.flatnonzero(boroughs["borough_code"].isna())[0]) + 1
        msg = f"{name} feature {row}: borough code is blank"
        raise DataValidationError(msg)
    dupes = boroughs["borough_code"][boroughs["borough_code"].duplicated()]
    if len(dupes):
        msg = f"{name}: borough code {dupes.iloc[0]} appears more than once"
        raise DataValidationError(msg)
    invalid = ~shapely.is_valid(geoms)
    if invalid.any():
        codes = ", ".join(boroughs["borough_code"][invalid].astype(str))
        log.warning("repaired %d invalid borough polygon(s) in %s: %s", invalid.sum(), name, codes)
        boroughs = boroughs.copy()
        boroughs.loc[invalid, "geometry"] = _polygonal(geoms[invalid])
    _check_in_london(boroughs, name)
    return boroughs


def _check_in_london(boroughs: gpd.GeoDataFrame, name: str) -> None:
    """Raise CRSError unless the polygons, reprojected to BNG, overlap Greater London."""
    x_min, y_min, x_max, y_max = LONDON_BOUNDS_BNG
    bounds = boroughs.to_crs(BNG).total_bounds
    if np.isfinite(bounds).all() and (
        bounds[0] <= x_max and bounds[2] >= x_min and bounds[1] <= y_max and bounds[3] >= y_min
    ):
        return
    x0, y0, x1, y1 = boroughs.total_bounds
    msg = (
        f"{name}: its polygons span x {x0:.6g} to {x1:.6g}, y {y0:.6g} to {y1:.6g} in the "
        f"declared CRS {boroughs.crs.to_string()}, which is not Greater London; is the CRS "
        "right? Declare British National Grid metres as EPSG:27700 and longitude/latitude "
        "as EPSG:4326"
    )
    raise CRSError(msg)


def _polygonal(geoms: np.ndarray) -> np.ndarray:
    """Repair invalid polygons, keeping only their polygonal parts."""
    out = []
    for geom in shapely.make_valid(geoms):
        parts = [p for p in shapely.get_parts(geom) if shapely.get_type_id(p) in (3, 6)]
        out.append(shapely.union_all(parts) if parts else shapely.Polygon())
    return np.array(out, dtype=object)


def load_groupings(path: Path | str | None = None) -> pd.DataFrame:
    """Load pilot and sub-region memberships, one row per (group, borough).

    Columns: ``group_type`` (``pilot`` or ``subregion``), ``group_id``,
    ``group_name``, ``borough_code``, ``borough_name``, ``source``. Default: the
    bundled ``data/boundaries/london_groupings.csv``.

    Examples
    --------
    >>> g = load_groupings()
    >>> sorted(g.loc[g.borough_name == "Haringey", "group_id"])
    ['haringey_prevention', 'ncl', 'ncl_estates']
    """
    path = Path(path) if path is not None else bundled.groupings_path()
    check_small_input(path, "--groupings", "one row per group and borough")
    required = ("group_type", "group_id", "group_name", "borough_code", "source")
    frame = read_csv_text(path, Findings(), required=required)
    bad = ~frame["group_type"].isin(["pilot", "subregion"])
    if bad.any():
        row = frame.index[bad][0]
        msg = (
            f"{path.name} row {row}: group_type {frame.loc[row, 'group_type']!r} "
            "must be 'pilot' or 'subregion'"
        )
        raise DataValidationError(msg)
    check_group_ids(frame["group_id"], path.name)
    subs = frame[frame["group_type"] == "subregion"]
    twice = subs["borough_code"][subs["borough_code"].duplicated()]
    if len(twice):
        msg = f"{path.name}: borough {twice.iloc[0]} is in more than one sub-region"
        raise DataValidationError(msg)
    if "borough_name" not in frame:
        frame["borough_name"] = ""
    return frame.reset_index(drop=True)


def load_context_sites(
    paths: list[Path] | None = None, *, findings: Findings | None = None
) -> pd.DataFrame:
    """Load NHS hospital and clinic records with coordinates, newest file first.

    These locate ERIC sites by ODS code or name, and are the maps' context layers.

    Returns
    -------
    pandas.DataFrame
        ``context_code``, ``context_name``, ``parent_code``, ``latitude``,
        ``longitude``, ``postcode``, ``context_kind`` (the file's stem),
        ``source_file``, ``source_row``, ``file_rank`` (0 = newest). Rows whose
        coordinates are not numbers are dropped with a ``rejected`` finding.
    """
    findings = findings if findings is not None else Findings()
    paths = paths if paths is not None else bundled.context_site_paths()
    frames = []
    for rank, path in enumerate(paths):
        text = read_csv_text(
            path,
            findings,
            required=("OrganisationCode", "OrganisationName", "Latitude", "Longitude"),
        )
        frame = pd.DataFrame(
            {
                "context_code": text["OrganisationCode"],
                "context_name": text["OrganisationName"],
                "parent_code": text.get("ParentODSCode", pd.Series("", index=text.index)),
                "postcode": text.get("Postcode", pd.Series("", index=text.index)),
                "latitude": parse_numbers(
                    text["Latitude"],
                    column="Latitude",
                    source_file=path.name,
                    findings=findings,
                    site_codes=text["OrganisationCode"],
                    action="rejected",
                ),
                "longitude": parse_numbers(
                    text["Longitude"],
                    column="Longitude",
                    source_file=path.name,
                    findings=findings,
                    site_codes=text["OrganisationCode"],
                    action="rejected",
                ),
                "context_kind": _context_kind(path),
                "source_file": path.name,
                "source_row": text.index,
                "file_rank": rank,
            }
        )
        frames.append(frame[frame["latitude"].notna() & frame["longitude"].notna()])
    context = pd.concat(frames, ignore_index=True)
    return context.astype({"context_code": "string", "context_name": "string"})


def _context_kind(path: Path) -> str:
    """Return ``hospital_2018``, ``clinic_2014`` … from an NHS Choices file's name."""
    stem = path.stem.lower()
    kind = "clinic" if "clinic" in stem else "hospital"
    year = "".join(ch for ch in stem.rsplit("_", 1)[-1] if ch.isdigit())
    return f"{kind}_{year}" if year else kind


def load_eric_sites(path: Path | str | None = None, *, findings: Findings) -> pd.DataFrame:
    """Load ERIC 2016/17 site-level records, renaming headers to snake_case.

    Missing markers (``Not Applicable``, blank) become NaN, never 0. Site names
    lose stray leading and trailing spaces. ``is_aggregate`` marks each trust's
    ``AGGRE`` row (a bundle of small sites, not a place).
    """
    path = Path(path) if path is not None else bundled.eric_sites_path()
    text = read_csv_text(path, findings, required=("Organisation Code", "Site Code", "Site Name"))
    missing = [raw for raw in ERIC_SITE_COLUMNS if raw not in text.columns]
    if missing:
        msg = f"{path.name}: missing ERIC column {missing[0]!r}; is this an ERIC site-level file?"
        raise DataValidationError(msg)
    frame = text[list(ERIC_SITE_COLUMNS)].rename(columns=ERIC_SITE_COLUMNS)
    out = pd.DataFrame(index=frame.index)
    for column in frame.columns:
        if column in ERIC_TEXT_COLUMNS:
            out[column] = frame[column].str.strip().astype("string")
        else:
            out[column] = parse_numbers(
                frame[column],
                column=column,
                source_file=path.name,
                findings=findings,
                site_codes=frame["site_code"],
            )
    out["is_aggregate"] = out["site_code"] == ERIC_AGGREGATE_CODE
    for column in ("latitude", "longitude", "easting", "northing"):
        out[column] = np.nan
    out["source_file"] = path.name
    out["source_row"] = out.index.to_numpy()
    return out.reset_index(drop=True)


def load_eric_pfi(path: Path | str | None = None) -> pd.DataFrame:
    """Load the ERIC 2016/17 PFI sheet: ``trust_code``, ``site_code``, ``pfi_scheme``."""
    path = Path(path) if path is not None else bundled.eric_pfi_path()
    text = read_csv_text(
        path, Findings(), required=("Organisation Code", "Site Code", "Scheme Name")
    )
    return pd.DataFrame(
        {
            "trust_code": text["Organisation Code"].astype("string"),
            "site_code": text["Site Code"].astype("string"),
            "pfi_scheme": text["Scheme Name"].astype("string"),
            "postcode": text.get("Post Code", pd.Series("", index=text.index)).astype("string"),
        }
    ).reset_index(drop=True)


def read_site_records(
    path: Path | str,
    *,
    findings: Findings,
    max_csv_bytes: int = DEFAULT_MAX_CSV_BYTES,
) -> pd.DataFrame:
    """Read a user's site file into records with :data:`RECORD_COLUMNS`.

    CSV needs ``site_code`` and ``site_name``, plus ``latitude``/``longitude``
    (WGS84) or ``easting``/``northing`` (EPSG:27700); a row with neither is
    kept unlocated and looked up like an ERIC site. GeoPackage, GeoJSON,
    GeoParquet and Shapefile layers need a declared CRS and point geometries.
    Optional: ``land_owned_ha``, ``land_unused_ha``, ``site_type``,
    ``trust_code``, ``trust_name``.
    """
    path = Path(path)
    if path.suffix.lower() in _VECTOR_SUFFIXES:
        return _read_site_layer(path, findings=findings)
    text = read_csv_text(
        path, findings, required=("site_code", "site_name"), max_bytes=max_csv_bytes
    )
    return _text_records(text, path, findings)


def iter_site_records(
    path: Path | str, *, findings: Findings, chunk_rows: int = 1_000_000
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
        yield from _iter_parquet_records(path, findings=findings, chunk_rows=chunk_rows)
    elif suffix in _VECTOR_SUFFIXES:
        records = _read_site_layer(path, findings=findings)
        for start in range(0, len(records), chunk_rows):
            yield records.iloc[start : start + chunk_rows].reset_index(drop=True)
    else:
        required = ("site_code", "site_name")
        for text in iter_csv_text(path, findings, required=required, chunk_rows=chunk_rows):
            yield _text_records(text, path, findings)


def _text_records(text: pd.DataFrame, path: Path, findings: Findings) -> pd.DataFrame:
    """Return site records from a CSV's text frame (:func:`read_csv_text`)."""
    has_latlon = {"latitude", "longitude"} <= set(text.columns)
    has_en = {"easting", "northing"} <= set(text.columns)
    if not has_latlon and not has_en:
        if {"lat", "lon"} & {c.lower() for c in text.columns}:
            hint = "; rename lat/lon to latitude/longitude"
        else:
            hint = ""
        msg = (
            f"{path.name}: no coordinate columns; expected latitude and longitude (WGS84) "
            f"or easting and northing (EPSG:27700){hint}"
        )
        raise DataValidationError(msg)
    records = pd.DataFrame(index=text.index)
    records["site_code"] = text["site_code"].astype("string")
    records["site_name"] = text["site_name"].astype("string")
    for column in SITE_TEXT_COLUMNS:
        records[column] = text[column].astype("string") if column in text else pd.NA
    for column in _KEY_COLUMNS:
        records[column] = clean_keys(
            records[column], column=column, source_file=path.name, findings=findings
        )
    for column in ("latitude", "longitude", "easting", "northing"):
        if column in text:
            records[column] = parse_numbers(
                text[column], column=column, source_file=path.name, findings=None
            )
            records[f"{column}_text"] = text[column]
        else:
            records[column] = np.nan
    for column in SITE_NUMERIC_COLUMNS:
        if column in text:
            records[column] = parse_numbers(
                text[column],
                column=column,
                source_file=path.name,
                findings=findings,
                site_codes=text["site_code"],
            )
    records["source_file"] = path.name
    records["source_row"] = text.index.to_numpy()
    return records.reset_index(drop=True)


#: Columns that identify a record: compared, so cleaned of invisible characters.
_KEY_COLUMNS = ("site_code", "trust_code")


def _read_site_layer(path: Path, *, findings: Findings) -> pd.DataFrame:
    if path.suffix.lower() in {".parquet", ".geoparquet"}:
        # One reader for GeoParquet, whole or in chunks: the same checks, the same findings.
        parts = list(_iter_parquet_records(path, findings=findings, chunk_rows=1 << 20))
        return pd.concat(parts, ignore_index=True) if len(parts) > 1 else parts[0]
    return _layer_records(read_vector(path), path, findings=findings)


def _iter_parquet_records(
    path: Path, *, findings: Findings, chunk_rows: int
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
        records = _layer_records(layer, path, findings=findings, first_row=first)
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
    frame: gpd.GeoDataFrame, path: Path, *, findings: Findings, first_row: int = 1
) -> pd.DataFrame:
    """Return site records from a vector layer whose first feature is row ``first_row``."""
    if frame.crs is None:
        msg = (
            f"{path.name}: the layer declares no CRS; save it with one "
            "(EPSG:4326 for longitude/latitude, EPSG:27700 for British National Grid)"
        )
        raise CRSError(msg)
    lower = {c.lower(): c for c in frame.columns if c != frame.geometry.name}
    for required in ("site_code", "site_name"):
        if required not in lower:
            found = ", ".join(sorted(lower)[:12])
            msg = f"{path.name}: missing column {required!r}; found {found}"
            raise DataValidationError(msg)
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
    records["source_file"] = path.name
    records["source_row"] = np.arange(first_row, first_row + len(frame))
    return records


def load_eric_trust_totals(path: Path | str | None = None) -> dict[str, float]:
    """Return the London-region trusts' land totals from the ERIC trust-level file.

    An independent source for the reconciliation: the trust sheet's totals must
    equal the sum of the site rows.

    Examples
    --------
    >>> totals = load_eric_trust_totals()
    >>> round(totals["land_owned_ha"], 2), round(totals["land_unused_ha"], 2), totals["trusts"]
    (826.3, 148.69, 36)
    """
    path = Path(path) if path is not None else bundled.eric_trust_path()
    owned, unused = "Land area owned (Hectares)", "Land area not delivering services (Hectares)"
    text = read_csv_text(path, Findings(), required=("Organisation Code", owned, unused))
    return {
        "land_owned_ha": float(
            parse_numbers(text[owned], column=owned, source_file=path.name, findings=None).sum()
        ),
        "land_unused_ha": float(
            parse_numbers(text[unused], column=unused, source_file=path.name, findings=None).sum()
        ),
        "trusts": len(text),
    }
