"""ERIC site returns of every bundled year, read by their own headers."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from estates.errors import DataValidationError
from estates.findings import Findings
from estates.io import bundled
from estates.io.eric import (
    LAND_MEASURES,
    eric_return_totals,
    load_eric_return,
    load_eric_returns,
    parse_eric_spec,
)
from estates.io.inputs import load_eric_sites


@pytest.fixture(scope="module")
def returns() -> pd.DataFrame:
    return load_eric_returns(findings=Findings())


@pytest.fixture(scope="module")
def totals(returns: pd.DataFrame) -> pd.DataFrame:
    return eric_return_totals(returns)


def test_every_bundled_year_is_loaded_oldest_first(returns: pd.DataFrame) -> None:
    assert returns["eric_year"].unique().tolist() == [
        "2013/14",
        "2014/15",
        "2015/16",
        "2016/17",
        "2019/20",
    ]


def test_2019_20_totals_match_the_published_return(totals: pd.DataFrame) -> None:
    year = totals.loc["2019/20"]
    assert (year["rows"], year["site_rows"], year["aggregate_rows"]) == (185, 157, 28)
    assert year["trusts"] == 35
    assert year["land_measure"] == "land_owned"
    assert year["land_ha"] == pytest.approx(753.71, abs=1e-6)
    assert year["land_unused_ha"] == pytest.approx(228.31, abs=1e-6)
    # 28 ORS rows and 32 sites not owned say "Not Applicable": missing, never 0.
    assert year["land_missing_rows"] == 60


def test_2016_17_totals(totals: pd.DataFrame) -> None:
    year = totals.loc["2016/17"]
    assert (year["rows"], year["site_rows"], year["aggregate_rows"]) == (172, 144, 28)
    assert year["land_ha"] == pytest.approx(826.3, abs=1e-6)
    assert year["land_unused_ha"] == pytest.approx(148.69, abs=1e-6)


@pytest.mark.parametrize(
    ("year", "expected"),
    [
        ("2013/14", (850.4330, 169, 19)),
        ("2014/15", (1001.9224, 155, 19)),
        ("2015/16", (1076.3642, 172, 25)),
    ],
)
def test_earlier_years_report_site_land_area_not_land_owned(
    totals: pd.DataFrame, returns: pd.DataFrame, year: str, expected: tuple[float, int, int]
) -> None:
    hectares, rows, aggregates = expected
    assert totals.loc[year, "land_ha"] == pytest.approx(hectares, abs=1e-6)
    assert totals.loc[year, "rows"] == rows
    assert totals.loc[year, "aggregate_rows"] == aggregates
    assert totals.loc[year, "land_measure"] == "site_land_area"
    assert np.isnan(totals.loc[year, "land_unused_ha"])
    one_year = returns[returns["eric_year"] == year]
    assert one_year["land_owned_ha"].isna().all()
    assert "not comparable" in LAND_MEASURES["site_land_area"]


def test_2016_17_gives_the_columns_of_the_current_reader(returns: pd.DataFrame) -> None:
    current = load_eric_sites(findings=Findings())
    mine = returns[returns["eric_year"] == "2016/17"].reset_index(drop=True)[current.columns]
    pd.testing.assert_frame_equal(
        mine.drop(columns="is_aggregate"), current.drop(columns="is_aggregate")
    )
    assert mine["is_aggregate"].tolist() == current["is_aggregate"].astype(bool).tolist()


def test_ors_rows_are_aggregates_and_not_applicable_is_missing(returns: pd.DataFrame) -> None:
    year = returns[returns["eric_year"] == "2019/20"].set_index("site_code")
    assert year.loc["R1HORS", "is_aggregate"]
    assert np.isnan(year.loc["R1HORS", "land_ha"])
    assert not year.loc["R1H12", "is_aggregate"]
    assert year.loc["R1H12", "land_ha"] == pytest.approx(1.65)
    assert year.loc["RKL51", "land_unused_ha"] == pytest.approx(106.48)
    assert year.loc["RRU90", "land_ha"] == 100.0
    # The postcode is kept as the source gives it; the locate stage normalises it.
    assert year.loc["RWK2A", "postcode"] == ""
    assert year.loc["RQMORS", "postcode"] == "LW10 9NH"
    # The first of 2019/20's repeated headers is the site's own figure.
    assert year.loc["R1H12", "trust_code"] == "R1H"


def test_a_users_return_takes_its_year_from_the_spec(tmp_path: Path) -> None:
    source = bundled.eric_return_paths()["2019/20"]
    copy = tmp_path / "site_data.csv"
    copy.write_bytes(source.read_bytes())
    findings = Findings()
    frame = load_eric_returns([f"{copy}:2020/21"], findings=findings, bundled_years=False)
    assert set(frame["eric_year"]) == {"2020/21"}
    assert len(frame) == 185
    assert frame["source_file"].iloc[0] == "site_data.csv"


def test_a_users_return_replaces_the_bundled_year(tmp_path: Path) -> None:
    source = bundled.eric_return_paths()["2019/20"]
    with source.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.reader(handle))
    copy = tmp_path / "eric_2019-20_first_ten.csv"
    with copy.open("w", encoding="utf-8", newline="") as handle:
        csv.writer(handle).writerows(rows[:11])
    frame = load_eric_returns([copy], findings=Findings())
    assert (frame["eric_year"] == "2019/20").sum() == 10
    assert (frame["eric_year"] == "2016/17").sum() == 172


def test_year_cannot_be_told(write) -> None:
    path = write(
        "returns.csv", "Trust Code,Site Code,Site Name,Land area owned (Hectares)\nA,A1,X,1\n"
    )
    with pytest.raises(DataValidationError, match=r"returns.csv: cannot tell which year.*FILE:"):
        load_eric_return(path, findings=Findings())


def test_unknown_layout_names_the_columns_it_lacks(write) -> None:
    path = write("eric_2019_20.csv", "Trust Code,Site Name,Floor area\nA,X,1\n")
    with pytest.raises(DataValidationError, match=r"lacks 'Site Code'; 'Land area owned") as info:
        load_eric_return(path, findings=Findings())
    assert info.value.exit_code == 2


def test_bad_year_is_refused() -> None:
    with pytest.raises(DataValidationError, match="not a financial year"):
        parse_eric_spec("x.csv:2019/21")


def test_a_number_that_is_not_a_number_is_a_finding(write) -> None:
    path = write(
        "eric_2019_20.csv",
        "Trust Code,Site Code,Site Name,Land area owned (Hectares)\nA,A1,X,lots\nA,A2,Y,\n",
    )
    findings = Findings()
    frame = load_eric_return(path, findings=findings)
    assert frame["land_ha"].isna().all()
    (finding,) = findings
    assert (finding.site_code, finding.row, finding.check) == ("A1", 2, "not_a_number")
