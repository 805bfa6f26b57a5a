"""Every input of a build besides the site records, read and checked before the long stages.

:func:`load_reference` reads the boundaries, the groupings, the optional
files (locations, land values, disposal pipeline) and the bundled NHS
context, PFI and trust files, and checks what can be checked without a
site: a bad file fails in the first second, before any site is joined.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import pandas as pd

from estates.builder.inputs import Inputs
from estates.builder.valuing import ValuationPlan, plan_valuation
from estates.config import ValuationConfig
from estates.crs import to_analysis_crs
from estates.errors import DataValidationError
from estates.findings import Findings
from estates.io.detect import ColumnMap
from estates.io.inputs import (
    load_boroughs,
    load_context_sites,
    load_disposal_pipeline,
    load_eric_pfi,
    load_eric_trust_totals,
    load_groupings,
    load_land_values,
    load_locations,
)
from estates.logs import counted
from estates.stages.validate import reject_bad_coordinates

log = logging.getLogger("estates")


@dataclass(frozen=True)
class Reference:
    """Everything a run reads besides the site records (see :func:`load_reference`).

    Attributes
    ----------
    boroughs, boroughs_bng : geopandas.GeoDataFrame
        The borough polygons as read (EPSG:4326) and in EPSG:27700 for the join.
    groupings : pandas.DataFrame
        Pilot and sub-region memberships, checked against the boundaries.
    land_values, pipeline_records, locations : pandas.DataFrame or None
        The optional files, read and checked; ``locations`` without the rows
        whose coordinates are unusable (each one a finding).
    context : pandas.DataFrame
        NHS hospital and clinic records (WGS84 latitude/longitude).
    pfi_keys : frozenset of (str, str)
        ``(trust_code, site_code)`` of the bundled ERIC PFI sites; empty for
        a user's site files.
    trust_totals : dict or None
        The bundled ERIC trust-level totals (bundled sites only).
    valuation : ValuationPlan or None
        How land is valued (:func:`estates.builder.valuing.plan_valuation`),
        checked against the boundaries.
    column_maps : tuple of ColumnMap
        Which attribute of the boundaries holds the borough code and name
        (:func:`estates.io.detect.detect_boundary_columns`).
    """

    boroughs: gpd.GeoDataFrame
    boroughs_bng: gpd.GeoDataFrame
    groupings: pd.DataFrame
    land_values: pd.DataFrame | None
    pipeline_records: pd.DataFrame | None
    context: pd.DataFrame
    locations: pd.DataFrame | None = None
    pfi_keys: frozenset[tuple[str, str]] = frozenset()
    trust_totals: dict[str, float] | None = None
    valuation: ValuationPlan | None = None
    column_maps: tuple[ColumnMap, ...] = ()


def load_reference(
    inputs: Inputs, *, findings: Findings, valuation: ValuationConfig | None = None
) -> Reference:
    """Load and check every input besides the site records.

    Parameters
    ----------
    inputs : Inputs
        The run's files.
    findings : Findings
        Receives the rows of the optional files that are rejected.
    valuation : ValuationConfig, optional
        The valuation settings; default :class:`~estates.config.ValuationConfig`.

    Returns
    -------
    Reference
        The files, read and checked.

    Raises
    ------
    EstatesError
        For an unusable file: the boundaries, groupings that name none of the
        boundaries' codes, a land values file naming a borough the boundaries
        lack, a malformed locations or pipeline file.
    """
    column_maps: list[ColumnMap] = []
    boroughs = load_boroughs(
        inputs.boundaries,
        code_column=inputs.boundary_code_column,
        name_column=inputs.boundary_name_column,
        column_maps=column_maps,
    )
    sheet = inputs.sheet
    groupings = load_groupings(inputs.groupings, sheet=sheet)
    _check_groupings(groupings, boroughs)
    land_values = None
    if inputs.land_values is not None:
        land_values = load_land_values(inputs.land_values, sheet=sheet)
    plan = plan_valuation(valuation or ValuationConfig(), boroughs, land_values)
    pipeline_records = None
    if inputs.pipeline is not None:
        pipeline_records = load_disposal_pipeline(inputs.pipeline, findings=findings, sheet=sheet)
    locations = None
    if inputs.locations is not None:
        locations, found = reject_bad_coordinates(
            load_locations(Path(inputs.locations), findings=findings, sheet=sheet)
        )
        findings.merge(found)
    pfi_keys: frozenset[tuple[str, str]] = frozenset()
    trust_totals = None
    if not inputs.sites:
        pfi = load_eric_pfi()
        pfi_keys = frozenset(zip(pfi["trust_code"], pfi["site_code"], strict=True))
        trust_totals = load_eric_trust_totals()
    reference = Reference(
        boroughs=boroughs,
        boroughs_bng=to_analysis_crs(boroughs),
        groupings=groupings,
        land_values=land_values,
        pipeline_records=pipeline_records,
        context=load_context_sites(findings=findings),
        locations=locations,
        pfi_keys=pfi_keys,
        trust_totals=trust_totals,
        valuation=plan,
        column_maps=tuple(column_maps),
    )
    log.debug(
        "read and checked the inputs besides the sites: %s, %s%s",
        counted(len(boroughs), "borough"),
        counted(len(reference.context), "context record"),
        "".join(
            f", {name}"
            for name, frame in (
                ("land values", land_values),
                ("pipeline", pipeline_records),
                ("locations", locations),
            )
            if frame is not None
        ),
    )
    return reference


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
