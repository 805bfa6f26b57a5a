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


def test_import_estates_loads_no_heavy_library() -> None:
    """A fresh interpreter's ``import estates`` loads none of the libraries only pages need."""
    heavy = ("folium", "matplotlib", "mapclassify", "duckdb")
    code = (
        "import sys, estates\n"
        f"print(','.join(m for m in {heavy!r} if m in sys.modules))\n"
        "estates.render_maps\n"
        f"print(','.join(m for m in {heavy!r} if m in sys.modules))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.splitlines()
    assert out[0] == ""  # nothing heavy after the import
    assert "folium" in out[1].split(",")  # the render function is loaded on first use


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
