"""Each rejection and flag reason, on small realistic records."""

from __future__ import annotations

import pytest

from estates.builder.pipeline import Inputs, run

HEADER = "site_code,site_name,latitude,longitude,land_owned_ha,land_unused_ha\n"


def _findings(write, body: str, name: str = "sites.csv"):
    result = run(Inputs(sites=(write(name, HEADER + body),)))
    return result, {(f.row, f.check): f for f in result.findings}


@pytest.mark.parametrize(
    ("row", "check", "fragment"),
    [
        ("S1,Swapped,-0.1654,51.5532,1,0", "latlon_swapped", "look swapped"),
        ("S2,BNG as degrees,185500,527000,1,0", "bng_as_degrees", "British National Grid"),
        ("S3,Text,fifty one,-0.1,1,0", "bad_coordinate", "'fifty one' is not a finite number"),
        ("S4,Infinite,inf,-0.1,1,0", "bad_coordinate", "not a finite number"),
        ("S5,Half,51.5,,1,0", "bad_coordinate", "longitude is blank but latitude is given"),
        ("S6,Out of range,95,-0.1,1,0", "bad_coordinate", "out of range"),
        ("S7,Negative,51.5,-0.1,-3,0", "negative_area", "is negative"),
        ("S8,Absurd,51.5,-0.1,5000,0", "absurd_area", "absurd for one site"),
        ("S9,Unused over owned,51.5,-0.1,1,2", "unused_exceeds_owned", "exceeds land owned"),
        (",No code,51.5,-0.1,1,0", "blank_site_code", "site code is blank"),
    ],
)
def test_rejection_reasons(write, row, check, fragment):
    result, found = _findings(write, "OK1,Fine,51.55,-0.16,1,0\n" + row + "\n")
    finding = found[(3, check)]
    assert finding.action == "rejected"
    assert fragment in finding.reason
    assert finding.source_file == "sites.csv"
    assert result.sites["site_code"].tolist() == ["OK1"]
    assert result.counts["records_in"] == 2
    assert result.counts["records_rejected"] == 1


def test_a_row_with_several_problems_counts_once(write):
    result, _ = _findings(write, "X1,Both,95,-0.1,-1,0\n")
    assert result.counts["records_rejected"] == 1
    assert len([f for f in result.findings if f.action == "rejected"]) == 2


def test_nan_coordinates_mean_unlocated_not_zero(write):
    result, found = _findings(write, "N1,No coords,NaN,NaN,1,0\n")
    row = result.sites.iloc[0]
    assert row["located_by"] == "unlocated"
    assert found[(2, "unlocated")].action == "flagged"


def test_outside_london_is_flagged_not_rejected(write):
    result, found = _findings(write, "F1,Oxford,51.752,-1.258,1,0\n")
    assert found[(2, "outside_london")].action == "flagged"
    assert result.sites.iloc[0]["in_london"] == False  # noqa: E712 - numpy bool


def test_html_in_text_fields_is_kept_as_data(write):
    name = "<img src=x onerror=alert(1)>"
    result, _ = _findings(write, f'H1,"{name}",51.55,-0.16,1,0\n')
    assert result.sites.iloc[0]["site_name"] == name
