"""A --locations file may give a postcode in place of coordinates."""

from __future__ import annotations

import pytest

from estates.errors import DataValidationError
from estates.findings import Findings
from estates.io.inputs import load_locations


def test_postcode_in_place_of_coordinates(write) -> None:
    path = write(
        "locations.csv",
        "site_code,postcode,latitude,longitude,source\n"
        "TAF65,n7  8dn,,,site visit\n"  # padded, lower case
        "RWK2A,,51.5,-0.05,survey\n"  # coordinates given, no postcode
        "RQY14,SW15 5PN,51.4,-0.2,survey\n"  # coordinates win over the postcode
        "RV5A3,LW10 9NH,,,guess\n",  # unknown postcode: rejected, named
    )
    findings = Findings()
    frame = load_locations(path, findings=findings).set_index("site_code")
    assert frame.index.tolist() == ["TAF65", "RWK2A", "RQY14"]
    assert frame.loc["TAF65", "latitude"] == pytest.approx(51.55, abs=0.05)
    assert frame.loc["RQY14", "latitude"] == 51.4
    assert frame.loc["TAF65", "source_row"] == 2
    (finding,) = list(findings)
    assert (finding.row, finding.site_code, finding.action) == (5, "RV5A3", "rejected")
    assert "NW10 9NH or SW10 9NH" in finding.reason


def test_postcode_only_file(write) -> None:
    path = write("locations.csv", "site_code,postcode,source\nTAF65,RG45 7EG,letter\n")
    frame = load_locations(path, findings=Findings())
    assert frame["longitude"].iloc[0] == pytest.approx(-0.78098)


def test_neither_coordinates_nor_postcode(write) -> None:
    path = write("locations.csv", "site_code,source\nTAF65,letter\n")
    with pytest.raises(DataValidationError, match=r"missing column 'latitude'.*or a postcode"):
        load_locations(path, findings=Findings())
