"""``es.build``: the one way to run everything from Python, taking what ``estates build`` takes."""

from __future__ import annotations

import inspect
import io
import json
from pathlib import Path

import click
import geopandas as gpd
import pandas as pd
import pytest
from click.testing import CliRunner
from shapely import Point

import estates as es
from estates.builder.arguments import given_inputs
from estates.builder.pipeline import OPTION_KEYWORDS, build_keywords
from estates.cli import main
from estates.io import bundled

ROOT = Path(__file__).parents[2]
SCORING = ROOT / "tests" / "data" / "scoring"

#: Real London sites (Royal Free, Guy's, a point on the Thames, Reading) and two bad rows:
#: latitude and longitude swapped (row 4 of the CSV), and a duplicate site code (row 7).
SITES = pd.DataFrame(
    {
        "site_code": ["RAL01", "RJ121", "RIVER1", "SWAP1", "FAR1", "RAL01"],
        "site_name": ["Royal Free", "Guy's", "Thames", "Swapped", "Reading", "Again"],
        "latitude": [51.5532, 51.5030, 51.5008, -0.1, 51.4543, 51.55],
        "longitude": [-0.1654, -0.0870, -0.1208, 51.5, -0.9781, -0.16],
        "land_owned_ha": [5.0, 3.5, 1.0, 2.0, 2.0, 1.0],
        "land_unused_ha": [1.0, 0.25, 0.5, 1.0, 1.0, 0.0],
    }
)


#: A disposal pipeline for those sites; its third row names no site of the table.
PIPELINE = (
    "site_code,stage,receipts_gbp,date\n"
    "RAL01,sold,1000000,2018-03-31\n"
    "RJ121,on_market,,2018-06-01\n"
    "NOPE1,identified,,2018-01-01\n"
)


def _without_names(findings: es.Findings) -> pd.DataFrame:
    """The findings with their file's name left out (a frame's file is named for its input)."""
    return findings.to_frame().drop(columns="source_file").reset_index(drop=True)


def _site_table(sites: gpd.GeoDataFrame) -> pd.DataFrame:
    """The site table without the columns naming its file, nor the geometry."""
    assert (sites["location_source"] == sites["source_file"]).all()  # input coordinates
    dropped = ["source_file", "location_source", "geometry"]
    return pd.DataFrame(sites.drop(columns=dropped)).reset_index(drop=True)


@pytest.fixture(scope="module")
def bundled_build() -> es.Result:
    """``es.build()`` on the bundled data: the only bundled build of this module."""
    return es.build()


@pytest.fixture(scope="module")
def sites_csv(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("sites") / "my_sites.csv"
    SITES.to_csv(path, index=False)
    return path


@pytest.fixture(scope="module")
def pipeline_csv(sites_csv) -> Path:
    path = sites_csv.with_name("pipeline.csv")
    path.write_text(PIPELINE, encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def from_file(sites_csv, pipeline_csv) -> es.Result:
    """The small site list built from its CSV file, with the optional files given."""
    return es.build(
        sites=sites_csv, land_values=SCORING / "land_values_test.csv", pipeline=pipeline_csv
    )


def test_the_bundled_build_returns_every_table(bundled_build):
    result = bundled_build
    assert result.sites.crs == es.WGS84
    assert len(result.sites) == result.counts["records_kept"] == 185  # ERIC 2019/20
    assert len(result.boroughs) == 33
    assert result.summary["headline_year"] == "2019/20"
    assert (
        result.counts["records_in"]
        == result.counts["records_kept"] + result.counts["records_rejected"]
    )
    assert len(result.findings) > 0
    assert result.site_years is not None
    assert result.report is None  # nothing written without out=


def test_a_path_as_str_path_or_list_is_the_same_file(sites_csv, pipeline_csv, from_file):
    expected = _site_table(from_file.sites)
    as_text = es.build(
        str(sites_csv),
        land_values=str(SCORING / "land_values_test.csv"),
        pipeline=str(pipeline_csv),
    )
    as_list = es.build(
        [sites_csv], land_values=SCORING / "land_values_test.csv", pipeline=pipeline_csv
    )
    for result in (as_text, as_list):
        pd.testing.assert_frame_equal(_site_table(result.sites), expected)
        assert set(result.sites["source_file"]) == {"my_sites.csv"}


def test_the_small_list_is_built_as_a_file_would_be(from_file):
    sites = from_file.sites.set_index("site_code")
    assert sites.loc["RAL01", "borough_name"] == "Camden"
    assert sites.loc["RJ121", "borough_name"] == "Southwark"
    assert sites.loc["RIVER1", "join_method"] == "nearest"
    assert sites.loc["FAR1", "join_method"] == "outside"
    found = {(f.check, f.row) for f in from_file.findings if f.action == "rejected"}
    assert ("latlon_swapped", 5) in found  # header = row 1: the fourth record is row 5
    assert ("duplicate_site_code", 7) in found
    assert [f.row for f in from_file.findings if f.site_code == "NOPE1"] == [4]
    assert from_file.summary["pipeline"]["progress"]["stages"]["sold"]["sites"] == 1


def test_dataframes_in_place_of_every_file_give_the_same_build(from_file):
    land_values = pd.read_csv(SCORING / "land_values_test.csv", dtype=str)
    pipeline = pd.read_csv(io.StringIO(PIPELINE), dtype=str, keep_default_na=False)
    result = es.build(SITES, land_values=land_values, pipeline=pipeline)
    # Values name their source file and row: the frame's file, on the file's row.
    given = _site_table(result.sites)
    assert given["value_source"].str.contains(r"\(land_values_frame\.csv row \d+\)").all()
    given = given.replace(r"land_values_frame\.csv", "land_values_test.csv", regex=True)
    pd.testing.assert_frame_equal(given, _site_table(from_file.sites))
    # The same findings on the same rows; the file is named for the input it stands for.
    pd.testing.assert_frame_equal(
        _without_names(result.findings), _without_names(from_file.findings)
    )
    assert set(result.sites["source_file"]) == {"sites_frame.csv"}
    rejected = [f for f in result.findings if f.check == "latlon_swapped"]
    assert [(f.source_file, f.row) for f in rejected] == [("sites_frame.csv", 5)]
    renamed = json.dumps(result.summary["valuation"]).replace(
        "land_values_frame.csv", "land_values_test.csv"
    )
    assert json.loads(renamed) == from_file.summary["valuation"]
    progress = result.summary["pipeline"]["progress"]
    assert progress.pop("file") == "pipeline_frame.csv"
    assert progress == {
        k: v for k, v in from_file.summary["pipeline"]["progress"].items() if k != "file"
    }
    assert SITES.loc[3, "latitude"] == -0.1  # the caller's frame is left unchanged


def test_a_geodataframe_of_sites_from_load_sites():
    loaded, _ = es.load_sites()
    result = es.build([loaded])  # the case that raised a raw TypeError
    assert len(result.sites) == len(loaded) == 185
    assert set(result.sites["source_file"]) == {"sites_frame.parquet"}
    sites = result.sites.set_index("site_code")
    assert sites.loc["RRP03", "borough_name"] == "Haringey"
    assert loaded.crs == es.WGS84  # left unchanged


def test_a_named_index_is_read_as_its_column(from_file):
    result = es.build(SITES.set_index("site_code"), land_values=SCORING / "land_values_test.csv")
    assert result.sites["site_code"].tolist() == from_file.sites["site_code"].tolist()


def test_a_geodataframe_numbers_its_features_as_a_layer_does():
    layer = gpd.GeoDataFrame(
        {"site_code": ["G1", "G2", "G3"], "site_name": ["Royal Free", "A line", "Guy's"]},
        geometry=[
            Point(527000, 185500),
            gpd.GeoSeries.from_wkt(["LINESTRING (0 0, 1 1)"])[0],
            Point(532800, 180000),
        ],
        crs=es.BNG,
    )
    result = es.build(layer)
    assert result.sites["borough_name"].tolist() == ["Camden", "Southwark"]
    [finding] = [f for f in result.findings if f.action == "rejected"]
    assert (finding.source_file, finding.row, finding.check) == (
        "sites_frame.parquet",
        2,
        "not_a_point",
    )


def test_frames_and_files_mixed_in_one_list_are_numbered_apart(sites_csv):
    second = pd.DataFrame(
        {"site_code": ["B1"], "site_name": ["Bart's"], "latitude": [51.5175], "longitude": [-0.1]}
    )
    third = second.assign(site_code="B2")
    result = es.build([sites_csv, second, third])
    files = result.sites.groupby("source_file")["site_code"].agg(list).to_dict()
    assert files["sites_frame_1.csv"] == ["B1"]
    assert files["sites_frame_2.csv"] == ["B2"]
    assert "my_sites.csv" in files


def test_boundaries_and_groupings_as_frames():
    boundaries = gpd.read_file(bundled.boundaries_path()).rename(
        columns={"code": "LAD20CD", "name": "LAD20NM"}
    )
    groupings = pd.read_csv(bundled.groupings_path(), dtype=str, keep_default_na=False)
    given = es.build(SITES, boundaries=boundaries, groupings=groupings)
    default = es.build(SITES)
    columns = ["site_code", "borough_code", "borough_name", "subregion", "pilots"]
    pd.testing.assert_frame_equal(
        pd.DataFrame(given.sites[columns]), pd.DataFrame(default.sites[columns])
    )
    assert sorted(given.boroughs["borough_name"]) == sorted(default.boroughs["borough_name"])


def test_locations_as_a_dataframe(write):
    codes = pd.DataFrame(
        {
            "site_code": ["NOWHERE1"],
            "site_name": ["Stacey Street"],
            "latitude": [None],
            "longitude": [None],
        }
    )
    locations = pd.DataFrame(
        {
            "site_code": ["NOWHERE1"],
            "latitude": [51.5140],
            "longitude": [-0.1290],
            "source": ["test fixture: Stacey Street, approximate"],
        }
    )
    sites = es.build(codes, locations=locations).sites
    assert sites.loc[0, "located_by"] == "locations_file"
    assert sites.loc[0, "borough_name"] == "Camden"


def test_settings_as_a_config_or_a_file_with_the_target_over_them(write):
    config = es.load_config(valuation__method="range")
    by_object = es.build(SITES, config=config, target_gbp=5e9)
    path = write("my.toml", "[valuation]\ntarget_gbp = 7e9\n")
    by_file = es.build(SITES, config=path)
    assert by_object.summary["valuation"]["target_gbp"] == 5e9
    assert by_file.summary["valuation"]["target_gbp"] == 7e9


def test_out_writes_what_the_command_writes(tmp_path, sites_csv):
    cli_out, py_out = tmp_path / "cli", tmp_path / "python"
    done = CliRunner().invoke(
        main, ["build", "--sites", str(sites_csv), "--out", str(cli_out)], catch_exceptions=False
    )
    assert done.exit_code == 0, done.output
    result = es.build(sites_csv, out=py_out)
    assert result.report is not None
    assert result.report.status == "published"
    assert sorted(p.name for p in py_out.iterdir()) == sorted(p.name for p in cli_out.iterdir())
    for table in ("sites.csv", "rejected.csv"):
        pd.testing.assert_frame_equal(
            pd.read_csv(py_out / table, dtype=str), pd.read_csv(cli_out / table, dtype=str)
        )
    # The result is the table published, in memory.
    published = gpd.read_parquet(py_out / "sites.parquet")
    assert published["site_code"].tolist() == result.sites["site_code"].tolist()
    assert result.report.counts["records_in"] == len(SITES)


def test_out_writes_the_site_tables_once_while_keeping_them(tmp_path, monkeypatch):
    # The engine's sink writes the tables part by part; the copy kept for the result
    # must not be written over them a second time.
    def written_again(*args, **kwargs):
        raise AssertionError("the site tables were written twice")

    monkeypatch.setattr("estates.io.tables.write_site_table", written_again)
    result = es.build(SITES, out=tmp_path / "set", maps=False)
    assert len(pd.read_csv(tmp_path / "set" / "sites.csv")) == len(result.sites) == 4


def test_out_again_is_up_to_date_and_still_returns_the_tables(tmp_path):
    out = tmp_path / "set"
    first = es.build(SITES, out=out, maps=False)
    again = es.build(SITES, out=out, maps=False)  # the same frame: the same file content
    assert first.report.status == "published"
    assert again.report.status == "up_to_date"
    pd.testing.assert_frame_equal(_site_table(again.sites), _site_table(first.sites))
    other = es.build(SITES, out=out, maps=False, config=es.load_config(score__weight_value=0.1))
    assert other.report.status == "published"  # other settings: another build


def test_every_option_of_estates_build_is_a_keyword():
    ctx = click.Context(main)
    command = main.get_command(ctx, "build")
    assert command is not None
    global_options = {opt for param in main.params for opt in param.opts}
    options = {
        next(o for o in param.opts if o.startswith("--"))[2:].replace("-", "_")
        for param in command.params
        if isinstance(param, click.Option) and not set(param.opts) & global_options
    }
    keywords = set(build_keywords())
    assert options - keywords == set()
    assert keywords - options == {"maps"}  # Python only: the command always draws maps
    # The signature lists them (any other field of Inputs comes through **more_inputs).
    signature = inspect.signature(es.build).parameters
    named = {name for name, p in signature.items() if p.kind is not p.VAR_KEYWORD}
    assert named <= keywords
    assert set(OPTION_KEYWORDS) <= named


def test_a_string_of_sites_is_one_file_not_its_characters():
    with pytest.raises(es.DataValidationError, match=r"mine\.csv") as caught:
        es.build(sites="mine.csv")
    assert not str(caught.value).startswith("m:")


def test_unknown_keyword_is_a_type_error_naming_the_keywords():
    with pytest.raises(TypeError, match=r"unexpected keyword argument 'land_value'.*land_values"):
        es.build(land_value="values.csv")


@pytest.mark.parametrize(
    ("keywords", "message"),
    [
        ({"sites": 42}, r"sites: got a int; give a path .*DataFrame.*GeoDataFrame"),
        ({"sites": [b"x.csv"]}, r"sites: got a bytes"),
        ({"boundaries": pd.DataFrame({"code": ["E09000001"]})}, r"boundaries: got a DataFrame"),
        ({"groupings": gpd.GeoDataFrame(geometry=[Point(0, 0)], crs=es.WGS84)}, r"groupings"),
        ({"eric": [pd.DataFrame()]}, r"eric: got a DataFrame"),
        ({"year": 2016}, r"year: got a int \(2016\); give it as text"),
        ({"boundary_code_column": ["LAD20CD"]}, r"boundary_code_column: got a list"),
        ({"config": 3}, r"config: got a int; give a Config"),
        ({"tiles": "https://t/{z}/{x}/{y}.png"}, r"tiles= .*give out=FOLDER"),
        ({"out": "o", "wait": -1}, r"wait: got -1"),
        ({"out": "o", "max_rejected": 1.5}, r"max_rejected: got 1.5"),
        ({"chunk_rows": 0}, r"chunk_rows: got 0"),
        ({"out": 7}, r"out: got a int"),
    ],
)
def test_bad_types_are_refused_saying_what_is_accepted(keywords, message):
    with pytest.raises(es.EstatesError, match=message):
        es.build(**keywords)


def test_a_frame_with_geometries_and_no_crs_is_refused_with_the_fix():
    layer = gpd.GeoDataFrame(SITES.head(1), geometry=[Point(-0.1654, 51.5532)])
    with pytest.raises(es.CRSError, match=r"declares no CRS.*set_crs\('EPSG:4326'\)"):
        es.build(layer)
    table = pd.DataFrame({"site_code": ["A"], "site_name": ["B"], "geom": [Point(0, 51)]})
    with pytest.raises(es.CRSError, match=r"column 'geom' holds geometries.*GeoDataFrame"):
        es.build(table)


def test_eric_takes_one_path_or_several_with_their_years():
    with given_inputs({"eric": Path("returns/site_data.csv")}) as one:
        assert one.eric == ("returns/site_data.csv",)
    with given_inputs({"eric": ["a.csv:2019/20", Path("b.csv")]}) as two:
        assert two.eric == ("a.csv:2019/20", "b.csv")
    with given_inputs({}) as none:
        assert none == es.Inputs()
