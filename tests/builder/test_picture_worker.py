"""The second process that draws a build's pictures: same pictures, nothing lost on the way.

Each test starts a real second process (``spawn``), as a build does, and
draws the pictures of the bundled data or a job that fails or talks.
"""

from __future__ import annotations

import logging
import os
import signal
import warnings
from pathlib import Path

import geopandas as gpd
import pytest
import shapely

from estates.builder.picture_worker import PictureWorker, picture_worker
from estates.errors import DataValidationError
from estates.render.maps import prepare_maps
from estates.render.static_map import MapPicture, PictureJob


def _job(result, folder: Path) -> PictureJob:
    folder.mkdir()
    maps = prepare_maps(result.map_sites, result.boroughs, result.context, result.summary, folder)
    return maps.pictures


class _TalkingJob:
    """A job that logs, warns and draws nothing: what the second process hands back."""

    def draw(self) -> list[Path]:
        logging.getLogger("estates.render.static_map").warning("a borough has no shape")
        warnings.warn("a font fell back to DejaVu Sans", UserWarning, stacklevel=1)
        logging.getLogger("estates.render.static_map").info("not handed back: below warnings")
        return []


def test_the_second_process_draws_the_pictures_this_one_would(bundled_result, tmp_path):
    there, here = _job(bundled_result, tmp_path / "there"), _job(bundled_result, tmp_path / "here")
    with picture_worker(True) as worker:
        assert worker is not None
        worker.submit(there)
        paths = worker.wait()
    assert [p.name for p in paths] == [p.out_path.name for p in there.pictures]
    assert len(paths) == 6
    for drawn, own in zip(paths, here.draw(), strict=True):
        assert drawn.read_bytes() == own.read_bytes(), drawn.name
    assert worker._process.exitcode == 0


def test_an_error_there_is_raised_here_with_its_type_and_traceback(tmp_path):
    no_columns = gpd.GeoDataFrame(geometry=[shapely.Point(-0.1, 51.5)], crs="EPSG:4326")
    boroughs = gpd.GeoDataFrame({"land_unused_ha": [1.0]}, geometry=[None], crs="EPSG:4326")
    job = PictureJob((MapPicture(no_columns, tmp_path / "london.png"),), boroughs)
    with picture_worker(True) as worker:
        assert worker is not None
        worker.submit(job)
        with pytest.raises(DataValidationError, match="sites is missing column") as caught:
            worker.wait()
    note = "\n".join(caught.value.__notes__)
    assert note.startswith("In the process drawing the pictures:")
    assert "render_static_maps" in note  # its traceback there
    assert list(tmp_path.iterdir()) == []


def test_a_second_process_that_died_leaves_the_pictures_to_this_one(
    bundled_result, tmp_path, caplog
):
    job = _job(bundled_result, tmp_path / "maps")
    worker = PictureWorker()
    try:
        os.kill(worker._process.pid, signal.SIGKILL)
        worker._process.join()
        worker.submit(job)
        with caplog.at_level(logging.WARNING, logger="estates.builder.picture_worker"):
            paths = worker.wait()
    finally:
        worker.close()
    assert [p.name for p in paths] == [p.out_path.name for p in job.pictures]
    assert all(p.stat().st_size > 0 for p in paths)
    assert [r.getMessage() for r in caplog.records] == [
        "the process drawing the pictures ended (exit code -9); drawing them here"
    ]


def test_ctrl_c_is_left_to_the_build(tmp_path, caplog):
    # Ctrl-C reaches every process of the terminal: the second process ignores
    # it (no traceback of its own) and the build decides.
    with picture_worker(True) as worker:
        assert worker is not None
        os.kill(worker._process.pid, signal.SIGINT)
        worker.submit(_TalkingJob())  # type: ignore[arg-type]
        with pytest.warns(UserWarning, match="a font fell back"):
            assert worker.wait() == []
    assert worker._process.exitcode == 0


def test_its_log_records_and_warnings_reach_this_process(caplog):
    with picture_worker(True) as worker:
        assert worker is not None
        worker.submit(_TalkingJob())  # type: ignore[arg-type]
        with caplog.at_level(logging.DEBUG), pytest.warns(UserWarning, match="font") as caught:
            worker.wait()
    assert [(r.name, r.levelname, r.getMessage()) for r in caplog.records] == [
        ("estates.render.static_map", "WARNING", "a borough has no shape")
    ]
    assert [str(w.message) for w in caught] == ["a font fell back to DejaVu Sans"]


def test_a_build_that_ends_before_its_pictures_stops_the_second_process():
    worker = PictureWorker()
    worker.close()
    assert not worker._process.is_alive()
    assert worker._process.exitcode is not None
    worker.close()  # closing twice is harmless


def test_no_second_process_without_maps_or_on_one_core(monkeypatch):
    with picture_worker(False) as worker:
        assert worker is None
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0})
    with picture_worker(True) as worker:
        assert worker is None


def test_a_second_process_that_cannot_start_is_a_warning(monkeypatch, caplog):
    def no_processes(self):
        raise OSError(38, "Function not implemented")

    monkeypatch.setattr("multiprocessing.process.BaseProcess.start", no_processes)
    with caplog.at_level(logging.WARNING), picture_worker(True) as worker:
        assert worker is None
    assert [r.getMessage() for r in caplog.records] == [
        "cannot start a process to draw the pictures ([Errno 38] Function not implemented); "
        "drawing them here"
    ]
