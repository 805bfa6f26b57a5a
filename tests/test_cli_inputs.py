"""The command line takes a user's files as they come: their headers (--columns) and Excel."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner
from openpyxl import Workbook

from estates.cli import main
from estates.io import bundled


@pytest.fixture
def cli():
    runner = CliRunner()

    def invoke(*args: str):
        return runner.invoke(main, list(args), catch_exceptions=False)

    return invoke


def _hospitals(n: int) -> pd.DataFrame:
    frame = pd.read_csv(bundled.context_site_paths()[0], dtype=str, keep_default_na=False)
    return frame[frame["Latitude"] != ""].head(n).reset_index(drop=True)


def _workbook(path: Path, sheets: dict[str, pd.DataFrame]) -> Path:
    book = Workbook()
    book.remove(book.active)
    for title, frame in sheets.items():
        sheet = book.create_sheet(title)
        sheet.append(list(frame.columns))
        for row in frame.itertuples(index=False):
            sheet.append(list(row))
    book.save(path)
    return path


@pytest.fixture
def ods_file(tmp_path: Path) -> Path:
    """An ODS extract's headers, one of which no detector can read as the site name."""
    frame = _hospitals(25)[["OrganisationCode", "OrganisationName", "Latitude", "Longitude"]]
    frame.columns = ["ODS_Code", "Label", "LAT", "LON"]
    path = tmp_path / "ods.csv"
    frame.to_csv(path, index=False)
    return path


@pytest.mark.parametrize("command", ["build", "validate"])
def test_help_lists_columns_and_sheet(cli, command):
    result = cli(command, "--help")
    assert result.exit_code == 0
    assert "--columns COL=HEADER,..." in result.output
    assert "--sheet NAME" in result.output


def test_columns_names_the_header_detection_cannot_tell(cli, ods_file: Path):
    result = cli("validate", "--sites", str(ods_file))
    assert result.exit_code == 2
    assert "ods.csv: no site_name column; the headers are: 'ODS_Code', 'Label'" in result.output
    assert "; name it with --columns site_name=HEADER\n" in result.output
    assert "columns={" not in result.output
    result = cli("validate", "--sites", str(ods_file), "--columns", "site_name=Label", "--json")
    assert result.exit_code == 0, result.output
    counts = json.loads(result.stdout)
    assert counts["records_in"] == counts["records_kept"] == 25


def test_every_missing_column_is_named_at_once_in_the_options_form(cli, tmp_path: Path):
    path = tmp_path / "mine.csv"
    path.write_text("a,b,lat,lon\nRAL01,Royal Free,51.55,-0.17\n", encoding="utf-8")
    result = cli("validate", "--sites", str(path))
    assert result.exit_code == 2
    assert result.stderr == (
        "estates: error: mine.csv: no columns for site_code and site_name; the headers are: "
        "'a', 'b', 'lat', 'lon'; name them with --columns site_code=HEADER,site_name=HEADER\n"
    )
    # What --columns already gives is repeated, so the option can be copied whole.
    result = cli("validate", "--sites", str(path), "--columns", "site_code=a")
    assert result.exit_code == 2
    assert result.stderr == (
        "estates: error: mine.csv: no site_name column; the headers are: 'a', 'b', 'lat', "
        "'lon'; name it with --columns site_code=a,site_name=HEADER\n"
    )
    result = cli("validate", "--sites", str(path), "--columns", "site_code=a,site_name=b")
    assert result.exit_code == 0, result.output


def test_a_bad_columns_value_is_one_line(cli, ods_file: Path, tmp_path: Path):
    result = cli("validate", "--sites", str(ods_file), "--columns", "site=Label")
    assert result.exit_code == 2
    assert result.stderr.startswith(
        "estates: error: --columns 'site=Label': 'site' is not a site column; allowed: "
        "site_code, site_name"
    )
    assert result.stderr.count("\n") == 1  # no usage block
    result = cli("build", "--columns", "foo", "--out", str(tmp_path / "maps"))
    assert result.exit_code == 2
    assert result.stderr == (
        "estates: error: --columns 'foo': 'foo' has no '='; write column=header, "
        "e.g. --columns site_code=ODS_Code,site_name=Name\n"
    )
    assert not (tmp_path / "maps").exists()


def test_excel_sites_and_groupings_with_sheet(cli, tmp_path: Path):
    sites = _hospitals(25).rename(columns={"OrganisationName": "Name"})
    sites = sites[["OrganisationCode", "Name", "Latitude", "Longitude"]]
    notes = pd.DataFrame({"note": ["first sheet is not the data"]})
    book = _workbook(tmp_path / "sites.xlsx", {"Notes": notes, "Sites": sites})
    groupings = pd.read_csv(bundled.groupings_path(), dtype=str, keep_default_na=False)
    grouping_book = _workbook(tmp_path / "groupings.xlsx", {"Sites": groupings})
    result = cli("validate", "--sites", str(book), "--groupings", str(grouping_book), "--json")
    assert result.exit_code == 2
    assert (
        "sites.xlsx sheet Notes: no columns for site_code and site_name; the headers are: 'note'"
        in result.output
    )
    result = cli(
        "validate",
        "--sites",
        str(book),
        "--groupings",
        str(grouping_book),
        "--sheet",
        "Sites",
        "--json",
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["records_kept"] == 25


def test_an_unknown_sheet_lists_the_sheets(cli, tmp_path: Path):
    sites = _hospitals(3)[["OrganisationCode", "OrganisationName", "Latitude", "Longitude"]]
    book = _workbook(tmp_path / "sites.xlsx", {"Sites": sites, "Notes": sites.head(1)})
    result = cli("validate", "--sites", str(book), "--sheet", "Practices")
    assert result.exit_code == 2
    assert (
        "sites.xlsx: no sheet 'Practices'; the workbook's sheets are 'Sites', 'Notes'"
        in result.output
    )


def test_columns_and_sheet_are_part_of_the_up_to_date_check(tmp_path: Path):
    """Another sheet or another column mapping reads other data: it is another build."""
    from estates.builder.reference import Inputs
    from estates.builder.runner import BuildOptions

    book = tmp_path / "sites.xlsx"  # --sheet needs a workbook among the inputs
    plain = BuildOptions(out=tmp_path, inputs=Inputs(sites=(book,))).as_manifest()
    sheet = BuildOptions(out=tmp_path, inputs=Inputs(sites=(book,), sheet="Sites")).as_manifest()
    columns = BuildOptions(
        out=tmp_path, inputs=Inputs(sites=(book,), columns={"site_code": "ODS_Code"})
    ).as_manifest()
    assert (sheet["sheet"], columns["columns"]) == ("Sites", {"site_code": "ODS_Code"})
    assert len({str(plain), str(sheet), str(columns)}) == 3


def test_a_gp_list_with_ods_headers_builds_with_filterable_outputs(cli, tmp_path: Path):
    """NHS.UK headers, no land columns, straight from the bundled clinics file: it builds."""
    import geopandas as gpd
    import pyogrio

    clinics = pd.read_csv(
        Path(bundled.context_site_paths()[-1]).with_name("nhs_clinics_london_2014.csv"), dtype=str
    )
    gp = clinics.rename(columns={"OrganisationName": "Name"})
    gp = gp[["OrganisationCode", "Name", "Latitude", "Longitude"]]
    path = tmp_path / "gp_practices.csv"
    gp.to_csv(path, index=False)
    out = tmp_path / "out"
    result = cli("build", "--sites", str(path), "--out", str(out))
    assert result.exit_code == 0, result.output
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert summary["counts"]["records_in"] == len(gp)
    assert summary["inputs"]["columns"] == [
        {
            "file": "london_boroughs.geojson",
            "columns": {"borough_code": "code", "borough_name": "name"},
            "given": [],
            "notes": [],
        },
        {
            "file": "gp_practices.csv",
            "columns": {
                "site_code": "OrganisationCode",
                "site_name": "Name",
                "latitude": "Latitude",
                "longitude": "Longitude",
            },
            "given": [],
            "notes": [],
        },
    ]
    with pytest.warns(UserWarning, match="'sites' \\(default\\)"):
        sites = gpd.read_file(out / "sites.gpkg")
    assert sites["site_code"].tolist()[:5] == gp["OrganisationCode"].tolist()[:5]
    assert pyogrio.list_layers(out / "sites.gpkg")[0][0] == "sites"
    assert str(sites["pilot_ncl_estates"].dtype) == "bool"
    assert str(sites["subregion_ncl"].dtype) == "bool"
    ncl = sites[sites["subregion_ncl"]]
    assert len(ncl) > 0
    assert set(ncl["borough_name"]) == {"Barnet", "Camden", "Enfield", "Haringey", "Islington"}


def test_an_eric_return_as_sites_keeps_its_aggregate_rows(cli):
    """ERIC 2016/17 exactly as published, given as --sites: its headers need no renaming."""
    eric = bundled.eric_sites_path()
    raw = pd.read_csv(eric, dtype=str)
    result = cli("validate", "--sites", str(eric), "--json")
    assert result.exit_code == 0, result.output
    counts = json.loads(result.stdout)
    assert counts["records_in"] == counts["records_kept"] == len(raw) == 172
    assert counts["located_by"]["aggregate"] == (raw["Site Code"] == "AGGRE").sum() == 28
    assert counts["located_by"]["ods_code"] == 101


def test_a_site_list_with_postcodes_and_no_coordinates_is_located_by_postcode(cli, tmp_path):
    """Codes no NHS file knows, a postcode each, no coordinate columns: located by postcode."""
    raw = pd.read_csv(bundled.eric_return_paths()["2019/20"], dtype=str, keep_default_na=False)
    raw = raw[raw["Post Code"] != ""].head(15)
    path = tmp_path / "surgeries.csv"
    pd.DataFrame(
        {
            "Practice Code": "Y" + raw["Site Code"].str[1:],
            "Practice Name": "Surgery " + raw["Site Code"],
            "Postcode": raw["Post Code"],
        }
    ).to_csv(path, index=False)
    result = cli("validate", "--sites", str(path), "--json")
    assert result.exit_code == 0, result.output
    counts = json.loads(result.stdout)
    assert counts["records_kept"] == 15
    assert counts["located_by"] == {"postcode": 15}


def test_a_locations_file_names_every_missing_column(cli, tmp_path: Path):
    path = tmp_path / "loc.csv"
    path.write_text("code,lat,lon\nRAL01,51.55,-0.17\n", encoding="utf-8")
    result = cli("validate", "--locations", str(path))
    assert result.exit_code == 2
    assert result.stderr.endswith(
        "estates: error: loc.csv: missing columns 'site_code' and 'source'; found code, lat, lon\n"
    )


def test_counts_of_one_are_singular_in_the_log(cli, tmp_path: Path):
    path = tmp_path / "one.csv"
    sites = _hospitals(400)[["OrganisationCode", "OrganisationName", "Latitude", "Longitude"]]
    central = sites["Latitude"].astype(float).between(51.49, 51.53) & sites["Longitude"].astype(
        float
    ).between(-0.15, -0.08)
    sites[central].head(1).to_csv(path, index=False)
    result = cli("validate", "--sites", str(path))
    assert result.exit_code == 0, result.output
    for line in (
        "estates: validated 1 record: 1 kept, 0 rejected",
        "estates: read 1 record in 1 part\n",
        "estates: joined 1 site to 33 boroughs",
        "estates: aggregated 1 London site into 1 borough\n",
    ):
        assert line in result.stderr, line


def test_a_sheet_without_a_workbook_is_refused(cli, tmp_path: Path, ods_file: Path):
    mine = tmp_path / "mine.csv"
    mine.write_bytes(ods_file.read_bytes())
    result = cli("validate", "--sites", str(mine), "--sheet", "Foo")
    assert result.exit_code == 2
    assert result.stderr == (
        "estates: error: --sheet Foo applies to an Excel workbook (.xlsx, .xlsm, .xls); "
        "mine.csv is a CSV file: leave out --sheet\n"
    )
    result = cli("build", "--sheet", "Foo", "--out", str(tmp_path / "maps"))
    assert result.exit_code == 2
    assert "no input file was given" in result.stderr
    assert not (tmp_path / "maps").exists()
