"""The tables under each map page: sites and boroughs, in step with the map, and their download.

Every check opens the bundled build's pages from ``file:`` URLs in Chromium with
the network blocked. The expected rows, counts and orders are worked out here
from the page's own data payload (the sites the map draws), independently of
the page's script; markers are counted in the map's SVG. The CSV download is
caught as a real download and read with Python's :mod:`csv`; a build with a
site named ``=HYPERLINK("x")`` checks the spreadsheet-safe rule end to end, and
the page's rule is compared with the tool's own writer on the same cases.
"""

from __future__ import annotations

import csv
import html
import io
from pathlib import Path

import numpy as np
import pytest
from conftest import MAP_PAGES, draw_bundled, open_page

from estates.io.csv_text import spreadsheet_safe
from estates.style import SCORE_BINS

pytestmark = pytest.mark.browser

DESKTOP = {"viewport": {"width": 1440, "height": 900}}
PHONE = {
    "viewport": {"width": 390, "height": 844},
    "device_scale_factor": 3,
    "is_mobile": True,
    "has_touch": True,
}
HOSTILE_NAME = '=HYPERLINK("x")'
HOSTILE_TRUST = "@SUM(1+1)"
#: Sites the page draws, as Python sees its payload: one dict per site.
SITES = """() => {
    const S = estates.data.sites, F = estates.F, P = estates.P;
    const un = s => { const t = document.createElement("textarea"); t.innerHTML = s;
                      return t.value; };
    return S.columns[F.code].map((_, i) => estates.siteRow(i)).map(r => {
        const p = S.profiles[r[F.profile]];
        return { code: un(r[F.code]), name: un(r[F.name]), rank: r[F.rank], score: r[F.score],
                 unused: r[F.unused_ha], value: r[F.value_gbp], pfi: r[F.pfi],
                 trust: un(S.strings[p[P.trust]]), trust_ref: p[P.trust],
                 borough: un(S.strings[p[P.borough]]),
                 flags: S.strings[p[P.flags]].map(un) }; });
}"""
MARKERS = "() => document.querySelectorAll('.leaflet-overlay-pane path.estates-site').length"
ROW_CODES = """() => [...document.querySelectorAll('.est-site-table tbody tr')]
    .map(tr => tr.querySelector('th .est-code').textContent)"""
SHOWN = "() => estates.table.state.shown.length"
#: The sites of the table's rows now, as their places in the page's data.
ROW_SITES = """() => [...document.querySelectorAll('.est-site-table tbody tr')]
    .map(tr => Number(tr.dataset.i))"""
POPUP_CODE = """() => { const p = document.querySelector('.leaflet-popup-content [data-site-code]');
    return p ? p.getAttribute('data-site-code') : null; }"""


@pytest.fixture
def desktop(chromium):
    ctx = chromium.new_context(accept_downloads=True, **DESKTOP)
    yield ctx
    ctx.close()


@pytest.fixture(scope="module")
def hostile_pages(bundled_result, tmp_path_factory) -> Path:
    """The bundled build drawn again with its top-ranked site given a formula for a name."""
    sites = bundled_result.map_sites.copy()
    top = sites["disposal_rank"].astype("Float64").idxmin()
    sites.loc[top, "site_name"] = HOSTILE_NAME
    sites.loc[top, "trust_name"] = HOSTILE_TRUST
    return draw_bundled(bundled_result, tmp_path_factory.mktemp("hostile-pages"), sites)


def _all_row_codes(page) -> list[str]:
    """Every row of the site table, page after page."""
    codes = page.evaluate(ROW_CODES)
    while (
        page.locator('[data-page="next"]').is_visible()
        and page.locator('[data-page="next"]').is_enabled()
    ):
        page.locator('[data-page="next"]').click()
        codes += page.evaluate(ROW_CODES)
    return codes


def _band(score: float | None) -> str:
    if score is None:
        return "none"
    return str(next((b for b, top in enumerate(SCORE_BINS) if score <= top), len(SCORE_BINS) - 1))


def _download(page) -> list[list[str]]:
    with page.expect_download() as info:
        page.get_by_role("button", name="Download these rows as CSV").click()
    path = info.value.path()
    text = Path(path).read_text(encoding="utf-8")
    assert text.endswith("\n")
    return list(csv.reader(io.StringIO(text)))


@pytest.mark.parametrize("name", MAP_PAGES)
def test_the_table_has_one_row_per_drawn_site(bundled_pages, desktop, name):
    page, errors = open_page(desktop, bundled_pages / name)
    sites = page.evaluate(SITES)
    drawn = int(page.get_attribute('meta[name="estates:sites"]', "content"))
    assert len(sites) == drawn
    per = page.evaluate("() => estates.data.config.tablePage")
    assert page.locator(".est-site-table tbody tr").count() == min(per, drawn)
    codes = _all_row_codes(page)
    assert sorted(codes) == sorted(s["code"] for s in sites)
    # In rank order at first: ranked sites by their rank, the unranked after them.
    ranks = [s["rank"] for s in sorted(sites, key=lambda s: codes.index(s["code"]))]
    ranked = [r for r in ranks if r is not None]
    assert ranked == sorted(ranked)
    assert ranks[: len(ranked)] == ranked
    assert page.locator(".est-borough-table tbody tr").count() == 33
    assert errors == []


@pytest.mark.parametrize("scale", [1, 100_000])
def test_the_first_order_is_rank_order_with_ties_in_drawing_order(
    bundled_result, tmp_path, desktop, scale
):
    """Ranks shared by two sites, and (scaled) ranks far above the number of sites."""
    sites = bundled_result.map_sites.copy()
    rank = sites["disposal_rank"].astype("Float64")
    sites["disposal_rank"] = (rank // 2 * scale).astype("Int64")
    draw_bundled(bundled_result, tmp_path, sites)
    page, errors = open_page(desktop, tmp_path / "london.html")
    ranks = page.evaluate("() => estates.data.sites.columns[estates.F.rank]")
    assert len({r for r in ranks if r is not None}) < sum(r is not None for r in ranks)
    if scale > 1:
        assert max(r for r in ranks if r is not None) > 4 * len(ranks) + 65536
    expected = sorted(range(len(ranks)), key=lambda i: (ranks[i] is None, ranks[i] or 0, i))
    # The first page is drawn before the order of every site is made, from the
    # best-ranked sites alone; its rows are that order's first.
    per = page.evaluate("() => estates.data.config.tablePage")
    assert len(ranks) > per
    assert page.evaluate("() => estates.table.state._order") is None
    assert page.evaluate(ROW_SITES) == expected[:per]
    assert page.evaluate("() => estates.table.state.order") == expected
    page.locator('[data-page="next"]').click()
    assert page.evaluate(ROW_SITES) == expected[per : 2 * per]
    assert errors == []


def test_london_draws_a_page_of_rows_at_a_time(bundled_pages, desktop):
    page, _ = open_page(desktop, bundled_pages / "london.html")
    n = len(page.evaluate(SITES))
    assert n > 100  # the bundled London map has more sites than one page of rows
    assert page.locator(".est-site-table tbody tr").count() == 100
    assert page.locator(".est-count").inner_text() == f"Rows 1–100 of {n} sites."
    page.get_by_role("button", name="Next rows").click()
    assert page.locator(".est-site-table tbody tr").count() == n - 100
    assert page.locator(".est-page").inner_text() == "Page 2 of 2"
    assert page.get_by_role("button", name="Next rows").is_disabled()


def test_sorting_by_a_column_orders_the_rows(bundled_pages, desktop):
    page, errors = open_page(desktop, bundled_pages / "london.html")
    sites = {s["code"]: s for s in page.evaluate(SITES)}
    header = page.locator('.est-site-table th:has(button[data-sort="unused"])')
    header.locator("button").click()
    assert header.get_attribute("aria-sort") == "descending"
    values = [sites[c]["unused"] for c in _all_row_codes(page)]
    present = [v for v in values if v is not None]
    assert present == sorted(present, reverse=True)
    assert values[: len(present)] == present  # missing figures last
    assert present[0] > present[-1]

    page.evaluate("() => estates.table.sort('unused')")  # again: the other way
    assert header.get_attribute("aria-sort") == "ascending"
    values = [sites[c]["unused"] for c in page.evaluate(ROW_CODES)]
    present = [v for v in values if v is not None]
    assert present == sorted(present)

    page.locator('button[data-sort="name"]').click()
    names = [sites[c]["name"].lower() for c in page.evaluate(ROW_CODES)]
    assert names == sorted(names)
    assert page.locator(".est-site-table th[aria-sort]").count() == 1
    assert errors == []


FILTERS = [
    ("score", "0", lambda s, v: _band(s["score"]) == v),
    ("score", "none", lambda s, v: s["score"] is None),
    ("pfi", "1", lambda s, v: s["pfi"] == 1),
    ("pfi", "0", lambda s, v: s["pfi"] == 0),
    ("flags", "+", lambda s, v: bool(s["flags"])),
    ("flags", "-", lambda s, v: not s["flags"]),
    ("unused", True, lambda s, v: s["unused"] is not None and s["unused"] > 0),
]


@pytest.mark.parametrize(("key", "value", "keep"), FILTERS)
def test_each_filter_hides_markers_and_rows(bundled_pages, desktop, key, value, keep):
    page, errors = open_page(desktop, bundled_pages / "london.html")
    sites = page.evaluate(SITES)
    assert page.evaluate(MARKERS) == len(sites)
    expected = sorted(s["code"] for s in sites if keep(s, value))
    assert 0 < len(expected) < len(sites)  # the bundled data have sites on both sides
    control = page.locator(f'[data-filter="{key}"]')
    if value is True:
        control.check()
    else:
        control.select_option(value)
    assert page.evaluate(MARKERS) == len(expected)
    assert page.evaluate(SHOWN) == len(expected)
    assert sorted(_all_row_codes(page)) == expected
    drawn = page.evaluate(
        "() => [...document.querySelectorAll('path.estates-site')]"
        ".map(p => estates.data.sites.columns[estates.F.code]"
        "[Number(p.getAttribute('data-est-i'))])"
    )
    assert sorted(drawn) == expected
    # A marker shown again is a keyboard button again.
    page.get_by_role("button", name="Clear filters").click()
    assert page.evaluate(MARKERS) == len(sites)
    roles = page.eval_on_selector_all(
        "path.estates-site", "ps => ps.map(p => p.getAttribute('role'))"
    )
    assert set(roles) == {"button"}
    assert errors == []


def test_the_trust_filter_keeps_one_trusts_sites(bundled_pages, desktop):
    page, errors = open_page(desktop, bundled_pages / "ncl_estates.html")
    sites = page.evaluate(SITES)
    trust = "ROYAL FREE LONDON NHS FOUNDATION TRUST (RAL)"
    expected = sorted(s["code"] for s in sites if s["trust"] == trust)
    assert 0 < len(expected) < len(sites)
    page.locator('[data-filter="trust"]').select_option(label=trust)
    assert page.evaluate(MARKERS) == len(expected)
    assert sorted(page.evaluate(ROW_CODES)) == expected
    assert errors == []


def test_the_filters_offer_each_trust_and_flag_once(bundled_pages, desktop):
    """Every trust of the page's sites by name, every flag in the order the data first give it."""
    page, errors = open_page(desktop, bundled_pages / "london.html")
    sites = page.evaluate(SITES)
    lists = page.evaluate(
        "() => estates.data.sites.profiles.map(p => estates.data.sites.strings[p[estates.P.flags]])"
    )
    options = "os => os.map(o => o.textContent)"
    trusts = page.eval_on_selector_all('[data-filter="trust"] option', options)
    flags = page.eval_on_selector_all('[data-filter="flags"] option', options)
    assert trusts[0] == "Any trust"
    assert trusts[1:] == sorted({s["trust"] for s in sites if s["trust"]}, key=str.lower)
    in_order = list(dict.fromkeys(f for listed in lists for f in listed))
    assert len(in_order) > 1  # the bundled data have several flags
    assert flags[3:] == [f"Flag: {html.unescape(f)}" for f in in_order]
    assert errors == []


def test_the_download_has_exactly_the_visible_rows(bundled_pages, desktop):
    page, errors = open_page(desktop, bundled_pages / "london.html")
    sites = {s["code"]: s for s in page.evaluate(SITES)}
    page.locator('[data-filter="unused"]').check()
    page.locator('button[data-sort="value"]').click()
    rows = _download(page)
    assert rows[0] == [
        "London rank",
        "Site code",
        "Site name",
        "Trust",
        "Borough",
        "Unused land (hectares)",
        "Value, midpoint (GBP)",
        "Disposal score",
        "PFI",
        "Data-quality flags",
    ]
    shown = page.evaluate(
        "() => estates.table.state.shown.map(i => estates.data.sites.columns[estates.F.code][i])"
    )
    assert [r[1] for r in rows[1:]] == shown
    assert len(rows) - 1 == page.evaluate(SHOWN) < len(sites)
    for row in rows[1:]:
        site = sites[row[1]]
        assert row[2] == spreadsheet_safe(site["name"])
        assert row[3] == spreadsheet_safe(site["trust"])
        assert float(row[5]) == site["unused"] > 0
        assert row[0] == ("" if site["rank"] is None else str(site["rank"]))
    assert errors == []


def test_a_pilot_download_carries_the_rank_in_the_pilot(bundled_pages, desktop):
    page, _ = open_page(desktop, bundled_pages / "ncl_estates.html")
    rows = _download(page)
    assert rows[0][:3] == ["London rank", "Rank in this pilot", "Site code"]
    ranked = [r for r in rows[1:] if r[1]]
    assert [int(r[1]) for r in ranked] == list(range(1, len(ranked) + 1))
    assert [int(r[0]) for r in ranked] == sorted(int(r[0]) for r in ranked)


def test_a_formula_in_the_data_is_downloaded_as_text(hostile_pages, desktop):
    page, errors = open_page(desktop, hostile_pages / "london.html")
    rows = _download(page)
    top = rows[1]  # the table starts in rank order: the hostile site is first
    assert top[0] == "1"
    assert top[2] == "'" + HOSTILE_NAME
    assert top[3].startswith("'" + HOSTILE_TRUST + " (")  # the trust with its code
    # Shown as itself in the table, not run and not escaped twice.
    assert page.locator(".est-site-table tbody tr").first.locator("th button").inner_text() == (
        HOSTILE_NAME
    )
    assert errors == []


SAFE_CASES = [
    '=HYPERLINK("http://x","y")',
    "@SUM(1)",
    "+44 20 7946 0000",
    "-3.5",
    "+1e5",
    "-2+3",
    ".5",
    "-.5e-3",
    "'=x",
    "''@x",
    "\tx",
    "\rx",
    "plain",
    "",
    "3-4",
    "- dash",
    "1.2.3",
    "-",
]


def test_the_pages_csv_rule_is_the_csv_writers(bundled_pages, desktop):
    page, _ = open_page(desktop, bundled_pages / "london.html")
    in_page = page.evaluate("cases => cases.map(estates.csv.safe)", SAFE_CASES)
    assert in_page == [spreadsheet_safe(c) for c in SAFE_CASES]
    assert in_page[0] == "'" + SAFE_CASES[0]
    assert in_page[3] == "-3.5"
    cells = page.evaluate("cases => cases.map(estates.csv.cell)", ["a,b", 'say "x"', "=1,2"])
    assert cells == ['"a,b"', '"say ""x"""', '"\'=1,2"']


#: Numbers the page writes as text, as decimal strings (so that -0 and ties travel exactly):
#: ties of every kind (ICU rounds 1.005, whose double is below it, up), carries, the
#: exponent forms of very small and very large doubles, and seeded draws of every size.
# fmt: off
_EDGES = [
    "0", "-0", "0.5", "1.5", "2.5", "-0.5", "1.005", "-1.005", "2.675", "0.125", "0.0005",
    "-0.0005", "0.0004999", "9.995", "99.95", "999.5", "999.9995", "99999.9995", "1234.5",
    "1e-7", "5e-7", "-5e-7", "1.5e-300", "123456789012", "9007199254740993", "1e21", "1.5e21",
    "-2.5e22", "1.7976931348623157e308", "1e100", "0.1", "0.3", "1000", "1000000",
]
# fmt: on
_RNG = np.random.default_rng(20_261_206)
NUMBER_CASES = [
    *_EDGES,
    *(repr(float(v)) for v in _RNG.choice([-1, 1], 3000) * 10 ** _RNG.uniform(-9, 23, 3000)),
    *(repr(float(v)) for v in np.round(_RNG.uniform(0, 2000, 2000), 3)),
    *(f"{n}.{d}5" for n, d in _RNG.integers((0, 0), (10**6, 100), (1000, 2))),
]


def test_the_pages_number_text_is_intls(bundled_pages, desktop):
    """The page's own number text is Intl.NumberFormat's, at every rounding the page uses."""
    page, _ = open_page(desktop, bundled_pages / "london.html")
    mismatches = page.evaluate(
        """cases => {
            const out = [];
            for (const [lo, hi] of [[0, 3], [0, 0], [1, 1], [2, 2], [0, 2]]) {
                const intl = new Intl.NumberFormat("en-GB",
                    { minimumFractionDigits: lo, maximumFractionDigits: hi });
                for (const s of cases) {
                    const x = Number(s), ours = estates.format.number(x, lo, hi);
                    if (ours !== intl.format(x)) out.push([s, lo, hi, ours, intl.format(x)]);
                }
            }
            return out;
        }""",
        NUMBER_CASES,
    )
    assert mismatches == []
    texts = page.evaluate(
        "xs => xs.map(x => estates.format.ha(x))", [1.005, 12.25, 1234.5, 0.0004999]
    )
    assert texts == ["1.01 ha", "12.3 ha", "1,235 ha", "0.00 ha"]


def test_the_page_opens_without_an_intl_number_format(bundled_pages, desktop):
    """Making the first Intl format costs a page 30-40 ms before its map is drawn."""
    page = desktop.new_page()
    page.add_init_script(
        """(() => { const Made = Intl.NumberFormat; window.__formats = 0;
            Intl.NumberFormat = function (...a) { window.__formats++; return new Made(...a); };
        })()"""
    )
    page.goto((bundled_pages / "london.html").resolve().as_uri())
    page.wait_for_function("() => window.estates && window.estates.ready === true")
    assert page.evaluate("() => document.querySelectorAll('.est-site-table tbody tr').length") > 0
    assert page.evaluate("() => window.__formats") == 0


def test_a_site_fragment_opens_the_site_from_a_file_url(bundled_pages, desktop):
    page = desktop.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto((bundled_pages / "ncl_estates.html").resolve().as_uri() + "#site=RRP02")
    page.wait_for_function("() => window.estates && window.estates.ready === true")
    page.wait_for_selector('.leaflet-popup-content [data-site-code="RRP02"]')
    page.evaluate("() => { location.hash = 'site=RAL26'; }")
    page.wait_for_selector('.leaflet-popup-content [data-site-code="RAL26"]')
    # A site hidden by a filter is shown again to open it.
    page.locator('[data-filter="flags"]').select_option("-")  # RAL26 has a flag
    page.wait_for_function(f"() => ({POPUP_CODE})() === null")
    page.evaluate("() => { location.hash = 'site=RRP02'; }")
    page.wait_for_selector('.leaflet-popup-content [data-site-code="RRP02"]')
    assert page.locator('[data-filter="flags"]').input_value() == ""
    page.evaluate("() => { location.hash = 'site=NOSUCH'; }")
    page.wait_for_function(
        "() => document.querySelector('.est-count').textContent.includes('NOSUCH')"
    )
    assert errors == []


def test_a_row_opens_its_site_on_the_map(bundled_pages, desktop):
    page, errors = open_page(desktop, bundled_pages / "london.html")
    row = page.locator(".est-site-table tbody tr").nth(4)
    code = row.locator("th .est-code").inner_text()
    row.locator("th button").click()
    page.wait_for_selector(f'.leaflet-popup-content [data-site-code="{code}"]')
    inside = page.evaluate(
        """code => { const i = estates.data.sites.columns[estates.F.code].indexOf(code);
            return estates.map.getBounds().contains(estates.markers[i].getLatLng()); }""",
        code,
    )
    assert inside
    box = page.locator(".est-map").bounding_box()
    assert -1 < box["y"] < 900  # the map was scrolled back into view
    page.keyboard.press("Escape")
    assert page.evaluate("() => document.activeElement.getAttribute('data-i')") is not None
    assert errors == []


def test_a_borough_row_opens_the_borough_and_sorts(bundled_pages, desktop):
    page, errors = open_page(desktop, bundled_pages / "london.html")
    page.locator(".est-borough-table button[data-borough]").first.click()
    page.wait_for_selector(".leaflet-popup-content [data-borough-code]")
    page.keyboard.press("Escape")
    page.locator(".est-borough-table thead button", has_text="Unused land").click()
    values = page.eval_on_selector_all(
        ".est-borough-table tbody tr td:nth-of-type(2)", "tds => tds.map(t => t.dataset.v)"
    )
    present = [float(v) for v in values if v]
    assert present == sorted(present)
    page.locator(".est-borough-table thead button", has_text="Unused land").click()
    values = page.eval_on_selector_all(
        ".est-borough-table tbody tr td:nth-of-type(2)", "tds => tds.map(t => t.dataset.v)"
    )
    present = [float(v) for v in values if v]
    assert present == sorted(present, reverse=True)
    assert present[0] > present[-1]
    assert errors == []


def test_search_results_tell_duplicates_apart_by_trust_and_borough(bundled_pages, desktop):
    page, _ = open_page(desktop, bundled_pages / "ncl_estates.html")
    page.fill(".est-search input", "chase farm")
    results = page.locator(".est-results button").all_inner_texts()
    assert len(results) == 2
    assert any("ROYAL FREE LONDON" in r for r in results)
    assert any("BARNET, ENFIELD AND HARINGEY" in r for r in results)
    assert all("Enfield" in r for r in results)


def test_ranks_say_london_or_this_pilot(bundled_pages, desktop):
    page, _ = open_page(desktop, bundled_pages / "ncl_estates.html")
    first = page.locator(".est-site-table tbody tr").first.locator("td").first.inner_text()
    assert first.startswith("#1 in this pilot")
    assert "in London" in first
    assert "in London" in page.locator(".est-list .est-badge").first.inner_text()
    page.locator(".est-site-table tbody tr").first.locator("th button").click()
    popup = page.locator(".leaflet-popup-content .est-popup")
    popup.wait_for()
    assert "in London" in popup.inner_text()
    assert "#1 in this pilot" in popup.inner_text()
    london, _ = open_page(desktop, bundled_pages / "london.html")
    cell = london.locator(".est-site-table tbody tr").first.locator("td").first.inner_text()
    assert cell == "#1 in London"
    assert "in this pilot" not in london.locator(".est-site-table").inner_text()


def test_the_sites_csv_link_says_where_the_file_is(bundled_pages, desktop):
    page, _ = open_page(desktop, bundled_pages / "ncl_estates.html")
    link = page.locator('.est-tables a[href="sites.csv"]')
    assert link.count() == 1
    note = link.locator("xpath=..").inner_text()
    assert "same folder as this page" in note


@pytest.mark.parametrize("size", ["desktop", "phone"])
def test_axe_finds_nothing_with_the_table_filtered_and_sorted(
    chromium, bundled_pages, axe_source, size
):
    ctx = chromium.new_context(bypass_csp=True, **(DESKTOP if size == "desktop" else PHONE))
    try:
        page, errors = open_page(ctx, bundled_pages / "ncl_estates.html")
        page.locator('[data-filter="unused"]').check()
        page.locator('button[data-sort="score"]').click()
        page.add_script_tag(content=axe_source)
        violations = page.evaluate(
            """async () => (await axe.run(document, { resultTypes: ["violations"] })).violations
                .map(v => ({ id: v.id, nodes: v.nodes.map(n => n.target.join(" ")) }))"""
        )
        assert violations == []
        assert errors == []
    finally:
        ctx.close()


@pytest.mark.parametrize("name", ["london.html", "ncl_estates.html"])
def test_on_a_phone_the_table_follows_the_map_and_scrolls_in_its_own_box(
    chromium, bundled_pages, name
):
    ctx = chromium.new_context(**PHONE)
    try:
        page, errors = open_page(ctx, bundled_pages / name)
        state = page.evaluate(
            """() => { const m = document.querySelector('.est-map').getBoundingClientRect();
                const t = document.querySelector('.est-tables').getBoundingClientRect();
                const s = document.querySelector('.est-site-table').parentNode;
                return { mapBottom: m.bottom, mapHeight: m.height, tableTop: t.top,
                         tableRight: t.right, page: document.scrollingElement.scrollWidth,
                         inner: s.scrollWidth, box: s.clientWidth,
                         overflow: getComputedStyle(s).overflowX }; }"""
        )
        assert state["mapHeight"] == 844  # the map keeps the whole screen
        assert state["tableTop"] >= state["mapBottom"]  # the table is below it, over nothing
        assert state["page"] <= 390
        assert state["tableRight"] <= 390
        assert state["overflow"] == "auto"
        assert state["inner"] > state["box"]  # the wide table scrolls inside its box
        # The panel's link leads to the table.
        page.get_by_role("button", name="Key and sites").click()
        page.get_by_role("link", name="Table of the sites on this map").click()
        assert page.locator("#est-table-h").is_visible()
        assert page.evaluate("() => document.activeElement.id") == "est-table"
        assert errors == []
    finally:
        ctx.close()
