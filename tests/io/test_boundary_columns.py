"""A boundary layer with ONS headers: loaded and joined by the one column detector."""

from __future__ import annotations

import logging
from pathlib import Path

import geopandas as gpd
import pytest
from shapely.geometry import Point

from estates.crs import WGS84
from estates.errors import DataValidationError
from estates.io.inputs import load_boroughs
from estates.stages.join import join_boroughs


@pytest.fixture
def ons_layer(tmp_path: Path) -> Path:
    """The bundled boundaries as ONS publishes them: LAD20CD, LAD20NM, LAD20NMW, OBJECTID."""
    boroughs = load_boroughs()
    layer = gpd.GeoDataFrame(
        {
            "OBJECTID": range(1, len(boroughs) + 1),
            "LAD20CD": boroughs["borough_code"].astype(str),
            "LAD20NM": boroughs["borough_name"].astype(str),
            "LAD20NMW": "",
        },
        geometry=boroughs.geometry.to_crs("EPSG:27700").to_numpy(),
        crs="EPSG:27700",
    )
    path = tmp_path / "Local_Authority_Districts_May_2020.gpkg"
    layer.to_file(path, driver="GPKG")
    return path


def test_load_boroughs_finds_lad20cd_and_says_so(ons_layer: Path, caplog):
    with caplog.at_level(logging.INFO, logger="estates"):
        boroughs = load_boroughs(ons_layer)
    bundled = load_boroughs()
    assert boroughs["borough_code"].tolist() == bundled["borough_code"].tolist()
    assert boroughs["borough_name"].tolist() == bundled["borough_name"].tolist()
    assert (
        "Local_Authority_Districts_May_2020.gpkg columns: borough_code='LAD20CD', "
        "borough_name='LAD20NM' (detected)"
    ) in caplog.messages


def test_join_boroughs_takes_the_layer_as_read(ons_layer: Path):
    layer = gpd.read_file(ons_layer)
    sites = gpd.GeoDataFrame(
        {"site_code": ["RAL01", "RJ121"]},
        geometry=[Point(-0.1652, 51.5532), Point(-0.0870, 51.5033)],
        crs=WGS84,
    )
    joined = join_boroughs(sites, layer)
    assert joined["borough_name"].tolist() == ["Camden", "Southwark"]
    assert joined["join_method"].tolist() == ["within", "within"]


def test_an_explicit_column_wins_and_a_wrong_one_is_named(ons_layer: Path):
    boroughs = load_boroughs(ons_layer, columns={"borough_name": "LAD20NM"})
    assert boroughs["borough_name"].iloc[0] == load_boroughs()["borough_name"].iloc[0]
    with pytest.raises(DataValidationError, match="no column 'LAD19NM' \\(given for borough_name"):
        load_boroughs(ons_layer, name_column="LAD19NM")
