"""The bundled 2017 land values, and a user's land values file with its unit checks."""

from __future__ import annotations

import csv
import json

import pytest

from estates.errors import DataValidationError
from estates.io import bundled
from estates.io.land_values import (
    VALUATION_DATE,
    load_land_value_file,
    load_published_land_values,
)

SIX_AREAS = {
    "Central London, North": 6_000_000.0,
    "Central London, South": 6_175_000.0,
    "Greater London, North West": 4_900_000.0,
    "Greater London, South West": 4_450_000.0,
    "Greater London, North East": 3_200_000.0,
    "Greater London, South East": 4_000_000.0,
}


@pytest.fixture(scope="module")
def published():
    return load_published_land_values()


def _csv_rows(path):
    with path.open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def test_every_bundled_borough_has_a_published_range(published):
    boundaries = json.loads(bundled.boundaries_path().read_text(encoding="utf-8"))
    codes = {f["properties"]["code"] for f in boundaries["features"]}
    assert len(published) == 33
    assert set(published["borough_code"]) == codes
    assert published[["low_gbp_per_ha", "high_gbp_per_ha"]].notna().all().all()
    assert (published["low_gbp_per_ha"] > 0).all()
    # Industrial land is worth less than residential land in every London borough.
    assert (published["low_gbp_per_ha"] < published["high_gbp_per_ha"]).all()
    assert (published["low_valuation_date"] == VALUATION_DATE).all()
    assert published["high_source"].str.contains("policy appraisal 2017").all()


def test_residential_values_are_the_source_file_figures(published):
    source = {
        r["borough_code"]: float(r["residential_gbp_per_ha"])
        for r in _csv_rows(bundled.residential_land_values_path())
    }
    got = dict(zip(published["borough_code"], published["high_gbp_per_ha"], strict=True))
    assert got == source
    assert got["E09000002"] == 5_400_000  # Barking and Dagenham, the lowest
    assert got["E09000020"] == 180_600_000  # Kensington and Chelsea, the highest


def test_each_borough_takes_the_industrial_value_of_its_area(published):
    areas = {r["borough_code"]: r for r in _csv_rows(bundled.borough_industrial_areas_path())}
    assert len(areas) == 33
    assert {r["industrial_area"] for r in areas.values()} == set(SIX_AREAS)
    assert all(r["reasoning"].strip() for r in areas.values())
    for code, low, basis in zip(
        published["borough_code"], published["low_gbp_per_ha"], published["low_basis"], strict=True
    ):
        area = areas[code]["industrial_area"]
        assert low == SIX_AREAS[area]
        assert basis == f"industrial land, {area}"
    by_name = published.set_index("borough_name")
    assert by_name.at["Camden", "low_gbp_per_ha"] == 6_000_000
    assert by_name.at["Southwark", "low_gbp_per_ha"] == 6_175_000
    assert by_name.at["Barnet", "low_basis"] == "industrial land, Greater London, North West"


def test_an_area_not_in_the_workbook_is_an_error(write):
    text = bundled.borough_industrial_areas_path().read_text(encoding="utf-8")
    path = write("areas.csv", text.replace('"Central London, South"', '"Central London, East"', 1))
    with pytest.raises(DataValidationError, match=r"areas.csv row 23 \(borough E09000022\)"):
        load_published_land_values(areas_path=path)


def test_a_borough_without_an_area_is_named(write):
    lines = bundled.borough_industrial_areas_path().read_text(encoding="utf-8").splitlines()
    path = write("areas.csv", "\n".join(x for x in lines if "E09000029" not in x) + "\n")
    with pytest.raises(DataValidationError, match=r"no industrial_area for borough E09000029"):
        load_published_land_values(areas_path=path)


def test_a_file_by_name_with_source_date_and_low_values(write, published):
    path = write(
        "lv.csv",
        "borough_name,gbp_per_ha,low_gbp_per_ha,source,valuation_date\n"
        "Camden,50000000,7000000,Valuer's report,2024-04-01\n"
        "kensington and chelsea,190000000,,Valuer's report,2024-04-01\n",
    )
    frame = load_land_value_file(path, published=published)
    assert frame["borough_code"].tolist() == ["E09000007", "E09000020"]
    assert frame["value_gbp_per_ha"].tolist() == [50e6, 190e6]
    assert frame.at[0, "low_gbp_per_ha"] == 7e6
    assert frame["low_gbp_per_ha"].isna().tolist() == [False, True]
    assert frame["source"].tolist() == ["Valuer's report"] * 2
    assert frame["valuation_date"].tolist() == ["2024-04-01"] * 2
    assert frame["source_row"].tolist() == [2, 3]


def test_a_file_without_source_is_sourced_by_its_name(write):
    path = write("my_values.csv", "borough_code,gbp_per_ha\nE09000007,45000000\n")
    frame = load_land_value_file(path)
    assert frame.at[0, "source"] == "my_values.csv"
    assert frame["valuation_date"].isna().all()


@pytest.mark.parametrize(
    ("body", "match"),
    [
        ("borough_name,gbp_per_ha\nCamdn,45000000\n", r"row 2: borough_name 'Camdn' is not"),
        (
            "borough_code,gbp_per_ha,low_gbp_per_ha\nE09000007,45000000,50000000\n",
            r"low_gbp_per_ha 50,000,000 is above gbp_per_ha 45,000,000",
        ),
        (
            "borough_code,gbp_per_ha,valuation_date\nE09000007,45000000,\n",
            r"row 2 \(borough E09000007\): valuation_date is blank",
        ),
        ("borough,gbp_per_ha\nE09000007,45000000\n", r"missing column 'borough_code'"),
        ("borough_code,value\nE09000007,45000000\n", r"missing column 'value_gbp_per_ha'"),
    ],
)
def test_bad_rows_and_columns_are_named(write, body, match):
    with pytest.raises(DataValidationError, match=match):
        load_land_value_file(write("lv.csv", body))


def test_a_file_in_pounds_per_acre_is_caught_by_its_magnitude(write, published):
    lines = ["borough_code,gbp_per_ha,source"]
    for code, high in zip(published["borough_code"], published["high_gbp_per_ha"], strict=True):
        lines.append(f"{code},{high / 2.471:.0f},converted")
    with pytest.raises(DataValidationError) as caught:
        load_land_value_file(write("acres.csv", "\n".join(lines) + "\n"))
    message = str(caught.value)
    assert message.startswith("acres.csv: gbp_per_ha looks like £ per acre, not £ per hectare")
    assert "median 0.405 times the published 2017 residential values" in message
    assert "Multiply by 2.471" in message


def test_values_in_millions_or_thousands_are_named_by_row(write):
    path = write("m.csv", "borough_code,gbp_per_ha\nE09000007,45000000\nE09000003,24.9\n")
    with pytest.raises(
        DataValidationError,
        match=r"m.csv row 3 \(borough E09000003, Barnet\): gbp_per_ha 24.9 is .* £m, "
        r"1,000,000 times too small. Give £ per hectare, e.g. 24900000",
    ):
        load_land_value_file(path)
    path = write("k.csv", "borough_code,gbp_per_ha\nE09000003,24900\n")
    with pytest.raises(DataValidationError, match=r"£ thousands, 1,000 times too small"):
        load_land_value_file(path)


def test_low_values_are_checked_against_the_industrial_values(write):
    path = write("low.csv", "borough_code,gbp_per_ha,low_gbp_per_ha\nE09000003,24900000,4.9\n")
    with pytest.raises(DataValidationError, match=r"published 2017 industrial value"):
        load_land_value_file(path)


def test_values_that_differ_from_2017_within_reason_are_accepted(write, published):
    # Half and double the 2017 values: real movements between years, not a unit slip.
    lines = ["borough_code,gbp_per_ha"]
    for i, (code, high) in enumerate(
        zip(published["borough_code"], published["high_gbp_per_ha"], strict=True)
    ):
        lines.append(f"{code},{high * (0.5 if i % 2 else 2.0):.0f}")
    frame = load_land_value_file(write("moved.csv", "\n".join(lines) + "\n"))
    assert len(frame) == 33
