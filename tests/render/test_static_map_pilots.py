"""One PNG per pilot page, beside it, in the style of ``london.png``.

Each picture is zoomed to the pilot's boroughs, greys the others, states the
pilot's headline (drawn as text, checked by its pixels) and has the size of
``london.png``; every pilot outline is drawn in its own colour.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from conftest import MAP_PAGES
from PIL import Image

from estates import style
from estates.builder.pipeline import build
from estates.errors import DataValidationError
from estates.render.static_map import render_static_map

PILOTS = [p.removesuffix(".html") for p in MAP_PAGES[1:]]
# The headline's line, under the title and the explanation (see render_static_map):
# between 10% and 12% of the picture's height from the top.
HEADLINE_ROWS = slice(118, 146)
INK = np.array([0x1F, 0x29, 0x33])


def _pixels(path) -> np.ndarray:
    with Image.open(path) as im:
        return np.asarray(im.convert("RGB")).astype(int)


def _dark(band: np.ndarray) -> int:
    """Count pixels within a small distance of the headline's ink colour."""
    return int((np.abs(band - INK).sum(axis=2) < 60).sum())


def _count(pixels: np.ndarray, colour: str) -> int:
    """Count the pixels of ``colour`` (to within antialiasing's rounding)."""
    rgb = np.array([int(colour[i : i + 2], 16) for i in (1, 3, 5)])
    return int((np.abs(pixels - rgb).sum(axis=2) <= 3).sum())


def _map_area(pixels: np.ndarray) -> np.ndarray:
    """The map's own axes (left 75%, 12%..88% of the height), without legend and text."""
    return pixels[151:1109, :1350]


@pytest.mark.parametrize("pid", PILOTS)
def test_each_pilot_has_a_png_of_the_london_size_with_its_headline(bundled_pages, pid):
    path = bundled_pages / f"{pid}.png"
    assert path.is_file()
    pixels = _pixels(path)
    assert pixels.shape[:2] == _pixels(bundled_pages / "london.png").shape[:2] == (1260, 1800)
    assert path.stat().st_size > 100_000
    assert _dark(pixels[HEADLINE_ROWS]) > 1500  # the headline's text is drawn
    assert _count(_map_area(pixels), style.OUTSIDE_COLOUR) > 20_000  # the others are grey


def test_the_headline_is_what_draws_the_ink(bundled_result, tmp_path):
    boroughs = bundled_result.boroughs
    codes = sorted(bundled_result.summary["pilots"]["ncl_estates"]["borough_codes"])
    common = {"focus_codes": codes, "title": "North Central London estates pilot"}
    sites = bundled_result.map_sites
    bare = render_static_map(sites, boroughs, tmp_path / "bare.png", **common)
    told = render_static_map(
        sites, boroughs, tmp_path / "told.png", lines=("A headline of some length " * 4,), **common
    )
    assert _dark(_pixels(bare)[HEADLINE_ROWS]) == 0
    assert _dark(_pixels(told)[HEADLINE_ROWS]) > 1500


def test_london_png_greys_nothing_and_draws_each_pilot_in_its_colour(bundled_pages, bundled_result):
    pixels = _pixels(bundled_pages / "london.png")
    assert _count(_map_area(pixels), style.OUTSIDE_COLOUR) < 1_000  # a few antialiased edges
    colours = style.pilot_colours(list(bundled_result.summary["pilots"]))
    assert len(set(colours.values())) == len(colours) == 5
    for colour in colours.values():
        assert _count(_map_area(pixels), colour) > 200, colour


def test_the_pilot_png_is_zoomed_to_the_pilot(bundled_pages):
    # Zoomed in, the pilot's boroughs cover much more of the picture than on London's.
    ncl = _map_area(_pixels(bundled_pages / "ncl_estates.png"))
    london = _map_area(_pixels(bundled_pages / "london.png"))
    teal = style.pilot_colours(PILOTS)["ncl_estates"]

    def outline(pixels: np.ndarray) -> int:
        rgb = np.array([int(teal[i : i + 2], 16) for i in (1, 3, 5)])
        rows, cols = np.nonzero(np.abs(pixels - rgb).sum(axis=2) <= 3)
        return int((rows.max() - rows.min()) * (cols.max() - cols.min()))

    assert outline(ncl) > 4 * outline(london)


def test_focus_codes_must_name_a_borough(bundled_result, tmp_path):
    with pytest.raises(DataValidationError, match="focus_codes E09999999 name no borough"):
        render_static_map(
            bundled_result.map_sites,
            bundled_result.boroughs,
            tmp_path / "x.png",
            focus_codes=["E09999999"],
        )


def test_a_build_publishes_and_lists_every_pilot_png(tmp_path):
    out = tmp_path / "maps"
    build(out=out)
    listed = {o["path"] for o in json.loads((out / "manifest.json").read_text())["outputs"]}
    for pid in PILOTS:
        assert f"{pid}.png" in listed
        assert (out / f"{pid}.png").is_file()
    assert "london.png" in listed
