"""The one build engine: inputs checked at the edges, ranking in parts, one result type."""

from __future__ import annotations

import itertools
import logging

import numpy as np
import pandas as pd
import pytest
from seeded import write_seeded_sites

from estates.builder.accumulators import ScaleTotals, SeenKeys
from estates.builder.engine import BuildResult, run_build
from estates.builder.ranking import Ranking
from estates.builder.reference import Inputs
from estates.builder.sinks import MemorySink
from estates.config import Config
from estates.errors import DataValidationError
from estates.stages.score import rank_sites

N_SITES = 20_000


@pytest.fixture(scope="module")
def many_sites(tmp_path_factory):
    """A seeded site file large enough that joining it takes a noticeable while."""
    return write_seeded_sites(tmp_path_factory.mktemp("engine") / "sites.csv", N_SITES, seed=16)


BAD_FILES = {
    "land_values": (
        "borough_code,value_gbp_per_ha,source\nE09999999,1000000,made up\n",
        "borough_code E09999999 is not in the borough boundaries",
    ),
    "pipeline": ("site_code,when\nS000001,2020-01-01\n", "pipeline.csv"),
    "locations": ("site_code,latitude\nS000001,51.5\n", "locations.csv"),
}


@pytest.mark.parametrize("which", sorted(BAD_FILES))
def test_a_bad_optional_file_fails_before_any_site_is_read(which, many_sites, tmp_path, caplog):
    text, message = BAD_FILES[which]
    bad = tmp_path / f"{which}.csv"
    bad.write_text(text, encoding="utf-8")
    inputs = Inputs(sites=(many_sites,), **{which: bad})
    with (
        caplog.at_level(logging.DEBUG, logger="estates"),
        pytest.raises(DataValidationError, match=message),
    ):
        run_build(inputs, config=Config(), sink=MemorySink())
    said = [r.getMessage() for r in caplog.records]
    assert not [m for m in said if m.startswith(("validated ", "joined ", "read "))], said


def test_a_good_build_reads_every_other_input_before_the_sites(many_sites, caplog):
    with caplog.at_level(logging.DEBUG, logger="estates"):
        result = run_build(
            Inputs(sites=(many_sites,)), config=Config(), sink=MemorySink(), chunk_rows=7_000
        )
    said = [r.getMessage() for r in caplog.records]
    checked = next(i for i, m in enumerate(said) if m.startswith("read and checked the inputs"))
    joined = next(i for i, m in enumerate(said) if m.startswith("joined "))
    assert checked < joined
    assert isinstance(result, BuildResult)
    assert result.sites is not None
    assert len(result.sites) == result.rows == N_SITES
    assert result.findings is not None
    assert len(result.findings) == result.rejected_rows


def test_the_site_keys_are_let_go_once_every_part_is_read(many_sites, monkeypatch):
    """DuckDB's site keys find duplicates in pass 1 only: it is closed before valuing.

    Left open until the build ended, it held about 70 MiB of keys at ten
    million sites through the passes where the build's peak is.
    """
    closed: list[bool] = []
    open_when_valued: list[bool] = []
    close, add = SeenKeys.close, ScaleTotals.add

    def closing(self: SeenKeys) -> None:
        closed.append(True)
        close(self)

    def adding(self: ScaleTotals, valued: pd.DataFrame) -> None:
        open_when_valued.append(not any(closed))
        add(self, valued)

    monkeypatch.setattr(SeenKeys, "close", closing)
    monkeypatch.setattr(ScaleTotals, "add", adding)
    run_build(Inputs(sites=(many_sites,)), config=Config(), sink=MemorySink(), chunk_rows=7_000)
    # Three parts of 7,000: each valued after the keys were let go.
    assert open_when_valued == [False, False, False]


def test_ranking_in_parts_is_rank_sites_on_the_whole_table():
    rng = np.random.default_rng(3)
    n = 500
    table = pd.DataFrame(
        {
            # Few distinct scores and codes, so ties are broken by code, trust, then order.
            "disposal_score": rng.choice([0.1, 0.5, 0.9, np.nan], n),
            "site_code": rng.choice(["A", "B", "C", None], n),
            "trust_code": rng.choice(["T1", "T2", None], n),
            "subregion": pd.array(rng.choice(["ncl", "sel", None], n), dtype="string"),
            "pilots": rng.choice(["p1", "p1;p2", "p2", "", None], n),
            "site_name": "x",
            "borough_name": "y",
            "land_unused_ha": rng.uniform(0, 1, n),
            "estimated_value_gbp": rng.uniform(0, 10, n),
        }
    )
    whole = rank_sites(table)
    ranking = Ranking(target_gbp=100.0)
    cuts = [0, 1, 97, 98, 300, n]
    parts = [table.iloc[a:b] for a, b in itertools.pairwise(cuts)]
    for part in parts:
        ranking.add(part)
    ranks = ranking.result(names=parts.__getitem__)
    ranked = pd.concat([ranks.of_part(i, part) for i, part in enumerate(parts)])
    columns = ["disposal_rank", "subregion_rank", "pilot_ranks"]
    pd.testing.assert_frame_equal(ranked[columns], whole[columns])
    assert ranks.ranked == int(table["disposal_score"].notna().sum())


def test_a_land_values_file_missing_a_borough_fails_before_any_site_is_read(
    many_sites, tmp_path, caplog
):
    # Every borough but Harrow (E09000015), in £/ha.
    rows = "".join(f"E090000{i:02d},20000000,test fixture\n" for i in range(1, 34) if i != 15)
    bad = tmp_path / "land_values.csv"
    bad.write_text("borough_code,value_gbp_per_ha,source\n" + rows, encoding="utf-8")
    with (
        caplog.at_level(logging.DEBUG, logger="estates"),
        pytest.raises(
            DataValidationError,
            match=r"land_values.csv has no value_gbp_per_ha for borough E09000015 \(Harrow\) "
            r"\(1 of the boundaries' 33 boroughs\)",
        ),
    ):
        run_build(Inputs(sites=(many_sites,), land_values=bad), config=Config(), sink=MemorySink())
    said = [r.getMessage() for r in caplog.records]
    assert not [m for m in said if m.startswith(("validated ", "joined ", "read "))], said


def test_the_valuation_range_adds_up_the_same_in_parts_and_whole(many_sites):
    whole = run_build(Inputs(sites=(many_sites,)), config=Config(), sink=MemorySink())
    parts = run_build(
        Inputs(sites=(many_sites,)), config=Config(), sink=MemorySink(), chunk_rows=7_000
    )
    for key in ("value_low_gbp", "value_high_gbp", "share_of_target_low", "share_of_target_high"):
        assert parts.summary["london"][key] == pytest.approx(whole.summary["london"][key])
    assert whole.summary["london"]["value_low_gbp"] > 0
    pd.testing.assert_series_equal(
        parts.sites["value_mid_gbp"].reset_index(drop=True),
        whole.sites["value_mid_gbp"].reset_index(drop=True),
    )
