"""A site list without land figures (e.g. GP practices) builds, shaded by site count."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from estates import style
from estates.cli import main

_CLINICS = Path(__file__).parents[1] / "data" / "sites" / "nhs_clinics_london_2014.csv"


@pytest.fixture
def gp_sites(tmp_path: Path) -> Path:
    """The NHS Choices clinics as a GP-practice list: code, name and coordinates only."""
    path = tmp_path / "gp.csv"
    with _CLINICS.open(encoding="utf-8", newline="") as src, path.open("w", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(["site_code", "site_name", "latitude", "longitude"])
        for row in csv.DictReader(src):
            code, name = row["OrganisationCode"], row["OrganisationName"]
            writer.writerow([code, name, row["Latitude"], row["Longitude"]])
    return path


def test_no_classes_give_no_legend_labels():
    classes = style.classify([float("nan")] * 3, style.UNUSED_PALETTE)
    assert classes.bins == ()
    assert classes.labels(style.format_ha) == []


def test_a_site_list_without_land_figures_builds(gp_sites: Path, tmp_path: Path):
    out = tmp_path / "out"
    result = CliRunner().invoke(
        main, ["build", "--sites", str(gp_sites), "--out", str(out), "--force"]
    )
    assert result.exit_code == 0, result.output
    assert "no site carries land figures" in result.output
    assert "boroughs are shaded by sites located" in result.output
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert summary["london"]["sites_located"] == 609
    html = (out / "london.html").read_text(encoding="utf-8")
    assert "NHS sites located by borough (no land figures in the input)" in html
    assert '"Sites located"' in html
    assert "Unused land (ha)" not in html
    # The count classes run from the fewest sites in a borough to the most.
    payload = html.split('id="estates-data">', 1)[1].split("</script>", 1)[0]
    fills = json.loads(payload)["choropleths"]["unused"]["fills"]
    assert len(fills) == 33
    assert style.NO_DATA_COLOUR not in fills
    assert len(set(fills)) == 5
