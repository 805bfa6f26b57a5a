"""The index page in headless Chromium, network blocked: a desk and a phone, on screen and in print.

The page is drawn from the bundled build's summary (every ERIC year) and
opened at 1440x900 and 390x844. It must not scroll sideways, the land-by-year
chart's smallest text must be at least 12 CSS pixels on the phone, the change
since 2016/17 must be on screen before the first section, and the page must
print. The screenshots are written to ``ESTATES_SCREENSHOT_DIR`` when it is
set, to look at.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from browser import chromium_path, launch, open_map

from estates.render.index_page import render_index

pytestmark = pytest.mark.browser

VIEWPORTS = [(1440, 900), (390, 844)]

#: The smallest rendered font size of the texts of the visible charts matching a selector,
#: in CSS pixels (the pipeline has a drawing for wide screens and one for phones).
MIN_CHART_FONT_JS = """(selector) => {
  const shown = [...document.querySelectorAll(selector)].filter(
    svg => svg.getBoundingClientRect().width > 0);
  if (shown.length !== 1) return -shown.length;
  const svg = shown[0];
  const scale = svg.getScreenCTM().a;
  return Math.min(...[...svg.querySelectorAll('text')].map(
    t => parseFloat(getComputedStyle(t).fontSize) * scale));
}"""
PIPELINE_CHARTS = ".chart-wide svg, .chart-narrow svg"


@pytest.fixture(scope="module")
def index(bundled_result, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("index") / "index.html"
    out.write_text(render_index(bundled_result.summary, [], has_png=False), encoding="utf-8")
    return out


@pytest.fixture(scope="module")
def browser():
    if chromium_path() is None:
        pytest.fail("no Chromium: set ESTATES_CHROMIUM or put chromium on PATH")
    with launch() as b:
        yield b


@pytest.mark.parametrize(("width", "height"), VIEWPORTS)
def test_index_fits_the_screen_with_a_legible_chart(browser, index, tmp_path, width, height):
    page, watch = open_map(browser, index, width=width, height=height)
    try:
        shot = tmp_path / f"index-{width}x{height}.png"
        page.screenshot(path=str(shot), full_page=True)
        if os.environ.get("ESTATES_SCREENSHOT_DIR"):
            shutil.copy(shot, Path(os.environ["ESTATES_SCREENSHOT_DIR"]) / shot.name)
        assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        # No sideways scroll: the page is no wider than the window.
        assert page.evaluate("() => document.documentElement.scrollWidth") <= width
        chart = page.locator("svg.years-chart")
        box = chart.bounding_box()
        assert box is not None
        assert box["x"] >= 0
        assert box["x"] + box["width"] <= width
        assert page.locator("svg.years-chart g.year").count() == 5
        assert page.evaluate(MIN_CHART_FONT_JS, "svg.years-chart") >= 12
        # The pipeline chart: one drawing shown, its text legible on a phone too.
        assert page.evaluate(MIN_CHART_FONT_JS, PIPELINE_CHARTS) >= 12
        pipeline = page.locator(PIPELINE_CHARTS).locator("visible=true")
        assert "at the midpoint" in pipeline.locator("title").text_content()
        # The change since 2016/17 comes before the first section heading.
        change = page.locator("p.headline.change").bounding_box()
        first_h2 = page.locator("h2").first.bounding_box()
        assert change is not None
        assert first_h2 is not None
        assert change["y"] + change["height"] <= first_h2["y"]
        assert "leaving the return can also mean a transfer or a closure" in (
            page.locator("p.headline.change").inner_text()
        )
    finally:
        page.close()
    assert watch.blocked == []
    assert watch.console_errors == []
    assert watch.page_errors == []


def test_index_prints_with_the_chart(browser, index):
    page, watch = open_map(browser, index, width=390, height=844)
    try:
        page.emulate_media(media="print")
        box = page.locator("svg.years-chart").bounding_box()
        assert box is not None
        assert box["width"] > 200
        assert box["height"] > 200
        pdf = page.pdf(format="A4")
        assert pdf[:5] == b"%PDF-"
        assert len(pdf) > 20_000
    finally:
        page.close()
    assert watch.console_errors == []
    assert watch.page_errors == []
