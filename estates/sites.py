"""Load site records as located points, before any borough join: the analyst's loader."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from estates.config import ValidationConfig
from estates.crs import WGS84
from estates.findings import Findings
from estates.io import load_context_sites, load_eric_sites, load_locations, read_site_records
from estates.locate import locate_sites
from estates.validate import reject_bad_coordinates, validate_records

log = logging.getLogger("estates")


def load_sites(
    paths: Sequence[Path | str] | None = None,
    *,
    locations: Path | str | None = None,
    config: ValidationConfig | None = None,
    findings: Findings | None = None,
) -> gpd.GeoDataFrame:
    """Load, validate and locate site records; return them as WGS84 points.

    Parameters
    ----------
    paths : sequence of path-like, optional
        Your site files (CSV, GeoPackage, GeoJSON, GeoParquet, Shapefile).
        Default: the bundled ERIC 2016/17 London site records, located with
        the bundled NHS hospital and clinic files.
    locations : path-like, optional
        A locations file (``site_code``, ``latitude``, ``longitude``, ``source``).
    config : ValidationConfig, optional
        Validation limits; default :class:`estates.config.ValidationConfig()`.
    findings : Findings, optional
        Receives every rejected, flagged or warned-about record. If omitted,
        their number is logged: pass one to see them.

    Returns
    -------
    geopandas.GeoDataFrame
        One row per kept record, in EPSG:4326; unlocated records and ERIC
        aggregate rows have a missing geometry. ``located_by`` says how each
        was located. No borough columns yet: see :func:`estates.join_boroughs`.

    Examples
    --------
    >>> sites = load_sites()
    >>> sites.crs.to_string(), len(sites)
    ('EPSG:4326', 172)
    >>> int((sites["located_by"] == "ods_code").sum())
    101
    """
    own_findings = findings if findings is not None else Findings()
    config = config or ValidationConfig()
    context = load_context_sites(findings=own_findings)
    if paths:
        records = pd.concat(
            [
                read_site_records(p, findings=own_findings, max_csv_bytes=config.max_csv_bytes)
                for p in paths
            ],
            ignore_index=True,
        )
        records["is_aggregate"] = False
    else:
        records = load_eric_sites(findings=own_findings)
    kept = validate_records(records, config=config, findings=own_findings)
    located_locations = None
    if locations is not None:
        located_locations = reject_bad_coordinates(
            load_locations(Path(locations), findings=own_findings), findings=own_findings
        )
    located = locate_sites(kept, context, locations=located_locations, findings=own_findings)
    if findings is None and len(own_findings):
        log.info(
            "%d rejected, %d flagged records; pass findings=Findings() to see them",
            own_findings.count("rejected"),
            own_findings.count("flagged"),
        )
    from estates.pipeline import _to_points

    points = _to_points(located)
    out = pd.DataFrame(points.drop(columns="geometry"))
    has = out["longitude"].notna().to_numpy()
    geometry = np.full(len(out), None, dtype=object)
    geometry[has] = gpd.points_from_xy(out.loc[has, "longitude"], out.loc[has, "latitude"])
    return gpd.GeoDataFrame(out, geometry=geometry, crs=WGS84).reset_index(drop=True)
