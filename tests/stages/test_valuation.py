"""Valuation on the real bundled data: the indicative average, and a land-values file."""

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


@pytest.fixture(scope="module")
def file_result():
    # The test table covers the boroughs with a 2016/17 site (Merton has none then).
    return run(Inputs(land_values=LAND_VALUES, year="2016/17"))


def _london(sites: pd.DataFrame) -> pd.Series:
    return sites["in_london"].astype(bool)


def test_default_is_the_indicative_london_average_computed_from_the_data(bundled_result):
    sites = bundled_result.sites
    owned_ha = sites.loc[_london(sites), "land_owned_ha"].sum()
    per_ha = 11e9 / owned_ha
    valuation = bundled_result.summary["valuation"]
    assert valuation["method"] == "indicative_london_average"
    assert valuation["gbp_per_ha"] == pytest.approx(per_ha)
    assert valuation["london_owned_ha_basis"] == pytest.approx(owned_ha)
    assert valuation["label"].startswith(
        f"indicative London average: £11bn target ÷ {owned_ha:,.2f} ha owned at located "
        "London sites"
    )
    valued = sites[_london(sites)]
    assert (valued["valuation_method"] == "indicative_london_average").all()
    assert (valued["valuation_source"] == valuation["label"]).all()
    np.testing.assert_allclose(valued["value_gbp_per_ha"], per_ha)
    np.testing.assert_allclose(valued["estimated_value_gbp"], valued["land_unused_ha"] * per_ha)


def test_sites_outside_london_unlocated_and_aggregate_are_not_valued(bundled_result):
    sites = bundled_result.sites
    rest = sites[~_london(sites)]
    assert len(rest) == 15 + 1 + 28  # outside London, unlocated, aggregate (2019/20)
    assert (rest["valuation_method"] == "not_valued").all()
    assert rest["estimated_value_gbp"].isna().all()
    reasons = dict(zip(rest["site_code"], rest["valuation_source"], strict=False))
    assert "outside Greater London" in reasons["RKL51"]  # Broadmoor, by its 2019/20 postcode
    assert "not located" in reasons["RWK2A"]  # the one 2019/20 site no bundled file places
    assert "aggregate" in reasons["R1HORS"]  # a trust's Other Reportable Sites


def test_the_target_is_an_option():
    result = run(config=load_config(valuation__target_gbp=5e9))
    valuation = result.summary["valuation"]
    assert result.summary["target_gbp"] == 5e9
    assert valuation["gbp_per_ha"] == pytest.approx(5e9 / valuation["london_owned_ha_basis"])
    assert "£5bn target" in valuation["label"]
    assert "memorandum" in result.summary["target_source"]


def test_land_values_file_replaces_the_default_borough_by_borough(file_result):
    table = load_land_values(LAND_VALUES)
    per_ha = dict(zip(table["borough_code"], table["value_gbp_per_ha"], strict=True))
    sites = file_result.sites
    valued = sites[_london(sites)]
    assert (valued["valuation_method"] == "land_values_file").all()
    expected = valued["borough_code"].map(per_ha).astype(float)
    np.testing.assert_allclose(valued["value_gbp_per_ha"], expected)
    np.testing.assert_allclose(valued["estimated_value_gbp"], valued["land_unused_ha"] * expected)
    assert valued["valuation_source"].str.startswith("test fixture, not real values").all()
    assert valued["valuation_source"].str.contains("land_values_test.csv row").all()
    valuation = file_result.summary["valuation"]
    assert valuation["method"] == "land_values_file"
    assert valuation["gbp_per_ha"] is None
    assert valuation["sources"] == ["test fixture, not real values (land_values_test.csv)"]
    # Merton has no located London site, so the file need not (and does not) cover it.
    assert "E09000024" not in valuation["by_borough"]
    boroughs = file_result.summary["boroughs"]
    assert boroughs["E09000015"]["value_gbp_per_ha"] == per_ha["E09000015"]


def test_london_value_with_the_file_is_the_sum_of_site_values(file_result):
    sites = file_result.sites
    total = sites.loc[_london(sites), "estimated_value_gbp"].sum()
    assert file_result.summary["london"]["estimated_value_gbp"] == pytest.approx(total, abs=1)


def test_a_borough_missing_from_the_file_is_an_error_naming_it(write):
    lines = LAND_VALUES.read_text(encoding="utf-8").splitlines()
    kept = [line for line in lines if not line.startswith("E09000015,")]  # Harrow
    path = write("land_values.csv", "\n".join(kept) + "\n")
    with pytest.raises(DataValidationError, match=r"land_values.csv .*E09000015 \(Harrow"):
        run(Inputs(land_values=path))


def test_a_borough_code_not_in_the_boundaries_is_an_error(write):
    text = LAND_VALUES.read_text(encoding="utf-8") + "E09999999,5,test fixture\n"
    path = write("land_values.csv", text)
    with pytest.raises(DataValidationError, match=r"row 34 .*E09999999 is not in the borough"):
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
        columns=["value_gbp_per_ha", "estimated_value_gbp", "valuation_method", "valuation_source"]
    )
    before = sites.copy()
    value_sites(sites, target_gbp=11e9)
    pd.testing.assert_frame_equal(pd.DataFrame(sites), pd.DataFrame(before))


def test_format_gbp():
    assert format_gbp(11e9) == "£11bn"
    assert format_gbp(21_528_946.6) == "£21.5m"
