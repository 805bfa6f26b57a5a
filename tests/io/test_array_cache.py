"""Arrays kept on disk: mapped back as written, and only from a file of ours for that name."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from estates.io.array_cache import cache_path, load_arrays, save_arrays


def _arrays() -> dict[str, np.ndarray]:
    return {
        "head": np.array([64.0, -0.5, 51.25, 97.0, 41.0]),
        "code": np.arange(-2, 33, dtype=np.int8),
        "start": np.arange(7, dtype=np.int64) * 3,
        "empty": np.zeros(0, dtype=np.int32),
        "names": np.array(["Camden", "City of London"]),
        "square": np.arange(12, dtype=np.int32).reshape(3, 4),
        "fortran": np.asfortranarray(np.arange(12.0).reshape(3, 4)),
    }


@pytest.fixture
def kept(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("ESTATES_CACHE_DIR", str(tmp_path))
    path = cache_path("join-cells", (b"format", b"boroughs"))
    assert path is not None
    save_arrays(path, _arrays())
    return path


def test_arrays_come_back_as_written_read_only_and_aligned(kept: Path) -> None:
    back = load_arrays(kept)
    assert back is not None
    assert list(back) == list(_arrays())
    for name, array in _arrays().items():
        assert back[name].dtype == array.dtype, name
        assert back[name].shape == array.shape, name
        np.testing.assert_array_equal(back[name], array)
        # A view of the mapped file: shared by every join, so never written to.
        assert not back[name].flags.writeable, name
        assert back[name].flags.aligned, name
    with pytest.raises(ValueError, match="read-only"):
        back["code"][0] = 5


def test_a_kept_file_is_npy_records_numpy_reads(kept: Path) -> None:
    with kept.open("rb") as handle:
        names = np.lib.format.read_array(handle)
        assert names[0] == kept.stem.rsplit("-", 1)[1]  # the digest its name was made from
        for name in names[1:]:
            np.testing.assert_array_equal(np.lib.format.read_array(handle), _arrays()[name])
        assert handle.read(1) == b""


def test_a_missing_file_or_no_cache_gives_none(tmp_path: Path) -> None:
    assert load_arrays(None) is None
    assert load_arrays(tmp_path / "join-cells-0123.npy") is None


@pytest.mark.parametrize(
    "damage",
    [
        lambda data: b"not a table file",
        lambda data: b"",
        lambda data: data[:-100],  # cut short, as by a full disk
        lambda data: data[:200],  # cut inside a header
        lambda data: data + b"\0",  # longer than its records
    ],
    ids=["garbage", "empty", "cut-short", "cut-in-a-header", "trailing-bytes"],
)
def test_a_damaged_file_is_not_trusted(kept: Path, damage) -> None:
    kept.write_bytes(damage(kept.read_bytes()))
    assert load_arrays(kept) is None


def test_a_foreign_file_under_another_name_is_not_trusted(kept: Path) -> None:
    other = cache_path("join-cells", (b"format", b"other boroughs"))
    assert other is not None
    assert other != kept
    other.write_bytes(kept.read_bytes())  # a well-formed file, written for another table
    assert load_arrays(other) is None
    # One from before the digest was kept in the file: read by numpy, not by us.
    with other.open("wb") as handle:
        np.save(handle, np.array(list(_arrays())))
        for array in _arrays().values():
            np.save(handle, array)
    assert load_arrays(other) is None


def test_arrays_of_python_objects_are_refused(kept: Path) -> None:
    objects = {"x": np.array([None, 1], dtype=object)}
    with pytest.raises(ValueError, match="Python objects"):
        save_arrays(kept.with_name("join-cells-feed.npy"), objects)
    assert [p.name for p in kept.parent.iterdir()] == [kept.name]  # no temporary left
