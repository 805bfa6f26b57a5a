"""One PROJ transformation per pair of CRSs, shared with geopandas' ``to_crs``."""

from __future__ import annotations

import geopandas as gpd
import pyproj
import pytest
import shapely
from geopandas import array as geopandas_array

from estates import crs as crs_module
from estates.crs import BNG, WGS84, shared_transformer, transformer
from estates.stages.join._points import _bng_transformer


def _geopandas_kept(source: str, target: str) -> pyproj.Transformer:
    """The transformer geopandas' ``to_crs`` uses for the pair (made if not kept yet)."""
    return geopandas_array.TransformerFromCRS(
        pyproj.CRS.from_user_input(source), pyproj.CRS.from_user_input(target), always_xy=True
    )


def test_the_build_and_geopandas_use_the_same_transformer():
    made = transformer(WGS84, BNG)
    assert made is _geopandas_kept(WGS84, BNG)
    assert _bng_transformer(pyproj.CRS.from_user_input(WGS84)) is made
    kept = geopandas_array.TransformerFromCRS.cache_info()
    moved = gpd.GeoSeries([shapely.Point(-0.1276, 51.5072)], crs=WGS84).to_crs(BNG)
    assert geopandas_array.TransformerFromCRS.cache_info().misses == kept.misses
    assert moved.x.iloc[0] == pytest.approx(530_047, abs=5)
    assert moved.y.iloc[0] == pytest.approx(180_358, abs=5)


def test_without_geopandas_cache_one_is_built_and_remembered(monkeypatch):
    monkeypatch.delattr(geopandas_array, "TransformerFromCRS")
    crs_module._kept_transformer.cache_clear()
    source, target = pyproj.CRS.from_user_input(BNG), pyproj.CRS.from_user_input(WGS84)
    first = shared_transformer(source, target)
    assert shared_transformer(source, target) is first
    lon, lat = first.transform(530_047, 180_358)
    assert (lon, lat) == (pytest.approx(-0.1276, abs=1e-4), pytest.approx(51.5072, abs=1e-4))
