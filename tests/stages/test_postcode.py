"""Locating ERIC returns of every year: ODS code, postcode (this or another year), name."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from estates.findings import Findings
from estates.io.eric import load_eric_return, load_eric_returns
from estates.io.inputs import load_boroughs, load_context_sites
from estates.io.postcodes import load_postcode_lookup
from estates.stages.postcode import locate_eric_returns, location_summary

#: 2016/17 site codes no bundled file can place: no ODS match, no name match,
#: not in 2019/20 (five are outside London or with Oxleas, absent in 2019/20).
UNPLACEABLE_2016_17 = {"RATDK", "RPGED", "RQY14", "RV5A3", "RWK2M", "RWK2W", "TAF65"}


@pytest.fixture(scope="module")
def context() -> pd.DataFrame:
    return load_context_sites()


@pytest.fixture(scope="module")
def located(context: pd.DataFrame) -> tuple[pd.DataFrame, Findings]:
    findings = Findings()
    returns = load_eric_returns(findings=findings)
    out, found = locate_eric_returns(returns, context=context, postcodes=load_postcode_lookup())
    findings.merge(found)
    return out, findings


def _row(frame: pd.DataFrame, year: str, code: str) -> pd.Series:
    rows = frame[(frame["eric_year"] == year) & (frame["site_code"] == code)]
    assert len(rows) == 1
    return rows.iloc[0]


def test_every_row_is_kept(located) -> None:
    out, _ = located
    assert len(out) == 169 + 155 + 172 + 172 + 185
    assert set(out["located_by"]) <= {
        "ods_code",
        "postcode",
        "name_match",
        "aggregate",
        "unlocated",
    }


def test_located_per_year_by_each_step(located) -> None:
    summary = location_summary(located[0])
    year = summary.loc["2019/20"]
    assert year["sites"] == 157
    assert year["located"] == 156  # all but RWK2A, whose postcode is blank
    assert (year["ods_code"], year["postcode"], year["unlocated"]) == (91, 65, 1)
    assert year["postcode_other_year"] == 0
    old = summary.loc["2016/17"]
    assert old["sites"] == 144
    assert (old["ods_code"], old["postcode"], old["located"]) == (101, 36, 137)
    # Every 2016/17 postcode location comes from the 2019/20 return.
    assert old["postcode_other_year"] == 36
    assert (summary["aggregate"] == [19, 19, 25, 28, 28]).all()


def test_the_2016_17_sites_left_unlocated_are_the_unplaceable_ones(located) -> None:
    out, findings = located
    year = out[(out["eric_year"] == "2016/17") & (out["located_by"] == "unlocated")]
    assert set(year["site_code"]) == UNPLACEABLE_2016_17
    assert year["latitude"].isna().all()
    assert year["quality_flags"].str.contains("unlocated").all()
    reasons = {f.site_code: f.reason for f in findings if f.check == "unlocated"}
    assert "not located in ERIC 2016/17" in reasons["TAF65"]


def test_a_padded_postcode_locates_its_site(located) -> None:
    royal_free = _row(located[0], "2019/20", "RAL01")
    assert royal_free["postcode"] == "NW3  2QG"
    assert royal_free["postcode_normalised"] == "NW3 2QG"
    # RAL01 is in the NHS files: the ODS code comes first.
    assert royal_free["located_by"] == "ods_code"
    edgware = _row(located[0], "2019/20", "RRP01")  # not in the NHS files
    assert edgware["located_by"] == "postcode"
    assert edgware["location_source"] == "postcode 2019/20 HA8 0AD"
    assert edgware["location_year"] == "2019/20"


def test_a_site_located_by_2019_20_postcode_is_located_in_2016_17(located) -> None:
    out, _ = located
    carried = out[(out["eric_year"] == "2016/17") & (out["location_year"] == "2019/20")]
    assert len(carried) == 36
    assert carried["location_source"].str.startswith("postcode 2019/20 ").all()
    code = carried["site_code"].iloc[0]
    own = _row(out, "2019/20", code)
    assert (carried["latitude"].iloc[0], carried["longitude"].iloc[0]) == (
        own["latitude"],
        own["longitude"],
    )


def test_broadmoor_is_located_outside_london_in_every_year(located) -> None:
    out, _ = located
    broadmoor = out[out["site_code"] == "RKL51"]
    assert len(broadmoor) == 5
    assert (broadmoor["located_by"] == "postcode").all()
    assert (broadmoor["location_year"] == "2019/20").all()
    boroughs = load_boroughs()
    point = shapely.Point(broadmoor["longitude"].iloc[0], broadmoor["latitude"].iloc[0])
    assert not gpd.GeoSeries(boroughs.geometry).to_crs("EPSG:4326").contains(point).any()
    assert broadmoor["latitude"].iloc[0] == pytest.approx(51.36908)


def test_a_site_that_left_the_return_keeps_its_earlier_rows(located) -> None:
    out, _ = located
    # R1H13 left the return after 2016/17: its 2016/17 row stays, located by ODS code.
    left = out[out["site_code"] == "R1H13"]
    assert "2019/20" not in set(left["eric_year"])
    assert _row(out, "2016/17", "R1H13")["located_by"] == "ods_code"


def test_unknown_postcodes_are_findings_with_the_likely_spelling(located) -> None:
    _, findings = located
    misses = {f.site_code: f for f in findings if f.check == "postcode_not_found"}
    assert set(misses) == {"RQMORS", "RWK61"}
    assert "one edit away: NW10 9NH or SW10 9NH" in misses["RQMORS"].reason
    assert misses["RQMORS"].value == "LW10 9NH"
    assert "give E1 4DG for this site code" in misses["RWK61"].reason
    assert misses["RWK61"].action == "warning"  # located by its ODS code all the same


def test_postcode_quirks_in_a_users_return(write, context: pd.DataFrame) -> None:
    path = write(
        "eric_2019_20.csv",
        "Trust Code,Site Code,Site Name,Post Code,Land area owned (Hectares)\n"
        "XYZ,XYZ01,A CLINIC,nw3 2qg,1\n"  # lower case
        "XYZ,XYZ02,B CLINIC,,2\n"  # blank
        "XYZ,XYZ03,C CLINIC,NW3 Q2G,3\n"  # one transposition
        "XYZ,XYZORS,OTHER REPORTABLE SITES,NW3 2QG,Not Applicable\n",
    )
    findings = Findings()
    returns = load_eric_return(path, findings=findings)
    out, found = locate_eric_returns(returns, context=context, postcodes=load_postcode_lookup())
    findings.merge(found)
    assert out["located_by"].tolist() == ["postcode", "unlocated", "unlocated", "aggregate"]
    assert out["latitude"].iloc[0] == pytest.approx(51.55322)
    assert np.isnan(out["latitude"].iloc[3])
    (miss,) = [f for f in findings if f.check == "postcode_not_found"]
    assert (miss.site_code, miss.row, miss.action) == ("XYZ03", 4, "flagged")
    assert "did you mean NW3 2QG?" in miss.reason
    assert {f.site_code for f in findings if f.check == "unlocated"} == {"XYZ02", "XYZ03"}
