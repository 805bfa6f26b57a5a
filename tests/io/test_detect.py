"""Column detection on the headers real NHS, ERIC and ONS files carry."""

from __future__ import annotations

import csv
from pathlib import Path

import geopandas as gpd
import pyogrio
import pytest

from estates.errors import ConfigError, DataValidationError, EstatesError
from estates.io.detect import (
    BOUNDARY_COLUMNS,
    SITE_COLUMNS,
    ColumnMap,
    detect_boundary_columns,
    detect_site_columns,
    normalise_header,
    parse_column_mapping,
)

ROOT = Path(__file__).parents[2]
HEADERS = ROOT / "tests" / "data" / "headers"


def _header(path: Path) -> list[str]:
    with path.open(encoding="utf-8", newline="") as handle:
        return next(csv.reader(handle))


# --------------------------------------------------------------------------- #
# site files
# --------------------------------------------------------------------------- #

ERIC_COLUMNS = {
    "site_code": "Site Code",
    "site_name": "Site Name",
    "site_type": "Site Type",
}


def test_eric_2016_17_site_headers():
    header = _header(ROOT / "data" / "estates" / "eric_sites_london.csv")
    found = detect_site_columns(header, source="eric_sites_london.csv")
    assert found.chosen == {
        **ERIC_COLUMNS,
        "trust_code": "Organisation Code",
        "trust_name": "Organisation Name",
        "land_owned_ha": "Land area owned (Hectares)",
        "land_unused_ha": "Land area not delivering services (Hectares)",
    }
    # Order of the project's columns, not of the file's.
    assert list(found.chosen) == [c for c in SITE_COLUMNS if c in found.chosen]
    assert found.given == frozenset()
    assert found.notes == ("no coordinate columns: sites are located by ODS code",)


def test_eric_2016_17_pfi_headers_carry_a_postcode():
    header = _header(ROOT / "data" / "estates" / "eric_pfi_sites_2016_17_london.csv")
    found = detect_site_columns(header)
    assert found.chosen["postcode"] == "Post Code"
    assert found.chosen["trust_code"] == "Organisation Code"
    assert "land_owned_ha" not in found.chosen
    assert found.notes == ("no coordinate columns: sites are located by postcode or ODS code",)


def test_eric_2019_20_site_headers_name_the_trust():
    header = _header(HEADERS / "eric_sites_2019_20_london_head.csv")
    assert len(header) == 165
    found = detect_site_columns(header)
    assert found.chosen == {
        **ERIC_COLUMNS,
        "trust_code": "Trust Code",
        "trust_name": "Trust Name",
        "postcode": "Post Code",
        "land_owned_ha": "Land area owned (Hectares)",
        "land_unused_ha": "Land area not delivering services (Hectares)",
    }


def test_eric_2013_14_site_land_area_is_land_owned():
    header = _header(HEADERS / "eric_sites_2013_14_london_head.csv")
    found = detect_site_columns(header)
    assert found.chosen == {
        **ERIC_COLUMNS,
        "trust_code": "Organisation Code",
        "trust_name": "Organisation Name",
        "land_owned_ha": "Site land area (Hectare)",
    }
    assert "land_unused_ha" not in found.chosen
    assert "Organisation Type" not in found.chosen.values()


@pytest.mark.parametrize("year", ["2014", "2018"])
def test_nhs_choices_hospital_headers(year: str):
    name = f"nhs_hospitals_london_{year}.csv"
    found = detect_site_columns(_header(ROOT / "data" / "sites" / name), source=name)
    assert found.chosen == {
        "site_code": "OrganisationCode",
        "site_name": "OrganisationName",
        "trust_code": "ParentODSCode",
        "trust_name": "ParentName",
        "site_type": "OrganisationType",
        "postcode": "Postcode",
        "latitude": "Latitude",
        "longitude": "Longitude",
    }
    assert found.notes == ()
    assert found.description == (
        f"{name} columns: site_code='OrganisationCode', site_name='OrganisationName', "
        "trust_code='ParentODSCode', trust_name='ParentName', site_type='OrganisationType', "
        "postcode='Postcode', latitude='Latitude', longitude='Longitude' (detected)"
    )


def test_nhs_choices_clinics_have_no_trust():
    found = detect_site_columns(_header(ROOT / "data" / "sites" / "nhs_clinics_london_2014.csv"))
    assert found.chosen["site_code"] == "OrganisationCode"
    assert "trust_code" not in found.chosen
    assert found.renames["Latitude"] == "latitude"


def test_ods_extract_headers():
    header = ["ODS_Code", "Name", "LAT", "LON", "Postcode", "Open Date"]
    found = detect_site_columns(header)
    assert found.chosen == {
        "site_code": "ODS_Code",
        "site_name": "Name",
        "postcode": "Postcode",
        "latitude": "LAT",
        "longitude": "LON",
    }


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (["site code", "SITE NAME", "lat", "lng"], {"latitude": "lat", "longitude": "lng"}),
        (["Site_Code", "Site_Name", "Lat", "Long"], {"latitude": "Lat", "longitude": "Long"}),
        (["sitecode", "sitename", "Easting", "Northing"], {"easting": "Easting"}),
        (["site_code", "site_name", "OSGB_E", "OSGB_N"], {"easting": "OSGB_E"}),
        (["site_code", "site_name", " oseast1m ", "osnrth1m"], {"easting": " oseast1m "}),
    ],
)
def test_common_coordinate_names(header: list[str], expected: dict[str, str]):
    chosen = detect_site_columns(header).chosen
    for column, name in expected.items():
        assert chosen[column] == name


def test_x_y_need_a_crs():
    header = ["site_code", "site_name", "X", "Y"]
    plain = detect_site_columns(header)
    assert "easting" not in plain.chosen
    assert "latitude" not in plain.chosen
    assert "x/y columns not read as coordinates" in plain.description
    bng = detect_site_columns(header, crs="EPSG:27700").chosen
    assert (bng["easting"], bng["northing"]) == ("X", "Y")
    wgs = detect_site_columns(header, crs="EPSG:4326").chosen
    assert (wgs["longitude"], wgs["latitude"]) == ("X", "Y")
    with pytest.raises(ConfigError, match=r"crs must be one of EPSG:27700, EPSG:4326.*'OSGB'"):
        detect_site_columns(header, crs="OSGB")


def test_a_file_with_both_coordinate_pairs_keeps_both():
    header = ["site_code", "site_name", "latitude", "longitude", "easting", "northing"]
    assert set(detect_site_columns(header).chosen) == set(header)


def test_two_candidates_are_an_error_naming_both_and_the_fix():
    header = ["Site Code", "Site Name", "Latitude", "lat", "Longitude"]
    with pytest.raises(DataValidationError) as err:
        detect_site_columns(header, source="gp.csv")
    message = str(err.value)
    assert message.startswith("gp.csv: columns 'Latitude' and 'lat' could each be the latitude")
    assert "columns={'latitude': 'Latitude'}" in message
    assert "--columns latitude=Latitude" in message
    assert isinstance(err.value, EstatesError)


def test_same_name_written_two_ways_is_ambiguous():
    with pytest.raises(DataValidationError, match="'Site Code' and 'site_code' could each"):
        detect_site_columns(["Site Code", "site_code", "Site Name"])


def test_an_explicit_mapping_settles_an_ambiguity():
    header = ["Site Code", "Site Name", "Latitude", "lat", "Longitude"]
    found = detect_site_columns(header, columns={"latitude": "lat"})
    assert found.chosen["latitude"] == "lat"
    assert found.given == frozenset({"latitude"})
    assert "latitude='lat' (given)" in found.description


def test_an_explicit_mapping_wins_and_its_header_is_not_reused():
    # NHS.UK's OrganisationCode would be the site code; here the user says it is the trust.
    header = ["OrganisationCode", "Practice Code", "Practice Name"]
    found = detect_site_columns(header, columns={"trust_code": "OrganisationCode"})
    assert found.chosen["trust_code"] == "OrganisationCode"
    assert found.chosen["site_code"] == "Practice Code"
    assert found.renames == {
        "Practice Code": "site_code",
        "Practice Name": "site_name",
        "OrganisationCode": "trust_code",
    }


def test_an_explicit_header_matches_ignoring_case_and_spaces():
    found = detect_site_columns(["Code", "Name", "ods code"], columns={"site_code": "ODS_Code"})
    assert found.chosen["site_code"] == "ods code"


def test_an_explicit_mapping_naming_a_missing_header_lists_the_headers():
    header = ["OrganisationCode", "OrganisationName", "Latitude", "Longitude"]
    with pytest.raises(DataValidationError) as err:
        detect_site_columns(header, columns={"site_code": "ODS_Code"}, source="gp.csv")
    assert str(err.value) == (
        "gp.csv: no column 'ODS_Code' (given for site_code); the headers are: "
        "'OrganisationCode', 'OrganisationName', 'Latitude', 'Longitude'"
    )


def test_an_explicit_mapping_to_an_unknown_column_lists_the_columns():
    with pytest.raises(ConfigError, match=r"'lat' is not a site column; allowed: site_code, "):
        detect_site_columns(["a"], columns={"lat": "a"})


def test_a_missing_required_column_says_how_to_name_it():
    # The trust-level columns of ERIC 2019/20: no site code among them.
    header = _header(HEADERS / "eric_sites_2019_20_london_head.csv")
    trust_only = [h for h in header if not h.startswith("Site ")]
    with pytest.raises(DataValidationError) as err:
        detect_site_columns(trust_only, source="trusts.csv")
    message = str(err.value)
    assert message.startswith(
        "trusts.csv: no columns for site_code and site_name; the headers are: 'Trust Code', "
    )
    assert "(161 in all)" in message
    assert "--columns site_code=HEADER,site_name=HEADER" in message


def test_every_missing_required_column_is_named_in_one_message():
    with pytest.raises(DataValidationError) as err:
        detect_site_columns(["a", "b", "lat", "lon"], source="mine.csv")
    head = "mine.csv: no columns for site_code and site_name; the headers are: 'a', 'b', 'lat', "
    assert str(err.value) == (
        f"{head}'lon'; name them with columns={{'site_code': ..., 'site_name': ...}} "
        "(--columns site_code=HEADER,site_name=HEADER)"
    )
    # The command line's wording names the option only, with what --columns gave.
    with pytest.raises(DataValidationError) as err:
        detect_site_columns(["a", "b"], columns={"site_code": "a"}, source="mine.csv")
    assert err.value.for_command_line == (
        "mine.csv: no site_name column; the headers are: 'a', 'b'; "
        "name it with --columns site_code=a,site_name=HEADER"
    )
    with pytest.raises(DataValidationError) as err:
        detect_boundary_columns(["x", "y"], source="b")
    assert err.value.for_command_line.endswith(
        "name them with --boundary-code-column HEADER --boundary-name-column HEADER"
    )


def test_nothing_is_required_when_the_caller_says_so():
    assert detect_site_columns(["Postcode"], required=()).chosen == {"postcode": "Postcode"}


def test_half_a_coordinate_pair_is_an_error():
    with pytest.raises(
        DataValidationError, match=r"found latitude in column 'LAT' but no longitude"
    ):
        detect_site_columns(["site_code", "site_name", "LAT", "Postcode"])
    with pytest.raises(DataValidationError, match="found northing in column 'Northing' but no"):
        detect_site_columns(["site_code", "site_name", "Northing"])


def test_header_is_left_unchanged():
    header = ["OrganisationCode", "OrganisationName"]
    detect_site_columns(header, columns={"site_code": "OrganisationCode"})
    assert header == ["OrganisationCode", "OrganisationName"]


def test_column_map_is_frozen():
    found = detect_site_columns(["site_code", "site_name"])
    with pytest.raises(AttributeError):
        found.kind = "boundary"  # type: ignore[misc]
    assert isinstance(found, ColumnMap)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("Site Code", "sitecode"), ("ODS_Code", "odscode"), ("OSGB-E", "osgbe"), ("L.A.T", "lat")],
)
def test_normalise_header(raw: str, expected: str):
    assert normalise_header(raw) == expected


# --------------------------------------------------------------------------- #
# boundary layers
# --------------------------------------------------------------------------- #


@pytest.fixture(scope="module")
def ons_layer(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The bundled boroughs with their ONS attribute names, as ONS publishes them."""
    boroughs = gpd.read_file(ROOT / "data" / "boundaries" / "london_boroughs.geojson")
    boroughs = boroughs.rename(columns={"code": "LAD20CD", "name": "LAD20NM"})
    boroughs["LAD20NMW"] = ""
    boroughs["OBJECTID"] = range(1, len(boroughs) + 1)
    boroughs = boroughs.drop(columns="ncl_pilot")
    path = tmp_path_factory.mktemp("ons") / "Local_Authority_Districts_May_2020.geojson"
    boroughs.to_file(path, driver="GeoJSON")
    return path


def test_ons_layer_lad20cd_lad20nm(ons_layer: Path):
    layer = pyogrio.read_dataframe(ons_layer)
    found = detect_boundary_columns(list(layer.columns), source=ons_layer.name)
    assert found.chosen == {"borough_code": "LAD20CD", "borough_name": "LAD20NM"}
    assert found.kind == "boundary"
    renamed = layer.rename(columns=found.renames)
    assert renamed["borough_code"].str.fullmatch(r"E09000\d{3}").all()
    assert "Barnet" in set(renamed["borough_name"])


@pytest.mark.parametrize(
    ("header", "code", "name"),
    [
        (
            ["NAME", "GSS_CODE", "HECTARES", "NONLD_AREA", "ONS_INNER", "geometry"],
            "GSS_CODE",
            "NAME",
        ),
        (["code", "name", "ncl_pilot", "geometry"], "code", "name"),
        (["borough_code", "borough_name", "code", "name"], "borough_code", "borough_name"),
        (["LAD23CD", "LAD23NM", "LAD23NMW", "BNG_E", "BNG_N", "LONG", "LAT"], "LAD23CD", "LAD23NM"),
        (["lad13cd", "lad13nm", "lad13nmw"], "lad13cd", "lad13nm"),
    ],
)
def test_boundary_names(header: list[str], code: str, name: str):
    assert detect_boundary_columns(header).chosen == {"borough_code": code, "borough_name": name}


def test_boundary_code_found_by_its_values():
    header = ["id", "label", "borough"]
    samples = {"id": ["E09000001", "E09000002", " E09000033"], "label": ["x", "y", "z"]}
    found = detect_boundary_columns(header, samples=samples)
    assert found.chosen == {"borough_code": "id", "borough_name": "borough"}


def test_boundary_values_choose_between_two_code_names():
    header = ["GSS_CODE", "LAD_CODE", "NAME"]
    samples = {"GSS_CODE": ["E09000001", "E09000002"], "LAD_CODE": ["00AA", "00AB"]}
    found = detect_boundary_columns(header, samples=samples)
    assert found.chosen["borough_code"] == "GSS_CODE"
    with pytest.raises(DataValidationError, match="'GSS_CODE' and 'LAD_CODE' could each be"):
        detect_boundary_columns(header)


def test_boundary_without_a_code_column_says_how_to_name_it():
    with pytest.raises(DataValidationError) as err:
        detect_boundary_columns(["OBJECTID", "NAME"], samples={"OBJECTID": ["1", "2"]}, source="b")
    assert str(err.value) == (
        "b: no borough_code column; the headers are: 'OBJECTID', 'NAME'; name it with "
        "columns={'borough_code': ...} (--boundary-code-column HEADER)"
    )


def test_boundary_explicit_mapping_wins():
    found = detect_boundary_columns(
        ["LAD20CD", "LAD20NM", "ward"], columns={"borough_name": "ward"}
    )
    assert found.chosen == {"borough_code": "LAD20CD", "borough_name": "ward"}
    with pytest.raises(ConfigError, match="'site_code' is not a boundary column"):
        detect_boundary_columns(["a"], columns={"site_code": "a"})


def test_boundary_columns_constant():
    assert BOUNDARY_COLUMNS == ("borough_code", "borough_name")


# --------------------------------------------------------------------------- #
# the command line's --columns string
# --------------------------------------------------------------------------- #


def test_parse_column_mapping():
    assert parse_column_mapping("site_code=ODS_Code,latitude=LAT") == {
        "site_code": "ODS_Code",
        "latitude": "LAT",
    }
    assert parse_column_mapping(" site_name = Site Name , land_owned_ha=Area (ha)") == {
        "site_name": "Site Name",
        "land_owned_ha": "Area (ha)",
    }
    assert parse_column_mapping("site_name=a=b") == {"site_name": "a=b"}
    assert parse_column_mapping("borough_code=LAD20CD", kind="boundary") == {
        "borough_code": "LAD20CD"
    }


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "--columns is empty; give column=header pairs, e.g. --columns site_code=ODS_Code"),
        ("site_code=A,,site_name=B", "pair 2 is empty"),
        ("site_code=A,", "pair 2 is empty"),
        ("site_code", "'site_code' has no '='; write column=header"),
        ("site_code=", "'site_code=' has an empty header"),
        ("=ODS_Code", "'=ODS_Code' has an empty column"),
        ("lat=LAT", "'lat' is not a site column; allowed: site_code, site_name, trust_code"),
        ("site_code=A,site_code=B", "site_code is given twice"),
        ("site_code=A,trust_code=A", "header 'A' is given for both site_code and trust_code"),
    ],
)
def test_parse_column_mapping_errors(text: str, message: str):
    with pytest.raises(ConfigError) as err:
        parse_column_mapping(text)
    assert message in str(err.value)


def test_parse_column_mapping_checks_the_kind():
    with pytest.raises(ConfigError, match="'site_code' is not a boundary column"):
        parse_column_mapping("site_code=A", kind="boundary")
    with pytest.raises(ConfigError, match="kind must be one of site, boundary, got 'sites'"):
        parse_column_mapping("site_code=A", kind="sites")


def test_parsed_mapping_drives_detection():
    header = _header(ROOT / "data" / "sites" / "nhs_clinics_london_2014.csv")
    columns = parse_column_mapping("site_code=OrganisationID,site_name=OrganisationName")
    found = detect_site_columns(header, columns=columns)
    assert found.chosen["site_code"] == "OrganisationID"
    assert found.given == frozenset({"site_code", "site_name"})
