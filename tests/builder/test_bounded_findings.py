"""A file of junk rows gives a bounded ``rejected.csv``: the first of each check, then a count.

Every finding is still counted in ``summary.json``; ``rejected.csv`` lists the
first :data:`~estates.findings.MAX_FINDINGS_PER_CHECK` per file, action and
check, then one ``more_not_listed`` row saying how many were left out.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator

import numpy as np
import pandas as pd
import pytest

from estates.builder.engine import run_build
from estates.builder.pipeline import Inputs
from estates.builder.runner import BuildOptions, build_output_set
from estates.builder.sinks import FileSink, MemorySink
from estates.config import Config
from estates.findings import MAX_FINDINGS_PER_CHECK, OMITTED_CHECK, Findings
from estates.logs import reset_logging
from estates.stages.london import mark_london

JUNK_ROWS = 2_500


@pytest.fixture(autouse=True)
def _fresh_logging() -> Iterator[None]:
    yield
    reset_logging()


@pytest.fixture
def junk_pipeline(tmp_path):
    """One real site at a real stage, then rows whose site codes are not in the table."""
    path = tmp_path / "pipeline.csv"
    rows = ["site_code,stage,receipts_gbp,date", "RRP03,identified,,2018-04-01"]
    rows += [f"JUNK{i:06d},identified,,2018-04-01" for i in range(JUNK_ROWS)]
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return path


def test_findings_keep_the_first_of_each_check_and_count_the_rest():
    findings = Findings(max_per_check=3)
    for row in range(2, 12):
        findings.add("p.csv", row, "bad", action="rejected", check="unknown_site_code")
    findings.add("p.csv", 20, "blank", action="rejected", check="blank_site_code")
    findings.add("q.csv", 2, "bad", action="rejected", check="unknown_site_code")
    assert [f.row for f in findings if f.check == "unknown_site_code"] == [2, 3, 4, 2]
    assert findings.omitted == {("p.csv", "rejected", "unknown_site_code"): 7}
    assert findings.count("rejected") == 12
    assert findings.counts_by_check("rejected") == {"unknown_site_code": 11, "blank_site_code": 1}
    unlimited = Findings()
    for row in range(5000):
        unlimited.add("p.csv", row, "bad", action="flagged", check="x")
    assert len(unlimited) == 5000


def test_a_junk_pipeline_gives_a_bounded_rejected_csv_and_counts_every_row(tmp_path, junk_pipeline):
    out = tmp_path / "maps"
    build_output_set(BuildOptions(out=out, inputs=Inputs(pipeline=junk_pipeline), maps=False))
    rejected = pd.read_csv(out / "rejected.csv", dtype=str, keep_default_na=False)
    unknown = rejected[rejected["check"] == "unknown_site_code"]
    assert len(unknown) == MAX_FINDINGS_PER_CHECK
    assert unknown["row"].astype(int).tolist() == list(range(3, 3 + MAX_FINDINGS_PER_CHECK))
    more = rejected[rejected["check"] == OMITTED_CHECK]
    assert len(more) == 1
    tail = more.iloc[0]
    assert tail["source_file"] == "pipeline.csv"
    assert tail["column"] == "unknown_site_code"
    assert tail["action"] == "rejected"
    assert int(tail["value"]) == JUNK_ROWS - MAX_FINDINGS_PER_CHECK
    assert "and 1,500 more rejected rows of check unknown_site_code" in tail["reason"]
    assert rejected.index[-1] == more.index[0]  # the count comes last
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    text = json.dumps(summary)
    assert '"unknown_site_code": 2500' in text


def test_site_findings_are_capped_across_parts(tmp_path):
    sites = tmp_path / "sites.csv"
    lines = ["site_code,site_name,latitude,longitude"]
    lines += [f"S{i:05d},Site {i},151.5,-0.1" for i in range(1_500)]
    lines.append("RAL01,Royal Free Hospital,51.553,-0.165")
    sites.write_text("\n".join(lines) + "\n", encoding="utf-8")
    sink = MemorySink()
    result = run_build(Inputs(sites=(sites,)), config=Config(), sink=sink, chunk_rows=400)
    assert result.counts["records_rejected"] == 1_500
    counted = result.counts["rejected_by_check"]
    listed: dict[str, int] = {}
    omitted: dict[str, int] = {}
    for finding in result.findings:
        if finding.action != "rejected":
            continue
        if finding.check == OMITTED_CHECK:
            omitted[str(finding.column)] = int(finding.value or 0)
        else:
            listed[finding.check] = listed.get(finding.check, 0) + 1
    capped = [check for check, n in counted.items() if n > MAX_FINDINGS_PER_CHECK]
    assert capped, counted
    for check, n in counted.items():
        assert listed[check] == min(n, MAX_FINDINGS_PER_CHECK)
        assert listed[check] + omitted.get(check, 0) == n
    assert result.rejected_rows == len(result.findings)


def test_merging_a_stage_s_findings_keeps_the_cap_and_the_counts():
    stage = Findings(max_per_check=2)
    for row in range(2, 7):
        stage.add("p.csv", row, "bad", action="rejected", check="unknown_site_code")
    collected = Findings(max_per_check=3)
    collected.add("p.csv", 1, "bad", action="rejected", check="unknown_site_code")
    collected.add("p.csv", 1, "blank", action="rejected", check="blank_site_code")
    collected.merge(stage)
    assert [f.row for f in collected if f.check == "unknown_site_code"] == [1, 2, 3]
    assert collected.count("rejected") == 7
    unbounded = Findings()
    unbounded.merge(stage)
    assert [f.row for f in unbounded] == [2, 3]
    assert unbounded.count("rejected") == 5


@pytest.mark.parametrize("given", ["lists", "arrays", "values_by_function"])
@pytest.mark.parametrize("limit", [None, 2, 0])
def test_findings_added_row_by_row_or_together_are_the_same(limit, given) -> None:
    """``add_rows`` keeps and counts exactly what one ``add`` per row would."""
    files = ["a.csv", "a.csv", "b.csv", "a.csv", "b.csv", "b.csv"]
    rows = [2, 3, 2, 5, 9, 4]
    codes = ["RAL01", pd.NA, None, float("nan"), "<b>X</b>", 7]
    values = ["51.50000, -0.10000", None, "x", "", pd.NA, "=1+2"]
    one, many = Findings(max_per_check=limit), Findings(max_per_check=limit)
    one.add("a.csv", 1, "first", action="flagged", check="outside_london")
    many.add("a.csv", 1, "first", action="flagged", check="outside_london")
    for file, row, code, value in zip(files, rows, codes, values, strict=True):
        one.add(file, row, "far", action="flagged", check="outside_london",
                site_code=code, column="geometry", value=value)  # fmt: skip
    asked: list[list[int]] = []

    def value_of(kept):
        asked.append(kept.tolist())
        return [values[i] for i in kept]

    given_files, given_rows, given_codes, given_values = files, rows, codes, values
    if given == "arrays":
        given_files, given_codes = np.array(files, dtype=object), np.array(codes, dtype=object)
        given_rows, given_values = np.array(rows), np.array(values, dtype=object)
    elif given == "values_by_function":
        given_values = value_of
    many.add_rows(given_files, given_rows, "far", action="flagged", check="outside_london",
                  site_codes=given_codes, column="geometry", values=given_values)  # fmt: skip
    assert many.items == one.items
    assert dict(many.omitted) == dict(one.omitted)  # no key counted as 0 omitted
    assert len(many.items) == {None: 7, 2: 4, 0: 0}[limit]
    if given == "values_by_function":  # asked once, for the rows kept only
        assert asked == [{None: [0, 1, 2, 3, 4, 5], 2: [0, 2, 4], 0: []}[limit]]
    with pytest.raises(ValueError, match="for every row"):
        many.add_rows(files, rows[:2], "far", action="flagged", check="c",
                      site_codes=codes, column=None, values=values)  # fmt: skip


def test_a_bounded_stage_lists_and_counts_what_the_sink_would(bundled_result) -> None:
    """``mark_london`` with ``max_findings`` keeps the sink's first findings and counts the rest."""
    joined = bundled_result.sites.copy()
    joined["join_method"] = "outside"
    every = mark_london(joined).findings
    bounded = mark_london(joined, max_findings=3).findings
    assert len(every) == len(joined) > 3
    per_file = Counter(f.source_file for f in every)
    first = [f for i, f in enumerate(every) if sum(g.source_file == f.source_file
             for g in every.items[:i]) < 3]  # fmt: skip
    assert bounded.items == first
    assert bounded.omitted == {
        (name, "flagged", "outside_london"): n - 3 for name, n in per_file.items() if n > 3
    }
    assert bounded.count("flagged") == every.count("flagged")


@pytest.mark.parametrize("early", [True, False], ids=["findings-closed-first", "close-only"])
def test_the_count_row_is_written_once_however_the_sink_is_closed(tmp_path, early, bundled_result):
    # The engine closes the findings before it hands the result on, and the
    # sink as a whole after the site table is written: the count row is
    # written once either way, and the rows counted are the rows written.
    sink = FileSink(tmp_path, keep=True)
    sink.write_sites(bundled_result.sites)
    findings = Findings(max_per_check=2)
    for row in range(2, 7):
        findings.add("p.csv", row, "bad", action="rejected", check="unknown_site_code")
    sink.write_findings(findings)
    if early:
        sink.close_findings()
        assert sink.counts.rows == 3
    sink.close()
    sink.close_findings()
    rejected = pd.read_csv(tmp_path / "rejected.csv", dtype=str, keep_default_na=False)
    assert rejected["check"].tolist() == ["unknown_site_code"] * 2 + [OMITTED_CHECK]
    assert sink.counts.rows == len(rejected) == 3
    assert sink.memory is not None
    assert [f.check for f in sink.memory.findings] == rejected["check"].tolist()
    assert len(pd.read_parquet(tmp_path / "sites.parquet")) == len(bundled_result.sites)
