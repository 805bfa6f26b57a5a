"""Value unused land with published figures: a range from industrial to residential £/ha.

Each London site's land not delivering services is valued twice, with the
figures of MHCLG's *Land value estimates for policy appraisal 2017* for its
borough (:func:`estates.io.land_values.load_published_land_values`):

- ``value_low_gbp``  = ``land_unused_ha`` × the borough's **industrial** £/ha
  (the value of its industrial area in the workbook);
- ``value_high_gbp`` = ``land_unused_ha`` × the borough's **residential** £/ha.

A site's figures depend only on its own hectares and borough, never on the
other sites in the table. The publication's caveats travel with every figure
(:func:`valuation_caveat`): these are values for policy appraisal at 1 April
2017, assuming nil affordable housing, for a typical site with residential
planning permission; they are not market values, and a specific site's value
can differ greatly.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

import numpy as np
import pandas as pd

from estates.errors import DataValidationError
from estates.frames import number_column
from estates.logs import counted
from estates.stages.measures import assign_columns
from estates.stages.valuation import not_valued_reasons, valued_mask
from estates.style import format_gbp

log = logging.getLogger("estates")

#: Columns :func:`value_unused_land` adds, in order.
VALUE_RANGE_COLUMNS = (
    "value_low_gbp_per_ha",
    "value_high_gbp_per_ha",
    "value_low_gbp",
    "value_high_gbp",
    "value_mid_gbp",
    "value_basis",
    "value_source",
)
#: Columns of :func:`sum_value_ranges`, in order.
RANGE_TOTAL_COLUMNS = (
    "level",
    "group_id",
    "name",
    "sites_valued",
    "land_unused_ha",
    "value_low_gbp",
    "value_high_gbp",
    "value_mid_gbp",
    "share_of_target_low",
    "share_of_target_high",
)
#: The basis of a site valued with the bundled figures alone.
PUBLISHED_BASIS = "MHCLG 2017 policy-appraisal: industrial–residential"
#: The one-line caveat shown beside every figure, on every page and in the terminal.
CAVEAT = "at 2017 policy-appraisal values, not market values"
#: The publication's own caveats, quoted (gov.uk guidelines for use, 24 May 2018).
PUBLICATION_CAVEATS = (
    "The land values presented here have been provided specifically for the purpose of "
    "policy appraisal … It is strongly recommended that they are not used for any other "
    "purpose",
    "The values here assume nil Affordable Housing provision in order to give pure "
    "residential use value, rather than market value.",
    "the values of a particular site may vary significantly from the 'typical residential "
    "site' value for the local authority",
)


def valuation_caveat() -> str:
    """Return the one-line caveat that goes beside every value: on pages and in the terminal.

    Examples
    --------
    >>> valuation_caveat()
    'at 2017 policy-appraisal values, not market values'
    """
    return CAVEAT


def borough_value_ranges(
    published: pd.DataFrame,
    land_values: pd.DataFrame | None = None,
    *,
    borough_codes: set[str] | None = None,
) -> pd.DataFrame:
    """Return each borough's £/ha range: the published one, replaced by a user's file.

    Parameters
    ----------
    published : pandas.DataFrame
        :func:`estates.io.land_values.load_published_land_values`. Left unchanged.
    land_values : pandas.DataFrame, optional
        :func:`estates.io.land_values.load_land_value_file`. Its ``value_gbp_per_ha``
        replaces the residential (high) value of each borough it lists, and its
        ``low_gbp_per_ha``, where given, the industrial (low) value; the file's
        ``source``, file, row and ``valuation_date`` replace the publication's
        for that end. Boroughs it leaves out keep no value (see
        :func:`value_unused_land`, which names them if they hold a site).
    borough_codes : set of str, optional
        The boundaries' codes; a file row for any other code is an error.

    Returns
    -------
    pandas.DataFrame
        ``published``'s columns, indexed by ``borough_code``.

    Raises
    ------
    DataValidationError
        If the file names a borough that is not in the boundaries.

    Examples
    --------
    >>> from estates.io.land_values import load_published_land_values
    >>> published = load_published_land_values()
    >>> file = pd.DataFrame({"borough_code": ["E09000007"], "value_gbp_per_ha": [5e7],
    ...     "low_gbp_per_ha": [np.nan], "source": ["Valuer"], "valuation_date": ["2024-04-01"],
    ...     "source_file": ["lv.csv"], "source_row": [2]})
    >>> ranges = borough_value_ranges(published, file)
    >>> ranges.loc["E09000007", ["low_gbp_per_ha", "high_gbp_per_ha"]].tolist()
    [6000000.0, 50000000.0]
    >>> ranges.loc["E09000007", "high_source"], len(ranges)
    ('Valuer (lv.csv row 2)', 1)
    """
    ranges = published.set_index("borough_code", drop=False).copy()
    if land_values is None:
        return ranges
    known = set(ranges.index) if borough_codes is None else set(borough_codes)
    for code, row in zip(land_values["borough_code"], land_values["source_row"], strict=True):
        if str(code) not in known:
            file_name = land_values["source_file"].iloc[0]
            msg = (
                f"{file_name} row {row} (borough {code}): borough_code {code} is not in the "
                "borough boundaries; use the boundaries' ONS GSS codes"
            )
            raise DataValidationError(msg)
    rows = land_values.set_index("borough_code")
    ranges = ranges.loc[ranges.index.intersection(rows.index)].copy()
    ranges.attrs["source_file"] = str(land_values["source_file"].iloc[0])
    rows = rows.loc[ranges.index]
    where = (
        rows["source"].astype(str)
        + " ("
        + rows["source_file"].astype(str)
        + " row "
        + rows["source_row"].astype(str)
        + ")"
    )
    date = rows["valuation_date"].astype("string").fillna("date not given")
    ranges["high_gbp_per_ha"] = rows["value_gbp_per_ha"].astype("float64")
    ranges["high_basis"] = "land values file"
    ranges["high_source"] = where.astype("string")
    ranges["high_valuation_date"] = date
    low = rows["low_gbp_per_ha"].astype("float64")
    given = low.notna()
    ranges.loc[given, "low_gbp_per_ha"] = low[given]
    ranges.loc[given, "low_basis"] = "land values file (low)"
    ranges.loc[given, "low_source"] = where[given]
    ranges.loc[given, "low_valuation_date"] = date[given]
    return ranges


def value_unused_land(
    sites: pd.DataFrame,
    ranges: pd.DataFrame,
    *,
    borough_names: Mapping[str, str] | None = None,
) -> pd.DataFrame:
    """Return a copy of ``sites`` with a low–high value of its land not delivering services.

    Adds :data:`VALUE_RANGE_COLUMNS`: the £/ha at each end, ``value_low_gbp`` =
    ``land_unused_ha`` × low £/ha, ``value_high_gbp`` = ``land_unused_ha`` × high
    £/ha, ``value_mid_gbp`` (their mean, the figure the score and ranking use),
    ``value_basis`` (e.g. :data:`PUBLISHED_BASIS` with the industrial area) and
    ``value_source`` (publication or file, with the valuation date). Sites
    outside London, unlocated sites, ERIC aggregate rows and sites with no (or an
    unknown) area not delivering services get missing values, and
    ``value_basis`` says why. Each site's figures depend on its own row only.

    Parameters
    ----------
    sites : pandas.DataFrame or geopandas.GeoDataFrame
        The located, joined site table (``in_london``, ``borough_code``,
        ``land_unused_ha``; any CRS, geometry is not used). Left unchanged.
    ranges : pandas.DataFrame
        :func:`borough_value_ranges`.
    borough_names : mapping, optional
        ``{borough_code: name}``, used in messages.

    Returns
    -------
    DataFrame
        The valued copy (same type, index and CRS).

    Raises
    ------
    DataValidationError
        If a borough holding a site to value has no value (a user's file left
        it out); the message names every such borough and its number of sites.

    Examples
    --------
    >>> from estates.io.land_values import load_published_land_values
    >>> ranges = borough_value_ranges(load_published_land_values())
    >>> f = pd.DataFrame({"site_code": ["A", "B"], "in_london": [True, False],
    ...                   "borough_code": ["E09000007", None], "land_unused_ha": [0.5, 2.0]})
    >>> out = value_unused_land(f, ranges)
    >>> out[["value_low_gbp", "value_high_gbp"]].iloc[0].tolist()
    [3000000.0, 22850000.0]
    >>> out["value_basis"].tolist()[1]
    'not valued: site located outside Greater London'
    """
    located = valued_mask(sites)
    unused = number_column(sites, "land_unused_ha")
    valued = located & (unused > 0)
    low_rate = pd.Series(np.nan, index=sites.index, dtype="float64")
    high_rate = low_rate.copy()
    basis = pd.Series(_reasons(sites, located, unused), index=sites.index, dtype=object)
    source = pd.Series(pd.NA, index=sites.index, dtype=object)
    if valued.any() and "borough_code" in sites:
        # The valued rows' codes only: a part's every code made text took longer than valuing.
        needed = sites["borough_code"][valued].astype("string").astype(str)
        _require_boroughs(needed, ranges, dict(borough_names or {}))
        low_rate[valued] = needed.map(ranges["low_gbp_per_ha"]).astype("float64")
        high_rate[valued] = needed.map(ranges["high_gbp_per_ha"]).astype("float64")
        basis[valued] = needed.map(_basis_text(ranges))
        source[valued] = needed.map(_source_text(ranges))
    low = (unused * low_rate).where(valued)
    high = (unused * high_rate).where(valued)
    out = assign_columns(
        sites,
        {
            "value_low_gbp_per_ha": low_rate,
            "value_high_gbp_per_ha": high_rate,
            "value_low_gbp": low,
            "value_high_gbp": high,
            "value_mid_gbp": (low + high) / 2,
            "value_basis": basis.astype("string"),
            "value_source": source.astype("string"),
        },
    )
    log.info(
        "valued %s at 2017 policy-appraisal values: %s to %s of unused land",
        counted(int(valued.sum()), "London site"),
        format_gbp(float(low.sum())),
        format_gbp(float(high.sum())),
    )
    return out


def share_of_target(low_gbp: float, high_gbp: float, *, target_gbp: float) -> tuple[float, float]:
    """Return the share (0–1) of the target that a low–high value range reaches.

    Examples
    --------
    >>> share_of_target(1.1e9, 5.5e9, target_gbp=11e9)
    (0.1, 0.5)
    """
    return low_gbp / target_gbp, high_gbp / target_gbp


def sum_value_ranges(
    valued: pd.DataFrame,
    groupings: pd.DataFrame,
    *,
    target_gbp: float,
    borough_names: Mapping[str, str] | None = None,
) -> pd.DataFrame:
    """Return the value range summed for every borough, pilot, sub-region and London.

    Parameters
    ----------
    valued : pandas.DataFrame
        From :func:`value_unused_land` (``borough_code``, ``land_unused_ha``,
        ``value_low_gbp``, ``value_high_gbp``). Left unchanged.
    groupings : pandas.DataFrame
        :func:`estates.io.inputs.load_groupings`: pilots and sub-regions as
        borough memberships.
    target_gbp : float
        The target (£) the shares are of.
    borough_names : mapping, optional
        ``{borough_code: name}``; default the names in ``groupings``.

    Returns
    -------
    pandas.DataFrame
        :data:`RANGE_TOTAL_COLUMNS`, one row per borough with a valued site,
        per pilot, per sub-region (every group, 0 where it has no valued site)
        and one ``london`` row. ``sites_valued`` counts sites with a value;
        ``land_unused_ha`` is their land not delivering services.

    Examples
    --------
    >>> v = pd.DataFrame({"borough_code": ["a", "a", "b"], "land_unused_ha": [1.0, 2.0, 4.0],
    ...     "value_low_gbp": [1.0, 2.0, np.nan], "value_high_gbp": [3.0, 6.0, np.nan]})
    >>> g = pd.DataFrame({"group_type": ["pilot"], "group_id": ["p"], "group_name": ["P"],
    ...                   "borough_code": ["a"], "borough_name": ["A"]})
    >>> sum_value_ranges(v, g, target_gbp=100.0)[["level", "value_low_gbp", "value_high_gbp"]]
         level  value_low_gbp  value_high_gbp
    0  borough            3.0             9.0
    1    pilot            3.0             9.0
    2   london            3.0             9.0
    """
    names = dict(zip(groupings["borough_code"], groupings["borough_name"], strict=True))
    names.update(borough_names or {})
    has_value = number_column(valued, "value_low_gbp").notna()
    frame = pd.DataFrame(
        {
            "borough_code": valued["borough_code"].astype("string")[has_value],
            "land_unused_ha": number_column(valued, "land_unused_ha")[has_value],
            "value_low_gbp": number_column(valued, "value_low_gbp")[has_value],
            "value_high_gbp": number_column(valued, "value_high_gbp")[has_value],
        }
    )
    by_borough = frame.groupby("borough_code", sort=True).agg(
        sites_valued=("value_low_gbp", "size"),
        land_unused_ha=("land_unused_ha", "sum"),
        value_low_gbp=("value_low_gbp", "sum"),
        value_high_gbp=("value_high_gbp", "sum"),
    )
    rows: list[dict[str, object]] = [
        {"level": "borough", "group_id": code, "name": names.get(code, code), **totals}
        for code, totals in by_borough.to_dict("index").items()
    ]
    for level in ("pilot", "subregion"):
        members = groupings[groupings["group_type"] == level]
        for group_id, group in members.groupby("group_id", sort=False):
            part = by_borough.loc[by_borough.index.intersection(group["borough_code"])]
            rows.append(
                {"level": level, "group_id": group_id, "name": group["group_name"].iloc[0]}
                | _totals(part)
            )
    rows.append({"level": "london", "group_id": "london", "name": "London", **_totals(by_borough)})
    out = pd.DataFrame(rows)
    out["sites_valued"] = out["sites_valued"].astype("int64")
    out["value_mid_gbp"] = (out["value_low_gbp"] + out["value_high_gbp"]) / 2
    out["share_of_target_low"] = out["value_low_gbp"] / target_gbp
    out["share_of_target_high"] = out["value_high_gbp"] / target_gbp
    return out[list(RANGE_TOTAL_COLUMNS)]


def ranking_value_gbp(valued: pd.DataFrame) -> pd.Series:
    """Return the value the score and ranking use: the midpoint of the low–high range (£).

    The midpoint keeps both ends in play: the residential value alone would rank
    as if every site had housing permission, the industrial value alone would
    flatten the differences between boroughs. It depends only on the site's own
    row, so a site's value for ranking does not change with the rest of the table.

    Parameters
    ----------
    valued : pandas.DataFrame
        From :func:`value_unused_land`. Left unchanged.

    Returns
    -------
    pandas.Series
        ``(value_low_gbp + value_high_gbp) / 2`` on ``valued``'s index, named
        ``ranking_value_gbp``; NaN where the site has no value.

    Examples
    --------
    >>> ranking_value_gbp(pd.DataFrame({"value_low_gbp": [2.0, np.nan],
    ...                                 "value_high_gbp": [10.0, np.nan]})).tolist()
    [6.0, nan]
    """
    low = number_column(valued, "value_low_gbp")
    high = number_column(valued, "value_high_gbp")
    return ((low + high) / 2).rename("ranking_value_gbp")


def apply_published_value(valued: pd.DataFrame) -> pd.DataFrame:
    """Return a copy whose ``estimated_value_gbp`` is the published midpoint, ready to score.

    :func:`estates.stages.score.score_unused_land` scores ``estimated_value_gbp``;
    this sets it (and ``value_gbp_per_ha``, ``valuation_method`` =
    ``"published_2017_midpoint"``, ``valuation_source`` = the range's basis and
    source) from :func:`value_unused_land`, so that the score and ranking use the
    published values instead of the average derived from the target.

    Examples
    --------
    >>> v = pd.DataFrame({"land_unused_ha": [2.0], "value_low_gbp_per_ha": [1.0],
    ...     "value_high_gbp_per_ha": [3.0], "value_low_gbp": [2.0], "value_high_gbp": [6.0],
    ...     "value_basis": ["b"], "value_source": ["s"]})
    >>> apply_published_value(v)[["value_gbp_per_ha", "estimated_value_gbp"]].iloc[0].tolist()
    [2.0, 4.0]
    """
    mid = ranking_value_gbp(valued)
    per_ha = (
        number_column(valued, "value_low_gbp_per_ha")
        + number_column(valued, "value_high_gbp_per_ha")
    ) / 2
    has = mid.notna()
    method = pd.Series("not_valued", index=valued.index, dtype=object)
    method[has] = "published_2017_midpoint"
    text = valued["value_basis"].astype("string")
    text[has] = (
        "midpoint of "
        + text[has]
        + "; "
        + valued["value_source"].astype("string")[has]
        + "; "
        + CAVEAT
    )
    return assign_columns(
        valued,
        {
            "value_gbp_per_ha": per_ha.where(has),
            "estimated_value_gbp": mid,
            "valuation_method": method.astype("string"),
            "valuation_source": text,
        },
    )


def _totals(part: pd.DataFrame) -> dict[str, float]:
    return {
        "sites_valued": int(part["sites_valued"].sum()),
        "land_unused_ha": float(part["land_unused_ha"].sum()),
        "value_low_gbp": float(part["value_low_gbp"].sum()),
        "value_high_gbp": float(part["value_high_gbp"].sum()),
    }


def _basis_text(ranges: pd.DataFrame) -> pd.Series:
    published = (ranges["low_source"] == ranges["high_source"]) & (
        ranges["high_basis"] == "residential land"
    )
    area = ranges["low_basis"].astype(str).str.removeprefix("industrial land, ")
    own = PUBLISHED_BASIS + " (industrial area: " + area + ")"
    mixed = ranges["low_basis"].astype(str) + " – " + ranges["high_basis"].astype(str)
    return own.where(published, mixed)


def _source_text(ranges: pd.DataFrame) -> pd.Series:
    same = ranges["low_source"] == ranges["high_source"]
    low = (
        ranges["low_source"].astype(str)
        + " (valuation date "
        + ranges["low_valuation_date"].astype(str)
        + ")"
    )
    high = (
        ranges["high_source"].astype(str)
        + " (valuation date "
        + ranges["high_valuation_date"].astype(str)
        + ")"
    )
    return low.where(same, "low: " + low + "; high: " + high)


def _require_boroughs(needed: pd.Series, ranges: pd.DataFrame, names: dict[str, str]) -> None:
    counts = needed[~needed.isin(ranges.index)].value_counts().sort_index()
    if counts.empty:
        return
    listed = ", ".join(
        f"{code} ({names.get(code, 'name unknown')}, {n} site{'s' if n != 1 else ''})"
        for code, n in list(counts.items())[:10]
    )
    more = f" and {len(counts) - 10} more" if len(counts) > 10 else ""
    where = ranges.attrs.get("source_file", "the published land values")
    msg = (
        f"{where} has no value for borough {listed}{more}; every borough with a site "
        "to value needs a row borough_code,gbp_per_ha"
    )
    raise DataValidationError(msg)


def _reasons(sites: pd.DataFrame, located: pd.Series, unused: pd.Series) -> list[str]:
    reasons = np.array(not_valued_reasons(sites, located), dtype=object)
    free = reasons == ""
    ha = unused.to_numpy(dtype=float)
    reasons[free & np.isnan(ha)] = "not valued: land not delivering services is not known"
    reasons[free & (ha <= 0)] = "not valued: no land not delivering services"
    out: list[str] = reasons.tolist()
    return out
