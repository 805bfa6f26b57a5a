"""The GeoParquet point reader: coordinates in batches, unreadable rows reported, not fatal."""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import shapely
from shapely import LineString, Point

from estates.errors import CRSError, DataValidationError
from estates.io.geoparquet import open_point_parquet


def _write(path: Path, geoms: list, crs: str | None = "EPSG:4326") -> Path:
    gpd.GeoDataFrame({"id": list(range(len(geoms)))}, geometry=geoms, crs=crs).to_parquet(path)
    return path


def test_plain_points_in_batches(tmp_path: Path) -> None:
    geoms = [Point(0.1 * i, 51 + 0.01 * i) for i in range(7)]
    geoms[2] = None
    geoms[4] = Point()
    source = open_point_parquet(_write(tmp_path / "p.parquet", geoms))
    assert source.num_rows == 7
    assert source.crs["id"]["code"] == 4326
    batches = list(source.batches(3))
    assert [b.row.tolist() for b in batches] == [[1, 2, 3], [4, 5, 6], [7]]
    x = np.concatenate([b.x for b in batches])
    assert np.isnan(x[[2, 4]]).all()
    assert x[[0, 6]].tolist() == [0.0, 0.6000000000000001]
    assert all(p is None for b in batches for p in b.problem)
    assert all(b.z is None for b in batches)


def test_3d_points_keep_their_height(tmp_path: Path) -> None:
    geoms = [Point(0, 51, 12.5), Point(0.1, 51.1)]
    [batch] = open_point_parquet(_write(tmp_path / "z.parquet", geoms)).batches(10)
    assert batch.z[0] == 12.5
    assert np.isnan(batch.z[1])


def test_unreadable_rows_are_reported_with_the_rest_read(tmp_path: Path) -> None:
    path = _write(tmp_path / "mixed.parquet", [Point(0, 51), Point(1, 1), Point(0, 52)])
    table = pq.read_table(path)
    wkb = table.column("geometry").to_pylist()
    wkb[1] = b"\x01\x01\x00"  # cut short
    wkb.append(shapely.to_wkb(LineString([(0, 51), (1, 51)])))
    table = pa.table(
        {"id": [0, 1, 2, 3], "geometry": pa.array(wkb, pa.binary())},
        metadata=table.schema.metadata,
    )
    pq.write_table(table, path)
    [batch] = open_point_parquet(path).batches(10)
    assert batch.problem.tolist() == [
        None,
        "geometry is not valid WKB",
        None,
        "geometry is a LineString, not a Point",
    ]
    assert batch.usable.tolist() == [True, False, True, False]


@pytest.mark.parametrize(
    ("geo", "says"),
    [
        (b"{not json", "'geo' metadata is not readable"),
        (json.dumps({"columns": {}}).encode(), "'geo' metadata is not readable"),
        (json.dumps({"primary_column": "g", "columns": {"g": {}}}).encode(), "names column 'g'"),
        (
            json.dumps({"primary_column": "geometry", "columns": {"geometry": 3}}).encode(),
            "'geo' metadata is not readable",
        ),
    ],
)
def test_bogus_geo_metadata_is_one_clear_error(tmp_path: Path, geo: bytes, says: str) -> None:
    path = _write(tmp_path / "p.parquet", [Point(0, 51)])
    table = pq.read_table(path)
    pq.write_table(table.replace_schema_metadata({b"geo": geo}), path)
    with pytest.raises(DataValidationError, match=says) as caught:
        open_point_parquet(path)
    assert "rewrite the file with GeoDataFrame.to_parquet" in str(caught.value)


def test_not_parquet_and_unknown_crs(tmp_path: Path) -> None:
    text = tmp_path / "text.parquet"
    text.write_text("id,latitude\n")
    with pytest.raises(DataValidationError, match=r"text\.parquet: cannot read as Parquet"):
        open_point_parquet(text)
    with pytest.raises(CRSError, match="unknown CRS"):
        open_point_parquet(_write(tmp_path / "nocrs.parquet", [Point(0, 0)], crs=None))
