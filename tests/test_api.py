"""The public namespace an analyst reads: ``import estates as es``."""

from __future__ import annotations

import subprocess
import sys
from importlib.metadata import version

import pytest

import estates as es


def test_version_comes_from_the_installed_package() -> None:
    assert es.__version__ == version("estates")


def test_every_exported_name_exists() -> None:
    missing = [name for name in es.__all__ if not hasattr(es, name)]
    assert missing == []


#: Libraries ``import estates`` must leave unloaded: every export is imported on first use.
HEAVY = (
    "pandas",
    "geopandas",
    "shapely",
    "pyarrow",
    "pyogrio",
    "folium",
    "matplotlib",
    "mapclassify",
    "duckdb",
)


def _loaded_after(code: str) -> list[str]:
    """Run ``code`` after ``import estates`` in a fresh interpreter; return HEAVY modules loaded."""
    script = (
        "import sys\n"
        "import estates\n"
        f"{code}\n"
        f"print(','.join(m for m in {HEAVY!r} if m in sys.modules))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    ).stdout
    return [m for m in out.strip().split(",") if m]


def test_import_estates_loads_no_heavy_library() -> None:
    """A fresh interpreter's ``import estates`` loads no data, geometry or drawing library."""
    assert _loaded_after("") == []
    # Reading the version, the list of names or a light export loads none either.
    assert _loaded_after("estates.__version__, dir(estates), estates.EstatesError") == []


def test_an_export_is_imported_on_first_use() -> None:
    assert "geopandas" in _loaded_after("estates.render_maps")
    loaded = _loaded_after("estates.load_sites")
    assert "pandas" in loaded
    assert "matplotlib" not in loaded


def test_lazy_exports_work_as_eager_ones() -> None:
    script = (
        "import estates as es\n"
        "from estates import build, load_sites, Inputs\n"
        "assert build is es.build and load_sites is es.load_sites\n"
        "sites, found = es.load_sites()\n"
        "print(len(sites), sites.crs.to_epsg(), type(es.Inputs()).__name__)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    ).stdout.split()
    assert int(out[0]) > 100  # the bundled sites, located
    assert out[1:] == ["4326", "Inputs"]


def test_dir_lists_every_exported_name_before_it_is_loaded() -> None:
    script = "import estates\nprint(' '.join(dir(estates)))\n"
    listed = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    ).stdout.split()
    assert set(es.__all__) <= set(listed)
    assert set(es.__all__) - {"__version__"} == set(es._LAZY)


def test_every_stage_an_analyst_chains_is_exported() -> None:
    stages = {
        "load": "load_sites",
        "validate": "validate_records",
        "locate": "locate_sites",
        "join": "join_boroughs",
        "tag": "tag_groupings",
        "measure": "measure_sites",
        "value": "value_sites",
        "score": "score_unused_land",
        "aggregate": "aggregate_boroughs",
        "render": "render_maps",
        "write": "write_site_table",
    }
    assert [name for name in stages.values() if name not in es.__all__] == []
    assert callable(es.render_static_map)
    assert "render_maps" in dir(es)


def test_an_unknown_name_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="no attribute 'load_everything'"):
        _ = es.load_everything  # type: ignore[attr-defined]
