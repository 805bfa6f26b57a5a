"""``summary.json``'s sections across ERIC years: reconciliation, land over time, candidates.

Every function takes the located, borough-joined rows of every year
(:class:`estates.builder.years.EricYears`' ``located``) and returns plain
dicts ready for JSON. Hectares are rounded to 6 decimals (their sums to 2 in
``change_since``). Inputs are left unchanged.

The land column changed meaning in ERIC (site land area up to 2015/16, land
owned from 2016/17), so every year's figure travels with its ``land_measure``
and definition, and changes are only taken between years of one measure.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from estates.io.eric import LAND_MEASURES, eric_return_totals
from estates.report.summary import reconcile_land, reconciliation_frames
from estates.report.tally import SUMMED, site_tallies
from estates.stages.postcode import ERIC_LOCATION_STEPS, location_summary
from estates.stages.validate import site_keys

#: What ``disposal_candidates`` says of itself.
CANDIDATES_NOTE = (
    "Sites that left the ERIC return, or whose land owned fell, between the two returns. "
    "Leaving the return can also mean a transfer to another trust or body, a closure, a "
    "lease ending or a change of coding, not a sale: check each with its trust before "
    "counting it as a disposal. Aggregate rows (a trust's bundle of small sites) are left out."
)
#: What ``change_since`` leaves out.
CHANGE_NOTE = (
    "Land owned at sites located inside London in each return, as each return gives it. "
    "The two returns do not hold the same trusts (see flagged trust_changed findings), "
    "aggregate rows and unlocated sites are left out, and a site reported by two trusts "
    "counts in each."
)

#: The columns :func:`year_sections` reads of each year's rows: the reconciliation's
#: (:func:`~estates.report.summary.reconcile_land`, its buckets' tallies and listed rows)
#: and the year's own land measure. Without ``borough_code`` the tallies skip the
#: boroughs' (:func:`~estates.report.tally.group_tallies`), which the reconciliation
#: does not read.
_YEAR_COLUMNS = (
    "eric_year",
    "source_file",
    "source_row",
    "site_code",
    "site_name",
    "trust_name",
    "located_by",
    "in_london",
    "land_ha",
    *SUMMED,
)


def year_sections(
    located: pd.DataFrame,
    returns: pd.DataFrame,
    *,
    trust_totals: dict[str, float] | None = None,
    trust_file: str = "",
    shared: pd.DataFrame | None = None,
) -> dict[str, Any]:
    """Return ``summary.json``'s ``years``: each year's measure, reconciliation and locating.

    Parameters
    ----------
    located : pandas.DataFrame
        Every year's rows, located and joined (with ``in_london`` and ``located_by``).
    returns : pandas.DataFrame
        The same rows as read.
    trust_totals : dict, optional
        The 2016/17 trust-level totals (``land_owned_ha``, ``land_unused_ha``,
        ``trusts``), checked against 2016/17's rows.
    trust_file : str
        The trust-level file's name.
    shared : pandas.DataFrame, optional
        :func:`estates.stages.eric_quality.find_shared_sites`; its groups are
        listed in each year's reconciliation (counted in each row, not deduplicated).

    Returns
    -------
    dict
        Keyed by year (``"2019/20"``): ``land_measure``, ``land_definition``,
        ``source_file``, ``return_totals`` (the return's own totals),
        ``reconciliation`` (``total`` and ``buckets`` as in the headline's,
        ``matches_return``), ``located_by`` (rows per step, and rows located
        with another year's postcode or name).
    """
    totals = eric_return_totals(returns)
    steps = location_summary(located)
    shared_groups = _shared_groups(shared)
    # Each year's rows are taken from the columns read below alone, not the whole table.
    located = located[[c for c in _YEAR_COLUMNS if c in located]]
    returns = returns[[c for c in _YEAR_COLUMNS if c in returns]]
    out: dict[str, Any] = {}
    for year, rows in located.groupby("eric_year", sort=True):
        raw = returns.loc[rows.index]
        measure = str(totals.loc[year, "land_measure"])
        frames = reconciliation_frames(raw, rows)
        reconciliation = reconcile_land(raw, rows, site_tallies(rows, records=raw), frames=frames)
        total = reconciliation["total"]
        given_owned = float(raw["land_owned_ha"].sum())
        given_unused = float(raw["land_unused_ha"].sum())
        reconciliation["matches_return"] = bool(
            total["rows"] == len(raw)
            and abs(total["land_owned_ha"] - given_owned) < 1e-6
            and abs(total["land_unused_ha"] - given_unused) < 1e-6
            and reconciliation["balanced"]
        )
        if measure != "land_owned":
            reconciliation["note"] += (
                f" {year} reports site land area, not land owned: its land_owned_ha totals are "
                f"0; its site land area is in land_ha "
                f"({float(totals.loc[year, 'land_ha']):.2f} ha)."
            )
        reconciliation["total"]["land_ha"] = _round(raw["land_ha"].sum())
        for key, frame in frames.items():
            reconciliation["buckets"][key]["land_ha"] = _round(frame["land_ha"].sum())
        reconciliation["shared_sites"] = _shared_of(shared_groups.get(str(year), []))
        if year == "2016/17" and trust_totals is not None:
            reconciliation["trust_level_check"] = trust_level_check(
                reconciliation["total"], trust_totals, trust_file
            )
        step = steps.loc[year]
        out[str(year)] = {
            "land_measure": measure,
            "land_definition": LAND_MEASURES.get(measure, ""),
            "source_file": str(raw["source_file"].iloc[0]),
            "return_totals": {
                "rows": int(totals.loc[year, "rows"]),
                "site_rows": int(totals.loc[year, "site_rows"]),
                "aggregate_rows": int(totals.loc[year, "aggregate_rows"]),
                "trusts": int(totals.loc[year, "trusts"]),
                "land_ha": _round(totals.loc[year, "land_ha"]),
                "land_unused_ha": _round(totals.loc[year, "land_unused_ha"]),
            },
            "reconciliation": reconciliation,
            "located_by": {
                "sites": int(step["sites"]),
                "located": int(step["located"]),
                **{name: int(step[name]) for name in ERIC_LOCATION_STEPS},
                "postcode_other_year": int(step["postcode_other_year"]),
                "name_match_other_year": int(step["name_match_other_year"]),
            },
        }
    return out


def trust_level_check(
    total: dict[str, Any], trust: dict[str, float], trust_file: str
) -> dict[str, Any]:
    """Compare a year's site-row totals with the ERIC trust-level file's."""
    matches = all(
        abs(float(total[k]) - trust[k]) < 0.005 for k in ("land_owned_ha", "land_unused_ha")
    )
    return {
        "file": trust_file,
        "trusts": trust["trusts"],
        "land_owned_ha": round(trust["land_owned_ha"], 2),
        "land_unused_ha": round(trust["land_unused_ha"], 2),
        "matches_site_rows": matches,
    }


def _shared_groups(shared: pd.DataFrame | None) -> dict[str, list[list[str]]]:
    """Return each year's groups of shared sites: their codes sorted, groups by ``place``.

    One pass over ``shared`` for every year, in place of a frame per year and group.
    """
    if shared is None or not len(shared):
        return {}
    members: dict[tuple[str, Any], list[str]] = {}
    places = shared["place"]
    keep = places.notna().to_numpy(dtype=bool)  # groupby leaves out a missing key
    rows = zip(
        shared["eric_year"].astype(str).to_numpy(dtype=object)[keep],
        places.to_numpy(dtype=object)[keep],
        shared["site_code"].astype(str).to_numpy(dtype=object)[keep],
        strict=True,
    )
    for year, place, code in rows:
        members.setdefault((year, place), []).append(code)
    out: dict[str, list[list[str]]] = {}
    for year, place in sorted(members, key=lambda key: key[1]):
        out.setdefault(year, []).append(sorted(members[year, place]))
    return out


def _shared_of(groups: list[list[str]]) -> dict[str, Any]:
    return {
        "deduplicated": False,
        "note": (
            "Places two or more trusts report (same postcode or name, or within 100 m). "
            "Each row is counted as the return gives it, so the totals equal the return; "
            "these groups may count one site twice (flag reported_by_two_trusts)."
        ),
        "groups": groups,
    }


def land_over_time(located: pd.DataFrame, groupings: pd.DataFrame) -> dict[str, Any]:
    """Return land by year for London, each sub-region, pilot and borough.

    Only rows located inside London count; aggregate and unlocated rows have
    no borough. Each year's entry gives ``land_ha`` (the year's own measure),
    ``land_measure``, ``land_owned_ha`` and ``land_unused_ha`` (None in years
    that do not report them) and ``sites``.
    """
    table = _LandTable.of(located)
    measures = _measures(located)
    out: dict[str, Any] = {
        "note": (
            "Land of sites located inside London, by return. land_ha is each year's own "
            "measure (see land_measure): site land area up to 2015/16, land owned from "
            "2016/17; do not read a change of measure as a change of land. The trusts in "
            "each return differ (see trust_changed findings)."
        ),
        "definitions": dict(LAND_MEASURES),
        "london": table.by_year(table.london, measures),
        "subregions": {},
        "pilots": {},
        "boroughs": {},
    }
    for kind, key in (("subregion", "subregions"), ("pilot", "pilots")):
        members = groupings[groupings["group_type"] == kind]
        for group_id, group in members.groupby("group_id", sort=True):
            rows = table.london & table.in_boroughs(group["borough_code"])
            out[key][str(group_id)] = table.by_year(rows, measures)
    in_london = np.unique(table.borough[table.london & (table.borough >= 0)])
    for i in sorted(in_london, key=lambda i: table.boroughs[i]):
        rows = table.london & (table.borough == i)
        out["boroughs"][str(table.boroughs[i])] = {
            "borough_name": str(table.borough_names[np.flatnonzero(rows)[0]]),
            "years": table.by_year(rows, measures),
        }
    return out


@dataclass(frozen=True)
class _LandTable:
    """The columns of every year's located rows the land sections read, as numpy arrays.

    Read from the frame once, so each group and year is a boolean mask over
    them rather than a new frame.
    """

    years: list[str]
    year: np.ndarray
    london: np.ndarray
    #: Each row's borough as a position in ``boroughs`` (-1: none).
    borough: np.ndarray
    boroughs: pd.Index
    borough_names: np.ndarray
    land: dict[str, np.ndarray]

    @classmethod
    def of(cls, located: pd.DataFrame) -> _LandTable:
        year = located["eric_year"].astype(str).to_numpy(dtype=object)
        borough, boroughs = pd.factorize(located["borough_code"].astype("string"))
        return cls(
            years=sorted(set(year)),
            year=year,
            london=located["in_london"].astype("boolean").fillna(False).to_numpy(dtype=bool),
            borough=borough,
            boroughs=boroughs,
            borough_names=located["borough_name"].to_numpy(dtype=object),
            land={
                c: located[c].to_numpy(dtype="float64", na_value=np.nan)
                for c in ("land_ha", "land_owned_ha", "land_unused_ha")
            },
        )

    def in_boroughs(self, codes: pd.Series) -> np.ndarray:
        """Return where a row's borough is one of ``codes``."""
        wanted = self.boroughs.get_indexer(list(set(codes)))
        return np.isin(self.borough, wanted[wanted >= 0])

    def of_year(self, rows: np.ndarray, year: str) -> np.ndarray:
        """Return where ``rows`` holds and the row is of ``year``."""
        out: np.ndarray = rows & (self.year == year)
        return out

    def total(self, column: str, rows: np.ndarray) -> float:
        """Return the sum of ``column`` over ``rows``, NaN taken as 0 (as pandas sums)."""
        values = self.land[column][rows]
        return float(np.where(np.isnan(values), 0.0, values).sum())

    def by_year(self, rows: np.ndarray, measures: dict[str, str]) -> dict[str, Any]:
        """Return each year's land and sites of ``rows``."""
        out = {}
        for year in self.years:
            of_year = self.of_year(rows, year)
            measure = measures.get(year, "")
            owned = measure == "land_owned"
            out[year] = {
                "land_ha": _round(self.total("land_ha", of_year)),
                "land_measure": measure,
                "definition": LAND_MEASURES.get(measure, ""),
                "land_owned_ha": _round(self.total("land_owned_ha", of_year)) if owned else None,
                "land_unused_ha": _round(self.total("land_unused_ha", of_year)) if owned else None,
                "sites": int(np.count_nonzero(of_year)),
            }
        return out


def _measures(located: pd.DataFrame) -> dict[str, str]:
    pairs = located[["eric_year", "land_measure"]].dropna().drop_duplicates("eric_year")
    return dict(zip(pairs["eric_year"].astype(str), pairs["land_measure"].astype(str), strict=True))


def change_since(
    located: pd.DataFrame, groupings: pd.DataFrame, *, before: str | None, after: str
) -> dict[str, Any]:
    """Return the change of land owned and unused, London and each pilot, ``before`` → ``after``.

    Empty (``{}``) when there is no comparable earlier return.
    """
    if before is None:
        return {}
    table = _LandTable.of(located)

    def change(rows: np.ndarray) -> dict[str, Any]:
        a, b = table.of_year(rows, before), table.of_year(rows, after)
        entry: dict[str, Any] = {"from": before, "to": after}
        for column in ("land_owned_ha", "land_unused_ha"):
            was, now = table.total(column, a), table.total(column, b)
            entry[column] = round(now - was, 2)
            entry[f"{column}_from"] = round(was, 2)
            entry[f"{column}_to"] = round(now, 2)
        entry["sites_from"] = int(np.count_nonzero(a))
        entry["sites_to"] = int(np.count_nonzero(b))
        return entry

    pilots = groupings[groupings["group_type"] == "pilot"]
    return {
        "note": CHANGE_NOTE,
        "london": change(table.london),
        "pilots": {
            str(pid): change(table.london & table.in_boroughs(g["borough_code"]))
            for pid, g in pilots.groupby("group_id", sort=True)
        },
    }


#: The columns :func:`disposal_candidates` reads (``site_keys`` reads the first three).
_CANDIDATE_COLUMNS = (
    "site_code",
    "trust_code",
    "is_aggregate",
    "eric_year",
    "site_name",
    "trust_name",
    "borough_code",
    "borough_name",
    "in_london",
    "land_owned_ha",
    "land_unused_ha",
    "quality_flags",
)


def disposal_candidates(located: pd.DataFrame, *, before: str | None, after: str) -> dict[str, Any]:
    """Return the sites that left the return, or whose land owned fell, ``before`` → ``after``.

    Each entry gives the site, trust and borough of its ``before`` row,
    ``reason`` (``left the return`` or ``land owned fell``), ``hectares`` (the
    land owned it no longer reports: all of it if it left), the land owned and
    unused of both years, and its ``quality_flags``. Sorted by hectares, most
    first. Empty list with no comparable earlier return.
    """
    out: dict[str, Any] = {"from": before, "to": after, "note": CANDIDATES_NOTE, "sites": []}
    if before is None:
        return out
    # Only the columns read below: the earlier year's rows are walked one by one.
    sites = located.loc[~located["is_aggregate"].to_numpy(dtype=bool), list(_CANDIDATE_COLUMNS)]
    a = sites[sites["eric_year"].astype(str) == before]
    b = sites[sites["eric_year"].astype(str) == after]
    later = b.assign(_key=site_keys(b)).dropna(subset="_key").drop_duplicates("_key")
    later = later.set_index("_key")
    # Each earlier row's position in the later return (-1: it left), found at once.
    at = later.index.get_indexer(site_keys(a))
    later_owned = later["land_owned_ha"].to_numpy(dtype="float64", na_value=np.nan)
    later_unused = later["land_unused_ha"].to_numpy(dtype="float64", na_value=np.nan)
    entries: list[dict[str, Any]] = []
    for j, row in zip(at, a.itertuples(index=False), strict=True):
        owned = float(row.land_owned_ha) if pd.notna(row.land_owned_ha) else np.nan
        if j >= 0:
            owned_now = float(later_owned[j])
            if not (owned_now < owned):
                continue
            reason, hectares = "land owned fell", owned - owned_now
            unused_now = _round(later_unused[j])
        else:
            if not (owned > 0):
                continue
            reason, hectares, owned_now, unused_now = "left the return", owned, np.nan, None
        entries.append(
            {
                "site_code": str(row.site_code),
                "site_name": str(row.site_name),
                "trust_code": str(row.trust_code),
                "trust_name": str(row.trust_name),
                "borough_code": _text(row.borough_code),
                "borough_name": _text(row.borough_name),
                "in_london": bool(row.in_london),
                "reason": reason,
                "hectares": round(hectares, 6),
                "land_owned_ha_from": _round(owned),
                "land_owned_ha_to": _round(owned_now),
                "land_unused_ha_from": _round(row.land_unused_ha),
                "land_unused_ha_to": unused_now,
                "quality_flags": _text(row.quality_flags) or "",
            }
        )
    entries.sort(key=lambda e: (-e["hectares"], e["site_code"]))
    out["sites"] = entries
    out["hectares"] = round(sum(e["hectares"] for e in entries), 2)
    return out


def _round(value: object) -> float | None:
    if value is None or pd.isna(value):
        return None
    return round(float(value), 6)  # type: ignore[arg-type]


def _text(value: object) -> str | None:
    if value is None or pd.isna(value):
        return None
    return str(value)
