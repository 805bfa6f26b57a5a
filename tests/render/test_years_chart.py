"""London's land by ERIC year on the index page: the chart, its definitions and the headline.

The bundled data are built once (every ERIC year, 2019/20 the headline) and
the index page is drawn from their summary: the chart must carry one row per
return with that year's hectares, the change of measure between 2015/16 and
2016/17 as a visible break, the years with no bundled return, and every
figure in its accessible name; the change since 2016/17 must head the page.
"""

from __future__ import annotations

import copy
import html as html_lib
import re
import xml.etree.ElementTree as ET

import pytest

from estates import style
from estates.render.chart import render_land_by_year_chart
from estates.render.index_page import render_index
from estates.render.years_section import change_headline

SVG = "{http://www.w3.org/2000/svg}"
#: London's land in each bundled return, as the bundled build gives it (hectares).
EXPECTED = {
    "2013/14": ("site_land_area", "599.0 ha", None),
    "2014/15": ("site_land_area", "658.9 ha", None),
    "2015/16": ("site_land_area", "693.5 ha", None),
    "2016/17": ("land_owned", "619.3 ha", "42.8 ha"),
    "2019/20": ("land_owned", "618.8 ha", "121.8 ha"),
}


@pytest.fixture(scope="module")
def page(bundled_result) -> str:
    return render_index(bundled_result.summary, [], has_png=False)


def _chart(page: str) -> ET.Element:
    match = re.search(r'<svg[^>]*class="estates-chart years-chart".*?</svg>', page, re.S)
    assert match, "no land-by-year chart on the page"
    return ET.fromstring(match.group(0))


def _text(el: ET.Element) -> str:
    return " ".join(" ".join(el.itertext()).split())


def test_the_chart_has_one_row_per_return_with_its_hectares(bundled_result, page):
    london = bundled_result.summary["land_over_time"]["london"]
    svg = _chart(page)
    rows = [g for g in svg.iter(f"{SVG}g") if g.get("class") == "year"]
    assert [g.get("data-year") for g in rows] == list(EXPECTED) == list(london)
    for g in rows:
        year = g.get("data-year")
        measure, land, unused = EXPECTED[year]
        assert g.get("data-measure") == measure
        assert land == style.format_ha(london[year]["land_ha"])
        labels = [_text(t) for t in g.iter(f"{SVG}text")]
        assert labels[:2] == [year, land]
        lands = [r for r in g.iter(f"{SVG}rect") if r.get("class") == "land"]
        unuseds = [r for r in g.iter(f"{SVG}rect") if r.get("class") == "unused"]
        assert len(lands) == 1
        # Solid fill for land owned, the hatch for site land area.
        assert lands[0].get("fill") == (
            style.LAND_COLOUR if measure == "land_owned" else "url(#years-chart-hatch)"
        )
        if unused is None:
            assert unuseds == []
            assert labels[2] == "not reported"
        else:
            assert len(unuseds) == 1
            assert labels[2] == unused
            assert unuseds[0].get("fill") == style.LAND_UNUSED_COLOUR
    # Bars are drawn to one scale: 2015/16's land is the longest, 2016/17's unused land
    # about a third of 2019/20's.
    width = {
        g.get("data-year"): [float(r.get("width")) for r in g.iter(f"{SVG}rect")] for g in rows
    }
    assert max(width, key=lambda y: width[y][0]) == "2015/16"
    assert width["2016/17"][1] / width["2019/20"][1] == pytest.approx(42.78 / 121.83, abs=0.01)


def test_the_chart_says_the_measures_are_not_a_trend(page):
    svg = _chart(page)
    breaks = [g for g in svg.iter(f"{SVG}g") if g.get("class") == "measure-break"]
    assert len(breaks) == 1
    assert _text(breaks[0]) == "Different measures: not a trend"
    # The break sits between 2015/16 and 2016/17, the gap between 2016/17 and 2019/20.
    order = [
        g.get("data-year") or g.get("class")
        for g in svg
        if g.tag == f"{SVG}g" and g.get("class") in {"year", "measure-break"}
    ]
    assert order == ["2013/14", "2014/15", "2015/16", "measure-break", "2016/17", "2019/20"]
    legend = [_text(t) for t in svg.iter(f"{SVG}text") if t.get("class") == "legend"]
    assert legend == [
        "Site land area, 2013/14–2015/16",
        "Land owned, 2016/17–2019/20",
        "Not delivering services",
    ]
    gaps = [_text(t) for t in svg.iter(f"{SVG}text") if t.get("class") == "gap"]
    assert gaps == ["2017/18 and 2018/19: no return bundled"]
    assert "Hectares, sites located in London" in _text(svg)
    # The key beside the chart gives each measure's definition and the years it covers.
    text = html_lib.unescape(re.sub(r"<[^>]+>", " ", page))
    assert re.search(
        r"Site land area, 2013/14 to 2015/16\s+ERIC 'Site land area \(Hectare\)'", text
    )
    assert re.search(r"Land owned, 2016/17 to 2019/20\s+ERIC 'Land area owned \(Hectares\)'", text)
    assert "Not a trend across the dashed line:" in text


def test_the_chart_is_an_image_named_by_its_figures(page):
    svg = _chart(page)
    assert svg.get("role") == "img"
    label = svg.get("aria-label") or ""
    assert label == _text(svg.find(f"{SVG}desc"))
    assert _text(svg.find(f"{SVG}title")) == "London's land by ERIC year"
    for year, (measure, land, unused) in EXPECTED.items():
        said = f"{year}: {measure.replace('_', ' ')} {land}"
        said += f", {unused} not delivering services." if unused else "."
        assert said in label
    assert label.endswith(
        "Site land area (2013/14 to 2015/16) and land owned (2016/17 to 2019/20) are different "
        "measures: the change between them is not a trend."
    )


def test_the_table_stays_as_the_charts_text_alternative(page):
    text = html_lib.unescape(re.sub(r"<[^>]+>", " ", page))
    assert "The chart's figures: land at sites located in London, by return" in text
    for year, (_m, land, unused) in EXPECTED.items():
        assert re.search(rf"{re.escape(year)}\s+{re.escape(land)}\s+{unused or 'n/a'}", text)


def test_the_change_since_2016_17_heads_the_page(bundled_result, page):
    line = change_headline(bundled_result.summary)
    assert line == (
        "Change since 2016/17: land owned at NHS sites in London went from 619.3 ha to 618.8 ha "
        "in 2019/20 (-0.54 ha), and land not delivering services from 42.8 ha to 121.8 ha "
        "(+79.0 ha). A site leaving the return is not necessarily a sale: leaving the return can "
        "also mean a transfer or a closure."
    )
    head = page[: page.index("<h2")]
    assert f'<p class="headline change">{html_lib.escape(line)} ' in head
    assert page.count(html_lib.escape(line)) == 1


def test_the_2016_17_headline_year_has_no_change_line_but_charts_every_return(result_2016):
    page = render_index(result_2016.summary, [], has_png=False)
    assert change_headline(result_2016.summary) == ""  # no earlier return of land owned
    assert 'class="headline change"' not in page
    years = re.findall(r'<g class="year" data-year="([^"]+)"', page)
    assert years == list(result_2016.summary["land_over_time"]["london"])


def test_chart_texts_are_escaped_and_bad_figures_left_out(bundled_result):
    london = copy.deepcopy(bundled_result.summary["land_over_time"]["london"])
    london["2016/17"]["land_measure"] = "<b>owned</b>"
    london["2014/15"]["land_ha"] = "many"
    london["2013/14"]["land_ha"] = None
    svg = render_land_by_year_chart(london)
    assert "<b>" not in svg
    assert "&lt;b&gt;owned&lt;/b&gt;" in svg
    assert re.findall(r'data-year="([^"]+)"', svg) == ["2015/16", "2016/17", "2019/20"]
    # Three measures now: two breaks, and the accessible name names all three.
    assert svg.count('class="measure-break"') == 2
    assert (
        "Site land area (2015/16), &lt;b&gt;owned&lt;/b&gt; (2016/17) and land owned (2019/20) "
        "are different measures"
    ) in svg
    assert render_land_by_year_chart({}) == ""
    ET.fromstring(svg)  # still well-formed
