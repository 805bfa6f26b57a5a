"""Load site records as located points, before any borough join: the analyst's loader."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from estates.config import ValidationConfig
from estates.crs import BNG, WGS84, transformer
from estates.findings import Checked, Findings
from estates.frames import stage_copy
from estates.io.inputs import (
    load_boroughs,
    load_context_sites,
    load_eric_sites,
    load_groupings,
    load_locations,
)
from estates.io.site_records import read_site_records
from estates.stages.locate import locate_sites
from estates.stages.validate import reject_bad_coordinates, validate_records

log = logging.getLogger("estates")


def read_records(
    paths: Sequence[Path | str] | None,
    *,
    config: ValidationConfig,
    columns: Mapping[str, str] | None = None,
    sheet: str | None = None,
) -> Checked[pd.DataFrame]:
    """Return the raw site records of ``paths`` (or the bundled ERIC 2016/17 sites if none).

    ``columns`` (project column -> the files' header) and ``sheet`` (of an
    Excel workbook) apply to every file; see
    :func:`estates.io.site_records.read_site_records`. The findings are those
    made while reading: encodings, unreadable rows.
    """
    findings = Findings()
    if not paths:
        return Checked(load_eric_sites(findings=findings), findings)
    frames = [
        read_site_records(
            p,
            findings=findings,
            max_csv_bytes=config.max_csv_bytes,
            columns=columns,
            sheet=sheet,
        )
        for p in paths
    ]
    return Checked(pd.concat(frames, ignore_index=True), findings)


def locate_records(
    records: pd.DataFrame,
    *,
    context: pd.DataFrame,
    locations: Path | str | None,
    config: ValidationConfig,
    sheet: str | None = None,
) -> Checked[pd.DataFrame]:
    """Validate ``records`` and locate the kept ones (see :mod:`estates.stages.locate`).

    A record its ODS code does not place is located by its ``postcode``
    column, then by name: the records are the user's site files.
    """
    kept, findings = validate_records(records, config=config)
    checked = _checked_locations(locations, sheet=sheet)
    checked_locations = None
    if checked is not None:
        checked_locations, found = checked
        findings.merge(found)
    located, found = locate_sites(kept, context, locations=checked_locations, by_postcode=True)
    findings.merge(found)
    return Checked(located, findings)


def load_sites(
    paths: Sequence[Path | str] | None = None,
    *,
    locations: Path | str | None = None,
    config: ValidationConfig | None = None,
    columns: Mapping[str, str] | None = None,
    sheet: str | None = None,
) -> Checked[gpd.GeoDataFrame]:
    """Load, validate and locate site records; return them as WGS84 points, with the findings.

    Parameters
    ----------
    paths : sequence of path-like, optional
        Your site files (CSV, Excel workbook, GeoPackage, GeoJSON, GeoParquet,
        Shapefile). Their headers are recognised (ERIC's own headers of every
        year, NHS ODS and NHS.UK ``OrganisationCode``/``Latitude``/``Longitude``,
        ``ODS_Code``/``LAT``/``LON``, easting/northing names) and the choice
        logged; coordinates are optional when a site has an ODS code or a
        postcode. Default: the latest bundled ERIC return (2019/20) London
        site records, located as ``estates build`` locates them (ODS code,
        postcode of any year, name), with the cross-year checks in the findings.
    locations : path-like, optional
        A locations file (``site_code``, ``latitude``, ``longitude``, ``source``).
    config : ValidationConfig, optional
        Validation limits; default :class:`estates.config.ValidationConfig()`.
    columns : mapping of str to str, optional
        Project column -> your files' header, where detection cannot tell or
        guesses wrong, e.g. ``{"site_code": "ODS_Code", "latitude": "LAT"}``
        (``--columns site_code=ODS_Code,latitude=LAT`` on the command line).
    sheet : str, optional
        The sheet of Excel workbooks (sites and locations); default the first.

    Returns
    -------
    Checked
        ``value``: one row per kept record, in EPSG:4326; unlocated records
        and ERIC aggregate rows have a missing geometry. ``located_by`` says
        how each was located. No borough columns yet: see
        :func:`estates.join_boroughs`. ``findings``: every rejected, flagged
        or warned-about record.

    Examples
    --------
    >>> sites, findings = load_sites()
    >>> sites.crs.to_string(), len(sites)
    ('EPSG:4326', 185)
    >>> int((sites["located_by"] == "ods_code").sum())
    91
    """
    findings = Findings()
    config = config or ValidationConfig()
    context = load_context_sites(findings=findings)
    if paths:
        records, found = read_records(paths, config=config, columns=columns, sheet=sheet)
        findings.merge(found)
        located, found = locate_records(
            records, context=context, locations=locations, config=config, sheet=sheet
        )
    else:
        located, found = _headline_year(context, locations=locations, config=config, sheet=sheet)
    findings.merge(found)
    points = to_points(located)
    out = pd.DataFrame(points.drop(columns="geometry"))
    has = out["longitude"].notna().to_numpy()
    geometry = np.full(len(out), None, dtype=object)
    geometry[has] = gpd.points_from_xy(out.loc[has, "longitude"], out.loc[has, "latitude"])
    sites = gpd.GeoDataFrame(out, geometry=geometry, crs=WGS84).reset_index(drop=True)
    return Checked(sites, findings)


def _checked_locations(
    locations: Path | str | None, *, sheet: str | None = None
) -> Checked[pd.DataFrame] | None:
    """Return the locations file read and its coordinates checked, or None without one."""
    if locations is None:
        return None
    read = Findings()
    loaded = load_locations(Path(locations), findings=read, sheet=sheet)
    checked, found = reject_bad_coordinates(loaded)
    read.merge(found)
    return Checked(checked, read)


def _headline_year(
    context: pd.DataFrame,
    *,
    locations: Path | str | None,
    config: ValidationConfig,
    sheet: str | None = None,
) -> Checked[pd.DataFrame]:
    """Return the headline ERIC year's records located as the build locates them."""
    from estates.builder.years import load_years

    findings = Findings()
    checked = _checked_locations(locations, sheet=sheet)
    checked_locations = None
    if checked is not None:
        checked_locations, found = checked
        findings.merge(found)
    years = load_years(
        year=None,
        context=context,
        boroughs_bng=load_boroughs().to_crs(BNG),
        groupings=load_groupings(),
        nearest_within_m=config.nearest_within_m,
        locations=checked_locations,
    )
    findings.extend(years.findings)
    kept, found = validate_records(years.headline_records(), config=config)
    findings.merge(found)
    return Checked(kept, findings)


def to_points(located: pd.DataFrame) -> gpd.GeoDataFrame:
    """Return the records as points in EPSG:27700, with all four coordinates filled."""
    lat = located["latitude"].to_numpy(dtype=float)
    lon = located["longitude"].to_numpy(dtype=float)
    east = located["easting"].to_numpy(dtype=float).copy()
    north = located["northing"].to_numpy(dtype=float).copy()
    has_ll = ~np.isnan(lat) & ~np.isnan(lon)
    if has_ll.any():
        east[has_ll], north[has_ll] = transformer(WGS84, BNG).transform(lon[has_ll], lat[has_ll])
    has_en = ~has_ll & ~np.isnan(east) & ~np.isnan(north)
    lat, lon = lat.copy(), lon.copy()
    if has_en.any():
        lon[has_en], lat[has_en] = transformer(BNG, WGS84).transform(east[has_en], north[has_en])
    out = stage_copy(located)
    out["latitude"], out["longitude"] = lat, lon
    out["easting"], out["northing"] = east, north
    located_mask = ~np.isnan(east)
    geometry = np.full(len(out), None, dtype=object)
    geometry[located_mask] = gpd.points_from_xy(east[located_mask], north[located_mask])
    return gpd.GeoDataFrame(out, geometry=geometry, crs=BNG)
