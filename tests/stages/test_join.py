"""Tests for estates.stages.join, with geopandas.sjoin / sjoin_nearest as the oracle.

The oracle joins ``to_crs(27700)`` frames with ``predicate="within"``; a site in
no polygon takes the nearest borough within 250 m (``sjoin_nearest`` with
``max_distance``), the lowest borough position among equidistant ones.
"""

from __future__ import annotations

import logging
import threading
from collections import Counter
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
import shapely
from geopandas.testing import assert_geodataframe_equal
from hypothesis import given, settings
from hypothesis import strategies as st
from shapely import LineString, Point, box

import estates.stages.join._frame as frame_module
import estates.stages.join._grid as grid_module
import estates.stages.join._source_cells as source_module
from estates.crs import BNG, LONDON_BOUNDS_WGS84, WGS84
from estates.errors import ConfigError, CRSError, DataValidationError
from estates.io.bundled import boundaries_path, context_site_paths
from estates.stages.join import iter_join_parquet, join_boroughs

ADDED = ["borough_code", "borough_name", "join_method", "borough_distance_m"]


# --------------------------------------------------------------------------
# Fixtures and the oracle
# --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def boroughs() -> gpd.GeoDataFrame:
    frame = gpd.read_file(boundaries_path())
    return frame.rename(columns={"code": "borough_code", "name": "borough_name"})


@pytest.fixture(scope="module")
def boroughs_bng(boroughs: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    return boroughs.to_crs(BNG)


@pytest.fixture(params=["source", "direct", "grid", "fine-grid"])
def engine(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Run a test on each code path: the cells in the sites' CRS (geographic
    sites only), then with those off, per-point GEOS queries, the 256 m and
    128 m grids.

    Small chunks also make every test cross chunk boundaries.
    """
    if request.param == "source":
        monkeypatch.setattr(source_module, "_SRC_MIN_POINTS", 0)
    else:
        monkeypatch.setattr(frame_module, "_source_grid", lambda *args: None)
    threshold = 10**12 if request.param == "direct" else 0
    monkeypatch.setattr(grid_module, "_GRID_MIN_OUTSIDE", threshold)
    fine = 0 if request.param == "fine-grid" else 10**12
    monkeypatch.setattr(grid_module, "_FINE_GRID_MIN_OUTSIDE", fine)
    monkeypatch.setattr(frame_module, "_CHUNK_ROWS", 7_000)
    monkeypatch.setattr(grid_module, "_GRIDS", {})  # each test builds its own grid
    return request.param


def random_sites(n: int, seed: int, *, margin_deg: float = 0.03) -> gpd.GeoDataFrame:
    """Seeded uniform points over Greater London's bbox, plus a margin around it."""
    lon0, lat0, lon1, lat1 = LONDON_BOUNDS_WGS84
    rng = np.random.default_rng(seed)
    lon = rng.uniform(lon0 - margin_deg, lon1 + margin_deg, n)
    lat = rng.uniform(lat0 - margin_deg, lat1 + margin_deg, n)
    return gpd.GeoDataFrame(
        {"site_id": [f"S{i:06d}" for i in range(n)], "value": rng.normal(size=n)},
        geometry=gpd.points_from_xy(lon, lat),
        crs=WGS84,
    )


def sjoin_oracle(
    sites: gpd.GeoDataFrame, boroughs: gpd.GeoDataFrame, nearest_within_m: float = 250.0
) -> pd.DataFrame:
    """The expected added columns, from geopandas' sjoin and sjoin_nearest."""
    points = sites.to_crs(BNG).reset_index(drop=True)
    polygons = boroughs.to_crs(BNG).reset_index(drop=True)
    n = len(points)
    usable = ~(points.geometry.isna() | points.geometry.is_empty).to_numpy()
    position = np.full(n, -1)
    method = np.full(n, None, dtype=object)
    distance = np.full(n, np.nan)

    within = gpd.sjoin(points[usable], polygons, predicate="within")
    first = within.groupby(level=0)["index_right"].min()
    position[first.index] = first.to_numpy()
    method[first.index] = "within"
    distance[first.index] = 0.0

    rest = points[usable & (position < 0)]
    if len(rest):
        # Every equidistant borough comes back; the first one wins.
        near = gpd.sjoin_nearest(rest, polygons, distance_col="d")
        near = near.groupby(level=0).agg(right=("index_right", "min"), d=("d", "first"))
        close = near["d"] <= nearest_within_m
        if nearest_within_m > 0:  # the same cut as sjoin_nearest's own max_distance
            capped = gpd.sjoin_nearest(rest, polygons, max_distance=nearest_within_m)
            assert set(capped.index) == set(near.index[close])
        position[near.index[close]] = near["right"][close].to_numpy()
        method[near.index] = np.where(close, "nearest", "outside")
        # Farther than nearest_within_m from every borough: not measured.
        distance[near.index] = np.where(close, near["d"].to_numpy(), np.nan)

    codes = polygons["borough_code"].to_numpy(dtype=object)
    names = polygons["borough_name"].to_numpy(dtype=object)
    return pd.DataFrame(
        {
            "borough_code": np.where(position >= 0, codes[position], None),
            "borough_name": np.where(position >= 0, names[position], None),
            "join_method": method,
            "borough_distance_m": distance,
        },
        index=sites.index,
    )


def as_objects(column: pd.Series) -> list[object]:
    """Values with every kind of NA turned into None, for exact comparison."""
    return [None if pd.isna(v) else v for v in column]


def assert_matches_oracle(joined: gpd.GeoDataFrame, expected: pd.DataFrame) -> None:
    assert joined.index.equals(expected.index)
    for column in ("borough_code", "borough_name", "join_method"):
        got, want = as_objects(joined[column]), as_objects(expected[column])
        bad = [i for i, (g, w) in enumerate(zip(got, want, strict=True)) if g != w]
        assert not bad, f"{column}: {len(bad)} rows differ, first at {bad[:5]}"
    np.testing.assert_allclose(
        joined["borough_distance_m"].to_numpy(),
        expected["borough_distance_m"].to_numpy(),
        rtol=0,
        atol=1e-9,
    )


def shared_vertices(geoms: gpd.GeoSeries) -> np.ndarray:
    """Vertices that belong to two or more borough outlines, as an (n, 2) array."""
    seen: Counter[tuple[float, float]] = Counter()
    for geom in geoms:
        seen.update({tuple(xy) for xy in shapely.get_coordinates(geom)})
    return np.array(sorted(xy for xy, count in seen.items() if count > 1))


# --------------------------------------------------------------------------
# Agreement with sjoin
# --------------------------------------------------------------------------


def test_random_wgs84_points_match_sjoin(boroughs: gpd.GeoDataFrame, engine: str) -> None:
    sites = random_sites(20_000, seed=1)
    joined = join_boroughs(sites, boroughs)
    expected = sjoin_oracle(sites, boroughs)
    assert_matches_oracle(joined, expected)
    # The sample is worth testing with: every outcome occurs.
    assert set(expected["join_method"]) == {"within", "nearest", "outside"}


def test_random_bng_points_match_sjoin(
    boroughs: gpd.GeoDataFrame, boroughs_bng: gpd.GeoDataFrame, engine: str
) -> None:
    sites = random_sites(20_000, seed=2).to_crs(BNG)
    expected = sjoin_oracle(sites, boroughs)
    assert_matches_oracle(join_boroughs(sites, boroughs), expected)
    assert_matches_oracle(join_boroughs(sites, boroughs_bng), expected)


def test_real_hospitals_match_sjoin(boroughs: gpd.GeoDataFrame, engine: str) -> None:
    hospitals = pd.read_csv(context_site_paths()[0])
    # Coordinates include values such as 4.3077960610389709E-2: parse as floats.
    assert hospitals["Longitude"].dtype == np.float64
    sites = gpd.GeoDataFrame(
        hospitals[["OrganisationCode"]],
        geometry=gpd.points_from_xy(hospitals["Longitude"], hospitals["Latitude"]),
        crs=WGS84,
    )
    joined = join_boroughs(sites, boroughs)
    assert_matches_oracle(joined, sjoin_oracle(sites, boroughs))
    assert (joined["join_method"] == "within").sum() > 100
    # Spire Roding (Ilford, IG4) is written in scientific notation; it is in Redbridge.
    roding = joined.loc[joined["OrganisationCode"] == "NT314"].iloc[0]
    assert roding["borough_name"] == "Redbridge"


@pytest.mark.parametrize("crs", [BNG, WGS84])
def test_points_on_shared_edges_go_to_the_first_borough_at_distance_zero(
    boroughs: gpd.GeoDataFrame, crs: str, engine: str
) -> None:
    outlines = boroughs.to_crs(crs).geometry
    vertices = shared_vertices(outlines)
    picked = vertices[np.random.default_rng(3).choice(len(vertices), 400, replace=False)]
    sites = gpd.GeoDataFrame(geometry=gpd.points_from_xy(*picked.T), crs=crs)
    joined = join_boroughs(sites, boroughs)
    assert_matches_oracle(joined, sjoin_oracle(sites, boroughs))
    # A vertex on a boundary is within no polygon: it is 0 m from each borough
    # it belongs to, and the first of them wins.
    assert (joined["join_method"] == "nearest").all()
    assert (joined["borough_distance_m"] == 0.0).all()
    codes = boroughs["borough_code"].to_numpy()
    for xy, code in zip(picked, joined["borough_code"], strict=True):
        owners = [k for k, g in enumerate(outlines) if shapely.intersects_xy(g, *xy)]
        assert len(owners) >= 2
        assert code == codes[min(owners)]


def test_square_boroughs_edges_and_corners(engine: str) -> None:
    squares = gpd.GeoDataFrame(
        {"borough_code": ["A", "B", "C"], "borough_name": ["a", "b", "c"]},
        geometry=[box(0, 0, 100, 100), box(100, 0, 200, 100), box(0, 100, 100, 200)],
        crs=BNG,
    )
    sites = gpd.GeoDataFrame(
        geometry=[
            Point(100, 50),  # edge A|B
            Point(50, 100),  # edge A|C
            Point(100, 100),  # corner of A, B and C
            Point(150, 150),  # in the notch: 50 m from B and from C
            Point(0, 0),  # outer corner of A
            Point(50, 50),
        ],
        crs=BNG,
    )
    joined = join_boroughs(sites, squares)
    assert joined["borough_code"].tolist() == ["A", "A", "A", "B", "A", "A"]
    assert joined["join_method"].tolist() == ["nearest"] * 5 + ["within"]
    assert joined["borough_distance_m"].tolist() == [0, 0, 0, 50, 0, 0]
    assert_matches_oracle(joined, sjoin_oracle(sites, squares))


def test_a_borough_over_two_rows_is_one_category(engine: str) -> None:
    # A borough given as two polygons (two rows, one code and name): one
    # category, in the layer's order, and both rows answer with it.
    split = gpd.GeoDataFrame(
        {"borough_code": ["A", "B", "A"], "borough_name": ["West", "East", "West"]},
        geometry=[box(0, 0, 100, 100), box(100, 0, 200, 100), box(0, 100, 100, 200)],
        crs=BNG,
    )
    sites = gpd.GeoDataFrame(
        geometry=gpd.points_from_xy([50, 150, 50, 50], [50, 50, 150, 900]), crs=BNG
    )
    joined = join_boroughs(sites, split)
    assert list(joined["borough_code"].cat.categories) == ["A", "B"]
    assert list(joined["borough_name"].cat.categories) == ["West", "East"]
    assert joined["borough_code"].tolist()[:3] == ["A", "B", "A"]
    assert joined["borough_name"].tolist()[:3] == ["West", "East", "West"]
    assert joined["borough_code"].isna().tolist() == [False, False, False, True]
    assert_matches_oracle(joined, sjoin_oracle(sites, split))
    # The two columns do not share their codes: changing one leaves the other.
    joined.loc[0, "borough_code"] = "B"
    assert joined["borough_name"].tolist()[:3] == ["West", "East", "West"]


def test_overlapping_polygons_take_the_first(engine: str) -> None:
    overlapping = gpd.GeoDataFrame(
        {"borough_code": ["big", "small"], "borough_name": ["Big", "Small"]},
        geometry=[box(0, 0, 10_000, 10_000), box(2_000, 2_000, 3_000, 3_000)],
        crs=BNG,
    )
    sites = gpd.GeoDataFrame(
        geometry=gpd.points_from_xy([2_500, 500, 2_000], [2_500, 500, 2_500]), crs=BNG
    )
    joined = join_boroughs(sites, overlapping)
    assert joined["borough_code"].tolist() == ["big", "big", "big"]
    assert joined["join_method"].tolist() == ["within"] * 3
    reverse = join_boroughs(sites, overlapping.iloc[::-1])
    assert reverse["borough_code"].tolist() == ["small", "big", "big"]
    assert reverse["join_method"].tolist() == ["within", "within", "within"]


def test_points_with_z_match_sjoin(boroughs: gpd.GeoDataFrame) -> None:
    flat = random_sites(300, seed=4)
    sites = flat.set_geometry(
        shapely.force_3d(flat.geometry.array, z=np.linspace(0, 300, len(flat))), crs=WGS84
    )
    assert_matches_oracle(join_boroughs(sites, boroughs), sjoin_oracle(sites, boroughs))


def test_boundaries_too_big_for_the_grid_are_joined_directly(
    boroughs: gpd.GeoDataFrame, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(grid_module, "_GRID_MIN_OUTSIDE", 0)
    monkeypatch.setattr(grid_module, "_GRID_MAX_CELLS", 10)
    monkeypatch.setattr(grid_module, "_GRIDS", {})
    monkeypatch.setattr(frame_module, "_source_grid", lambda *args: None)
    sites = random_sites(3_000, seed=17)
    assert_matches_oracle(join_boroughs(sites, boroughs), sjoin_oracle(sites, boroughs))
    assert list(grid_module._GRIDS.values()) == [None]


def test_the_grid_is_built_once_per_boroughs(
    boroughs: gpd.GeoDataFrame, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("ESTATES_CACHE_DIR", str(tmp_path))
    monkeypatch.setattr(frame_module, "_source_grid", lambda *args: None)
    monkeypatch.setattr(grid_module, "_GRID_MIN_OUTSIDE", 0)
    monkeypatch.setattr(grid_module, "_GRIDS", {})
    builds = []
    real = grid_module._build_grid
    monkeypatch.setattr(
        grid_module, "_build_grid", lambda *args: builds.append(args) or real(*args)
    )
    first, second = random_sites(3_000, seed=21), random_sites(2_000, seed=22)
    first_out = join_boroughs(first, boroughs)
    second_out = join_boroughs(second, boroughs)
    assert len(builds) == 1
    assert_matches_oracle(first_out, sjoin_oracle(first, boroughs))
    assert_matches_oracle(second_out, sjoin_oracle(second, boroughs))
    other = boroughs.iloc[:20]  # other boroughs: a grid of their own
    assert_matches_oracle(join_boroughs(first, other), sjoin_oracle(first, other))
    assert len(builds) == 2
    # Both kept on disk: a new process reads them back, never rebuilds them.
    kept = sorted(tmp_path.glob("join-grid-*.npy"))
    assert len(kept) == 2
    monkeypatch.setattr(grid_module, "_GRIDS", {})
    assert_geodataframe_equal(join_boroughs(first, boroughs), first_out)
    assert len(builds) == 2
    # A damaged file is rebuilt, never trusted.
    for path in kept:
        path.write_bytes(b"not a table file")
    monkeypatch.setattr(grid_module, "_GRIDS", {})
    assert_geodataframe_equal(join_boroughs(first, boroughs), first_out)
    assert len(builds) == 3


# --------------------------------------------------------------------------
# The river, and outside London
# --------------------------------------------------------------------------


def test_river_bank_sites_take_the_nearest_borough(boroughs: gpd.GeoDataFrame) -> None:
    sites = gpd.GeoDataFrame(
        {"where": ["Westminster Bridge", "Tower Bridge", "Erith Reach", "Brighton"]},
        geometry=[
            Point(-0.1218, 51.5007),  # mid-river: 120 m from the Lambeth bank
            Point(-0.0754, 51.5055),  # mid-river: 131 m from Tower Hamlets
            Point(0.185, 51.486),  # the estuary: 278 m from the nearest bank
            Point(-0.1372, 50.8225),  # far outside London
        ],
        crs=WGS84,
    )
    # Check the premise with shapely: none of these is in a borough.
    polygons = boroughs.to_crs(BNG).geometry
    points = sites.to_crs(BNG).geometry
    assert not any(polygons.contains(p).any() for p in points)
    joined = join_boroughs(sites, boroughs)
    assert joined["join_method"].tolist() == ["nearest", "nearest", "outside", "outside"]
    assert as_objects(joined["borough_name"]) == ["Lambeth", "Tower Hamlets", None, None]
    distance = joined["borough_distance_m"].to_numpy()
    assert 100 < distance[0] < 250
    assert 100 < distance[1] < 250
    assert np.isnan(distance[2:]).all()  # beyond 250 m: not measured
    assert_matches_oracle(joined, sjoin_oracle(sites, boroughs))


@pytest.mark.parametrize("radius", [250.0, 1_000.0])
def test_points_either_side_of_the_fallback_radius_match_sjoin(
    boroughs: gpd.GeoDataFrame, engine: str, radius: float
) -> None:
    # Around London's outer edge, from 40 m inside the radius to 40 m beyond
    # it: where the cell table halves cells that straddle the radius.
    london = shapely.union_all(boroughs.to_crs(BNG).geometry.to_numpy())
    rng = np.random.default_rng(11)
    points = []
    for offset in radius + np.linspace(-40.0, 40.0, 9):
        ring = shapely.get_exterior_ring(shapely.buffer(london, offset))
        along = rng.uniform(0, ring.length, 300)
        points.extend(shapely.line_interpolate_point(ring, along))
    sites = gpd.GeoDataFrame(geometry=points, crs=BNG).to_crs(WGS84)
    joined = join_boroughs(sites, boroughs, nearest_within_m=radius)
    expected = sjoin_oracle(sites, boroughs, nearest_within_m=radius)
    assert_matches_oracle(joined, expected)
    assert (expected["join_method"] == "nearest").sum() > 1_000
    assert (expected["join_method"] == "outside").sum() > 1_000


def test_nearest_within_m_moves_the_cut_off(boroughs: gpd.GeoDataFrame) -> None:
    sites = random_sites(3_000, seed=5)
    for radius in (0.0, 1_000.0):
        joined = join_boroughs(sites, boroughs, nearest_within_m=radius)
        assert_matches_oracle(joined, sjoin_oracle(sites, boroughs, nearest_within_m=radius))


# --------------------------------------------------------------------------
# Missing data, index, input left alone
# --------------------------------------------------------------------------


def test_missing_and_empty_geometries_get_na(boroughs: gpd.GeoDataFrame, engine: str) -> None:
    sites = random_sites(500, seed=6)
    geometry = sites.geometry.array.copy()
    geometry[[0, 7, 499]] = None
    geometry[[3, 250]] = Point()
    sites = sites.set_geometry(geometry)
    joined = join_boroughs(sites, boroughs)
    blank = [0, 3, 7, 250, 499]
    assert joined["join_method"].iloc[blank].isna().all()
    assert joined["borough_code"].iloc[blank].isna().all()
    assert joined["borough_name"].iloc[blank].isna().all()
    assert joined["borough_distance_m"].iloc[blank].isna().all()
    assert joined["join_method"].notna().sum() == 495
    assert_matches_oracle(joined, sjoin_oracle(sites, boroughs))


def test_all_geometries_missing_and_no_rows(boroughs: gpd.GeoDataFrame) -> None:
    nothing = gpd.GeoDataFrame(geometry=[None, Point()], crs=WGS84)
    joined = join_boroughs(nothing, boroughs)
    assert joined["join_method"].isna().all()
    assert joined["borough_distance_m"].isna().all()
    empty = join_boroughs(gpd.GeoDataFrame(geometry=[], crs=WGS84), boroughs)
    assert len(empty) == 0
    assert list(empty.columns) == ["geometry", *ADDED]


def test_output_columns_and_dtypes(boroughs: gpd.GeoDataFrame) -> None:
    sites = random_sites(50, seed=7)
    joined = join_boroughs(sites, boroughs)
    assert list(joined.columns) == [*sites.columns, *ADDED]
    # Categoricals of every borough, in the boundary layer's order.
    for column in ("borough_code", "borough_name"):
        assert isinstance(joined[column].dtype, pd.CategoricalDtype)
        assert list(joined[column].cat.categories) == boroughs[column].tolist()
    assert joined["borough_code"].isna().any()
    assert (joined["borough_code"].cat.codes == joined["borough_name"].cat.codes).all()
    assert list(joined["join_method"].cat.categories) == ["within", "nearest", "outside"]
    assert joined["borough_distance_m"].dtype == np.float64
    assert joined.crs == sites.crs
    assert joined.geometry.name == "geometry"
    assert set(joined["join_method"].dropna()) <= {"within", "nearest", "outside"}


def test_index_and_order_are_kept(boroughs: gpd.GeoDataFrame, engine: str) -> None:
    sites = random_sites(2_000, seed=8)
    shuffled = sites.sample(frac=1.0, random_state=9)
    shuffled.index = pd.Index([f"site-{i}" for i in shuffled.index], name="site")
    joined = join_boroughs(shuffled, boroughs)
    assert joined.index.equals(shuffled.index)
    assert joined.geometry.equals(shuffled.geometry)
    plain = join_boroughs(sites, boroughs).loc[shuffled.index.str[5:].astype(int)]
    for column in ADDED:
        assert as_objects(joined[column]) == as_objects(plain[column])


def test_duplicate_index_labels_are_kept(boroughs: gpd.GeoDataFrame) -> None:
    sites = random_sites(100, seed=10)
    sites.index = [1] * 100
    joined = join_boroughs(sites, boroughs)
    assert joined.index.tolist() == [1] * 100
    assert_matches_oracle(joined, sjoin_oracle(sites, boroughs))


def test_inputs_are_left_unchanged(boroughs: gpd.GeoDataFrame) -> None:
    sites = random_sites(1_000, seed=11)
    sites_before = sites.copy(deep=True)
    boroughs_before = boroughs.copy(deep=True)
    joined = join_boroughs(sites, boroughs)
    assert_geodataframe_equal(sites, sites_before)
    assert_geodataframe_equal(boroughs, boroughs_before)
    assert joined is not sites
    joined.loc[joined.index[0], "value"] = 1e9
    assert sites["value"].iloc[0] == sites_before["value"].iloc[0]


def _spy_threads(monkeypatch: pytest.MonkeyPatch) -> dict[str, set[str]]:
    """Record the threads that read chunks' points and that join rows exactly."""
    seen: dict[str, set[str]] = {"read": set(), "exact": set()}
    for name, attr in (("read", "_read_points"), ("exact", "_join_points_xy")):
        function = getattr(frame_module, attr)

        def spied(*args: Any, _seen: set[str] = seen[name], _f: Any = function, **kw: Any) -> Any:
            _seen.add(threading.current_thread().name)
            return _f(*args, **kw)

        monkeypatch.setattr(frame_module, attr, spied)
    return seen


def test_threads_give_the_same_answer(
    boroughs: gpd.GeoDataFrame, engine: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(frame_module, "_CHUNK_ROWS", 3_000)
    monkeypatch.setattr(frame_module, "_MIN_THREAD_ROWS", 100)
    seen = _spy_threads(monkeypatch)
    sites = random_sites(20_000, seed=12)
    one = join_boroughs(sites, boroughs, threads=1)
    main = threading.main_thread().name
    assert seen == {"read": {main}, "exact": {main}}
    seen["read"].clear()
    seen["exact"].clear()
    two = join_boroughs(sites, boroughs, threads=2)
    # Really threaded: every chunk was read, and every exact join ran, on a worker.
    assert seen["read"]
    assert seen["exact"]
    assert main not in seen["read"] | seen["exact"]
    assert_geodataframe_equal(one, two)


def test_with_few_exact_rows_threads_read_and_the_calling_thread_joins(
    boroughs: gpd.GeoDataFrame, engine: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The usual case: many chunks, few rows left exact. The workers read every
    # chunk; the calling thread joins the rows they leave.
    monkeypatch.setattr(frame_module, "_CHUNK_ROWS", 2_000)
    seen = _spy_threads(monkeypatch)
    sites = random_sites(20_000, seed=14)
    two = join_boroughs(sites, boroughs, threads=2)
    main = threading.main_thread().name
    assert seen["read"]
    assert main not in seen["read"]
    assert seen["exact"] == {main}
    assert_geodataframe_equal(two, join_boroughs(sites, boroughs, threads=1))


@pytest.mark.parametrize(("cores", "pool"), [(1, []), (2, [2]), (3, [3]), (16, [4])])
def test_threads_default_to_the_usable_cores_up_to_four(
    boroughs: gpd.GeoDataFrame,
    monkeypatch: pytest.MonkeyPatch,
    join_pools: list[int],
    cores: int,
    pool: list[int],
) -> None:
    monkeypatch.setattr(frame_module, "usable_cores", lambda: cores)
    monkeypatch.setattr(frame_module, "_CHUNK_ROWS", 1_000)
    monkeypatch.setattr(frame_module, "_MIN_THREAD_ROWS", 500)
    seen = _spy_threads(monkeypatch)
    sites = random_sites(10_000, seed=16)
    joined = join_boroughs(sites, boroughs)
    assert join_pools == pool
    main = threading.main_thread().name
    assert (main in seen["read"]) is (cores == 1)
    assert_geodataframe_equal(joined, join_boroughs(sites, boroughs, threads=1))


def test_few_sites_are_joined_on_the_calling_thread_whatever_the_threads(
    boroughs: gpd.GeoDataFrame, monkeypatch: pytest.MonkeyPatch, join_pools: list[int]
) -> None:
    # Fewer than two chunks of _MIN_THREAD_ROWS (32,768): no pool is made.
    seen = _spy_threads(monkeypatch)
    join_boroughs(random_sites(65_535, seed=17), boroughs, threads=4)
    assert join_pools == []
    assert seen["read"] == {threading.main_thread().name}
    join_boroughs(random_sites(65_536, seed=17), boroughs, threads=4)
    assert join_pools == [4]


def test_threads_report_the_first_bad_site(
    boroughs: gpd.GeoDataFrame, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(frame_module, "_CHUNK_ROWS", 1_000)
    monkeypatch.setattr(frame_module, "_MIN_THREAD_ROWS", 500)
    sites = random_sites(6_000, seed=13)
    sites.loc[[2_500, 4_500], "geometry"] = [Point(51.5, 200.0), Point(51.5, 300.0)]
    with pytest.raises(DataValidationError, match=r"sites index 2500: POINT \(51.5 200\)"):
        join_boroughs(sites, boroughs, threads=2)


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("min_thread_rows", [500, 100_000], ids=["workers-join", "caller-joins"])
def test_errors_come_in_the_rows_order_whatever_the_threads(
    boroughs: gpd.GeoDataFrame, monkeypatch: pytest.MonkeyPatch, threads: int, min_thread_rows: int
) -> None:
    # Row 2,500 cannot be placed (found by the exact join of its chunk); row
    # 4,500 is not a point (found when its chunk is read). The first is named,
    # whichever thread joins and however far ahead the chunks are read.
    monkeypatch.setattr(frame_module, "_CHUNK_ROWS", 1_000)
    monkeypatch.setattr(frame_module, "_MIN_THREAD_ROWS", min_thread_rows)
    sites = random_sites(6_000, seed=13)
    sites.loc[[2_500, 4_500], "geometry"] = [Point(51.5, 200.0), LineString([(0, 51), (0, 52)])]
    with pytest.raises(DataValidationError, match=r"sites index 2500: POINT \(51.5 200\)"):
        join_boroughs(sites, boroughs, threads=threads)


def test_an_error_stops_the_chunks_not_yet_read(
    boroughs: gpd.GeoDataFrame, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(frame_module, "_CHUNK_ROWS", 200)
    reads: list[int] = []
    read = frame_module._read_points

    def counted(geoms: Any) -> Any:
        reads.append(len(geoms))
        return read(geoms)

    monkeypatch.setattr(frame_module, "_read_points", counted)
    sites = random_sites(20_000, seed=15)
    sites.loc[7, "geometry"] = LineString([(0, 51), (0, 52)])
    with pytest.raises(DataValidationError, match="sites index 7: geometry is a LineString"):
        join_boroughs(sites, boroughs, threads=2)
    # The first chunk's error cancels the chunks queued behind it: a few were
    # read ahead, not all 100.
    assert len(reads) <= 10


@settings(max_examples=25, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.floats(LONDON_BOUNDS_WGS84[0], LONDON_BOUNDS_WGS84[2]),
            st.floats(LONDON_BOUNDS_WGS84[1], LONDON_BOUNDS_WGS84[3]),
        ),
        min_size=1,
        max_size=30,
    )
)
def test_every_site_is_kept_and_labelled(
    boroughs: gpd.GeoDataFrame, lonlat: list[tuple[float, float]]
) -> None:
    sites = gpd.GeoDataFrame(geometry=[Point(xy) for xy in lonlat], crs=WGS84)
    joined = join_boroughs(sites, boroughs)
    assert len(joined) == len(sites)
    method = joined["join_method"]
    assert set(method) <= {"within", "nearest", "outside"}
    distance = joined["borough_distance_m"]
    assert (distance[method == "within"] == 0.0).all()
    assert (distance[method == "nearest"] <= 250.0).all()
    assert distance[method == "outside"].isna().all()
    assert joined["borough_code"].isna().eq(method == "outside").all()


# --------------------------------------------------------------------------
# Errors
# --------------------------------------------------------------------------


def test_sites_without_crs_are_refused(boroughs: gpd.GeoDataFrame) -> None:
    sites = gpd.GeoDataFrame(geometry=[Point(530_000, 180_000)])
    with pytest.raises(CRSError, match="sites have no CRS"):
        join_boroughs(sites, boroughs)


def test_boroughs_without_crs_are_refused(boroughs: gpd.GeoDataFrame) -> None:
    sites = gpd.GeoDataFrame(geometry=[Point(-0.1, 51.5)], crs=WGS84)
    with pytest.raises(CRSError, match="boroughs have no CRS"):
        join_boroughs(sites, boroughs.set_crs(None, allow_override=True))


def test_non_point_sites_are_refused_naming_the_row(boroughs: gpd.GeoDataFrame) -> None:
    sites = gpd.GeoDataFrame(
        geometry=[Point(-0.1, 51.5), None, LineString([(-0.1, 51.5), (-0.2, 51.5)])],
        index=["a", "b", "c"],
        crs=WGS84,
    )
    with pytest.raises(DataValidationError, match=r"sites index 'c': geometry is a LineString"):
        join_boroughs(sites, boroughs)


def test_missing_borough_column_is_named(boroughs: gpd.GeoDataFrame) -> None:
    sites = gpd.GeoDataFrame(geometry=[Point(-0.1, 51.5)], crs=WGS84)
    with pytest.raises(
        DataValidationError, match="boroughs: no borough_name column; the headers are: "
    ):
        join_boroughs(sites, boroughs.drop(columns="borough_name"))
    with pytest.raises(DataValidationError, match=r"columns=\{'borough_code': \.\.\.\}"):
        join_boroughs(sites, boroughs.drop(columns="borough_code"))
    # a column of London GSS codes is the code column, whatever its name
    renamed = boroughs.rename(columns={"borough_code": "id"})
    assert join_boroughs(sites, renamed)["borough_code"].notna().all()


@pytest.mark.parametrize(
    ("code", "name"),
    [("LAD20CD", "LAD20NM"), ("LAD23CD", "LAD23NM"), ("GSS_CODE", "NAME"), ("code", "name")],
)
def test_ons_and_gla_boundary_columns_are_found(
    boroughs: gpd.GeoDataFrame, code: str, name: str
) -> None:
    sites = random_sites(400, seed=32)
    layer = boroughs.rename(columns={"borough_code": code, "borough_name": name})
    layer["HECTARES"] = 1.0  # another column, as in the GLA layer
    assert_geodataframe_equal(join_boroughs(sites, layer), join_boroughs(sites, boroughs))


def test_non_polygon_borough_is_refused(boroughs: gpd.GeoDataFrame) -> None:
    broken = boroughs.copy()
    broken.loc[broken.index[2], "geometry"] = Point(-0.1, 51.5)
    sites = gpd.GeoDataFrame(geometry=[Point(-0.1, 51.5)], crs=WGS84)
    with pytest.raises(DataValidationError, match=r"boroughs row 2 .*a Point"):
        join_boroughs(sites, broken)


def test_sites_already_joined_are_refused(boroughs: gpd.GeoDataFrame) -> None:
    joined = join_boroughs(random_sites(5, seed=13), boroughs)
    with pytest.raises(DataValidationError, match="already has 'borough_code'"):
        join_boroughs(joined, boroughs)


@pytest.mark.parametrize("bad", [Point(51.5, 200.0), Point(np.nan, 51.5)])
def test_unprojectable_site_is_refused(boroughs: gpd.GeoDataFrame, engine: str, bad: Point) -> None:
    # A NaN coordinate is not an empty point: it is refused, not taken as missing.
    sites = gpd.GeoDataFrame(geometry=[Point(-0.1, 51.5), bad], crs=WGS84)
    with pytest.raises(DataValidationError, match=r"sites index 1: POINT .* cannot be placed"):
        join_boroughs(sites, boroughs)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"nearest_within_m": -1.0}, "nearest_within_m must be >= 0"),
        ({"nearest_within_m": float("nan")}, "nearest_within_m must be a finite"),
        ({"threads": 0}, "threads must be a whole number"),
        ({"threads": 1.5}, "threads must be a whole number"),
        ({"threads": True}, "threads must be a whole number"),
    ],
)
def test_bad_options_are_refused(
    boroughs: gpd.GeoDataFrame, options: dict[str, float], message: str
) -> None:
    sites = gpd.GeoDataFrame(geometry=[Point(-0.1, 51.5)], crs=WGS84)
    with pytest.raises(ConfigError, match=message):
        join_boroughs(sites, boroughs, **options)


# --------------------------------------------------------------------------
# The log line
# --------------------------------------------------------------------------


def test_one_summary_line_is_logged(
    boroughs: gpd.GeoDataFrame, caplog: pytest.LogCaptureFixture
) -> None:
    sites = gpd.GeoDataFrame(
        geometry=[Point(-0.1, 51.5), Point(-0.1218, 51.5007), Point(-0.1372, 50.8225), None],
        crs=WGS84,
    )
    with caplog.at_level(logging.INFO, logger="estates"):
        join_boroughs(sites, boroughs)
    messages = [r.getMessage() for r in caplog.records if r.name == "estates"]
    assert messages == [
        "joined 4 sites to 33 boroughs: 1 within, 1 nearest (river bank), "
        "1 outside London, 1 without geometry"
    ]


# --------------------------------------------------------------------------
# Streaming GeoParquet
# --------------------------------------------------------------------------


def expected_stream(joined: gpd.GeoDataFrame) -> pd.DataFrame:
    # The stream gives the borough code as text (its batches go to files);
    # the in-memory join as a categorical.
    columns = [c for c in joined.columns if c not in ("geometry", "borough_name")]
    expected = pd.DataFrame(joined[columns]).reset_index(drop=True)
    expected["borough_code"] = expected["borough_code"].astype("string")
    return expected


def test_parquet_stream_equals_in_memory_join(
    boroughs: gpd.GeoDataFrame, tmp_path: Path, engine: str
) -> None:
    sites = random_sites(12_000, seed=14)
    geometry = sites.geometry.array.copy()
    geometry[[5, 6000]] = None
    geometry[[11]] = Point()
    sites = sites.set_geometry(geometry)
    path = tmp_path / "sites.parquet"
    sites.to_parquet(path, row_group_size=5_000)

    batches = list(iter_join_parquet(path, boroughs, chunk_rows=2_345))
    assert [len(b) for b in batches] == [2_345] * 5 + [12_000 - 5 * 2_345]
    streamed = pd.concat(batches)
    pd.testing.assert_frame_equal(streamed, expected_stream(join_boroughs(sites, boroughs)))


def test_parquet_stream_of_3d_points(boroughs: gpd.GeoDataFrame, tmp_path: Path) -> None:
    # Not plain 2D WKB: these go through shapely.from_wkb rather than the fast decoder.
    flat = random_sites(2_000, seed=16)
    sites = flat.set_geometry(shapely.force_3d(flat.geometry.array, z=10.0), crs=WGS84)
    path = tmp_path / "sites3d.parquet"
    sites.to_parquet(path)
    streamed = pd.concat(iter_join_parquet(path, boroughs, chunk_rows=700))
    pd.testing.assert_frame_equal(streamed, expected_stream(join_boroughs(sites, boroughs)))


def test_parquet_stream_from_coordinate_columns(boroughs: gpd.GeoDataFrame, tmp_path: Path) -> None:
    sites = random_sites(3_000, seed=15)
    table = pd.DataFrame(
        {"site_id": sites["site_id"], "lon": sites.geometry.x, "lat": sites.geometry.y}
    )
    table.loc[[4, 40], "lat"] = np.nan
    path = tmp_path / "sites.parquet"
    table.to_parquet(path)
    streamed = pd.concat(
        iter_join_parquet(path, boroughs, chunk_rows=1_000, x_col="lon", y_col="lat", crs=WGS84)
    )
    geometry = sites.geometry.array.copy()
    geometry[[4, 40]] = None
    in_memory = join_boroughs(gpd.GeoDataFrame(table, geometry=geometry, crs=WGS84), boroughs)
    pd.testing.assert_frame_equal(streamed, expected_stream(in_memory))


def test_parquet_stream_does_not_hold_the_whole_file(
    boroughs: gpd.GeoDataFrame, tmp_path: Path
) -> None:
    # Arrow's pre-buffering would hold the file's row groups in memory (all
    # at once for a small file, more and more for a big one); the stream must
    # hold about one batch.
    sites = random_sites(80_000, seed=18)
    path = tmp_path / "sites.parquet"
    sites.to_parquet(path, row_group_size=2_000, compression=None)  # 40 row groups
    before = pa.total_allocated_bytes()
    held = [pa.total_allocated_bytes() for _ in iter_join_parquet(path, boroughs, chunk_rows=2_000)]
    assert max(held) - before < path.stat().st_size / 4


def test_parquet_stream_errors(boroughs: gpd.GeoDataFrame, tmp_path: Path) -> None:
    lines = gpd.GeoDataFrame(
        geometry=[Point(0, 51.5), LineString([(0, 51.5), (0.1, 51.5)])], crs=WGS84
    )
    path = tmp_path / "lines.parquet"
    lines.to_parquet(path)
    with pytest.raises(
        DataValidationError, match=r"lines\.parquet row 2: geometry is a LineString"
    ):
        list(iter_join_parquet(path, boroughs))

    no_crs = tmp_path / "no_crs.parquet"
    gpd.GeoDataFrame(geometry=[Point(530_000, 180_000)]).to_parquet(no_crs)
    with pytest.raises(CRSError, match="unknown CRS"):
        list(iter_join_parquet(no_crs, boroughs))

    plain = tmp_path / "plain.parquet"
    pd.DataFrame({"x": [0.0], "y": [51.5]}).to_parquet(plain)
    with pytest.raises(DataValidationError, match="no GeoParquet 'geo' metadata"):
        list(iter_join_parquet(plain, boroughs))
    with pytest.raises(CRSError, match="give the CRS"):
        list(iter_join_parquet(plain, boroughs, x_col="x", y_col="y"))
    with pytest.raises(DataValidationError, match="no column 'lat'"):
        list(iter_join_parquet(plain, boroughs, x_col="x", y_col="lat", crs=WGS84))
    with pytest.raises(ConfigError, match="chunk_rows"):
        list(iter_join_parquet(plain, boroughs, chunk_rows=0))


# --------------------------------------------------------------------------
# Swapped coordinates
# --------------------------------------------------------------------------


@pytest.mark.parametrize("threads", [1, 2])
def test_swapped_latitude_longitude_is_named_not_outside(
    boroughs: gpd.GeoDataFrame, engine: str, threads: int
) -> None:
    sites = random_sites(500, seed=31)
    geometry = sites.geometry.array.copy()
    geometry[[7, 300]] = [Point(51.5007, -0.1246), Point(51.55, -0.1)]  # (lat, lon)
    sites = sites.set_geometry(geometry)
    with pytest.raises(
        DataValidationError,
        match=r"sites index 7: \(51\.5007, -0\.1246\) is far outside London, but with x and y "
        r"swapped it lies in a borough; 2 such sites\. Are latitude and longitude",
    ):
        join_boroughs(sites, boroughs, threads=threads)


def test_swapped_easting_northing_is_named(boroughs_bng: gpd.GeoDataFrame) -> None:
    sites = gpd.GeoDataFrame(
        {"site": ["ok", "swapped"]},
        geometry=[Point(530_000, 180_000), Point(180_000, 530_000)],
        crs=BNG,
    )
    with pytest.raises(DataValidationError, match=r"sites index 1: \(180000\.0, 530000\.0\)"):
        join_boroughs(sites, boroughs_bng)


def test_far_away_sites_that_are_not_swapped_stay_outside(boroughs: gpd.GeoDataFrame) -> None:
    # Edinburgh, and Paris: swapped, neither lands in London.
    sites = gpd.GeoDataFrame(geometry=[Point(-3.19, 55.95), Point(2.35, 48.86)], crs=WGS84)
    joined = join_boroughs(sites, boroughs)
    assert joined["join_method"].tolist() == ["outside", "outside"]


# --------------------------------------------------------------------------
# Tables kept between calls and processes
# --------------------------------------------------------------------------


def test_the_source_table_is_kept_on_disk_and_read_back(
    boroughs: gpd.GeoDataFrame, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("ESTATES_CACHE_DIR", str(tmp_path))
    monkeypatch.setattr(source_module, "_SRC_MIN_POINTS", 0)
    monkeypatch.setattr(source_module, "_SOURCE_GRIDS", {})
    builds = []
    real = source_module._build_source_grid
    monkeypatch.setattr(
        source_module, "_build_source_grid", lambda *args: builds.append(1) or real(*args)
    )
    sites = random_sites(2_000, seed=41)
    first = join_boroughs(sites, boroughs)
    [kept] = tmp_path.glob("join-cells-*.npy")
    monkeypatch.setattr(source_module, "_SOURCE_GRIDS", {})  # as in a new process
    second = join_boroughs(sites, boroughs)
    assert builds == [1]
    assert_geodataframe_equal(first, second)
    assert_matches_oracle(second, sjoin_oracle(sites, boroughs))
    # A damaged file is rebuilt, never trusted.
    kept.write_bytes(b"not a table file")
    monkeypatch.setattr(source_module, "_SOURCE_GRIDS", {})
    assert_geodataframe_equal(join_boroughs(sites, boroughs), first)
    assert builds == [1, 1]
    assert kept.read_bytes().startswith(b"\x93NUMPY")  # rewritten
    # So is one cut short, as by a full disk.
    kept.write_bytes(kept.read_bytes()[:-100])
    monkeypatch.setattr(source_module, "_SOURCE_GRIDS", {})
    assert_geodataframe_equal(join_boroughs(sites, boroughs), first)
    assert builds == [1, 1, 1]
    # Another radius is another table.
    monkeypatch.setattr(source_module, "_SOURCE_GRIDS", {})
    join_boroughs(sites, boroughs, nearest_within_m=100.0)
    assert builds == [1, 1, 1, 1]
    [other] = set(tmp_path.glob("join-cells-*.npy")) - {kept}
    # A well-formed table kept for another radius, copied over this one, is foreign.
    kept.write_bytes(other.read_bytes())
    monkeypatch.setattr(source_module, "_SOURCE_GRIDS", {})
    assert_geodataframe_equal(join_boroughs(sites, boroughs), first)
    assert builds == [1, 1, 1, 1, 1]


def test_an_empty_cache_setting_keeps_nothing(
    boroughs: gpd.GeoDataFrame, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("ESTATES_CACHE_DIR", "")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.setattr(source_module, "_SRC_MIN_POINTS", 0)
    monkeypatch.setattr(source_module, "_SOURCE_GRIDS", {})
    sites = random_sites(500, seed=42)
    assert_matches_oracle(join_boroughs(sites, boroughs), sjoin_oracle(sites, boroughs))
    assert list(tmp_path.iterdir()) == []


def test_changed_boroughs_are_indexed_again(boroughs: gpd.GeoDataFrame) -> None:
    sites = random_sites(300, seed=43)
    renamed = boroughs.copy()
    renamed.loc[0, "borough_name"] = "Renamed"
    moved = boroughs.copy()
    moved.loc[1, "geometry"] = moved.geometry.iloc[0]  # borough 1 now covers borough 0's land
    for other in (renamed, moved):
        join_boroughs(sites, boroughs)  # the index of the original is kept
        assert_matches_oracle(join_boroughs(sites, other), sjoin_oracle(sites, other))
