"""Every bundled page on a phone (390x844) and at 200% zoom of a 1280x800 window (640x400).

No control covers another (compared by bounding box), none is cut off at the
screen's edge, and the page never scrolls sideways. The side panel and the
layer list fold behind two buttons whose ``aria-expanded`` says which is open;
a popup opens clear of the controls and inside the screen. The index page's
tables fit or scroll inside their own box.
"""

from __future__ import annotations

from itertools import combinations

import pytest
from conftest import MAP_PAGES, open_page

pytestmark = pytest.mark.browser

SCREENS = {
    "phone": {
        "viewport": {"width": 390, "height": 844},
        "device_scale_factor": 3,
        "is_mobile": True,
        "has_touch": True,
    },
    # A 1280x800 window at 200% zoom lays out as 640x400 CSS pixels.
    "zoom200": {"viewport": {"width": 640, "height": 400}, "device_scale_factor": 2},
}
CONTROLS = {
    "panel": ".est-panel",
    "legend": ".est-legend",
    "layers": ".leaflet-control-layers",
    "zoom": ".leaflet-control-zoom",
    "buttons": ".est-toolbar",
    "credits": ".leaflet-control-attribution",
    "scale": ".leaflet-control-scale",
    "popup": ".leaflet-popup",
}
BOXES = """(controls) => {
    const out = {};
    for (const [key, sel] of Object.entries(controls)) {
        const el = document.querySelector(sel);
        if (!el || !el.getClientRects().length) continue;
        const r = el.getBoundingClientRect();
        out[key] = [r.left, r.top, r.right, r.bottom];
    }
    return { boxes: out, scrollWidth: document.scrollingElement.scrollWidth,
             width: innerWidth, height: innerHeight };
}"""


def _overlap(a: list[float], b: list[float]) -> bool:
    return a[0] < b[2] - 0.5 and b[0] < a[2] - 0.5 and a[1] < b[3] - 0.5 and b[1] < a[3] - 0.5


def _check_layout(page) -> dict[str, list[float]]:
    """Assert no two controls overlap, none is clipped, no sideways scroll; return the boxes."""
    state = page.evaluate(BOXES, CONTROLS)
    boxes = state["boxes"]
    if "legend" in boxes:
        # The legend scrolls inside the panel: what shows of it is inside the panel's box.
        legend, panel = boxes["legend"], boxes["panel"]
        boxes["legend"] = [
            max(legend[0], panel[0]),
            max(legend[1], panel[1]),
            min(legend[2], panel[2]),
            min(legend[3], panel[3]),
        ]
    assert state["scrollWidth"] <= state["width"]
    for key, (left, top, right, bottom) in boxes.items():
        assert left >= 0, key
        assert top >= 0, key
        assert right <= state["width"], key
        assert bottom <= state["height"], key
    for (ka, a), (kb, b) in combinations(boxes.items(), 2):
        if {ka, kb} == {"panel", "legend"}:
            continue  # the legend is part of the panel
        assert not _overlap(a, b), (ka, a, kb, b)
    return boxes


@pytest.fixture(params=list(SCREENS))
def screen(request, chromium):
    ctx = chromium.new_context(**SCREENS[request.param])
    yield ctx
    ctx.close()


def _buttons(page) -> dict[str, str]:
    return dict(
        page.eval_on_selector_all(
            ".est-toolbar button",
            "els => els.map(b => [b.textContent, b.getAttribute('aria-expanded')])",
        )
    )


@pytest.mark.parametrize("name", MAP_PAGES)
def test_controls_fold_away_and_never_overlap(bundled_pages, screen, name):
    page, errors = open_page(screen, bundled_pages / name)
    boxes = _check_layout(page)
    # Folded: the map is free but for the buttons, the title, the zoom and the credits.
    assert set(boxes) == {"buttons", "panel", "zoom", "credits", "scale"}
    assert page.locator(".est-panel").inner_text().strip() == page.locator("h1").inner_text()
    assert _buttons(page) == {"Key and sites": "false", "Layers": "false"}

    page.get_by_role("button", name="Key and sites").click()
    assert _buttons(page) == {"Key and sites": "true", "Layers": "false"}
    boxes = _check_layout(page)
    assert {"panel", "legend"} <= set(boxes)
    assert "layers" not in boxes
    # The panel's head, search box and legend can all be scrolled into view.
    assert page.locator(".est-panel").evaluate("e => getComputedStyle(e).overflowY") == "auto"
    page.locator(".est-search input").scroll_into_view_if_needed()
    assert page.locator(".est-search input").is_visible()

    page.get_by_role("button", name="Layers").click()
    assert _buttons(page) == {"Key and sites": "false", "Layers": "true"}
    boxes = _check_layout(page)
    assert "layers" in boxes
    assert "panel" not in boxes

    page.get_by_role("button", name="Layers").click()
    assert _buttons(page) == {"Key and sites": "false", "Layers": "false"}
    assert errors == []


@pytest.mark.parametrize("name", ["london.html", "ncl_estates.html"])
def test_a_popup_opens_clear_of_the_controls_and_inside_the_screen(bundled_pages, screen, name):
    page, errors = open_page(screen, bundled_pages / name)
    page.get_by_role("button", name="Key and sites").click()
    page.fill(".est-search input", "hospital")
    page.locator(".est-results button").first.click()
    page.locator(".leaflet-popup").wait_for()
    page.wait_for_timeout(300)  # the map pans the popup into view
    boxes = _check_layout(page)
    assert "popup" in boxes
    assert "legend" not in boxes  # the panel folded away for the popup
    assert page.locator(".leaflet-popup .est-title").is_visible()
    assert errors == []


def test_pinch_zoom_is_allowed(bundled_pages, screen):
    for name in ["index.html", *MAP_PAGES]:
        page, _ = open_page(screen, bundled_pages / name)
        content = page.get_attribute('meta[name="viewport"]', "content")
        assert content == "width=device-width, initial-scale=1"
        page.close()


def test_index_tables_fit_or_scroll_in_their_own_box(bundled_pages, screen):
    page, errors = open_page(screen, bundled_pages / "index.html")
    state = page.evaluate(
        """() => ({ scrollWidth: document.scrollingElement.scrollWidth, width: innerWidth,
                   tables: [...document.querySelectorAll('table')].map(t => {
                       const r = t.getBoundingClientRect(), s = getComputedStyle(t);
                       return [r.left, r.right, s.overflowX, t.scrollWidth, t.clientWidth,
                               t.querySelectorAll('a[href]').length]; }) })"""
    )
    assert state["scrollWidth"] <= state["width"]
    assert len(state["tables"]) >= 3
    for left, right, overflow, scroll_width, client_width, links in state["tables"]:
        assert left >= 0
        assert right <= state["width"]
        assert overflow == "auto"
        # Cells wrap to fit; a table that still does not scrolls inside itself, and only
        # one with links in it, which a keyboard can reach to scroll it.
        assert scroll_width <= client_width or links > 0
    assert errors == []
