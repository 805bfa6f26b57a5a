"""Accessibility of every bundled page: axe-core finds nothing, and the map works by keyboard.

axe-core 4 (from npm, installed by the test set-up) is injected into each page
offline; the context bypasses the page's Content-Security-Policy for that one
foreign script only. The keyboard checks press real keys: the skip link, the
site markers (Enter opens a popup), the popup as a named dialog that takes the
focus, closes on Escape and gives the focus back to what opened it.
"""

from __future__ import annotations

import re

import pytest
from conftest import MAP_PAGES, PAGES, open_page

pytestmark = pytest.mark.browser

DESKTOP = {"viewport": {"width": 1280, "height": 860}}
PHONE = {
    "viewport": {"width": 390, "height": 844},
    "device_scale_factor": 3,
    "is_mobile": True,
    "has_touch": True,
}
AXE_RUN = """async () => (await axe.run(document, { resultTypes: ["violations"] })).violations
    .map(v => ({ id: v.id, impact: v.impact,
                 nodes: v.nodes.map(n => n.target.join(" ")).slice(0, 5) }))"""
ACTIVE = """() => { const a = document.activeElement;
    return { tag: a.tagName.toLowerCase(), cls: a.getAttribute("class") || "",
             id: a.id, i: a.getAttribute("data-est-i") }; }"""
POPUP = ".leaflet-popup"


@pytest.fixture
def context(chromium):
    ctx = chromium.new_context(**DESKTOP)
    yield ctx
    ctx.close()


@pytest.mark.parametrize("size", ["desktop", "phone"])
@pytest.mark.parametrize("name", PAGES)
def test_axe_finds_no_violation(chromium, bundled_pages, axe_source, name, size):
    ctx = chromium.new_context(bypass_csp=True, **(DESKTOP if size == "desktop" else PHONE))
    try:
        page, errors = open_page(ctx, bundled_pages / name)
        page.add_script_tag(content=axe_source)
        assert page.evaluate("() => axe.version").startswith("4.")
        assert page.evaluate(AXE_RUN) == []
        assert errors == []
    finally:
        ctx.close()


@pytest.mark.parametrize("name", MAP_PAGES)
def test_page_has_language_zoomable_viewport_and_one_main(bundled_pages, context, name):
    page, _ = open_page(context, bundled_pages / name)
    assert page.evaluate("() => document.documentElement.lang") == "en"
    viewport = page.get_attribute('meta[name="viewport"]', "content")
    assert "user-scalable" not in viewport
    assert "maximum-scale" not in viewport
    assert page.locator("main").count() == 1
    # The map, its panel and its controls are all inside the main landmark.
    assert page.evaluate("() => document.querySelector('main').contains(estates.panel)")


@pytest.mark.parametrize(
    ("name", "target"), [("ncl_estates.html", "est-sites"), ("london.html", "est-find")]
)
def test_skip_link_is_first_and_moves_the_focus(bundled_pages, context, name, target):
    page, _ = open_page(context, bundled_pages / name)
    page.keyboard.press("Tab")
    first = page.evaluate(ACTIVE)
    assert first["cls"] == "est-skip"
    assert page.locator(".est-skip").bounding_box()["y"] >= 0  # shown when focused
    page.keyboard.press("Enter")
    assert page.evaluate(ACTIVE)["id"] == target


def test_shapes_are_out_of_the_tab_order_and_markers_in_it(bundled_pages, context):
    page, _ = open_page(context, bundled_pages / "ncl_estates.html")
    shapes = page.eval_on_selector_all(
        "path.estates-borough, path.estates-outline",
        "els => els.map(e => [e.getAttribute('tabindex'), e.getAttribute('aria-hidden')])",
    )
    assert len(shapes) == 33 + 5 + page.evaluate(
        "() => estates.layers.subregions.getLayers().length"
    )
    assert set(map(tuple, shapes)) == {("-1", "true")}
    sites = page.locator("path.estates-site")
    assert sites.count() == page.evaluate("() => estates.layers.sites.getLayers().length") > 0
    assert page.eval_on_selector_all(
        "path.estates-site",
        "els => els.every(e => e.getAttribute('tabindex') === '0'"
        " && e.getAttribute('role') === 'button' && e.getAttribute('aria-label').length > 4)",
    )
    # Tab order: skip link, the map (arrow keys pan it), then sites; never a borough.
    stops = []
    for _ in range(4):
        page.keyboard.press("Tab")
        stops.append(page.evaluate(ACTIVE)["cls"])
    assert stops[0] == "est-skip"
    assert "leaflet-container" in stops[1]
    assert all("estates-site" in s for s in stops[2:])


def test_enter_on_a_marker_opens_a_named_dialog_and_escape_returns_focus(bundled_pages, context):
    page, _ = open_page(context, bundled_pages / "ncl_estates.html")
    for _ in range(3):
        page.keyboard.press("Tab")
    marker = page.evaluate(ACTIVE)
    assert "estates-site" in marker["cls"]
    name = page.evaluate(
        "(i) => { const s = document.createElement('span');"
        " s.innerHTML = estates.data.sites.columns[estates.F.name][i]; return s.textContent; }",
        int(marker["i"]),
    )
    page.keyboard.press("Enter")
    popup = page.locator(POPUP)
    popup.wait_for()
    assert popup.get_attribute("role") == "dialog"
    assert popup.get_attribute("aria-label") == name
    assert page.evaluate("() => document.querySelector('.leaflet-popup').contains("
                         "document.activeElement)")  # fmt: skip
    page.keyboard.press("Escape")
    popup.wait_for(state="detached")
    back = page.evaluate(ACTIVE)
    assert back["i"] == marker["i"]


@pytest.mark.parametrize("size", ["desktop", "phone"])
def test_popup_from_the_site_list_gives_focus_back_on_escape(chromium, bundled_pages, size):
    ctx = chromium.new_context(**(DESKTOP if size == "desktop" else PHONE))
    try:
        page, _ = open_page(ctx, bundled_pages / "ncl_estates.html")
        if size == "phone":
            page.get_by_role("button", name="Key and sites").click()
        button = page.locator(".est-list button").nth(2)
        button.focus()
        page.keyboard.press("Enter")
        page.locator(POPUP).wait_for()
        assert page.locator(".leaflet-popup .est-title").inner_text() == (
            button.locator(".est-li-name").inner_text()
        )
        page.keyboard.press("Escape")
        page.locator(POPUP).wait_for(state="detached")
        assert page.evaluate("() => document.activeElement.getAttribute('data-i')") == (
            button.get_attribute("data-i")
        )
        # On a phone the panel folded away for the popup and opens again for the focus.
        assert page.locator(".est-panel").is_visible()
    finally:
        ctx.close()


def test_focus_on_a_marker_is_a_blue_ring_not_a_black_box(bundled_pages, context):
    page, _ = open_page(context, bundled_pages / "london.html")
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")
    style = page.evaluate(
        "() => { const s = getComputedStyle(document.activeElement);"
        " return [s.outlineStyle, s.stroke, s.strokeWidth]; }"
    )
    assert style == ["none", "rgb(11, 92, 171)", "4px"]
    # A clicked borough keeps no focus outline either.
    page.evaluate("() => document.querySelector('path.estates-borough').focus()")
    assert page.evaluate("() => getComputedStyle(document.activeElement).outlineStyle") == "none"


def test_legend_swatches_keep_their_colours_in_forced_colours_mode(bundled_pages, context):
    page, _ = open_page(context, bundled_pages / "london.html")
    page.emulate_media(forced_colors="active")
    swatches = page.eval_on_selector_all(
        ".est-legend .est-sw, .est-legend .est-dot",
        "els => els.map(e => [e.style.background, getComputedStyle(e).backgroundColor,"
        " getComputedStyle(e).forcedColorAdjust])",
    )
    assert len(swatches) >= 10
    for inline, computed, adjust in swatches:
        assert adjust == "none"
        assert re.sub(r"\s", "", inline) == re.sub(r"\s", "", computed)
