"""Locate ERIC site returns of every year: ODS code, postcode, then name, across years.

ERIC site returns carry no coordinates; from 2019/20 they carry a postcode.
Each non-aggregate row of :func:`estates.io.eric.load_eric_returns` is located
by, in order:

1. ``ods_code``: its ODS site code in the NHS hospital and clinic files
   (as :func:`estates.stages.locate.locate_sites` does; the same in every year);
2. ``postcode``: the centroid of the postcode the row gives, or, when the row
   gives none that is found, the postcode the same site code gives in another
   year (the latest such year). A postcode is the trust's own statement of
   where the site is, so it is tried before a name;
3. ``name_match``: its normalised name in the NHS files (flagged for review),
   or the same site code's name match in another year.

``location_source`` says what was used, e.g. ``"postcode 2019/20 NW3 2QG"``,
and ``location_year`` the year whose return supplied it: a row of 2016/17
located with 2019/20's postcode has ``location_year`` 2019/20. Aggregate rows
stay ``aggregate``; the rest are ``unlocated``, each with a finding. A postcode
the lookup lacks is a finding naming the site, the postcode and, when it can,
the postcode one edit away that was probably meant. Nothing is dropped.
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd

from estates.findings import Checked, Findings
from estates.io.postcodes import PostcodeLookup, normalise_postcodes
from estates.logs import counted
from estates.stages.locate import ContextIndex, _locate
from estates.stages.validate import add_flag

log = logging.getLogger("estates")

#: Steps of :func:`locate_eric_returns`, in the order they are tried.
ERIC_LOCATION_STEPS = ("ods_code", "postcode", "name_match", "aggregate", "unlocated")


#: The columns of a return the first pass (:func:`estates.stages.locate.locate_sites`'s
#: steps, by ODS code and by name) reads, and the year it is run by.
_FIRST_PASS_READS = (
    "eric_year",
    "source_file",
    "source_row",
    "site_code",
    "site_name",
    "trust_code",
    "is_aggregate",
    "latitude",
    "longitude",
    "easting",
    "quality_flags",
)


def locate_eric_returns(
    returns: pd.DataFrame,
    *,
    context: pd.DataFrame,
    postcodes: PostcodeLookup,
) -> Checked[pd.DataFrame]:
    """Return ``returns`` located, with ``located_by``, ``location_source`` and ``location_year``.

    Parameters
    ----------
    returns : pandas.DataFrame
        ERIC site returns of one or more years
        (:func:`estates.io.eric.load_eric_returns`). Left unchanged.
    context : pandas.DataFrame
        NHS hospital and clinic records (:func:`estates.io.inputs.load_context_sites`).
    postcodes : PostcodeLookup
        Postcode centroids (:func:`estates.io.postcodes.load_postcode_lookup`).

    Returns
    -------
    Checked
        ``value``: a copy, in the same order, with ``latitude``/``longitude``
        (WGS84, degrees) filled where a step located the row,
        ``postcode_normalised``, ``located_by`` (one of
        :data:`ERIC_LOCATION_STEPS`), ``location_source``, ``location_year``
        (empty for ``ods_code``, ``aggregate`` and ``unlocated``) and
        ``quality_flags``. ``findings``: one for each name match
        (``flagged``), each postcode the lookup lacks (``flagged`` if the row
        stays unlocated, else ``warning``) and each unlocated row (``flagged``).
    """
    out = returns.copy()
    if "quality_flags" not in out:
        out["quality_flags"] = pd.Series("", index=out.index, dtype=object)
    scratch = Findings()
    parts = []
    index = ContextIndex.of(context)
    # Each year is located from the columns the first pass reads alone, not the whole return.
    read = out[[c for c in _FIRST_PASS_READS if c in out]]
    for _, group in read.groupby("eric_year", sort=False):
        located = _locate(group, context, index=index)
        scratch.merge(located.findings)
        parts.append(located.value)
    first = pd.concat(parts).loc[out.index]
    step = first["located_by"].astype(str).to_numpy(dtype=object)
    lat = first["latitude"].to_numpy(dtype=float).copy()
    lon = first["longitude"].to_numpy(dtype=float).copy()
    source = first["location_source"].astype(str).to_numpy(dtype=object)
    year_used = np.full(len(out), "", dtype=object)
    years = out["eric_year"].astype(str).to_numpy(dtype=object)
    codes = out["site_code"].astype("string").fillna("").str.strip().to_numpy(dtype=object)
    aggregate = out["is_aggregate"].to_numpy(dtype=bool)
    name_rows = step == "name_match"
    year_used[name_rows] = years[name_rows]

    found = postcodes.locate(out["postcode"] if "postcode" in out else _blank(out))
    out["postcode_normalised"] = found["postcode_normalised"].to_numpy(dtype=object)
    has_postcode = found["found"].to_numpy(dtype=bool) & ~aggregate
    by_postcode = _latest_per_code(
        codes, years, has_postcode, found["latitude"].to_numpy(), found["longitude"].to_numpy()
    )
    by_name = _latest_per_code(codes, years, name_rows, lat, lon)
    normalised = out["postcode_normalised"].to_numpy(dtype=object)
    for i in np.flatnonzero(np.isin(step, ["name_match", "unlocated"]) & ~aggregate):
        if has_postcode[i]:
            pick = (years[i], found["latitude"].iloc[i], found["longitude"].iloc[i], int(i))
        elif codes[i] in by_postcode:
            pick = by_postcode[codes[i]]
        else:
            pick = None
        if pick is not None:
            y, la, lo, j = pick
            step[i], lat[i], lon[i], year_used[i] = "postcode", la, lo, y
            source[i] = f"postcode {y} {normalised[j]}"
        elif step[i] == "unlocated" and codes[i] in by_name:
            y, la, lo, j = by_name[codes[i]]
            step[i], lat[i], lon[i], year_used[i] = "name_match", la, lo, y
            source[i] = f"name_match {y}: {source[j]}"
    findings = _kept_name_findings(scratch, out, step)
    flags = add_flag(out["quality_flags"], step == "name_match", "name_match_review")
    flags, found = _postcode_findings(out, step, postcodes, context, flags)
    findings.merge(found)
    flags, found = _unlocated_findings(out, step, flags)
    findings.merge(found)
    flags = add_flag(flags, step == "unlocated", "unlocated")
    out["latitude"], out["longitude"] = lat, lon
    out["located_by"] = pd.Series(step, index=out.index, dtype="string")
    out["location_source"] = pd.Series(source, index=out.index, dtype="string")
    out["location_year"] = pd.Series(year_used, index=out.index, dtype="string")
    out["quality_flags"] = flags
    summary = location_summary(out)
    for year, row in summary.iterrows():
        log.info(
            "ERIC %s: located %d of %s (ods_code %d, postcode %d, name_match %d)",
            year,
            row["located"],
            counted(int(row["sites"]), "site"),
            row["ods_code"],
            row["postcode"],
            row["name_match"],
        )
    return Checked(out, findings)


def location_summary(located: pd.DataFrame) -> pd.DataFrame:
    """Return, per year, how many site rows each step located.

    Parameters
    ----------
    located : pandas.DataFrame
        From :func:`locate_eric_returns`; left unchanged.

    Returns
    -------
    pandas.DataFrame
        Indexed by ``eric_year``: ``sites`` (non-aggregate rows), ``located``,
        one column per step of :data:`ERIC_LOCATION_STEPS`, and
        ``postcode_other_year`` and ``name_match_other_year`` (rows located
        with another year's postcode or name match, counted in their step too).
    """
    rows = []
    read = located[["eric_year", "located_by", "location_year", "is_aggregate"]]
    for year, group in read.groupby("eric_year", sort=True):
        step = group["located_by"].astype(str)
        other = group["location_year"].fillna("").astype(str)
        carried = (other != "") & (other != str(year))
        row: dict[str, object] = {"eric_year": year}
        row["sites"] = int((~group["is_aggregate"].to_numpy(dtype=bool)).sum())
        row["located"] = int(step.isin(["ods_code", "postcode", "name_match"]).sum())
        for name in ERIC_LOCATION_STEPS:
            row[name] = int((step == name).sum())
        row["postcode_other_year"] = int(((step == "postcode") & carried).sum())
        row["name_match_other_year"] = int(((step == "name_match") & carried).sum())
        rows.append(row)
    return pd.DataFrame(rows).set_index("eric_year")


def _blank(frame: pd.DataFrame) -> pd.Series:
    return pd.Series("", index=frame.index, dtype=object)


def _latest_per_code(
    codes: np.ndarray, years: np.ndarray, usable: np.ndarray, lat: np.ndarray, lon: np.ndarray
) -> dict[str, tuple[str, float, float, int]]:
    """Return ``{site_code: (year, lat, lon, row)}`` from the latest year where ``usable``."""
    best: dict[str, tuple[str, float, float, int]] = {}
    for i in np.flatnonzero(usable):
        code = codes[i]
        if code and (code not in best or years[i] > best[code][0]):
            best[code] = (str(years[i]), float(lat[i]), float(lon[i]), int(i))
    return best


def _kept_name_findings(scratch: Findings, out: pd.DataFrame, step: np.ndarray) -> Findings:
    """Return the name-match findings of rows a name match still locates."""
    findings = Findings()
    still = {
        (str(f), int(r))
        for f, r, s in zip(out["source_file"], out["source_row"], step, strict=True)
        if s == "name_match"
    }
    for finding in scratch:
        if finding.check == "name_match" and (finding.source_file, finding.row) in still:
            findings.extend([finding])
    return findings


def _postcode_findings(
    out: pd.DataFrame,
    step: np.ndarray,
    postcodes: PostcodeLookup,
    context: pd.DataFrame,
    flags: pd.Series,
) -> tuple[pd.Series, Findings]:
    findings = Findings()
    if "postcode" not in out:
        return flags, findings
    given = out["postcode_normalised"].to_numpy(dtype=object)
    missing = postcodes.positions(given) < 0
    bad = np.flatnonzero(missing & (given != ""))
    context_postcodes = _context_postcodes(context)
    site_codes, raw_postcodes = out["site_code"].tolist(), out["postcode"].tolist()
    aggregate = out["is_aggregate"].tolist()
    files, rows = out["source_file"].tolist(), out["source_row"].tolist()
    for i in bad:
        code = str(site_codes[i])
        raw = str(raw_postcodes[i])
        hint = postcodes.suggestion(raw)
        near = postcodes.one_edit_away(raw)
        known = context_postcodes.get(code, "")
        if known and known in near and len(near) > 1:
            hint += f"; the NHS hospital and clinic files give {known} for this site code"
        if bool(aggregate[i]):
            outcome = "an aggregate row, not located"
        elif step[i] == "unlocated":
            outcome = "the site is not located"
        else:
            outcome = f"the site is located by {step[i]} instead"
        findings.add(
            str(files[i]),
            int(rows[i]),
            f"postcode {raw.strip()!r} is not in the postcode lookup ({hint}); {outcome}. "
            "Correct it in the return or give the site in a --locations file",
            action="flagged" if step[i] == "unlocated" else "warning",
            check="postcode_not_found",
            site_code=code,
            column="postcode",
            value=raw.strip(),
        )
    mask = np.zeros(len(out), dtype=bool)
    mask[bad] = True
    return add_flag(flags, mask, "postcode_not_found"), findings


def _context_postcodes(context: pd.DataFrame) -> dict[str, str]:
    if "postcode" not in context or context.empty:
        return {}
    ordered = context.sort_values(["file_rank", "source_row"]).drop_duplicates("context_code")
    normalised = normalise_postcodes(ordered["postcode"])
    return dict(zip(ordered["context_code"].astype(str), normalised, strict=True))


def _unlocated_findings(
    out: pd.DataFrame, step: np.ndarray, flags: pd.Series
) -> tuple[pd.Series, Findings]:
    findings = Findings()
    # Read once as lists: one finding per unlocated row of every year.
    files, rows = out["source_file"].tolist(), out["source_row"].tolist()
    years, codes = out["eric_year"].tolist(), out["site_code"].tolist()
    for i in np.flatnonzero(step == "unlocated"):
        findings.add(
            str(files[i]),
            int(rows[i]),
            f"not located in ERIC {years[i]}: no ODS site code match, no "
            "postcode found in this or another year's return, no name match; kept in "
            "totals as unlocated. Add it to a --locations file to map it",
            action="flagged",
            check="unlocated",
            site_code=codes[i],
        )
    return flags, findings
