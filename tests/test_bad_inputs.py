"""The bad-input corpus: each file in tests/bad_inputs/ and what estates does with it.

``tests/bad_inputs/cases.toml`` lists every case. A bad file either stops the
run with one line naming the file, the row or column and the fix (exit code
2, no traceback), or loses one record to ``rejected.csv`` with the check that
caught it. Nothing crashes and no record disappears silently.
"""

from __future__ import annotations

import csv
import json
import tomllib
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from click.testing import CliRunner

from estates.builder.pipeline import Inputs, run
from estates.builder.runner import BuildOptions, build_output_set
from estates.cli import main
from estates.config import load_config
from estates.findings import MAX_FINDINGS_PER_CHECK, OMITTED_CHECK, Findings
from estates.io.inputs import load_disposal_pipeline, load_locations
from estates.io.tables import write_findings

CORPUS = Path(__file__).parent / "bad_inputs"
BOUNDARIES = Path(__file__).parents[1] / "data" / "boundaries" / "london_boroughs.geojson"
CASES: list[dict[str, Any]] = tomllib.loads((CORPUS / "cases.toml").read_text("utf-8"))["case"]
EXPECTS = {"error", "rejected", "flagged", "warning", "kept", "repaired", "escaped", "joined"}
#: The ``Inputs`` field each file option fills.
INPUT_FIELDS = {
    "--sites": "sites",
    "--boundaries": "boundaries",
    "--groupings": "groupings",
    "--locations": "locations",
    "--land-values": "land_values",
    "--pipeline": "pipeline",
}
#: Raw markup that must never reach a page.
MARKUP = ("<img src=x", "<script>alert", "<b onmouseover")


def _generate(kind: str, tmp_path: Path) -> Path:
    """Make a case's file when it cannot be a static file in the corpus."""
    if kind == "sparse_1gib_csv":
        # A valid start, then a hole up to 1 GiB: no disk used, the size is real.
        path = tmp_path / "huge.csv"
        with path.open("wb") as f:
            f.write(b"site_code,site_name,latitude,longitude\nA1,Big file,51.5,-0.1\n")
            f.truncate(1 << 30)
        return path
    if kind in {"junk_groupings_2mb", "junk_land_values_2mb"}:
        # Real rows, two megabytes of them: far more than a file of this kind holds.
        name = kind.removesuffix("_2mb")
        path = tmp_path / f"{name}.csv"
        header, row = (
            ("group_type,group_id,group_name,borough_code,source", "pilot,g{},G,E09000001,x")
            if "groupings" in kind
            else ("borough_code,value_gbp_per_ha,source", "E09000001,{},x")
        )
        lines = [header] + [row.format(i) for i in range(2_000_000 // (len(row) + 4))]
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        return path
    if kind.startswith(("boundaries_shapefile_", "sites_shapefile_")):
        return _damaged_shapefile(kind, tmp_path)
    raise AssertionError(f"unknown generator {kind!r}")


def _damaged_shapefile(kind: str, tmp_path: Path) -> Path:
    """Write a real Shapefile, then damage it as a bad copy or a mixed-up export would."""
    import geopandas as gpd
    from shapely.geometry import Point

    if kind.startswith("boundaries_"):
        layer = gpd.read_file(BOUNDARIES)
    else:
        layer = gpd.GeoDataFrame(
            {
                "site_code": ["RAL01", "RAN01", "RRP03"],
                "site_name": ["Royal Free Hospital", "Barnet Hospital", "St Ann's Hospital"],
            },
            geometry=[Point(527100, 185600), Point(522600, 196700), Point(532000, 189200)],
            crs="EPSG:27700",
        )
    path = tmp_path / f"{kind}.shp"
    layer.to_file(path, engine="pyogrio")
    if kind.endswith("_more_shapes"):
        # The .dbf of an export with fewer rows, beside the full .shp and .shx.
        fewer = tmp_path / "fewer.shp"
        layer.iloc[: len(layer) - 2].to_file(fewer, engine="pyogrio")
        path.with_suffix(".dbf").write_bytes(fewer.with_suffix(".dbf").read_bytes())
    elif kind.endswith("_truncated"):
        data = path.read_bytes()
        path.write_bytes(data[: len(data) - 10])
    return path


def _case_path(case: dict[str, Any], tmp_path: Path) -> Path:
    if "generate" in case:
        return _generate(case["generate"], tmp_path)
    return CORPUS / case["file"]


def _args(case: dict[str, Any], path: Path) -> list[str]:
    also = [str(CORPUS / a) if (CORPUS / a).is_file() else a for a in case.get("also", [])]
    return [case["option"], str(path), *also]


def _run_in_process(case: dict[str, Any], path: Path):
    option = case["option"]
    if option == "--config":
        return run(Inputs(), config=load_config(path))
    value = (path,) if option == "--sites" else path
    return run(Inputs(**{INPUT_FIELDS[option]: value}))


# --- the manifest itself -----------------------------------------------------------


def test_the_corpus_is_complete_and_every_file_is_a_case():
    assert len(CASES) >= 25
    ids = [c["id"] for c in CASES]
    assert len(ids) == len(set(ids)), "case ids must be unique"
    used = {"cases.toml"}
    for case in CASES:
        assert case["expect"] in EXPECTS, case["id"]
        assert case["option"] in {*INPUT_FIELDS, "--config", "join"}, case["id"]
        assert ("file" in case) != ("generate" in case), case["id"]
        names = [case.get("file"), *case.get("companions", []), *case.get("also", [])[1::2]]
        for name in filter(None, names):
            assert (CORPUS / name).is_file(), f"{case['id']}: {name} is not in {CORPUS.name}/"
            used.add(name)
        if case["expect"] == "error":
            assert case["exit_code"] == 2, case["id"]
            assert case["message"], case["id"]
        if case["expect"] in {"rejected", "flagged", "warning"}:
            assert case["check"], case["id"]
            assert case["message"], case["id"]
    orphans = sorted(p.name for p in CORPUS.iterdir() if p.name not in used)
    assert orphans == [], "every file in the corpus needs a case"


# --- each case -----------------------------------------------------------------------


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_bad_input(case: dict[str, Any], tmp_path: Path) -> None:
    path = _case_path(case, tmp_path)
    expect = case["expect"]
    if case["option"] == "join":
        _assert_join(case, path, tmp_path)
    elif expect == "error":
        _assert_one_line_error(case, path)
    elif expect == "repaired":
        result = CliRunner().invoke(main, ["validate", *_args(case, path)])
        assert result.exit_code == 0, result.stderr
        for fragment in case["message"]:
            assert fragment in result.stderr
    elif expect == "escaped":
        _assert_escaped(case, path, tmp_path)
    else:
        _assert_recorded(case, path, tmp_path)


def _assert_one_line_error(case: dict[str, Any], path: Path) -> None:
    """Exit code 2, one line naming the file and the fix, no traceback, no output."""
    result = CliRunner().invoke(main, ["--quiet", "validate", *_args(case, path)])
    assert result.exit_code == case["exit_code"], result.output
    assert result.stdout == ""
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    errors = [line for line in lines if line.startswith("estates: error: ")]
    assert errors == [lines[-1]], result.stderr
    [message] = errors
    for fragment in case["message"]:
        assert fragment in message
    if case["option"] != "--config":  # settings errors name [section] key instead
        assert path.name in message


def _assert_join(case: dict[str, Any], path: Path, tmp_path: Path) -> None:
    """`estates join`: a bad file is one line and no target; bad rows are flagged, not fatal."""
    target = tmp_path / "joined.parquet"
    result = CliRunner().invoke(main, ["--quiet", "join", str(path), str(target)])
    assert "Traceback" not in result.stderr
    if case["expect"] == "error":
        assert result.exit_code == case["exit_code"], result.output
        assert result.stdout == ""
        [message] = result.stderr.strip().splitlines()
        assert message.startswith("estates: error: ")
        assert path.name in message
        for fragment in case["message"]:
            assert fragment in message
        assert list(tmp_path.iterdir()) == []
        return
    assert result.exit_code == 0, result.output
    table = pd.read_parquet(target)
    flagged = table[table["join_problem"].notna()]
    assert [int(p.split(":")[0].removeprefix("row ")) for p in flagged["join_problem"]] == case[
        "rows"
    ]
    assert flagged["borough_code"].isna().all()
    assert flagged["join_method"].isna().all()
    for problem, fragment in zip(flagged["join_problem"], case["message"], strict=True):
        assert fragment in problem
        assert problem in result.stderr  # listed for the user, row number first
    assert sorted(table.loc[table["join_method"] == "within", "id"]) == case["within"]
    assert list(tmp_path.iterdir()) == [target]  # no temporary file left


def _assert_recorded(case: dict[str, Any], path: Path, tmp_path: Path) -> None:
    """The run goes on; the bad record is listed in rejected.csv with its check."""
    result = _run_in_process(case, path)
    counts = result.counts
    assert counts["records_in"] == counts["records_kept"] + counts["records_rejected"]
    assert len(result.sites) == counts["records_kept"]
    with write_findings(result.findings, tmp_path).open(encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    if case["expect"] == "kept":
        assert counts["records_rejected"] == 0
        assert sorted(result.sites["site_code"]) == sorted(case["site_codes"])
        assert not [r for r in rows if r["source_file"] == path.name]
        return
    matches = [
        r
        for r in rows
        if r["source_file"] == path.name
        and r["check"] == case["check"]
        and r["row"] == str(case.get("row", ""))
    ]
    assert len(matches) == 1, rows
    [row] = matches
    assert row["action"] == case["expect"]
    assert row["site_code"] == case.get("site_code", "")
    for fragment in case["message"]:
        assert fragment in row["reason"]
    kept_codes = set(result.sites["site_code"].dropna())
    if case["option"] == "--sites":
        assert counts["records_rejected"] == (case["expect"] == "rejected")
        if case["expect"] == "flagged":
            assert case["site_code"] in kept_codes
        elif case["check"] != "duplicate_site_code":  # the first OK1 stays
            assert case.get("site_code") not in kept_codes
    if "site_names" in case:
        assert sorted(result.sites["site_name"]) == sorted(case["site_names"])


def _assert_escaped(case: dict[str, Any], path: Path, tmp_path: Path) -> None:
    """A full build: the tables keep the text as given, the pages show it as text."""
    out = tmp_path / "maps"
    result = CliRunner().invoke(main, ["--quiet", "build", *_args(case, path), "--out", str(out)])
    assert result.exit_code == 0, result.stderr
    sites = pd.read_csv(out / "sites.csv", dtype=str, keep_default_na=False)
    assert sorted(sites["site_code"]) == sorted(case["site_codes"])
    assert "<img src=x onerror=alert('name')>" in set(sites["site_name"])
    pages = sorted(out.glob("*.html"))
    assert {"index.html", "london.html"} <= {p.name for p in pages}
    for page in pages:
        text = page.read_text(encoding="utf-8")
        for markup in MARKUP:
            assert markup not in text, f"{page.name} holds raw {markup!r}"
    # Escaped once as HTML (&lt; &#x27;), then as JSON inside the page (\u0026).
    london = (out / "london.html").read_text(encoding="utf-8").replace("\\u0026", "&")
    for field in ("code", "name", "type", "trust", "borough", "pilot"):
        assert f"alert(&#x27;{field}&#x27;)" in london, field
    assert "&lt;img src=x onerror=alert(&#x27;name&#x27;)&gt;" in london


# --- megabytes of junk rows: streamed, the detail bounded, the count exact -----------

#: Bytes of junk in the generated files: enough for thousands of rows past each cap.
JUNK_BYTES = 3_000_000


def _junk_file(path: Path, header: str, good: list[str], junk: str) -> int:
    """Write ``header``, the ``good`` rows, then junk rows up to :data:`JUNK_BYTES`; count them."""
    n = 0
    with path.open("w", encoding="utf-8", newline="") as f:
        f.write("\n".join([header, *good]) + "\n")
        while f.tell() < JUNK_BYTES:
            f.write(junk.format(i=n, zw="\u200b" if n % 2 else "") + "\n")
            n += 1
    return n


def _listed_and_omitted(
    rejected: pd.DataFrame, source: str
) -> tuple[dict[str, int], dict[str, int]]:
    mine = rejected[rejected["source_file"] == source]
    more = mine[mine["check"] == OMITTED_CHECK]
    listed = mine[mine["check"] != OMITTED_CHECK]["check"].value_counts().to_dict()
    omitted = dict(zip(more["column"], more["value"].astype(int), strict=True))
    return listed, omitted


def test_a_junk_pipeline_of_megabytes_keeps_the_first_of_each_check_and_counts_all(tmp_path):
    path = tmp_path / "pipeline.csv"
    n = _junk_file(
        path,
        "site_code,stage,receipts_gbp,date",
        ["RRP03,identified,,2018-04-01"],
        "JUNK{zw}{i:08d},demolished,lots,someday",
    )
    out = tmp_path / "maps"
    build_output_set(BuildOptions(out=out, inputs=Inputs(pipeline=path), maps=False))
    rejected = pd.read_csv(out / "rejected.csv", dtype=str, keep_default_na=False)
    listed, omitted = _listed_and_omitted(rejected, "pipeline.csv")
    checks = ["unknown_site_code", "unknown_stage", "bad_receipts", "bad_date"]
    # Every junk row fails these four checks; half carry a zero-width space, flagged at load.
    expected = {**dict.fromkeys(checks, n), "invisible_characters": n // 2}
    assert listed == dict.fromkeys(expected, MAX_FINDINGS_PER_CHECK)
    assert omitted == {c: k - MAX_FINDINGS_PER_CHECK for c, k in expected.items()}
    assert len(rejected) <= 6 * (MAX_FINDINGS_PER_CHECK + 1)
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    progress = summary["pipeline"]["progress"]
    assert (progress["rows_read"], progress["rows_accepted"], progress["rows_rejected"]) == (
        n + 1,
        1,
        n,
    )
    assert [s["site_code"] for s in progress["sites"]] == ["RRP03"]


def test_a_pipeline_of_nothing_but_junk_stops_with_the_exact_count(tmp_path):
    path = tmp_path / "junk.csv"
    n = _junk_file(path, "site_code,stage,receipts_gbp,date", [], "JUNK{i:08d},demolished,,2018")
    out = tmp_path / "maps"
    result = CliRunner().invoke(
        main, ["--quiet", "build", "--force", "--out", str(out), "--pipeline", str(path)]
    )
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.stderr
    [message] = result.stderr.strip().splitlines()
    assert message.startswith(f"estates: error: junk.csv: no usable rows ({n} rejected); ")
    assert "junk.csv row 2 (site JUNK00000000): site_code 'JUNK00000000' is not in" in message
    assert not out.exists()


def test_junk_locations_of_megabytes_keep_the_first_of_each_check_and_count_all(tmp_path):
    path = tmp_path / "locations.csv"
    n = _junk_file(
        path,
        "site_code,latitude,longitude,source",
        ["RRP03,51.5871,-0.0925,survey"],
        "JUNK{zw}{i:08d},north,west,",
    )
    out = tmp_path / "maps"
    build_output_set(BuildOptions(out=out, inputs=Inputs(locations=path), maps=False))
    rejected = pd.read_csv(out / "rejected.csv", dtype=str, keep_default_na=False)
    listed, omitted = _listed_and_omitted(rejected, "locations.csv")
    expected = {"blank_source": n, "invisible_characters": n // 2}
    # RRP03 is located by ERIC already: its row is listed as not needed, once.
    assert listed == {**dict.fromkeys(expected, MAX_FINDINGS_PER_CHECK), "location_not_needed": 1}
    assert omitted == {c: k - MAX_FINDINGS_PER_CHECK for c, k in expected.items()}
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert f'"blank_source": {n}' in json.dumps(summary)


@pytest.mark.parametrize("kind", ["pipeline", "locations"])
def test_a_junk_file_is_loaded_with_bounded_findings_and_compact_text(tmp_path, kind):
    """The loader itself keeps the first findings of each check, counts the rest exactly."""
    path = tmp_path / f"{kind}.csv"
    if kind == "pipeline":
        n = _junk_file(path, "site_code,stage,date", [], "JUNK{zw}{i:08d},demolished,someday")
        findings = Findings()
        records = load_disposal_pipeline(path, findings=findings)
        assert len(records) == n
        assert records["source_row"].tolist() == list(range(2, n + 2))
        text = ["site_code", "stage", "receipts_text", "date_text"]
        assert {str(records[c].dtype) for c in text} == {"string"}
        assert {records[c].array.dtype.storage for c in text} == {"pyarrow"}
        expected = {("pipeline.csv", "flagged", "invisible_characters"): n // 2}
    else:
        n = _junk_file(path, "site_code,latitude,longitude,source", [], "JUNK{zw}{i:08d},1,2,")
        findings = Findings()
        assert len(load_locations(path, findings=findings)) == 0  # every source is blank
        expected = {
            ("locations.csv", "flagged", "invisible_characters"): n // 2,
            ("locations.csv", "rejected", "blank_source"): n,
        }
    assert len(findings) == MAX_FINDINGS_PER_CHECK * len(expected)
    assert dict(findings.omitted) == {k: v - MAX_FINDINGS_PER_CHECK for k, v in expected.items()}
    assert findings.counts_by_check("flagged") == {"invisible_characters": n // 2}
