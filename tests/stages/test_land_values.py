"""The sourced value range: hand-computed on a small table, independent of the other sites."""

from __future__ import annotations

import csv

import numpy as np
import pandas as pd
import pytest

from estates.errors import DataValidationError
from estates.io import bundled
from estates.io.inputs import load_groupings
from estates.io.land_values import load_land_value_file, load_published_land_values
from estates.stages.land_values import (
    CAVEAT,
    apply_published_value,
    borough_value_ranges,
    ranking_value_gbp,
    share_of_target,
    sum_value_ranges,
    valuation_caveat,
    value_unused_land,
)

#: A small realistic table: ERIC-like rows in Camden, Harrow and Haringey, a site with no
#: unused land, one outside London, one unlocated and an aggregate row.
SITES = pd.DataFrame(
    {
        "site_code": ["RAL01", "RAN01", "RRP03", "RAL26", "RATRM", "RKL51", "AGGRE"],
        "in_london": [True, True, True, True, False, False, False],
        "is_aggregate": [False, False, False, False, False, False, True],
        "located_by": [
            "ods_code",
            "ods_code",
            "name",
            "ods_code",
            "ods_code",
            "unlocated",
            "aggregate",
        ],
        "borough_code": ["E09000007", "E09000015", "E09000014", "E09000003", None, None, None],
        "land_unused_ha": [0.5, 19.0, 0.29, 0.0, 1.0, 105.0, 0.91],
    }
)
# Hand-computed from data/valuation (industrial area value, residential value, £/ha):
# Camden: Central London, North 6,000,000; 45,700,000.
# Harrow: Greater London, North West 4,900,000; 12,200,000.
# Haringey: Greater London, North East 3,200,000; 43,100,000.
LOW = [3_000_000.0, 93_100_000.0, 928_000.0]
HIGH = [22_850_000.0, 231_800_000.0, 12_499_000.0]


@pytest.fixture(scope="module")
def ranges():
    return borough_value_ranges(load_published_land_values())


@pytest.fixture(scope="module")
def valued(ranges):
    return value_unused_land(SITES, ranges)


def _read(path):
    with path.open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def _independent_rates() -> tuple[dict[str, float], dict[str, float]]:
    """Each borough's (industrial, residential) £/ha, read straight from the bundled CSVs."""
    industrial = {
        r["area"]: float(r["gbp_per_ha"])
        for r in _read(bundled.nonresidential_land_values_path())
        if r["sheet"] == "Industrial land" and r["lep"] == "London"
    }
    low = {
        r["borough_code"]: industrial[r["industrial_area"]]
        for r in _read(bundled.borough_industrial_areas_path())
    }
    high = {
        r["borough_code"]: float(r["residential_gbp_per_ha"])
        for r in _read(bundled.residential_land_values_path())
    }
    return low, high


def test_site_values_are_hand_computed_figures(valued):
    head = valued.iloc[:3]
    np.testing.assert_allclose(head["value_low_gbp"], LOW)
    np.testing.assert_allclose(head["value_high_gbp"], HIGH)
    np.testing.assert_allclose(
        head["value_mid_gbp"], [(a + b) / 2 for a, b in zip(LOW, HIGH, strict=True)]
    )
    assert head["value_basis"].tolist()[0] == (
        "MHCLG 2017 policy-appraisal: industrial–residential "
        "(industrial area: Central London, North)"
    )
    assert (
        head["value_source"]
        == "MHCLG Land value estimates for policy appraisal 2017 (valuation date 2017-04-01)"
    ).all()


def test_sites_without_a_value_say_why(valued):
    rest = valued.iloc[3:]
    assert rest[["value_low_gbp", "value_high_gbp", "value_mid_gbp"]].isna().all().all()
    assert rest["value_basis"].tolist() == [
        "not valued: no land not delivering services",
        "not valued: site located outside Greater London",
        "not valued: site not located, so its borough is unknown",
        "not valued: ERIC aggregate row (a bundle of sites, not a place)",
    ]
    assert rest["value_source"].isna().all()


def test_the_input_is_left_unchanged(ranges):
    before = SITES.copy()
    value_unused_land(SITES, ranges)
    pd.testing.assert_frame_equal(SITES, before)


def test_sums_for_boroughs_pilots_subregions_and_london(valued):
    totals = sum_value_ranges(valued, load_groupings(), target_gbp=11e9).set_index("group_id")
    london = totals.loc["london"]
    assert london["sites_valued"] == 3
    assert london["land_unused_ha"] == pytest.approx(19.79)
    assert london["value_low_gbp"] == pytest.approx(97_028_000)
    assert london["value_high_gbp"] == pytest.approx(267_149_000)
    assert london["share_of_target_low"] == pytest.approx(97_028_000 / 11e9)
    assert london["share_of_target_high"] == pytest.approx(267_149_000 / 11e9)
    # The NCL estates pilot (Barnet, Camden, Enfield, Haringey, Islington): Camden + Haringey.
    ncl = totals.loc["ncl_estates"]
    assert (ncl["level"], ncl["sites_valued"]) == ("pilot", 2)
    assert ncl["value_low_gbp"] == pytest.approx(3_928_000)
    assert ncl["value_high_gbp"] == pytest.approx(35_349_000)
    assert totals.loc["nwl", "value_high_gbp"] == pytest.approx(231_800_000)
    assert totals.loc["sel", "sites_valued"] == 0
    assert totals.loc["sel", "value_low_gbp"] == 0
    assert totals.loc["E09000015", "name"] == "Harrow"
    boroughs = totals[totals["level"] == "borough"]
    assert boroughs["value_low_gbp"].sum() == pytest.approx(london["value_low_gbp"])


def test_share_of_target_is_a_range():
    assert share_of_target(97_028_000, 267_149_000, target_gbp=11e9) == pytest.approx(
        (0.0088207, 0.0242863), rel=1e-4
    )


def test_the_bundled_table_range_matches_an_independent_computation(bundled_result, ranges):
    sites = bundled_result.sites
    valued = value_unused_land(sites, ranges)
    low_rate, high_rate = _independent_rates()
    low = high = 0.0
    count = 0
    for london, code, ha in zip(
        sites["in_london"], sites["borough_code"], sites["land_unused_ha"], strict=True
    ):
        if london and ha > 0:
            low += ha * low_rate[code]
            high += ha * high_rate[code]
            count += 1
    totals = sum_value_ranges(valued, load_groupings(), target_gbp=11e9).set_index("group_id")
    assert totals.loc["london", "sites_valued"] == count == 17
    assert totals.loc["london", "value_low_gbp"] == pytest.approx(low)
    assert totals.loc["london", "value_high_gbp"] == pytest.approx(high)
    assert totals.loc["london", "land_unused_ha"] == pytest.approx(121.83)  # 2019/20


def test_a_site_is_valued_the_same_alone_and_within_the_whole_table(bundled_result, ranges):
    sites = bundled_result.sites
    whole = value_unused_land(sites, ranges)
    columns = ["value_low_gbp", "value_high_gbp", "value_mid_gbp", "value_basis", "value_source"]
    for code in ["RAN01", "RAS02", "RKL48"]:
        alone = value_unused_land(sites[sites["site_code"] == code], ranges)
        within = whole[whole["site_code"] == code]
        pd.testing.assert_frame_equal(alone[columns], within[columns])
        pd.testing.assert_series_equal(ranking_value_gbp(alone), ranking_value_gbp(within))
    # Dropping every site outside London and every unlocated one changes no London figure.
    london_only = value_unused_land(sites[sites["in_london"].astype(bool)], ranges)
    pd.testing.assert_frame_equal(
        london_only[columns], whole.loc[london_only.index, columns], check_dtype=True
    )


def test_a_users_file_replaces_the_residential_value_and_carries_its_source(write, ranges):
    path = write(
        "lv.csv",
        "borough_code,gbp_per_ha,source,valuation_date\n"
        "E09000007,50000000,Valuer's report,2024-04-01\n"
        "E09000015,13000000,Valuer's report,2024-04-01\n"
        "E09000014,40000000,Valuer's report,2024-04-01\n",
    )
    file_ranges = borough_value_ranges(load_published_land_values(), load_land_value_file(path))
    valued = value_unused_land(SITES, file_ranges)
    np.testing.assert_allclose(valued["value_low_gbp"].iloc[:3], LOW)
    np.testing.assert_allclose(
        valued["value_high_gbp"].iloc[:3], [0.5 * 50e6, 19.0 * 13e6, 0.29 * 40e6]
    )
    assert valued["value_source"].iloc[1] == (
        "low: MHCLG Land value estimates for policy appraisal 2017 (valuation date 2017-04-01); "
        "high: Valuer's report (lv.csv row 3) (valuation date 2024-04-01)"
    )
    assert valued["value_basis"].iloc[1] == (
        "industrial land, Greater London, North West – land values file"
    )


def test_a_users_file_missing_a_borough_names_it(write):
    path = write("lv.csv", "borough_code,gbp_per_ha\nE09000007,50000000\nE09000014,4e7\n")
    file_ranges = borough_value_ranges(load_published_land_values(), load_land_value_file(path))
    with pytest.raises(
        DataValidationError,
        match=r"lv.csv has no value for borough E09000015 \(Harrow, 1 site\); every borough",
    ):
        value_unused_land(SITES, file_ranges, borough_names={"E09000015": "Harrow"})


def test_a_users_file_naming_a_borough_not_in_the_boundaries_is_refused(write):
    path = write("lv.csv", "borough_code,gbp_per_ha\nE09999999,50000000\n")
    with pytest.raises(DataValidationError, match=r"row 2 \(borough E09999999\)"):
        borough_value_ranges(load_published_land_values(), load_land_value_file(path))


def test_the_score_uses_the_midpoint(valued):
    scored = apply_published_value(valued)
    mids = [(a + b) / 2 for a, b in zip(LOW, HIGH, strict=True)]
    np.testing.assert_allclose(scored["estimated_value_gbp"].iloc[:3], mids)
    np.testing.assert_allclose(
        scored["value_gbp_per_ha"].iloc[:3],
        [(6e6 + 45.7e6) / 2, (4.9e6 + 12.2e6) / 2, (3.2e6 + 43.1e6) / 2],
    )
    assert (
        scored["valuation_method"].tolist() == ["published_2017_midpoint"] * 3 + ["not_valued"] * 4
    )
    assert scored["valuation_source"].iloc[0].endswith(CAVEAT)
    assert scored["valuation_source"].iloc[4] == "not valued: site located outside Greater London"


def test_the_caveat_line():
    assert valuation_caveat() == "at 2017 policy-appraisal values, not market values"
