"""The boroughs' shapes are worked out once per set of boundaries, and never go stale.

``prepare_boroughs`` keeps the shapes' GeoJSON, label points and the pilot and
sub-region outlines by a digest of the shapes and the groups, in memory and on
disk: a second page or build with the same boundaries must get the same values,
and any change to a shape or a membership must give new ones, as if nothing
were kept.
"""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pytest
import shapely
from browser import load_boroughs

from estates.io.array_cache import CACHE_ENV, load_arrays, save_arrays
from estates.render import borough_shapes
from estates.render.borough_shapes import BoroughShapes
from estates.render.columns import split_list
from estates.render.geography import borough_labels
from estates.render.payload import Names, prepare_boroughs


def _shapes_of(frame) -> BoroughShapes:
    """The shapes of ``frame`` (sorted by code), as ``prepare_boroughs`` asks for them."""
    frame = frame.sort_values("borough_code", kind="stable").reset_index(drop=True)
    return borough_shapes.borough_shapes(
        frame.geometry.array,
        [split_list(v) for v in frame["pilots"].fillna("")],
        list(frame["subregion"].fillna("")),
    )


def _computed(frame) -> BoroughShapes:
    """The shapes of ``frame`` worked out afresh, with nothing kept in memory or on disk."""
    borough_shapes._CACHE.clear()
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(CACHE_ENV, "")
        return _shapes_of(frame)


def _same(a, b) -> bool:
    """True if two shapes have exactly the same coordinates."""
    return bool(shapely.equals_exact(a, b, tolerance=0))


def _aggregated(frame):
    """``frame`` with the figures ``prepare_boroughs`` reads, made up."""
    frame = frame.copy()
    for i, column in enumerate(
        ("land_owned_ha", "land_unused_ha", "estimated_value_gbp", "sites_located")
    ):
        frame[column] = [float(i + k) for k in range(len(frame))]
    return frame


def test_a_second_page_reuses_the_shapes_and_gets_the_same_values() -> None:
    frame = _aggregated(load_boroughs())
    borough_shapes._CACHE.clear()
    first = prepare_boroughs(frame, Names())
    second = prepare_boroughs(frame, Names())
    assert second.shapes is first.shapes  # kept, not worked out again
    assert second.geojson == first.geojson
    assert list(second.pilot_outlines.geometry) == list(first.pilot_outlines.geometry)
    assert borough_labels(second) == borough_labels(first)
    fresh = _computed(frame)
    assert fresh.geometries == first.shapes.geometries
    assert fresh.label_points == first.shapes.label_points
    assert list(fresh.pilots) == list(first.shapes.pilots)
    assert all(_same(fresh.pilots[g], first.shapes.pilots[g]) for g in fresh.pilots)


def test_a_changed_shape_or_membership_is_worked_out_again() -> None:
    frame = _aggregated(load_boroughs())
    borough_shapes._CACHE.clear()
    before = prepare_boroughs(frame, Names())
    # One borough moved 0.1 degrees east: its GeoJSON, label and outlines move with it.
    moved = frame.copy()
    first_code = sorted(moved["borough_code"])[0]
    at = moved.index[moved["borough_code"] == first_code][0]
    moved.loc[at, "geometry"] = shapely.affinity.translate(moved.loc[at, "geometry"], xoff=0.1)
    after = prepare_boroughs(moved, Names())
    assert after.shapes is not before.shapes
    assert after.geojson["features"][0]["geometry"] != before.geojson["features"][0]["geometry"]
    assert after.shapes.label_points[0] != before.shapes.label_points[0]
    assert after.shapes == _computed(moved)
    # A borough leaving its pilot: that pilot's outline loses it.
    left = frame.copy()
    member = left.index[left["pilots"].fillna("") != ""][0]
    pilot = split_list(left.loc[member, "pilots"])[0]
    left.loc[member, "pilots"] = ""
    borough_shapes._CACHE.clear()
    kept = prepare_boroughs(frame, Names())
    dropped = prepare_boroughs(left, Names())
    outline = dropped.shapes.pilots.get(pilot)  # None if it was the pilot's only borough
    assert outline is None or not _same(outline, kept.shapes.pilots[pilot])


def _assert_same_shapes(a: BoroughShapes, b: BoroughShapes) -> None:
    assert a.geometries == b.geometries
    assert a.label_points == b.label_points
    for kind in ("pilots", "subregions"):
        mine, theirs = getattr(a, kind), getattr(b, kind)
        assert list(mine) == list(theirs)
        for gid in mine:
            assert shapely.to_wkb(mine[gid]) == shapely.to_wkb(theirs[gid])
            # The grid the unions were made on, which WKB does not carry.
            assert shapely.get_precision(mine[gid]) == shapely.get_precision(theirs[gid])


def test_a_new_process_reads_the_shapes_kept_on_disk(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv(CACHE_ENV, str(tmp_path))
    frame = _aggregated(load_boroughs())
    borough_shapes._CACHE.clear()
    first = _shapes_of(frame)
    assert len(list(tmp_path.glob("borough-shapes-*.npy"))) == 1
    # As a new process: nothing in memory, and no union may be worked out.
    borough_shapes._CACHE.clear()

    def no_unions(*args):
        raise AssertionError("the outlines were worked out again")

    monkeypatch.setattr(borough_shapes, "_dissolve", no_unions)
    kept = _shapes_of(frame)
    _assert_same_shapes(kept, first)


def _record(kept: BoroughShapes, **changes) -> bytes:
    """The JSON record of ``kept`` as the disk keeps it, with ``changes`` made to it."""
    record = {
        "geometries": kept.geometries,
        "label_points": kept.label_points,
        "pilots": {g: shapely.to_wkb(o, hex=True) for g, o in kept.pilots.items()},
        "subregions": {g: shapely.to_wkb(o, hex=True) for g, o in kept.subregions.items()},
    }
    for key, change in changes.items():
        record[key] = change(record[key])
    return json.dumps(record).encode()


def _first_pilot(value):
    return {**value, next(iter(value)): None}


DAMAGE = {
    "empty": lambda kept: b"",
    "not JSON": lambda kept: b"{not json",
    "nested too deep": lambda kept: b"[" * 100_000 + b"]" * 100_000,
    "too few boroughs": lambda kept: _record(kept, geometries=lambda v: v[:-1]),
    "a geometry without coordinates": lambda kept: _record(
        kept, geometries=lambda v: [{"type": "Polygon"}, *v[1:]]
    ),
    "a label point as text": lambda kept: _record(kept, label_points=lambda v: ["12", *v[1:]]),
    "a label point of three numbers": lambda kept: _record(
        kept, label_points=lambda v: [[1, 2, 3], *v[1:]]
    ),
    "a label point of booleans": lambda kept: _record(
        kept, label_points=lambda v: [[True, False], *v[1:]]
    ),
    "a label point past a float": lambda kept: _record(
        kept, label_points=lambda v: [[10**400, 1], *v[1:]]
    ),
    "an outline missing": lambda kept: _record(kept, pilots=_first_pilot),
    "an outline as a list": lambda kept: _record(
        kept, pilots=lambda v: {g: [w] for g, w in v.items()}
    ),
    "an outline that is a point": lambda kept: _record(
        kept, pilots=lambda v: {g: shapely.Point(0, 51).wkb_hex for g in v}
    ),
    "another group's outlines": lambda kept: _record(
        kept, subregions=lambda v: {f"x{g}": w for g, w in v.items()}
    ),
}


@pytest.mark.parametrize("damage", sorted(DAMAGE))
def test_a_record_that_does_not_read_back_whole_is_worked_out_again_and_rewritten(
    tmp_path, monkeypatch, damage
) -> None:
    # Each record is kept with its own SHA-256, as if written so: the values are checked.
    monkeypatch.setenv(CACHE_ENV, str(tmp_path))
    frame = _aggregated(load_boroughs())
    borough_shapes._CACHE.clear()
    fresh = _shapes_of(frame)
    [path] = tmp_path.glob("borough-shapes-*.npy")
    data = DAMAGE[damage](fresh)
    digest = np.frombuffer(hashlib.sha256(data).digest(), dtype=np.uint8)
    save_arrays(path, {"record": np.frombuffer(data, dtype=np.uint8), "sha256": digest})
    borough_shapes._CACHE.clear()
    _assert_same_shapes(_shapes_of(frame), fresh)
    # Rewritten whole: the next process reads it back.
    borough_shapes._CACHE.clear()
    monkeypatch.setattr(borough_shapes, "_dissolve", lambda members: {})
    _assert_same_shapes(_shapes_of(frame), fresh)


def test_a_record_changed_after_it_was_written_is_not_used(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv(CACHE_ENV, str(tmp_path))
    frame = _aggregated(load_boroughs())
    borough_shapes._CACHE.clear()
    fresh = _shapes_of(frame)
    [path] = tmp_path.glob("borough-shapes-*.npy")
    arrays = {name: np.array(a) for name, a in load_arrays(path).items()}
    record = arrays["record"]
    text = record.tobytes()
    # The first decimal of the first label point: still a record of the right kinds.
    at = text.index(b".", text.index(b'"label_points":[[')) + 1
    record[at] = ord("9") if record[at] != ord("9") else ord("8")
    moved = json.loads(record.tobytes())["label_points"][0]
    assert moved != list(fresh.label_points[0])
    save_arrays(path, arrays)
    borough_shapes._CACHE.clear()
    _assert_same_shapes(_shapes_of(frame), fresh)


def test_with_the_cache_off_nothing_is_written(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv(CACHE_ENV, "")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.chdir(tmp_path)
    borough_shapes._CACHE.clear()
    _shapes_of(_aggregated(load_boroughs()))
    assert list(tmp_path.iterdir()) == []
