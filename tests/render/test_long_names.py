"""Very long texts are shortened on the maps only, with a finding; the tables keep them whole."""

from __future__ import annotations

from collections.abc import Iterator

import pandas as pd
import pytest

from estates.builder.pipeline import Inputs
from estates.builder.runner import BuildOptions, build_output_set
from estates.logs import reset_logging
from estates.stages.validate import MAX_PAGE_TEXT


@pytest.fixture(autouse=True)
def _fresh_logging() -> Iterator[None]:
    yield
    reset_logging()


def test_a_long_site_name_is_cut_on_the_page_and_kept_in_the_tables(tmp_path):
    name = "Royal Free Hospital " + "annexe " * 10_000  # 70 kB
    sites = tmp_path / "sites.csv"
    sites.write_text(
        "site_code,site_name,latitude,longitude\n"
        f'RAL01,"{name}",51.553,-0.165\n'
        "RAN01,Barnet Hospital,51.651,-0.214\n",
        encoding="utf-8",
    )
    out = tmp_path / "maps"
    build_output_set(BuildOptions(out=out, inputs=Inputs(sites=(sites,))))
    table = pd.read_csv(out / "sites.csv", dtype=str, keep_default_na=False)
    kept = table.set_index("site_code")
    assert kept.loc["RAL01", "site_name"] == name.strip()
    assert "long_text" in kept.loc["RAL01", "quality_flags"]
    assert "long_text" not in kept.loc["RAN01", "quality_flags"]
    rejected = pd.read_csv(out / "rejected.csv", dtype=str, keep_default_na=False)
    flagged = rejected[rejected["check"] == "long_text"]
    assert flagged[["row", "site_code", "column", "action"]].values.tolist() == [
        ["2", "RAL01", "site_name", "flagged"]
    ]
    assert f"{len(name.strip()):,} characters" in flagged.iloc[0]["reason"]
    assert len(flagged.iloc[0]["value"]) <= 60
    page = (out / "london.html").read_text(encoding="utf-8")
    shown = name.strip()[: MAX_PAGE_TEXT - 1]
    assert f"{shown}\\u2026" in page or f"{shown}…" in page
    assert name.strip()[:MAX_PAGE_TEXT] not in page
    for html in out.glob("*.html"):
        # Each page shows the name at most a few times, each time cut short.
        assert html.read_text(encoding="utf-8").count("annexe") <= 3 * MAX_PAGE_TEXT // 7, html
