"""Excel workbooks read into the same text frame as a CSV file, row numbers as Excel shows."""

from __future__ import annotations

import csv
import datetime as dt
import shutil
from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd
import pytest

from estates.errors import DataValidationError
from estates.findings import Findings
from estates.io.csv_reader import parse_numbers, read_csv_text
from estates.io.detect import detect_site_columns
from estates.io.excel import (
    check_not_workbook,
    column_letter,
    is_excel_path,
    read_excel_text,
    sheet_names,
    workbook_kind,
)

ROOT = Path(__file__).parents[2]
HOSPITALS = ROOT / "data" / "sites" / "nhs_hospitals_london_2018.csv"


def _save(path: Path, sheets: dict[str, list[list[object]]]) -> Path:
    workbook = openpyxl.Workbook()
    workbook.remove(workbook.active)
    for title, rows in sheets.items():
        sheet = workbook.create_sheet(title)
        for row in rows:
            sheet.append(row)
    workbook.save(path)
    return path


@pytest.fixture
def quirky(tmp_path: Path) -> Path:
    """A planner's site list: numbers, dates, blanks, a formula and a second sheet."""
    return _save(
        tmp_path / "sites.xlsx",
        {
            "Sites": [
                ["Site Code", "Site Name", "Latitude", "Longitude", "Land ha", "Surveyed", "Ref"],
                ["RAL01", "ROYAL FREE HOSPITAL", 51.5531, -0.1653, 12, dt.date(2017, 3, 31), 7],
                [" R1H12 ", "THE ROYAL LONDON", 51.5189, -0.0594, 4.88, None, "0012"],
                [None, None, None, None, None, None, None],
                ["RRV03", None, 51.5246, -0.1357, 0.1, dt.datetime(2017, 3, 31, 12, 30), True],
                [
                    "RKEQ4",
                    "WHITTINGTON",
                    "51.5657",
                    "-0.1383",
                    "=1+2",
                    dt.datetime(2017, 4, 1),
                    1e-7,
                ],
                [None, None, None, None, None, None, None],
                [None, None, None, None, None, None, None],
            ],
            "Notes": [["source", "ERIC 2016/17"], ["a", 1]],
        },
    )


def test_first_sheet_as_text_with_excel_row_numbers(quirky: Path):
    frame = read_excel_text(quirky)
    assert list(frame.columns) == [
        "Site Code",
        "Site Name",
        "Latitude",
        "Longitude",
        "Land ha",
        "Surveyed",
        "Ref",
    ]
    # Row 4 is blank and kept, as in a CSV; the blank rows after the last record are dropped.
    assert frame.index.tolist() == [2, 3, 4, 5, 6]
    assert frame.index.name == "row"
    assert frame.loc[2].tolist() == [
        "RAL01",
        "ROYAL FREE HOSPITAL",
        "51.5531",
        "-0.1653",
        "12",
        "2017-03-31",
        "7",
    ]
    assert frame.loc[3].tolist() == [
        "R1H12",
        "THE ROYAL LONDON",
        "51.5189",
        "-0.0594",
        "4.88",
        "",
        "0012",
    ]
    assert frame.loc[4].tolist() == [""] * 7
    assert frame.loc[5, "Surveyed"] == "2017-03-31T12:30:00"
    assert frame.loc[5, "Ref"] == "TRUE"
    assert frame.loc[5, "Land ha"] == "0.1"
    # A formula never computed by Excel has no saved value; midnight is a date.
    assert frame.loc[6, "Land ha"] == ""
    assert frame.loc[6, "Surveyed"] == "2017-04-01"
    assert frame.loc[6, "Ref"] == "1e-07"
    assert all(isinstance(v, str) for v in frame.to_numpy().ravel())


def test_numbers_parse_as_from_a_csv(quirky: Path):
    frame = read_excel_text(quirky)
    findings = Findings()
    land = parse_numbers(
        frame["Land ha"], column="land_owned_ha", source_file="sites.xlsx", findings=findings
    )
    assert land.tolist()[:3] == [12.0, 4.88, pytest.approx(float("nan"), nan_ok=True)]
    assert land.loc[5] == 0.1
    lat = parse_numbers(frame["Latitude"], column="latitude", source_file="x", findings=None)
    assert lat.loc[6] == 51.5657


def test_a_sheet_by_name(quirky: Path):
    frame = read_excel_text(quirky, sheet="Notes")
    assert list(frame.columns) == ["source", "ERIC 2016/17"]
    assert frame.loc[2].tolist() == ["a", "1"]
    assert sheet_names(quirky) == ["Sites", "Notes"]


def test_an_unknown_sheet_lists_the_sheets(quirky: Path):
    with pytest.raises(DataValidationError) as err:
        read_excel_text(quirky, sheet="sites")
    assert (
        str(err.value) == "sites.xlsx: no sheet 'sites'; the workbook's sheets are 'Sites', 'Notes'"
    )


def test_same_frame_as_the_csv_it_was_made_from(tmp_path: Path):
    """The real NHS.UK hospitals, typed into Excel as numbers, read back as the CSV reads."""
    with HOSPITALS.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.reader(handle))
    numeric = {rows[0].index(c) for c in ("OrganisationID", "Latitude", "Longitude")}
    typed = [rows[0]] + [
        [float(v) if i in numeric and v else (v or None) for i, v in enumerate(row)]
        for row in rows[1:]
    ]
    path = _save(tmp_path / "hospitals.xlsx", {"Hospital": typed})
    from_excel = read_excel_text(path, required=("OrganisationCode",))
    from_csv = read_csv_text(HOSPITALS, Findings())
    assert from_excel.index.equals(from_csv.index)
    text_columns = [c for i, c in enumerate(rows[0]) if i not in numeric]
    pd.testing.assert_frame_equal(from_excel[text_columns], from_csv[text_columns])
    assert (from_excel["OrganisationID"] == from_csv["OrganisationID"]).all()
    # Coordinates are the same numbers, written in Python's shortest form; the
    # workbook writer keeps 16 significant digits, as Excel does.
    for column in ("Latitude", "Longitude"):
        excel = from_excel[column].astype(float).to_numpy()
        csv_values = parse_numbers(from_csv[column], column=column, source_file="x", findings=None)
        assert np.allclose(excel, csv_values.to_numpy(), rtol=1e-15, atol=0)
    assert from_excel.loc[3, "Longitude"] == "0.04307796061038971"
    found = detect_site_columns(list(from_excel.columns), source=path.name)
    assert found.chosen["site_code"] == "OrganisationCode"


def test_a_blank_header_cell_names_its_column(tmp_path: Path):
    path = _save(tmp_path / "b.xlsx", {"S": [["site_code", None, "x"], ["A", "B", "1"]]})
    with pytest.raises(DataValidationError) as err:
        read_excel_text(path)
    assert str(err.value) == (
        "b.xlsx sheet 'S': the header cell B1 is blank but column B holds values "
        "(first on row 2); name the column on row 1"
    )


def test_an_empty_column_without_a_header_is_ignored(tmp_path: Path):
    path = _save(tmp_path / "e.xlsx", {"S": [["site_code", None, "x"], ["A", None, "1"]]})
    frame = read_excel_text(path)
    assert list(frame.columns) == ["site_code", "x"]
    assert frame.loc[2].tolist() == ["A", "1"]


def test_merged_header_cells_are_refused(tmp_path: Path):
    path = tmp_path / "m.xlsx"
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.title = "Sites"
    sheet.append(["site_code", "Coordinates", None])
    sheet.append(["A", 51.5, -0.1])
    sheet.merge_cells("B1:C1")
    workbook.save(path)
    with pytest.raises(DataValidationError, match=r"header cells B1:C1 are merged; give each"):
        read_excel_text(path)


def test_header_not_on_row_1(tmp_path: Path):
    path = _save(tmp_path / "h.xlsx", {"S": [[None], [None], ["site_code"], ["A"]]})
    with pytest.raises(
        DataValidationError, match=r"row 1 is empty.*first row with values is row 3"
    ):
        read_excel_text(path)


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        ([], "h.xlsx sheet 'S' is empty; expected a header on row 1"),
        ([["site_code"]], "h.xlsx sheet 'S' has a header but no records"),
        ([["a", "a"], [1, 2]], "column 'a' appears twice in the header"),
        ([["site_name", "x"], [1, 2]], "missing column 'site_code'; found site_name, x"),
    ],
)
def test_bad_sheets(tmp_path: Path, rows: list[list[object]], message: str):
    path = _save(tmp_path / "h.xlsx", {"S": rows})
    with pytest.raises(DataValidationError, match=message):
        read_excel_text(path, required=("site_code",))


def test_not_a_workbook(tmp_path: Path):
    with pytest.raises(DataValidationError, match=r"nope.xlsx: no such file"):
        read_excel_text(tmp_path / "nope.xlsx")
    text = tmp_path / "text.xlsx"
    text.write_text("site_code,site_name\nA,B\n", encoding="utf-8")
    with pytest.raises(DataValidationError, match=r"text\.xlsx: cannot read as a workbook: not an"):
        read_excel_text(text)
    broken = tmp_path / "broken.xlsx"
    broken.write_bytes(b"PK\x03\x04" + b"\x00" * 40)
    with pytest.raises(
        DataValidationError, match=r"broken\.xlsx: cannot read as a workbook: a dam"
    ):
        read_excel_text(broken)


def test_an_xlsx_named_csv_is_recognised(quirky: Path, tmp_path: Path):
    renamed = tmp_path / "sites.csv"
    shutil.copy(quirky, renamed)
    with pytest.raises(DataValidationError) as err:
        check_not_workbook(renamed)
    assert str(err.value) == (
        "sites.csv: this is an Excel workbook (xlsx), not a CSV text file; rename it to "
        "sites.xlsx and estates reads it as Excel (first sheet, or --sheet NAME), "
        "or save it from Excel as 'CSV UTF-8'"
    )
    # The CSV reader alone says only that it is not text.
    with pytest.raises(DataValidationError, match="NUL bytes"):
        read_csv_text(renamed, Findings())


def test_other_binaries_named_csv(tmp_path: Path):
    archive = tmp_path / "sites_csv.zip"
    import zipfile

    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("sites.csv", "site_code,site_name\nA,B\n")
    named = tmp_path / "sites.csv"
    shutil.copy(archive, named)
    with pytest.raises(DataValidationError, match="a zip archive, not a CSV text file; unzip it"):
        check_not_workbook(named)
    xls = tmp_path / "old.csv"
    xls.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 100)
    with pytest.raises(DataValidationError, match=r"Excel workbook \(xls\).*rename it to old.xls"):
        check_not_workbook(xls)
    check_not_workbook(HOSPITALS)  # a real CSV passes
    check_not_workbook(tmp_path / "missing.csv")  # left to the CSV reader's own message


def test_helpers():
    assert is_excel_path("a.xlsx")
    assert is_excel_path("A.XLS")
    assert not is_excel_path("a.csv")
    assert workbook_kind(b"PK\x03\x04") == "xlsx"
    assert workbook_kind(b"\xef\xbb\xbfsite_code") is None
    assert [column_letter(i) for i in (0, 1, 25, 26, 27, 51, 52, 16383)] == [
        "A",
        "B",
        "Z",
        "AA",
        "AB",
        "AZ",
        "BA",
        "XFD",
    ]
