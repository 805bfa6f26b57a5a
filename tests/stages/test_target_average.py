"""The average derived from the target: labelled as such, and refused on a small basis."""

from __future__ import annotations

import pytest

from estates.config import load_config
from estates.errors import ConfigError, DataValidationError
from estates.stages.target_average import MIN_BASIS_HA, target_average


def test_the_bundled_table_gives_the_documented_average(bundled_result):
    average = target_average(bundled_result.sites, target_gbp=11e9)
    assert average.basis_ha == pytest.approx(618.8)
    assert average.basis_sites == 104  # of 141 located London sites in 2019/20
    assert average.gbp_per_ha == pytest.approx(11e9 / 618.8, rel=1e-4)
    assert average.label == (
        "derived from the target: £11bn ÷ 618.80 ha owned at 104 located London sites "
        "= £17.8m per ha; not a land value"
    )


def test_a_small_table_is_refused_naming_its_hectares_and_sites(bundled_result):
    sites = bundled_result.sites
    few = sites[sites["site_code"].isin(["RAN01", "RAS02"])]
    owned = float(few["land_owned_ha"].sum())
    assert owned < MIN_BASIS_HA
    with pytest.raises(DataValidationError) as caught:
        target_average(few, target_gbp=11e9)
    message = str(caught.value)
    assert f"would rest on {owned:,.2f} ha owned at 2 located London sites" in message
    assert "below the 250 ha" in message
    assert '[valuation] method = "range"' in message


def test_the_threshold_is_a_parameter(bundled_result):
    with pytest.raises(DataValidationError, match="below the 650 ha"):
        target_average(bundled_result.sites, target_gbp=11e9, min_basis_ha=650)


def test_the_method_is_a_checked_config_choice():
    assert load_config().valuation.method == "range"
    assert load_config(valuation__method="average").valuation.method == "average"
    with pytest.raises(ConfigError, match=r"method = 'mean' is not one of 'range', 'average'"):
        load_config(valuation__method="mean")
