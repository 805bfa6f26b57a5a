"""The sentences every page states beside its figures: data year, reconciliation, sources.

A reader of a map or of ``index.html`` should see which return the figures
come from, when they were built, how the land ERIC reports splits between the
map and what it cannot show, and where the values come from. Each sentence is
made here once, from ``summary.json``, so that every page (and the PNG) words
it the same way; numbers are written by :mod:`estates.style`.

A summary may hold one ERIC year (``reconciliation`` at its top level, the
2016/17 return) or several (``headline_year`` and ``years[year]``); each
function reads either.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from estates.report.headline import caveat_line
from estates.style import format_ha

__all__ = [
    "DEFAULT_YEAR",
    "build_date_line",
    "data_year_line",
    "headline_year",
    "reconciliation_line",
    "user_site_files",
    "valuation_source_line",
    "year_reconciliation",
]

#: The ERIC return a summary without ``headline_year`` was built from.
DEFAULT_YEAR = "2016/17"

#: The bundled ERIC file of 2016/17, read when a summary has no ``headline_year``.
_BUNDLED_ERIC_FILES = frozenset({"eric_sites_london.csv"})

#: The buckets of a reconciliation, in the order the line states them.
_BUCKETS = (
    ("inside_london", "shown on the map"),
    ("outside_london", "outside London"),
    ("unlocated", "unlocated"),
    ("aggregate", "in aggregate rows"),
    ("rejected", "rejected"),
)


def _year_entry(summary: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """Return ``summary["years"][summary["headline_year"]]``, or None if it is not there."""
    years, year = summary.get("years"), summary.get("headline_year")
    entry = years.get(year) if isinstance(years, Mapping) and year is not None else None
    return entry if isinstance(entry, Mapping) else None


def headline_year(summary: Mapping[str, Any]) -> str:
    """Return the ERIC year the figures come from: ``headline_year``, else :data:`DEFAULT_YEAR`.

    Examples
    --------
    >>> headline_year({}), headline_year({"headline_year": "2019/20", "years": {"2019/20": {}}})
    ('2016/17', '2019/20')
    """
    return str(summary["headline_year"]) if _year_entry(summary) is not None else DEFAULT_YEAR


def year_reconciliation(summary: Mapping[str, Any]) -> Mapping[str, Any]:
    """Return the headline year's reconciliation, or the summary's own one; ``{}`` if neither."""
    entry = _year_entry(summary)
    found = entry.get("reconciliation") if entry is not None else summary.get("reconciliation")
    return found if isinstance(found, Mapping) else {}


def user_site_files(summary: Mapping[str, Any]) -> list[str]:
    """Return the names of the user's site files the figures come from; ``[]`` for ERIC.

    A build over the bundled ERIC returns has ``headline_year``; a build of
    ``--sites`` files has not, and its reconciliation names the files read.

    Examples
    --------
    >>> user_site_files({"reconciliation": {"total": {"source_files": ["gp.csv"]}}})
    ['gp.csv']
    >>> user_site_files({"headline_year": "2019/20", "years": {"2019/20": {}}})
    []
    """
    if _year_entry(summary) is not None:
        return []
    total = year_reconciliation(summary).get("total")
    files = total.get("source_files") if isinstance(total, Mapping) else None
    if not isinstance(files, list):
        return []
    return [str(f) for f in files if str(f) not in _BUNDLED_ERIC_FILES]


def _reported_by(summary: Mapping[str, Any]) -> tuple[str, str]:
    """Return how the lines name the data ("ERIC 2019/20") and who reported it."""
    files = user_site_files(summary)
    if files:
        return f"the site files ({', '.join(files)})", "in the site files"
    return f"ERIC {headline_year(summary)}", "by ERIC"


def data_year_line(summary: Mapping[str, Any]) -> str:
    """Return which return the figures are from, e.g. "Data: ERIC 2016/17 (...)".

    A build of the user's own site files names them instead: their figures are
    not ERIC's.

    Examples
    --------
    >>> data_year_line({"reconciliation": {"total": {"source_files": ["gp.csv"]}}})
    'Data: the site files given to the build (gp.csv), not the bundled ERIC returns.'
    """
    files = user_site_files(summary)
    if files:
        return (
            f"Data: the site files given to the build ({', '.join(files)}), "
            "not the bundled ERIC returns."
        )
    return (
        f"Data: ERIC {headline_year(summary)} (NHS Digital, Estates Returns Information "
        "Collection), site returns of London-region NHS trusts."
    )


def build_date_line(build_date: str) -> str:
    """Return the sentence giving the build date (ISO ``YYYY-MM-DD``)."""
    return f"Built {build_date}."


def reconciliation_line(summary: Mapping[str, Any]) -> str:
    """Return in one line how the land ERIC reports splits between the map and the rest.

    In hectares of land not delivering services, e.g. "Land not delivering
    services, ERIC 2016/17: 148.7 ha reported by ERIC = 42.6 ha shown on the
    map + 0.00 ha outside London + 105.2 ha unlocated + 0.91 ha in aggregate
    rows". A bucket with no rows is left out (so "rejected" appears only when
    records were). Empty when the summary has no reconciliation.

    Examples
    --------
    >>> rec = {"total": {"rows": 3, "land_unused_ha": 5.0}, "buckets": {
    ...     "inside_london": {"rows": 2, "land_unused_ha": 1.5},
    ...     "unlocated": {"rows": 1, "land_unused_ha": 3.5},
    ...     "rejected": {"rows": 0, "land_unused_ha": 0.0}}}
    >>> reconciliation_line({"reconciliation": rec})
    'Land not delivering services, ERIC 2016/17: 5.00 ha reported by ERIC = 1.50 ha shown on the map + 3.50 ha unlocated'
    """  # noqa: E501
    rec = year_reconciliation(summary)
    total, buckets = rec.get("total"), rec.get("buckets")
    if not isinstance(total, Mapping) or not isinstance(buckets, Mapping):
        return ""
    parts = []
    for key, words in _BUCKETS:
        bucket = buckets.get(key)
        if isinstance(bucket, Mapping) and (bucket.get("rows") or key == "inside_london"):
            parts.append(f"{format_ha(_ha(bucket))} {words}")
    data, reported = _reported_by(summary)
    return (
        f"Land not delivering services, {data}: "
        f"{format_ha(_ha(total))} reported {reported} = " + " + ".join(parts)
    )


def _ha(block: Mapping[str, Any]) -> float | None:
    value = block.get("land_unused_ha")
    return float(value) if isinstance(value, (int, float)) else None


def valuation_source_line(summary: Mapping[str, Any]) -> str:
    """Return the values' basis, caveat and source, and the target's source, in words.

    Examples
    --------
    >>> valuation_source_line({"valuation": {"basis": "MHCLG 2017", "caveat": "not market values",
    ...     "source": "MHCLG Land value estimates 2017", "valuation_date": "2017-04-01"},
    ...     "target_source": "the 2017 MoU"})
    'Values: MHCLG 2017, not market values. Source: MHCLG Land value estimates 2017 (valued at 2017-04-01). Target: the 2017 MoU.'
    """  # noqa: E501
    valuation = summary.get("valuation")
    valuation = valuation if isinstance(valuation, Mapping) else {}
    parts = []
    caveat = caveat_line(summary)
    if caveat:
        parts.append(f"Values: {caveat}.")
    source = valuation.get("source") or "; ".join(str(s) for s in valuation.get("sources") or [])
    if source:
        when = valuation.get("valuation_date")
        parts.append(f"Source: {source}" + (f" (valued at {when})." if when else "."))
    if summary.get("target_source"):
        parts.append(f"Target: {summary['target_source']}.")
    return " ".join(parts)
