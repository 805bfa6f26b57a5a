"""The dask recipe of docs/dask.md: join_boroughs per partition on a dask.distributed cluster.

The cluster is a real LocalCluster (one worker process, two threads), so the
sites, the boroughs and the function all travel to the worker as they would on
a bigger cluster. The answer must equal the in-memory join exactly.
"""

from __future__ import annotations

from collections.abc import Iterator

import dask
import dask_geopandas
import geopandas as gpd
import numpy as np
import pytest
from distributed import Client, LocalCluster
from geopandas.testing import assert_geodataframe_equal
from shapely import Point

import estates.stages.join._frame as frame_module
from estates.crs import LONDON_BOUNDS_WGS84, WGS84
from estates.errors import ConfigError, CRSError
from estates.io.bundled import boundaries_path
from estates.stages.join import join_boroughs, join_boroughs_dask


@pytest.fixture(scope="module")
def boroughs() -> gpd.GeoDataFrame:
    frame = gpd.read_file(boundaries_path())
    return frame.rename(columns={"code": "borough_code", "name": "borough_name"})


@pytest.fixture(scope="module")
def sites() -> gpd.GeoDataFrame:
    lon0, lat0, lon1, lat1 = LONDON_BOUNDS_WGS84
    rng = np.random.default_rng(7)
    n = 20_000
    geometry = gpd.points_from_xy(rng.uniform(lon0, lon1, n), rng.uniform(lat0, lat1, n))
    geometry[[3, 9_999]] = None
    geometry[[17]] = Point()
    return gpd.GeoDataFrame(
        {"site_id": [f"S{i:05d}" for i in range(n)], "value": rng.normal(size=n)},
        geometry=geometry,
        crs=WGS84,
    )


@pytest.fixture(scope="module")
def client() -> Iterator[Client]:
    # dashboard_address=None: no web dashboard, so no port to bind and nothing
    # for bokeh to warn about. One worker process with two threads.
    with (
        LocalCluster(
            n_workers=1, threads_per_worker=2, processes=True, dashboard_address=None
        ) as cluster,
        Client(cluster) as client,
    ):
        yield client


def test_per_partition_join_equals_in_memory_join(
    client: Client, sites: gpd.GeoDataFrame, boroughs: gpd.GeoDataFrame
) -> None:
    # dask turns text columns into pyarrow strings by default; keep site_id's
    # dtype as it is, so the frames can be compared exactly.
    with dask.config.set({"dataframe.convert-string": False}):
        partitioned = dask_geopandas.from_geopandas(sites, npartitions=4)
        joined = join_boroughs_dask(partitioned, boroughs)
        assert isinstance(joined, dask_geopandas.GeoDataFrame)  # lazy until computed
        result = joined.compute()
    assert_geodataframe_equal(result, join_boroughs(sites, boroughs))
    assert set(result["join_method"].dropna()) == {"within", "nearest", "outside"}


def test_meta_has_the_joined_columns(sites: gpd.GeoDataFrame, boroughs: gpd.GeoDataFrame) -> None:
    with dask.config.set({"dataframe.convert-string": False}):
        partitioned = dask_geopandas.from_geopandas(sites, npartitions=2)
        joined = join_boroughs_dask(partitioned, boroughs)
    assert joined.dtypes.equals(join_boroughs(sites.iloc[:0], boroughs).dtypes)
    assert list(joined["join_method"].cat.categories) == ["within", "nearest", "outside"]
    assert joined.crs == sites.crs


def test_problems_show_before_computing(
    sites: gpd.GeoDataFrame, boroughs: gpd.GeoDataFrame
) -> None:
    partitioned = dask_geopandas.from_geopandas(sites, npartitions=2)
    with pytest.raises(ConfigError, match="unknown option"):
        join_boroughs_dask(partitioned, boroughs, radius=5)
    with pytest.raises(ConfigError, match="nearest_within_m"):
        join_boroughs_dask(partitioned, boroughs, nearest_within_m=-1)
    with pytest.raises(CRSError, match="boroughs have no CRS"):
        join_boroughs_dask(partitioned, boroughs.set_crs(None, allow_override=True))


@pytest.mark.parametrize(("options", "pools"), [({}, 0), ({"threads": 2}, 2)])
def test_partitions_are_joined_on_one_thread_unless_told(  # noqa: PLR0917 - parametrised
    sites: gpd.GeoDataFrame,
    boroughs: gpd.GeoDataFrame,
    monkeypatch: pytest.MonkeyPatch,
    join_pools: list[int],
    options: dict[str, int],
    pools: int,
) -> None:
    # dask runs the partitions side by side already: each takes one thread
    # unless the caller asks for more, whatever the cores.
    monkeypatch.setattr(frame_module, "usable_cores", lambda: 4)
    monkeypatch.setattr(frame_module, "_CHUNK_ROWS", 1_000)
    monkeypatch.setattr(frame_module, "_MIN_THREAD_ROWS", 500)
    with dask.config.set({"dataframe.convert-string": False, "scheduler": "synchronous"}):
        partitioned = dask_geopandas.from_geopandas(sites, npartitions=2)
        result = join_boroughs_dask(partitioned, boroughs, **options).compute()
    assert len(join_pools) == pools  # one pool a partition, or none
    assert_geodataframe_equal(result, join_boroughs(sites, boroughs, threads=1))
