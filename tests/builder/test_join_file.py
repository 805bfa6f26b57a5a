"""Chunked joins of large files give the in-memory answer."""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

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
    frame.loc[[3, 500], ["latitude", "longitude"]] = np.nan  # no coordinates: kept, not joined
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
    assert (
        got["borough_code"].fillna("-").tolist()
        == want["borough_code"].astype("string").fillna("-").tolist()
    )
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
    assert (
        got["borough_code"].fillna("-").tolist()
        == want["borough_code"].astype("string").fillna("-").tolist()
    )
    assert (
        got["borough_name"].fillna("-").tolist()
        == want["borough_name"].astype("string").fillna("-").tolist()
    )


def test_join_command(tmp_path, points):
    src = tmp_path / "points.csv"
    points.head(100).to_csv(src, index=False)
    out = tmp_path / "joined.parquet"
    result = CliRunner().invoke(main, ["join", str(src), str(out), "--chunk-rows", "10"])
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


def _join(*args: str):
    return CliRunner().invoke(main, ["--quiet", "join", *args])


def test_join_refuses_to_overwrite_its_source(tmp_path, points):
    src = tmp_path / "points.csv"
    points.head(20).to_csv(src, index=False)
    before = src.read_bytes()
    (tmp_path / "link.csv").symlink_to(src)
    (tmp_path / "sub").mkdir()
    for target in (src, tmp_path / "link.csv", tmp_path / "sub" / ".." / "points.csv"):
        result = _join(str(src), str(target))
        assert result.exit_code == 2, result.output
        assert "the target is the source file; write the result to another file" in result.stderr
        assert len(result.stderr.strip().splitlines()) == 1
    assert src.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["link.csv", "points.csv", "sub"]


def test_join_refuses_targets_that_are_not_regular_files(tmp_path, points):
    src = tmp_path / "points.csv"
    points.head(20).to_csv(src, index=False)
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    for target, says in (
        (tmp_path, "is a folder; give a file name"),
        (fifo, "is not a regular file"),
        (Path("/dev/full"), "is not a regular file"),
    ):
        result = _join(str(src), str(target))
        assert result.exit_code == 2, result.output
        assert says in result.stderr
        assert "Traceback" not in result.stderr
    assert stat.S_ISFIFO(fifo.stat().st_mode)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pipe", "points.csv"]


def test_join_names_a_missing_target_folder(tmp_path, points):
    src = tmp_path / "points.csv"
    points.head(20).to_csv(src, index=False)
    result = _join(str(src), str(tmp_path / "no" / "such" / "out.parquet"))
    assert result.exit_code == 2
    [line] = result.stderr.strip().splitlines()
    assert f"folder {tmp_path / 'no' / 'such'} does not exist; create it first (mkdir -p" in line


def test_join_replaces_an_existing_target_only_when_done(tmp_path, points):
    src = tmp_path / "points.csv"
    points.head(20).to_csv(src, index=False)
    target = tmp_path / "out.parquet"
    target.write_bytes(b"old")
    target.chmod(0o640)
    bad = tmp_path / "bad.csv"
    bad.write_text('id,latitude,longitude\na,51.5,-0.1\nb,"51.5\n')  # unclosed quote
    assert _join(str(bad), str(target)).exit_code == 2
    assert target.read_bytes() == b"old"  # a failed join leaves the old target alone
    assert _join(str(src), str(target)).exit_code == 0
    assert len(pd.read_parquet(target)) == 20
    assert stat.S_IMODE(target.stat().st_mode) == 0o640
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.csv", "out.parquet", "points.csv"]


def test_sigterm_leaves_no_partial_target(tmp_path):
    rng = np.random.default_rng(3)
    n = 400_000
    src = tmp_path / "points.csv"
    pd.DataFrame(
        {"latitude": rng.uniform(51.3, 51.7, n).round(5), "longitude": rng.uniform(-0.5, 0.3, n)}
    ).to_csv(src, index=False)
    target = tmp_path / "out.parquet"
    code = "import sys; from estates.cli import main; sys.argv[0] = 'estates'; main()"
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    args = [sys.executable, "-c", code, "--quiet", "join", str(src), str(target)]
    process = subprocess.Popen(args, env=env, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while not list(tmp_path.glob(".out.parquet.*.partial")) and process.poll() is None:
        assert time.monotonic() < deadline
        time.sleep(0.01)
    process.send_signal(signal.SIGTERM)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 128 + signal.SIGTERM, stderr
    assert "Traceback" not in stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["points.csv"]


def test_one_bad_row_does_not_fail_the_file(tmp_path, points, boroughs):
    src = tmp_path / "points.csv"
    frame = points.head(50).astype(str).replace("nan", "")
    frame.loc[10, "latitude"] = "fifty-one"
    frame.to_csv(src, index=False)
    counts = join_file(src, tmp_path / "out.parquet", boroughs, chunk_rows=7)
    got = pd.read_parquet(tmp_path / "out.parquet")
    assert counts["rows"] == 50
    assert counts["problems"] == 1
    # Data row 11 (index 10) is line 12 of the file: the header is line 1.
    assert counts["first_problems"] == ["row 12: latitude 'fifty-one' is not a finite number"]
    assert got["join_problem"].notna().tolist() == [i == 10 for i in range(50)]
    want = _oracle(points.head(50), boroughs)["borough_code"].astype("string").fillna("-").tolist()
    want[10] = "-"
    assert got["borough_code"].fillna("-").tolist() == want
