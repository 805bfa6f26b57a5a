"""Give each site record a location: its own coordinates, or a look-up.

ERIC 2016/17 site records carry land figures but no coordinates. Each record
without coordinates is located by, in order:

1. ``ods_code``: its exact ODS site code in the NHS hospital and clinic files,
   newest file first;
2. ``name_match``: its normalised name, among records of the same trust first,
   then of any trust (flagged for review: names are not identifiers);
3. ``locations_file``: the user's ``--locations`` file.

Records with coordinates of their own are ``input_coordinates``; ERIC
aggregate rows are ``aggregate`` (a bundle of small sites, not a place); the
rest are ``unlocated``. None is dropped.
"""

from __future__ import annotations

import functools
import logging
import re
from dataclasses import dataclass

import numpy as np
import pandas as pd

from estates.findings import Checked, Findings
from estates.frames import stage_copy
from estates.io.postcodes import postcode_centroids
from estates.logs import counted
from estates.stages.validate import add_flag

log = logging.getLogger("estates")

#: Values of the ``located_by`` column, in the order they are tried.
LOCATED_BY = (
    "input_coordinates",
    "ods_code",
    "postcode",
    "name_match",
    "locations_file",
    "aggregate",
    "unlocated",
)
#: Candidates farther apart than this (metres, roughly) make a name match ambiguous.
_SAME_PLACE_DEG = 0.002


@functools.lru_cache(maxsize=65_536, typed=True)
def normalise_name(name: object) -> str:
    """Return a site name reduced for matching: upper case, no punctuation, ``SAINT``.

    Remembered: a build of several ERIC years reduces the same NHS record names
    once per year.

    Examples
    --------
    >>> normalise_name(" St. Ann's Hospital ")
    'SAINT ANNS HOSPITAL'
    >>> normalise_name("Barking & Dagenham")
    'BARKING AND DAGENHAM'
    """
    text = str(name).upper().replace("&", " AND ").replace("'", "").replace("’", "")
    text = re.sub(r"\bST\b\.?", "SAINT", text)
    text = re.sub(r"[^A-Z0-9 ]", " ", text)
    return " ".join(text.split())


def locate_sites(
    records: pd.DataFrame,
    context: pd.DataFrame,
    *,
    locations: pd.DataFrame | None = None,
    by_postcode: bool = False,
    index: ContextIndex | None = None,
) -> Checked[pd.DataFrame]:
    """Return ``records`` with ``located_by``, ``location_source`` and filled coordinates.

    Parameters
    ----------
    records : pandas.DataFrame
        Validated site records; rows with ``latitude``/``longitude`` or
        ``easting``/``northing`` keep them. Left unchanged.
    context : pandas.DataFrame
        NHS hospital and clinic records from :func:`estates.io.inputs.load_context_sites`.
    locations : pandas.DataFrame, optional
        The user's locations (:func:`estates.io.inputs.load_locations`), already checked.
    by_postcode : bool, default False
        Locate a record its ODS code does not place by its ``postcode`` column
        (ONS centroid), before trying its name: for a user's site file. ERIC
        returns are located by postcode across years by
        :mod:`estates.stages.postcode` instead.
    index : ContextIndex, optional
        ``ContextIndex.of(context)``, for a caller that locates several sets of
        records against the same ``context``; default: built here.

    Returns
    -------
    Checked
        ``value``: a copy with coordinates filled in WGS84 where a look-up
        found them. ``findings``: a ``flagged`` finding for each name match
        and each unlocated site, and one for each locations-file entry that
        was not needed or not used.
    """
    located = _locate(records, context, locations=locations, by_postcode=by_postcode, index=index)
    out = located.value
    counts = out["located_by"].value_counts()
    log.info(
        "located %d of %s: %s",
        int((~out["located_by"].isin(["unlocated", "aggregate"])).sum()),
        counted(len(out), "record"),
        ", ".join(f"{k} {int(counts.get(k, 0))}" for k in LOCATED_BY if counts.get(k, 0)),
    )
    return located


def _locate(
    records: pd.DataFrame,
    context: pd.DataFrame,
    *,
    locations: pd.DataFrame | None = None,
    by_postcode: bool = False,
    index: ContextIndex | None = None,
) -> Checked[pd.DataFrame]:
    """Do :func:`locate_sites`'s work without its summary line.

    :func:`estates.stages.postcode.locate_eric_returns` locates each ERIC year
    so before postcodes place more of its sites, and says the final count
    itself: a line for this first pass would read as a result.
    """
    findings = Findings()
    out = stage_copy(records)
    lat = out["latitude"].to_numpy(dtype=float).copy()
    lon = out["longitude"].to_numpy(dtype=float).copy()
    has_en = ~np.isnan(out["easting"].to_numpy(dtype=float))
    located_by = np.full(len(out), "unlocated", dtype=object)
    source = np.full(len(out), "", dtype=object)
    own = ~np.isnan(lat) | has_en
    located_by[own] = "input_coordinates"
    source[own] = out["source_file"].to_numpy()[own]
    aggregate = (
        out["is_aggregate"].to_numpy(dtype=bool) if "is_aggregate" in out else np.zeros(len(out))
    )
    located_by[aggregate & ~own] = "aggregate"
    flags = out["quality_flags"].copy()

    index = index if index is not None else ContextIndex.of(context)

    codes = out["site_code"].astype(str).to_numpy()
    names = out["site_name"].astype(str).to_numpy()
    trusts = (
        out["trust_code"].astype("string").fillna("").to_numpy()
        if "trust_code" in out
        else np.full(len(out), "")
    )
    # Read once as lists: each finding below names its row's file and row number.
    files, rows = out["source_file"].tolist(), out["source_row"].tolist()
    by_postcode_at = postcode_centroids(out, (located_by == "unlocated") & by_postcode)
    named = np.zeros(len(out), dtype=bool)
    for i in np.flatnonzero(located_by == "unlocated"):
        j = index.code_at.get(codes[i])
        if j is not None:
            lat[i], lon[i] = index.code_latitude[j], index.code_longitude[j]
            located_by[i], source[i] = "ods_code", index.code_file[j]
            continue
        if not np.isnan(by_postcode_at[0][i]):  # a user's site file with a postcode column
            lat[i], lon[i] = by_postcode_at[0][i], by_postcode_at[1][i]
            located_by[i], source[i] = "postcode", "ONS postcode centroids"
            continue
        match = index.match(names[i], trusts[i])
        if match is not None:
            hit, scope = match
            lat[i], lon[i] = hit["latitude"], hit["longitude"]
            located_by[i], source[i] = "name_match", hit["source_file"]
            named[i] = True
            findings.add(
                str(files[i]),
                int(rows[i]),
                f"located by name: {names[i].strip()!r} matches {hit['context_name']!r} "
                f"({hit['context_code']}, {scope}) in {hit['source_file']} row "
                f"{hit['source_row']}; check it is the same place, or give the site "
                "in a --locations file",
                action="flagged",
                check="name_match",
                site_code=codes[i],
                column="site_name",
                value=names[i].strip(),
            )
    if named.any():
        flags = add_flag(flags, named, "name_match_review")
    if locations is not None and len(locations):
        used, found = _apply_locations(out, locations, lat, lon, located_by, source)
        findings.merge(found)
        log.info("locations file placed %s", counted(used, "site"))
    for i in np.flatnonzero(located_by == "unlocated"):
        findings.add(
            str(files[i]),
            int(rows[i]),
            "not located: no coordinates, no ODS site code or name match in the NHS "
            "hospital and clinic files; kept in totals as unlocated. Add it to a "
            "--locations file to map it",
            action="flagged",
            check="unlocated",
            site_code=codes[i],
        )
    flags = add_flag(flags, located_by == "unlocated", "unlocated")
    out["latitude"], out["longitude"] = lat, lon
    out["located_by"] = pd.Series(located_by, index=out.index, dtype="string")
    out["location_source"] = pd.Series(source, index=out.index, dtype="string")
    out["quality_flags"] = flags
    return Checked(out, findings)


@dataclass(frozen=True)
class ContextIndex:
    """The NHS hospital and clinic records indexed for locating: by ODS code and by name.

    Built once per call of :func:`locate_sites` (or once for several calls),
    so each site's code is one dictionary look-up, and its name one more and a
    few array reads, not a scan of every record.

    Attributes
    ----------
    context : pandas.DataFrame
        The records (:func:`estates.io.inputs.load_context_sites`).
    code_at : dict
        Each ODS code's position in ``code_latitude``, ``code_longitude`` and
        ``code_file``: its first record by file, then row.
    rows : dict
        Each normalised name's records, by position in ``context``.
    trust, latitude, longitude : numpy.ndarray
        Each record's trust (its parent code, else its code's first three
        characters) and coordinates.
    rank : numpy.ndarray
        Record positions in file, then row, order.
    """

    context: pd.DataFrame
    code_at: dict[object, int]
    code_latitude: np.ndarray
    code_longitude: np.ndarray
    code_file: np.ndarray
    rows: dict[str, np.ndarray]
    trust: np.ndarray
    latitude: np.ndarray
    longitude: np.ndarray
    rank: np.ndarray

    @classmethod
    def of(cls, context: pd.DataFrame) -> ContextIndex:
        """Return the index of ``context``."""
        by_code = context.sort_values(["file_rank", "source_row"]).drop_duplicates("context_code")
        names = context["context_name"].map(normalise_name)
        parent = context["parent_code"].fillna("")
        trust = np.where(parent.str.len() > 0, parent, context["context_code"].str[:3])
        # Each name's rows, by position.
        rows = {str(k): v for k, v in names.groupby(names.to_numpy()).indices.items()}
        return cls(
            context=context,
            code_at={code: j for j, code in enumerate(by_code["context_code"])},
            code_latitude=by_code["latitude"].to_numpy(dtype=float),
            code_longitude=by_code["longitude"].to_numpy(dtype=float),
            code_file=by_code["source_file"].to_numpy(dtype=object),
            rows=rows,
            trust=np.asarray(trust, dtype=object),
            latitude=context["latitude"].to_numpy(dtype=float),
            longitude=context["longitude"].to_numpy(dtype=float),
            rank=np.lexsort((context["source_row"].to_numpy(), context["file_rank"].to_numpy())),
        )

    def match(self, name: str, trust: str) -> tuple[pd.Series, str] | None:
        """Return the record ``name`` matches and the match's scope, or None.

        A name matches the records of the same normalised name, first those of
        the site's own trust, then any trust's, if they all lie within
        :data:`_SAME_PLACE_DEG` of each other; of those, the first by file and row.
        """
        key = normalise_name(name)
        same_name = self.rows.get(key) if key else None
        if same_name is None:
            return None
        for scope, candidates in (
            ("same trust", same_name[self.trust[same_name] == trust]),
            ("another trust", same_name),
        ):
            if not len(candidates):
                continue
            spread = max(np.ptp(self.latitude[candidates]), np.ptp(self.longitude[candidates]))
            if spread > _SAME_PLACE_DEG:
                if scope == "same trust":
                    continue
                return None
            first = self.rank[np.isin(self.rank, candidates)][0]
            return self.context.iloc[first], scope
        return None


def _apply_locations(  # noqa: PLR0917 - fills the caller's arrays in place
    out: pd.DataFrame,
    locations: pd.DataFrame,
    lat: np.ndarray,
    lon: np.ndarray,
    located_by: np.ndarray,
    source: np.ndarray,
) -> tuple[int, Findings]:
    findings = Findings()
    position = {code: i for i, code in enumerate(out["site_code"].astype(str))}
    used = 0
    for loc in locations.itertuples(index=False):
        i = position.get(str(loc.site_code))
        if i is None:
            findings.add(
                str(loc.source_file),
                int(loc.source_row),
                f"site code {loc.site_code} is not in the site records; location not used",
                action="rejected",
                check="unknown_site_code",
                site_code=loc.site_code,
                column="site_code",
                value=loc.site_code,
            )
        elif located_by[i] != "unlocated":
            findings.add(
                str(loc.source_file),
                int(loc.source_row),
                f"site {loc.site_code} is already located by {located_by[i]}; this "
                "location was not used",
                action="warning",
                check="location_not_needed",
                site_code=loc.site_code,
            )
        else:
            lat[i], lon[i] = loc.latitude, loc.longitude
            located_by[i] = "locations_file"
            source[i] = f"{loc.source_file}: {loc.source}"
            used += 1
    return used, findings


def place_from_locations(located: pd.DataFrame, locations: pd.DataFrame) -> Checked[pd.DataFrame]:
    """Return ``located`` with its unlocated rows placed by the user's locations file.

    Rows located already (by ODS code, postcode or name) keep their place; a
    locations entry for one is a ``location_not_needed`` warning, and one for
    a code not in ``located`` is rejected (``unknown_site_code``), as in
    :func:`locate_sites`. A placed row loses its ``unlocated`` flag and gets
    ``located_by = "locations_file"``.

    Parameters
    ----------
    located : pandas.DataFrame
        Located records (``site_code``, ``located_by``, ``location_source``,
        WGS84 ``latitude``/``longitude``, ``quality_flags``); left unchanged.
    locations : pandas.DataFrame
        The user's locations (:func:`estates.io.inputs.load_locations`), already checked.

    Returns
    -------
    Checked
        ``value``: a copy of ``located``, same rows and order.
        ``findings``: the locations file's findings.
    """
    out = stage_copy(located)
    lat = out["latitude"].to_numpy(dtype="float64", copy=True)
    lon = out["longitude"].to_numpy(dtype="float64", copy=True)
    located_by = out["located_by"].astype(str).to_numpy(dtype=object)
    source = out["location_source"].astype(object).to_numpy(copy=True)
    used, findings = _apply_locations(out, locations, lat, lon, located_by, source)
    log.info("locations file placed %s", counted(used, "site"))
    placed = (located_by == "locations_file") & (out["located_by"].astype(str) != "locations_file")
    out["latitude"], out["longitude"] = lat, lon
    out["located_by"] = pd.Series(located_by, index=out.index, dtype="string")
    out["location_source"] = pd.Series(source, index=out.index, dtype="string")
    if "quality_flags" in out:
        mask = placed.to_numpy()
        out.loc[mask, "quality_flags"] = [
            ";".join(x for x in str(f).split(";") if x and x != "unlocated")
            for f in out.loc[mask, "quality_flags"]
        ]
    return Checked(out, findings)
