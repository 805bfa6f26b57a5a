"""The example scripts run on the bundled data, in a real process, and write what they say."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pandas as pd
import pyogrio

from estates.crs import BNG
from estates.io.tables import ATTRIBUTION

EXAMPLES = Path(__file__).parents[1] / "examples"


def test_ncl_rescore_writes_the_pilots_rescored_sites(tmp_path, bundled_result):
    out = tmp_path / "ncl"
    done = subprocess.run(
        [sys.executable, "-W", "error", str(EXAMPLES / "ncl_rescore.py"), str(out)],
        capture_output=True,
        text=True,
        check=False,
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[0] == f"30 sites in ncl_estates, 5 ranked; written to {out}/"
    assert "rank 7 (was 8): ST. ANN'S HOSPITAL (RRP03), 3.20 ha unused" in done.stdout

    sites = bundled_result.sites
    in_ncl = sites.pilots.str.split(";").map(lambda p: "ncl_estates" in p)
    expected_codes = set(sites.loc[in_ncl, "site_code"])

    table = pd.read_csv(out / "ncl_sites.csv", dtype=str, encoding="utf-8-sig")
    assert (out / "ncl_sites.csv").read_bytes().startswith(b"\xef\xbb\xbf")
    assert set(table["site_code"]) == expected_codes
    assert table["disposal_rank"].dropna().tolist() == ["6", "7", "9", "12", "16"]
    assert table["default_rank"].dropna().tolist() == ["9", "8", "11", "12", "15"]

    info = pyogrio.read_info(out / "ncl_sites.gpkg", layer="ncl_sites")
    assert info["crs"] == BNG
    assert info["features"] == len(expected_codes) == 30
    assert (out / "ATTRIBUTION.txt").read_text(encoding="utf-8") == ATTRIBUTION + "\n"


def test_ncl_rescore_without_a_folder_prints_its_usage(tmp_path):
    done = subprocess.run(
        [sys.executable, str(EXAMPLES / "ncl_rescore.py")],
        capture_output=True,
        text=True,
        check=False,
        cwd=tmp_path,
    )
    assert done.returncode == 2
    assert "python examples/ncl_rescore.py OUT_DIR" in done.stderr
    assert not any(tmp_path.iterdir())
