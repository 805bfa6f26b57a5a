"""What ``estates build`` imports: an unchanged rebuild stops before any data library loads.

The up-to-date check (lock, manifest, hashes of the inputs) needs only the
standard library, so a scheduled rebuild with nothing to do must not pay for
pandas, geopandas or the drawing libraries. Each run is a fresh interpreter
that writes the names in ``sys.modules`` at exit to a file, whatever the exit
code.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from estates.builder import diff
from estates.cli import DIFF_TOLERANCE_GBP, DIFF_TOLERANCE_HA

#: Run ``estates`` with argv[2:], then write sorted(sys.modules) as JSON to argv[1] at exit.
WRAPPER = """\
import atexit, json, sys

def _write_modules(path=sys.argv[1]):
    with open(path, "w", encoding="utf-8") as f:
        json.dump(sorted(sys.modules), f)

atexit.register(_write_modules)
from estates.cli import main
main(sys.argv[2:], prog_name="estates")
"""
#: Libraries an unchanged rebuild must not import.
HEAVY = (
    "pandas",
    "geopandas",
    "shapely",
    "pyarrow",
    "folium",
    "matplotlib",
    "mapclassify",
    "duckdb",
)


def _estates(tmp_path: Path, *args: str) -> tuple[int, set[str]]:
    """Run ``estates ARGS`` in a fresh interpreter; return its exit code and modules loaded."""
    modules = tmp_path / "modules.json"
    done = subprocess.run(
        [sys.executable, "-c", WRAPPER, str(modules), *args],
        capture_output=True,
        text=True,
        check=False,
    )
    assert "Traceback" not in done.stderr, done.stderr[-2000:]
    return done.returncode, set(json.loads(modules.read_text(encoding="utf-8")))


def test_an_unchanged_rebuild_imports_no_data_or_drawing_library(tmp_path: Path) -> None:
    out = tmp_path / "maps"
    code, first = _estates(tmp_path, "--quiet", "build", "--out", str(out))
    assert code == 0
    # The first build does load them: the check below is not vacuous.
    assert {"pandas", "geopandas"} <= first
    # The pictures are drawn by a second process, on a machine with two cores.
    assert ("matplotlib" in first) == (len(os.sched_getaffinity(0)) < 2)
    # The pages are written without a template engine: no folium, branca or jinja2.
    assert not {"folium", "branca", "jinja2"} & first
    # Not at a terminal (a scheduled job): no progress display, so rich is never imported.
    assert not any(m.split(".")[0] == "rich" for m in first)
    code, again = _estates(tmp_path, "--log-format", "json", "build", "--out", str(out))
    assert code == 0
    assert sorted(m for m in again if m.split(".")[0] in HEAVY) == []
    assert "estates.builder.manifest" in again  # it did check the manifest


def test_a_build_in_parts_draws_its_pictures_itself(tmp_path: Path) -> None:
    # A build in parts keeps to its memory: no second process holding matplotlib.
    sites = tmp_path / "sites.csv"
    sites.write_text(
        "site_code,site_name,latitude,longitude,land_owned_ha,land_unused_ha\n"
        + "".join(f"S{i},Site {i},51.5{i},-0.1{i},2,1\n" for i in range(5)),
        encoding="utf-8",
    )
    out = tmp_path / "maps"
    args = ("--quiet", "build", "--sites", str(sites), "--chunk-rows", "2", "--out", str(out))
    code, loaded = _estates(tmp_path, *args)
    assert code == 0
    assert "matplotlib" in loaded
    assert len(list(out.glob("*.png"))) == 6


def test_diff_defaults_on_the_command_line_are_the_diff_modules() -> None:
    assert (DIFF_TOLERANCE_HA, DIFF_TOLERANCE_GBP) == (
        diff.DEFAULT_TOLERANCE_HA,
        diff.DEFAULT_TOLERANCE_GBP,
    )
