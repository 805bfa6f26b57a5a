"""Data quality across ERIC years, on the real bundled returns."""

from __future__ import annotations

import pandas as pd
import pytest

from estates.findings import Findings
from estates.io.eric import load_eric_returns
from estates.io.inputs import load_context_sites
from estates.io.postcodes import load_postcode_lookup
from estates.stages.eric_quality import (
    check_land_figures,
    compare_returns,
    find_shared_sites,
    find_trust_changes,
)
from estates.stages.postcode import locate_eric_returns


@pytest.fixture(scope="module")
def returns() -> pd.DataFrame:
    return load_eric_returns(findings=Findings())


@pytest.fixture(scope="module")
def located(returns: pd.DataFrame) -> pd.DataFrame:
    return locate_eric_returns(
        returns, context=load_context_sites(), postcodes=load_postcode_lookup()
    ).value


def test_tenfold_land_changes(returns: pd.DataFrame) -> None:
    checks = check_land_figures(returns)
    jumps = checks[checks["check"] == "land_changed_tenfold"].set_index(["site_code", "eric_year"])
    # 19 Aberdeen Park: 0.04 ha, 103 ha in 2016/17, then 0.1 ha.
    assert jumps.loc[("TAF10", "2016/17"), "previous_land_ha"] == pytest.approx(0.04)
    assert "measure changed too" in jumps.loc[("TAF10", "2016/17"), "reason"]
    assert jumps.loc[("TAF10", "2019/20"), "land_ha"] == pytest.approx(0.1)
    assert "measure changed" not in jumps.loc[("TAF10", "2019/20"), "reason"]
    # Bethlem: 97 ha every year but 2016/17's 0.
    assert jumps.loc[("RV505", "2019/20"), "previous_land_ha"] == 0
    assert len(jumps) == 22
    assert not checks["site_code"].str.endswith("ORS").any()


def test_land_out_of_scale_with_floor_area(returns: pd.DataFrame) -> None:
    checks = check_land_figures(returns)
    scale = checks[checks["check"] == "land_out_of_scale"]
    assert set(scale["site_code"]) == {"RATKG", "RRU90", "RV52C", "TAF10"}
    becontree = scale[scale["site_code"] == "RRU90"].iloc[0]
    assert becontree["land_ha"] == 100
    assert "1,250 m²" in becontree["reason"]


def test_a_higher_factor_lists_fewer(returns: pd.DataFrame) -> None:
    loose = check_land_figures(returns, factor=1000)
    assert len(loose[loose["check"] == "land_changed_tenfold"]) < 22
    assert ((loose["site_code"] == "TAF10") & (loose["eric_year"] == "2016/17")).any()


def test_shared_sites_barnet_and_edgware(located: pd.DataFrame) -> None:
    shared = find_shared_sites(located)
    year = shared[shared["eric_year"] == "2019/20"]
    barnet = year[year["site_code"].isin(["RAL26", "RRP09"])]
    assert barnet["place"].nunique() == 1
    assert set(year[year["place"] == barnet["place"].iloc[0]]["site_code"]) == {"RAL26", "RRP09"}
    edgware = year[year["site_code"] == "RRP01"]["place"].iloc[0]
    # Edgware three times, once spelt EDGEWARE: one postcode joins them.
    assert set(year[year["place"] == edgware]["site_code"]) == {"RALRA", "RRP01", "RYX24"}
    assert year[year["site_code"] == "RALRA"]["matched_by"].iloc[0] == "postcode"
    # Every group spans more than one trust.
    spans = shared.groupby(["eric_year", "place"])["trust_code"].nunique()
    assert (spans >= 2).all()
    # 2016/17 has no postcodes of its own: the located points join Barnet General.
    old = shared[(shared["eric_year"] == "2016/17") & shared["site_code"].isin(["RAL26", "RRP09"])]
    assert old["place"].nunique() == 1
    assert old["matched_by"].str.contains("distance").all()


def test_trust_changes(returns: pd.DataFrame) -> None:
    changes = find_trust_changes(returns).set_index("trust_code")
    oxleas = changes.loc["RPG"]
    assert oxleas["years_absent"] == "2013/14;2019/20"
    assert oxleas["kind"] == "absent"
    assert oxleas["land_ha_last"] == pytest.approx(65.4)
    assert changes.loc["RVL", "sites_moved_to"] == "RAL"  # Barnet and Chase Farm
    assert changes.loc["RVL", "kind"] == "merged"
    assert changes.loc["R1K", "kind"] == "formed"
    assert "R1H" not in changes.index  # present every year


def test_compare_2016_17_with_2019_20(returns: pd.DataFrame) -> None:
    table = compare_returns(returns, "2016/17", "2019/20")
    assert table.loc["in_both", "site_codes"] == 125
    assert table.loc["only_in_a", "site_codes"] == 20  # left the return (AGGRE among them)
    assert table.loc["only_in_b", "site_codes"] == 60  # new, the 28 ORS rows among them
    assert table.loc["in_both", "land_ha_a"] == pytest.approx(716.59)
    assert table.loc["in_both", "land_ha_b"] == pytest.approx(647.59)
    assert (table["note"] == "").all()
    older = compare_returns(returns, "2015/16", "2016/17")
    assert older["note"].iloc[0] == "measures differ: 2015/16 site_land_area, 2016/17 land_owned"


def test_compare_an_unloaded_year(returns: pd.DataFrame) -> None:
    with pytest.raises(ValueError, match="'2017/18' is not loaded"):
        compare_returns(returns, "2016/17", "2017/18")
