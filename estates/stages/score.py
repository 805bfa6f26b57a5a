"""Score and rank sites for disposal: a documented, additive, changeable score.

Only *candidates* are scored and ranked: sites located inside Greater London
with some land not delivering services (``land_unused_ha > 0``). For each
candidate, with the weights of :class:`estates.config.ScoreConfig` divided by
their sum (``w_value + w_share + w_backlog``) so that they are relative::

    score_value       = w_value   × estimated_value_gbp / largest estimated value
    score_share       = w_share   × land_unused_share                  (already 0-1)
    score_backlog     = w_backlog × backlog_avoided_gbp / largest backlog avoided
    score_constraints = penalty_pfi × pfi + penalty_quality × (any unresolved flag)
    disposal_score    = clip(score_value + score_share + score_backlog
                             - score_constraints, 0, 1)

where ``backlog_avoided_gbp = backlog_total_gbp × land_unused_share`` (the
backlog attached to the land disposed of) and "largest" is taken over the
candidates. A missing input counts as 0 for its part. Dividing by the largest
value (not min-max, not ranks) keeps this property: a site's score never falls
when its unused land grows and all else is equal. See ``docs/scoring.md``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import pandas as pd

from estates.config import ScoreConfig
from estates.frames import flag_column, number_column
from estates.logs import counted
from estates.stages.measures import assign_columns

log = logging.getLogger("estates")

#: Quality flags that lower a site's score: its land or its place is in doubt
#: until a person checks it. ``outside_london`` and ``unlocated`` are not here:
#: such sites are never candidates.
UNRESOLVED_FLAGS = ("implausible_land_area", "name_match_review", "joined_to_nearest_borough")
#: Columns :func:`score_unused_land` adds, in order.
SCORE_COLUMNS = (
    "backlog_avoided_gbp",
    "unresolved_flags",
    "score_value",
    "score_share",
    "score_backlog",
    "score_constraints",
    "disposal_score",
)
#: Columns :func:`rank_sites` adds, in order.
RANK_COLUMNS = ("disposal_rank", "subregion_rank", "pilot_ranks")


def disposal_candidates(sites: pd.DataFrame) -> pd.Series:
    """Return True for sites that are scored and ranked.

    A candidate is located inside Greater London (``in_london``), is not an
    ERIC aggregate row, and has ``land_unused_ha > 0``.

    Examples
    --------
    >>> f = pd.DataFrame({"in_london": [True, True, False], "land_unused_ha": [1.0, 0.0, 3.0]})
    >>> disposal_candidates(f).tolist()
    [True, False, False]
    """
    in_london = flag_column(sites, "in_london")
    aggregate = flag_column(sites, "is_aggregate")
    unused = number_column(sites, "land_unused_ha")
    return (in_london & ~aggregate & (unused > 0)).rename("candidate")


def unresolved_flags(flags: pd.Series) -> pd.Series:
    """Return the ``;``-separated :data:`UNRESOLVED_FLAGS` among each row's ``quality_flags``.

    Examples
    --------
    >>> unresolved_flags(pd.Series(["", "outside_london;name_match_review", None])).tolist()
    ['', 'name_match_review', '']
    """

    def keep(text: object) -> str:
        if not isinstance(text, str):
            return ""
        return ";".join(f for f in text.split(";") if f in UNRESOLVED_FLAGS)

    # Each distinct text once (a few combinations of flags), not once per row.
    position, distinct = pd.factorize(flags)
    kept = np.array([*(keep(text) for text in distinct), ""], dtype=object)
    return pd.Series(kept[position], index=flags.index, name="unresolved_flags").astype("string")


@dataclass(frozen=True)
class ScoreScale:
    """The score's divisors: the largest estimated value and backlog avoided (£).

    Taken over the candidates of the whole site table; a part of the table
    is scored with the whole table's scale, so its scores equal those of the
    table scored whole. Both are 0 when no candidate has a positive value.
    """

    value_gbp: float = 0.0
    backlog_gbp: float = 0.0

    @classmethod
    def of(cls, sites: pd.DataFrame) -> ScoreScale:
        """Return the scale of ``sites`` taken whole.

        Examples
        --------
        >>> f = pd.DataFrame({"in_london": [True, True], "land_unused_ha": [1.0, 0.0],
        ...     "land_unused_share": [0.5, 0.0], "estimated_value_gbp": [20.0, 90.0],
        ...     "backlog_total_gbp": [8.0, 1.0]})
        >>> ScoreScale.of(f)
        ScoreScale(value_gbp=20.0, backlog_gbp=4.0)
        """
        candidate = disposal_candidates(sites)
        share = number_column(sites, "land_unused_share").clip(0.0, 1.0)
        backlog_avoided = number_column(sites, "backlog_total_gbp") * share
        return cls(
            _largest(number_column(sites, "estimated_value_gbp"), candidate),
            _largest(backlog_avoided, candidate),
        )

    def __or__(self, other: ScoreScale) -> ScoreScale:
        """Return the scale of two parts taken together (the larger of each divisor)."""
        return ScoreScale(
            max(self.value_gbp, other.value_gbp), max(self.backlog_gbp, other.backlog_gbp)
        )


def score_unused_land(
    sites: pd.DataFrame,
    *,
    config: ScoreConfig | None = None,
    scale: ScoreScale | None = None,
) -> pd.DataFrame:
    """Return a copy of ``sites`` with the disposal score and its parts.

    Parameters
    ----------
    sites : pandas.DataFrame or geopandas.GeoDataFrame
        The measured and valued site table (:func:`estates.stages.measures.measure_sites`,
        :func:`estates.stages.valuation.value_sites`), in any CRS. Left unchanged.
    config : ScoreConfig, optional
        Weights and penalties; default ``ScoreConfig()``.
    scale : ScoreScale, optional
        The divisors of the whole table ``sites`` is a part of; default:
        ``ScoreScale.of(sites)``.

    Returns
    -------
    pandas.DataFrame or geopandas.GeoDataFrame
        Same type, index and CRS, with :data:`SCORE_COLUMNS`:
        ``backlog_avoided_gbp`` (£), ``unresolved_flags`` (text), and the
        weighted parts ``score_value``, ``score_share``, ``score_backlog``,
        ``score_constraints`` and ``disposal_score`` in [0, 1] (unitless; NaN
        for sites that are not :func:`disposal_candidates`).

    Examples
    --------
    >>> f = pd.DataFrame({"site_code": ["A", "B", "C"], "in_london": [True, True, True],
    ...     "land_unused_ha": [2.0, 1.0, 0.0], "land_unused_share": [0.5, 1.0, 0.0],
    ...     "estimated_value_gbp": [20.0, 10.0, 0.0], "backlog_total_gbp": [np.nan, 8.0, 1.0],
    ...     "pfi": [False, True, False], "quality_flags": ["", "", ""]})
    >>> out = score_unused_land(f)
    >>> parts = ["score_value", "score_share", "score_backlog", "score_constraints"]
    >>> out[parts].round(3).values.tolist()
    [[0.5, 0.15, 0.0, 0.0], [0.25, 0.3, 0.2, 0.25], [nan, nan, nan, nan]]
    >>> out["disposal_score"].round(3).tolist()
    [0.65, 0.5, nan]
    """
    columns = score_columns(sites, config=config, scale=scale)
    out = assign_columns(sites, columns)
    log.info(
        "scored %s (in London, with unused land); %d with a PFI or unresolved-flag penalty",
        counted(int(disposal_candidates(sites).sum()), "candidate site"),
        int((columns["score_constraints"] > 0).sum()),
    )
    return out


def score_columns(
    sites: pd.DataFrame,
    *,
    config: ScoreConfig | None = None,
    scale: ScoreScale | None = None,
) -> dict[str, pd.Series]:
    """Return :func:`score_unused_land`'s new columns, by name, without logging.

    ``assign_columns(sites, score_columns(sites))`` is ``score_unused_land(sites)``:
    a build in parts scores each part twice, once to rank every candidate and
    once as it writes the part, and logs the first time only.
    """
    config = config or ScoreConfig()
    candidate = disposal_candidates(sites)
    share = number_column(sites, "land_unused_share").clip(0.0, 1.0)
    backlog_avoided = number_column(sites, "backlog_total_gbp") * share
    value = number_column(sites, "estimated_value_gbp")
    total_weight = config.weight_value + config.weight_share + config.weight_backlog
    w_value = config.weight_value / total_weight
    w_share = config.weight_share / total_weight
    w_backlog = config.weight_backlog / total_weight
    flags = unresolved_flags(
        sites["quality_flags"]
        if "quality_flags" in sites
        else pd.Series("", index=sites.index, dtype="string")
    )
    pfi = flag_column(sites, "pfi")

    def part(series: pd.Series, weight: float) -> pd.Series:
        return (weight * series.fillna(0.0)).where(candidate)

    scale = scale or ScoreScale(
        _largest(value, candidate),
        _largest(backlog_avoided, candidate),
    )
    top_value, top_backlog = scale.value_gbp, scale.backlog_gbp
    score_value = part(_scaled(value, top_value), w_value)
    score_share = part(share, w_share)
    score_backlog = part(_scaled(backlog_avoided, top_backlog), w_backlog)
    constraints = (
        config.penalty_pfi * pfi.astype(float) + config.penalty_quality * flags.ne("").astype(float)
    ).where(candidate)
    raw = score_value + score_share + score_backlog - constraints
    return {
        "backlog_avoided_gbp": backlog_avoided,
        "unresolved_flags": flags,
        "score_value": score_value,
        "score_share": score_share,
        "score_backlog": score_backlog,
        "score_constraints": constraints,
        "disposal_score": raw.clip(0.0, 1.0),
    }


def rank_sites(sites: pd.DataFrame) -> pd.DataFrame:
    """Return a copy of ``sites`` ranked by ``disposal_score`` across London and within groups.

    Candidates are ordered by ``disposal_score`` (highest first), ties broken
    by ``site_code`` then ``trust_code`` (alphabetical), so the order is
    deterministic. Other rows get NA.

    Parameters
    ----------
    sites : pandas.DataFrame or geopandas.GeoDataFrame
        The scored site table (:func:`score_unused_land`), with ``subregion``
        and ``pilots``. Left unchanged.

    Returns
    -------
    pandas.DataFrame or geopandas.GeoDataFrame
        Same type, index and CRS, with ``disposal_rank`` (Int64, 1 = best, across
        London), ``subregion_rank`` (Int64, within the site's sub-region) and
        ``pilot_ranks`` (text, ``pilot_id:rank`` per pilot the site's borough is
        in, ``;``-separated in the ``pilots`` order; ``""`` for none).

    Examples
    --------
    >>> f = pd.DataFrame({"site_code": ["B", "A", "C"], "disposal_score": [0.4, 0.4, np.nan],
    ...     "subregion": ["ncl", "ncl", "ncl"], "pilots": ["p1;p2", "p2", "p1"]})
    >>> rank_sites(f)[["disposal_rank", "subregion_rank", "pilot_ranks"]].values.tolist()
    [[2, 2, 'p1:1;p2:2'], [1, 1, 'p2:1'], [<NA>, <NA>, '']]
    """
    score = number_column(sites, "disposal_score")
    ranked = sites.loc[score.notna()].copy()
    ranked["_score"] = score[score.notna()]
    ranked["_site"] = ranked["site_code"].astype("string").fillna("")
    ranked["_trust"] = (
        ranked["trust_code"].astype("string").fillna("") if "trust_code" in ranked else ""
    )
    ranked = ranked.sort_values(
        ["_score", "_site", "_trust"], ascending=[False, True, True], kind="mergesort"
    )
    disposal_rank = pd.Series(pd.NA, index=sites.index, dtype="Int64")
    disposal_rank[ranked.index] = np.arange(1, len(ranked) + 1)
    subregion_rank = pd.Series(pd.NA, index=sites.index, dtype="Int64")
    if "subregion" in ranked:
        sub = ranked["subregion"].astype("string")
        for _, index in ranked[sub.notna()].groupby(sub[sub.notna()], sort=False).groups.items():
            subregion_rank[index] = np.arange(1, len(index) + 1)
    pilot_rank: dict[object, dict[str, int]] = {}
    if "pilots" in ranked:
        counter: dict[str, int] = {}
        for idx, pilots in ranked["pilots"].astype("string").fillna("").items():
            for pilot in filter(None, pilots.split(";")):
                counter[pilot] = counter.get(pilot, 0) + 1
                pilot_rank.setdefault(idx, {})[pilot] = counter[pilot]
    pilot_text = pd.Series(
        [";".join(f"{p}:{r}" for p, r in pilot_rank.get(i, {}).items()) for i in sites.index],
        index=sites.index,
        dtype="string",
    )
    out = _with_ranks(sites, disposal_rank, subregion_rank, pilot_text)
    log.info("ranked %s across London", counted(len(ranked), "candidate site"))
    return out


def unranked(sites: pd.DataFrame) -> pd.DataFrame:
    """Return a copy of ``sites`` with :func:`rank_sites`'s columns, every rank empty.

    The build ranks the whole table at once (:mod:`estates.builder.ranking`) and
    fills these in; this gives it the columns and types :func:`rank_sites` would.

    Examples
    --------
    >>> unranked(pd.DataFrame({"site_code": ["A"]})).dtypes.astype(str).tolist()[1:]
    ['Int64', 'Int64', 'string']
    """
    missing = pd.Series(pd.NA, index=sites.index, dtype="Int64")
    empty = pd.Series("", index=sites.index, dtype="string")
    return _with_ranks(sites, missing, missing.copy(), empty)


def _with_ranks(
    sites: pd.DataFrame, disposal: pd.Series, subregion: pd.Series, pilots: pd.Series
) -> pd.DataFrame:
    return assign_columns(
        sites, {"disposal_rank": disposal, "subregion_rank": subregion, "pilot_ranks": pilots}
    )


def _largest(values: pd.Series, candidate: pd.Series) -> float:
    """Return the largest positive value among candidates (0 if none)."""
    clean = values.where(values > 0, 0.0).fillna(0.0)
    return float(clean[candidate].max()) if candidate.any() else 0.0


def _scaled(values: pd.Series, top: float) -> pd.Series:
    """Return ``values`` (missing and negative as 0) over ``top``; all 0 unless ``top`` > 0."""
    clean = values.where(values > 0, 0.0).fillna(0.0)
    if not top > 0:
        return pd.Series(0.0, index=values.index)
    return clean / top
