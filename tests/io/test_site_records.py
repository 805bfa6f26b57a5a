"""Site files with the headers of the system that exported them, in CSV, Excel or a layer.

Every file here is cut from the bundled real data: an ERIC return as NHS
Digital publishes it, a GP-practice-style point list with NHS ODS headers, a
planner's Excel workbook, a GeoJSON layer.
"""

from __future__ import annotations

import logging
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import xlwt
from openpyxl import Workbook

from estates.errors import DataValidationError
from estates.findings import Findings
from estates.io import bundled
from estates.io.site_records import iter_site_records, read_site_records
from estates.stages.sites import load_sites

ERIC_2019 = bundled.eric_return_paths()["2019/20"]
HOSPITALS = Path(bundled.context_site_paths()[0])


def _hospitals(n: int = 40) -> pd.DataFrame:
    """Return real NHS hospital records (ODS codes, names, WGS84 coordinates), as text."""
    frame = pd.read_csv(HOSPITALS, dtype=str, keep_default_na=False)
    return frame[frame["Latitude"] != ""].head(n).reset_index(drop=True)


@pytest.fixture
def gp_list(tmp_path: Path) -> Path:
    """A GP-practice-style point list: ODS headers, coordinates, no land columns."""
    frame = _hospitals().rename(columns={"OrganisationName": "Name"})
    path = tmp_path / "gp_practices.csv"
    frame[["OrganisationCode", "Name", "Latitude", "Longitude"]].to_csv(path, index=False)
    return path


def _save_workbook(path: Path, sheets: dict[str, pd.DataFrame]) -> Path:
    workbook = Workbook()
    workbook.remove(workbook.active)
    for title, frame in sheets.items():
        sheet = workbook.create_sheet(title)
        sheet.append(list(frame.columns))
        for row in frame.itertuples(index=False):
            sheet.append(list(row))
    workbook.save(path)
    return path


def test_an_eric_return_with_its_own_headers(caplog: pytest.LogCaptureFixture):
    findings = Findings()
    with caplog.at_level(logging.INFO, logger="estates"):
        records = read_site_records(ERIC_2019, findings=findings)
    raw = pd.read_csv(ERIC_2019, dtype=str, keep_default_na=False)
    assert len(records) == len(raw)
    assert records["site_code"].tolist() == raw["Site Code"].str.strip().tolist()
    assert records["trust_code"].tolist() == raw["Trust Code"].str.strip().tolist()
    assert records["postcode"].tolist() == raw["Post Code"].str.strip().tolist()
    owned = pd.to_numeric(raw["Land area owned (Hectares)"], errors="coerce")
    assert np.allclose(records["land_owned_ha"], owned, equal_nan=True)
    assert records["latitude"].isna().all()
    assert records["source_row"].iloc[0] == 2
    line = next(r.message for r in caplog.records if "columns:" in r.message)
    assert "site_code='Site Code'" in line
    assert "trust_code='Trust Code'" in line
    assert "land_unused_ha='Land area not delivering services (Hectares)'" in line
    assert "no coordinate columns: sites are located by postcode or ODS code" in line


def test_an_eric_2016_17_return_organisation_code_is_the_trust():
    records = read_site_records(bundled.eric_sites_path(), findings=Findings())
    raw = pd.read_csv(bundled.eric_sites_path(), dtype=str, keep_default_na=False)
    assert records["trust_code"].tolist() == raw["Organisation Code"].str.strip().tolist()
    assert records["site_code"].tolist() == raw["Site Code"].str.strip().tolist()
    # ERIC's per-trust aggregate rows are not places
    assert records["is_aggregate"].dtype == bool
    assert records["is_aggregate"].sum() == (raw["Site Code"] == "AGGRE").sum() > 0


def test_a_point_list_with_ods_headers_and_no_land_columns(gp_list: Path, caplog):
    with caplog.at_level(logging.INFO, logger="estates"):
        records = read_site_records(gp_list, findings=Findings())
    source = pd.read_csv(gp_list, dtype=str)
    assert records["site_code"].tolist() == source["OrganisationCode"].tolist()
    assert records["site_name"].tolist() == source["Name"].tolist()
    assert np.allclose(records["latitude"], source["Latitude"].astype(float))
    assert "land_owned_ha" not in records
    assert (
        "gp_practices.csv columns: site_code='OrganisationCode', site_name='Name', "
        "latitude='Latitude', longitude='Longitude' (detected)"
    ) in caplog.messages


def test_a_site_list_with_only_code_and_postcode_is_located_by_postcode(tmp_path: Path):
    """No coordinate columns at all: codes unknown to the NHS files, located by postcode."""
    raw = pd.read_csv(ERIC_2019, dtype=str, keep_default_na=False)
    raw = raw[(raw["Site Code"] != "AGGRE") & (raw["Post Code"] != "")].head(12)
    frame = pd.DataFrame(
        {
            "site_code": "Z" + raw["Site Code"].str[1:],  # not an ODS code in the NHS files
            "site_name": "Practice " + raw["Site Code"],
            "postcode": raw["Post Code"],
        }
    )
    path = tmp_path / "by_postcode.csv"
    frame.to_csv(path, index=False)
    assert path.read_text().splitlines()[0] == "site_code,site_name,postcode"
    sites, _ = load_sites([path])
    assert len(sites) == 12
    assert sites["located_by"].eq("postcode").all()
    assert sites.geometry.notna().all()
    # inside London, where the postcodes are
    assert sites["latitude"].between(51.2, 51.8).all()


def test_two_candidate_columns_exit_with_both_names_and_the_fix(tmp_path: Path):
    path = tmp_path / "two_lats.csv"
    path.write_text("site_code,site_name,Latitude,LAT,longitude\nX1,A,51.5,51.5,-0.1\n")
    with pytest.raises(DataValidationError) as err:
        read_site_records(path, findings=Findings())
    assert str(err.value) == (
        "two_lats.csv: columns 'Latitude' and 'LAT' could each be the latitude; say which with "
        "columns={'latitude': 'Latitude'} (--columns latitude=Latitude)"
    )
    records = read_site_records(path, findings=Findings(), columns={"latitude": "LAT"})
    assert records["latitude"].tolist() == [51.5]


def test_an_unrecognised_header_is_named_with_columns(tmp_path: Path):
    frame = _hospitals(5)[["OrganisationCode", "OrganisationName", "Latitude", "Longitude"]]
    frame.columns = ["ODS_Code", "Label", "LAT", "LON"]
    path = tmp_path / "ods.csv"
    frame.to_csv(path, index=False)
    with pytest.raises(DataValidationError, match=r"no site_name column; the headers are: "):
        read_site_records(path, findings=Findings())
    records = read_site_records(path, findings=Findings(), columns={"site_name": "Label"})
    assert records["site_code"].tolist() == frame["ODS_Code"].tolist()
    assert np.allclose(records["longitude"], frame["LON"].astype(float))


def test_an_excel_workbook_of_sites_first_sheet_or_named(tmp_path: Path, gp_list: Path):
    sites = pd.read_csv(gp_list, dtype=str)
    sites["Latitude"] = sites["Latitude"].astype(float)
    sites["Longitude"] = sites["Longitude"].astype(float)
    notes = pd.DataFrame({"note": ["exported from the practice register"]})
    path = _save_workbook(tmp_path / "practices.xlsx", {"Practices": sites, "Notes": notes})
    from_csv = read_site_records(gp_list, findings=Findings())
    from_excel = read_site_records(path, findings=Findings())
    assert from_excel["site_code"].tolist() == from_csv["site_code"].tolist()
    assert np.allclose(from_excel["latitude"], from_csv["latitude"])
    assert from_excel["source_file"].iloc[0] == "practices.xlsx sheet Practices"
    assert from_excel["source_row"].tolist() == list(range(2, 2 + len(sites)))
    named = read_site_records(path, findings=Findings(), sheet="Practices")
    assert named["site_code"].tolist() == from_csv["site_code"].tolist()
    with pytest.raises(DataValidationError) as err:
        read_site_records(path, findings=Findings(), sheet="Sites")
    assert str(err.value) == (
        "practices.xlsx: no sheet 'Sites'; the workbook's sheets are 'Practices', 'Notes'"
    )
    chunks = list(iter_site_records(path, findings=Findings(), chunk_rows=7))
    assert pd.concat(chunks)["source_row"].tolist() == from_excel["source_row"].tolist()


def test_an_old_xls_workbook_reads_as_the_csv_does(tmp_path: Path, gp_list: Path):
    """An Excel 97-2003 ``.xls`` (as older NHS exports are) gives the CSV's records."""
    sites = pd.read_csv(gp_list, dtype=str)
    book = xlwt.Workbook()
    sheet = book.add_sheet("Practices")
    for col, name in enumerate(sites.columns):
        sheet.write(0, col, name)
    for row, values in enumerate(sites.itertuples(index=False), start=1):
        for col, value in enumerate(values):
            is_number = sites.columns[col] in ("Latitude", "Longitude")
            sheet.write(row, col, float(value) if is_number else value)
    path = tmp_path / "practices.xls"
    book.save(str(path))
    from_csv = read_site_records(gp_list, findings=Findings())
    from_xls = read_site_records(path, findings=Findings())
    assert from_xls["site_code"].tolist() == from_csv["site_code"].tolist()
    assert np.allclose(from_xls["latitude"], from_csv["latitude"])
    assert np.allclose(from_xls["longitude"], from_csv["longitude"])
    assert from_xls["source_file"].iloc[0] == "practices.xls sheet Practices"
    assert from_xls["source_row"].tolist() == list(range(2, 2 + len(sites)))


def test_excel_findings_name_the_sheet_and_the_row_excel_shows(tmp_path: Path):
    frame = pd.DataFrame(
        {
            "Site Code": ["RAL01", "RAL26", "RAP01"],
            "Site Name": ["Royal Free", "Barnet", "North Middlesex"],
            "Land area owned (Hectares)": ["6.1", "lots", "4.9"],
        }
    )
    path = _save_workbook(tmp_path / "land.xlsx", {"Return": frame})
    findings = Findings()
    read_site_records(path, findings=findings)
    [finding] = [f for f in findings if f.column == "land_owned_ha"]
    assert (finding.source_file, finding.row, finding.site_code) == (
        "land.xlsx sheet Return",
        3,
        "RAL26",
    )


def test_a_workbook_under_a_csv_name_gets_the_hint(tmp_path: Path, gp_list: Path):
    sites = pd.read_csv(gp_list, dtype=str)
    path = _save_workbook(tmp_path / "practices.xlsx", {"Practices": sites})
    renamed = path.rename(tmp_path / "practices.csv")
    with pytest.raises(DataValidationError, match="this is an Excel workbook") as err:
        read_site_records(renamed, findings=Findings())
    assert "rename it to practices.xlsx" in str(err.value)


def test_a_geojson_layer_with_nhs_uk_headers(tmp_path: Path):
    frame = _hospitals(10)
    layer = gpd.GeoDataFrame(
        frame[["OrganisationCode", "OrganisationName", "ParentODSCode"]],
        geometry=gpd.points_from_xy(frame["Longitude"].astype(float), frame["Latitude"]),
        crs="EPSG:4326",
    )
    path = tmp_path / "hospitals.geojson"
    layer.to_file(path, driver="GeoJSON")
    records = read_site_records(path, findings=Findings())
    assert records["site_code"].tolist() == frame["OrganisationCode"].tolist()
    assert records["site_name"].tolist() == frame["OrganisationName"].tolist()
    assert records["trust_code"].tolist() == frame["ParentODSCode"].tolist()
    assert np.allclose(records["latitude"], frame["Latitude"].astype(float))
