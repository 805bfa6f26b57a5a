"""The ranking of a table in parts: the ranks and running totals of the table ranked whole."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd

from estates.builder.ranking import Ranking
from estates.report.disposal import CUMULATIVE_LISTED, cumulative_pipeline, milestones
from estates.stages.score import rank_sites

TARGET_GBP = 5_000.0


def _table(n: int, seed: int) -> pd.DataFrame:
    """Scored sites with ties, missing and empty codes, and many distinct texts."""
    rng = np.random.default_rng(seed)
    # Empty, missing, accented, upper and lower case, digits: sorted by code point.
    codes = np.array(["A", "B", "", None, "a", "É", "e", "Z", "10", "9", "ñ"], dtype=object)
    site = codes[rng.integers(0, len(codes), n)]
    unique = rng.uniform(0, 1, n) < 0.3
    site[unique] = [f"S{i:05d}" for i in rng.permutation(n)[: unique.sum()]]
    # Hundreds of trusts and sub-regions, so their codes do not fit in a byte.
    trusts = np.array([f"T{i:03d}" for i in range(300)] + ["", None], dtype=object)
    subregions = np.array([f"sub{i}" for i in range(400)] + [None], dtype=object)
    pilots = np.array(["p1", "p1;p2", "p2", "p3;p1", "", None], dtype=object)
    boroughs = np.array(["Barnet", "Brent", None], dtype=object)
    score = rng.choice([0.1, 0.5, 0.9, np.nan], n)
    score[: n // 10] = np.nan  # the first part has no candidate at all
    return pd.DataFrame(
        {
            "disposal_score": score,
            "site_code": site,
            "site_name": [f"Site {i}" if i % 7 else None for i in range(n)],
            "trust_code": trusts[rng.integers(0, len(trusts), n)],
            "subregion": pd.array(subregions[rng.integers(0, len(subregions), n)], dtype="string"),
            "pilots": pilots[rng.integers(0, len(pilots), n)],
            "borough_name": boroughs[rng.integers(0, len(boroughs), n)],
            "land_unused_ha": np.where(rng.uniform(0, 1, n) < 0.1, np.nan, rng.uniform(0, 1, n)),
            "estimated_value_gbp": np.where(
                rng.uniform(0, 1, n) < 0.1, np.nan, rng.uniform(0, 10, n)
            ),
        },
        index=pd.RangeIndex(1_000, 1_000 + n),
    )


def test_ranks_in_parts_are_the_whole_tables_with_ties_missing_codes_and_many_values():
    n = 6_000
    table = _table(n, seed=5)
    whole = rank_sites(table)
    ranking = Ranking(target_gbp=TARGET_GBP)
    cuts = [0, n // 10, n // 10, n // 10 + 1, 2_500, 2_501, 4_999, n]
    parts = [table.iloc[a:b] for a, b in itertools.pairwise(cuts)]
    for part in parts:
        ranking.add(part)
    released = []
    ranks = ranking.result(lambda: released.append(True), names=parts.__getitem__)
    ranked = pd.concat([ranks.of_part(i, part) for i, part in enumerate(parts)])
    columns = ["disposal_rank", "subregion_rank", "pilot_ranks"]
    pd.testing.assert_frame_equal(ranked[columns], whole[columns])
    assert ranks.ranked == int(table["disposal_score"].notna().sum()) > 2 * CUMULATIVE_LISTED
    assert released


def test_running_totals_in_parts_are_the_whole_tables():
    n = 6_000
    table = _table(n, seed=8)
    whole = rank_sites(table)
    ranking = Ranking(target_gbp=TARGET_GBP)
    parts = [table.iloc[a:b] for a, b in itertools.pairwise([0, 1_000, 1_001, 3_700, n])]
    for part in parts:
        ranking.add(part)
    running = ranking.result(names=parts.__getitem__).running
    listed = cumulative_pipeline(whole, target_gbp=TARGET_GBP, listed=CUMULATIVE_LISTED)
    assert running.entries() == listed
    assert [e["site_code"] for e in listed].count(None) > 0  # missing codes are listed as such
    every = cumulative_pipeline(whole, target_gbp=TARGET_GBP)
    assert running.milestones() == milestones(every)
    assert any(m["reached"] for m in running.milestones())


def test_a_ranking_with_no_candidate_ranks_nothing():
    table = _table(50, seed=1).assign(disposal_score=np.nan)
    ranking = Ranking(target_gbp=TARGET_GBP)
    parts = [table.iloc[:20], table.iloc[20:]]
    for part in parts:
        ranking.add(part)
    ranks = ranking.result(names=parts.__getitem__)
    assert ranks.ranked == 0
    assert ranks.running.entries() == []
    ranked = ranks.of_part(1, table.iloc[20:])
    assert ranked["disposal_rank"].isna().all()
    assert ranked["pilot_ranks"].eq("").all()


def test_the_ranking_holds_no_site_name_and_reads_back_only_the_listed_ones():
    """A candidate's name is not kept: only the listed candidates' names are read back.

    Ten million sites have millions of candidates and only about 2,000 are
    listed; their names, kept as text, took about 110 MB of the build's peak.
    """
    import pyarrow as pa

    n = 12_000
    table = _table(n, seed=11)
    long = table.assign(site_name=[f"{'x' * 1_000} {i}" for i in range(n)])
    held = {}
    for which, frame in (("short", table), ("long", long)):
        ranking = Ranking(target_gbp=TARGET_GBP)
        before = pa.total_allocated_bytes()
        parts = [frame.iloc[a : a + 1_000] for a in range(0, n, 1_000)]
        for part in parts:
            ranking.add(part)
        held[which] = pa.total_allocated_bytes() - before
        asked: list[int] = []

        def names(i: int, parts: list[pd.DataFrame] = parts, asked: list[int] = asked):
            asked.append(i)
            return parts[i]

        running = ranking.result(names=names).running
        del ranking
    # A thousand characters a candidate, over 5,000 candidates, would be 5 MB.
    assert held["long"] - held["short"] < 100_000
    listed = cumulative_pipeline(rank_sites(long), target_gbp=TARGET_GBP, listed=CUMULATIVE_LISTED)
    assert running.entries() == listed
    assert len(asked) == len(set(asked))  # each part read once at most
