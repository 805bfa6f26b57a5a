"""Open every generated page in headless Chromium, with the network blocked.

Every request that is not ``file:`` or ``data:`` is aborted and recorded; a
test fails on any blocked request, console error, page error or dialog (the
XSS fixture site would raise one). The London map is opened twice: drawn as
SVG (the fixture has fewer sites than the threshold) and on one canvas
(``site_layer_threshold=0``), the path used for large site tables.

Chromium comes from ``ESTATES_CHROMIUM`` or ``chromium`` on PATH; these tests
run in every test run, as the house style asks.
"""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

import pytest
from browser import (
    XSS_CODE,
    XSS_NAME,
    Watch,
    chromium_path,
    launch,
    located_codes,
    make_fixture,
    open_map,
)

from estates.render.maps import render_maps

pytestmark = pytest.mark.browser

MAPS = [
    "london.html",
    "ncl_estates.html",
    "hackney_integration.html",
    "lewisham_integration.html",
    "haringey_prevention.html",
    "bhr_aco.html",
]
MODES = ["svg", "canvas"]


@pytest.fixture(scope="module")
def frames():
    return make_fixture()


@pytest.fixture(scope="module")
def out(frames, tmp_path_factory) -> dict[str, Path]:
    svg = tmp_path_factory.mktemp("svg")
    canvas = tmp_path_factory.mktemp("canvas")
    render_maps(*frames, svg)
    render_maps(*frames, canvas, site_layer_threshold=0)
    return {"svg": svg, "canvas": canvas}


@pytest.fixture(scope="module")
def browser():
    if chromium_path() is None:
        pytest.fail("no Chromium: set ESTATES_CHROMIUM or put chromium on PATH")
    with launch() as b:
        yield b


@pytest.fixture
def opened(browser):
    """Open a page; after the test, fail on anything the page did wrong."""
    pages: list[tuple[object, Watch]] = []

    def _open(path: Path, pixel_ratio: float = 1):
        page, watch = open_map(browser, path, pixel_ratio=pixel_ratio)
        pages.append((page, watch))
        return page, watch

    yield _open
    for page, watch in pages:
        page.close()
        assert watch.console_errors == []
        assert watch.page_errors == []
        assert watch.dialogs == []
        assert watch.blocked == []


def _expected(frames, name: str) -> list[str]:
    pilot = None if name == "london.html" else name.removesuffix(".html")
    return located_codes(frames[0], pilot)


def _drawn_codes(page) -> list[str]:
    return sorted(
        page.evaluate(
            """() => estates.drawnSites().map(i => {
                   const span = document.createElement("span");
                   span.innerHTML = estates.data.sites.columns[estates.F.code][i];
                   return span.textContent;
               })"""
        )
    )


def _site_point(page, code: str) -> list[float]:
    """Centre the map on a site's marker at zoom 16; return the marker's place on the page."""
    point: list[float] = page.evaluate(
        """(code) => {
            const codes = estates.data.sites.columns[estates.F.code];
            const span = document.createElement("span");
            const i = codes.findIndex(
                c => { span.innerHTML = c; return span.textContent === code; });
            const at = estates.siteLatLng(i);
            estates.map.setView(at, 16, { animate: false });
            const p = estates.map.latLngToContainerPoint(at);
            const box = estates.map.getContainer().getBoundingClientRect();
            return [p.x + box.left, p.y + box.top];
        }""",
        code,
    )
    return point


def _click_site(page, code: str) -> None:
    """Centre the map on a site's marker and click it with the mouse."""
    x, y = _site_point(page, code)
    page.mouse.click(x, y)


@pytest.mark.parametrize(
    ("name", "mode"), [*((name, "svg") for name in MAPS), ("london.html", "canvas")]
)
def test_map_opens_offline_with_every_borough_and_site(frames, out, opened, name, mode):
    page, _ = opened(out[mode] / name)
    assert page.evaluate("() => typeof window.L === 'object' && L.version") == "1.9.3"
    assert page.evaluate("() => typeof window.jQuery") == "undefined"
    boroughs = page.evaluate(
        "() => [estates.map.hasLayer(estates.layers.boroughs_unused),"
        " estates.layers.boroughs_unused.getLayers().length,"
        " estates.layers.boroughs_value.getLayers().length]"
    )
    assert boroughs == [True, 33, 33]
    expected = _expected(frames, name)
    assert _drawn_codes(page) == expected
    assert page.evaluate("() => estates.map.hasLayer(estates.layers.sites)")
    if mode == "svg":
        assert page.locator("path.estates-borough").count() == 33
        assert page.locator("path.estates-site").count() == len(expected)
    else:
        assert page.locator("path.estates-site").count() == 0
        assert page.locator(".leaflet-overlay-pane canvas").count() == 1
    assert page.locator(".leaflet-control-layers-base input").count() == 2
    assert page.locator(".leaflet-control-scale").count() == 1
    assert "Unused NHS land by borough" in page.locator(".est-legend").inner_text()
    # The pilot outline layer draws every pilot, its own emphasised.
    assert page.evaluate("() => estates.layers.pilots.getLayers().length") == 5


def test_index_opens_offline(out, opened):
    page, _ = opened(out["svg"] / "index.html")
    # Two drawings of the pipeline, for wide screens and for phones; one is shown.
    assert page.locator("svg.estates-chart polyline.pipeline").count() == 2
    assert page.locator("svg.estates-chart polyline.pipeline").locator("visible=true").count() == 1
    assert page.locator("svg.estates-chart line.target").count() == 2
    hrefs = page.eval_on_selector_all("a[href]", "els => els.map(e => e.getAttribute('href'))")
    for name in [*MAPS, "london.png", *(m.replace(".html", ".png") for m in MAPS[1:])]:
        assert name in hrefs


@pytest.mark.parametrize("mode", MODES)
def test_clicking_a_marker_opens_its_popup(frames, out, opened, mode):
    sites = frames[0]
    page, _ = opened(out[mode] / "london.html")
    site = sites[sites["site_code"] == "RAL01"].iloc[0]
    _click_site(page, "RAL01")
    popup = page.locator(".leaflet-popup-content .est-popup")
    popup.wait_for()
    assert popup.get_attribute("data-site-code") == "RAL01"
    text = popup.inner_text()
    assert site["site_name"] in text
    assert f"Rank {int(site['disposal_rank'])} of" in text
    assert "Score parts" in text
    assert "Data-quality flags" in text
    assert "test flat rate" in text  # the valuation method's label from the summary


def test_canvas_sites_show_names_and_follow_the_filters(frames, out, opened):
    """On a canvas the sites are one layer: hovering still names a site, filters hide sites."""
    sites = frames[0]
    page, _ = opened(out["canvas"] / "london.html")
    site = sites[sites["site_code"] == "RAL01"].iloc[0]
    x, y = _site_point(page, "RAL01")
    page.mouse.move(x, y)
    tip = page.locator(".leaflet-tooltip.est-tip", has_text="RAL01")
    tip.wait_for()
    assert site["site_name"] in tip.inner_text()
    _click_site(page, "RAL01")
    page.locator(".leaflet-popup-content [data-site-code='RAL01']").wait_for()
    total = len(_drawn_codes(page))
    # Only the sites not in a PFI: RAL01's popup closes as its marker goes.
    page.select_option('[data-filter="pfi"]', "0" if site["pfi"] else "1")
    drawn = page.evaluate("() => estates.drawnSites()")
    shown = page.evaluate("() => estates.table.state.shown")
    assert 0 < len(drawn) < total
    assert sorted(drawn) == sorted(shown)
    assert page.evaluate("() => estates.map.hasLayer(estates.popup)") is False
    page.select_option('[data-filter="pfi"]', "")
    assert len(_drawn_codes(page)) == total


# ``piled`` more sites, copies of the page's, scattered around the first
# site, many deep.
_PILE_SITES = """(piled) => {
    const E = estates, cols = E.data.sites.columns, n = cols[E.F.code].length;
    const more = cols.map(column => column.concat(
        Array.from({ length: piled }, (_, k) => column[k % n])));
    let seed = 1;
    const random = () => (seed = (seed * 16807) % 2147483647) / 2147483647;
    for (let k = n; k < n + piled; k++) {
        more[E.F.lat][k] = cols[E.F.lat][0] + (random() - 0.5) * 0.03;
        more[E.F.lon][k] = cols[E.F.lon][0] + (random() - 0.5) * 0.05;
    }
    E.data.sites.columns = more;
    E.map.removeLayer(E.layers.sites);
    E.map.addLayer(E.siteLayer());
}"""

# The canvas's pixels with the site layer drawn, then with Leaflet's own circle
# marker for each site in its place, drawn by the same renderer, compared as
# the canvas composes them (colours premultiplied by alpha): the shares of the
# pixels that differ by more than 2 levels in a channel, by more than 16, and
# that are drawn.
_SWARM_AGAINST_LEAFLET = """async (zoom) => {
    const E = estates, R = E.layers.sites._renderer, canvas = R._container;
    const frame = () => new Promise(r => requestAnimationFrame(() => r()));
    const pixels = () => canvas.getContext("2d").getImageData(
        0, 0, canvas.width, canvas.height).data;
    E.map.setView(E.siteLatLng(0), zoom, { animate: false });
    await frame(); await frame();
    const swarm = pixels();
    E.map.removeLayer(E.layers.sites);
    E.data.sites.columns[E.F.code].forEach((_, i) => {
        const s = E.layers.sites;
        L.circleMarker(E.siteLatLng(i), {
            radius: s._r[i], fillColor: s._colour[i], fillOpacity: 0.9,
            color: "#1f2933", weight: 1, opacity: 0.9
        }).addTo(E.map);
    });
    await frame(); await frame();
    const leaflet = pixels();
    let near = 0, far = 0, drawn = 0;
    for (let k = 0; k < swarm.length; k += 4) {
        const a = swarm[k + 3], b = leaflet[k + 3];
        let d = Math.abs(a - b);
        for (let c = 0; c < 3; c++) {
            d = Math.max(d, Math.abs(swarm[k + c] * a - leaflet[k + c] * b) / 255);
        }
        if (d > 2) near++;
        if (d > 16) far++;
        if (b) drawn++;
    }
    const n = swarm.length / 4;
    return [near / n, far / n, drawn / n];
}"""


class _View(NamedTuple):
    zoom: int
    pixel_ratio: int  # the screen's device pixels per CSS pixel
    piled: int  # sites piled up by _PILE_SITES
    covered: float  # the least share of the canvas drawn on


@pytest.mark.parametrize(
    "view",
    [
        pytest.param(_View(12, 1, 0, 0.9), id="streets"),
        pytest.param(_View(12, 2, 0, 0.9), id="on a high-density screen"),
        pytest.param(_View(10, 1, 0, 0.1), id="boroughs"),
        pytest.param(_View(13, 1, 4000, 0.9), id="piled up"),
        pytest.param(_View(13, 2, 4000, 0.9), id="piled up, high density"),
    ],
)
def test_canvas_sites_look_as_leaflet_draws_them(out, opened, view):
    """The canvas layer composes one drawing per colour and size: Leaflet's pixels, to rounding.

    Leaflet draws each circle marker's fill and outline on the canvas; the
    layer draws each colour and size once and composes copies of it in
    memory, nearest first, which rounds a blended pixel differently by a
    level, now and then two (where sites lie many deep, one pixel in twenty).
    A few lone pixels differ by more, in Leaflet's own redraws of the
    boroughs' edges as much as in the sites (the layer as it was, drawing
    each site on the canvas, differed in the same pixels). Sites across the
    canvas's edge are cut as the canvas cuts them.
    """
    page, _ = opened(out["canvas"] / "london.html", view.pixel_ratio)
    scale = page.evaluate("() => estates.layers.sites._renderer._ctx.getTransform().a")
    assert scale == view.pixel_ratio
    if view.piled:
        page.evaluate(_PILE_SITES, view.piled)
    near, far, drawn = page.evaluate(_SWARM_AGAINST_LEAFLET, view.zoom)
    assert drawn > view.covered  # the boroughs and sites cover the view
    assert near < 0.002
    assert far < 0.0001


# With the sites alone on the canvas, its pixels, then again after Leaflet has
# redrawn only the part of it under a marker added and taken away (as a hover
# or a selection does): how many pixels differ, how many the marker changed,
# and how often the sites were drawn in a part.
_PART_REDRAWN = """async (zoom) => {
    const E = estates, R = E.layers.sites._renderer, canvas = R._container;
    const frame = () => new Promise(r => requestAnimationFrame(() => r()));
    const pixels = () => canvas.getContext("2d").getImageData(
        0, 0, canvas.width, canvas.height).data;
    const others = [];
    E.map.eachLayer(l => { if (l instanceof L.Path && l !== E.layers.sites) others.push(l); });
    others.forEach(l => E.map.removeLayer(l));
    E.map.setView(E.siteLatLng(0), zoom, { animate: false });
    await frame(); await frame();
    const before = pixels();
    const marker = L.circleMarker(E.siteLatLng(0), { radius: 40 }).addTo(E.map);
    await frame(); await frame();
    const covered = pixels();
    let inPart = 0;
    const draw = E.layers.sites._updatePath;
    E.layers.sites._updatePath = function () {
        if (R._redrawBounds) inPart++;
        return draw.apply(this, arguments);
    };
    E.map.removeLayer(marker);
    await frame(); await frame();
    E.layers.sites._updatePath = draw;
    const after = pixels();
    let differ = 0, changed = 0;
    for (let k = 0; k < before.length; k++) {
        if (before[k] !== after[k]) differ++;
        if (before[k] !== covered[k]) changed++;
    }
    return [differ, changed, inPart];
}"""


@pytest.mark.parametrize(("zoom", "piled"), [(11, 0), (13, 4000)], ids=["sites", "piled up"])
def test_canvas_sites_redrawn_in_part_come_back(out, opened, zoom, piled):
    """Where Leaflet redraws part of the canvas, the sites there come back exactly.

    Composed in a smaller buffer, the sites are the same to the last bit:
    each pixel's arithmetic is its own, and a site passed over for lying
    under others wholly would have added nothing.
    """
    page, _ = opened(out["canvas"] / "london.html")
    if piled:
        page.evaluate(_PILE_SITES, piled)
    differ, changed, drawn_in_part = page.evaluate(_PART_REDRAWN, zoom)
    assert changed > 1000  # the marker covered sites
    assert drawn_in_part == 1  # and the sites were drawn in its part alone
    assert differ == 0


# With the sites alone on the canvas, its pixels; whether the site layer let go
# of its buffers when taken off the map; and how many pixels differ once it is
# back (another layer keeps the canvas).
_REMOVED_AND_ADDED = """async () => {
    const E = estates, layer = E.layers.sites, canvas = layer._renderer._container;
    const frame = () => new Promise(r => requestAnimationFrame(() => r()));
    const pixels = () => canvas.getContext("2d").getImageData(
        0, 0, canvas.width, canvas.height).data;
    const others = [];
    E.map.eachLayer(l => { if (l instanceof L.Path && l !== layer) others.push(l); });
    others.slice(1).forEach(l => E.map.removeLayer(l));
    others[0].setStyle({ opacity: 0, fillOpacity: 0 });
    await frame(); await frame();
    const before = pixels();
    const held = layer._composed !== null && layer._image !== null;
    E.map.removeLayer(layer);
    await frame(); await frame();
    const released = layer._composed === null && layer._image === null;
    E.map.addLayer(layer);
    await frame(); await frame();
    const after = pixels();
    let differ = 0;
    for (let k = 0; k < before.length; k++) if (before[k] !== after[k]) differ++;
    return [held, released, differ];
}"""


def test_canvas_sites_let_go_of_their_buffers_off_the_map(out, opened):
    """Taken off the map, the site layer frees its canvas-sized buffers; back, it draws the same."""
    page, _ = opened(out["canvas"] / "london.html")
    held, released, differ = page.evaluate(_REMOVED_AND_ADDED)
    assert held
    assert released
    assert differ == 0


@pytest.mark.parametrize("mode", MODES)
def test_search_finds_a_site_by_code_and_opens_it(frames, out, opened, mode):
    page, _ = opened(out[mode] / "london.html")
    page.fill(".est-search input", "ral01")
    first = page.locator(".est-results button").first
    assert "Royal Free Hospital" in first.inner_text()
    page.keyboard.press("Enter")
    popup = page.locator(".leaflet-popup-content .est-popup")
    popup.wait_for()
    assert popup.get_attribute("data-site-code") == "RAL01"
    # Closer than all of London, and the site itself in view (its borough too:
    # tests/render/test_geo_context.py).
    assert page.evaluate("() => estates.map.getZoom()") >= 11.5
    assert page.evaluate(
        "() => estates.map.getBounds().contains(estates.siteLatLng(estates.search('RAL01')[0]))"
    )


def test_search_by_name_and_no_match(out, opened):
    page, _ = opened(out["svg"] / "london.html")
    page.fill(".est-search input", "whittington")
    assert "Whittington" in page.locator(".est-results").inner_text()
    page.fill(".est-search input", "no such site zzz")
    assert page.locator(".est-results").inner_text().strip() == "No site matches"
    page.fill(".est-search input", "")
    assert page.locator(".est-results li").count() == 0


@pytest.mark.parametrize("name", ["london.html", "ncl_estates.html"])
def test_markup_in_a_site_name_renders_as_text(out, opened, name):
    page, watch = opened(out["svg"] / name)
    page.fill(".est-search input", XSS_CODE)
    result = page.locator(".est-results button").first
    assert XSS_NAME in result.inner_text()
    result.click()
    popup = page.locator(".leaflet-popup-content .est-popup")
    popup.wait_for()
    assert popup.locator(".est-title").inner_text() == XSS_NAME
    text = popup.inner_text()
    assert "<script>alert(2)</script>" in text
    assert "<i>flag</i>" in text
    injected = page.evaluate(
        "() => document.querySelectorAll('.est-panel img, .leaflet-popup img, "
        ".leaflet-popup script, .est-panel script, .leaflet-popup i, "
        ".leaflet-popup-content b b').length"
    )
    assert injected == 0
    page.mouse.move(5, 5)
    _click_site(page, XSS_CODE)
    page.wait_for_timeout(100)
    assert watch.dialogs == []
    if name == "ncl_estates.html":
        assert XSS_NAME in page.locator(".est-list").inner_text()


def test_ranked_list_opens_a_site(frames, out, opened):
    page, _ = opened(out["svg"] / "ncl_estates.html")
    buttons = page.locator(".est-list button")
    assert buttons.count() == len(_expected(frames, "ncl_estates.html"))
    second = buttons.nth(1)
    name = second.locator(".est-li-name").inner_text()
    second.click()
    popup = page.locator(".leaflet-popup-content .est-popup")
    popup.wait_for()
    assert popup.locator(".est-title").inner_text() == name


def test_pilot_map_is_zoomed_to_its_boroughs(frames, out, opened):
    page, _ = opened(out["svg"] / "ncl_estates.html")
    boroughs = frames[1]
    ncl = boroughs[boroughs["pilots"].str.contains("ncl_estates")]
    minx, miny, maxx, maxy = ncl.total_bounds
    view = page.evaluate(
        "() => { const b = estates.map.getBounds();"
        " return [b.getWest(), b.getSouth(), b.getEast(), b.getNorth(), estates.map.getZoom()]; }"
    )
    assert view[0] <= minx
    assert view[1] <= miny
    assert view[2] >= maxx
    assert view[3] >= maxy
    assert view[4] >= 11  # closer than the whole-London view


@pytest.mark.parametrize("mode", MODES)
def test_switching_the_shading_swaps_the_legend(out, opened, mode):
    page, _ = opened(out[mode] / "london.html")
    page.get_by_label("Value range (£, 2017 policy appraisal)").check()
    state = page.evaluate(
        """() => [estates.map.hasLayer(estates.layers.boroughs_value),
                  estates.map.hasLayer(estates.layers.boroughs_unused),
                  document.querySelector('.est-legend-choro[data-key=value]').hidden,
                  document.querySelector('.est-legend-choro[data-key=unused]').hidden,
                  estates.map.hasLayer(estates.layers.sites)]"""
    )
    assert state == [True, False, False, True, True]
    if mode == "svg":
        # The boroughs go back under the outlines and sites.
        first = page.evaluate(
            "() => document.querySelector('.leaflet-overlay-pane svg g').firstElementChild"
            ".getAttribute('class')"
        )
        assert "estates-borough" in first


def test_context_layers_switch_on(frames, out, opened):
    context = frames[2]
    page, _ = opened(out["svg"] / "london.html")
    assert (
        page.evaluate("() => estates.map.hasLayer(estates.layers.context_hospital_2018)") is False
    )
    page.get_by_label("NHS hospitals, 2018").check()
    shown = page.evaluate("() => estates.layers.context_hospital_2018.getLayers().length")
    assert shown == int((context["context_kind"] == "hospital_2018").sum())
    assert page.locator("path.estates-context").count() == shown


def test_borough_popup_has_its_figures(out, opened):
    page, _ = opened(out["svg"] / "london.html")
    page.evaluate(
        "() => { estates.layers.boroughs_unused.getLayers()"
        ".find(l => l.feature.properties.code === 'E09000007').openPopup(); }"
    )
    popup = page.locator(".leaflet-popup-content .est-popup")
    popup.wait_for()
    assert popup.get_attribute("data-borough-code") == "E09000007"
    text = popup.inner_text()
    assert "Camden" in text
    assert "Unused land" in text
    assert "North Central London" in text


def test_london_page_shows_the_value_range_and_the_reconciliation(frames, opened, tmp_path):
    from estates.report.headline import london_line
    from estates.report.statements import reconciliation_line

    sites, boroughs, context, summary = frames
    london = {**summary["london"], "sites_with_unused_land": 3, "value_low_gbp": 2.04e8,
              "value_high_gbp": 6.85e8, "share_of_target_low": 0.0185,
              "share_of_target_high": 0.0623}  # fmt: skip
    bucket = {"rows": 2, "land_owned_ha": 5.0, "land_unused_ha": 1.25}
    reconciliation = {
        "total": {"rows": 4, "land_owned_ha": 10.0, "land_unused_ha": 2.5},
        "buckets": {"inside_london": bucket, "unlocated": bucket},
    }
    summary = {**summary, "london": london, "reconciliation": reconciliation}
    render_maps(sites, boroughs, context, summary, tmp_path, build_date="2024-03-05")
    page, _ = opened(tmp_path / "london.html")
    text = page.locator(".est-head").inner_text()
    assert "worth £204m–£685m" in london_line(summary)
    assert london_line(summary) in text
    assert reconciliation_line(summary) == (
        "Land not delivering services, ERIC 2016/17: 2.50 ha reported by ERIC = "
        "1.25 ha shown on the map + 1.25 ha unlocated"
    )
    assert reconciliation_line(summary) in text
    assert "Built 2024-03-05." in text
