"""Valuation on the real bundled data: the 2017 range, the target average, a land-values file."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from estates.builder.pipeline import Inputs, run
from estates.config import load_config
from estates.errors import DataValidationError
from estates.io.inputs import load_land_values
from estates.stages.valuation import value_sites
from estates.style import format_gbp

SCORING = Path(__file__).parents[1] / "data" / "scoring"
LAND_VALUES = SCORING / "land_values_test.csv"
VALUATION = Path(__file__).parents[2] / "data" / "valuation"


@pytest.fixture(scope="module")
def file_result():
    # The test table covers the boroughs with a 2016/17 site (Merton has none then).
    return run(Inputs(land_values=LAND_VALUES, year="2016/17"))


def _london(sites: pd.DataFrame) -> pd.Series:
    return sites["in_london"].astype(bool)


def _published() -> pd.DataFrame:
    """The bundled 2017 values, read straight from the CSV files (not through estates)."""
    residential = pd.read_csv(VALUATION / "land_values_2017_london.csv")
    areas = pd.read_csv(VALUATION / "borough_industrial_areas.csv")
    rows = pd.read_csv(VALUATION / "land_values_2017_london_nonresidential.csv")
    industrial = rows[(rows["sheet"] == "Industrial land") & (rows["lep"] == "London")]
    per_area = dict(zip(industrial["area"], industrial["gbp_per_ha"], strict=True))
    table = residential.merge(areas[["borough_code", "industrial_area"]], on="borough_code")
    table["industrial_gbp_per_ha"] = table["industrial_area"].map(per_area)
    return table.set_index("borough_code")


def _to_value(sites: pd.DataFrame) -> pd.DataFrame:
    return sites[_london(sites) & (sites["land_unused_ha"] > 0)]


def test_default_is_the_published_2017_range_for_each_sites_borough(bundled_result):
    published = _published()
    sites = bundled_result.sites
    valued = _to_value(sites)
    low = valued["borough_code"].map(published["industrial_gbp_per_ha"]).astype(float)
    high = valued["borough_code"].map(published["residential_gbp_per_ha"]).astype(float)
    np.testing.assert_allclose(valued["value_low_gbp"], valued["land_unused_ha"] * low)
    np.testing.assert_allclose(valued["value_high_gbp"], valued["land_unused_ha"] * high)
    np.testing.assert_allclose(valued["estimated_value_gbp"], valued["value_mid_gbp"])
    np.testing.assert_allclose(valued["value_mid_gbp"], valued["land_unused_ha"] * (low + high) / 2)
    assert (valued["valuation_method"] == "mhclg_2017_range").all()
    assert (
        valued["value_basis"]
        .str.startswith("MHCLG 2017 policy-appraisal: industrial–residential (industrial area: ")
        .all()
    )
    assert valued["value_source"].str.contains("valuation date 2017-04-01").all()
    assert valued["valuation_source"].str.endswith("not market values").all()
    valuation = bundled_result.summary["valuation"]
    assert valuation["method"] == "mhclg_2017_range"
    assert valuation["valuation_date"] == "2017-04-01"
    assert valuation["caveat"] == "at 2017 policy-appraisal values, not market values"
    assert valuation["industrial_areas"]["file"] == "borough_industrial_areas.csv"
    assert (
        valuation["industrial_areas"]["by_borough"]["E09000015"]
        == (published.loc["E09000015", "industrial_area"])
    )


def test_london_range_equals_the_sum_over_the_site_table_of_the_bundled_values(bundled_result):
    # Expected figures from the CSV files and the site table only, never from estates' sums.
    published = _published()
    sites = _to_value(bundled_result.sites)
    ha = sites["land_unused_ha"].to_numpy()
    low = sites["borough_code"].map(published["industrial_gbp_per_ha"]).to_numpy(float)
    high = sites["borough_code"].map(published["residential_gbp_per_ha"]).to_numpy(float)
    expected_low, expected_high = float((ha * low).sum()), float((ha * high).sum())
    london = bundled_result.summary["london"]
    assert london["value_low_gbp"] == pytest.approx(expected_low, abs=1)
    assert london["value_high_gbp"] == pytest.approx(expected_high, abs=1)
    assert london["share_of_target_low"] == pytest.approx(expected_low / 11e9, abs=1e-9)
    assert london["share_of_target_high"] == pytest.approx(expected_high / 11e9, abs=1e-9)
    # The bundled ERIC 2019/20 London figures: 121.83 ha at 17 sites, £506.4m to £2.06bn.
    assert (len(sites), round(ha.sum(), 2)) == (17, 121.83)
    assert (round(expected_low), round(expected_high)) == (506_432_500, 2_058_356_000)


def test_a_sites_value_is_the_same_alone_and_within_the_whole_table(bundled_result, write):
    whole = bundled_result.sites
    one = whole[whole["site_code"] == "RKL48"].iloc[0]  # Cassel Hospital, Richmond
    path = write(
        "one.csv",
        "site_code,site_name,latitude,longitude,land_owned_ha,land_unused_ha\n"
        f"RKL48,Cassel Hospital,{one.latitude},{one.longitude},{one.land_owned_ha},"
        f"{one.land_unused_ha}\n",
    )
    alone = run(Inputs(sites=(path,))).sites.iloc[0]
    for column in ("value_low_gbp", "value_high_gbp", "value_mid_gbp", "estimated_value_gbp"):
        assert alone[column] == one[column], column
    assert alone["estimated_value_gbp"] == pytest.approx(55_165_000)


def test_sites_outside_london_unlocated_and_aggregate_are_not_valued(bundled_result):
    sites = bundled_result.sites
    rest = sites[~_london(sites)]
    assert len(rest) == 15 + 1 + 28  # outside London, unlocated, aggregate (2019/20)
    assert (rest["valuation_method"] == "not_valued").all()
    assert rest["estimated_value_gbp"].isna().all()
    assert rest[["value_low_gbp", "value_high_gbp", "value_mid_gbp"]].isna().all().all()
    reasons = dict(zip(rest["site_code"], rest["value_basis"], strict=False))
    assert "outside Greater London" in reasons["RKL51"]  # Broadmoor, by its 2019/20 postcode
    assert "not located" in reasons["RWK2A"]  # the one 2019/20 site no bundled file places
    assert "aggregate" in reasons["R1HORS"]  # a trust's Other Reportable Sites


def test_the_average_method_is_labelled_as_derived_from_the_target():
    result = run(config=load_config(valuation__method="average"))
    sites = result.sites
    london = sites[_london(sites)]
    owned_ha = london["land_owned_ha"].sum()
    per_ha = 11e9 / owned_ha
    valuation = result.summary["valuation"]
    assert valuation["method"] == "indicative_london_average"
    assert valuation["gbp_per_ha"] == pytest.approx(per_ha)
    assert valuation["label"].startswith(
        f"derived from the target: £11bn ÷ {owned_ha:,.2f} ha owned at 104 located London sites"
    )
    assert (london["valuation_method"] == "indicative_london_average").all()
    np.testing.assert_allclose(london["estimated_value_gbp"], london["land_unused_ha"] * per_ha)
    np.testing.assert_allclose(london["value_low_gbp"], london["value_high_gbp"])
    np.testing.assert_allclose(london["value_mid_gbp"], london["estimated_value_gbp"])
    total = result.summary["london"]
    assert total["value_low_gbp"] == total["value_high_gbp"] == total["estimated_value_gbp"]


def test_the_target_is_an_option():
    result = run(config=load_config(valuation__target_gbp=5e9, valuation__method="average"))
    valuation = result.summary["valuation"]
    assert result.summary["target_gbp"] == 5e9
    assert valuation["gbp_per_ha"] == pytest.approx(5e9 / valuation["london_owned_ha_basis"])
    assert "£5bn ÷" in valuation["label"]
    assert "memorandum" in result.summary["target_source"]


def test_the_average_on_a_small_basis_is_refused_naming_hectares_and_sites(write):
    path = write(
        "few.csv",
        "site_code,site_name,latitude,longitude,land_owned_ha,land_unused_ha\n"
        "X1,Clinic,51.5308,-0.1238,0.5,0.2\n",
    )
    config = load_config(valuation__method="average")
    with pytest.raises(DataValidationError, match=r"rest on 0\.50 ha owned at 1 located London"):
        run(Inputs(sites=(path,)), config=config)


def test_land_values_file_replaces_the_residential_value_borough_by_borough(file_result):
    table = load_land_values(LAND_VALUES)
    per_ha = dict(zip(table["borough_code"], table["value_gbp_per_ha"], strict=True))
    published = _published()
    valued = _to_value(file_result.sites)
    assert (valued["valuation_method"] == "land_values_file").all()
    high = valued["borough_code"].map(per_ha).astype(float)
    low = valued["borough_code"].map(published["industrial_gbp_per_ha"]).astype(float)
    np.testing.assert_allclose(valued["value_high_gbp_per_ha"], high)
    np.testing.assert_allclose(valued["value_low_gbp_per_ha"], low)
    np.testing.assert_allclose(
        valued["estimated_value_gbp"], valued["land_unused_ha"] * (low + high) / 2
    )
    assert valued["value_source"].str.contains("test fixture, not real values").all()
    assert valued["value_source"].str.contains("land_values_test.csv row").all()
    valuation = file_result.summary["valuation"]
    assert valuation["method"] == "land_values_file"
    assert valuation["gbp_per_ha"] is None
    assert "test fixture, not real values" in valuation["source"]
    assert "land_values_test.csv" in valuation["basis"]
    boroughs = file_result.summary["boroughs"]
    assert boroughs["E09000015"]["value_gbp_per_ha"] == pytest.approx(
        (per_ha["E09000015"] + published.loc["E09000015", "industrial_gbp_per_ha"]) / 2
    )


def test_london_value_with_the_file_is_the_sum_of_site_values(file_result):
    sites = file_result.sites
    london = sites.loc[_london(sites)]
    summary = file_result.summary["london"]
    assert summary["estimated_value_gbp"] == pytest.approx(
        london["estimated_value_gbp"].sum(), abs=1
    )
    assert summary["value_high_gbp"] == pytest.approx(london["value_high_gbp"].sum(), abs=1)


def test_a_borough_missing_from_the_file_is_an_error_naming_it(write):
    lines = LAND_VALUES.read_text(encoding="utf-8").splitlines()
    kept = [line for line in lines if not line.startswith("E09000015,")]  # Harrow
    path = write("land_values.csv", "\n".join(kept) + "\n")
    with pytest.raises(DataValidationError, match=r"land_values.csv .*E09000015 \(Harrow\)"):
        run(Inputs(land_values=path))


def test_a_borough_code_not_in_the_boundaries_is_an_error(write):
    text = LAND_VALUES.read_text(encoding="utf-8") + "E09999999,5,test fixture\n"
    path = write("land_values.csv", text)
    with pytest.raises(DataValidationError, match=r"row 35 .*E09999999 is not in the borough"):
        run(Inputs(land_values=path))


@pytest.mark.parametrize(
    ("body", "match"),
    [
        ("E09000001,-5,x\n", r"row 2 \(borough E09000001\): value_gbp_per_ha '-5'"),
        ("E09000001,lots,x\n", "value_gbp_per_ha 'lots' is not a positive number"),
        ("E09000001,5,\n", "row 2 .*source is blank"),
        ("E09000001,5,x\nE09000001,6,x\n", "row 3 .*appears again"),
        (",5,x\n", "row 2: borough_code is blank"),
    ],
)
def test_bad_land_values_rows_are_refused(write, body, match):
    path = write("lv.csv", "borough_code,value_gbp_per_ha,source\n" + body)
    with pytest.raises(DataValidationError, match=match):
        load_land_values(path)


def test_land_values_file_needs_its_columns(write):
    path = write("lv.csv", "borough_code,value\nE09000001,5\n")
    with pytest.raises(DataValidationError, match="missing column 'value_gbp_per_ha'"):
        load_land_values(path)


def test_value_sites_leaves_its_input_unchanged(bundled_result):
    sites = bundled_result.sites.drop(
        columns=[
            "value_gbp_per_ha",
            "estimated_value_gbp",
            "valuation_method",
            "valuation_source",
        ]
    )
    before = sites.copy()
    value_sites(sites, target_gbp=11e9)
    pd.testing.assert_frame_equal(pd.DataFrame(sites), pd.DataFrame(before))


def test_format_gbp():
    assert format_gbp(11e9) == "£11bn"
    assert format_gbp(21_528_946.6) == "£21.5m"
