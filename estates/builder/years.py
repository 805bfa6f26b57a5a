"""Every ERIC year of a bundled build: read, located, joined, compared and checked.

The bundled build shows one *headline* year (the latest return unless
``--year`` picks another) as its site table, and keeps every other year beside
it: a long table of every record of every year (``site_years``), each year's
reconciliation, land over time and the sites that left the return or lost
land (:mod:`estates.report.years`). :func:`load_years` reads and locates the
returns once, before the site stages run; the engine then builds the headline
year's rows as it builds any site file.

Each headline row is compared with the *previous comparable* return: the
latest earlier year that reports the same land measure (2019/20 with
2016/17's land owned; the site land area of 2013/14 to 2015/16 is never
compared with land owned).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from estates.crs import WGS84
from estates.errors import ConfigError
from estates.findings import Findings
from estates.io.eric import load_eric_returns
from estates.io.eric_spec import check_eric_year
from estates.io.postcodes import load_postcode_lookup
from estates.schema import SITE_YEARS_LEADING
from estates.stages.eric_quality import check_land_figures, find_shared_sites, find_trust_changes
from estates.stages.join import join_boroughs
from estates.stages.locate import place_from_locations
from estates.stages.postcode import locate_eric_returns
from estates.stages.sites import to_points
from estates.stages.tag import tag_groupings
from estates.stages.validate import add_flag, site_keys

log = logging.getLogger("estates")

#: Values of ``change_status`` on the site table.
CHANGE_STATUSES = ("in both returns", "new in the return", "no comparable return")
#: Columns the headline rows gain from the previous comparable return.
COMPARISON_COLUMNS = (
    "previous_year",
    "land_owned_ha_previous",
    "land_unused_ha_previous",
    "land_owned_change_ha",
    "land_unused_change_ha",
    "change_status",
)


@dataclass(frozen=True)
class EricYears:
    """The ERIC returns of one build, every year located and joined.

    Attributes
    ----------
    returns : pandas.DataFrame
        Every row of every year as read (:func:`estates.io.eric.load_eric_returns`).
    located : pandas.DataFrame
        The same rows, in the same order, located (``located_by``,
        ``location_source``, ``location_year``; WGS84 ``latitude``/``longitude``),
        joined to their borough (``borough_code``, ``borough_name``,
        ``join_method``, ``in_london``), tagged (``subregion``, ``pilots``) and
        with the cross-year ``quality_flags``.
    headline : str
        The year the site table shows, e.g. ``"2019/20"``.
    previous : str or None
        The latest earlier year with the headline's land measure, if any.
    findings : Findings
        The headline year's location findings and the cross-year checks
        (``land_changed_tenfold``, ``reported_by_two_trusts``, ``trust_changed``).
    shared : pandas.DataFrame
        :func:`estates.stages.eric_quality.find_shared_sites` of every year.
    trust_changes : pandas.DataFrame
        :func:`estates.stages.eric_quality.find_trust_changes`.
    """

    returns: pd.DataFrame
    located: pd.DataFrame
    headline: str
    previous: str | None
    findings: Findings
    shared: pd.DataFrame
    trust_changes: pd.DataFrame

    @property
    def years(self) -> list[str]:
        """Return the loaded years, oldest first."""
        return sorted(self.returns["eric_year"].astype(str).unique())

    def headline_records(self) -> pd.DataFrame:
        """Return the headline year's records, located, with the comparison columns.

        The rows keep ``located_by`` and their coordinates, so the engine's
        locate step leaves them as they are; the borough join is redone by the
        engine like any site file's.
        """
        mask = self.located["eric_year"].astype(str).eq(self.headline).to_numpy()
        rows = self.located.loc[mask, _RECORD_COLUMNS(self.located)].reset_index(drop=True)
        rows["postcode_normalised"] = rows["postcode_normalised"].astype("string")
        return add_comparison(rows, self.located, previous=self.previous)


def _RECORD_COLUMNS(located: pd.DataFrame) -> list[str]:  # noqa: N802 - a computed constant
    joined = {"borough_code", "borough_name", "join_method", "borough_distance_m"}
    joined |= {"in_london", "subregion", "pilots"}
    return [c for c in located.columns if c not in joined and c != "geometry"]


def load_years(
    specs: Sequence[str | Path] = (),
    *,
    year: str | None,
    context: pd.DataFrame,
    boroughs_bng: pd.DataFrame,
    groupings: pd.DataFrame,
    nearest_within_m: float,
    locations: pd.DataFrame | None = None,
) -> EricYears:
    """Read, locate, join and check every ERIC return of a bundled build.

    Parameters
    ----------
    specs : sequence of str or path-like
        The user's ERIC returns (``FILE`` or ``FILE:2019/20``); each replaces
        the bundled return of its year or adds a year.
    year : str or None
        The headline year; None means the latest loaded.
    context : pandas.DataFrame
        NHS hospital and clinic records (WGS84).
    boroughs_bng : geopandas.GeoDataFrame
        Borough polygons in EPSG:27700.
    groupings : pandas.DataFrame
        Pilot and sub-region memberships.
    nearest_within_m : float
        The borough join's nearest-borough distance (metres).
    locations : pandas.DataFrame, optional
        The user's ``--locations`` (checked): they place the headline year's
        rows that no code, postcode or name placed.

    Returns
    -------
    EricYears

    Raises
    ------
    ConfigError
        If ``year`` is not a loaded year.
    DataValidationError
        If a user's return is unreadable or gives a year twice.
    """
    read = Findings()
    returns = load_eric_returns(list(specs), findings=read)
    loaded = sorted(returns["eric_year"].astype(str).unique())
    headline = _headline(year, loaded)
    located, located_findings = locate_eric_returns(
        returns, context=context, postcodes=load_postcode_lookup()
    )
    headline_file = _file_of(returns, headline)
    file_findings = Findings()
    if locations is not None and len(locations):
        located = _placed_by_file(
            located, locations, (headline, headline_file), located_findings, file_findings
        )
    located = _joined(located, boroughs_bng, groupings, nearest_within_m)
    previous = previous_comparable(returns, headline)
    findings = Findings()
    findings.extend(f for f in read if f.source_file == headline_file)
    findings.extend(f for f in located_findings if f.source_file == headline_file)
    findings.extend(file_findings)
    shared = find_shared_sites(located)
    trust_changes = find_trust_changes(returns)
    located = _quality(located, shared, trust_changes, headline, previous, findings)
    log.info(
        "ERIC returns: %s; headline %s%s",
        ", ".join(loaded),
        headline,
        f", compared with {previous}" if previous else ", no earlier return of its measure",
    )
    return EricYears(
        returns=returns,
        located=located,
        headline=headline,
        previous=previous,
        findings=findings,
        shared=shared,
        trust_changes=trust_changes,
    )


def _placed_by_file(
    located: pd.DataFrame,
    locations: pd.DataFrame,
    year: tuple[str, str],
    findings: Findings,
    file_findings: Findings,
) -> pd.DataFrame:
    """Return ``located`` with the headline year's unlocated rows placed by ``locations``.

    ``year`` is the headline year and its file. The ``unlocated`` finding of
    each row placed is dropped from ``findings`` (it is no longer true); the
    locations file's own findings go to ``file_findings``.
    """
    headline, headline_file = year
    mask = located["eric_year"].astype(str).eq(headline).to_numpy()
    rows = located.loc[mask]
    placed, found = place_from_locations(rows, locations)
    file_findings.merge(found)
    now = set(placed.loc[placed["located_by"] == "locations_file", "site_code"].astype(str))
    findings.items[:] = [
        f
        for f in findings.items
        if not (f.check == "unlocated" and f.source_file == headline_file and f.site_code in now)
    ]
    out = located.copy()
    for column in ("latitude", "longitude", "located_by", "location_source", "quality_flags"):
        out.loc[mask, column] = placed[column].to_numpy()
    return out


def _headline(year: str | None, loaded: list[str]) -> str:
    if year is None or not str(year).strip():
        return loaded[-1]
    year = check_eric_year(str(year).strip(), where="--year")
    if year not in loaded:
        msg = (
            f"--year {year}: no ERIC return of that year is loaded; loaded: {', '.join(loaded)}. "
            f"Give one with --eric FILE:{year}"
        )
        raise ConfigError(msg)
    return year


def previous_comparable(returns: pd.DataFrame, headline: str) -> str | None:
    """Return the latest year before ``headline`` that reports the same land measure.

    Examples
    --------
    >>> r = pd.DataFrame({"eric_year": ["2015/16", "2016/17", "2019/20"],
    ...     "land_measure": ["site_land_area", "land_owned", "land_owned"]})
    >>> previous_comparable(r, "2019/20"), previous_comparable(r, "2016/17")
    ('2016/17', None)
    """
    years = returns["eric_year"].astype(str)
    measures = returns["land_measure"].astype(str)
    own = set(measures[years == headline])
    earlier = sorted({y for y, m in zip(years, measures, strict=True) if y < headline and m in own})
    return earlier[-1] if earlier else None


def _file_of(returns: pd.DataFrame, year: str) -> str:
    files = returns.loc[returns["eric_year"].astype(str) == year, "source_file"].astype(str)
    return str(files.iloc[0]) if len(files) else ""


def _joined(
    located: pd.DataFrame,
    boroughs_bng: pd.DataFrame,
    groupings: pd.DataFrame,
    nearest_within_m: float,
) -> pd.DataFrame:
    """Return ``located`` with its borough, ``in_london``, sub-region and pilots."""
    points = to_points(located)
    # One thread, as the engine's join (estates.builder.engine): memory before speed.
    joined = join_boroughs(points, boroughs_bng, nearest_within_m=nearest_within_m, threads=1)
    method = joined["join_method"].astype("string")
    out = pd.DataFrame(joined.drop(columns=joined.geometry.name))
    # The join gives the borough as categoricals; the site_years table keeps text.
    for column in ("borough_code", "borough_name"):
        out[column] = out[column].astype("string")
    out["in_london"] = method.isin(["within", "nearest"]).fillna(False).astype(bool).to_numpy()
    out = tag_groupings(out, groupings)
    out.index = located.index
    return out


def site_key(frame: pd.DataFrame) -> pd.Series:
    """Return the key a site keeps from year to year: its code (an aggregate's with its trust)."""
    return site_keys(frame)


def add_comparison(
    rows: pd.DataFrame, located: pd.DataFrame, *, previous: str | None
) -> pd.DataFrame:
    """Return ``rows`` with :data:`COMPARISON_COLUMNS` from the ``previous`` year's return.

    A row whose site key is in the previous return is ``in both returns``
    (changes are this year minus that one's, NaN where either is missing);
    otherwise ``new in the return``; with no comparable return, every row is
    ``no comparable return``. ``rows`` is left unchanged.
    """
    out = rows.copy()
    if previous is None:
        out["previous_year"] = pd.Series(pd.NA, index=out.index, dtype="string")
        for column in COMPARISON_COLUMNS[1:5]:
            out[column] = np.nan
        out["change_status"] = pd.Series(CHANGE_STATUSES[2], index=out.index, dtype="string")
        return out
    before = located[located["eric_year"].astype(str) == previous]
    before = before.assign(_key=site_key(before)).dropna(subset="_key")
    before = before.drop_duplicates("_key").set_index("_key")
    keys = site_key(out)
    found = keys.isin(before.index).to_numpy(dtype=bool)
    owned = keys.map(before["land_owned_ha"]).astype(float)
    unused = keys.map(before["land_unused_ha"]).astype(float)
    out["previous_year"] = pd.Series(previous, index=out.index, dtype="string").where(found)
    out["land_owned_ha_previous"] = owned.to_numpy()
    out["land_unused_ha_previous"] = unused.to_numpy()
    out["land_owned_change_ha"] = out["land_owned_ha"].astype(float).to_numpy() - owned.to_numpy()
    out["land_unused_change_ha"] = (
        out["land_unused_ha"].astype(float).to_numpy() - unused.to_numpy()
    )
    out["change_status"] = pd.Series(
        np.where(found, CHANGE_STATUSES[0], CHANGE_STATUSES[1]), index=out.index, dtype="string"
    )
    return out


def _quality(  # noqa: PLR0917 - the parts of one check, passed through
    located: pd.DataFrame,
    shared: pd.DataFrame,
    trust_changes: pd.DataFrame,
    headline: str,
    previous: str | None,
    findings: Findings,
) -> pd.DataFrame:
    """Flag the rows the cross-year checks doubt; add findings for the headline year's."""
    out = located.copy()
    years = out["eric_year"].astype(str)
    codes = out["site_code"].astype("string").fillna("").str.strip()
    position = {(y, c): i for i, (y, c) in enumerate(zip(years, codes, strict=True))}
    flags = out["quality_flags"]
    # Read once: each finding below names its row's file, row number and site code.
    rows = _RowKeys(
        out["source_file"].tolist(), out["source_row"].tolist(), out["site_code"].tolist()
    )
    tenfold = check_land_figures(out)
    tenfold = tenfold[tenfold["check"] == "land_changed_tenfold"]
    mask = np.zeros(len(out), dtype=bool)
    for row in tenfold.itertuples(index=False):
        i = position.get((str(row.eric_year), str(row.site_code)))
        if i is None:
            continue
        mask[i] = True
        if row.eric_year == headline:
            _add(findings, rows, i, "land_changed_tenfold", str(row.reason), column="land_ha")
    flags = add_flag(flags, mask, "land_changed_tenfold")
    mask = np.zeros(len(out), dtype=bool)
    for (year, _), group in shared.groupby(["eric_year", "place"], sort=False):
        members = "; ".join(
            f"{c} ({t}, {n})"
            for c, t, n in zip(
                group["site_code"], group["trust_code"], group["site_name"], strict=True
            )
        )
        for code in group["site_code"]:
            i = position.get((str(year), str(code)))
            if i is None:
                continue
            mask[i] = True
            if year == headline:
                reason = (
                    f"one place reported by {group['trust_code'].nunique()} trusts in {year}: "
                    f"{members} (matched by {_matched(group['matched_by'])}); "
                    "each row is counted in the totals as the return gives it, so land may be "
                    "counted twice or be two trusts' separate parcels"
                )
                _add(findings, rows, i, "reported_by_two_trusts", reason, column="site_name")
    flags = add_flag(flags, mask, "reported_by_two_trusts")
    mask = np.zeros(len(out), dtype=bool)
    compared = {headline, previous} - {None}
    trusts = out["trust_code"].astype("string").fillna("")
    for change in trust_changes.itertuples(index=False):
        absent = set(str(change.years_absent).split(";"))
        if not 0 < len(absent & compared) < len(compared):
            continue  # present in both compared years, or in neither
        receivers = [t for t in str(change.sites_moved_to).split(";") if t]
        last_year = str(change.years_present).split(";")[-1]
        hit = years.eq(headline) & trusts.isin([change.trust_code, *receivers])
        mask |= hit.to_numpy(dtype=bool)
        reason = (
            f"trust {change.trust_code} ({change.trust_name}) is absent from "
            f"{', '.join(sorted(absent & compared))} ({change.kind}"
            + (f"; its sites are reported by {', '.join(receivers)}" if receivers else "")
            + f"; {change.land_ha_last:.2f} ha in its last return, {last_year}): "
            "totals and comparisons of these years differ by its sites"
        )
        findings.add(
            _file_of(out, headline),
            None,
            reason,
            action="flagged",
            check="trust_changed",
            site_code=None,
            column="trust_code",
            value=change.trust_code,
        )
    out["quality_flags"] = add_flag(flags, mask, "trust_changed")
    return out


def _matched(values: pd.Series) -> str:
    return ";".join(sorted({m for v in values.astype(str) for m in v.split(";") if m}))


@dataclass(frozen=True)
class _RowKeys:
    """Each row's ``source_file``, ``source_row`` and ``site_code``, as lists."""

    files: list[Any]
    rows: list[Any]
    codes: list[Any]


def _add(
    findings: Findings, keys: _RowKeys, i: int, check: str, reason: str, *, column: str
) -> None:
    findings.add(
        str(keys.files[i]),
        int(keys.rows[i]),
        reason,
        action="flagged",
        check=check,
        site_code=keys.codes[i],
        column=column,
        value=None,
    )


def site_years_table(located: pd.DataFrame) -> gpd.GeoDataFrame:
    """Return every record of every year as a WGS84 point table (``site_years``).

    Columns: :data:`estates.schema.SITE_YEARS_LEADING` first (the column
    dictionary's ``site_years`` order), then the return's others. One row per
    row of every return, oldest year first, unlocated and aggregate rows with
    no geometry. ``located`` is left unchanged.
    """
    leading = [c for c in SITE_YEARS_LEADING if c in located]
    skip = {"easting", "northing", "borough_distance_m", "geometry"}
    rest = [c for c in located.columns if c not in leading and c not in skip]
    out = pd.DataFrame(located[[*leading, *rest]]).reset_index(drop=True)
    text = ("site_type", "trust_code", "trust_name", "postcode", "postcode_normalised", "tenure")
    for column in text:
        if column in out:
            out[column] = out[column].astype("string")
    has = out["longitude"].notna().to_numpy()
    geometry = np.full(len(out), None, dtype=object)
    geometry[has] = gpd.points_from_xy(out.loc[has, "longitude"], out.loc[has, "latitude"])
    return gpd.GeoDataFrame(out, geometry=geometry, crs=WGS84)
