"""The second process that draws a build's pictures: same pictures, nothing lost on the way.

Each test starts a real second process (``spawn``), as a build does, and
draws the pictures of the bundled data or a job that fails or talks.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import time
import warnings
from pathlib import Path

import geopandas as gpd
import pytest
import shapely

from estates.builder import picture_worker as picture_worker_module
from estates.builder import runner as runner_module
from estates.builder.picture_worker import PictureWorker, picture_worker
from estates.builder.publish import current_build
from estates.builder.runner import BuildOptions, build_output_set
from estates.builder.sinks import FileSink
from estates.errors import DataValidationError, EstatesError
from estates.render.maps import prepare_maps
from estates.render.picture_canvas import PictureSeries
from estates.render.static_map import MapPicture, PictureJob

REPO = Path(__file__).resolve().parents[2]


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


class _WarmthJob:
    """A job that draws nothing and reports how many transformations geopandas keeps.

    (geopandas keeps them in ``geopandas.array.TransformerFromCRS``, an
    ``lru_cache``: should that change, this job must look elsewhere.)
    """

    def draw(self) -> list[Path]:
        from geopandas.array import TransformerFromCRS

        return [Path(str(TransformerFromCRS.cache_info().currsize))]


def test_the_warm_up_logs_and_warns_nothing_and_gives_logging_back(caplog, recwarn):
    with caplog.at_level(logging.DEBUG):
        picture_worker_module._warm_up()
    assert caplog.records == []
    assert list(recwarn) == []
    assert logging.root.manager.disable == logging.NOTSET


def test_a_warm_up_that_fails_is_let_go(monkeypatch):
    def refuse(*args: object, **kwargs: object) -> None:
        raise RuntimeError("no canvas here")

    monkeypatch.setattr(PictureSeries, "new_figure", refuse)
    logging.disable(logging.DEBUG)  # the process's own setting is given back as it was
    try:
        picture_worker_module._warm_up()
        assert logging.root.manager.disable == logging.DEBUG
    finally:
        logging.disable(logging.NOTSET)


class _CollectorJob:
    """A job that draws nothing and reports the second process's garbage collector."""

    def draw(self) -> list[Path]:
        import gc

        return [Path(f"enabled={gc.isenabled()} frozen={gc.get_freeze_count() > 0}")]


class _BlankMapsJob:
    """A job that draws nothing and reports the blank maps waiting for the pictures."""

    def draw(self) -> list[Path]:
        from estates.render import picture_frame

        return [Path(f"{dpi}:{len(maps)}") for dpi, maps in picture_frame._BLANK_MAPS.items()]


def test_the_second_process_makes_the_pictures_blank_maps_while_it_waits():
    with picture_worker(True) as worker:
        assert worker is not None
        worker.submit(_BlankMapsJob())  # type: ignore[arg-type]
        assert worker.wait() == [Path("150:6")]  # London's and the five pilots'


def test_the_second_process_draws_collecting_only_the_drawings_objects():
    with picture_worker(True) as worker:
        assert worker is not None
        worker.submit(_CollectorJob())  # type: ignore[arg-type]
        # The libraries' objects, imported with the collector paused, are set aside.
        assert worker.wait() == [Path("enabled=True frozen=True")]


def test_the_second_process_warms_up_before_its_job_comes():
    with picture_worker(True) as worker:
        assert worker is not None
        worker.submit(_WarmthJob())  # type: ignore[arg-type]
        # WGS84 to British National Grid was made and kept before the job came.
        assert worker.wait() == [Path("1")]


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
    assert worker._process.returncode == 0


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
        worker._process.kill()
        worker._process.wait()
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


def test_a_job_it_cannot_read_is_drawn_here(tmp_path, monkeypatch, caplog):
    # A module the second process cannot import (put on this process's path
    # after it started): it answers that it cannot draw, and this one draws.
    worker = PictureWorker()
    (tmp_path / "late_module.py").write_text(
        "from pathlib import Path\n"
        "class Job:\n"
        "    def draw(self):\n"
        "        return [Path('drawn here')]\n",
        encoding="utf-8",
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    import late_module  # type: ignore[import-not-found]

    try:
        worker.submit(late_module.Job())
        with caplog.at_level(logging.WARNING, logger="estates.builder.picture_worker"):
            assert worker.wait() == [Path("drawn here")]
    finally:
        worker.close()
    assert [r.getMessage() for r in caplog.records] == [
        "the process drawing the pictures could not draw them "
        "(ModuleNotFoundError: No module named 'late_module'); drawing them here"
    ]
    assert worker._process.returncode == 0


def test_a_job_that_cannot_be_sent_is_drawn_here(caplog):
    class Local:  # a class inside a function does not pickle
        def draw(self) -> list[Path]:
            return [Path("drawn here")]

    with picture_worker(True) as worker:
        assert worker is not None
        worker.submit(Local())  # type: ignore[arg-type]
        with caplog.at_level(logging.WARNING, logger="estates.builder.picture_worker"):
            assert worker.wait() == [Path("drawn here")]
    [record] = caplog.records
    assert record.getMessage().startswith(
        "the pictures could not be sent to the process drawing them (AttributeError: "
    )
    assert worker._process.returncode is not None  # and it was stopped


def test_the_second_process_is_a_fresh_interpreter_in_a_session_of_its_own():
    # Not a copy of the caller (a user's unguarded script is not run again),
    # and out of the terminal's process group: Ctrl-C reaches only the build.
    with picture_worker(True) as worker:
        assert worker is not None
        cmdline = Path(f"/proc/{worker._process.pid}/cmdline")
        deadline = time.monotonic() + 30
        while b"-m" not in (command := cmdline.read_bytes().split(b"\0")):
            assert time.monotonic() < deadline, command  # between fork and exec at first
            time.sleep(0.01)
        assert command[1:4] == [b"-P", b"-m", b"estates.builder.picture_worker"]
        assert os.getsid(worker._process.pid) == worker._process.pid != os.getsid(0)


def test_a_job_that_never_comes_ends_it_quietly():
    worker = PictureWorker()
    worker._process.stdin.close()  # the build ended before its pictures
    assert worker._process.wait(60) == 0
    assert worker._said() == ""  # nothing on its standard error
    worker.close()


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
    assert worker._process.returncode is not None
    worker.close()  # closing twice is harmless


def test_no_second_process_without_maps_frozen_or_on_one_core(monkeypatch):
    with picture_worker(False) as worker:
        assert worker is None
    monkeypatch.setattr(sys, "frozen", True, raising=False)
    with picture_worker(True) as worker:
        assert worker is None
    monkeypatch.delattr(sys, "frozen")
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0})
    with picture_worker(True) as worker:
        assert worker is None


def test_a_second_process_that_cannot_start_is_a_warning(monkeypatch, caplog):
    def no_processes(*args, **kwargs):
        raise OSError(38, "Function not implemented")

    monkeypatch.setattr("subprocess.Popen", no_processes)
    with caplog.at_level(logging.WARNING), picture_worker(True) as worker:
        assert worker is None
    assert [r.getMessage() for r in caplog.records] == [
        "cannot start a process to draw the pictures ([Errno 38] Function not implemented); "
        "drawing them here"
    ]


def test_a_script_without_a_main_guard_builds_once(tmp_path):
    # The second process runs this package's module, not the caller's script
    # again (as a copy made by multiprocessing's "spawn" would).
    script = tmp_path / "build_maps.py"
    script.write_text("import estates\nprint('building')\nestates.build(out='maps')\n")
    done = subprocess.run(
        [sys.executable, str(script)],
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == "building\n"
    assert sorted(p.name for p in (tmp_path / "maps").glob("*.png")) == [
        "bhr_aco.png",
        "hackney_integration.png",
        "haringey_prevention.png",
        "lewisham_integration.png",
        "london.png",
        "ncl_estates.png",
    ]


def test_a_build_hands_the_pictures_over_before_it_writes_the_site_table(tmp_path, monkeypatch):
    # The pictures are drawn while this process writes the site table and adds
    # the other ERIC years' sections, which the index page and summary.json
    # still hold in full.
    events: list[str] = []
    submit, write_sites = PictureWorker.submit, FileSink.write_sites

    def submitted(self, job):
        events.append("pictures")
        submit(self, job)

    def written(self, sites):
        events.append("sites")
        write_sites(self, sites)

    monkeypatch.setattr(PictureWorker, "submit", submitted)
    monkeypatch.setattr(FileSink, "write_sites", written)
    monkeypatch.setattr(picture_worker_module, "second_process_helps", lambda: True)
    out = tmp_path / "maps"
    report = build_output_set(BuildOptions(out=out))
    assert report.status == "published"
    assert events == ["pictures", "sites"]
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    every_year = ["2013/14", "2014/15", "2015/16", "2016/17", "2019/20"]
    assert list(summary["years"]) == every_year
    index = (out / "index.html").read_text(encoding="utf-8")
    assert all(year in index for year in every_year)
    assert len(list(out.glob("*.png"))) == 6


def test_the_output_check_runs_while_the_pictures_are_drawn(tmp_path, monkeypatch):
    # The check reads no picture, so it runs before the build waits for them;
    # when it fails, the picture process is stopped and nothing is published.
    events: list[str] = []
    wait = PictureWorker.wait

    def waited(self):
        events.append("wait")
        return wait(self)

    def failing_check(folder, expected):
        events.append("check")
        raise EstatesError("output check failed, nothing published: sites.csv has 0 rows")

    monkeypatch.setattr(PictureWorker, "wait", waited)
    monkeypatch.setattr(runner_module, "check_output_set", failing_check)
    monkeypatch.setattr(picture_worker_module, "second_process_helps", lambda: True)
    out = tmp_path / "maps"
    with pytest.raises(EstatesError, match="output check failed, nothing published"):
        build_output_set(BuildOptions(out=out))
    assert events == ["check"]
    assert current_build(out) is None
    assert not out.exists()


def test_the_files_written_are_synced_while_the_pictures_are_drawn(tmp_path, monkeypatch):
    from estates.builder import publish as publish_module

    events: list[str] = []
    sync, wait = publish_module.sync_tree, PictureWorker.wait

    def watched_sync(folder: Path) -> int:
        events.append(f"sync {folder.name.split('-')[0]}")
        return sync(folder)

    def watched_wait(self):
        events.append("wait for the pictures")
        return wait(self)

    monkeypatch.setattr(publish_module, "sync_tree", watched_sync)
    monkeypatch.setattr(runner_module, "sync_tree", watched_sync)
    monkeypatch.setattr(PictureWorker, "wait", watched_wait)
    report = build_output_set(BuildOptions(out=tmp_path / "out", wait_s=0))
    assert report.status == "published"
    # The build's own files while the pictures are drawn, then everything when published.
    assert events == ["sync staging", "wait for the pictures", "sync staging"]
