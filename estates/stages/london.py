"""Say which joined sites count towards London: ``in_london``, and flags for the edge cases."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
from numpy.typing import NDArray

from estates.findings import Checked, Findings
from estates.frames import stage_copy
from estates.stages.validate import add_flag


def mark_london(
    joined: gpd.GeoDataFrame, *, nearest_within_m: float = 250.0, max_findings: int | None = None
) -> Checked[gpd.GeoDataFrame]:
    """Return ``joined`` with ``in_london`` and the outside/nearest quality flags.

    A site inside a borough, or joined to the nearest one, is ``in_london``.
    A site more than ``nearest_within_m`` metres from every borough is kept,
    flagged ``outside_london`` and given a finding; one joined to the nearest
    borough is flagged ``joined_to_nearest_borough``.

    Parameters
    ----------
    joined : geopandas.GeoDataFrame
        From :func:`estates.stages.join.join_boroughs` (``join_method``), with
        ``source_file``, ``source_row``, ``site_code``, WGS84
        ``latitude``/``longitude`` and ``quality_flags``; any CRS. Left unchanged.
    nearest_within_m : float, default 250.0
        The join's fallback radius (metres), named in the finding.
    max_findings : int, optional
        Keep the first ``max_findings`` findings per source file and count the
        rest (:class:`~estates.findings.Findings` ``max_per_check``): a
        national file has hundreds of thousands of sites outside London, and
        ``rejected.csv`` lists only the first of them anyway.

    Returns
    -------
    Checked
        ``value``: a copy with ``in_london`` (bool) and the flags added.
        ``findings``: one ``flagged`` finding per site outside London (past
        ``max_findings``, counted in ``omitted``).
    """
    findings = Findings(max_per_check=max_findings)
    out = stage_copy(joined)
    method = out["join_method"].astype("string")
    out["in_london"] = method.isin(["within", "nearest"]).fillna(False).astype(bool)
    outside = method.eq("outside").fillna(False).to_numpy(dtype=bool)
    where = np.flatnonzero(outside)
    reason = (
        f"outside Greater London (more than {nearest_within_m:g} m from every "
        "borough); kept, excluded from London totals"
    )
    lat = out["latitude"].to_numpy()[where]
    lon = out["longitude"].to_numpy()[where]

    def coordinates(kept: NDArray[np.intp]) -> list[str]:
        pairs = zip(lat[kept].tolist(), lon[kept].tolist(), strict=True)
        return [f"{y:.5f}, {x:.5f}" for y, x in pairs]

    findings.add_rows(
        out["source_file"].to_numpy()[where],
        out["source_row"].to_numpy()[where],
        reason,
        action="flagged",
        check="outside_london",
        site_codes=out["site_code"].to_numpy()[where],
        column="geometry",
        values=coordinates,
    )
    out["quality_flags"] = add_flag(out["quality_flags"], outside, "outside_london")
    nearest = method.eq("nearest").fillna(False).to_numpy(dtype=bool)
    out["quality_flags"] = add_flag(out["quality_flags"], nearest, "joined_to_nearest_borough")
    return Checked(out, findings)
