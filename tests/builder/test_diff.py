"""What changed: `estates diff`, the changes.csv of every build, and codes kept as text.

Two builds read a user's sites file whose versions differ by a known set of
changes; every other input is fixed, so exactly those changes must be listed.
"""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyogrio
import pytest
from click.testing import CliRunner

from estates.builder.diff import (
    CHANGE_COLUMNS,
    CHANGE_KINDS,
    Changes,
    diff_output_sets,
    diff_sites,
    read_changes,
    write_changes,
    write_site_file_changes,
)
from estates.builder.publish import current_build, store_dir
from estates.cli import main
from estates.config import load_config
from estates.errors import DataValidationError
from estates.stages.score import rank_sites, score_unused_land

HEADER = "site_code,site_name,trust_code,trust_name,latitude,longitude,land_owned_ha,land_unused_ha"
# Real London hospitals. Codes "1E10" and "00123" must stay text all the way through.
SITES = {
    "RKEQ4": "RKEQ4,Whittington Hospital,RKE,Whittington Health NHS Trust,51.5657,-0.1387,4.0,0.4",
    "RAL01": "RAL01,Royal Free Hospital,RAL,Royal Free London NHS FT,51.5533,-0.1652,4.1,0.0",
    "1E10": "1E10,Northwick Park Hospital,R1K,London North West University Healthcare NHS Trust,"
    "51.5755,-0.3216,4.0,1.0",
    "00123": "00123,Finchley Memorial Hospital,RYX,Central London Community Healthcare NHS Trust,"
    "51.6036,-0.1781,4.0,0.2",
    "RQXM1": "RQXM1,Homerton University Hospital,RQX,Homerton Healthcare NHS FT,"
    "51.5476,-0.0455,5.4,0.0",
    "RJ224": "RJ224,University Hospital Lewisham,RJ2,Lewisham and Greenwich NHS Trust,"
    "51.4527,-0.0180,4.0,1.5",
}
# Version B: Homerton removed, North Middlesex added, Finchley Memorial's point
# moved into Camden, Lewisham's unused land 1.5 -> 1.9 ha.
CHANGED = {
    "00123": SITES["00123"].replace("51.6036,-0.1781", "51.5416,-0.1426"),
    "RJ224": SITES["RJ224"].replace(",4.0,1.5", ",4.0,1.9"),
    "RAPNM": "RAPNM,North Middlesex University Hospital,RAP,North Middlesex University Hospital "
    "NHS Trust,51.6131,-0.0725,9.1,0.0",
}
# Exactly what changed, with its consequence: value = hectares x £/ha, and the
# land values file gives every borough the same £/ha at both ends of the range
# (low_gbp_per_ha = value_gbp_per_ha), so moving borough keeps
# the value and only Lewisham's value follows its land. The ranks keep their order.
EXPECTED = [
    ["RAPNM", "RAP", "added", "site_name", "", "North Middlesex University Hospital"],
    ["RQXM1", "RQX", "removed", "site_name", "Homerton University Hospital", ""],
    ["00123", "RYX", "moved_borough", "borough_code", "E09000003", "E09000007"],
    ["RJ224", "RJ2", "unused_land_changed", "land_unused_ha", "1.5", "1.9"],
    ["RJ224", "RJ2", "value_changed", "estimated_value_gbp", "30000000", "38000000"],
]


def _sites_file(path: Path, rows: list[str]) -> Path:
    path.write_text("\n".join([HEADER, *rows]) + "\n", encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def builds(tmp_path_factory):
    """Build version A, then version B, into the same --out, as a scheduled job would."""
    root = tmp_path_factory.mktemp("diff")
    a = _sites_file(root / "sites_a.csv", list(SITES.values()))
    b_rows = [CHANGED.get(code, row) for code, row in SITES.items() if code != "RQXM1"]
    b = _sites_file(root / "sites_b.csv", [*b_rows, CHANGED["RAPNM"]])
    values = root / "land_values.csv"
    values.write_text(
        "borough_code,value_gbp_per_ha,low_gbp_per_ha,source\n"
        + "".join(
            f"E090000{i:02d},20000000,20000000,test fixture: one price\n" for i in range(1, 34)
        ),
        encoding="utf-8",
    )
    out = root / "maps"
    runner = CliRunner()
    common = ["build", "--land-values", str(values), "--out", str(out), "--wait", "0"]
    first = runner.invoke(main, [*common, "--sites", str(a)], catch_exceptions=False)
    assert first.exit_code == 0, first.output
    build_a = current_build(out)
    first_changes = read_changes(build_a)
    second = runner.invoke(main, [*common, "--sites", str(b), "--csv-bom"], catch_exceptions=False)
    assert second.exit_code == 0, second.output
    return {"out": out, "a": build_a, "b": current_build(out), "first": first_changes}


def test_first_build_has_no_previous_set_and_lists_no_changes(builds):
    table, summary = builds["first"]
    assert table.columns.tolist() == list(CHANGE_COLUMNS)
    assert table.empty
    assert summary["previous"] is None
    assert summary["sites_old"] == 0
    assert summary["sites_new"] == 6
    assert summary["rows"] == 0


def test_second_build_lists_exactly_what_changed(builds):
    table, summary = read_changes(builds["out"])
    assert table.values.tolist() == EXPECTED
    assert summary["previous"] == builds["a"].name
    assert summary["counts"] == {
        "added": 1,
        "removed": 1,
        "moved_borough": 1,
        "unused_land_changed": 1,
        "value_changed": 1,
        "rank_changed": 0,
    }
    assert (summary["tolerance_ha"], summary["tolerance_gbp"]) == (0.01, 1000.0)
    # summary.json keeps its own structure; the changes live beside it.
    assert "changes" not in json.loads((builds["out"] / "summary.json").read_text())
    manifest = json.loads((builds["out"] / "manifest.json").read_text())
    listed = {item["path"] for item in manifest["outputs"]}
    assert {"changes.csv", "changes.json"} <= listed


def test_estates_diff_compares_two_output_folders(builds, tmp_path):
    csv = tmp_path / "changes.csv"
    result = CliRunner().invoke(
        main, ["diff", str(builds["a"]), str(builds["out"]), "--out", str(csv)]
    )
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [
        "6 sites before, 6 after: 1 added, 1 removed, 1 moved borough, 1 unused land changed "
        "(by 0.01 ha or more), 1 value changed (by £1,000 or more), 0 rank changed",
        f"wrote 5 rows to {csv}",
    ]
    table = pd.read_csv(csv, dtype=str, keep_default_na=False)
    assert table.values.tolist() == EXPECTED
    as_json = CliRunner().invoke(
        main, ["diff", str(builds["a"]), str(builds["b"]), "--out", str(csv), "--json"]
    )
    assert json.loads(as_json.stdout)["counts"]["moved_borough"] == 1


def test_estates_diff_tolerances_hide_small_changes(builds, tmp_path):
    changes = diff_output_sets(builds["a"], builds["b"], tolerance_ha=0.5, tolerance_gbp=1e7)
    assert changes.table["change"].tolist() == ["added", "removed", "moved_borough"]
    result = CliRunner().invoke(
        main,
        ["diff", str(builds["a"]), str(builds["b"]), "--out", str(tmp_path / "c.csv"),
         "--tolerance-ha", "0.5", "--tolerance-gbp", "1e7"],
    )  # fmt: skip
    assert "0 unused land changed (by 0.5 ha or more)" in result.stdout
    assert "0 value changed (by £10,000,000 or more)" in result.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["diff", "missing_old", "."], "OLD_DIR missing_old: no such folder"),
        (["diff", ".", ".", "--tolerance-ha", "-1"], "Invalid value for '--tolerance-ha'"),
    ],
)
def test_estates_diff_bad_input_is_one_line_and_exit_2(args, message, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 2
    assert message in result.stderr
    assert "Traceback" not in result.output


def test_a_folder_without_a_site_table_is_named(tmp_path):
    with pytest.raises(DataValidationError, match=r"has no sites\.parquet; give an output folder"):
        diff_output_sets(tmp_path, tmp_path)


def test_codes_stay_text_in_every_output(builds):
    out = builds["out"]
    raw = (out / "sites.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # --csv-bom
    lines = raw.decode("utf-8-sig").splitlines()
    assert lines[0].startswith("site_code,site_name,")
    codes = [line.split(",")[0] for line in lines[1:]]
    assert codes == ["RKEQ4", "RAL01", "1E10", "00123", "RJ224", "RAPNM"]
    assert "e+" not in raw.decode("utf-8-sig").lower()
    assert (out / "changes.csv").read_bytes().startswith(b"\xef\xbb\xbf")
    # A spreadsheet-style read that guesses types would turn 1E10 into 1e10 and
    # 00123 into 123; read as text, the codes are as given.
    assert pd.read_csv(out / "sites.csv", dtype=str)["site_code"].tolist() == codes
    parquet = pd.read_parquet(out / "sites.parquet")
    assert parquet["site_code"].tolist() == codes
    assert pd.api.types.is_string_dtype(parquet["site_code"])
    layer = pyogrio.read_dataframe(out / "sites.gpkg", layer="sites")
    assert layer["site_code"].tolist() == codes
    first = pd.read_csv(builds["a"] / "sites.csv", dtype=str)
    assert first["site_code"].tolist()[2:4] == ["1E10", "00123"]
    assert not (builds["a"] / "sites.csv").read_bytes().startswith(b"\xef\xbb\xbf")


def test_the_bundled_aggregate_rows_are_told_apart_by_trust(result_2016):
    # AGGRE is the 2016/17 code of a trust's bundle of small sites, one row per trust.
    sites = result_2016.sites
    aggregates = sites[sites["site_code"] == "AGGRE"]
    assert aggregates["trust_code"].nunique() == len(aggregates) > 1
    assert diff_sites(sites, sites).table.empty
    dropped = aggregates.index[1]
    changes = diff_sites(sites, sites.drop(index=dropped))
    assert changes.table.values.tolist() == [
        [
            "AGGRE",
            sites.loc[dropped, "trust_code"],
            "removed",
            "site_name",
            sites.loc[dropped, "site_name"],
            "",
        ]
    ]


def test_rescoring_the_bundled_estate_changes_ranks_only(bundled_result):
    sites = bundled_result.sites
    config = load_config(score__weight_value=0.0, score__weight_share=1.0, score__weight_backlog=0)
    rescored = rank_sites(score_unused_land(sites, config=config.score))
    changes = diff_sites(sites, rescored)
    moved = (sites["disposal_rank"] != rescored["disposal_rank"]).fillna(False)
    assert set(changes.table["change"]) == {"rank_changed"}
    assert len(changes.table) == int(moved.sum()) > 0
    first = changes.table.iloc[0]
    row = sites[(sites.site_code == first.site_code) & (sites.trust_code == first.trust_code)]
    assert first.old == str(row["disposal_rank"].iloc[0])


@pytest.mark.parametrize(
    ("old", "new", "listed"),
    [
        (1.50, 1.51, True),  # ERIC's precision: a real change of 0.01 ha is listed
        (0.29, 0.30, True),  # ... whatever the floating-point error of the difference
        (1.50, 1.509, False),
        (1.50, 1.50 + 1e-12, False),  # recomputation noise
        (None, 0.0, True),  # became known
        (0.0, None, True),
        (None, None, False),
    ],
)
def test_unused_land_tolerance(old, new, listed):
    def table(ha):
        return pd.DataFrame(
            {
                "site_code": ["X"],
                "trust_code": ["R1"],
                "site_name": ["X"],
                "borough_code": ["E09000001"],
                "land_unused_ha": [ha],
                "estimated_value_gbp": [1.0],
                "disposal_rank": pd.array([1], dtype="Int64"),
            }
        )

    changes = diff_sites(table(old), table(new))
    assert (changes.table["change"].tolist() == ["unused_land_changed"]) is listed


def test_value_tolerance_and_rank_changes():
    old = pd.DataFrame(
        {
            "site_code": ["A", "B"],
            "trust_code": [None, None],
            "site_name": ["A", "B"],
            "borough_code": ["E1", None],
            "land_unused_ha": [1.0, 2.0],
            "estimated_value_gbp": [1_000_000.0, 2_000_000.0],
            "disposal_rank": pd.array([2, 1], dtype="Int64"),
        }
    )
    new = old.assign(
        estimated_value_gbp=[1_000_999.0, 2_001_000.0],
        disposal_rank=pd.array([1, 2], dtype="Int64"),
        borough_code=["E1", "E2"],
    )
    table = diff_sites(old, new).table
    assert table.values.tolist() == [
        ["B", "", "moved_borough", "borough_code", "", "E2"],
        ["B", "", "value_changed", "estimated_value_gbp", "2000000", "2001000"],
        ["A", "", "rank_changed", "disposal_rank", "2", "1"],
        ["B", "", "rank_changed", "disposal_rank", "1", "2"],
    ]
    with pytest.raises(DataValidationError, match="the new site table has no column disposal_rank"):
        diff_sites(old, new.drop(columns="disposal_rank"))


def test_changes_summary_and_description():
    none = Changes(pd.DataFrame(columns=list(CHANGE_COLUMNS)), sites_old=0, sites_new=4)
    assert none.describe() == "0 sites before, 4 after: no previous set to compare with"
    assert none.to_dict()["previous"] is None


def test_store_keeps_the_previous_build_for_estates_diff(builds):
    kept = sorted(p.name for p in store_dir(builds["out"]).iterdir() if p.is_dir())
    assert builds["a"].name in kept
    assert builds["b"].name in kept
    assert isinstance(gpd.read_parquet(builds["a"] / "sites.parquet"), gpd.GeoDataFrame)


def _changed_copy(sites: pd.DataFrame) -> pd.DataFrame:
    """The bundled table with every kind of change, and one key listed twice."""
    new = sites.drop(index=sites.index[::37]).copy()  # removed
    added = sites.iloc[:3].assign(site_code=["NEW01", "NEW02", "AGGRE"])
    # One key three times more: its extra rows are "added" and must keep their order.
    repeated = sites.iloc[[5, 5, 5]].assign(site_name=["Extra C", "Extra A", "Extra B"])
    new = pd.concat([new, added, repeated])
    known = new["land_unused_ha"].notna()
    new.loc[known[known].index[::5], "land_unused_ha"] += 0.25
    valued = new["estimated_value_gbp"].notna()  # sites with land not delivering services
    new.loc[valued[valued].index[::2], "estimated_value_gbp"] *= 1.5
    new.loc[new.index[::13], "borough_code"] = "E09000001"
    config = load_config(score__weight_value=0.0, score__weight_share=1.0, score__weight_backlog=0)
    return rank_sites(score_unused_land(new.reset_index(drop=True), config=config.score))


@pytest.mark.parametrize("bom", [False, True])
def test_large_table_changes_are_written_bucket_by_bucket_as_in_memory(
    bundled_result, tmp_path, bom
):
    old = bundled_result.sites
    new = _changed_copy(old)
    old.to_parquet(tmp_path / "old.parquet")
    new.to_parquet(tmp_path / "new.parquet")
    whole, streamed = tmp_path / "whole", tmp_path / "streamed"
    whole.mkdir()
    streamed.mkdir()
    write_changes(diff_sites(old, new, previous="prev"), whole, bom=bom)
    write_site_file_changes(
        tmp_path / "old.parquet",
        tmp_path / "new.parquet",
        streamed,
        bom=bom,
        previous="prev",
        rows_per_bucket=40,
    )
    table, _ = read_changes(whole)
    assert set(table["change"]) == set(CHANGE_KINDS)  # every kind is exercised
    assert len(table) > 50
    for name in ("changes.csv", "changes.json"):
        assert (streamed / name).read_bytes() == (whole / name).read_bytes(), name
    assert sorted(p.name for p in streamed.iterdir()) == ["changes.csv", "changes.json"]


def test_unchanged_large_table_gives_the_header_alone(bundled_result, tmp_path):
    bundled_result.sites.to_parquet(tmp_path / "same.parquet")
    paths = write_site_file_changes(
        tmp_path / "same.parquet", tmp_path / "same.parquet", tmp_path, rows_per_bucket=100
    )
    assert paths[0].read_text(encoding="utf-8") == ",".join(CHANGE_COLUMNS) + "\n"
    assert json.loads(paths[1].read_text(encoding="utf-8"))["rows"] == 0


def test_large_table_changes_name_a_missing_column_and_write_nothing(bundled_result, tmp_path):
    bundled_result.sites.to_parquet(tmp_path / "old.parquet")
    bundled_result.sites.drop(columns="disposal_rank").to_parquet(tmp_path / "new.parquet")
    out = tmp_path / "out"
    out.mkdir()
    with pytest.raises(DataValidationError, match="new site table has no column disposal_rank"):
        write_site_file_changes(tmp_path / "old.parquet", tmp_path / "new.parquet", out)
    assert list(out.iterdir()) == []


def test_large_table_changes_name_a_damaged_file(bundled_result, tmp_path):
    bundled_result.sites.to_parquet(tmp_path / "old.parquet")
    raw = (tmp_path / "old.parquet").read_bytes()
    # Keep the footer (so the file opens and names its columns) but scramble the data pages.
    footer = int.from_bytes(raw[-8:-4], "little") + 8
    damaged = raw[:4] + bytes(b ^ 0x5A for b in raw[4:-footer]) + raw[-footer:]
    (tmp_path / "new.parquet").write_bytes(damaged)
    out = tmp_path / "out"
    out.mkdir()
    with pytest.raises(DataValidationError, match="cannot read the new site table to compare"):
        write_site_file_changes(tmp_path / "old.parquet", tmp_path / "new.parquet", out)
    assert list(out.iterdir()) == []


def _parquet(frame: pd.DataFrame, path: Path, row_group_size: int) -> Path:
    import pyarrow as pa
    import pyarrow.parquet as pq

    pq.write_table(
        pa.Table.from_pandas(pd.DataFrame(frame.drop(columns="geometry", errors="ignore"))),
        path,
        row_group_size=row_group_size,
    )
    return path


@pytest.mark.parametrize("shared", [0, 1, 39, 40, 41, 150])
def test_changes_after_shared_leading_rows_are_those_of_the_whole_tables(
    bundled_result, tmp_path, shared
):
    """The rows both tables open with are left out; the changes stay exactly the same.

    The leading rows hold keys that occur again after them (one key listed
    three times more in the new table, "AGGRE" on many rows), and the two
    files are cut in row groups of different sizes, so the shared rows end
    inside a batch of one file and at the edge of the other's.
    """
    from estates.builder.diff import _shared_leading_rows

    old = bundled_result.sites.reset_index(drop=True)
    changed = _changed_copy(old.iloc[shared:])
    repeated = old.iloc[[2, 2, 2]].assign(site_name=["Extra C", "Extra A", "Extra B"])
    new = pd.concat([old.iloc[:shared], repeated, changed], ignore_index=True)
    paths = [
        _parquet(old, tmp_path / "old.parquet", 7),
        _parquet(new, tmp_path / "new.parquet", 11),
    ]
    import pyarrow.parquet as pq

    files = [pq.ParquetFile(p) for p in paths]
    assert _shared_leading_rows(*files, batch_rows=40) == shared
    whole, streamed = tmp_path / "whole", tmp_path / "streamed"
    whole.mkdir()
    streamed.mkdir()
    write_changes(diff_sites(old, new, previous="prev"), whole)
    write_site_file_changes(*paths, streamed, previous="prev", rows_per_bucket=40)
    table, _ = read_changes(whole)
    assert {"added", "removed", "rank_changed"} <= set(table["change"])
    assert ((table["site_code"] == old["site_code"][2]) & (table["change"] == "added")).sum() >= 3
    for name in ("changes.csv", "changes.json"):
        assert (streamed / name).read_bytes() == (whole / name).read_bytes(), name


def test_shared_leading_rows_stop_at_the_first_difference(bundled_result, tmp_path):
    import numpy as np
    import pyarrow.parquet as pq

    from estates.builder.diff import _shared_leading_rows

    old = bundled_result.sites.reset_index(drop=True)
    n = len(old)

    def shared(new: pd.DataFrame, batch_rows: int = 25) -> int:
        _parquet(old, tmp_path / "old.parquet", 10)
        _parquet(new, tmp_path / "new.parquet", 13)
        files = [pq.ParquetFile(tmp_path / p) for p in ("old.parquet", "new.parquet")]
        return _shared_leading_rows(*files, batch_rows=batch_rows)

    assert shared(old) == n
    assert shared(old, batch_rows=n + 5) == n
    assert shared(old.iloc[: n - 3]) == n - 3  # one table ends inside the other
    for row, column, value in [
        (123, "land_unused_ha", 123.0),
        (77, "disposal_rank", 10**6),
        (n - 1, "site_name", "renamed"),
        (0, "trust_code", "RXX"),
    ]:
        new = old.copy()
        new.loc[row, column] = value
        assert shared(new) == row, column
    # A value gone missing, or missing text against empty text, is a difference.
    present = int(np.flatnonzero(old["land_unused_ha"].notna())[40])
    new = old.copy()
    new.loc[present, "land_unused_ha"] = np.nan
    assert shared(new) == present
    new = old.assign(borough_code=old["borough_code"].astype("string"))
    first_missing = int(np.flatnonzero(new["borough_code"].isna())[0])
    new.loc[first_missing, "borough_code"] = ""
    assert shared(new) == first_missing
