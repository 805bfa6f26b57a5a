"""Read every input the pipeline takes, and nothing else: the only module that opens input files.

Each loader returns records with snake_case columns, the file's name in
``source_file`` and the spreadsheet row (header = 1) or feature number in
``source_row``, so that every later finding can point at the record it is about.
Coordinates stay as numbers here; :mod:`estates.coords` checks them.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from estates.config import ERIC_AGGREGATE_CODE, ERIC_SITE_COLUMNS, ERIC_TEXT_COLUMNS
from estates.crs import BNG, LONDON_BOUNDS_BNG
from estates.errors import CRSError, DataValidationError
from estates.findings import Findings
from estates.io import bundled
from estates.io.csv_reader import (
    parse_numbers,
    read_csv_text,
)
from estates.io.detect import ColumnMap, detect_boundary_columns
from estates.io.group_ids import check_group_flags, check_group_ids
from estates.io.layers import read_vector

# The optional small inputs have their own module; callers import their loaders from here too.
from estates.io.optional_inputs import (
    LAND_VALUE_COLUMNS,
    PIPELINE_COLUMNS,
    check_small_input,
    load_disposal_pipeline,
    load_land_values,
    load_locations,
)
from estates.io.tabular import read_table_text
from estates.logs import counted

__all__ = [
    "LAND_VALUE_COLUMNS",
    "PIPELINE_COLUMNS",
    "boundary_columns",
    "load_boroughs",
    "load_context_sites",
    "load_disposal_pipeline",
    "load_eric_pfi",
    "load_eric_sites",
    "load_eric_trust_totals",
    "load_groupings",
    "load_land_values",
    "load_locations",
]

log = logging.getLogger("estates")


def load_boroughs(
    path: Path | str | None = None,
    *,
    code_column: str | None = None,
    name_column: str | None = None,
    columns: Mapping[str, str] | None = None,
    column_maps: list[ColumnMap] | None = None,
) -> gpd.GeoDataFrame:
    """Load London borough polygons.

    Parameters
    ----------
    path : path-like, optional
        Any polygon layer pyogrio reads (GeoJSON, GeoPackage, Shapefile,
        GeoParquet). Default: the bundled ONS May 2020 boundaries.
    code_column, name_column : str, optional
        The columns holding the GSS code and the name. By default they are
        found by :func:`estates.io.detect.detect_boundary_columns` (ONS
        ``LAD20CD``/``LAD20NM`` of any year, GLA ``GSS_CODE``/``NAME``,
        ``code``/``name``, or the column whose values are London GSS codes);
        the choice is logged.
    columns : mapping of str to str, optional
        The same as ``{"borough_code": ..., "borough_name": ...}``.
    column_maps : list, optional
        Receives the detector's choice (:class:`~estates.io.detect.ColumnMap`),
        which a build records in ``summary.json``.

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
    found = boundary_columns(
        frame,
        source=name,
        columns=columns,
        code_column=code_column,
        name_column=name_column,
        level=logging.DEBUG if path == bundled.boundaries_path() else logging.INFO,
    )
    if column_maps is not None:
        column_maps.append(found)
    code_col, name_col = found.chosen["borough_code"], found.chosen["borough_name"]
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
        repaired = counted(int(invalid.sum()), "invalid borough polygon")
        log.warning("repaired %s in %s: %s", repaired, name, codes)
        boroughs = boroughs.copy()
        boroughs.loc[invalid, "geometry"] = _polygonal(geoms[invalid])
    _check_in_london(boroughs, name)
    return boroughs


def boundary_columns(
    frame: pd.DataFrame,
    *,
    source: str,
    columns: Mapping[str, str] | None = None,
    code_column: str | None = None,
    name_column: str | None = None,
    level: int = logging.INFO,
) -> ColumnMap:
    """Return a boundary layer's code and name columns, detected or given, and log them.

    The one way boundaries' columns are found, for :func:`load_boroughs` and
    :func:`estates.join_boroughs` alike: :func:`estates.io.detect.detect_boundary_columns`
    on the layer's attribute names and its first values (a column of London
    GSS codes is the code column whatever it is called). The choice is logged
    at ``level``.
    """
    given = dict(columns or {})
    given.update(
        {
            key: value
            for key, value in (("borough_code", code_column), ("borough_name", name_column))
            if value is not None
        }
    )
    header = [str(c) for c in frame.columns if c != "geometry"]
    head = frame.head(5)
    samples = {str(c): [str(v) for v in head[c].tolist()] for c in frame.columns if c != "geometry"}
    found = detect_boundary_columns(header, columns=given, samples=samples, source=source)
    log.log(level, "%s", found.description)
    return found


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


def load_groupings(path: Path | str | None = None, *, sheet: str | None = None) -> pd.DataFrame:
    """Load pilot and sub-region memberships, one row per (group, borough).

    Columns: ``group_type`` (``pilot`` or ``subregion``), ``group_id``,
    ``group_name``, ``borough_code``, ``borough_name``, ``source``. Default: the
    bundled ``data/boundaries/london_groupings.csv``. A CSV file or an Excel
    workbook (``sheet``, default its first).

    Examples
    --------
    >>> g = load_groupings()
    >>> sorted(g.loc[g.borough_name == "Haringey", "group_id"])
    ['haringey_prevention', 'ncl', 'ncl_estates']
    """
    path = Path(path) if path is not None else bundled.groupings_path()
    check_small_input(path, "--groupings", "one row per group and borough")
    required = ("group_type", "group_id", "group_name", "borough_code", "source")
    frame = read_table_text(path, Findings(), required=required, sheet=sheet)
    name = frame.attrs["source"]
    bad = ~frame["group_type"].isin(["pilot", "subregion"])
    if bad.any():
        row = frame.index[bad][0]
        msg = (
            f"{name} row {row}: group_type {frame.loc[row, 'group_type']!r} "
            "must be 'pilot' or 'subregion'"
        )
        raise DataValidationError(msg)
    check_group_ids(frame["group_id"], name)
    check_group_flags(frame, name)
    subs = frame[frame["group_type"] == "subregion"]
    twice = subs["borough_code"][subs["borough_code"].duplicated()]
    if len(twice):
        msg = f"{name}: borough {twice.iloc[0]} is in more than one sub-region"
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
