"""Add up the site table by borough, pilot, sub-region and London.

A site counts towards a borough (and so its pilots and sub-region) only when it
is located inside Greater London (``in_london``). Unlocated sites and ERIC
aggregate rows belong to London-region *trusts* but to no borough; sites
located outside London belong to none either. They are reported only in the
London-level ``not_in_any_borough`` and ``outside_london`` counts, never in the
London totals of land and value.

Sums skip missing values; a total is NaN (``null`` in JSON) only when no site
in the group has a value for it, and 0 for a group with no sites.
"""

from __future__ import annotations

import logging
import math
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from estates.errors import ConfigError
from estates.logs import counted
from estates.report.tally import SiteTallies, Tally
from estates.stages.tag import group_names

log = logging.getLogger("estates")

#: Columns :func:`aggregate_boroughs` adds to the borough layer, in order.
BOROUGH_COLUMNS = (
    "land_owned_ha",
    "land_unused_ha",
    "estimated_value_gbp",
    "share_of_target",
    "value_low_gbp",
    "value_high_gbp",
    "share_of_target_low",
    "share_of_target_high",
    "backlog_total_gbp",
    "sites_located",
)
#: How many ranked sites each pilot and sub-region lists in ``summary.json``.
TOP_N = 10


def london_mask(sites: pd.DataFrame) -> pd.Series:
    """Return True for sites located inside Greater London.

    Examples
    --------
    >>> london_mask(pd.DataFrame({"in_london": [True, None, False]})).tolist()
    [True, False, False]
    """
    if "in_london" not in sites:
        return pd.Series(False, index=sites.index, dtype=bool)
    return sites["in_london"].astype("boolean").fillna(False).astype(bool)


def totals(sites: pd.DataFrame, *, target_gbp: float) -> dict[str, Any]:
    """Return the totals of a group of sites, rounded for ``summary.json``.

    Parameters
    ----------
    sites : pandas.DataFrame
        The group's rows of the scored site table; left unchanged.
    target_gbp : float
        The target (£) for ``share_of_target``.

    Returns
    -------
    dict
        ``land_owned_ha``, ``land_unused_ha`` (ha, 6 decimals),
        ``estimated_value_gbp``, ``backlog_total_gbp`` (£, whole pounds),
        ``share_of_target`` (estimated value ÷ target, 0-1), ``sites_located``
        (rows), ``sites_with_unused_land`` and ``sites_ranked``.

    Examples
    --------
    >>> f = pd.DataFrame({"land_owned_ha": [2.0, np.nan], "land_unused_ha": [1.0, 0.5],
    ...     "estimated_value_gbp": [10.0, 5.0], "backlog_total_gbp": [np.nan, np.nan]})
    >>> t = totals(f, target_gbp=100.0)
    >>> t["land_owned_ha"], t["estimated_value_gbp"], t["share_of_target"], t["backlog_total_gbp"]
    (2.0, 15.0, 0.15, None)
    >>> totals(f.iloc[:0], target_gbp=100.0)["land_unused_ha"]
    0.0
    """
    return tally_totals(Tally.of(sites), target_gbp=target_gbp)


def tally_totals(tally: Tally, *, target_gbp: float) -> dict[str, Any]:
    """Return :func:`totals` from a group's :class:`~estates.report.tally.Tally`."""
    value = tally.total("estimated_value_gbp", missing=_no_value(tally))
    low = tally.total("value_low_gbp", missing=_no_value(tally))
    high = tally.total("value_high_gbp", missing=_no_value(tally))
    return {
        "land_owned_ha": _round(tally.total("land_owned_ha"), 6),
        "land_unused_ha": _round(tally.total("land_unused_ha"), 6),
        "estimated_value_gbp": _round(value, 0),
        "share_of_target": _round(value / target_gbp, 9),
        "value_low_gbp": _round(low, 0),
        "value_high_gbp": _round(high, 0),
        "share_of_target_low": _round(low / target_gbp, 9),
        "share_of_target_high": _round(high / target_gbp, 9),
        "backlog_total_gbp": _round(tally.total("backlog_total_gbp"), 0),
        "sites_located": tally.rows,
        "sites_with_unused_land": tally.with_unused,
        "sites_ranked": tally.ranked,
    }


def _no_value(tally: Tally) -> float:
    """Return a value total when no site has a value: 0 if none reports land unused.

    A site whose unused land is not reported adds nothing, as it adds nothing
    to ``land_unused_ha``: the value covers the land the returns report. A
    group where no site reports unused land at all has no value (null).
    """
    reported = tally.present["land_unused_ha"] > 0
    return 0.0 if reported and tally.with_unused == 0 else math.nan


def aggregate_boroughs(
    boroughs: gpd.GeoDataFrame,
    tallies: SiteTallies,
    *,
    target_gbp: float,
) -> gpd.GeoDataFrame:
    """Return a copy of ``boroughs`` with the totals of the London sites in each.

    Parameters
    ----------
    boroughs : geopandas.GeoDataFrame
        Borough polygons with ``borough_code``, any CRS (kept). Left unchanged.
    tallies : SiteTallies
        The whole site table's counts and sums
        (:func:`~estates.report.tally.site_tallies`); only sites located
        inside London count towards a borough.
    target_gbp : float
        The target (£) for ``share_of_target``.

    Returns
    -------
    geopandas.GeoDataFrame
        With :data:`BOROUGH_COLUMNS`: ha, £ (unrounded), share of target (0-1)
        and ``sites_located`` (int). A borough with no sites has zeros.

    Examples
    --------
    >>> from shapely import box
    >>> from estates.report.tally import site_tallies
    >>> b = gpd.GeoDataFrame({"borough_code": ["a", "b"]}, geometry=[box(0, 0, 1, 1)] * 2,
    ...                      crs="EPSG:27700")
    >>> s = pd.DataFrame({"borough_code": ["a", "a", None], "in_london": [True, True, False],
    ...                   "land_owned_ha": [1.0, 2.0, 9.0], "land_unused_ha": [0.5, 0.0, 9.0],
    ...                   "estimated_value_gbp": [5.0, 0.0, np.nan]})
    >>> out = aggregate_boroughs(b, site_tallies(s), target_gbp=10.0)
    >>> out["land_owned_ha"].tolist(), out["sites_located"].tolist()
    ([3.0, 0.0], [2, 0])
    """
    codes = boroughs["borough_code"].astype("string").tolist()
    per_borough = [tallies.of("borough", str(code)) for code in codes]
    out = boroughs.copy()
    for column in ("land_owned_ha", "land_unused_ha", "backlog_total_gbp"):
        out[column] = np.array([t.total(column) for t in per_borough], dtype="float64")
    for column, share in (
        ("estimated_value_gbp", "share_of_target"),
        ("value_low_gbp", "share_of_target_low"),
        ("value_high_gbp", "share_of_target_high"),
    ):
        values = [t.total(column, missing=_no_value(t)) for t in per_borough]
        out[column] = np.array(values, dtype="float64")
        out[share] = (out[column] / target_gbp).to_numpy()
    out = out[[c for c in out.columns if c not in BOROUGH_COLUMNS] + list(BOROUGH_COLUMNS[:-1])]
    out["sites_located"] = np.array([t.rows for t in per_borough], dtype=int)
    geometry = out.geometry.name
    out = out[[c for c in out.columns if c != geometry] + [geometry]]
    log.info(
        "aggregated %s into %s",
        counted(tallies.of("london").rows, "London site"),
        counted(int((out.sites_located > 0).sum()), "borough"),
    )
    return out


def aggregate_groups(
    sites: pd.DataFrame,
    groupings: pd.DataFrame,
    tallies: SiteTallies,
    *,
    group_type: str,
    target_gbp: float,
    top_n: int = TOP_N,
) -> dict[str, dict[str, Any]]:
    """Return the totals and top-ranked sites of each pilot or sub-region.

    Parameters
    ----------
    sites : pandas.DataFrame
        Ranked rows of the site table (with ``borough_code``, ``disposal_rank``,
        ``pilot_ranks``, ``subregion_rank``) holding at least each group's best
        ``top_n`` candidates, for the lists; only ``in_london`` rows count.
        Left unchanged.
    groupings : pandas.DataFrame
        Memberships from :func:`estates.io.inputs.load_groupings`.
    tallies : SiteTallies
        The whole site table's counts and sums, with ``groupings``' groups
        (:func:`~estates.report.tally.site_tallies`); the totals come from it.
    group_type : {"pilot", "subregion"}
        Which groups.
    target_gbp : float
        The target (£) for ``share_of_target``.
    top_n : int, default 10
        How many ranked sites to list per group.

    Returns
    -------
    dict
        ``{group_id: {name, borough_codes, <totals>, sites, top_sites}}`` in the
        groupings file's order; see :func:`totals`. ``sites`` is the number of
        located sites (as ``sites_located``, the key the maps read);
        ``top_sites`` lists the group's best ``top_n`` candidates with their
        rank in the group (``rank``) and across London (``disposal_rank``).

    Raises
    ------
    ConfigError
        If ``group_type`` is not ``"pilot"`` or ``"subregion"``.

    Examples
    --------
    >>> g = pd.DataFrame({"group_type": ["pilot"] * 2, "group_id": ["p", "p"],
    ...                   "group_name": ["Pilot P"] * 2, "borough_code": ["a", "b"]})
    >>> s = pd.DataFrame({"site_code": ["A", "B"], "borough_code": ["a", "c"],
    ...     "in_london": [True, True], "land_owned_ha": [2.0, 5.0], "land_unused_ha": [1.0, 5.0],
    ...     "estimated_value_gbp": [10.0, 50.0], "disposal_rank": pd.array([2, 1], "Int64"),
    ...     "pilot_ranks": ["p:1", ""]})
    >>> from estates.report.tally import site_tallies
    >>> t = site_tallies(s, g)
    >>> p = aggregate_groups(s, g, t, group_type="pilot", target_gbp=100.0)["p"]
    >>> p["land_unused_ha"], p["share_of_target"], [t["site_code"] for t in p["top_sites"]]
    (1.0, 0.1, ['A'])
    >>> aggregate_groups(s, g, t, group_type="stp", target_gbp=100.0)
    Traceback (most recent call last):
    ...
    estates.errors.ConfigError: group_type 'stp' is not one of 'pilot', 'subregion'
    """
    if group_type not in ("pilot", "subregion"):
        msg = f"group_type {group_type!r} is not one of 'pilot', 'subregion'"
        raise ConfigError(msg)
    members = groupings[groupings["group_type"] == group_type]
    names = group_names(groupings)
    # Each group's rows are taken from the columns read here alone, not the whole table.
    london = sites.loc[london_mask(sites), [c for c in _GROUPED if c in sites]]
    codes = london["borough_code"].astype("string")
    out: dict[str, dict[str, Any]] = {}
    for gid in dict.fromkeys(members["group_id"]):
        borough_codes = list(dict.fromkeys(members.loc[members["group_id"] == gid, "borough_code"]))
        in_group = london.loc[codes.isin(borough_codes).to_numpy()]
        rank = _group_rank(in_group, gid, group_type)
        ranked = in_group.assign(_rank=rank).loc[rank.notna()].sort_values("_rank")
        tally = tallies.of(group_type, gid)
        out[gid] = {
            "name": names[gid],
            "borough_codes": borough_codes,
            **tally_totals(tally, target_gbp=target_gbp),
            "sites": tally.rows,
            "top_sites": [
                _site_entry(row, rank=int(row["_rank"])) for _, row in ranked.head(top_n).iterrows()
            ],
        }
    return out


def aggregate_london(tallies: SiteTallies, *, target_gbp: float) -> dict[str, Any]:
    """Return London's totals and where the rows that are in no borough went.

    Parameters
    ----------
    tallies : SiteTallies
        The whole site table's counts and sums
        (:func:`~estates.report.tally.site_tallies`).
    target_gbp : float
        The target (£) for ``share_of_target``.

    Returns
    -------
    dict
        :func:`totals` of the sites located inside London, plus
        ``sites_outside_london``, ``sites_unlocated``, ``aggregate_rows``,
        ``outside_london`` and ``not_in_any_borough`` (unlocated sites and ERIC
        aggregate rows: rows, hectares owned and unused).

    Examples
    --------
    >>> s = pd.DataFrame({"in_london": [True, False, False], "located_by": ["ods_code",
    ...     "unlocated", "aggregate"], "land_owned_ha": [2.0, 3.0, 4.0],
    ...     "land_unused_ha": [1.0, 1.0, 0.0], "estimated_value_gbp": [5.0, np.nan, np.nan]})
    >>> from estates.report.tally import site_tallies
    >>> d = aggregate_london(site_tallies(s), target_gbp=10.0)
    >>> d["land_owned_ha"], d["not_in_any_borough"]["land_owned_ha"], d["sites_unlocated"]
    (2.0, 7.0, 1)
    """
    outside, unlocated, aggregate = (tallies.of(k) for k in ("outside", "unlocated", "aggregate"))
    nowhere = unlocated + aggregate
    return {
        **tally_totals(tallies.of("london"), target_gbp=target_gbp),
        "sites_outside_london": outside.rows,
        "sites_unlocated": unlocated.rows,
        "aggregate_rows": aggregate.rows,
        "outside_london": _land(outside),
        "not_in_any_borough": {
            "sites_unlocated": unlocated.rows,
            "aggregate_rows": aggregate.rows,
            **_land(nowhere),
            "note": (
                "unlocated sites and ERIC aggregate rows belong to London-region trusts but "
                "to no borough; they are not in the London, borough, pilot or sub-region totals"
            ),
        },
    }


def borough_entries(boroughs: pd.DataFrame, *, valued_per_ha: dict[str, float]) -> dict[str, Any]:
    """Return ``summary.json``'s ``boroughs`` section from :func:`aggregate_boroughs` output.

    Examples
    --------
    >>> b = pd.DataFrame({"borough_code": ["a"], "borough_name": ["A"], "subregion": ["ncl"],
    ...     "pilots": [""], "land_owned_ha": [1.0], "land_unused_ha": [0.5],
    ...     "estimated_value_gbp": [5.0], "share_of_target": [0.5],
    ...     "backlog_total_gbp": [np.nan], "sites_located": [1]})
    >>> borough_entries(b, valued_per_ha={})["a"]["estimated_value_gbp"]
    5.0
    """
    out: dict[str, Any] = {}
    for _, row in boroughs.iterrows():
        code = str(row["borough_code"])
        pilots = row.get("pilots")
        out[code] = {
            "name": str(row["borough_name"]),
            "subregion": None if pd.isna(row.get("subregion")) else str(row["subregion"]),
            "pilots": [p for p in str(pilots).split(";") if p] if isinstance(pilots, str) else [],
            "land_owned_ha": _round(row["land_owned_ha"], 6),
            "land_unused_ha": _round(row["land_unused_ha"], 6),
            "estimated_value_gbp": _round(row["estimated_value_gbp"], 0),
            "share_of_target": _round(row["share_of_target"], 9),
            "value_low_gbp": _round(row.get("value_low_gbp"), 0),
            "value_high_gbp": _round(row.get("value_high_gbp"), 0),
            "share_of_target_low": _round(row.get("share_of_target_low"), 9),
            "share_of_target_high": _round(row.get("share_of_target_high"), 9),
            "backlog_total_gbp": _round(row["backlog_total_gbp"], 0),
            "sites_located": int(row["sites_located"]),
            "value_gbp_per_ha": valued_per_ha.get(code),
        }
    return out


#: The columns of a listed site (:func:`_site_entry`).
_LISTED = (
    "disposal_rank",
    "site_code",
    "site_name",
    "trust_code",
    "borough_name",
    "land_unused_ha",
    "estimated_value_gbp",
    "disposal_score",
)
#: The columns :func:`aggregate_groups` reads of each group's rows.
_GROUPED = ("borough_code", "pilot_ranks", "subregion_rank", *_LISTED)


def _site_entry(row: pd.Series, *, rank: int | None) -> dict[str, Any]:
    disposal_rank = row.get("disposal_rank")
    return {
        "rank": rank,
        "disposal_rank": None if pd.isna(disposal_rank) else int(disposal_rank),
        "site_code": _text(row.get("site_code")),
        "site_name": _text(row.get("site_name")),
        "trust_code": _text(row.get("trust_code")),
        "borough_name": _text(row.get("borough_name")),
        "land_unused_ha": _round(row.get("land_unused_ha"), 6),
        "estimated_value_gbp": _round(row.get("estimated_value_gbp"), 0),
        "disposal_score": _round(row.get("disposal_score"), 6),
    }


def _group_rank(frame: pd.DataFrame, gid: str, group_type: str) -> pd.Series:
    if group_type == "subregion":
        if "subregion_rank" not in frame:
            return pd.Series(pd.NA, index=frame.index, dtype="Int64")
        return frame["subregion_rank"].astype("Int64")
    if "pilot_ranks" not in frame:
        return pd.Series(pd.NA, index=frame.index, dtype="Int64")

    def find(text: object) -> object:
        if not isinstance(text, str):
            return pd.NA
        for item in text.split(";"):
            pilot, _, rank = item.partition(":")
            if pilot == gid:
                return int(rank)
        return pd.NA

    return frame["pilot_ranks"].map(find).astype("Int64")


def _land(tally: Tally) -> dict[str, Any]:
    return {
        "rows": tally.rows,
        "land_owned_ha": _round(tally.total("land_owned_ha"), 6),
        "land_unused_ha": _round(tally.total("land_unused_ha"), 6),
    }


def _round(value: object, digits: int) -> float | None:
    if value is None or value is pd.NA:
        return None
    number = float(value)  # type: ignore[arg-type]
    if not math.isfinite(number):
        return None
    return round(number, digits) + 0.0


def _text(value: object) -> str | None:
    if value is None or value is pd.NA:
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    return str(value)
