"""Per-site measures of unused land, empty floor space and backlog maintenance.

Every measure comes from ERIC 2016/17 site-level columns (renamed at load by
:data:`estates.config.ERIC_SITE_COLUMNS`). A column the input does not carry
(a user's ``--sites`` file usually has no floor or backlog figures) gives NaN,
never 0 and never an error. Measures computed here rather than reported by
ERIC end in ``_derived`` or are documented as derived in ``docs/scoring.md``.
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd

from estates.errors import ConfigError
from estates.frames import stage_copy
from estates.logs import counted

log = logging.getLogger("estates")

#: ERIC's four backlog-maintenance cost columns (£), by risk category.
BACKLOG_COLUMNS = (
    "backlog_high_gbp",
    "backlog_significant_gbp",
    "backlog_moderate_gbp",
    "backlog_low_gbp",
)
#: Source columns a measure reads; any that are absent are treated as all-NaN.
MEASURE_INPUTS = (
    "land_owned_ha",
    "land_unused_ha",
    "floor_area_gia_m2",
    "floor_empty_pct",
    "floor_underused_pct",
    *BACKLOG_COLUMNS,
)
#: Columns :func:`measure_sites` adds, in order.
MEASURE_COLUMNS = (
    "land_unused_share",
    "floor_empty_m2_derived",
    "floor_underused_m2_derived",
    "backlog_total_gbp",
)


def land_unused_share(sites: pd.DataFrame) -> pd.Series:
    """Return the share of land owned that is not delivering services (0-1).

    Parameters
    ----------
    sites : pandas.DataFrame
        Any frame; ``land_owned_ha`` and ``land_unused_ha`` are read if present.
        Left unchanged.

    Returns
    -------
    pandas.Series
        ``land_unused_ha / land_owned_ha`` on the input's index (float). NaN
        when land owned is 0 or missing, or land unused is missing.

    Examples
    --------
    >>> f = pd.DataFrame({"land_owned_ha": [4.0, 0.0, np.nan], "land_unused_ha": [1.0, 0.0, 2.0]})
    >>> land_unused_share(f).tolist()
    [0.25, nan, nan]
    >>> land_unused_share(pd.DataFrame(index=[7])).tolist()
    [nan]
    """
    owned = _numeric(sites, "land_owned_ha")
    unused = _numeric(sites, "land_unused_ha")
    share = unused / owned.where(owned > 0)
    return share.rename("land_unused_share")


def floor_area_derived(sites: pd.DataFrame, pct_column: str) -> pd.Series:
    """Return floor area in m² from gross internal area × a percentage column / 100.

    Parameters
    ----------
    sites : pandas.DataFrame
        Any frame; ``floor_area_gia_m2`` and ``pct_column`` are read if present.
        Left unchanged.
    pct_column : {"floor_empty_pct", "floor_underused_pct"}
        The ERIC percentage of floor area to convert.

    Returns
    -------
    pandas.Series
        m², derived (ERIC reports only the percentage), on the input's index;
        NaN if either input is missing.

    Raises
    ------
    ConfigError
        If ``pct_column`` is not one of the allowed values.

    Examples
    --------
    >>> f = pd.DataFrame({"floor_area_gia_m2": [2000.0, 500.0], "floor_empty_pct": [5.0, np.nan]})
    >>> floor_area_derived(f, "floor_empty_pct").tolist()
    [100.0, nan]
    """
    allowed = ("floor_empty_pct", "floor_underused_pct")
    if pct_column not in allowed:
        msg = f"pct_column {pct_column!r} is not one of {', '.join(allowed)}"
        raise ConfigError(msg)
    gia = _numeric(sites, "floor_area_gia_m2")
    return (gia * _numeric(sites, pct_column) / 100.0).rename(
        pct_column.replace("_pct", "_m2_derived")
    )


def backlog_total(sites: pd.DataFrame) -> pd.Series:
    """Return the total backlog-maintenance cost (£) over ERIC's four risk categories.

    The sum of the categories that are present; NaN only when all four are
    missing (ERIC's ``Not Applicable``). A missing category is *not* read as 0
    cost: it is left out of the sum, and the total is a lower bound.

    Parameters
    ----------
    sites : pandas.DataFrame
        Any frame; the :data:`BACKLOG_COLUMNS` present are read. Left unchanged.

    Returns
    -------
    pandas.Series
        £, on the input's index.

    Examples
    --------
    >>> f = pd.DataFrame({"backlog_high_gbp": [1.0, np.nan, np.nan],
    ...                   "backlog_low_gbp": [2.0, 5.0, np.nan]})
    >>> backlog_total(f).tolist()
    [3.0, 5.0, nan]
    """
    parts = pd.concat([_numeric(sites, c) for c in BACKLOG_COLUMNS], axis=1)
    return parts.sum(axis=1, min_count=1).rename("backlog_total_gbp")


def measure_sites(sites: pd.DataFrame) -> pd.DataFrame:
    """Return a copy of ``sites`` with the per-site measures added.

    Adds :data:`MEASURE_COLUMNS`: ``land_unused_share`` (0-1),
    ``floor_empty_m2_derived`` and ``floor_underused_m2_derived`` (m²), and
    ``backlog_total_gbp`` (£). Source columns that are absent (a user's site
    file) are added as NaN, so later stages always find them; a missing
    ``pfi`` column is added as False and a missing ``quality_flags`` as ``""``.

    Parameters
    ----------
    sites : pandas.DataFrame or geopandas.GeoDataFrame
        The site table, in any CRS (geometry is not used and stays last).
        Left unchanged.

    Returns
    -------
    pandas.DataFrame or geopandas.GeoDataFrame
        Same type, index and CRS as ``sites``.

    Examples
    --------
    >>> f = pd.DataFrame({"site_code": ["A", "B"], "land_owned_ha": [2.0, 1.0],
    ...                   "land_unused_ha": [0.5, 0.0]})
    >>> out = measure_sites(f)
    >>> out[["land_unused_share", "backlog_total_gbp"]].values.tolist()
    [[0.25, nan], [0.0, nan]]
    >>> measure_sites(pd.DataFrame({"site_code": ["X"]}))["floor_empty_m2_derived"].tolist()
    [nan]
    """
    added: dict[str, pd.Series] = {}
    for column in MEASURE_INPUTS:
        if column not in sites:
            added[column] = pd.Series(np.nan, index=sites.index, dtype="float64")
    if "pfi" not in sites:
        added["pfi"] = pd.Series(False, index=sites.index, dtype=bool)
    if "quality_flags" not in sites:
        added["quality_flags"] = pd.Series("", index=sites.index, dtype="string")
    added["land_unused_share"] = land_unused_share(sites)
    added["floor_empty_m2_derived"] = floor_area_derived(sites, "floor_empty_pct")
    added["floor_underused_m2_derived"] = floor_area_derived(sites, "floor_underused_pct")
    added["backlog_total_gbp"] = backlog_total(sites)
    out = assign_columns(sites, added)
    log.info(
        "measured %s: %d with unused land, %d with a backlog cost",
        counted(len(out), "site"),
        int((out["land_unused_ha"] > 0).sum()),
        int(out["backlog_total_gbp"].notna().sum()),
    )
    return out


def assign_columns(frame: pd.DataFrame, columns: dict[str, pd.Series]) -> pd.DataFrame:
    """Return a copy of ``frame`` with ``columns`` set, keeping any geometry column last.

    Examples
    --------
    >>> f = pd.DataFrame({"a": [1], "geometry": [None]})
    >>> assign_columns(f, {"b": pd.Series([2])}).columns.tolist()
    ['a', 'b', 'geometry']
    """
    out = stage_copy(frame)
    for name, values in columns.items():
        out[name] = values
    geometry = getattr(frame, "_geometry_column_name", None)
    if geometry is None and "geometry" in out.columns:
        geometry = "geometry"
    if geometry in out.columns:
        out = out[[c for c in out.columns if c != geometry] + [geometry]]
    return out


def _numeric(frame: pd.DataFrame, column: str) -> pd.Series:
    """Return ``frame[column]`` as float, or all-NaN if the column is absent."""
    if column not in frame:
        return pd.Series(np.nan, index=frame.index, dtype="float64", name=column)
    return pd.to_numeric(frame[column], errors="coerce").astype("float64")
