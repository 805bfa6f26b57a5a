"""The pages state the headline as the terminal does, with caveat, year, build date, reconciliation.

The bundled data are built and drawn once; every page and the PNG are checked
for the terminal's own lines (value range with its basis), the valuation's
caveat and source, the data year, the build date and the reconciliation line.
The index page's sections over several ERIC years are checked with the
bundled summary extended the way a build over every year extends it.
"""

from __future__ import annotations

import copy
import html as html_lib
import re
from pathlib import Path

import pytest

from estates.render.index_page import render_index
from estates.render.years_section import years_sections
from estates.report.headline import headline_lines, london_line, pilot_line, value_range
from estates.report.statements import (
    headline_year,
    reconciliation_line,
    valuation_source_line,
    year_reconciliation,
)

BUILD_DATE = "2024-03-05"
PAGES = ["index.html", "london.html", "ncl_estates.html", "bhr_aco.html"]


@pytest.fixture(scope="module")
def drawn(bundled_pages: Path) -> Path:
    """The bundled build's pages and PNGs, drawn once per session (``conftest.py``)."""
    return bundled_pages


def _text(path: Path) -> str:
    """The page's text as a reader sees it: tags dropped, entities and JSON escapes undone."""
    raw = path.read_text(encoding="utf-8")
    raw = re.sub(r"\\u([0-9a-fA-F]{4})", lambda m: chr(int(m.group(1), 16)), raw)
    raw = raw.replace('\\"', '"').replace("\\/", "/")
    return html_lib.unescape(re.sub(r"<[^>]+>", " ", raw))


def test_london_headline_is_the_terminals_range_with_its_basis(bundled_result):
    line = london_line(bundled_result.summary)
    assert headline_lines(bundled_result.summary)[0] == line
    assert "worth £506.4m–£2.06bn at 2017 policy-appraisal values: 4.6%–18.7% of the £11bn" in line


@pytest.mark.parametrize("page", PAGES)
def test_every_page_states_the_terminal_lines_caveat_year_date_and_reconciliation(
    bundled_result, drawn, page
):
    summary = bundled_result.summary
    text = _text(drawn / page)
    assert london_line(summary) in text
    assert valuation_source_line(summary) in text
    assert "not market values" in text
    assert "see target_source" not in text
    assert "ERIC 2019/20" in text
    assert f"Built {BUILD_DATE}." in text
    assert reconciliation_line(summary) in text
    if page.endswith(".html") and page[:-5] in summary["pilots"]:
        assert pilot_line(summary, page[:-5]) in text


def test_a_pilot_at_zero_says_why(bundled_result, drawn):
    text = _text(drawn / "hackney_integration.html")
    assert "no land not delivering services reported at its located sites" in text


def test_the_reconciliation_line_adds_up_in_hectares(bundled_result):
    line = reconciliation_line(bundled_result.summary)
    assert line == (
        "Land not delivering services, ERIC 2019/20: 228.3 ha reported by ERIC = 121.8 ha shown "
        "on the map + 106.5 ha outside London + 0.00 ha unlocated + 0.00 ha in aggregate rows"
    )


def test_borough_popups_and_value_layer_show_the_range(bundled_result, drawn):
    text = _text(drawn / "london.html")
    camden = bundled_result.summary["boroughs"]["E09000007"]
    worth = value_range(camden["value_low_gbp"], camden["value_high_gbp"])
    assert "–" in worth
    assert f"Value (2017 policy-appraisal) {worth}" in re.sub(r"\s+", " ", text)
    assert "at 2017 policy-appraisal values" in text
    assert "Value range (£, 2017 policy appraisal)" in text
    assert "Indicative value of unused land by borough" not in text


def test_the_png_is_drawn_with_the_headline(drawn):
    png = (drawn / "london.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    assert len(png) > 100_000


def _with_years(summary: dict) -> dict:
    """The bundled summary as a build over two ERIC years would extend it."""
    out = copy.deepcopy(summary)
    rec = copy.deepcopy(summary["reconciliation"])
    rec["total"]["land_unused_ha"] = 228.31
    rec["buckets"]["inside_london"]["land_unused_ha"] = 121.83
    out["headline_year"] = "2019/20"
    out["years"] = {"2016/17": {"reconciliation": summary["reconciliation"]}, "2019/20": {
        "reconciliation": rec}}  # fmt: skip
    out["land_over_time"] = {
        "london": {
            "2015/16": {"land_ha": 1076.36, "land_measure": "site_land_area",
                        "definition": "the site's land, owned or not",
                        "land_owned_ha": None, "land_unused_ha": None, "sites": 140},
            "2019/20": {"land_ha": 618.8, "land_measure": "land_owned",
                        "definition": "land the trust owns", "land_owned_ha": 618.8,
                        "land_unused_ha": 121.83, "sites": 156},
        }
    }  # fmt: skip
    out["change_since"] = {
        "note": "sites that left the return are not in either total's change",
        "london": {"from": "2016/17", "to": "2019/20", "land_owned_ha": -0.54,
                   "land_owned_ha_from": 619.34, "land_owned_ha_to": 618.8,
                   "land_unused_ha": 79.05, "land_unused_ha_from": 42.78,
                   "land_unused_ha_to": 121.83, "sites_from": 137, "sites_to": 156},
    }  # fmt: skip
    out["disposal_candidates"] = {
        "from": "2016/17",
        "to": "2019/20",
        "note": "Leaving the return can also mean a transfer or a closure, not a sale.",
        "sites": [
            {"site_code": "RPGHF", "site_name": "QUEEN MARY'S HOSPITAL <SIDCUP>",
             "trust_name": "OXLEAS NHS FOUNDATION TRUST", "borough_name": "Bexley",
             "reason": "left the return", "hectares": 38.0},
        ],
    }  # fmt: skip
    return out


def test_a_summary_of_several_years_reads_the_headline_years_reconciliation(bundled_result):
    summary = _with_years(bundled_result.summary)
    assert headline_year(summary) == "2019/20"
    assert year_reconciliation(summary)["total"]["land_unused_ha"] == 228.31
    assert reconciliation_line(summary).startswith(
        "Land not delivering services, ERIC 2019/20: 228.3 ha reported by ERIC = 121.8 ha shown"
    )
    assert headline_year(bundled_result.summary) == "2019/20"


def test_index_shows_land_by_year_change_and_candidates(bundled_result):
    summary = _with_years(bundled_result.summary)
    page = render_index(summary, [], has_png=False, facts=(reconciliation_line(summary),))
    text = html_lib.unescape(re.sub(r"<[^>]+>", " ", page))
    assert "ERIC 2019/20: 228.3 ha reported by ERIC" in text
    assert re.search(r"2015/16\s+1,076 ha\s+n/a\s+140\s+the site's land, owned or not", text)
    assert re.search(r"2019/20\s+618.8 ha\s+121.8 ha\s+156\s+land the trust owns", text)
    assert (
        "Change since 2016/17: land owned at NHS sites in London went from 619.3 ha to 618.8 ha "
        "in 2019/20 (-0.54 ha), and land not delivering services from 42.8 ha to 121.8 ha "
        "(+79.0 ha)."
    ) in text
    assert "Leaving the return can also mean a transfer or a closure" in text
    assert "QUEEN MARY'S HOSPITAL <SIDCUP> (RPGHF)" in text
    assert "&lt;SIDCUP&gt;" in page  # escaped in the markup
    assert re.search(r"OXLEAS NHS FOUNDATION TRUST\s+Bexley\s+38.0 ha\s+left the return", text)


def test_a_summary_of_one_year_has_no_year_sections(bundled_result):
    one_year = {
        k: v
        for k, v in bundled_result.summary.items()
        if k not in {"years", "land_over_time", "change_since", "disposal_candidates"}
    }
    assert years_sections(one_year) == []


def test_the_png_credit_carries_every_licence_line_the_data_require(bundled_result):
    from estates.render.page import plain_attribution

    credit = plain_attribution(bundled_result.summary)
    assert credit.startswith("Data: Estates Returns Information Collection (ERIC) 2019/20")
    for line in (
        "Contains OS data © Crown copyright and database right 2020.",
        "Contains OS data © Crown copyright and database right 2025.",
        "Contains Royal Mail data © Royal Mail copyright and database right 2025.",
        "Contains public sector information licensed under the Open Government Licence v3.0.",
    ):
        assert credit.count(line) == 1, line
