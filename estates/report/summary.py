"""Build ``summary.json``: the figures, how they were reached, and how they reconcile.

:func:`summarise` gathers the target, the valuation, the score's settings,
London, borough, pilot and sub-region totals, the disposal pipeline, the
stage counts and the sources into one dict (written by
:func:`estates.io.tables.write_json`). :func:`reconcile_land` splits the land in
the input records into the buckets that explain why the London figure is
what it is: inside London, located outside London, unlocated, ERIC aggregate
rows and rejected rows, which add up to the input total.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import pandas as pd

from estates.config import Config
from estates.frames import number_column
from estates.report.aggregate import (
    TOP_N,
    _round,
    _text,
    aggregate_groups,
    aggregate_london,
    borough_entries,
    london_mask,
)
from estates.report.tally import SiteTallies, Tally, rejected_records
from estates.stages.score import UNRESOLVED_FLAGS
from estates.stages.valuation import Valuation

log = logging.getLogger("estates")

#: The bundled data's sources, as ``data/ATTRIBUTION.md`` states them.
SOURCES: dict[str, dict[str, str]] = {
    "eric": {
        "name": "Estates Returns Information Collection (ERIC) 2016/17, NHS Digital",
        "attribution": (
            "Estates Returns Information Collection (ERIC) 2016/17, NHS Digital. Contains public "
            "sector information licensed under the Open Government Licence v3.0. Data are as "
            "submitted by trusts and not amended centrally."
        ),
        "licence": "Open Government Licence v3.0",
    },
    "eric_2019_20": {
        "name": "Estates Returns Information Collection (ERIC) 2019/20, NHS Digital",
        "attribution": (
            "Source: NHS Digital, Estates Returns Information Collection (ERIC) 2019/20. Contains "
            "public sector information licensed under the Open Government Licence v3.0."
        ),
        "licence": "Open Government Licence v3.0",
    },
    "eric_2013_16": {
        "name": "ERIC site returns 2013/14 to 2015/16, NHS Digital (HSCIC)",
        "attribution": (
            "Source: NHS Digital (Health and Social Care Information Centre), Hospital Estates "
            "and Facilities Statistics / ERIC. Contains public sector information licensed under "
            "the Open Government Licence v3.0."
        ),
        "licence": "Open Government Licence v3.0",
    },
    "nhs_choices": {
        "name": "NHS Choices (now NHS.UK) hospital and clinic data",
        "attribution": (
            "Contains public sector information from NHS Choices licensed under the Open "
            "Government Licence."
        ),
        "licence": "Open Government Licence v3.0",
    },
    "ons": {
        "name": "London borough boundaries (May 2020), Office for National Statistics",
        "attribution": (
            "Source: Office for National Statistics, licensed under the Open Government Licence "
            "v3.0. Contains OS data © Crown copyright and database right 2020."
        ),
        "licence": "Open Government Licence v3.0",
    },
    "ons_postcodes": {
        "name": "ONS Postcode Directory (NSPL, May 2025) postcode centroids, Office for National "
        "Statistics",
        "attribution": (
            "Contains OS data © Crown copyright and database right 2025. Contains Royal Mail data "
            "© Royal Mail copyright and database right 2025. Source: Office for National "
            "Statistics licensed under the Open Government Licence v.3.0."
        ),
        "licence": "Open Government Licence v3.0",
    },
    "mhclg_land_values": {
        "name": "Land value estimates for policy appraisal 2017, Ministry of Housing, "
        "Communities and Local Government",
        "attribution": (
            "Source: Ministry of Housing, Communities and Local Government, Land value estimates "
            "for policy appraisal 2017. Contains public sector information licensed under the "
            "Open Government Licence v3.0. Values for policy appraisal at 1 April 2017, assuming "
            "nil affordable housing: not market values."
        ),
        "licence": "Open Government Licence v3.0",
    },
}
#: The reconciliation buckets, in order, with what each holds.
RECONCILIATION_BUCKETS = {
    "inside_london": "located inside Greater London: in the London totals",
    "outside_london": "located outside Greater London (trust sites beyond the boundary)",
    "unlocated": "not located: no ODS code or name match and no --locations entry",
    "aggregate": "ERIC aggregate rows: a trust's bundle of small sites, not a place",
    "rejected": "rejected by validation: not in the site table (see rejected.csv)",
}
_LARGEST = 3
#: The columns of each bucket's largest rows that ``summary.json`` lists.
_LISTED = ("site_code", "site_name", "trust_name", "land_owned_ha", "land_unused_ha")
#: The columns :func:`reconciliation_frames` and the lists of :func:`reconcile_land` read.
_BUCKETED = ("source_file", "source_row", "in_london", "located_by", *_LISTED)
#: Each site bucket's group among :class:`estates.report.tally.SiteTallies` (``rejected`` is
#: its own field).
_TALLY_KEYS = {
    "inside_london": ("london",),
    "outside_london": ("outside",),
    "unlocated": ("unlocated",),
    "aggregate": ("aggregate",),
}


def reconcile_land(
    records: pd.DataFrame,
    sites: pd.DataFrame,
    tallies: SiteTallies,
    *,
    frames: dict[str, pd.DataFrame] | None = None,
) -> dict[str, Any]:
    """Split the land of every input record into buckets that add up to the input total.

    Parameters
    ----------
    records : pandas.DataFrame
        Site records as loaded, before validation (``source_file``,
        ``source_row``, optional ``land_owned_ha`` and ``land_unused_ha``),
        holding at least each bucket's largest rows, for the lists. Left unchanged.
    sites : pandas.DataFrame
        Rows of the site table (the kept records, with ``in_london`` and
        ``located_by``), holding at least each bucket's largest rows. Left unchanged.
    tallies : SiteTallies
        The counts and sums of every record and of the whole site table
        (:func:`~estates.report.tally.site_tallies` with ``records=``); the
        totals come from it.
    frames : dict, optional
        :func:`reconciliation_frames` of ``records`` and ``sites``, when the
        caller has them already; default: taken here.

    Returns
    -------
    dict
        ``total`` (rows, ha owned and unused of all input records, the files),
        ``buckets`` (per :data:`RECONCILIATION_BUCKETS` key: ``meaning``,
        ``rows``, ``land_owned_ha``, ``land_unused_ha`` and the ``largest``
        contributors of unused land), ``balanced`` (True when the buckets add up
        to the total within 1e-6 ha) and ``difference_owned_ha`` /
        ``difference_unused_ha``.

    Examples
    --------
    >>> records = pd.DataFrame({"source_file": "f.csv", "source_row": [2, 3, 4],
    ...     "site_code": ["A", "B", "C"], "land_owned_ha": [5.0, 2.0, 1.0],
    ...     "land_unused_ha": [1.0, 2.0, 0.0]})
    >>> sites = records.iloc[:2].assign(in_london=[True, False],
    ...                                 located_by=["ods_code", "unlocated"])
    >>> from estates.report.tally import site_tallies
    >>> r = reconcile_land(records, sites, site_tallies(sites, records=records))
    >>> {k: b["land_owned_ha"] for k, b in r["buckets"].items()}
    {'inside_london': 5.0, 'outside_london': 0.0, 'unlocated': 2.0, 'aggregate': 0.0,
     'rejected': 1.0}
    >>> r["balanced"]
    True
    """
    if frames is None:
        # The buckets' rows are taken from the columns read here alone, not the whole table.
        frames = reconciliation_frames(
            records[[c for c in _BUCKETED if c in records]],
            sites[[c for c in _BUCKETED if c in sites]],
        )
    bucket_tallies = {key: _bucket_tally(tallies, key) for key in frames}
    buckets = {
        key: {"meaning": RECONCILIATION_BUCKETS[key], **_bucket(frame, bucket_tallies[key])}
        for key, frame in frames.items()
    }
    records_tally = tallies.records
    total_owned = records_tally.total("land_owned_ha", missing=0.0)
    total_unused = records_tally.total("land_unused_ha", missing=0.0)
    parts = list(bucket_tallies.values())
    diff_owned = total_owned - sum(t.total("land_owned_ha", missing=0.0) for t in parts)
    diff_unused = total_unused - sum(t.total("land_unused_ha", missing=0.0) for t in parts)
    return {
        "note": (
            "Every input record is in exactly one bucket; the buckets add up to the input total. "
            "Only inside_london is in the London, borough, pilot and sub-region figures."
        ),
        "total": {
            "rows": records_tally.rows,
            "land_owned_ha": round(total_owned, 6),
            "land_unused_ha": round(total_unused, 6),
            "source_files": list(tallies.source_files),
        },
        "buckets": buckets,
        "balanced": abs(diff_owned) < 1e-6 and abs(diff_unused) < 1e-6,
        "difference_owned_ha": round(diff_owned, 9) + 0.0,
        "difference_unused_ha": round(diff_unused, 9) + 0.0,
    }


def reconciliation_frames(records: pd.DataFrame, sites: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """Return the rows of each :data:`RECONCILIATION_BUCKETS` bucket, in input order."""
    rejected = rejected_records(records, sites)
    located_by = (
        sites["located_by"].astype("string").fillna("")
        if "located_by" in sites
        else pd.Series("", index=sites.index, dtype="string")
    )
    london = london_mask(sites)
    aggregate = located_by.eq("aggregate")
    unlocated = located_by.eq("unlocated") & ~aggregate
    outside = ~london & ~aggregate & ~unlocated
    return {
        "inside_london": sites.loc[london],
        "outside_london": sites.loc[outside],
        "unlocated": sites.loc[unlocated],
        "aggregate": sites.loc[aggregate],
        "rejected": rejected,
    }


def largest_rows(frame: pd.DataFrame, n: int = 3) -> pd.DataFrame:
    """Return the ``n`` rows with most unused land (then land owned), ties in input order.

    Rows are picked by position, so a frame gathered from parts (whose index
    labels repeat) still gives ``n`` rows, not every row sharing a label.
    """
    if not len(frame):
        return frame
    unused = number_column(frame, "land_unused_ha").fillna(-1.0).to_numpy()
    owned = number_column(frame, "land_owned_ha").fillna(-1.0).to_numpy()
    # Most first; np.lexsort is stable, so ties keep their input order.
    order = np.lexsort((-owned, -unused))
    return frame.iloc[order[:n]]


def score_settings(config: Config) -> dict[str, Any]:
    """Return ``summary.json``'s ``score`` section: the weights and the formula in words.

    Examples
    --------
    >>> score_settings(Config())["weights"]["weight_value"]
    0.5
    """
    s = config.score
    return {
        "weights": {
            "weight_value": s.weight_value,
            "weight_share": s.weight_share,
            "weight_backlog": s.weight_backlog,
            "penalty_pfi": s.penalty_pfi,
            "penalty_quality": s.penalty_quality,
        },
        "formula": (
            "disposal_score = clip(score_value + score_share + score_backlog - score_constraints, "
            "0, 1); score_value = w_value x estimated_value_gbp / largest among candidates; "
            "score_share = w_share x land_unused_share; score_backlog = w_backlog x "
            "backlog_avoided_gbp / largest among candidates, backlog_avoided_gbp = "
            "backlog_total_gbp x land_unused_share; weights divided by w_value + w_share + "
            "w_backlog; score_constraints = penalty_pfi x pfi + penalty_quality x "
            "(any unresolved flag)"
        ),
        "unresolved_flags": list(UNRESOLVED_FLAGS),
        "candidates": "sites located inside Greater London with land_unused_ha > 0",
        "documentation": "docs/scoring.md",
    }


def bundled_sources(
    *, bundled_sites: bool, bundled_boundaries: bool, by_postcode: bool, published_values: bool
) -> list[dict[str, str]]:
    """Return the bundled data sets a build used, each with the lines its licence requires.

    ``data/ATTRIBUTION.md`` asks for its line on every copy: the ERIC returns
    (every bundled year is read and reconciled when the sites are ERIC's), the
    NHS Choices files (used to locate sites), the ONS postcode centroids when a
    site was located by postcode, the ONS boundaries and the MHCLG 2017 land
    values when they were used.

    Examples
    --------
    >>> [s["name"].split(",")[0] for s in bundled_sources(
    ...     bundled_sites=False, bundled_boundaries=True, by_postcode=False,
    ...     published_values=True)]  # doctest: +NORMALIZE_WHITESPACE
    ['NHS Choices (now NHS.UK) hospital and clinic data',
     'London borough boundaries (May 2020)',
     'Land value estimates for policy appraisal 2017']
    """
    keys = ["eric_2019_20", "eric", "eric_2013_16"] if bundled_sites else []
    keys.append("nhs_choices")
    if bundled_sites or by_postcode:
        keys.append("ons_postcodes")
    if bundled_boundaries:
        keys.append("ons")
    if published_values:
        keys.append("mhclg_land_values")
    return [dict(SOURCES[k]) for k in keys]


def summarise(
    *,
    sites: pd.DataFrame,
    boroughs: pd.DataFrame,
    groupings: pd.DataFrame,
    records: pd.DataFrame,
    valuation: Valuation,
    pipeline: dict[str, Any],
    counts: dict[str, Any],
    config: Config,
    bundled_sites: bool = True,
    bundled_boundaries: bool = True,
    tallies: SiteTallies,
    top_n: int = TOP_N,
) -> dict[str, Any]:
    """Return the ``summary.json`` dict of one run.

    Parameters
    ----------
    sites : pandas.DataFrame
        Ranked rows of the site table holding at least every row the summary
        lists (each group's best, each bucket's largest, each tracked site).
        Left unchanged, like every input.
    boroughs : pandas.DataFrame
        Boroughs with totals (:func:`estates.report.aggregate.aggregate_boroughs`).
    groupings : pandas.DataFrame
        Pilot and sub-region memberships.
    records : pandas.DataFrame
        Input site records, before validation, holding at least each
        reconciliation bucket's largest rows.
    valuation : Valuation
        How land was valued (:func:`estates.stages.valuation.value_sites`).
    pipeline : dict
        :func:`estates.report.disposal.summarise_pipeline`'s result.
    counts : dict
        The pipeline's stage counts.
    config : Config
        The run's settings (target and score weights).
    bundled_sites, bundled_boundaries : bool, default True
        Whether the bundled ERIC sites and ONS boundaries were used (their
        sources are listed only then).
    tallies : SiteTallies
        The counts and sums of every input record and of the whole site table
        (:func:`~estates.report.tally.site_tallies`, or added up part by part
        by the build engine); every total comes from it.
    top_n : int, default 10
        Ranked sites listed per pilot and sub-region.

    Returns
    -------
    dict
        Sections ``target_gbp``, ``target_source``, ``valuation``, ``score``,
        ``london``, ``boroughs``, ``pilots``, ``subregions``, ``pipeline``,
        ``reconciliation``, ``counts`` and ``sources``. Hectares are rounded to
        6 decimals, pounds to whole pounds, shares of the target (0-1) to 9.

    Examples
    --------
    >>> from estates.builder.pipeline import run
    >>> summary = run().summary  # run() calls summarise() last
    >>> list(summary)
    ['target_gbp', 'target_source', 'valuation', 'score', 'london', 'boroughs', 'pilots',
     'subregions', 'pipeline', 'reconciliation', 'counts', 'sources', 'inputs', 'headline_year',
     'years', 'land_over_time', 'change_since', 'disposal_candidates']
    >>> summary["headline_year"], summary["reconciliation"]["total"]["land_unused_ha"]
    ('2019/20', 228.31)
    """
    target = config.valuation.target_gbp
    sources = bundled_sources(
        bundled_sites=bundled_sites,
        bundled_boundaries=bundled_boundaries,
        by_postcode=bool(
            "located_by" in sites and sites["located_by"].astype(str).eq("postcode").any()
        ),
        published_values=valuation.method == "mhclg_2017_range",
    )
    summary: dict[str, Any] = {
        "target_gbp": target,
        "target_source": config.valuation.target_source,
        "valuation": valuation.to_dict(),
        "score": score_settings(config),
        "london": aggregate_london(tallies, target_gbp=target),
        "boroughs": borough_entries(boroughs, valued_per_ha=valuation.by_borough),
        "pilots": aggregate_groups(
            sites, groupings, tallies, group_type="pilot", target_gbp=target, top_n=top_n
        ),
        "subregions": aggregate_groups(
            sites, groupings, tallies, group_type="subregion", target_gbp=target, top_n=top_n
        ),
        "pipeline": pipeline,
        "reconciliation": reconcile_land(records, sites, tallies),
        "counts": counts,
        "sources": [dict(s) for s in sources],
    }
    london = summary["london"]
    low, high = london.get("share_of_target_low"), london.get("share_of_target_high")
    log.info(
        "London: %.2f ha not delivering services at %d of %d located sites, %s of the target",
        london["land_unused_ha"] or 0.0,
        london["sites_with_unused_land"],
        london["sites_located"],
        # The range, as the headline gives it: the midpoint alone is never reported.
        f"{100 * low:.1f}%–{100 * high:.1f}%"
        if low is not None and high is not None and low != high
        else f"{100 * (london['share_of_target'] or 0.0):.1f}%",
    )
    return summary


def _bucket_tally(tallies: SiteTallies, bucket: str) -> Tally:
    """Return the tally of one :data:`RECONCILIATION_BUCKETS` bucket."""
    return tallies.rejected if bucket == "rejected" else tallies.of(*_TALLY_KEYS[bucket])


def _bucket(frame: pd.DataFrame, tally: Tally) -> dict[str, Any]:
    largest = [
        {
            "site_code": _text(row.get("site_code")),
            "site_name": _text(row.get("site_name")),
            "trust_name": _text(row.get("trust_name")),
            "land_owned_ha": _round(row.get("land_owned_ha"), 6),
            "land_unused_ha": _round(row.get("land_unused_ha"), 6),
        }
        for _, row in largest_rows(frame, _LARGEST).iterrows()
    ]
    return {
        "rows": tally.rows,
        "land_owned_ha": round(tally.total("land_owned_ha", missing=0.0), 6),
        "land_unused_ha": round(tally.total("land_unused_ha", missing=0.0), 6),
        "largest": largest,
    }
