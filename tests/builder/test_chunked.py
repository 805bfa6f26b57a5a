"""A build in parts (files larger than memory) writes what the one-part build writes.

The site file is built from the bundled sites' real places and land areas,
four times over with jittered copies, shuffled, with a duplicate code across
chunks, a blank code, an unparsable area and a site outside London; it is
built once in memory and once in chunks of 97 rows (so chunks split every
group; each ranked chunk reaches the writers in slices of 40, and the
GeoPackage layer is written by a second process, as on any machine of two
cores or more), and every output is compared.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pytest
from click.testing import CliRunner

from estates.builder import engine, runner
from estates.builder.pipeline import Inputs
from estates.builder.runner import BuildOptions, build_output_set
from estates.cli import main
from estates.findings import Findings
from estates.io import tables
from estates.io.layer_process import LayerProcess
from estates.io.site_records import iter_site_records, read_site_records

CHUNK = 97
#: Rows per slice handed to the sink in the chunked build (a part's 97 rows as 40 + 40 + 17).
SINK_SLICE = 40


def _site_file(sites: gpd.GeoDataFrame, path: Path, *, seed: int) -> Path:
    located = sites[sites["longitude"].notna()]
    columns = [
        "site_code", "site_name", "site_type", "trust_code", "trust_name",
        "latitude", "longitude", "land_owned_ha", "land_unused_ha",
    ]  # fmt: skip
    base = pd.DataFrame(located[columns])
    rng = np.random.default_rng(seed)
    parts = [base]
    for k in range(3):
        copy = base.copy()
        copy["site_code"] = copy["site_code"] + f"-{k}"
        copy["latitude"] += rng.normal(0, 0.01, len(copy))
        copy["longitude"] += rng.normal(0, 0.01, len(copy))
        copy["land_unused_ha"] = (
            copy["land_unused_ha"].fillna(0) * rng.uniform(0, 2, len(copy))
        ).round(2)
        parts.append(copy)
    frame = pd.concat(parts, ignore_index=True).sample(frac=1, random_state=seed)
    odd = pd.DataFrame(
        [
            {"site_code": "", "site_name": "no code"},
            {"site_code": "FAR", "site_name": "Far away", "latitude": 53.0, "longitude": -1.5,
             "land_owned_ha": 3.0, "land_unused_ha": 1.0},
        ]
    )  # fmt: skip
    frame = pd.concat([frame, frame.iloc[[5]], odd], ignore_index=True)
    frame["land_unused_ha"] = frame["land_unused_ha"].astype(object)
    frame.loc[10, "land_unused_ha"] = "lots"
    frame.to_csv(path, index=False)
    return path


@pytest.fixture(scope="module")
def builds(bundled_result, tmp_path_factory):
    """The same site file built in memory and in chunks, then rebuilt from a changed file."""
    root = tmp_path_factory.mktemp("chunked")
    first = _site_file(bundled_result.sites, root / "sites.csv", seed=7)
    out = {}
    started: list[Path] = []

    class CountedLayerProcess(LayerProcess):
        def __init__(self, stream: Path, gpkg: Path, layer: str, crs: str) -> None:
            started.append(gpkg)
            super().__init__(stream, gpkg, layer, crs)

    for name, chunk_rows in (("memory", None), ("chunks", CHUNK)):
        options = BuildOptions(
            out=root / name, inputs=Inputs(sites=(first,)), chunk_rows=chunk_rows
        )
        with pytest.MonkeyPatch.context() as patch:
            # Each spilled part reaches the sink in slices, as a large build's do.
            patch.setattr(engine, "SINK_ROWS", SINK_SLICE)
            patch.setattr(runner, "second_process_helps", lambda: True)
            patch.setattr(tables, "LayerProcess", CountedLayerProcess)
            out[name] = build_output_set(options)
        # Only the build in parts hands its layer to a second process.
        assert len(started) == (chunk_rows is not None)
    # A second build over the first, from a changed file: changes.csv has rows.
    changed = pd.read_csv(first, dtype=str)
    changed = changed.drop(index=[0, 1])
    changed.loc[changed.index[:40], "land_unused_ha"] = "0.5"
    second = root / "changed" / "sites.csv"
    second.parent.mkdir()
    changed.to_csv(second, index=False)
    for name, chunk_rows in (("memory", None), ("chunks", CHUNK)):
        options = BuildOptions(
            out=root / f"{name}-2", inputs=Inputs(sites=(first,)), chunk_rows=chunk_rows
        )
        build_output_set(options)
        options = BuildOptions(
            out=root / f"{name}-2", inputs=Inputs(sites=(second,)), chunk_rows=chunk_rows
        )
        build_output_set(options)
    return root


def _close(a, b, where="summary"):
    """Equal JSON values; floats equal to 1e-9 relative (sums added chunk by chunk)."""
    if isinstance(a, float) and isinstance(b, float):
        assert math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9), (where, a, b)
    elif isinstance(a, dict):
        assert isinstance(b, dict), (where, b)
        assert list(a) == list(b), (where, list(a), list(b))
        for key in a:
            _close(a[key], b[key], f"{where}.{key}")
    elif isinstance(a, list):
        assert isinstance(b, list), (where, b)
        assert len(a) == len(b), (where, len(a), len(b))
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            _close(x, y, f"{where}[{i}]")
    else:
        assert a == b, (where, a, b)


def test_the_build_really_was_chunked_and_counts_agree(builds):
    summary = json.loads((builds / "chunks" / "summary.json").read_text())
    counts = summary["counts"]
    assert counts["records_in"] > 4 * CHUNK
    assert counts["rejected_by_check"]["duplicate_site_code"] == 1
    assert counts["rejected_by_check"]["blank_site_code"] == 1
    assert counts["flagged_by_check"]["outside_london"] >= 1
    assert (
        counts["identity"]
        == json.loads((builds / "memory" / "summary.json").read_text())["counts"]["identity"]
    )


def test_site_tables_are_the_in_memory_ones(builds):
    memory, chunks = builds / "memory", builds / "chunks"
    a, b = gpd.read_parquet(memory / "sites.parquet"), gpd.read_parquet(chunks / "sites.parquet")
    pd.testing.assert_frame_equal(a, b, check_exact=False, rtol=1e-12)
    assert a["disposal_rank"].notna().sum() > 30  # ranked across every part
    # Row groups do not follow the parts: the file is the same, byte for byte.
    assert (memory / "sites.parquet").read_bytes() == (chunks / "sites.parquet").read_bytes()
    assert (memory / "sites.csv").read_bytes() == (chunks / "sites.csv").read_bytes()
    layers = pyogrio.list_layers(memory / "sites.gpkg").tolist()
    assert layers == pyogrio.list_layers(chunks / "sites.gpkg").tolist()
    for layer, _ in layers:
        a = gpd.read_file(memory / "sites.gpkg", layer=layer)
        b = gpd.read_file(chunks / "sites.gpkg", layer=layer)
        if layer == "layer_styles":
            # A boundary of the boroughs style is a borough sum: the last digit may differ.
            texts = ["styleQML", "styleSLD", "update_time"]
            a, b = a.drop(columns=texts), b.drop(columns=texts)
        pd.testing.assert_frame_equal(a, b, check_exact=False, rtol=1e-12)


def test_summary_is_the_in_memory_one(builds):
    a = json.loads((builds / "memory" / "summary.json").read_text())
    b = json.loads((builds / "chunks" / "summary.json").read_text())
    _close(a, b)


def test_rejected_csv_holds_the_same_findings(builds):
    a = pd.read_csv(builds / "memory" / "rejected.csv", dtype=str, keep_default_na=False)
    b = pd.read_csv(builds / "chunks" / "rejected.csv", dtype=str, keep_default_na=False)
    assert list(a.columns) == list(b.columns)
    # In row order within each file, whatever the part size: the same rows in the same order.
    pd.testing.assert_frame_equal(a, b)
    rows = pd.to_numeric(b["row"], errors="coerce")
    assert rows.dropna().is_monotonic_increasing
    duplicate = b[b["check"] == "duplicate_site_code"]
    assert duplicate["reason"].str.contains("first seen at row").all()


def test_maps_are_the_in_memory_ones(builds):
    pages = sorted(p.name for p in (builds / "memory").glob("*.html"))
    assert "london.html" in pages
    assert pages == sorted(p.name for p in (builds / "chunks").glob("*.html"))
    for page in pages:
        assert (builds / "memory" / page).read_text() == (builds / "chunks" / page).read_text()


def test_changes_are_the_in_memory_ones(builds):
    a = pd.read_csv(builds / "memory-2" / "changes.csv", dtype=str, keep_default_na=False)
    b = pd.read_csv(builds / "chunks-2" / "changes.csv", dtype=str, keep_default_na=False)
    assert {"removed", "unused_land_changed", "rank_changed"} <= set(a["change"])
    pd.testing.assert_frame_equal(a, b)
    ja = json.loads((builds / "memory-2" / "changes.json").read_text())
    jb = json.loads((builds / "chunks-2" / "changes.json").read_text())
    ja.pop("previous"), jb.pop("previous")
    assert ja == jb


def test_geoparquet_sites_read_in_chunks_equal_the_whole_read(bundled_result, tmp_path):
    located = bundled_result.sites[bundled_result.sites["longitude"].notna()]
    layer = located[["site_code", "site_name", "land_owned_ha", "land_unused_ha", "geometry"]]
    path = tmp_path / "sites.parquet"
    layer.to_crs("EPSG:27700").to_parquet(path)
    whole = read_site_records(path, findings=Findings())
    pieces = list(iter_site_records(path, findings=Findings(), chunk_rows=13))
    assert max(len(p) for p in pieces) == 13
    pd.testing.assert_frame_equal(pd.concat(pieces, ignore_index=True), whole)


def test_cli_build_takes_chunk_rows(bundled_result, tmp_path):
    sites = _site_file(bundled_result.sites.iloc[:60], tmp_path / "sites.csv", seed=1)
    result = CliRunner().invoke(
        main,
        ["build", "--sites", str(sites), "--out", str(tmp_path / "out"), "--chunk-rows", "50"],
    )
    assert result.exit_code == 0, result.output
    assert "published" in result.output
    table = gpd.read_parquet(tmp_path / "out" / "sites.parquet")
    assert (
        len(table)
        == json.loads((tmp_path / "out" / "summary.json").read_text())["counts"]["records_kept"]
    )
    bad = CliRunner().invoke(main, ["build", "--sites", str(sites), "--chunk-rows", "0"])
    assert bad.exit_code == 2
    assert "--chunk-rows" in bad.output


def test_chunk_rows_without_site_files_is_refused_plainly(tmp_path):
    result = CliRunner().invoke(
        main, ["build", "--out", str(tmp_path / "out"), "--chunk-rows", "50"]
    )
    assert result.exit_code == 2, result.output
    assert "--chunk-rows reads --sites files chunk by chunk" in result.output
    assert "Traceback" not in result.output
    assert not (tmp_path / "out").exists()


def test_a_build_that_fails_after_its_parts_stops_the_layer_process(
    bundled_result, tmp_path, monkeypatch
):
    # The site tables are closed, the layer's process is still writing, and the
    # build fails before it waits for it: the process is stopped, nothing published.
    sites = _site_file(bundled_result.sites, tmp_path / "sites.csv", seed=3)
    started: list[LayerProcess] = []

    stopped: list[int | None] = []

    class KeptLayerProcess(LayerProcess):
        def __init__(self, *args: str | Path) -> None:
            super().__init__(*args)  # type: ignore[arg-type]
            started.append(self)

        def stop(self) -> None:
            stopped.append(self._process.returncode)  # None: not waited for
            super().stop()

    def failing(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(runner, "second_process_helps", lambda: True)
    monkeypatch.setattr(tables, "LayerProcess", KeptLayerProcess)
    monkeypatch.setattr(runner, "_write_changes", failing)  # before the layer is waited for
    out = tmp_path / "out"
    options = BuildOptions(out=out, inputs=Inputs(sites=(sites,)), chunk_rows=CHUNK, maps=False)
    with pytest.raises(Exception, match="No space left on device"):
        build_output_set(options)
    (layer,) = started
    assert stopped == [None]
    assert layer._process.poll() is not None
    assert not out.exists()
