"""ERIC returns kept on disk: read back, the same frame and findings as reading the file."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from estates.findings import Findings
from estates.io import eric, returns_kept
from estates.io.array_cache import load_arrays, save_arrays
from estates.io.eric import load_eric_returns

#: A 2019/20 return with a number that is not one, a value quoting a control character
#: and non-ASCII text, in Windows-1252: findings of every kind a return gives.
_AWKWARD = (
    "Trust Code,Site Code,Site Name,Land area owned (Hectares)\n"
    "A,A1,Caf\xe9 site,lots\n"
    'A,A2,Y,"1,5"\n'
    "A,A3,Z,\x07\n"
)


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "cache"
    monkeypatch.setenv("ESTATES_CACHE_DIR", str(folder))
    return folder


@pytest.fixture
def reads(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The names of the files read from their text (not from a kept record)."""
    names: list[str] = []
    read = eric.load_eric_return

    def counted(path, **kwargs):
        names.append(Path(path).name)
        return read(path, **kwargs)

    monkeypatch.setattr(eric, "load_eric_return", counted)
    return names


def _same(a: pd.DataFrame, b: pd.DataFrame) -> None:
    pd.testing.assert_frame_equal(a, b, check_exact=True)
    assert list(a.dtypes) == list(b.dtypes)
    assert a.index.equals(b.index)


def test_the_bundled_returns_read_back_are_the_frame_read_from_the_files(cache, reads):
    first, again = Findings(), Findings()
    read = load_eric_returns(findings=first)
    assert len(reads) == 5
    assert len(list(cache.glob("eric-return-*"))) == 5
    kept = load_eric_returns(findings=again)
    assert len(reads) == 5  # none read from its text again
    _same(read, kept)
    assert again.items == first.items


def test_a_users_return_gives_back_its_findings_the_same(cache, reads, write):
    path = write("eric_2019_20.csv", _AWKWARD, encoding="cp1252")
    first = Findings()
    read = load_eric_returns([path], findings=first, bundled_years=False)
    assert {f.check for f in first} >= {"not_a_number"}
    assert any(f.action == "warning" for f in first)  # not UTF-8
    capped = Findings(max_per_check=1)
    kept = load_eric_returns([path], findings=capped, bundled_years=False)
    assert reads == ["eric_2019_20.csv"]
    _same(read, kept)
    # Handed over as the reader's own calls would have: the cap applies.
    again = Findings(max_per_check=1)
    eric.load_eric_return(path, findings=again)
    assert capped.items == again.items
    assert capped.omitted == again.omitted


def test_a_changed_file_is_read_again(cache, reads, write):
    path = write(
        "eric_2019_20.csv", "Trust Code,Site Code,Site Name,Land area owned (Hectares)\nA,A1,X,1\n"
    )
    load_eric_returns([path], findings=Findings(), bundled_years=False)
    path.write_text(
        "Trust Code,Site Code,Site Name,Land area owned (Hectares)\nA,A1,X,2\n", encoding="utf-8"
    )
    frame = load_eric_returns([path], findings=Findings(), bundled_years=False)
    assert frame["land_ha"].tolist() == [2.0]
    assert reads == ["eric_2019_20.csv", "eric_2019_20.csv"]


@pytest.mark.parametrize(
    "damage",
    [
        lambda data: data[: len(data) // 2],
        lambda data: data.replace(b"A1", b"B1"),
        lambda data: b"\0" * len(data),
    ],
    ids=["cut short", "changed", "zeroed"],
)
def test_a_damaged_record_is_read_again_and_rewritten(cache, reads, write, damage):
    path = write("eric_2019_20.csv", _AWKWARD, encoding="cp1252")
    first = Findings()
    read = load_eric_returns([path], findings=first, bundled_years=False)
    (record,) = cache.glob("eric-return-*")
    record.write_bytes(damage(record.read_bytes()))
    again = Findings()
    kept = load_eric_returns([path], findings=again, bundled_years=False)
    _same(read, kept)
    assert again.items == first.items
    assert len(reads) == 2  # read from the file again
    assert returns_kept.read_kept(record) is not None  # and kept again, whole


def test_a_kept_finding_of_the_wrong_kind_is_not_used(cache, write):
    path = write("eric_2019_20.csv", _AWKWARD, encoding="cp1252")
    load_eric_returns([path], findings=Findings(), bundled_years=False)
    (record,) = cache.glob("eric-return-*")
    kept = load_arrays(record)
    assert kept is not None
    frame = kept["frame"].copy()
    wrong = (
        [["f", "2", None, None, None, "flagged", "c", "r"]],  # a row number as text
        [["f", 2, None, None, None, "kept", "c", "r"]],  # no such action
        [["f", 2, None]],
        {"f": 2},
    )
    for findings in wrong:
        text = np.frombuffer(json.dumps(findings).encode(), dtype=np.uint8)
        digest = np.frombuffer(returns_kept._sha256(frame, text), dtype=np.uint8)
        save_arrays(record, {"frame": frame, "findings": text, "sha256": digest})
        assert returns_kept.read_kept(record) is None, findings


def test_nothing_is_kept_with_the_cache_off_or_for_a_file_it_would_refuse(
    tmp_path, monkeypatch, write
):
    path = write(
        "eric_2019_20.csv", "Trust Code,Site Code,Site Name,Land area owned (Hectares)\nA,A1,X,1\n"
    )
    monkeypatch.setenv("ESTATES_CACHE_DIR", "")
    assert returns_kept.kept_path(path, None, max_bytes=10**6) is None
    monkeypatch.setenv("ESTATES_CACHE_DIR", str(tmp_path / "cache"))
    assert returns_kept.kept_path(path, None, max_bytes=10) is None  # too large to read
    assert returns_kept.kept_path(tmp_path, None, max_bytes=10**6) is None  # a folder
    assert returns_kept.kept_path(tmp_path / "missing.csv", None, max_bytes=10**6) is None
    assert returns_kept.kept_path(path, None, max_bytes=10**6) is not None


def test_the_reading_modules_are_those_that_read_a_return():
    loaded = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys, estates.io.eric; "
            "print('\\n'.join(sorted(m for m in sys.modules if m.startswith('estates.'))))",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    packages = {"estates.io"}
    assert sorted(set(loaded) - packages) == sorted(returns_kept.READING_MODULES)


def test_a_file_changed_while_it_is_read_is_not_kept(cache, write, monkeypatch):
    path = write(
        "eric_2019_20.csv", "Trust Code,Site Code,Site Name,Land area owned (Hectares)\nA,A1,X,1\n"
    )
    read = eric.load_eric_return

    def changed_meanwhile(source, **kwargs):
        frame = read(source, **kwargs)
        path.write_text(
            "Trust Code,Site Code,Site Name,Land area owned (Hectares)\nA,A1,X,2\n",
            encoding="utf-8",
        )
        return frame

    monkeypatch.setattr(eric, "load_eric_return", changed_meanwhile)
    load_eric_returns([path], findings=Findings(), bundled_years=False)
    assert list(cache.glob("eric-return-*")) == []
