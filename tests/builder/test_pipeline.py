"""The whole pipeline on the real bundled data, and on users' own files."""

from __future__ import annotations

import geopandas as gpd
import pandas as pd
import pytest
from shapely import Point

from estates.builder.pipeline import Inputs, run
from estates.crs import BNG, WGS84
from estates.errors import CRSError, DataValidationError

NCL = ["Barnet", "Camden", "Enfield", "Haringey", "Islington"]


def test_every_record_is_kept_or_rejected(bundled_result):
    counts = bundled_result.counts
    assert counts["records_in"] == 185  # ERIC 2019/20 London site rows, ORS bundles included
    assert counts["records_in"] == counts["records_kept"] + counts["records_rejected"]
    assert len(bundled_result.sites) == counts["records_kept"]


def test_location_steps_on_the_real_data(result_2016):
    by = result_2016.sites["located_by"].value_counts().to_dict()
    assert by["ods_code"] == 101  # 101 of the 144 ERIC 2016/17 site codes match exactly
    assert by["aggregate"] == 28
    assert by["postcode"] == 36  # the site's postcode in another ERIC year
    assert by["unlocated"] == 144 - 101 - 36
    sites = result_2016.sites.set_index("site_code")
    # Chase Farm, St Ann's and Highgate are placed by the postcode of another year's return.
    assert sites.loc["RRP02", "located_by"] == "postcode"
    assert sites.loc["RRP02", "borough_name"] == "Enfield"
    assert sites.loc["RRP01", "borough_name"] == "Barnet"
    assert sites.loc["RRP03", "borough_name"] == "Haringey"
    assert sites.loc["TAF01", "borough_name"] == "Camden"
    assert sites.loc["TAF72", "located_by"] == "postcode"
    # Stacey Street has no match anywhere: listed, unlocated, never dropped.
    assert sites.loc["TAF65", "located_by"] == "unlocated"
    assert pd.isna(sites.loc["TAF65", "borough_code"])


def test_exact_code_prefers_the_newest_file(bundled_result):
    sites = bundled_result.sites
    by_code = sites[sites["located_by"] == "ods_code"]
    assert set(by_code["location_source"]) <= {
        "nhs_hospitals_london_2018.csv",
        "nhs_hospitals_london_2014.csv",
        "nhs_clinics_london_2014.csv",
    }
    context = bundled_result.context
    in_2018 = set(
        context.loc[context["source_file"] == "nhs_hospitals_london_2018.csv", "context_code"]
    )
    assert (
        by_code.loc[by_code["site_code"].isin(in_2018), "location_source"]
        == "nhs_hospitals_london_2018.csv"
    ).all()


def test_ncl_sites_per_borough(bundled_result):
    sites = bundled_result.sites
    ncl = sites[sites["pilots"].str.split(";").map(lambda p: "ncl_estates" in p)]
    per_borough = ncl.groupby("borough_name").size().to_dict()
    assert set(per_borough) == set(NCL)
    assert (ncl["subregion"] == "ncl").all()
    assert ncl["in_london"].all()


def test_haringey_is_in_two_pilots(bundled_result):
    sites = bundled_result.sites
    haringey = sites[sites["borough_name"] == "Haringey"]
    assert len(haringey) > 0
    assert set(haringey["pilots"]) == {"ncl_estates;haringey_prevention"}


def test_sites_outside_london_are_kept_flagged_and_not_in_london(bundled_result):
    sites = bundled_result.sites
    outside = sites[sites["join_method"] == "outside"]
    assert len(outside) > 0
    assert not outside["in_london"].any()
    assert outside["borough_code"].isna().all()
    assert outside["quality_flags"].str.contains("outside_london").all()
    assert outside["borough_distance_m"].isna().all()  # not measured beyond 250 m


def test_table_columns_crs_and_coordinates(bundled_result):
    sites = bundled_result.sites
    for column in [
        "site_code",
        "site_name",
        "trust_code",
        "trust_name",
        "borough_code",
        "borough_name",
        "subregion",
        "pilots",
        "located_by",
        "join_method",
        "land_owned_ha",
        "land_unused_ha",
        "latitude",
        "longitude",
        "easting",
        "northing",
    ]:
        assert column in sites.columns
    assert sites.crs.to_string() == WGS84
    located = sites[sites.geometry.notna()]
    assert (located.geometry.x - located["longitude"]).abs().max() < 1e-9
    back = located.to_crs(BNG)
    assert (back.geometry.x - located["easting"]).abs().max() < 1e-3


def test_aberdeen_park_is_flagged_as_implausible(result_2016):
    row = result_2016.sites.set_index("site_code").loc["TAF10"]
    assert "implausible_land_area" in row["quality_flags"]
    [finding] = [f for f in result_2016.findings if f.check == "implausible_land_area"]
    assert finding.site_code == "TAF10"
    assert "103 ha" in finding.reason
    assert finding.row == 169  # spreadsheet row of TAF10 in eric_sites_london.csv


# -- users' own files -----------------------------------------------------------------------

USER_HEADER = "site_code,site_name,latitude,longitude,land_owned_ha,land_unused_ha\n"


def test_user_csv_river_bank_site_takes_the_nearest_borough(write):
    # A point on the Thames by Westminster Bridge: in no borough polygon, metres from one.
    path = write(
        "sites.csv",
        USER_HEADER
        + "RIVER1,Thames by Westminster Bridge,51.50080,-0.12080,1,0.5\n"
        + "FAR1,Reading,51.4543,-0.9781,2,1\n"
        + "IN1,Royal Free,51.5532,-0.1654,5,\n",
    )
    result = run(Inputs(sites=(path,)))
    sites = result.sites.set_index("site_code")
    assert sites.loc["RIVER1", "join_method"] == "nearest"
    assert 0 < sites.loc["RIVER1", "borough_distance_m"] <= 250
    assert sites.loc["RIVER1", "in_london"]
    assert sites.loc["FAR1", "join_method"] == "outside"
    assert sites.loc["IN1", "join_method"] == "within"
    assert sites.loc["IN1", "borough_name"] == "Camden"
    assert pd.isna(sites.loc["IN1", "land_unused_ha"])  # blank is missing, never 0
    assert (sites["located_by"] == "input_coordinates").all()


def test_user_csv_in_british_national_grid(write):
    path = write("bng.csv", "site_code,site_name,easting,northing\nB1,Guy's,532800,180000\n")
    sites = run(Inputs(sites=(path,))).sites
    assert sites.loc[0, "borough_name"] == "Southwark"
    assert sites.loc[0, "latitude"] == pytest.approx(51.50, abs=0.01)


def test_user_csv_without_coordinates_is_located_by_code(write):
    path = write("codes.csv", "site_code,site_name,latitude,longitude\nRAL01,Royal Free,,\n")
    sites = run(Inputs(sites=(path,))).sites
    assert sites.loc[0, "located_by"] == "ods_code"
    assert sites.loc[0, "borough_name"] == "Camden"


@pytest.mark.parametrize("suffix", [".gpkg", ".geojson", ".parquet", ".shp"])
def test_user_layers_in_any_format(tmp_path, suffix):
    layer = gpd.GeoDataFrame(
        {"site_code": ["G1", "G2"], "site_name": ["Royal Free", "Guy's"]},
        geometry=[Point(527000, 185500), Point(532800, 180000)],
        crs=BNG,
    )
    path = tmp_path / f"sites{suffix}"
    if suffix == ".parquet":
        layer.to_parquet(path)
    else:
        layer.to_file(path)
    sites = run(Inputs(sites=(path,))).sites
    assert sites["borough_name"].tolist() == ["Camden", "Southwark"]


def test_repeated_sites_option_concatenates_and_rejects_duplicates(write):
    a = write("a.csv", USER_HEADER + "A1,One,51.55,-0.16,1,0\n")
    b = write("b.csv", USER_HEADER + "A1,One again,51.55,-0.16,1,0\nB1,Two,51.50,-0.10,1,0\n")
    result = run(Inputs(sites=(a, b)))
    assert result.sites["site_code"].tolist() == ["A1", "B1"]
    [dup] = [f for f in result.findings if f.check == "duplicate_site_code"]
    assert (dup.source_file, dup.row) == ("b.csv", 2)
    assert "first seen at a.csv row 2" in dup.reason


def test_layer_without_crs_is_refused(tmp_path):
    path = tmp_path / "nocrs.geojson"
    path.write_text(
        '{"type":"FeatureCollection","features":[{"type":"Feature","properties":'
        '{"site_code":"A","site_name":"B"},"geometry":{"type":"Point","coordinates":'
        "[527000,185500]}}]}"
    )
    # GeoJSON is WGS84 by definition, so these metres are refused row by row.
    result = run(Inputs(sites=(path,)))
    [finding] = [f for f in result.findings if f.action == "rejected"]
    assert finding.check == "bng_as_degrees"
    shp = tmp_path / "nocrs.shp"
    with pytest.warns(UserWarning, match="'crs' was not provided"):
        gpd.GeoDataFrame(
            {"site_code": ["A"], "site_name": ["B"]}, geometry=[Point(527000, 185500)]
        ).to_file(shp)
    with pytest.raises(CRSError, match="declares no CRS"):
        run(Inputs(sites=(shp,)))


def test_boundaries_missing_code_column(tmp_path):
    layer = gpd.read_file("data/boundaries/london_boroughs.geojson").drop(columns="code")
    path = tmp_path / "b.gpkg"
    layer.to_file(path)
    with pytest.raises(DataValidationError, match="no borough_code column"):
        run(Inputs(boundaries=path))


def test_locations_file_places_unlocated_sites(write):
    path = write(
        "locations.csv",
        "site_code,latitude,longitude,source\n"
        'TAF65,51.5140,-0.1290,"test fixture: Stacey Street, approximate"\n'
        "NOPE1,51.5,-0.1,test fixture\n"
        "RAL26,51.65,-0.20,test fixture\n",
    )
    result = run(Inputs(locations=path, year="2016/17"))
    sites = result.sites.set_index("site_code")
    assert sites.loc["TAF65", "located_by"] == "locations_file"
    assert sites.loc["TAF65", "borough_name"] == "Camden"
    assert "test fixture" in sites.loc["TAF65", "location_source"]
    checks = {f.check for f in result.findings if f.source_file == "locations.csv"}
    assert checks == {"unknown_site_code", "location_not_needed"}


def test_reconciliation_is_checked_against_the_trust_level_file(result_2016):
    check = result_2016.summary["reconciliation"]["trust_level_check"]
    assert check["matches_site_rows"] is True
    assert check["trusts"] == 36
    assert (check["land_owned_ha"], check["land_unused_ha"]) == (826.3, 148.69)
