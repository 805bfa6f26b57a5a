"""The site files a second process writes are the ones this process would write.

The rows are the bundled build's site table, in the writer's own forms; the
failures are real ones: a folder that does not exist (GDAL's error, of its
own type), a process killed while it reads, a build stopped half-way.
"""

from __future__ import annotations

import os
import signal
import sqlite3
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyarrow as pa
import pyogrio
import pytest
from geopandas.testing import assert_geodataframe_equal
from pyogrio.errors import DataSourceError

from estates.builder import runner
from estates.builder.runner import BuildOptions, build_output_set
from estates.io.csv_text import append_csv
from estates.io.table_process import BOM, SQLITE_SYNCHRONOUS, TableProcess, TableProcessError
from estates.io.tables import SiteTableWriter, write_gpkg_layer


@pytest.fixture(scope="module")
def layer_rows(bundled_result, tmp_path_factory) -> pa.Table:
    """The rows of the bundled ``sites`` layer, as the site table writer sends them."""
    path = tmp_path_factory.mktemp("rows") / "sites.gpkg"
    writer = SiteTableWriter(path.parent)
    writer.write(bundled_result.sites)
    writer.close()
    table = pyogrio.read_arrow(path, layer="sites")[1]
    return table.rename_columns([*table.column_names[:-1], "geom"])


def _geoarrow(table: pa.Table) -> pa.Table:
    """``table`` with its ``geom`` column marked as GeoArrow WKB, as the writer marks it."""
    index = table.schema.get_field_index("geom")
    field = table.schema.field(index).with_metadata({b"ARROW:extension:name": b"geoarrow.wkb"})
    return table.set_column(index, field, table.column(index))


def _read(path: Path) -> gpd.GeoDataFrame:
    return gpd.read_file(path, layer="sites")


def test_the_files_equal_the_ones_written_here(tmp_path, layer_rows, bundled_result):
    rows = _geoarrow(layer_rows)
    frame = pd.DataFrame(bundled_result.sites.drop(columns="geometry"))
    here = tmp_path / "here.gpkg"
    write_gpkg_layer(rows, here, "sites")
    with (tmp_path / "here.csv").open("wb") as handle:
        handle.write(BOM)
        append_csv(frame, handle, header=True)
    there = tmp_path / "there.gpkg"
    process = TableProcess(there, "sites", tmp_path / "there.csv")
    try:
        # In several pieces, as a build in parts sends them, CSV rows first once.
        process.write_csv(frame.iloc[:40], header=True, bom=True)
        for start in range(0, len(rows), 40):
            process.write_layer(rows.slice(start, 40))
            if start:
                process.write_csv(frame.iloc[start : start + 40], header=False)
        process.wait()
    finally:
        process.stop()
    assert len(rows) > 100
    assert (tmp_path / "here.csv").read_bytes() == (tmp_path / "there.csv").read_bytes()
    assert_geodataframe_equal(_read(here), _read(there))
    assert pyogrio.read_info(there, layer="sites")["crs"] == "EPSG:27700"
    indexed = []
    for path in (here, there):  # the spatial index was built as it is here
        with sqlite3.connect(path) as db:
            indexed.append(db.execute("SELECT count(*) FROM rtree_sites_geom").fetchone()[0])
    assert indexed[0] == indexed[1] > 100


def test_csv_rows_alone_are_written(tmp_path, bundled_result):
    frame = pd.DataFrame(bundled_result.sites.drop(columns="geometry"))
    process = TableProcess(tmp_path / "sites.gpkg", "sites", tmp_path / "sites.csv")
    try:
        process.write_csv(frame, header=True)
        process.wait()
    finally:
        process.stop()
    assert len(pd.read_csv(tmp_path / "sites.csv")) == len(frame)
    assert not (tmp_path / "sites.gpkg").exists()


def test_a_failure_there_is_raised_here_as_it_was(tmp_path, layer_rows):
    process = TableProcess(tmp_path / "no such folder" / "sites.gpkg", "sites", tmp_path / "s.csv")
    try:
        process.write_layer(_geoarrow(layer_rows))
        with pytest.raises(DataSourceError) as caught:
            process.wait()
    finally:
        process.stop()
    assert "In the process writing the site table" in "\n".join(caught.value.__notes__)


def test_a_process_that_dies_is_reported_with_what_it_said(tmp_path, layer_rows):
    rows = _geoarrow(layer_rows)
    process = TableProcess(tmp_path / "sites.gpkg", "sites", tmp_path / "sites.csv")
    try:
        process.write_layer(rows)
        os.kill(process._process.pid, signal.SIGKILL)
        with pytest.raises(TableProcessError, match=r"sites\.gpkg and sites\.csv .*exit code -9"):
            _send_until_refused(process, rows)
    finally:
        process.stop()


def _send_until_refused(process: TableProcess, rows: pa.Table) -> None:
    """Send ``rows`` again and again (the pipe fills, a dead reader is seen), then wait."""
    for _ in range(100):
        process.write_layer(rows)
    process.wait()


def test_stopping_before_the_end_ends_the_process(tmp_path, layer_rows):
    process = TableProcess(tmp_path / "sites.gpkg", "sites", tmp_path / "sites.csv")
    process.write_layer(_geoarrow(layer_rows))
    process.stop()
    assert process._process.poll() is not None
    process.stop()  # twice is harmless


def test_unsynced_writes_are_unsynced_there_too():
    assert TableProcess._environment(synced=False)[SQLITE_SYNCHRONOUS] == "OFF"
    assert TableProcess._environment(synced=True).get(SQLITE_SYNCHRONOUS) == os.environ.get(
        SQLITE_SYNCHRONOUS
    )


def test_site_table_writer_in_two_processes_writes_the_same_files(tmp_path, bundled_result):
    sites = bundled_result.sites
    folders = {}
    for name, second_process in (("one", False), ("two", True)):
        folder = tmp_path / name
        folder.mkdir()
        writer = SiteTableWriter(folder, second_process=second_process)
        for start in range(0, len(sites), 40):
            writer.write(sites.iloc[start : start + 40])
        writer.close()
        writer.wait()
        folders[name] = folder
    one, two = folders["one"], folders["two"]
    for name in ("sites.parquet", "sites.csv"):
        assert (one / name).read_bytes() == (two / name).read_bytes()
    assert_geodataframe_equal(_read(one / "sites.gpkg"), _read(two / "sites.gpkg"))
    assert sorted(p.name for p in two.iterdir()) == ["sites.csv", "sites.gpkg", "sites.parquet"]


@pytest.fixture(scope="module")
def bundled_sites_csv(bundled_result, tmp_path_factory) -> Path:
    """The bundled sites as a site file of one's own, which a build can read in parts."""
    columns = ["site_code", "site_name", "trust_code", "latitude", "longitude"]
    columns += ["land_owned_ha", "land_unused_ha"]
    path = tmp_path_factory.mktemp("site-file") / "sites.csv"
    bundled_result.sites[columns].to_csv(path, index=False)
    return path


@pytest.fixture
def two_cores(monkeypatch):
    """A build in parts on a machine with a core to spare, whatever this one has."""
    monkeypatch.setattr(runner, "usable_cores", lambda: 2)


def test_a_build_in_parts_writes_its_layer_in_a_second_process(
    tmp_path, bundled_sites_csv, two_cores, monkeypatch
):
    started = []
    real = TableProcess.__init__

    def spy(self, *args, **kwargs):
        real(self, *args, **kwargs)
        started.append(self)

    monkeypatch.setattr(TableProcess, "__init__", spy)
    options = {"inputs": runner.Inputs(sites=(bundled_sites_csv,)), "maps": False}
    build_output_set(BuildOptions(out=tmp_path / "parts", chunk_rows=50, **options))
    assert len(started) == 1
    assert started[0]._process.poll() is not None
    build_output_set(BuildOptions(out=tmp_path / "whole", **options))
    for name in ("sites.parquet", "sites.csv", "rejected.csv"):
        assert (tmp_path / "parts" / name).read_bytes() == (tmp_path / "whole" / name).read_bytes()
    for layer in pyogrio.list_layers(tmp_path / "whole" / "sites.gpkg")[:, 0]:
        parts, whole = (
            pyogrio.read_arrow(tmp_path / name / "sites.gpkg", layer=layer)[1]
            for name in ("parts", "whole")
        )
        if "update_time" in whole.column_names:  # the styles' time of writing
            parts, whole = parts.drop_columns("update_time"), whole.drop_columns("update_time")
        assert parts.equals(whole), layer


def test_a_build_that_fails_after_its_parts_stops_the_second_process(
    tmp_path, bundled_sites_csv, two_cores, monkeypatch
):
    started = []
    real = TableProcess.__init__

    def spy(self, *args, **kwargs):
        real(self, *args, **kwargs)
        started.append(self)

    def broken(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(TableProcess, "__init__", spy)
    monkeypatch.setattr(runner, "_write_changes", broken)
    options = BuildOptions(
        out=tmp_path / "out", inputs=runner.Inputs(sites=(bundled_sites_csv,)), chunk_rows=50
    )
    with pytest.raises(Exception, match="space"):
        build_output_set(options)
    assert len(started) == 1
    assert started[0]._process.poll() is not None
    assert not (tmp_path / "out").exists()
