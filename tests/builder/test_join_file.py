"""Chunked joins of large files give the in-memory answer."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from estates.builder.join_file import join_file
from estates.cli import main
from estates.crs import WGS84
from estates.io.inputs import load_boroughs
from estates.stages.join import join_boroughs


@pytest.fixture(scope="module")
def boroughs():
    return load_boroughs()


@pytest.fixture(scope="module")
def points():
    rng = np.random.default_rng(7)
    n = 2_000
    frame = pd.DataFrame(
        {
            "id": [f"P{i:05d}" for i in range(n)],
            "latitude": rng.uniform(51.25, 51.72, n).round(6),
            "longitude": rng.uniform(-0.55, 0.35, n).round(6),
        }
    )
    frame.loc[[3, 500], "latitude"] = np.nan  # no coordinates: kept, not joined
    return frame


def _oracle(points, boroughs):
    gdf = gpd.GeoDataFrame(
        points,
        geometry=gpd.points_from_xy(points["longitude"], points["latitude"]),
        crs=WGS84,
    )
    gdf.loc[points["latitude"].isna(), "geometry"] = None
    return join_boroughs(gdf, boroughs)


@pytest.mark.parametrize("chunk_rows", [1, 7, 2_000, 10_000])
def test_chunked_csv_join_equals_the_in_memory_join(tmp_path, points, boroughs, chunk_rows):
    if chunk_rows == 1:
        points = points.head(60)
    src = tmp_path / "points.csv"
    points.to_csv(src, index=False)
    out = tmp_path / "joined.parquet"
    counts = join_file(src, out, boroughs, chunk_rows=chunk_rows)
    got = pd.read_parquet(out)
    want = _oracle(points, boroughs)
    assert counts["rows"] == len(points) == len(got)
    assert got["id"].tolist() == points["id"].tolist()
    assert got["borough_code"].fillna("-").tolist() == want["borough_code"].fillna("-").tolist()
    want_method = want["join_method"].astype("string").fillna("-").tolist()
    assert got["join_method"].fillna("-").tolist() == want_method
    assert counts["not_located"] == int(points["latitude"].isna().sum())


def test_chunked_geoparquet_join_equals_the_in_memory_join(tmp_path, points, boroughs):
    gdf = gpd.GeoDataFrame(
        points.dropna(),
        geometry=gpd.points_from_xy(points.dropna()["longitude"], points.dropna()["latitude"]),
        crs=WGS84,
    ).to_crs("EPSG:27700")
    src = tmp_path / "points.parquet"
    gdf.to_parquet(src)
    out = tmp_path / "joined.parquet"
    join_file(src, out, boroughs, chunk_rows=333)
    got = pd.read_parquet(out)
    want = join_boroughs(gdf, boroughs)
    assert got["borough_code"].fillna("-").tolist() == want["borough_code"].fillna("-").tolist()
    assert got["borough_name"].fillna("-").tolist() == want["borough_name"].fillna("-").tolist()


def test_join_command(tmp_path, points):
    src = tmp_path / "points.csv"
    points.head(100).to_csv(src, index=False)
    out = tmp_path / "joined.parquet"
    result = CliRunner().invoke(main, ["--quiet", "join", str(src), str(out), "--chunk-rows", "10"])
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith(f"wrote 100 rows to {out}")
    assert not list(tmp_path.glob(".*partial"))


def test_join_command_errors_are_one_line(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("id,x,y\n1,2,3\n")
    result = CliRunner().invoke(main, ["join", str(bad), str(tmp_path / "o.parquet")])
    assert result.exit_code == 2
    assert "bad.csv: no coordinate columns" in result.stderr
    assert not (tmp_path / "o.parquet").exists()
    missing = CliRunner().invoke(main, ["join", str(tmp_path / "nope.csv"), "o.parquet"])
    assert missing.exit_code == 2
    assert "no such file" in missing.stderr
