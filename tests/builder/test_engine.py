"""The one build engine: inputs checked at the edges, ranking in parts, one result type."""

from __future__ import annotations

import itertools
import json
import logging

import numpy as np
import pandas as pd
import pytest
from seeded import write_seeded_sites

import estates.builder.engine as engine_module
from estates.builder.accumulators import ScaleTotals, SeenKeys
from estates.builder.engine import BuildResult, run_build
from estates.builder.ranking import Ranking
from estates.builder.reference import Inputs, load_reference
from estates.builder.sinks import MemorySink
from estates.builder.years import load_years
from estates.config import Config
from estates.errors import DataValidationError
from estates.findings import Findings
from estates.io import bundled
from estates.report.years import year_sections
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


class _OrderSink(MemorySink):
    """Notes, in ``events``, each part of the site table it takes and its closing."""

    def __init__(self, events: list[str]) -> None:
        super().__init__()
        self.events = events

    def write_sites(self, sites):
        self.events.append("sites")
        super().write_sites(sites)

    def close(self):
        self.events.append("close")
        super().close()


def test_ready_sees_what_the_maps_need_before_the_table_and_the_other_years():
    events: list[str] = []
    seen = {}

    def ready(result: BuildResult) -> None:
        events.append("ready")
        seen["years"] = list(result.summary["years"])
        seen["keys"] = set(result.summary)
        seen["held back"] = (result.site_years, result.sites, result.findings)
        seen["summary"] = result.summary
        seen["years mapping"] = result.summary["years"]

    result = run_build(Inputs(), config=Config(), sink=_OrderSink(events), ready=ready)
    # A build in one part writes its table only once ready has returned.
    assert events == ["ready", "sites", "close"]
    assert seen["years"] == [result.summary["headline_year"]] == ["2019/20"]
    assert seen["held back"] == (None, None, None)
    later = {"land_over_time", "change_since", "disposal_candidates"}
    assert not later & seen["keys"]
    # The same summary, completed: every year in order, and the comparisons.
    assert seen["summary"] is result.summary
    assert seen["years mapping"] is result.summary["years"]
    assert list(result.summary["years"]) == ["2013/14", "2014/15", "2015/16", "2016/17", "2019/20"]
    assert later <= set(result.summary)
    assert result.site_years is not None
    assert len(result.sites) == result.rows == 185


@pytest.mark.parametrize(("result", "year"), [("bundled_result", None), ("result_2016", "2016/17")])
def test_the_years_sections_made_in_two_steps_equal_those_made_at_once(request, result, year):
    # The headline last (2019/20), and in the middle with the trust-level check (2016/17).
    summary = request.getfixturevalue(result).summary
    ref = load_reference(Inputs(), findings=Findings(), valuation=Config().valuation)
    years = load_years(
        (),
        year=year,
        context=ref.context,
        boroughs_bng=ref.boroughs_bng,
        groupings=ref.groupings,
        nearest_within_m=Config().validation.nearest_within_m,
    )
    at_once = year_sections(
        years.located,
        years.returns,
        trust_totals=ref.trust_totals,
        trust_file=bundled.eric_trust_path().name,
        shared=years.shared,
    )
    # NaN is not equal to itself: compare the JSON the summary is written as.
    assert json.dumps(summary["years"]) == json.dumps(at_once)


def test_a_build_in_parts_writes_and_closes_its_table_then_is_ready(many_sites):
    events: list[str] = []
    run_build(
        Inputs(sites=(many_sites,)),
        config=Config(),
        sink=_OrderSink(events),
        chunk_rows=7_000,
        ready=lambda result: events.append("ready"),
    )
    assert events == ["sites", "sites", "sites", "close", "ready"]


def test_an_error_in_ready_fails_the_build_and_writes_no_table():
    events: list[str] = []

    def ready(result: BuildResult) -> None:
        raise RuntimeError("the maps could not be prepared")

    with pytest.raises(RuntimeError, match="the maps could not be prepared"):
        run_build(Inputs(), config=Config(), sink=_OrderSink(events), ready=ready)
    assert events == []


@pytest.mark.parametrize("chunk_rows", [None, 7_000])
def test_the_build_joins_on_one_thread(many_sites, monkeypatch, chunk_rows):
    # The workers' chunks and borough indexes would add to a build's peak
    # memory, for a few hundredths of a second.
    asked: list[int | None] = []
    join = engine_module.join_boroughs

    def recorded(*args, **kwargs):
        asked.append(kwargs.get("threads"))
        return join(*args, **kwargs)

    monkeypatch.setattr(engine_module, "join_boroughs", recorded)
    run_build(
        Inputs(sites=(many_sites,)), config=Config(), sink=MemorySink(), chunk_rows=chunk_rows
    )
    assert asked
    assert set(asked) == {1}


def test_spilled_parts_are_written_once_valued_and_scored_again_as_they_are_written(
    many_sites, monkeypatch
):
    """Pass 3 ranks the scored parts without writing them back; pass 4 scores them again.

    The tables are those of a build in one part (``test_chunked``); here, that
    each spilled part is written once in pass 1 and once valued, never scored,
    and that the sink gets the same scored rows a build held in memory does.
    """
    written: list[list[str]] = []
    put = engine_module._Parts.put

    def putting(self, i: int, frame: pd.DataFrame) -> None:
        if self.work is not None:
            written.append(list(frame.columns))
        put(self, i, frame)

    monkeypatch.setattr(engine_module._Parts, "put", putting)
    parts, whole = MemorySink(), MemorySink()
    run_build(Inputs(sites=(many_sites,)), config=Config(), sink=parts, chunk_rows=7_000)
    assert len(written) == 3 + 3  # pass 1, then valued; pass 3 writes nothing
    assert all("disposal_score" not in columns for columns in written)
    assert all("estimated_value_gbp" in columns for columns in written[3:])
    run_build(Inputs(sites=(many_sites,)), config=Config(), sink=whole)
    spilled, held = parts.sites(), whole.sites()
    assert held["disposal_score"].notna().sum() > 100
    pd.testing.assert_frame_equal(spilled, held, check_like=False)


def test_score_columns_are_what_score_unused_land_adds(bundled_result):
    from estates.stages.measures import assign_columns
    from estates.stages.score import SCORE_COLUMNS, score_columns, score_unused_land

    sites = bundled_result.sites.drop(columns=list(SCORE_COLUMNS))
    columns = score_columns(sites)
    assert list(columns) == list(SCORE_COLUMNS)
    pd.testing.assert_frame_equal(assign_columns(sites, columns), score_unused_land(sites))


class _ExpectingSink(MemorySink):
    """Notes the rows it is told to expect, and the rows it gets."""

    def __init__(self) -> None:
        super().__init__()
        self.expected: list[int] = []
        self.rows = 0

    def expect_sites(self, rows):
        self.expected.append(rows)

    def write_sites(self, sites):
        self.rows += len(sites)
        super().write_sites(sites)


def test_a_build_in_parts_tells_the_sink_how_many_sites_will_come(many_sites):
    sink = _ExpectingSink()
    run_build(Inputs(sites=(many_sites,)), config=Config(), sink=sink, chunk_rows=7_000)
    assert sink.expected == [sink.rows]
    assert sink.rows > 7_000
