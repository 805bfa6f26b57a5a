"""Chain the stages: load -> validate -> locate -> reproject -> join -> tag -> score.

:func:`run` does the work and returns everything a writer or a map needs;
:func:`build` is the analyst's entry point and returns the site table alone.
Nothing here writes files.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from estates.config import Config
from estates.crs import WGS84, to_analysis_crs
from estates.errors import DataValidationError
from estates.findings import Findings
from estates.io import bundled
from estates.io.inputs import (
    load_boroughs,
    load_context_sites,
    load_disposal_pipeline,
    load_eric_pfi,
    load_eric_trust_totals,
    load_groupings,
    load_land_values,
)
from estates.report.aggregate import aggregate_boroughs
from estates.report.disposal import summarise_pipeline
from estates.report.summary import summarise
from estates.stages.join import join_boroughs
from estates.stages.measures import measure_sites
from estates.stages.score import rank_sites, score_unused_land
from estates.stages.sites import locate_records, read_records, to_points
from estates.stages.tag import tag_groupings
from estates.stages.validate import add_flag
from estates.stages.valuation import value_sites

log = logging.getLogger("estates")


@dataclass(frozen=True)
class Inputs:
    """The files one run reads. ``None`` means the bundled data."""

    sites: tuple[Path, ...] = ()
    boundaries: Path | None = None
    boundary_code_column: str | None = None
    boundary_name_column: str | None = None
    groupings: Path | None = None
    locations: Path | None = None
    land_values: Path | None = None
    pipeline: Path | None = None

    def paths(self) -> list[Path]:
        """Return every file this run reads, bundled ones included, in a stable order."""
        files: list[Path] = list(self.sites) or [
            bundled.eric_sites_path(),
            bundled.eric_pfi_path(),
        ]
        files.append(self.boundaries or bundled.boundaries_path())
        files.append(self.groupings or bundled.groupings_path())
        files.extend(bundled.context_site_paths())
        files.extend(p for p in (self.locations, self.land_values, self.pipeline) if p)
        return files


@dataclass
class Result:
    """Everything one run produced, before anything is written.

    Attributes
    ----------
    sites : geopandas.GeoDataFrame
        The site table, one row per kept record, in WGS84 (EPSG:4326); rows
        with no location have a missing geometry. See ``docs/columns.md``.
    boroughs : geopandas.GeoDataFrame
        Borough polygons in WGS84 with ``subregion`` and ``pilots``.
    context : geopandas.GeoDataFrame
        NHS hospital and clinic records in WGS84, for the maps.
    groupings : pandas.DataFrame
        Pilot and sub-region memberships.
    findings : Findings
        Every rejected, flagged or warned-about record.
    counts : dict
        Counts per stage (``summary.json``'s ``counts``).
    """

    sites: gpd.GeoDataFrame
    boroughs: gpd.GeoDataFrame
    context: gpd.GeoDataFrame
    groupings: pd.DataFrame
    findings: Findings
    counts: dict[str, Any] = field(default_factory=dict)
    summary: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Reference:
    """Everything a run reads besides the site records (see :func:`load_reference`)."""

    boroughs: gpd.GeoDataFrame
    boroughs_bng: gpd.GeoDataFrame
    groupings: pd.DataFrame
    land_values: pd.DataFrame | None
    pipeline_records: pd.DataFrame | None
    context: pd.DataFrame


def load_reference(inputs: Inputs, *, findings: Findings) -> Reference:
    """Load and check the boroughs, groupings, optional files and NHS context records.

    Read before the site records, so a bad optional file fails before the long stages.
    """
    boroughs = load_boroughs(
        inputs.boundaries,
        code_column=inputs.boundary_code_column,
        name_column=inputs.boundary_name_column,
    )
    groupings = load_groupings(inputs.groupings)
    _check_groupings(groupings, boroughs)
    return Reference(
        boroughs=boroughs,
        boroughs_bng=to_analysis_crs(boroughs),
        groupings=groupings,
        land_values=load_land_values(inputs.land_values) if inputs.land_values else None,
        pipeline_records=(
            load_disposal_pipeline(inputs.pipeline, findings=findings) if inputs.pipeline else None
        ),
        context=load_context_sites(findings=findings),
    )


def run(inputs: Inputs | None = None, *, config: Config | None = None) -> Result:
    """Run every stage on ``inputs`` (bundled data by default) and return the result.

    Raises
    ------
    EstatesError
        For an unusable input file or option. Bad *records* never raise: they
        are rejected or flagged in ``result.findings``.
    """
    inputs = inputs or Inputs()
    config = config or Config()
    findings = Findings()

    ref = load_reference(inputs, findings=findings)
    boroughs, groupings, boroughs_bng = ref.boroughs, ref.groupings, ref.boroughs_bng
    land_values, pipeline_records, context = ref.land_values, ref.pipeline_records, ref.context

    records = read_records(inputs.sites, findings=findings, config=config.validation)
    rows_in = len(records)
    log.info("loaded %d site records from %d file(s)", rows_in, max(1, len(inputs.sites)))
    # Each stage returns a new frame; the one before is let go at once, so a
    # large input holds one copy of its rows at a time, not one per stage.
    frame = locate_records(
        records,
        context=context,
        locations=inputs.locations,
        config=config.validation,
        findings=findings,
    )
    records = records[[c for c in RECONCILED_COLUMNS if c in records]]
    frame = to_points(frame)
    frame = join_boroughs(frame, boroughs_bng, nearest_within_m=config.validation.nearest_within_m)
    frame = _mark_london(frame, findings, config.validation.nearest_within_m)
    frame = tag_groupings(frame, groupings)
    frame = _add_pfi(frame, inputs)
    sites = _finish_table(frame)
    del frame
    rejected_records = len(
        findings.rejected_rows({str(f) for f in records["source_file"].unique()})
    )
    if rows_in != len(sites) + rejected_records:
        msg = (
            f"internal check failed: {rows_in} records in, {len(sites)} kept and "
            f"{rejected_records} rejected"
        )
        raise AssertionError(msg)
    boroughs_out = tag_groupings(boroughs.to_crs(WGS84), groupings)
    context_gdf = gpd.GeoDataFrame(
        context.drop(columns=["latitude", "longitude"]),
        geometry=gpd.points_from_xy(context["longitude"], context["latitude"]),
        crs=WGS84,
    )
    # Score: measures -> valuation -> score -> rank -> totals (docs/scoring.md).
    target_gbp = config.valuation.target_gbp
    sites, valuation = value_sites(
        measure_sites(sites),
        target_gbp=target_gbp,
        land_values=land_values,
        borough_names=dict(zip(boroughs["borough_code"], boroughs["borough_name"], strict=True)),
        borough_codes=boroughs["borough_code"],
    )
    sites = rank_sites(score_unused_land(sites, config=config.score))
    boroughs_out = aggregate_boroughs(sites, boroughs_out, target_gbp=target_gbp)
    pipeline_summary = summarise_pipeline(
        sites, pipeline_records, target_gbp=target_gbp, findings=findings
    )
    counts = _counts(rows_in, sites, findings)
    summary = summarise(
        sites=sites,
        boroughs=boroughs_out,
        groupings=groupings,
        records=records,
        valuation=valuation,
        pipeline=pipeline_summary,
        counts=counts,
        config=config,
        bundled_sites=not inputs.sites,
        bundled_boundaries=inputs.boundaries is None,
    )
    if not inputs.sites:
        summary["reconciliation"]["trust_level_check"] = _trust_level_check(summary)
    return Result(
        sites=sites,
        boroughs=boroughs_out,
        context=context_gdf,
        groupings=groupings,
        findings=findings,
        counts=counts,
        summary=summary,
    )


def build(
    *,
    sites: list[Path | str] | None = None,
    boundaries: Path | str | None = None,
    locations: Path | str | None = None,
    config: Config | None = None,
) -> gpd.GeoDataFrame:
    """Return the validated, located, borough-joined, pilot-tagged site table.

    Parameters
    ----------
    sites : list of path-like, optional
        The user's site files; default: the bundled ERIC 2016/17 London sites.
    boundaries : path-like, optional
        A borough polygon layer; default: the bundled ONS boundaries.
    locations : path-like, optional
        A locations file for sites the bundled look-ups cannot place.
    config : Config, optional
        Settings; default: :class:`estates.config.Config()`.

    Returns
    -------
    geopandas.GeoDataFrame
        One row per kept site record, in WGS84 (EPSG:4326), with the columns
        described in ``docs/columns.md``. Rejected records are not in it; run
        :func:`run` to get them as ``result.findings``.

    Examples
    --------
    >>> sites = build()
    >>> sites.crs.to_string(), len(sites)
    ('EPSG:4326', 172)
    >>> sites.loc[sites.site_code == "RRP03", ["located_by", "borough_name"]].values.tolist()
    [['name_match', 'Haringey']]
    """
    inputs = Inputs(
        sites=tuple(Path(p) for p in (sites or ())),
        boundaries=Path(boundaries) if boundaries is not None else None,
        locations=Path(locations) if locations is not None else None,
    )
    return run(inputs, config=config).sites


def _trust_level_check(summary: dict[str, Any]) -> dict[str, Any]:
    """Compare the site rows' totals with the ERIC trust-level file's."""
    trust = load_eric_trust_totals()
    total = summary["reconciliation"]["total"]
    matches = all(
        abs(float(total[k]) - trust[k]) < 0.005 for k in ("land_owned_ha", "land_unused_ha")
    )
    return {
        "file": bundled.eric_trust_path().name,
        "trusts": trust["trusts"],
        "land_owned_ha": round(trust["land_owned_ha"], 2),
        "land_unused_ha": round(trust["land_unused_ha"], 2),
        "matches_site_rows": matches,
    }


def _check_groupings(groupings: pd.DataFrame, boroughs: gpd.GeoDataFrame) -> None:
    known = set(boroughs["borough_code"])
    unknown = sorted(set(groupings["borough_code"]) - known)
    if unknown and not (set(groupings["borough_code"]) & known):
        msg = (
            "none of the pilot and sub-region borough codes is in the boundaries "
            f"(e.g. {unknown[0]}); are the boundaries keyed on GSS codes?"
        )
        raise DataValidationError(msg)
    if unknown:
        log.warning(
            "%d pilot/sub-region borough codes are not in the boundaries: %s",
            len(unknown),
            ", ".join(unknown),
        )


def _mark_london(
    joined: gpd.GeoDataFrame, findings: Findings, nearest_within_m: float
) -> gpd.GeoDataFrame:
    out = joined.copy()
    method = out["join_method"].astype("string")
    out["in_london"] = method.isin(["within", "nearest"]).fillna(False).astype(bool)
    outside = method.eq("outside").fillna(False).to_numpy(dtype=bool)
    where = np.flatnonzero(outside)
    reason = (
        f"outside Greater London (more than {nearest_within_m:g} m from every "
        "borough); kept, excluded from London totals"
    )
    for src, row, code, lat, lon in zip(
        out["source_file"].to_numpy()[where],
        out["source_row"].to_numpy()[where],
        out["site_code"].to_numpy()[where],
        out["latitude"].to_numpy()[where],
        out["longitude"].to_numpy()[where],
        strict=True,
    ):
        findings.add(
            str(src),
            int(row),
            reason,
            action="flagged",
            check="outside_london",
            site_code=code,
            column="geometry",
            value=f"{lat:.5f}, {lon:.5f}",
        )
    out["quality_flags"] = add_flag(out["quality_flags"], outside, "outside_london")
    nearest = method.eq("nearest").fillna(False).to_numpy(dtype=bool)
    out["quality_flags"] = add_flag(out["quality_flags"], nearest, "joined_to_nearest_borough")
    return out


def _add_pfi(frame: gpd.GeoDataFrame, inputs: Inputs) -> gpd.GeoDataFrame:
    out = frame.copy()
    if inputs.sites:
        out["pfi"] = False
        return out
    pfi = load_eric_pfi()
    keys = set(zip(pfi["trust_code"], pfi["site_code"], strict=True))
    out["pfi"] = [(t, s) in keys for t, s in zip(out["trust_code"], out["site_code"], strict=True)]
    return out


#: The raw records' columns the reconciliation reads (``summary.reconcile_land``).
RECONCILED_COLUMNS = (
    "source_file",
    "source_row",
    "site_code",
    "site_name",
    "trust_name",
    "land_owned_ha",
    "land_unused_ha",
)

#: The leading columns of the site table, in order; measures follow.
LEADING_COLUMNS = [
    "site_code",
    "site_name",
    "site_type",
    "trust_code",
    "trust_name",
    "borough_code",
    "borough_name",
    "subregion",
    "pilots",
    "in_london",
    "located_by",
    "location_source",
    "join_method",
    "borough_distance_m",
    "latitude",
    "longitude",
    "easting",
    "northing",
    "land_owned_ha",
    "land_unused_ha",
    "pfi",
    "quality_flags",
]


def _finish_table(tagged: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Order columns, fill optional ones, and return the table in WGS84."""
    out = tagged.copy()
    for column in ("site_type", "trust_code", "trust_name"):
        if column not in out:
            out[column] = pd.NA
        out[column] = out[column].astype("string")
    for column in ("land_owned_ha", "land_unused_ha"):
        if column not in out:
            out[column] = np.nan
    out["site_name"] = out["site_name"].astype("string").str.strip()
    out["join_method"] = out["join_method"].astype("string")
    out["quality_flags"] = out["quality_flags"].astype("string")
    rest = [c for c in out.columns if c not in LEADING_COLUMNS and c != "geometry"]
    out = pd.DataFrame(out[[*LEADING_COLUMNS, *rest]])
    # The WGS84 points are built from the latitude/longitude columns, not by
    # reprojecting the BNG points back, so geometry and columns agree exactly.
    located = out["longitude"].notna().to_numpy()
    geometry = np.full(len(out), None, dtype=object)
    geometry[located] = gpd.points_from_xy(
        out.loc[located, "longitude"], out.loc[located, "latitude"]
    )
    return gpd.GeoDataFrame(out, geometry=geometry, crs=WGS84).reset_index(drop=True)


def _counts(rows_in: int, sites: gpd.GeoDataFrame, findings: Findings) -> dict[str, Any]:
    return run_counts(
        rows_in,
        len(sites),
        located_by=sites["located_by"].value_counts().to_dict(),
        joins=sites["join_method"].astype("string").fillna("not_located").value_counts().to_dict(),
        by_check={a: findings.counts_by_check(a) for a in ("rejected", "flagged", "warning")},
    )


def run_counts(
    rows_in: int,
    rows_kept: int,
    *,
    located_by: Mapping[str, int],
    joins: Mapping[str, int],
    by_check: Mapping[str, Mapping[str, int]],
) -> dict[str, Any]:
    """Return ``summary.json``'s ``counts``: the identity, how sites were located and joined.

    ``by_check`` maps each finding action (rejected, flagged, warning) to
    ``{check: count}``, listed most frequent first. The chunked build adds
    these up chunk by chunk; the in-memory build counts its table.
    """

    def most_first(counts: Mapping[str, int]) -> dict[str, int]:
        return dict(
            sorted(((str(k), int(v)) for k, v in counts.items()), key=lambda kv: (-kv[1], kv[0]))
        )

    rejected = rows_in - rows_kept
    return {
        "records_in": rows_in,
        "records_kept": rows_kept,
        "records_rejected": rejected,
        "identity": f"{rows_in} in = {rows_kept} kept + {rejected} rejected",
        "located_by": {str(k): int(v) for k, v in sorted(located_by.items())},
        "join": {k: int(joins.get(k, 0)) for k in ("within", "nearest", "outside", "not_located")},
        "rejected_by_check": most_first(by_check.get("rejected", {})),
        "flagged_by_check": most_first(by_check.get("flagged", {})),
        "warnings_by_check": most_first(by_check.get("warning", {})),
    }
