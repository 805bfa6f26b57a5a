"""Geographic context on the bundled pages: borough names, a pilot's own classes, site jumps.

Borough names are drawn as labels that a keyboard never reaches and a screen
reader never reads (the borough's popup carries the name); on a pilot's page
the other boroughs are grey and the classes are Fisher-Jenks over the pilot's
boroughs alone; each pilot outline has its own colour and legend entry; a jump
to a site shows the site and the borough it lies in.
"""

from __future__ import annotations

import numpy as np
import pytest
from conftest import MAP_PAGES, open_page

from estates import style

pytestmark = pytest.mark.browser

DESKTOP = {"viewport": {"width": 1440, "height": 900}}
NCL = "ncl_estates"


@pytest.fixture
def context(chromium):
    ctx = chromium.new_context(**DESKTOP)
    yield ctx
    ctx.close()


def _ncl_codes(bundled_result) -> list[str]:
    return sorted(bundled_result.summary["pilots"][NCL]["borough_codes"])


@pytest.mark.parametrize("name", MAP_PAGES)
def test_every_borough_is_named_by_a_label_out_of_the_tab_order(
    context, bundled_pages, bundled_result, name
):
    page, errors = open_page(context, bundled_pages / name)
    labels = page.evaluate(
        """() => [...document.querySelectorAll('.est-label')].map(el => ({
            text: el.textContent, tab: el.tabIndex,
            hidden: el.closest('[aria-hidden=true]') !== null,
            focusable: el.matches('a, button, input, [tabindex]:not([tabindex="-1"])')}))"""
    )
    names = sorted(bundled_result.boroughs["borough_name"])
    assert len(names) == 33
    assert sorted(x["text"] for x in labels) == names
    assert all(x["hidden"] and not x["focusable"] and x["tab"] < 0 for x in labels)
    # Pressing Tab through the whole page never lands on a label.
    for _ in range(40):
        page.keyboard.press("Tab")
        assert not page.evaluate("() => !!document.activeElement.closest('.est-label')")
    assert errors == []


def test_labels_do_not_overlap_and_follow_the_zoom(context, bundled_pages):
    page, _ = open_page(context, bundled_pages / "london.html")
    shown = """() => [...document.querySelectorAll('.est-label:not(.est-label-hidden) span')]
        .map(s => { const r = s.getBoundingClientRect();
                    const size = parseFloat(getComputedStyle(s).fontSize);
                    return [r.left, r.top, r.right, r.bottom, size]; })"""
    far = page.evaluate(shown)
    assert len(far) >= 25  # most names readable across all of London
    for i, a in enumerate(far):
        for b in far[i + 1 :]:
            assert not (a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]), (a, b)
    page.evaluate("() => estates.map.setZoom(13, { animate: false })")
    near = page.evaluate(shown)
    assert near
    assert min(x[4] for x in near) > max(x[4] for x in far)


def test_a_pilot_page_greys_the_other_boroughs(context, bundled_pages, bundled_result):
    page, _ = open_page(context, bundled_pages / f"{NCL}.html")
    ncl = set(_ncl_codes(bundled_result))
    assert len(ncl) == 5
    shapes = page.evaluate(
        """() => estates.layers.boroughs_unused.getLayers().map(l => ({
            code: l.feature.properties.code, fill: l.options.fillColor,
            grey: l.getElement().classList.contains('estates-outside')}))"""
    )
    assert len(shapes) == 33
    for s in shapes:
        assert s["grey"] is (s["code"] not in ncl), s
        assert (s["fill"] == style.OUTSIDE_COLOUR) is (s["code"] not in ncl), s
    london, _ = open_page(context, bundled_pages / "london.html")
    assert london.evaluate("() => document.querySelectorAll('.estates-outside').length") == 0


def test_a_pilot_page_classes_its_own_boroughs(context, bundled_pages, bundled_result):
    boroughs = bundled_result.boroughs
    ncl = boroughs[boroughs["borough_code"].isin(_ncl_codes(bundled_result))]
    values = ncl["land_unused_ha"].to_numpy(dtype=float)
    distinct = np.unique(values)
    assert len(distinct) == 5  # so Fisher-Jenks, not one class per value, is what is checked
    expected = style.fisher_jenks_bins(values, 5)
    wanted = style.classify(values, style.UNUSED_PALETTE).labels(style.format_ha)
    assert [float(b) for b in expected] == list(style.classify(values, style.UNUSED_PALETTE).bins)
    page, _ = open_page(context, bundled_pages / f"{NCL}.html")
    legend = page.locator(".est-legend-choro[data-key=unused]")
    rows = legend.locator(".est-row").all_inner_texts()
    assert [r.strip() for r in rows] == wanted
    assert "Fisher-Jenks natural breaks over the 5 boroughs of North Central London" in (
        legend.inner_text()
    )
    # London's page keeps London's classes, over its 33 boroughs.
    london, _ = open_page(context, bundled_pages / "london.html")
    note = london.locator(".est-legend-choro[data-key=unused] .est-note").inner_text()
    assert note == "Classes: Fisher-Jenks natural breaks over London's 33 boroughs."
    all_london = style.classify(boroughs["land_unused_ha"], style.UNUSED_PALETTE)
    assert all_london.labels(style.format_ha) != wanted


COLOURS = """() => estates.layers.pilots.getLayers().map(l =>
    [l.feature.properties.id, l.options.color])"""


def test_each_pilot_outline_has_its_own_colour_and_legend_entry(
    context, bundled_pages, bundled_result
):
    pilots = bundled_result.summary["pilots"]
    page, _ = open_page(context, bundled_pages / f"{NCL}.html")
    drawn = page.evaluate(COLOURS)
    colours = dict(drawn)
    assert sorted(colours) == sorted(pilots)
    assert len(set(colours.values())) == len(pilots)
    legend = page.locator(".est-legend").inner_text()
    for block in pilots.values():
        assert block["name"] in legend
    assert f"{pilots[NCL]['name']} (this page)" in legend
    # The same pilot has the same colour on another page.
    other, _ = open_page(context, bundled_pages / "bhr_aco.html")
    assert dict(other.evaluate(COLOURS)) == colours


VIEW = """(code) => {
    const i = estates.search(code)[0], k = estates.boroughOf(i);
    const v = estates.map.getBounds();
    const b = L.geoJSON(estates.data.boroughs.features[k]).getBounds();
    const inter = L.latLngBounds(
        [Math.max(v.getSouth(), b.getSouth()), Math.max(v.getWest(), b.getWest())],
        [Math.min(v.getNorth(), b.getNorth()), Math.min(v.getEast(), b.getEast())]);
    const area = x => Math.max(0, x.getNorth() - x.getSouth())
        * Math.max(0, x.getEast() - x.getWest());
    return { site: v.contains(estates.markers[i].getLatLng()),
             share: area(inter) / area(b), zoom: estates.map.getZoom(),
             borough: estates.data.geo.names[k] };
}"""


@pytest.mark.parametrize(("name", "code"), [("london.html", "RAL01"), (f"{NCL}.html", "RRP02")])
def test_a_search_jump_shows_the_site_and_its_borough(
    context, bundled_pages, bundled_result, name, code
):
    sites = bundled_result.map_sites
    borough = sites.loc[sites["site_code"] == code, "borough_name"].iloc[0]
    page, errors = open_page(context, bundled_pages / name)
    page.fill(".est-search input", code.lower())
    page.keyboard.press("Enter")
    page.locator(".leaflet-popup-content .est-popup").wait_for()
    state = page.evaluate(VIEW, code)
    assert state["borough"] == borough
    assert state["site"]
    assert state["share"] > 0.8, state  # the borough, not an empty field, fills the view
    assert state["zoom"] < 15
    assert errors == []


def test_a_list_click_shows_the_site_and_its_borough(context, bundled_pages):
    page, _ = open_page(context, bundled_pages / f"{NCL}.html")
    button = page.locator(".est-list button[data-i]").first
    button.click()
    page.locator(".leaflet-popup-content .est-popup").wait_for()
    code = page.locator(".leaflet-popup-content .est-popup").get_attribute("data-site-code")
    state = page.evaluate(VIEW, code)
    assert state["site"]
    assert state["share"] > 0.8, state
