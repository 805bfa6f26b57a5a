"""Put an indicative value on land not delivering services: transparent and replaceable.

The published 2017 land values (a sourced industrial-to-residential range by
borough) are in :mod:`estates.stages.land_values`; the average below, derived
from the target, is kept as an explicit choice and guarded by
:func:`estates.stages.target_average.target_average`. Here every valued site
gets one *indicative London average* £/ha, computed from the data at run time:

    the target (``config.valuation.target_gbp``, £11bn by default)
    ÷ hectares of land owned at located sites inside London.

That is the £/ha the memorandum's £11bn implies for the NHS land this run can
place in London; it is not a market value. A ``--land-values`` file
(:func:`estates.io.inputs.load_land_values`) replaces it borough by borough. Each
valued row says which method and which source gave its value.

Only sites located inside Greater London (``in_london``) are valued: sites
outside London, unlocated sites and ERIC aggregate rows have no London borough,
so no borough value applies to them (``valuation_method = "not_valued"``).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from estates.errors import DataValidationError
from estates.frames import flag_column
from estates.logs import counted
from estates.stages.measures import assign_columns
from estates.style import format_gbp

log = logging.getLogger("estates")

#: Values of ``valuation_method``.
VALUATION_METHODS = (
    "mhclg_2017_range",
    "land_values_file",
    "indicative_london_average",
    "not_valued",
)
#: Columns :func:`value_sites` adds, in order.
VALUATION_COLUMNS = (
    "value_gbp_per_ha",
    "estimated_value_gbp",
    "valuation_method",
    "valuation_source",
)


@dataclass(frozen=True)
class Valuation:
    """How a run valued land: the method, the £/ha and where it came from.

    Attributes
    ----------
    method : {"indicative_london_average", "land_values_file"}
        The method used for every valued site.
    gbp_per_ha : float or None
        The indicative London average (£ per hectare), or None when a land
        values file gives one value per borough (see ``by_borough``). NaN if
        no land owned is recorded at located London sites.
    label : str
        One line saying what the value is, shown wherever it appears.
    sources : list of str
        Where the numbers come from.
    london_owned_ha_basis : float
        Hectares of land owned at located London sites (the divisor of the
        indicative average).
    target_gbp : float
        The target (£).
    by_borough : dict
        ``{borough_code: £/ha}`` of the boroughs holding a valued site: the
        midpoint of the range, or the land values file's value.
    basis : str
        What the values are (e.g. industrial to residential 2017 policy-appraisal
        £/ha), empty when not given.
    source : str
        The publication or file the values come from.
    valuation_date : str or None
        The date the values are for (ISO), None for the average.
    caveat : str
        The one line shown beside every figure.
    industrial_areas : dict
        How each borough's industrial (low) value was assigned: the file, the
        rule and ``{borough_code: area}``; empty for the average.
    basis_sites : int or None
        Located London sites the average rests on (average only).
    """

    method: str
    gbp_per_ha: float | None
    label: str
    sources: list[str]
    london_owned_ha_basis: float
    target_gbp: float
    by_borough: dict[str, float] = field(default_factory=dict)
    basis: str = ""
    source: str = ""
    valuation_date: str | None = None
    caveat: str = ""
    industrial_areas: dict[str, Any] = field(default_factory=dict)
    basis_sites: int | None = None

    def to_dict(self) -> dict[str, Any]:
        """Return the ``valuation`` section of ``summary.json``."""
        return {
            "method": self.method,
            "basis": self.basis,
            "source": self.source,
            "valuation_date": self.valuation_date,
            "caveat": self.caveat,
            "industrial_areas": dict(self.industrial_areas),
            "basis_sites": self.basis_sites,
            "gbp_per_ha": self.gbp_per_ha,
            "label": self.label,
            "sources": list(self.sources),
            "london_owned_ha_basis": round(self.london_owned_ha_basis, 6),
            "target_gbp": self.target_gbp,
            "by_borough": dict(self.by_borough),
        }


def valued_mask(sites: pd.DataFrame) -> pd.Series:
    """Return True for the sites that can be valued: located inside London, not aggregates.

    Examples
    --------
    >>> f = pd.DataFrame({"in_london": [True, False, True], "is_aggregate": [False, False, True],
    ...                   "borough_code": ["E09000007", None, "E09000007"]})
    >>> valued_mask(f).tolist()
    [True, False, False]
    """
    in_london = flag_column(sites, "in_london")
    aggregate = flag_column(sites, "is_aggregate")
    has_borough = (
        sites["borough_code"].notna().to_numpy(dtype=bool)
        if "borough_code" in sites
        else np.zeros(len(sites), dtype=bool)
    )
    return (in_london & ~aggregate & has_borough).rename("valued")


def valued_borough_counts(sites: pd.DataFrame) -> pd.Series:
    """Return how many sites each borough has that can be valued (:func:`valued_mask`).

    Examples
    --------
    >>> f = pd.DataFrame({"in_london": [True, True, False], "borough_code": ["a", "a", None]})
    >>> valued_borough_counts(f).to_dict()
    {'a': 2}
    """
    return _codes(sites, valued_mask(sites)).astype(str).value_counts()


def indicative_gbp_per_ha(sites: pd.DataFrame, *, target_gbp: float) -> tuple[float, float]:
    """Return the indicative London average £/ha and the hectares it divides by.

    Parameters
    ----------
    sites : pandas.DataFrame
        The site table (``in_london``, ``land_owned_ha``); left unchanged.
    target_gbp : float
        The target (£), e.g. ``config.valuation.target_gbp``.

    Returns
    -------
    (float, float)
        ``target_gbp / owned_ha`` (NaN when ``owned_ha`` is 0 or unknown) and
        ``owned_ha``, the land owned at located London sites (ha).

    Examples
    --------
    >>> f = pd.DataFrame({"in_london": [True, True, False], "borough_code": ["a", "b", None],
    ...                   "land_owned_ha": [6.0, 4.0, 100.0]})
    >>> indicative_gbp_per_ha(f, target_gbp=11e9)
    (1100000000.0, 10.0)
    """
    basis = math.fsum(valued_owned_ha(sites))
    per_ha = target_gbp / basis if basis > 0 else math.nan
    return per_ha, basis


def valued_owned_ha(sites: pd.DataFrame) -> np.ndarray:
    """Return the land owned (ha) of each located London site with a figure.

    These are the hectares :func:`indicative_gbp_per_ha` adds up. They are
    summed with :func:`math.fsum` (correctly rounded, whatever the order), so
    a table added up a part at a time gives the very same divisor as the
    whole table (:class:`estates.builder.accumulators.BasisTotals`).

    Parameters
    ----------
    sites : pandas.DataFrame
        The site table (``in_london``, ``borough_code``, ``land_owned_ha``);
        left unchanged.

    Returns
    -------
    numpy.ndarray
        float64 hectares, in row order; empty if ``land_owned_ha`` is absent.

    Examples
    --------
    >>> f = pd.DataFrame({"in_london": [True, True, False], "borough_code": ["a", "b", None],
    ...                   "land_owned_ha": [6.0, None, 100.0]})
    >>> valued_owned_ha(f).tolist()
    [6.0]
    """
    if "land_owned_ha" not in sites:
        return np.empty(0, dtype="float64")
    owned = pd.to_numeric(sites["land_owned_ha"], errors="coerce")[valued_mask(sites)]
    values: np.ndarray = owned.dropna().to_numpy(dtype="float64")
    return values


@dataclass(frozen=True)
class ValuationBasis:
    """The whole site table's figures a valuation needs, when a part of it is valued.

    Attributes
    ----------
    owned_ha : float
        Hectares owned at located London sites of the whole table: the
        divisor of the indicative London average (:func:`indicative_gbp_per_ha`).
    valued_boroughs : mapping of str to int
        The whole table's :func:`valued_borough_counts`: every borough a land
        values file must cover.
    """

    owned_ha: float
    valued_boroughs: Mapping[str, int] = field(default_factory=dict)

    @classmethod
    def of(cls, sites: pd.DataFrame, *, target_gbp: float) -> ValuationBasis:
        """Return the basis of ``sites`` taken whole.

        Examples
        --------
        >>> f = pd.DataFrame({"in_london": [True, True], "borough_code": ["a", "a"],
        ...                   "land_owned_ha": [6.0, 4.0]})
        >>> b = ValuationBasis.of(f, target_gbp=1.0)
        >>> b.owned_ha, dict(b.valued_boroughs)
        (10.0, {'a': 2})
        """
        owned_ha = indicative_gbp_per_ha(sites, target_gbp=target_gbp)[1]
        counts = valued_borough_counts(sites)
        return cls(owned_ha, {str(k): int(v) for k, v in counts.items()})


def check_land_value_codes(land_values: pd.DataFrame, borough_codes: Iterable[str]) -> None:
    """Raise unless every borough code of a land values file is in the boundaries.

    Needs no site: it runs as soon as both files are read, before any site is
    joined, so a wrong file fails at once.

    Raises
    ------
    DataValidationError
        Naming the file, row and code, and the fix.
    """
    known = {str(c) for c in borough_codes}
    file_name = str(land_values["source_file"].iloc[0]) if len(land_values) else "land values"
    for code, row in zip(land_values["borough_code"], land_values["source_row"], strict=True):
        if str(code) not in known:
            msg = (
                f"{file_name} row {row} (borough {code}): borough_code {code} is not in the "
                "borough boundaries; use the boundaries' ONS GSS codes"
            )
            raise DataValidationError(msg)


def value_sites(
    sites: pd.DataFrame,
    *,
    target_gbp: float,
    land_values: pd.DataFrame | None = None,
    borough_names: Mapping[str, str] | None = None,
    borough_codes: Iterable[str] | None = None,
    whole: ValuationBasis | None = None,
) -> tuple[pd.DataFrame, Valuation]:
    """Return a copy of ``sites`` with an estimated value of its unused land.

    Adds ``value_gbp_per_ha`` (£/ha), ``estimated_value_gbp`` (= ``land_unused_ha``
    × ``value_gbp_per_ha``, £), ``valuation_method`` (one of
    :data:`VALUATION_METHODS`) and ``valuation_source`` (text). Sites not
    located inside London, and ERIC aggregate rows, are ``not_valued`` (NaN).

    Parameters
    ----------
    sites : pandas.DataFrame or geopandas.GeoDataFrame
        The measured site table (any CRS; geometry is not used). Left unchanged.
    target_gbp : float
        The target (£) that the indicative average spreads over London's land.
    land_values : pandas.DataFrame, optional
        From :func:`estates.io.inputs.load_land_values`. Every borough with at least
        one site located inside London must have a row; extra boroughs are
        fine. Default: the indicative London average.
    borough_names : mapping, optional
        ``{borough_code: name}``, used in messages.
    borough_codes : iterable of str, optional
        The boundaries' codes; a land-values row for any other code is an error.
    whole : ValuationBasis, optional
        The figures of the whole table ``sites`` is a part of (its hectares
        owned at located London sites and the boroughs to value); default:
        ``ValuationBasis.of(sites)``.

    Returns
    -------
    (DataFrame, Valuation)
        The valued copy (same type, index and CRS), and how it was valued.

    Raises
    ------
    DataValidationError
        If ``land_values`` lacks a borough that has a located London site (the
        message names every such borough), or names a code not in the boundaries.

    Examples
    --------
    >>> f = pd.DataFrame({"site_code": ["A", "B", "C"], "in_london": [True, True, False],
    ...                   "borough_code": ["E09000007", "E09000014", None],
    ...                   "land_owned_ha": [8.0, 2.0, 5.0], "land_unused_ha": [1.0, 0.5, 5.0]})
    >>> out, v = value_sites(f, target_gbp=1e9)
    >>> v.label
    'indicative London average: £1bn target ÷ 10.00 ha owned at located London sites = £100m per ha'
    >>> out["estimated_value_gbp"].tolist(), out["valuation_method"].tolist()[2]
    ([100000000.0, 50000000.0, nan], 'not_valued')
    >>> lv = pd.DataFrame({"borough_code": ["E09000007"], "value_gbp_per_ha": [2e6],
    ...                    "source": ["test"], "source_file": ["lv.csv"], "source_row": [2]})
    >>> value_sites(f, target_gbp=1e9, land_values=lv, borough_names={"E09000014": "Haringey"})
    Traceback (most recent call last):
    ...
    estates.errors.DataValidationError: lv.csv has no value_gbp_per_ha for borough E09000014 ...
    """
    valued = valued_mask(sites)
    whole = whole or ValuationBasis.of(sites, target_gbp=target_gbp)
    basis = whole.owned_ha
    per_ha_default = target_gbp / basis if basis > 0 else math.nan
    per_ha = pd.Series(np.nan, index=sites.index, dtype="float64")
    method = pd.Series("not_valued", index=sites.index, dtype=object)
    reasons = not_valued_reasons(sites, flag_column(sites, "in_london"))
    source = pd.Series(reasons, index=sites.index, dtype=object)
    if land_values is None:
        label = _indicative_label(target_gbp, basis, per_ha_default)
        valuation = Valuation(
            method="indicative_london_average",
            gbp_per_ha=per_ha_default,
            label=label,
            sources=[
                f"target {format_gbp(target_gbp)}: see target_source",
                "hectares owned: ERIC 2016/17 site-level returns (NHS Digital), "
                "sites located inside Greater London",
            ],
            london_owned_ha_basis=basis,
            target_gbp=target_gbp,
        )
        if math.isfinite(per_ha_default):
            per_ha[valued] = per_ha_default
            method[valued] = "indicative_london_average"
            source[valued] = label
        else:
            source[valued] = label
    else:
        valuation = _file_valuation(
            land_values,
            sites=sites,
            valued=valued,
            target_gbp=target_gbp,
            basis=basis,
            names=dict(borough_names or {}),
            known=borough_codes,
            needed=pd.Series(dict(whole.valued_boroughs), dtype="int64"),
        )
        rows = land_values.set_index("borough_code")
        valued_codes = _codes(sites, valued)
        per_ha[valued] = valued_codes.map(rows["value_gbp_per_ha"]).astype("float64")
        method[valued] = "land_values_file"
        where = rows["source"].astype(str) + (
            " (" + rows["source_file"].astype(str) + " row " + rows["source_row"].astype(str) + ")"
        )
        source[valued] = valued_codes.map(where).astype(object)
    if "land_unused_ha" in sites:
        unused = pd.to_numeric(sites["land_unused_ha"], errors="coerce").astype("float64")
    else:
        unused = pd.Series(np.nan, index=sites.index, dtype="float64")
    estimated = (unused * per_ha).where(valued)
    out = assign_columns(
        sites,
        {
            "value_gbp_per_ha": per_ha,
            "estimated_value_gbp": estimated,
            "valuation_method": method.astype("string"),
            "valuation_source": source.astype("string"),
        },
    )
    log.info(
        "valued %s (%s): %s of unused land; %s not valued",
        counted(int(valued.sum()), "London site"),
        valuation.method,
        format_gbp(float(estimated.sum())),
        counted(int((~valued).sum()), "site"),
    )
    return out, valuation


def _indicative_label(target_gbp: float, basis: float, per_ha: float) -> str:
    if not math.isfinite(per_ha):
        return (
            f"indicative London average: not computable ({format_gbp(target_gbp)} target, "
            "but no land owned is recorded at located London sites)"
        )
    return (
        f"indicative London average: {format_gbp(target_gbp)} target ÷ {basis:,.2f} ha owned "
        f"at located London sites = {format_gbp(per_ha)} per ha"
    )


def _file_valuation(
    land_values: pd.DataFrame,
    *,
    sites: pd.DataFrame,
    valued: pd.Series,
    target_gbp: float,
    basis: float,
    names: dict[str, str],
    known: Iterable[str] | None,
    needed: pd.Series,
) -> Valuation:
    file_name = str(land_values["source_file"].iloc[0]) if len(land_values) else "land values"
    given = set(land_values["borough_code"].astype(str))
    if known is not None:
        check_land_value_codes(land_values, known)
    missing = sorted(code for code in needed.index if code not in given)
    if missing:
        listed = ", ".join(
            f"{code} ({names.get(code, 'name unknown')}, {needed[code]} site"
            f"{'s' if needed[code] != 1 else ''})"
            for code in missing[:10]
        )
        more = f" and {len(missing) - 10} more" if len(missing) > 10 else ""
        msg = (
            f"{file_name} has no value_gbp_per_ha for borough {listed}{more}; every borough "
            "with a site located inside London needs a row borough_code,value_gbp_per_ha,source"
        )
        raise DataValidationError(msg)
    used = land_values[land_values["borough_code"].astype(str).isin(needed.index)]
    sources = list(dict.fromkeys(used["source"].astype(str)))
    return Valuation(
        method="land_values_file",
        gbp_per_ha=None,
        label=(
            f"land values file {file_name}: £ per ha by borough for {len(used)} boroughs "
            f"(sources: {'; '.join(sources)})"
        ),
        sources=[f"{s} ({file_name})" for s in sources],
        london_owned_ha_basis=basis,
        target_gbp=target_gbp,
        by_borough={
            str(c): float(v)
            for c, v in zip(used["borough_code"], used["value_gbp_per_ha"], strict=True)
        },
    )


def not_valued_reasons(sites: pd.DataFrame, valuable: pd.Series) -> list[str]:
    """Return why each site is not valued, ``""`` for each that may be.

    ERIC aggregate rows and unlocated sites are never valued; otherwise a site
    is valued only where ``valuable`` holds (e.g. ``in_london``, or
    :func:`valued_mask`), and else is said to be outside London.

    Examples
    --------
    >>> f = pd.DataFrame({"is_aggregate": [True, False, False, False],
    ...                   "located_by": ["aggregate", "unlocated", "ods_code", "ods_code"]})
    >>> reasons = not_valued_reasons(f, pd.Series([False, False, False, True]))
    >>> [r.removeprefix("not valued: ")[:21] for r in reasons]
    ['ERIC aggregate row (a', 'site not located, so ', 'site located outside ', '']
    """
    aggregate = flag_column(sites, "is_aggregate").to_numpy(dtype=bool)
    unlocated = (
        sites["located_by"].astype("string").eq("unlocated").fillna(False).to_numpy(dtype=bool)
        if "located_by" in sites
        else np.zeros(len(sites), dtype=bool)
    )
    # The first that holds: aggregate, unlocated, not valuable; else "".
    case = np.select([aggregate, unlocated, ~np.asarray(valuable, dtype=bool)], [1, 2, 3], 0)
    reasons: list[str] = _NOT_VALUED[case].tolist()
    return reasons


#: Why a site is not valued, by the case :func:`not_valued_reasons` finds ("" for none).
_NOT_VALUED = np.array(
    [
        "",
        "not valued: ERIC aggregate row (a bundle of sites, not a place)",
        "not valued: site not located, so its borough is unknown",
        "not valued: site located outside Greater London",
    ],
    dtype=object,
)


def _codes(frame: pd.DataFrame, rows: pd.Series) -> pd.Series:
    """Return the borough codes of the ``rows`` of ``frame`` as text (missing when it has none)."""
    if "borough_code" not in frame:
        return pd.Series(pd.NA, index=frame.index, dtype="string")[rows]
    return frame["borough_code"][rows].astype("string")
