"""Every awkward geometry of the zoo, through the join and through a whole build."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
import shapely
from zoo import SHARED_VERTEX, ZOO, Case

from estates.builder.pipeline import Inputs, run
from estates.crs import BNG
from estates.io.inputs import load_boroughs
from estates.stages.join import join_boroughs


@pytest.fixture(scope="module")
def boroughs_bng() -> gpd.GeoDataFrame:
    return load_boroughs().to_crs(BNG)


@pytest.fixture(scope="module")
def zoo_build(tmp_path_factory: pytest.TempPathFactory):
    """One build of a GeoJSON point layer holding every case of the zoo."""
    sites = gpd.GeoDataFrame(
        {
            "site_code": [f"Z{i:02d}" for i in range(len(ZOO))],
            "site_name": [case.name for case in ZOO],
            "land_owned_ha": 1.0,
            "land_unused_ha": 0.5,
        },
        geometry=[case.geometry for case in ZOO],
        crs=BNG,
    )
    path = Path(tmp_path_factory.mktemp("zoo")) / "zoo.geojson"
    sites.to_file(path, driver="GeoJSON")
    return run(Inputs(sites=(path,)))


@pytest.mark.parametrize("case", ZOO, ids=str)
def test_the_build_keeps_or_rejects_each_case(zoo_build, case: Case) -> None:
    code = f"Z{ZOO.index(case):02d}"
    kept = zoo_build.sites.loc[zoo_build.sites["site_code"] == code]
    findings = [f for f in zoo_build.findings if f.site_code == code]
    if case.join_method is None and case.check == "not_a_point":
        assert kept.empty
        assert [f.check for f in findings if f.action == "rejected"] == ["not_a_point"]
        return
    assert len(kept) == 1, f"{case}: kept {len(kept)} rows"
    method = kept["join_method"].iloc[0]
    if case.join_method is None:
        assert pd.isna(method)
        assert kept["geometry"].iloc[0] is None
    else:
        assert method == case.join_method
    if case.check is not None:
        assert case.check in {f.check for f in findings}


@pytest.mark.parametrize("case", [c for c in ZOO if c.check != "not_a_point"], ids=str)
def test_the_join_labels_each_point_case(boroughs_bng: gpd.GeoDataFrame, case: Case) -> None:
    sites = gpd.GeoDataFrame({"site": [case.name]}, geometry=[case.geometry], crs=BNG)
    joined = join_boroughs(sites, boroughs_bng)
    method = joined["join_method"].iloc[0]
    if case.join_method is None:
        assert pd.isna(method)
    else:
        assert method == case.join_method


@pytest.mark.parametrize("case", [c for c in ZOO if c.check == "not_a_point"], ids=str)
def test_the_join_refuses_non_points(boroughs_bng: gpd.GeoDataFrame, case: Case) -> None:
    sites = gpd.GeoDataFrame({"site": [case.name]}, geometry=[case.geometry], crs=BNG)
    with pytest.raises(ValueError, match="Point"):
        join_boroughs(sites, boroughs_bng)


def test_a_point_on_a_shared_edge_takes_the_first_borough_at_distance_zero(
    boroughs_bng: gpd.GeoDataFrame,
) -> None:
    touching = boroughs_bng.loc[shapely.intersects(boroughs_bng.geometry.to_numpy(), SHARED_VERTEX)]
    assert set(touching["borough_name"]) == {"Camden", "Islington"}
    sites = gpd.GeoDataFrame(geometry=[SHARED_VERTEX], crs=BNG)
    joined = join_boroughs(sites, boroughs_bng)
    assert joined["borough_name"].iloc[0] == touching["borough_name"].iloc[0]
    assert joined["borough_distance_m"].iloc[0] == 0
