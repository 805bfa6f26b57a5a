"""Fast tests of the HTML maps, the index page, the PNG and their building blocks.

The browser tests, which open the same pages in Chromium, are in
``test_browser.py``. The fixture (``tests/browser.py``) is cut from the real
bundled boundaries and NHS Choices hospital rows, with made-up test figures.
"""

from __future__ import annotations

import json
import re
import struct
from html.parser import HTMLParser
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from browser import XSS_CODE, XSS_NAME, located_codes, make_fixture
from geopandas.testing import assert_geodataframe_equal
from shapely import Polygon

from estates import style
from estates.errors import ConfigError, CRSError, DataValidationError
from estates.render import chart
from estates.render.assets import inline_script, json_for_script, leaflet_css, leaflet_js
from estates.render.maps import render_maps
from estates.render.picture_canvas import PictureSeries
from estates.render.static_map import _write_header, render_static_map

PAGES = [
    "index.html",
    "london.html",
    "ncl_estates.html",
    "hackney_integration.html",
    "lewisham_integration.html",
    "haringey_prevention.html",
    "bhr_aco.html",
    "london.png",
    "ncl_estates.png",
    "hackney_integration.png",
    "lewisham_integration.png",
    "haringey_prevention.png",
    "bhr_aco.png",
]
HTML = [p for p in PAGES if p.endswith(".html")]
MAPS = [p for p in HTML if p != "index.html"]


@pytest.fixture(scope="module")
def frames():
    return make_fixture()


@pytest.fixture(scope="module")
def built(frames, tmp_path_factory) -> dict[str, Path]:
    out = tmp_path_factory.mktemp("maps")
    paths = render_maps(*frames, out)
    return {p.name: p for p in paths}


def _payload(html: str) -> dict:
    match = re.search(
        r'<script type="application/json" id="estates-data">(.*?)</script>', html, re.S
    )
    assert match, "no data payload"
    return json.loads(match.group(1))


def _panel(html: str) -> str:
    match = re.search(r"estates\.ui\((\{.*?\})\);\n", html, re.S)
    assert match, "no panel"
    return json.loads(match.group(1))["panel"]


def _codes(payload: dict) -> list[str]:
    i = payload["sites"]["fields"].index("code")
    return sorted(payload["sites"]["columns"][i])


# --------------------------------------------------------------------------- #
# what is written
# --------------------------------------------------------------------------- #


def test_render_maps_writes_every_page_in_order(frames, tmp_path):
    paths = render_maps(*frames, tmp_path / "out")
    assert [p.name for p in paths] == PAGES
    assert all(p.parent == tmp_path / "out" and p.stat().st_size > 0 for p in paths)


def test_same_inputs_give_the_same_bytes(frames, built, tmp_path):
    again = {p.name: p for p in render_maps(*frames, tmp_path)}
    for name in PAGES:
        assert again[name].read_bytes() == built[name].read_bytes(), name


def test_each_page_makes_one_map_in_its_div_with_no_random_ids(built):
    for name in MAPS:
        html = built[name].read_text(encoding="utf-8")
        assert not re.search(r"[0-9a-f]{32}", html), name
        assert html.count('<div class="est-map" id="est-map"></div>') == 1, name
        assert html.count('L.map("est-map", {') == 1, name
        # The map is made after its <div>, in the body's last script.
        assert html.index('id="est-map"') < html.index("L.map(") < html.index("</body>")


def test_inputs_are_left_unchanged(frames, tmp_path):
    sites, boroughs, context, summary = frames
    before = (sites.copy(), boroughs.copy(), context.copy(), json.dumps(summary, sort_keys=True))
    render_maps(sites, boroughs, context, summary, tmp_path)
    assert_geodataframe_equal(sites, before[0])
    assert_geodataframe_equal(boroughs, before[1])
    assert_geodataframe_equal(context, before[2])
    assert json.dumps(summary, sort_keys=True) == before[3]


# --------------------------------------------------------------------------- #
# self-contained and offline
# --------------------------------------------------------------------------- #


class _Resources(HTMLParser):
    """Every URL the page would load: scripts, stylesheets, images, fonts, frames."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []
        self._in_style = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if "src" in a and tag in {"script", "img", "iframe", "embed", "source", "video", "input"}:
            self.urls.append(a["src"])
        if tag == "link":
            self.urls.append(a.get("href", ""))
        if tag == "object" and "data" in a:
            self.urls.append(a["data"])
        if tag == "img" and "srcset" in a:
            self.urls.append(a["srcset"])
        if "style" in a:
            self.urls.extend(_css_urls(a["style"]))
        self._in_style = tag == "style"

    def handle_endtag(self, tag: str) -> None:
        self._in_style = False

    def handle_data(self, data: str) -> None:
        if self._in_style:
            self.urls.extend(_css_urls(data))


def _css_urls(css: str) -> list[str]:
    urls = [u.strip("'\" ") for u in re.findall(r"url\(([^)]*)\)", css)]
    urls += re.findall(r"@import\s+['\"]([^'\"]+)", css)
    return urls


def _remote(url: str) -> bool:
    return bool(re.match(r"^\s*(https?:)?//", url, re.I))


def test_no_page_loads_anything_from_the_network(built):
    for name in HTML:
        html = built[name].read_text(encoding="utf-8")
        parser = _Resources()
        parser.feed(html)
        remote = [u for u in parser.urls if _remote(u)]
        assert remote == [], f"{name} loads {remote}"
        # No script or stylesheet is linked at all: everything is inline.
        assert "<script src" not in html, name
        assert "<link" not in html, name
        for cdn in ("cdn.jsdelivr", "cdnjs", "code.jquery", "bootstrapcdn", "fontawesome"):
            assert cdn not in html, f"{name} names {cdn}"


def test_the_resource_check_catches_remote_urls():
    parser = _Resources()
    parser.feed(
        '<script src="//cdn.example/x.js"></script><link rel="stylesheet" href="https://a/b.css">'
        '<style>@font-face { src: url("http://f/x.woff") }</style>'
        '<img src="data:image/png;base64,">'
    )
    assert [u for u in parser.urls if _remote(u)] == [
        "//cdn.example/x.js",
        "https://a/b.css",
        "http://f/x.woff",
    ]


def test_maps_inline_leaflet_from_the_installed_package(built):
    html = built["london.html"].read_text(encoding="utf-8")
    assert "Leaflet 1.9.3, a JS library for interactive maps" in html  # its licence comment
    assert leaflet_js().strip()[-200:] in html
    assert "url(images/" not in html
    assert html.count("data:image/png;base64,") >= 3
    assert "sourceMappingURL" not in html
    assert "Content-Security-Policy" in html
    assert "default-src 'none'" in html


def test_leaflet_css_images_become_data_uris():
    css = leaflet_css()
    assert "images/" not in css
    assert css.count('url("data:image/png;base64,') == 3


def test_tiles_add_only_the_tile_layer(frames, tmp_path):
    url = "https://tiles.example.org/{z}/{x}/{y}.png"
    paths = render_maps(*frames, tmp_path, tiles=url, tiles_attribution="© Example tiles")
    html = (tmp_path / "london.html").read_text(encoding="utf-8")
    assert "L.tileLayer(" in html
    assert "tiles.example.org" in html
    assert "img-src data: https: http:" in html
    parser = _Resources()
    parser.feed(html)
    assert [u for u in parser.urls if _remote(u)] == []
    assert len(paths) == len(PAGES)


def test_a_tiles_attribution_is_written_as_text(frames, tmp_path):
    url = "https://tiles.example.org/{z}/{x}/{y}.png"
    render_maps(*frames, tmp_path, tiles=url, tiles_attribution=f"Tiles {XSS_NAME} & co")
    html = (tmp_path / "london.html").read_text(encoding="utf-8")
    # Leaflet writes a tile layer's attribution as HTML: it must arrive escaped.
    options = re.findall(
        r'L\.tileLayer\("https://tiles\.example\.org/\{z\}/\{x\}/\{y\}\.png", (\{.*?\})\)', html
    )
    assert [json.loads(o)["attribution"] for o in options] == [
        "Tiles &lt;img src=x onerror=alert(1)&gt; &amp; co"
    ]


def test_a_tile_provider_is_found_by_name(frames, tmp_path):
    render_maps(*frames, tmp_path, tiles="OpenStreetMap")
    html = (tmp_path / "london.html").read_text(encoding="utf-8")
    options = re.findall(
        r'L\.tileLayer\("https://tile\.openstreetmap\.org/\{z\}/\{x\}/\{y\}\.png", (\{.*?\})\)',
        html,
    )
    # The catalogue's own credit, as HTML, and its zoom range.
    assert [json.loads(o) for o in options] == [
        {
            "attribution": '&copy; <a href="https://www.openstreetmap.org/copyright">'
            "OpenStreetMap</a> contributors",
            "minZoom": 0,
            "maxZoom": 19,
            "subdomains": "abc",
        }
    ]


def test_a_tile_provider_needing_a_key_is_refused(frames, tmp_path):
    with pytest.raises(ConfigError, match="needs an API key"):
        render_maps(*frames, tmp_path, tiles="CartoDB Positron")


def test_an_unknown_tile_provider_is_refused(frames, tmp_path):
    with pytest.raises(ConfigError, match="neither a URL template nor the name of a tile provider"):
        render_maps(*frames, tmp_path, tiles="No Such Tiles")
    assert not (tmp_path / "london.html").exists()


def test_no_tiles_by_default(built):
    html = built["london.html"].read_text(encoding="utf-8")
    assert "L.tileLayer(" not in html
    assert "img-src data:;" in html


def test_a_tile_url_needs_an_attribution(frames, tmp_path):
    with pytest.raises(ConfigError, match="tiles_attribution"):
        render_maps(*frames, tmp_path, tiles="https://t.example/{z}/{x}/{y}.png")


# --------------------------------------------------------------------------- #
# escaping
# --------------------------------------------------------------------------- #


def test_markup_in_the_data_never_reaches_the_page_raw(built):
    for name in HTML:
        html = built[name].read_text(encoding="utf-8")
        assert XSS_NAME not in html, name
        assert "<script>alert(2)" not in html, name
        assert "<i>flag</i>" not in html, name
        assert "<b>Hospital</b>" not in html, name
        # Every occurrence of the payload is an escaped one.
        for m in re.finditer("onerror=alert", html):
            assert html[max(0, m.start() - 20) : m.start()].endswith(
                ("\\u0026lt;img src=x ", "&lt;img src=x ")
            ), name


def test_payload_is_json_that_cannot_close_its_script(built):
    html = built["london.html"].read_text(encoding="utf-8")
    match = re.search(r'id="estates-data">(.*?)</script>', html, re.S)
    assert match
    raw = match.group(1)
    assert "<" not in raw
    assert ">" not in raw
    assert "&" not in raw
    data = json.loads(raw)
    i = data["sites"]["fields"].index("name")
    names = set(data["sites"]["columns"][i])
    assert "&lt;img src=x onerror=alert(1)&gt;" in names  # escaped once, for innerHTML


def test_json_for_script_escapes_closing_tags():
    text = json_for_script({"a": "</script><!-- & \u2028"})
    assert "<" not in text
    assert ">" not in text
    assert "&" not in text
    assert "\u2028" not in text
    assert json.loads(text) == {"a": "</script><!-- & \u2028"}


def test_inline_script_cannot_be_closed_from_inside():
    out = inline_script('x = "</SCRIPT><img>";')
    assert out.count("</script>") == 1
    assert "<\\/SCRIPT>" in out


# --------------------------------------------------------------------------- #
# content
# --------------------------------------------------------------------------- #


def test_london_map_draws_located_london_sites_only(frames, built):
    sites = frames[0]
    payload = _payload(built["london.html"].read_text(encoding="utf-8"))
    codes = [c.replace("&lt;", "<") for c in _codes(payload)]
    assert codes == located_codes(sites)
    assert "AGG01" not in codes  # no geometry
    outside = sites.loc[~sites["in_london"].astype(bool), "site_code"]
    assert len(outside) > 0
    assert not set(outside) & set(codes)
    assert len(payload["boroughs"]["features"]) == 33


@pytest.mark.parametrize("pilot", [p.removesuffix(".html") for p in MAPS[1:]])
def test_pilot_maps_hold_their_own_sites(frames, built, pilot):
    payload = _payload(built[f"{pilot}.html"].read_text(encoding="utf-8"))
    assert _codes(payload) == located_codes(frames[0], pilot)
    html = built[f"{pilot}.html"].read_text(encoding="utf-8")
    assert 'class="est-list"' in _panel(html)
    ids = [f["properties"]["id"] for f in payload["outlines"]["pilots"]["geojson"]["features"]]
    focus = [f["properties"]["id"] for f in payload["outlines"]["pilots"]["geojson"]["features"]
             if f["properties"]["focus"]]  # fmt: skip
    assert pilot in ids
    assert focus == [pilot]


def test_ncl_map_lists_its_sites_in_rank_order(frames, built):
    sites = frames[0]
    html = _panel(built["ncl_estates.html"].read_text(encoding="utf-8"))
    ncl = sites[sites["site_code"].isin(located_codes(sites, "ncl_estates"))]
    ranked = ncl.dropna(subset=["disposal_rank"]).sort_values("disposal_rank")
    badges = [int(b.replace(",", "")) for b in re.findall(r'est-badge">#([\d,]+)', html)]
    assert badges == ranked["disposal_rank"].astype(int).tolist()
    assert ranked["site_code"].iloc[0] == XSS_CODE  # the fixture gives it the top score


def test_map_has_layers_legend_search_and_scale(built):
    html = built["london.html"].read_text(encoding="utf-8")
    for needle in (
        "L.control.layers(",
        '"Unused land (ha)"',
        '"Value range (\\u00a3, 2017 policy appraisal)"',
        '"Devolution pilots"',
        '"Sub-regions"',
        '"NHS hospitals, 2018"',
        '"NHS clinics, 2014"',
        "estates.siteLayer()",
        "L.control.scale(",
        "est-search",
        "Unused NHS land by borough",
        "disposal score",
    ):
        assert needle in html, needle
    assert '"preferCanvas":false' in html


def test_threshold_switches_to_one_canvas(frames, tmp_path):
    render_maps(*frames, tmp_path, site_layer_threshold=0)
    html = (tmp_path / "london.html").read_text(encoding="utf-8")
    assert '"preferCanvas":true' in html
    assert "estates.siteLayer()" in html


def test_legend_units_and_classes(frames, built):
    payload = _payload(built["london.html"].read_text(encoding="utf-8"))
    boroughs = frames[1].sort_values("borough_code")
    classes = style.classify(boroughs["land_unused_ha"], style.UNUSED_PALETTE)
    fills = [classes.colour_of(i) for i in classes.index]
    assert payload["choropleths"]["unused"]["fills"] == fills
    html = built["london.html"].read_text(encoding="utf-8")
    for label in classes.labels(style.format_ha):
        assert json.dumps(label)[1:-1].replace("\u2013", "\\u2013") in html or label in html


def test_index_has_figures_chart_links_and_sources(frames, built):
    summary = frames[3]
    html = built["index.html"].read_text(encoding="utf-8")
    london = summary["london"]
    for text in (
        style.format_ha(london["land_unused_ha"]),
        style.format_gbp(london["estimated_value_gbp"]),
        style.format_share(london["share_of_target"]),
        style.format_ha(summary["pilots"]["ncl_estates"]["land_unused_ha"]),
        "North Central London estates pilot",
        "Share of the £11bn target",
    ):
        assert text in html, text
    assert '<svg xmlns="http://www.w3.org/2000/svg" class="estates-chart"' in html
    assert 'class="target"' in html
    assert 'class="pipeline"' in html
    hrefs = re.findall(r'href="([^"]+)"', html)
    for page in PAGES[1:]:
        assert page in hrefs, page
    assert hrefs.index("ncl_estates.html") < hrefs.index("hackney_integration.html")
    assert 'id="sources"' in html
    assert "NHS Choices hospitals &amp; clinics" in html
    assert "Open Government Licence v3.0" in html
    assert "Test fixture &lt;not a source&gt;" in html
    assert "<script" not in html


def test_missing_summary_parts_are_left_out(frames, tmp_path):
    sites, boroughs, context, _ = frames
    paths = render_maps(sites, boroughs, context, {}, tmp_path)
    assert [p.name for p in paths] == ["index.html", "london.html", "london.png"]
    html = (tmp_path / "index.html").read_text(encoding="utf-8")
    assert "<svg" not in html
    assert "london.html" in html


def test_summary_parts_of_the_wrong_type_are_refused(frames, tmp_path):
    sites, boroughs, context, summary = frames
    with pytest.raises(DataValidationError, match=r"summary\['pilots'\] must be a mapping"):
        render_maps(sites, boroughs, context, {**summary, "pilots": ["ncl"]}, tmp_path)


# --------------------------------------------------------------------------- #
# refused inputs
# --------------------------------------------------------------------------- #


def test_frames_must_be_in_wgs84(frames, tmp_path):
    sites, boroughs, context, summary = frames
    with pytest.raises(CRSError, match=r"render_maps \(sites\) needs EPSG:4326 but got EPSG:27700"):
        render_maps(sites.to_crs("EPSG:27700"), boroughs, context, summary, tmp_path)


def test_missing_columns_are_named(frames, tmp_path):
    sites, boroughs, context, summary = frames
    with pytest.raises(DataValidationError, match=r"sites is missing column\(s\) disposal_score"):
        render_maps(sites.drop(columns="disposal_score"), boroughs, context, summary, tmp_path)


def test_site_geometry_must_be_a_point(frames, tmp_path):
    sites, boroughs, context, summary = frames
    bad = sites.copy()
    bad.loc[0, "geometry"] = Polygon([(0, 51.5), (0.01, 51.5), (0.01, 51.51)])
    code = bad.loc[0, "site_code"]
    with pytest.raises(DataValidationError, match=f"not a Point .first: {code}"):
        render_maps(bad, boroughs, context, summary, tmp_path)


def test_numeric_columns_must_be_numeric(frames, tmp_path):
    sites, boroughs, context, summary = frames
    bad = sites.copy()
    bad["land_unused_ha"] = bad["land_unused_ha"].astype(object)
    bad.loc[bad.index[0], "land_unused_ha"] = "lots"
    code = bad.loc[bad.index[0], "site_code"]
    msg = f"sites row 0 .site_code {code}.: column land_unused_ha must be numeric but holds 'lots'"
    with pytest.raises(DataValidationError, match=msg):
        render_maps(bad, boroughs, context, summary, tmp_path)


def test_unknown_context_kind_lists_the_allowed_ones(frames, tmp_path):
    sites, boroughs, context, summary = frames
    bad = context.copy()
    bad.loc[bad.index[0], "context_kind"] = "pharmacy"
    with pytest.raises(
        DataValidationError, match="'pharmacy'; allowed: hospital_2018, hospital_2014"
    ):
        render_maps(sites, boroughs, bad, summary, tmp_path)


def test_pilot_ids_must_be_safe_file_names(frames, tmp_path):
    sites, boroughs, context, summary = frames
    bad = {**summary, "pilots": {"../evil": {"name": "x"}}}
    with pytest.raises(DataValidationError, match="cannot name a file"):
        render_maps(sites, boroughs, context, bad, tmp_path)
    assert not (tmp_path.parent / "evil.html").exists()


def _best(sites, codes: list[str], limit: int) -> list[str]:
    """The ``limit`` best of ``codes``: ranked first, then most unused land, then code."""
    rows = sites[sites["site_code"].isin(codes)]
    order = rows.assign(
        _rank=pd.to_numeric(rows["disposal_rank"], errors="coerce").astype(float).fillna(np.inf),
        _unused=-pd.to_numeric(rows["land_unused_ha"], errors="coerce").fillna(-1.0),
    ).sort_values(["_rank", "_unused", "site_code"])
    return sorted(order["site_code"].head(limit))


def _meta(html: str, name: str) -> int:
    return int(re.search(rf'<meta name="estates:{name}" content="(\d+)"', html)[1])


def test_a_page_with_more_sites_than_max_sites_draws_its_best_and_says_so(frames, tmp_path):
    sites = frames[0]
    render_maps(*frames, tmp_path, max_sites=5)
    html = (tmp_path / "london.html").read_text(encoding="utf-8")
    london = located_codes(sites)
    assert len(london) > 5
    codes = [c.replace("&lt;", "<") for c in _codes(_payload(html))]
    assert codes == _best(sites, london, 5)
    assert (_meta(html, "sites"), _meta(html, "sites-total")) == (5, len(london))
    assert f"Showing the 5 best-ranked of {len(london)} sites" in _panel(html)
    for page in MAPS[1:]:  # each pilot keeps its own best, not London's
        pilot = page.removesuffix(".html")
        html = (tmp_path / page).read_text(encoding="utf-8")
        members = located_codes(sites, pilot)
        drawn = [c.replace("&lt;", "<") for c in _codes(_payload(html))]
        assert drawn == _best(sites, members, 5), pilot
        assert _meta(html, "sites-total") == len(members)
        assert ("best-ranked of" in _panel(html)) is (len(members) > 5)


def test_only_the_sites_some_page_draws_are_encoded(frames):
    from estates.render.payload import names_from_summary, prepare_sites
    from estates.render.selection import pilot_order

    sites, _, _, summary = frames
    pilot_ids = pilot_order(summary["pilots"])
    names = names_from_summary(summary)
    prepared = prepare_sites(sites, names, limit=3, pilot_ids=pilot_ids)
    london = located_codes(sites)
    wanted = set(_best(sites, london, 3))
    for pid in pilot_ids:
        wanted |= set(_best(sites, located_codes(sites, pid), 3))
    assert sorted(prepared.codes) == sorted(wanted)
    assert prepared.totals == {
        "london": len(london),
        **{pid: len(located_codes(sites, pid)) for pid in pilot_ids},
    }


def test_pages_under_max_sites_draw_everything_and_say_nothing(built):
    html = built["london.html"].read_text(encoding="utf-8")
    assert _meta(html, "sites") == _meta(html, "sites-total")
    assert "best-ranked of" not in _panel(html)


def test_max_sites_below_one_is_refused(frames, tmp_path):
    with pytest.raises(ConfigError, match="max_sites must be 1 or more, got 0"):
        render_maps(*frames, tmp_path, max_sites=0)


def test_negative_threshold_is_refused(frames, tmp_path):
    with pytest.raises(ConfigError, match="site_layer_threshold"):
        render_maps(*frames, tmp_path, site_layer_threshold=-1)


def test_no_sites_at_all_still_renders(frames, tmp_path):
    sites, boroughs, context, summary = frames
    render_maps(sites.iloc[0:0], boroughs, context, summary, tmp_path)
    payload = _payload((tmp_path / "ncl_estates.html").read_text(encoding="utf-8"))
    assert payload["sites"]["columns"] == [[] for _ in payload["sites"]["fields"]]


# --------------------------------------------------------------------------- #
# PNG and chart
# --------------------------------------------------------------------------- #


def _png_size(path: Path) -> tuple[int, int]:
    head = path.read_bytes()[:24]
    assert head[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", head[16:24])


def test_static_map_is_a_png_of_the_expected_size(built):
    assert _png_size(built["london.png"]) == (1800, 1260)


def test_static_map_can_shade_by_value(frames, tmp_path):
    sites, boroughs, *_ = frames
    out = render_static_map(sites, boroughs, tmp_path / "v.png", column="estimated_value_gbp")
    assert _png_size(out) == (1800, 1260)


def _ink_columns(path: Path, rows: slice) -> np.ndarray:
    """The columns of a PNG with any pixel in ``rows`` darker than the white ground."""
    from matplotlib.image import imread

    pixels = imread(path)[rows, :, :3]
    return np.flatnonzero((pixels < 0.9).any(axis=(0, 2)))


def test_a_long_header_wraps_inside_the_picture(frames, tmp_path):
    # A pilot's long name and a headline of large figures: each line fits within the
    # picture's margins (27 pixels a side), and the map and legend move down under them.
    sites, boroughs, *_ = frames
    words = "Barking & Dagenham, Havering and Redbridge accountable care pilot"
    title = f"{words}, with the boroughs of the inner north east sub-region joined in"
    headline = (
        f"{words} (bhr_aco): 4,347 ha at 11,279 sites, worth £13.91bn–£31.82bn: "
        "126.5%–289.2% of the target, and every other figure of this long line"
    )
    out = render_static_map(
        sites, boroughs, tmp_path / "long.png", title=title, lines=[headline, "Sources."]
    )
    header = slice(0, 230)  # four lines and more of header: below the first screen's text
    assert _ink_columns(out, header).max() <= 1800 - 27
    assert _ink_columns(out, header).min() >= 27
    # Before wrapping, the title and the headline ran off the picture's right edge.
    fig = PictureSeries().new_figure((12.0, 8.4), dpi=150)
    parts = [(title, 17, "bold", "#1f2933", 0.955), (headline, 10, "bold", "#1f2933", 0.897)]
    top = _write_header(fig, parts)
    texts = [(t.get_text(), round(t.get_position()[1], 4)) for t in fig.texts]
    line = 1.2 / (8.4 * 72)  # a line of one point, as a share of the height
    assert [text for text, _ in texts] == [
        f"{words}, with the",
        "boroughs of the inner north east sub-region joined in",
        f"{words} (bhr_aco): 4,347 ha at 11,279 sites, worth £13.91bn–£31.82bn:",
        "126.5%–289.2% of the target, and every other figure of this long line",
    ]
    assert [y for _, y in texts] == [
        0.955,
        round(0.955 - 17 * line, 4),
        round(0.897 - 17 * line, 4),
        round(0.897 - 27 * line, 4),
    ]
    assert top == pytest.approx(0.88 - 27 * line)
    renderer = fig.canvas.get_renderer()
    assert all(t.get_window_extent(renderer).x1 <= 1800 - 27 for t in fig.texts)


def test_static_map_refuses_other_columns(frames, tmp_path):
    sites, boroughs, *_ = frames
    with pytest.raises(ConfigError, match="choose one of: land_unused_ha, estimated_value_gbp"):
        render_static_map(sites, boroughs, tmp_path / "x.png", column="sites_located")


def test_static_map_needs_wgs84(frames, tmp_path):
    sites, boroughs, *_ = frames
    with pytest.raises(CRSError):
        render_static_map(sites, boroughs.to_crs("EPSG:27700"), tmp_path / "x.png")


def test_chart_thins_a_long_pipeline_and_keeps_the_end():
    cum = np.cumsum(np.full(50_000, 1e5))
    rows = [{"rank": i + 1, "cumulative_value_gbp": float(v)} for i, v in enumerate(cum)]
    svg = chart.render_pipeline_chart(rows, 11e9)
    line = re.search(r'<polyline points="([^"]+)"', svg).group(1).split()
    assert len(line) <= 1502
    assert "All 50,000 ranked sites: £5bn at the midpoint (45.5% of target)" in svg
    assert len(svg) < 60_000


def test_chart_without_target_has_no_target_line():
    svg = chart.render_pipeline_chart([{"rank": 1, "cumulative_value_gbp": 5e6}], None)
    assert 'class="target"' not in svg
    assert "£5m" in svg


def test_classes_are_deterministic_and_mark_missing():
    values = gpd.pd.Series([0.0, 2.0, 3.5, np.nan, 40.0, 41.0, 7.0, 9.0])
    a = style.classify(values, style.UNUSED_PALETTE, k=3)
    b = style.classify(values, style.UNUSED_PALETTE, k=3)
    assert a == b
    assert a.index[3] == -1
    assert a.colour_of(-1) == style.NO_DATA_COLOUR
    assert a.bins[-1] == 41.0
    assert len(a.colours) == 3
