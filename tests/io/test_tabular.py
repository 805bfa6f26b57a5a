"""Every input that takes a CSV file takes an Excel workbook: the same records, Excel's rows."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from openpyxl import Workbook

from estates.errors import DataValidationError
from estates.findings import Findings
from estates.io import bundled
from estates.io.inputs import (
    load_disposal_pipeline,
    load_groupings,
    load_land_values,
    load_locations,
)
from estates.io.tabular import read_table_text


def _both(tmp_path: Path, name: str, frame: pd.DataFrame) -> tuple[Path, Path]:
    """Write ``frame`` as ``name``.csv and as the second sheet of ``name``.xlsx."""
    csv_path = tmp_path / f"{name}.csv"
    frame.to_csv(csv_path, index=False)
    book = Workbook()
    book.active.title = "Notes"
    book.active.append(["written by hand; the data are on the next sheet"])
    sheet = book.create_sheet("Data")
    sheet.append(list(frame.columns))
    for row in frame.itertuples(index=False):
        sheet.append(list(row))
    xlsx = tmp_path / f"{name}.xlsx"
    book.save(xlsx)
    return csv_path, xlsx


def test_groupings_from_a_workbook_equal_the_bundled_csv(tmp_path: Path):
    frame = pd.read_csv(bundled.groupings_path(), dtype=str, keep_default_na=False)
    _, xlsx = _both(tmp_path, "groupings", frame)
    pd.testing.assert_frame_equal(load_groupings(xlsx, sheet="Data"), load_groupings())


def test_locations_from_a_workbook_keep_excel_rows_and_the_sheet(tmp_path: Path):
    frame = pd.DataFrame(
        {
            "site_code": ["RAL01", "RAL26", "RAP01"],
            "latitude": [51.5532, "", 51.6130],
            "longitude": [-0.1652, "", -0.0731],
            "postcode": ["", "EN5 3DJ", ""],
            "source": ["survey 2018", "postcode", ""],
        }
    )
    csv_path, xlsx = _both(tmp_path, "locations", frame)
    from_csv = load_locations(csv_path, findings=Findings())
    findings = Findings()
    from_xlsx = load_locations(xlsx, findings=findings, sheet="Data")
    assert from_xlsx["site_code"].tolist() == from_csv["site_code"].tolist() == ["RAL01", "RAL26"]
    assert from_xlsx["latitude"].tolist() == from_csv["latitude"].tolist()
    assert from_xlsx["source_row"].tolist() == [2, 3]
    assert set(from_xlsx["source_file"]) == {"locations.xlsx sheet Data"}
    [blank] = list(findings)
    assert (blank.source_file, blank.row, blank.check) == (
        "locations.xlsx sheet Data",
        4,
        "blank_source",
    )


def test_pipeline_and_land_values_from_workbooks(tmp_path: Path):
    pipeline = pd.DataFrame(
        {
            "site_code": ["RAL26", "RAP01"],
            "stage": ["identified", "sold"],
            "date": ["2018-04-01", "2019-01-31"],
        }
    )
    _, xlsx = _both(tmp_path, "pipeline", pipeline)
    records = load_disposal_pipeline(xlsx, findings=Findings(), sheet="Data")
    assert records["stage"].tolist() == ["identified", "sold"]
    assert records["source_row"].tolist() == [2, 3]
    values = pd.DataFrame(
        {
            "borough_name": ["Camden", "Barnet"],
            "gbp_per_ha": [52_000_000, 18_500_000],
            "source": "survey",
        }
    )
    csv_path, xlsx = _both(tmp_path, "values", values)
    from_csv = load_land_values(csv_path)
    from_xlsx = load_land_values(xlsx, sheet="Data")
    assert from_xlsx["value_gbp_per_ha"].tolist() == from_csv["value_gbp_per_ha"].tolist()
    assert from_xlsx["borough_code"].tolist() == ["E09000007", "E09000003"]


def test_the_first_sheet_by_default_and_an_unknown_one_listed(tmp_path: Path):
    frame = pd.DataFrame({"site_code": ["RAL01"], "stage": ["sold"], "date": ["2019-01-31"]})
    _, xlsx = _both(tmp_path, "pipeline", frame)
    with pytest.raises(
        DataValidationError,
        match=r"pipeline\.xlsx sheet 'Notes': missing columns 'site_code', 'stage' and 'date'",
    ):
        load_disposal_pipeline(xlsx, findings=Findings())
    with pytest.raises(DataValidationError) as err:
        read_table_text(xlsx, Findings(), sheet="data")
    assert (
        str(err.value)
        == "pipeline.xlsx: no sheet 'data'; the workbook's sheets are 'Notes', 'Data'"
    )
