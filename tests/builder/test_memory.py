"""The build's collections walk only its own objects, and leave the collector as they found it."""

from __future__ import annotations

import gc
import weakref

import pytest
from seeded import write_seeded_sites

from estates.builder import runner
from estates.builder.engine import run_build
from estates.builder.memory import collections_after_imports, collections_skip_older_objects
from estates.builder.reference import Inputs
from estates.builder.runner import build_options, build_output_set
from estates.builder.sinks import MemorySink
from estates.config import Config


class _Cycle:
    """Two objects that refer to each other: only a cyclic collection frees them."""

    def __init__(self) -> None:
        self.other = _Other(self)


class _Other:
    def __init__(self, cycle: _Cycle) -> None:
        self.cycle = cycle


@pytest.fixture
def unfrozen():
    assert gc.get_freeze_count() == 0, "the test process froze objects before the test"
    yield
    assert gc.get_freeze_count() == 0


def test_inside_a_collection_frees_new_cycles_and_keeps_older_ones_to_the_end(unfrozen):
    older = _Cycle()
    older_ref = weakref.ref(older)
    with collections_skip_older_objects():
        assert gc.get_freeze_count() > 0
        newer = _Cycle()
        newer_ref = weakref.ref(newer)
        del older, newer
        gc.collect()
        assert newer_ref() is None  # made inside: collected
        assert older_ref() is not None  # alive on entry: set aside until the exit
    gc.collect()
    assert older_ref() is None


def test_an_error_inside_still_gives_the_objects_back(unfrozen):
    with pytest.raises(KeyError), collections_skip_older_objects():
        raise KeyError("x")


def test_a_callers_own_freeze_is_left_to_the_caller(unfrozen):
    gc.freeze()
    try:
        frozen = gc.get_freeze_count()
        with collections_skip_older_objects():
            with collections_skip_older_objects():
                pass
            assert gc.get_freeze_count() == frozen
        assert gc.get_freeze_count() == frozen
    finally:
        gc.unfreeze()


@pytest.fixture(scope="module")
def few_sites(tmp_path_factory):
    """A seeded site file of 300 records inside London's bounding box."""
    return write_seeded_sites(tmp_path_factory.mktemp("memory") / "sites.csv", 300, seed=6)


class _WatchingSink(MemorySink):
    """Notes whether objects were frozen each time a part of the site table arrives."""

    def __init__(self) -> None:
        super().__init__()
        self.frozen: list[int] = []

    def write_sites(self, sites):
        self.frozen.append(gc.get_freeze_count())
        super().write_sites(sites)


def test_a_build_in_parts_collects_only_its_own_objects(unfrozen, few_sites):
    sink = _WatchingSink()
    result = run_build(Inputs(sites=(few_sites,)), config=Config(), sink=sink, chunk_rows=100)
    assert result.counts["records_in"] == 300
    assert len(sink.frozen) == 3
    assert all(count > 0 for count in sink.frozen)


def test_the_outputs_are_written_collecting_only_their_own_objects(
    unfrozen, few_sites, tmp_path, monkeypatch
):
    frozen: list[int] = []
    write = runner.write_output_set

    def watched(*args, **kwargs):
        frozen.append(gc.get_freeze_count())
        return write(*args, **kwargs)

    monkeypatch.setattr(runner, "write_output_set", watched)
    report = build_output_set(build_options(Inputs(sites=(few_sites,)), out=tmp_path / "out"))
    assert report.status == "published"
    assert len(frozen) == 1
    assert frozen[0] > 0


@pytest.fixture
def collections():
    """The generations of the collections Python starts, as they start."""
    started: list[int] = []

    def note(phase, info):
        if phase == "start":
            started.append(info["generation"])

    gc.callbacks.append(note)
    yield started
    gc.callbacks.remove(note)


def test_no_collection_while_importing_then_the_imports_are_set_aside(unfrozen, collections):
    with collections_after_imports() as imported:
        assert not gc.isenabled()
        made = [_Cycle() for _ in range(20_000)]  # far past a collection's threshold
        assert collections == []
        imported()
        assert gc.isenabled()
        assert gc.get_freeze_count() >= len(made)  # the imports' objects, set aside
        frozen = gc.get_freeze_count()
        imported()  # twice is harmless
        assert gc.get_freeze_count() == frozen
        newer = weakref.ref(_Cycle())
        gc.collect()
        assert newer() is None  # made after: collected as usual
    assert gc.isenabled()
    assert gc.get_freeze_count() == 0  # given back


def test_leaving_before_the_imports_are_done_resumes_the_collector(unfrozen):
    paused: list[bool] = []

    def failing_imports() -> None:
        with collections_after_imports():
            paused.append(not gc.isenabled())
            raise ImportError("no module named x")

    with pytest.raises(ImportError):
        failing_imports()
    assert paused == [True]
    assert gc.isenabled()
    assert gc.get_freeze_count() == 0


def test_a_collector_the_caller_turned_off_or_froze_is_left_alone(unfrozen):
    gc.disable()
    try:
        with collections_after_imports() as imported:
            imported()
            assert not gc.isenabled()
            assert gc.get_freeze_count() == 0
        assert not gc.isenabled()
    finally:
        gc.enable()
    gc.freeze()
    try:
        frozen = gc.get_freeze_count()
        with collections_after_imports() as imported:
            assert gc.isenabled()
            made = [_Cycle() for _ in range(1000)]
            imported()
            assert gc.get_freeze_count() < frozen + len(made)  # none of them frozen
        assert 0 < gc.get_freeze_count() <= frozen
    finally:
        gc.unfreeze()


def test_a_build_gives_the_collector_back_as_it_found_it(unfrozen, few_sites, tmp_path):
    report = build_output_set(build_options(Inputs(sites=(few_sites,)), out=tmp_path / "out"))
    assert report.status == "published"
    assert gc.isenabled()
