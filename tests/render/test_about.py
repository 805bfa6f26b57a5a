"""The "About this map" section: every map page explains itself without ``index.html``.

A map page is often sent alone. Each carries, after its tables, a section
with the data year, the build date, the reconciliation, the values' caveat,
how to read the shading, markers and score, and the sources and licence
lines the bundled data require (the same table ``index.html`` shows). Opened
alone in an empty folder, it still loads without error and says where
``index.html`` would be.
"""

from __future__ import annotations

import shutil
from html import escape

import pytest
from conftest import BUILD_DATE, MAP_PAGES, open_page

from estates.render.about_section import about_section
from estates.render.sources import sources_html

pytestmark = pytest.mark.browser

DESKTOP = {"viewport": {"width": 1280, "height": 860}}
PHONE = {
    "viewport": {"width": 390, "height": 844},
    "device_scale_factor": 2,
    "is_mobile": True,
    "has_touch": True,
}
AXE_RUN = """async () => (await axe.run(document, { resultTypes: ["violations"] })).violations
    .map(v => ({ id: v.id, nodes: v.nodes.map(n => n.target.join(" ")).slice(0, 5) }))"""
ABOUT_TEXT = "() => document.getElementById('est-about').innerText"


@pytest.fixture
def context(chromium):
    ctx = chromium.new_context(**DESKTOP)
    yield ctx
    ctx.close()


@pytest.mark.parametrize("name", MAP_PAGES)
def test_about_section_states_year_date_sources_and_how_to_read(bundled_pages, context, name):
    page, errors = open_page(context, bundled_pages / name)
    about = page.locator("#est-about")
    assert about.count() == 1
    assert page.evaluate("() => document.getElementById('est-about').tagName") == "SECTION"
    heading = page.locator("#est-about-h")
    assert heading.inner_text() == "About this map"
    assert about.get_attribute("aria-labelledby") == "est-about-h"
    # The section follows the tables, at the end of the page.
    assert page.evaluate(
        "() => !!(document.getElementById('est-table').compareDocumentPosition("
        "document.getElementById('est-about')) & Node.DOCUMENT_POSITION_FOLLOWING)"
    )
    text = page.evaluate(ABOUT_TEXT)
    assert "ERIC 2019/20" in text  # the data year of the bundled build
    assert f"Built {BUILD_DATE}." in text
    assert "reported by ERIC =" in text  # the reconciliation line
    assert "not market values" in text  # the valuation caveat
    # The source and licence lines the bundled data require on every copy.
    assert "Contains OS data © Crown copyright and database right 2020" in text
    assert "Source: Office for National Statistics" in text
    assert "NHS Digital" in text
    assert "NHS Choices" in text
    assert "Open Government Licence v3.0" in text
    # How to read the map.
    assert "Each borough is shaded by the land not delivering services" in text
    assert "Fisher-Jenks" in text
    assert "Its colour is the site's disposal score" in text
    assert "its area (not its radius) grows with the site's unused land" in text
    assert "The disposal score (0 to 1" in text
    assert "Land not delivering services is ERIC's own measure" in text
    assert errors == []


def test_pilot_page_says_its_classes_and_ranks_are_the_pilots(bundled_pages, context):
    page, _ = open_page(context, bundled_pages / "ncl_estates.html")
    text = page.evaluate(ABOUT_TEXT)
    assert "boroughs of North Central London" in text or "borough" in text
    assert "other boroughs in grey" in text
    assert "ranks each site within this pilot" in text
    london, _ = open_page(context, bundled_pages / "london.html")
    assert "Ranks are London-wide" in london.evaluate(ABOUT_TEXT)
    assert "other boroughs in grey" not in london.evaluate(ABOUT_TEXT)


@pytest.mark.parametrize("name", MAP_PAGES)
def test_panel_and_credit_link_to_the_about_section(bundled_pages, context, name):
    page, _ = open_page(context, bundled_pages / name)
    link = page.get_by_role("link", name="About this map: sources, licences, how to read it")
    assert link.count() == 1
    # The map's credit line points at this page's own sources, not at index.html.
    credit = page.locator(".leaflet-control-attribution a", has_text="sources and licences")
    assert credit.get_attribute("href") == "#est-about"
    link.click()
    assert page.evaluate("() => location.hash") == "#est-about"
    box = page.locator("#est-about-h").bounding_box()
    assert box is not None
    assert 0 <= box["y"] < 860


@pytest.mark.parametrize("name", ["london.html", "ncl_estates.html"])
def test_page_alone_in_an_empty_folder_loads_and_says_where_index_would_be(
    bundled_pages, context, tmp_path, name
):
    alone = tmp_path / "sent"
    alone.mkdir()
    shutil.copy(bundled_pages / name, alone / name)
    assert [p.name for p in alone.iterdir()] == [name]
    page, errors = open_page(context, alone / name)
    text = page.evaluate(ABOUT_TEXT)
    assert "index.html, in the same folder as this page" in text
    assert "open index.html" in text
    assert "if it came with this page" in text
    assert "Open Government Licence v3.0" in text
    page.wait_for_timeout(200)
    assert errors == []


@pytest.mark.parametrize("size", ["desktop", "phone"])
@pytest.mark.parametrize("name", ["london.html", "ncl_estates.html"])
def test_about_section_passes_axe(chromium, bundled_pages, axe_source, name, size):
    ctx = chromium.new_context(bypass_csp=True, **(DESKTOP if size == "desktop" else PHONE))
    try:
        page, errors = open_page(ctx, bundled_pages / name)
        page.locator("#est-about").scroll_into_view_if_needed()
        page.add_script_tag(content=axe_source)
        assert page.evaluate(AXE_RUN) == []
        assert errors == []
    finally:
        ctx.close()


def test_about_section_fits_a_phone_without_sideways_scroll(chromium, bundled_pages):
    ctx = chromium.new_context(**PHONE)
    try:
        page, errors = open_page(ctx, bundled_pages / "london.html")
        page.locator("#est-about").scroll_into_view_if_needed()
        box = page.locator("#est-about").bounding_box()
        assert box is not None
        assert box["x"] >= 0
        assert box["x"] + box["width"] <= 390
        assert page.evaluate(
            "() => document.documentElement.scrollWidth <= document.documentElement.clientWidth"
        )
        # No child of the section sticks out of it.
        assert page.evaluate(
            """() => { const s = document.getElementById('est-about').getBoundingClientRect();
              return [...document.querySelectorAll('#est-about *')].every(e => {
                const r = e.getBoundingClientRect();
                return r.left >= s.left - 0.5 && r.right <= s.right + 0.5; }); }"""
        )
        assert errors == []
    finally:
        ctx.close()


@pytest.mark.parametrize("name", ["london.html", "ncl_estates.html"])
def test_print_shows_the_about_section_last(bundled_pages, context, name):
    page, _ = open_page(context, bundled_pages / name)
    page.emulate_media(media="print")
    # The page lays itself out for print when the media query's change event
    # comes (it copies the panel's heading and key above the map): measure after.
    page.wait_for_function("() => document.documentElement.classList.contains('est-printing')")
    about = page.locator("#est-about")
    assert about.is_visible()
    # The panel's link, and its copy in the printed heading, are not printed.
    links = page.locator(".est-to-about")
    assert links.count() >= 1
    assert all(links.nth(i).is_hidden() for i in range(links.count()))
    assert (
        page.evaluate("() => getComputedStyle(document.getElementById('est-about')).breakBefore")
        == "page"
    )
    # Nothing shown under print lies below the About section's top.
    top = about.bounding_box()["y"]
    assert page.evaluate(
        """(top) => [...document.body.children].filter(e => e.id !== 'est-about'
            && getComputedStyle(e).display !== 'none'
            && e.getBoundingClientRect().height > 0)
          .every(e => e.getBoundingClientRect().top < top)""",
        top,
    )
    assert "Open Government Licence v3.0" in about.inner_text()


def test_every_text_in_the_section_is_escaped():
    summary = {
        "sources": [
            {"name": "<b>x</b>", "attribution": "a & <script>b</script>", "licence": '"OGL"'}
        ]
    }
    html = about_section(
        ("Data: <i>year</i>",), sources_html(summary), "<img src=x>", pilot_page=False
    )
    assert "<script>" not in html
    assert "<img" not in html
    assert "<i>" not in html
    assert escape("a & <script>b</script>") in html
    assert escape("<img src=x>") in html
    assert escape("Data: <i>year</i>") in html


def test_about_section_states_the_values_line_once(bundled_pages):
    html = (bundled_pages / "london.html").read_text(encoding="utf-8")
    start = html.index('id="est-about"')
    about = html[start : html.index("</section>", start)]
    assert about.count("Source: MHCLG Land value estimates for policy appraisal 2017") == 1
