"""Printing a page: controls hidden, the map refitted to the page's area, everything a board needs.

Under print media (``page.emulate_media``) a map page hides its controls,
refits the map to its area of interest (the pilot's boroughs) at the printed
size, and lays its title, figures, date, legend and full site list around it.
The NCL page is printed to an A4 landscape PDF and read back with poppler
(``pdftotext``, ``pdftoppm``); the index is printed and no page may end with a
heading.
"""

from __future__ import annotations

import shutil
import subprocess

import pytest
from conftest import BUILD_DATE, MAP_PAGES, open_page
from PIL import Image

pytestmark = pytest.mark.browser

HIDDEN = [
    ".leaflet-control-zoom",
    ".leaflet-control-layers",
    ".est-search",
    ".est-toolbar",
    ".est-panel",
    ".est-skip",
    "input",
]
VIEW = """() => { const b = estates.map.getBounds();
    return [b.getSouth(), b.getWest(), b.getNorth(), b.getEast(), estates.map.getZoom()]; }"""


@pytest.fixture
def context(chromium):
    ctx = chromium.new_context(viewport={"width": 1280, "height": 860})
    yield ctx
    ctx.close()


def _poppler(tool: str) -> str:
    path = shutil.which(tool)
    if path is None:
        pytest.fail(f"{tool} is missing: install poppler-utils (scripts/setup-and-test does)")
    return path


@pytest.mark.parametrize("name", MAP_PAGES)
def test_print_hides_controls_and_fits_the_pages_area(bundled_pages, context, name):
    page, errors = open_page(context, bundled_pages / name)
    screen_view = page.evaluate(VIEW)
    page.emulate_media(media="print")
    page.wait_for_function("() => document.documentElement.classList.contains('est-printing')")
    for selector in HIDDEN:
        shown = page.eval_on_selector_all(
            selector, "els => els.filter(e => e.getClientRects().length > 0).length"
        )
        assert shown == 0, selector
    # The area of interest (the pilot's boroughs; London on london.html) lies in the map.
    (south, west), (north, east) = page.evaluate("() => estates.data.config.bounds")
    view = page.evaluate(VIEW)
    assert view[0] <= south
    assert view[1] <= west
    assert view[2] >= north
    assert view[3] >= east
    # ... and fills it: not the whole of London on a pilot's page.
    assert (north - south) / (view[2] - view[0]) > 0.6 or (east - west) / (view[3] - view[1]) > 0.6
    box = page.locator(".est-map").bounding_box()
    assert 700 < box["width"] < 780  # 196 mm
    assert 470 < box["height"] < 530  # 132 mm
    head = page.locator(".est-print-head").inner_text()
    assert page.locator(".est-panel h1").inner_text() in head
    assert f"Built {BUILD_DATE}." in head
    assert "reported by ERIC" in head  # the reconciliation line
    key = page.locator(".est-print-key")
    assert key.is_visible()
    assert "Unused NHS land by borough" in key.inner_text()
    assert page.locator(".est-print-key .est-sw").first.is_visible()
    # No context layer is drawn, so their key is left off the printed legend.
    assert page.locator(".est-print-key .est-legend-context").count() == 0
    assert page.locator(".est-panel .est-legend-context").count() == 1
    listed = page.locator(".est-panel .est-list li").count()
    assert page.locator(".est-print-list li").count() == listed
    if name != "london.html":
        assert listed == page.evaluate("() => estates.layers.sites.getLayers().length")
        assert page.locator(".est-print-list li").last.is_visible()
    # Back on screen: the copies go and the view returns.
    page.emulate_media(media="screen")
    page.wait_for_function("() => !document.documentElement.classList.contains('est-printing')")
    assert page.locator(".est-print").count() == 0
    assert page.evaluate(VIEW) == pytest.approx(screen_view)
    assert errors == []


def test_ncl_prints_on_a4_with_every_site_and_the_map(bundled_pages, context, tmp_path):
    page, errors = open_page(context, bundled_pages / "ncl_estates.html")
    codes = page.eval_on_selector_all(
        ".est-list .est-li-meta", "els => els.map(e => e.textContent.split(' · ')[0])"
    )
    title = page.locator("h1").inner_text()
    page.emulate_media(media="print")
    page.wait_for_function("() => document.documentElement.classList.contains('est-printing')")
    pdf = tmp_path / "ncl.pdf"
    page.pdf(path=str(pdf), format="A4", landscape=True, print_background=True)
    text = subprocess.run(
        [_poppler("pdftotext"), "-layout", str(pdf), "-"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert title in text
    assert f"Built {BUILD_DATE}." in " ".join(text.split())
    assert "Unused NHS land by borough" in text
    assert "Find a site" not in text  # the search box is not printed
    missing = [c for c in codes if c not in text]
    assert len(codes) > 10
    assert missing == []
    subprocess.run(
        [_poppler("pdftoppm"), "-png", "-r", "60", str(pdf), str(tmp_path / "ncl")], check=True
    )
    pngs = sorted(tmp_path.glob("ncl-*.png"))
    # The map page, the site list, then "About this map" (its sources table may take two).
    assert 3 <= len(pngs) <= 4
    assert "About this map" in text
    assert text.index("About this map") > max(text.index(c) for c in codes)
    first = Image.open(pngs[0]).convert("RGB")
    assert first.width > first.height  # landscape
    # The map's left two thirds carry the shaded boroughs and outlines, not blank paper.
    w, h = first.size
    region = first.crop((int(w * 0.05), int(h * 0.3), int(w * 0.6), int(h * 0.8)))
    colours = region.getcolors(maxcolors=1 << 16) or []
    non_white = sum(n for n, c in colours if c != (255, 255, 255))
    assert non_white > 0.5 * region.width * region.height
    assert errors == []


def test_index_prints_without_a_stranded_heading(bundled_pages, context, tmp_path):
    page, errors = open_page(context, bundled_pages / "index.html")
    page.emulate_media(media="print")
    assert page.eval_on_selector_all(
        "h1, h2", "els => els.every(e => getComputedStyle(e).breakAfter === 'avoid')"
    )
    assert page.eval_on_selector_all(
        ".panel, .card", "els => els.every(e => getComputedStyle(e).breakInside === 'avoid')"
    )
    headings = {" ".join(h.split()) for h in page.locator("h2").all_inner_texts()}
    pdf = tmp_path / "index.pdf"
    page.pdf(path=str(pdf), format="A4", landscape=True, print_background=True)
    text = subprocess.run(
        [_poppler("pdftotext"), "-layout", str(pdf), "-"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    pages = [p for p in text.split("\f") if p.strip()]
    assert len(pages) > 1
    for i, body in enumerate(pages[:-1]):
        last = " ".join(body.strip().splitlines()[-1].split())
        assert last not in headings, f"page {i + 1} ends with the heading {last!r}"
    assert errors == []
