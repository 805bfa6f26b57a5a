"""Site files written beside the build: the same files, and no quiet failure.

A second process writes the GeoPackage's ``sites`` layer of a build in parts;
a thread writes the Parquet row groups.
"""

from __future__ import annotations

import io
import logging
import os
import sys
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyarrow as pa
import pyogrio
import pytest

from estates.io import tables
from estates.io.layer_process import BATCH_ROWS, _GrowingFile
from estates.io.tables import SiteTableWriter


@pytest.fixture(scope="module")
def many_sites(bundled_result) -> gpd.GeoDataFrame:
    """The bundled site table repeated past two stream batches (more than 2 × BATCH_ROWS rows)."""
    sites = bundled_result.sites
    copies = 2 * BATCH_ROWS // len(sites) + 2
    return gpd.GeoDataFrame(pd.concat([sites] * copies, ignore_index=True), crs=sites.crs)


def _write(folder: Path, sites: gpd.GeoDataFrame, *, layer_process: bool, parts: int = 3):
    folder.mkdir()
    writer = SiteTableWriter(folder, layer_process=layer_process)
    step = -(-len(sites) // parts)
    for start in range(0, len(sites), step):
        writer.write(sites.iloc[start : start + step])
    return writer


def _layer(folder: Path) -> pa.Table:
    return pyogrio.read_arrow(folder / "sites.gpkg", layer="sites")[1]


def test_the_second_process_writes_the_layer_this_process_would(tmp_path, many_sites, caplog):
    here = _write(tmp_path / "here", many_sites, layer_process=False)
    there = _write(tmp_path / "there", many_sites, layer_process=True)
    assert there._layer is not None  # the second process is writing as the parts come
    here.close()
    with caplog.at_level(logging.WARNING):
        there.close()
        assert there._layer is not None  # close() does not wait for the layer
        there.wait_layer()
    assert not caplog.records
    expected = _layer(tmp_path / "here")
    assert expected.num_rows == len(many_sites)
    assert _layer(tmp_path / "there").equals(expected)
    assert pyogrio.read_info(tmp_path / "there" / "sites.gpkg", layer="sites")["crs"] == (
        "EPSG:27700"
    )
    assert sorted(p.name for p in (tmp_path / "there").iterdir()) == [
        "sites.csv",
        "sites.gpkg",
        "sites.parquet",
    ]


def test_a_second_process_that_dies_leaves_the_layer_to_this_one(tmp_path, many_sites, caplog):
    writer = _write(tmp_path / "out", many_sites, layer_process=True, parts=2)
    assert writer._layer is not None
    writer._layer._process.kill()  # killed for memory, say
    with caplog.at_level(logging.WARNING):
        writer.close()
        writer.wait_layer()
    (warning,) = caplog.records
    message = warning.getMessage()
    assert "the process writing the sites layer of sites.gpkg failed (exit code -9)" in message
    assert message.endswith("writing it here")
    assert _layer(tmp_path / "out").num_rows == len(many_sites)
    # Neither the stream file nor a journal of the killed writer is left.
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [
        "sites.csv",
        "sites.gpkg",
        "sites.parquet",
    ]


def test_a_journal_left_beside_the_layer_is_not_replayed(tmp_path, many_sites):
    folder = tmp_path / "out"
    writer = _write(folder, many_sites.iloc[:500], layer_process=False, parts=1)
    (folder / "sites.gpkg-journal").write_bytes(b"not a journal of this file")
    writer.close()
    assert _layer(folder).num_rows == 500
    assert not (folder / "sites.gpkg-journal").exists()


def test_a_second_process_that_cannot_start_leaves_the_layer_to_this_one(
    tmp_path, many_sites, caplog, monkeypatch
):
    monkeypatch.setattr(sys, "executable", str(tmp_path / "no-python"))
    with caplog.at_level(logging.WARNING):
        writer = _write(tmp_path / "out", many_sites.iloc[:500], layer_process=True, parts=1)
        writer.close()
    (warning,) = caplog.records
    assert warning.getMessage().startswith(
        "cannot start a process to write the sites layer of sites.gpkg ("
    )
    assert _layer(tmp_path / "out").num_rows == 500


@pytest.mark.parametrize("closed", [False, True], ids=["while-writing", "after-close"])
def test_an_abandoned_write_stops_the_second_process(tmp_path, many_sites, closed):
    writer = _write(tmp_path / "out", many_sites.iloc[:500], layer_process=True, parts=1)
    process = writer._layer._process
    if closed:  # the tables are closed, the build fails before it waits for the layer
        writer.close()
    writer.abandon()
    assert process.poll() is not None
    assert not list((tmp_path / "out").glob(".sites-gpkg-*"))
    writer.abandon()  # twice is harmless


def test_the_growing_file_reads_only_what_is_reported(tmp_path):
    path = tmp_path / "stream"
    path.write_bytes(b"abcdefgh")
    reader = io.BufferedReader(_GrowingFile(path, io.StringIO("3\n6\n8\nend\n")), buffer_size=4)
    assert reader.read(2) == b"ab"
    assert reader.read(5) == b"cdefg"
    assert reader.read() == b"h"


@pytest.mark.parametrize(
    ("written", "reported", "says"),
    [
        (b"abcdefgh", "3\n", "the build stopped before the layer's rows were complete"),
        (b"abc", "8\nend\n", "the stream file ends at 3 bytes, before 8"),
    ],
    ids=["build-gone", "file-short"],
)
def test_a_stream_left_short_is_an_error(tmp_path, written, reported, says):
    path = tmp_path / "stream"
    path.write_bytes(written)
    reader = io.BufferedReader(_GrowingFile(path, io.StringIO(reported)))
    with pytest.raises(EOFError, match=says):
        reader.read(8)


def test_the_second_process_stops_when_the_build_goes_away(tmp_path, many_sites):
    writer = _write(tmp_path / "out", many_sites.iloc[:500], layer_process=True, parts=1)
    layer = writer._layer
    layer._process.stdin.close()  # as when the build is killed: its end of the pipe closes
    assert layer._process.wait(timeout=120) == 1
    assert "the build stopped before the layer's rows were complete" in layer._said()
    writer.abandon()


def test_a_row_group_that_fails_in_its_thread_fails_the_write(tmp_path, many_sites, monkeypatch):
    # Row groups are written in a thread while the chunk's other files are: a
    # failure there (a full disk, say) is raised here, at the next write or close.
    monkeypatch.setattr(tables, "PARQUET_ROW_GROUP_ROWS", 1000)
    folder = tmp_path / "out"
    folder.mkdir()
    writer = SiteTableWriter(folder)
    writer.write(many_sites.iloc[:1500])
    assert writer._writing is not None  # the first group, being written

    def full(*args, **kwargs):
        raise OSError(28, "No space left on device")

    writer._wait_parquet()
    monkeypatch.setattr(writer._parquet, "write_table", full)
    writer.write(many_sites.iloc[1500:2500])  # its group goes to the thread, and fails there
    with pytest.raises(OSError, match="No space left on device"):
        writer.close()
    writer.abandon()
    assert writer._parquet_thread._shutdown


@pytest.mark.parametrize("more", [0, 1])
def test_only_a_table_of_at_most_the_limit_goes_to_a_second_process(tmp_path, many_sites, more):
    # GDAL builds the layer's R-tree in the memory of the process writing it:
    # a larger table's layer is written here, after its chunks, as without a process.
    folder = tmp_path / "out"
    folder.mkdir()
    writer = SiteTableWriter(folder, layer_process=True)
    writer.expect_rows(tables.LAYER_PROCESS_MAX_ROWS + more)
    writer.write(many_sites.iloc[:300])
    assert (writer._layer is not None) == (more == 0)
    writer.close()
    writer.wait_layer()
    assert _layer(folder).num_rows == 300


def test_the_second_process_writes_without_disk_syncs_when_the_build_does(monkeypatch):
    from estates.io.layer_process import _child_environment

    monkeypatch.delenv(tables.SQLITE_SYNCHRONOUS, raising=False)
    assert tables.SQLITE_SYNCHRONOUS not in _child_environment()
    with tables.unsynced_geopackage_writes():
        env = _child_environment()
    assert env[tables.SQLITE_SYNCHRONOUS] == "OFF"
    assert env["PYTHONPATH"].split(os.pathsep)[0]  # this process's path goes along
