"""The build manifest and the up-to-date check."""

from __future__ import annotations

import hashlib
import json
import logging
import platform
import shutil
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import pytest

import estates.builder.manifest as manifest_module
from estates.builder.manifest import (
    LIBRARIES,
    MANIFEST_NAME,
    build_manifest,
    describe_inputs,
    hash_file,
    inputs_fingerprint,
    is_up_to_date,
    package_version,
    read_manifest,
    write_manifest,
)
from estates.errors import ConfigError, DataValidationError
from estates.io import bundled

T0 = datetime(2026, 11, 24, 10, 0, 0, tzinfo=UTC)
T1 = T0 + timedelta(seconds=12.5)


@pytest.fixture
def inputs(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    data = tmp_path / "data"
    data.mkdir()
    sites = data / "sites.csv"
    sites.write_text("site_code,land_unused_ha\nRJ122,1.5\n")
    boroughs = data / "boroughs.geojson"
    boroughs.write_text('{"type": "FeatureCollection", "features": []}\n')
    return [sites, boroughs]


def make(inputs, options=None, **kwargs):
    return build_manifest(
        inputs, options or {"weights": [0.5, 0.5]}, {"sites": 2}, T0, T1, **kwargs
    )


def test_records_inputs_options_versions_counts_and_times(inputs):
    m = make(inputs, {"out": Path("maps"), "weights": (0.25, 0.75), "tiles": None})
    assert m["tool"] == "estates"
    assert m["manifest_version"] == 2
    assert m["estates_version"] == package_version()
    assert m["inputs"] == [
        {
            "key": "sites.csv",
            "path": "data/sites.csv",
            "size_bytes": inputs[0].stat().st_size,
            "sha256": hashlib.sha256(inputs[0].read_bytes()).hexdigest(),
        },
        {
            "key": "boroughs.geojson",
            "path": "data/boroughs.geojson",
            "size_bytes": inputs[1].stat().st_size,
            "sha256": hashlib.sha256(inputs[1].read_bytes()).hexdigest(),
        },
    ]
    assert m["options"] == {"out": "maps", "weights": [0.25, 0.75], "tiles": None}
    assert m["row_counts"] == {"sites": 2}
    assert m["build"] == {
        "started": "2026-11-24T10:00:00.000Z",
        "finished": "2026-11-24T10:00:12.500Z",
        "seconds": 12.5,
    }
    assert set(m["libraries"]) == {*LIBRARIES, "python"}
    assert m["libraries"]["python"] == platform.python_version()
    assert m["libraries"]["numpy"] == np.__version__
    assert m["fingerprint"] == inputs_fingerprint(m)
    json.dumps(m, allow_nan=False)


def test_paths_outside_the_working_folder_stay_as_given(inputs, tmp_path, monkeypatch):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    m = make([inputs[0], Path("../data/boroughs.geojson")])
    assert [item["path"] for item in m["inputs"]] == [
        inputs[0].as_posix(),
        "../data/boroughs.geojson",
    ]


def test_large_files_are_hashed_in_blocks(tmp_path):
    big = tmp_path / "big.bin"
    payload = bytes(range(256)) * (3 * 4096 + 1)  # a little over 3 MiB
    big.write_bytes(payload)
    assert hash_file(big) == hashlib.sha256(payload).hexdigest()


def test_times_are_written_in_utc(inputs):
    paris = timezone(timedelta(hours=1))
    m = build_manifest(inputs, {}, {}, T0.astimezone(paris), T1.astimezone(paris))
    assert m["build"]["started"] == "2026-11-24T10:00:00.000Z"


def test_outputs_are_listed_without_the_manifest(inputs, tmp_path):
    out = tmp_path / "staging"
    (out / "pilots").mkdir(parents=True)
    (out / "index.html").write_text("<html></html>")
    (out / "pilots" / "NCL.html").write_text("<html>NCL</html>")
    (out / MANIFEST_NAME).write_text("{}")
    m = make(inputs, output_dir=out)
    assert [(o["path"], o["size_bytes"]) for o in m["outputs"]] == [
        ("index.html", 13),
        ("pilots/NCL.html", 16),
    ]


@pytest.mark.parametrize("threaded_bytes", [0, 1 << 40])  # on threads, and on this one
def test_many_files_are_hashed_in_order_on_threads_or_not(
    inputs, tmp_path, monkeypatch, threaded_bytes
):
    monkeypatch.setattr(manifest_module, "_THREADED_BYTES", threaded_bytes)
    monkeypatch.setattr(manifest_module, "usable_cores", lambda: 4)
    out = tmp_path / "staging"
    out.mkdir()
    rng = np.random.default_rng(3)
    payloads = {f"f{i:02d}.bin": rng.bytes(int(rng.integers(0, 300_000))) for i in range(12)}
    for name, payload in payloads.items():
        (out / name).write_bytes(payload)
    m = make(inputs, output_dir=out)
    assert [(o["path"], o["size_bytes"], o["sha256"]) for o in m["outputs"]] == [
        (name, len(payload), hashlib.sha256(payload).hexdigest())
        for name, payload in sorted(payloads.items())
    ]
    described = describe_inputs(sorted(out.glob("*.bin"), reverse=True))
    assert [(d["key"], d["sha256"]) for d in described] == [
        (name, hashlib.sha256(payload).hexdigest())
        for name, payload in sorted(payloads.items(), reverse=True)
    ]


def test_missing_input_is_a_data_error(inputs, tmp_path):
    with pytest.raises(DataValidationError, match=r"nope\.csv: no such file$"):
        make([*inputs, tmp_path / "nope.csv"])
    with pytest.raises(DataValidationError, match="is a folder, not a file"):
        make([tmp_path / "data"])


@pytest.mark.parametrize(
    ("options", "match"),
    [
        ({"weights": {1, 2}}, r"option options\.weights = .* \(set\) cannot be written"),
        ({"threshold": float("nan")}, r"option options\.threshold is nan"),
        ({"nested": {"deep": [1, float("inf")]}}, r"options\.nested\.deep\[1\] is inf"),
        ({"map": {3: "x"}}, "keys must be strings"),
    ],
)
def test_options_must_be_json(inputs, options, match):
    with pytest.raises(ConfigError, match=match):
        make(inputs, options)


def test_numpy_numbers_are_accepted(inputs):
    m = build_manifest(inputs, {"k": np.float64(0.5)}, {"sites": np.int64(3)}, T0, T1)
    assert m["options"] == {"k": 0.5}
    assert m["row_counts"] == {"sites": 3}
    assert type(m["row_counts"]["sites"]) is int


@pytest.mark.parametrize("bad", [-1, 1.5, True, "3"])
def test_row_counts_must_be_counts(inputs, bad):
    with pytest.raises(ValueError, match="row count of 'sites' must be an integer >= 0"):
        build_manifest(inputs, {}, {"sites": bad}, T0, T1)


def test_naive_times_are_refused(inputs):
    with pytest.raises(ValueError, match="started must be a timezone-aware datetime"):
        build_manifest(inputs, {}, {}, datetime(2026, 1, 1), T1)


# --- fingerprint -------------------------------------------------------------


def test_fingerprint_ignores_times_and_counts_but_not_inputs_options_or_version(
    inputs, monkeypatch
):
    base = make(inputs)
    later = build_manifest(inputs, {"weights": [0.5, 0.5]}, {"sites": 9}, T1, T1 + (T1 - T0))
    assert inputs_fingerprint(later) == inputs_fingerprint(base)
    assert inputs_fingerprint(make(inputs, {"weights": [0.4, 0.6]})) != inputs_fingerprint(base)
    assert inputs_fingerprint(make(inputs[::-1])) != inputs_fingerprint(base)
    inputs[0].write_text("site_code,land_unused_ha\nRJ122,1.6\n")  # same size, new content
    assert inputs_fingerprint(make(inputs)) != inputs_fingerprint(base)
    monkeypatch.setattr(manifest_module, "package_version", lambda: "99.0")
    assert make(inputs)["estates_version"] == "99.0"


def test_fingerprint_of_a_foreign_manifest_is_a_data_error():
    with pytest.raises(DataValidationError, match="manifest lacks 'inputs'"):
        inputs_fingerprint({"manifest_version": 1, "estates_version": "1", "options": {}})


# --- write / read ------------------------------------------------------------


def test_write_is_sorted_indented_with_a_trailing_newline(inputs, tmp_path):
    m = make(inputs)
    path = write_manifest(m, tmp_path / MANIFEST_NAME)
    text = path.read_text(encoding="utf-8")
    assert text == json.dumps(m, sort_keys=True, indent=2) + "\n"
    assert read_manifest(path) == m
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


@pytest.mark.parametrize(
    ("text", "match"),
    [("{not json", "not a valid JSON manifest"), ("[1, 2]", "must be a JSON object")],
)
def test_read_rejects_bad_files(tmp_path, text, match):
    path = tmp_path / MANIFEST_NAME
    path.write_text(text)
    with pytest.raises(DataValidationError, match=match):
        read_manifest(path)
    with pytest.raises(DataValidationError, match="manifest not found"):
        read_manifest(tmp_path / "missing.json")


# --- up to date --------------------------------------------------------------


@pytest.fixture
def published(inputs, tmp_path):
    """An output folder with one output and the manifest of its build."""
    out = tmp_path / "maps"
    out.mkdir()
    (out / "index.html").write_text("<html></html>")
    write_manifest(make(inputs, output_dir=out), out / MANIFEST_NAME)
    return out / MANIFEST_NAME


def test_unchanged_inputs_and_options_are_up_to_date(inputs, published):
    assert is_up_to_date(published, inputs, {"weights": [0.5, 0.5]})
    assert is_up_to_date(published, [str(p) for p in inputs], {"weights": (0.5, 0.5)})


def test_changes_make_it_out_of_date(inputs, published, caplog, monkeypatch):
    caplog.set_level(logging.INFO, logger="estates")
    assert not is_up_to_date(published, inputs, {"weights": [0.4, 0.6]})
    assert "options or estates version changed" in caplog.text
    assert not is_up_to_date(published, inputs[:1], {"weights": [0.5, 0.5]})
    assert "input files changed" in caplog.text
    monkeypatch.setattr(manifest_module, "package_version", lambda: "99.0")
    assert not is_up_to_date(published, inputs, {"weights": [0.5, 0.5]})
    monkeypatch.undo()
    inputs[0].write_text("site_code,land_unused_ha\nRJ122,1.6\n")
    assert not is_up_to_date(published, inputs, {"weights": [0.5, 0.5]})


def test_a_deleted_output_makes_it_out_of_date(inputs, published, caplog):
    caplog.set_level(logging.INFO, logger="estates")
    (published.parent / "index.html").unlink()
    assert not is_up_to_date(published, inputs, {"weights": [0.5, 0.5]})
    assert "output index.html of the last build is missing" in caplog.text


def test_missing_or_corrupt_previous_manifest_means_build(inputs, published):
    assert not is_up_to_date(published.parent / "nothing.json", inputs, {})
    published.write_text("{truncated")
    assert not is_up_to_date(published, inputs, {"weights": [0.5, 0.5]})
    published.write_text('{"tool": "estates"}')
    assert not is_up_to_date(published, inputs, {"weights": [0.5, 0.5]})


def test_a_missing_input_is_still_an_error(inputs, published, tmp_path):
    with pytest.raises(DataValidationError, match=r"gone\.csv: no such file"):
        is_up_to_date(published, [tmp_path / "gone.csv"], {})


# --- keys: bundled files by their place in the data folder, user files by name ------


def test_bundled_files_are_keyed_by_their_place_in_the_data_folder(tmp_path, monkeypatch):
    groupings = bundled.groupings_path()
    [item] = describe_inputs([groupings])
    assert item["key"] == "bundled:boundaries/london_groupings.csv"
    assert item["path"] == item["key"]  # the manifest names no install folder
    assert item["sha256"] == hash_file(groupings)

    # The same data installed elsewhere (a wheel's estates/_bundled_data): same keys,
    # same fingerprint.
    installed = tmp_path / "site-packages" / "estates" / "_bundled_data"
    shutil.copytree(bundled.data_dir(), installed)
    before = make([bundled.groupings_path(), bundled.boundaries_path()])
    monkeypatch.setattr(bundled, "data_dir", lambda: installed)
    monkeypatch.setattr(manifest_module, "data_dir", lambda: installed)
    assert bundled.groupings_path().is_relative_to(installed)
    after = make([bundled.groupings_path(), bundled.boundaries_path()])
    assert [i["key"] for i in after["inputs"]] == [i["key"] for i in before["inputs"]]
    assert after["fingerprint"] == before["fingerprint"]
    assert str(tmp_path) not in json.dumps(after["inputs"])


def test_user_files_are_keyed_by_name_and_content_not_folder(inputs, tmp_path, monkeypatch):
    base = make(inputs)
    # The same files in another folder, named from another working folder.
    moved = tmp_path / "cron" / "in"
    moved.mkdir(parents=True)
    copies = [Path(shutil.copy(p, moved / p.name)) for p in inputs]
    monkeypatch.chdir(tmp_path / "cron")
    assert make([Path("in") / p.name for p in copies])["fingerprint"] == base["fingerprint"]
    assert make(copies)["fingerprint"] == base["fingerprint"]
    # A new name is a new build: the outputs record each record's source file name.
    renamed = copies[0].rename(moved / "sites_v2.csv")
    assert make([renamed, copies[1]])["fingerprint"] != base["fingerprint"]


def test_a_manifest_of_the_previous_layout_means_build(inputs, published, caplog):
    caplog.set_level(logging.INFO, logger="estates")
    old = read_manifest(published)
    old["manifest_version"] = 1
    for item in old["inputs"]:
        del item["key"]
    write_manifest(old, published)
    assert not is_up_to_date(published, inputs, {"weights": [0.5, 0.5]})
    assert "made by another version of estates" in caplog.text
