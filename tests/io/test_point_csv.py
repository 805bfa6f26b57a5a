"""The CSV point reader of `estates join`: row numbers as the user sees them, problems kept."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from estates.errors import DataValidationError
from estates.io import bundled
from estates.io.point_csv import csv_point_columns, iter_csv_points

LINES = [
    "id,latitude,longitude",  # line 1
    "a,51.5,-0.1",  # 2
    "b,51.5,-0.1,extra",  # 3: too many fields
    "",  # 4: blank, no record
    "c,north,-0.1",  # 5
    "d,,",  # 6: no location
    "e,51.6,",  # 7: one coordinate
    "f,51.4,-0.2,x,y",  # 8: too many fields
    "g,n/a,N/A",  # 9: no location, spelt out
    "h,5.15e1,-1e-1",  # 10
    "i,inf,-0.1",  # 11
]


@pytest.mark.parametrize("chunk_rows", [1, 2, 3, 100])
def test_rows_keep_their_line_numbers_and_problems(tmp_path: Path, chunk_rows: int) -> None:
    path = tmp_path / "points.csv"
    path.write_text("\n".join(LINES) + "\n")
    batches = list(iter_csv_points(path, chunk_rows=chunk_rows))
    rows = np.concatenate([b.row for b in batches]).tolist()
    assert rows == [2, 3, 5, 6, 7, 8, 9, 10, 11]
    problems = [p for b in batches for p in b.problem]
    assert problems == [
        None,
        "4 fields but the header has 3; quote values that contain a comma",
        "latitude 'north' is not a finite number",
        None,
        "longitude is blank but latitude is not",
        "5 fields but the header has 3; quote values that contain a comma",
        None,
        None,
        "latitude 'inf' is not a finite number",
    ]
    x = np.concatenate([b.x for b in batches])
    y = np.concatenate([b.y for b in batches])
    np.testing.assert_array_equal(x[[0, 7]], [-0.1, -0.1])
    np.testing.assert_array_equal(y[[0, 7]], [51.5, 51.5])
    assert np.isnan(np.delete(x, [0, 7])).all()
    frame = pd.concat([b.frame for b in batches])
    assert frame["id"].tolist() == ["a", "", "c", "d", "e", "", "g", "h", "i"]
    assert frame.index.tolist() == list(range(9))


def test_coordinate_columns_and_crs(tmp_path: Path) -> None:
    bng = tmp_path / "bng.csv"
    bng.write_text("easting,northing\n530000,180000\n")
    assert csv_point_columns(bng) == ("easting", "northing", "EPSG:27700")
    none = tmp_path / "none.csv"
    none.write_text("x,y\n1,2\n")
    with pytest.raises(DataValidationError, match=r"none\.csv: no coordinate columns"):
        csv_point_columns(none)


def test_nhs_uk_and_ods_coordinate_headers_are_found(tmp_path: Path) -> None:
    """The one column detector reads a point file's coordinate headers as it reads a site file's."""
    hospitals = pd.read_csv(bundled.context_site_paths()[0], dtype=str, nrows=5)
    path = tmp_path / "hospitals.csv"
    hospitals.to_csv(path, index=False)
    assert csv_point_columns(path) == ("Longitude", "Latitude", "EPSG:4326")
    batches = list(iter_csv_points(path))
    np.testing.assert_allclose(batches[0].x, hospitals["Longitude"].astype(float))
    ods = tmp_path / "ods.csv"
    ods.write_text("ODS_Code,LAT,LON\nRAL01,51.5532,-0.1652\n")
    assert csv_point_columns(ods) == ("LON", "LAT", "EPSG:4326")
    two = tmp_path / "two.csv"
    two.write_text("LAT,Latitude,LON\n51.5,51.5,-0.1\n")
    with pytest.raises(
        DataValidationError, match="'LAT' and 'Latitude' could each be the latitude"
    ):
        csv_point_columns(two)


def test_a_workbook_is_refused_with_the_fix(tmp_path: Path) -> None:
    from openpyxl import Workbook

    book = Workbook()
    book.active.append(["latitude", "longitude"])
    book.active.append([51.5, -0.1])
    path = tmp_path / "points.csv"
    book.save(path)
    with pytest.raises(DataValidationError, match=r"points\.csv: this is an Excel workbook"):
        csv_point_columns(path)


def test_an_unreadable_file_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "quote.csv"
    path.write_text('id,latitude,longitude\na,51.5,-0.1\nb,"51.5\n')
    with pytest.raises(DataValidationError, match=r"quote\.csv: cannot read line \d+ onwards"):
        list(iter_csv_points(path, chunk_rows=1))
