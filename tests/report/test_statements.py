"""The sentences the pages state: a user's own site files are never called ERIC."""

from __future__ import annotations

import json

import estates as es
from estates.report.statements import data_year_line, reconciliation_line, user_site_files


def test_a_build_of_the_users_site_file_names_it_not_eric(tmp_path):
    sites = tmp_path / "gp_practices.csv"
    sites.write_text(
        "site_code,site_name,latitude,longitude,land_owned_ha,land_unused_ha\n"
        "A1,Alpha,51.5,-0.12,2,1\nB2,Beta,51.55,-0.1,3,0.5\n"
    )
    result = es.build(sites=sites, out=tmp_path / "out")
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert user_site_files(summary) == ["gp_practices.csv"]
    assert data_year_line(summary).startswith("Data: the site files given to the build")
    assert "gp_practices.csv" in reconciliation_line(summary)
    page = (tmp_path / "out" / "london.html").read_text()
    assert "Data: the site files given to the build (gp_practices.csv)" in page
    assert "reported by ERIC" not in page
    assert len(result.sites) == 2


def test_a_build_of_the_bundled_returns_says_eric_and_its_year(bundled_result):
    summary = bundled_result.summary
    assert user_site_files(summary) == []
    assert data_year_line(summary).startswith("Data: ERIC 2019/20 (NHS Digital")
    assert "reported by ERIC" in reconciliation_line(summary)
