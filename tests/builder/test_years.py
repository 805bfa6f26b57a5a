"""The build over every ERIC year, on the bundled returns and on a user's 2019/20 return."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pandas as pd
import pyogrio
import pytest
from click.testing import CliRunner

from estates.builder.pipeline import Inputs, run
from estates.cli import main
from estates.io import bundled


@pytest.fixture
def cli():
    runner = CliRunner()

    def invoke(*args: str):
        return runner.invoke(main, list(args), catch_exceptions=False)

    return invoke


@pytest.fixture(scope="module")
def result_2016(bundled_result):
    return run(Inputs(year="2016/17"))


def test_the_headline_is_the_latest_return_with_every_row_of_it(bundled_result):
    sites = bundled_result.sites
    assert bundled_result.summary["headline_year"] == "2019/20"
    assert len(sites) == 185
    assert set(sites["eric_year"]) == {"2019/20"}
    assert bundled_result.counts["located_by"] == {
        "aggregate": 28,
        "ods_code": 91,
        "postcode": 65,
        "unlocated": 1,
    }
    assert sites.loc[sites["located_by"] == "unlocated", "site_code"].tolist() == ["RWK2A"]
    by_postcode = sites[sites["located_by"] == "postcode"]
    assert (by_postcode["location_year"] == "2019/20").all()
    assert by_postcode["location_source"].str.match(r"postcode 2019/20 [A-Z0-9]+ \d[A-Z]{2}$").all()


@pytest.mark.parametrize(
    ("year", "rows", "located", "steps", "owned", "unused"),
    [
        ("2013/14", 169, 119, {"ods_code": 95, "postcode": 23, "name_match": 1}, 0.0, 0.0),
        ("2014/15", 155, 127, {"ods_code": 100, "postcode": 27, "name_match": 0}, 0.0, 0.0),
        ("2015/16", 172, 137, {"ods_code": 103, "postcode": 34, "name_match": 0}, 0.0, 0.0),
        ("2016/17", 172, 137, {"ods_code": 101, "postcode": 36, "name_match": 0}, 826.3, 148.69),
        ("2019/20", 185, 156, {"ods_code": 91, "postcode": 65, "name_match": 0}, 753.71, 228.31),
    ],
)
def test_each_year_reconciles_with_its_return(  # noqa: PLR0917 - parametrised
    bundled_result, year, rows, located, steps, owned, unused
):
    entry = bundled_result.summary["years"][year]
    rec = entry["reconciliation"]
    assert rec["matches_return"]
    assert rec["balanced"]
    assert rec["total"]["rows"] == entry["return_totals"]["rows"] == rows
    assert rec["total"]["land_owned_ha"] == pytest.approx(owned, abs=0.005)
    assert rec["total"]["land_unused_ha"] == pytest.approx(unused, abs=0.005)
    assert sum(b["rows"] for b in rec["buckets"].values()) == rows
    assert sum(b["land_ha"] for b in rec["buckets"].values()) == pytest.approx(
        rec["total"]["land_ha"]
    )
    assert entry["return_totals"]["land_ha"] == pytest.approx(rec["total"]["land_ha"])
    assert entry["located_by"]["located"] == located
    assert {k: entry["located_by"][k] for k in steps} == steps
    measure = "land_owned" if year >= "2016/17" else "site_land_area"
    assert entry["land_measure"] == measure
    assert entry["land_definition"]
    assert rec["shared_sites"]["deduplicated"] is False


def test_2016_17_also_matches_its_trust_level_file(bundled_result):
    check = bundled_result.summary["years"]["2016/17"]["reconciliation"]["trust_level_check"]
    assert check["matches_site_rows"] is True
    assert check["file"] == bundled.eric_trust_path().name


def test_broadmoor_is_located_outside_london_in_every_year(bundled_result):
    years = bundled_result.site_years
    broadmoor = years[years["site_code"] == "RKL51"]
    assert len(broadmoor) == 5
    assert (broadmoor["located_by"] == "postcode").all()
    assert not broadmoor["in_london"].any()
    assert broadmoor.geometry.notna().all()


def test_the_site_table_compares_with_the_last_return_of_land_owned(bundled_result):
    sites = bundled_result.sites
    assert sites["change_status"].value_counts().to_dict() == {
        "in both returns": 125,
        "new in the return": 60,
    }
    both = sites[sites["change_status"] == "in both returns"]
    assert (both["previous_year"] == "2016/17").all()
    assert sites.loc[sites["change_status"] == "new in the return", "previous_year"].isna().all()
    broadmoor = sites[sites["site_code"] == "RKL51"].iloc[0]
    assert broadmoor["land_owned_change_ha"] == pytest.approx(
        broadmoor["land_owned_ha"] - broadmoor["land_owned_ha_previous"]
    )
    assert broadmoor["land_owned_change_ha"] == pytest.approx(-18.64)


def test_a_site_that_left_the_return_is_a_candidate_not_a_row(bundled_result):
    # Queen Mary's Hospital, Sidcup (Oxleas, 38 ha owned in 2016/17) is not in 2019/20.
    assert "RPGHF" not in set(bundled_result.sites["site_code"])
    years = bundled_result.site_years
    assert years.loc[years["site_code"] == "RPGHF", "eric_year"].tolist() == [
        "2014/15",
        "2015/16",
        "2016/17",
    ]
    candidates = bundled_result.summary["disposal_candidates"]
    assert (candidates["from"], candidates["to"]) == ("2016/17", "2019/20")
    assert "transfer" in candidates["note"]
    assert "closure" in candidates["note"]
    by_code = {c["site_code"]: c for c in candidates["sites"]}
    assert by_code["RPGHF"]["reason"] == "left the return"
    assert by_code["RPGHF"]["hectares"] == pytest.approx(38.0)
    assert by_code["RPGHF"]["borough_name"] == "Bexley"
    assert by_code["TAF10"]["reason"] == "land owned fell"
    hectares = [c["hectares"] for c in candidates["sites"]]
    assert hectares == sorted(hectares, reverse=True)
    assert all(h > 0 for h in hectares)
    assert candidates["sites"][0]["site_code"] == "TAF10"


def test_land_over_time_keeps_each_years_measure(bundled_result):
    over = bundled_result.summary["land_over_time"]
    london = over["london"]
    assert list(london) == ["2013/14", "2014/15", "2015/16", "2016/17", "2019/20"]
    assert london["2015/16"]["land_measure"] == "site_land_area"
    assert london["2015/16"]["land_owned_ha"] is None
    assert london["2019/20"]["land_owned_ha"] == pytest.approx(618.8, abs=0.005)
    assert london["2016/17"]["land_owned_ha"] == pytest.approx(619.34, abs=0.005)
    assert set(over["pilots"]) >= {"ncl_estates", "bhr_aco"}
    assert over["boroughs"]["E09000006"]["borough_name"] == "Bromley"
    change = bundled_result.summary["change_since"]
    assert change["london"]["from"] == "2016/17"
    assert change["london"]["land_owned_ha"] == pytest.approx(618.8 - 619.34, abs=0.01)
    assert change["london"]["land_unused_ha"] == pytest.approx(121.83 - 42.78, abs=0.01)
    assert "ncl_estates" in change["pilots"]


def test_cross_year_checks_are_findings_and_flags(bundled_result):
    findings = bundled_result.findings.to_frame()
    shared = findings[findings["check"] == "reported_by_two_trusts"]
    assert {"RAL26", "RRP09", "RALRA", "RRP01", "RYX24"} <= set(shared["site_code"])
    assert (shared["action"] == "flagged").all()
    trusts = findings[findings["check"] == "trust_changed"]
    assert any("RPG" in r and "Oxleas".upper() in r for r in trusts["reason"])
    tenfold = findings[findings["check"] == "land_changed_tenfold"]
    assert "TAF10" in set(tenfold["site_code"])
    sites = bundled_result.sites.set_index("site_code")
    assert "reported_by_two_trusts" in sites.loc["RAL26", "quality_flags"]
    assert "land_changed_tenfold" in sites.loc["TAF10", "quality_flags"]


def test_year_2016_17_builds_the_old_table(result_2016):
    sites = result_2016.sites
    assert len(sites) == 172
    assert result_2016.counts["identity"] == "172 in = 172 kept + 0 rejected"
    assert (sites["change_status"] == "no comparable return").all()
    assert result_2016.summary["disposal_candidates"]["sites"] == []
    assert result_2016.summary["change_since"] == {}
    assert result_2016.summary["reconciliation"]["trust_level_check"]["matches_site_rows"]
    assert result_2016.summary["reconciliation"]["total"]["land_owned_ha"] == pytest.approx(826.3)
    # 137 of 144 site codes: seven are in no bundled file that could place them.
    located = sites[~sites["located_by"].isin(["unlocated", "aggregate"])]
    assert len(located) == 137
    assert set(sites.loc[sites["located_by"] == "unlocated", "site_code"]) == {
        "RATDK",
        "RPGED",
        "RQY14",
        "RV5A3",
        "RWK2M",
        "RWK2W",
        "TAF65",
    }


def _user_return(tmp_path: Path, edits: dict[str, str]) -> Path:
    source = bundled.eric_return_paths()["2019/20"]
    with source.open(encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.DictReader(handle))
    for row in rows:
        if row["Site Code"] in edits:
            row["Post Code"] = edits[row["Site Code"]]
    path = tmp_path / "my_eric_sites.csv"
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return path


def test_a_users_return_with_postcode_quirks_end_to_end(tmp_path, cli):
    path = _user_return(
        tmp_path,
        {
            "RRU09": "  tw7  7lj ",  # padded, lower case: still found
            "RRU17": "",  # missing: not in any other year, so unlocated
            "RRU1D": "NW10 1RZZ",  # one edit from NW10 1RZ
        },
    )
    out = tmp_path / "out"
    result = cli("build", "--out", str(out), "--eric", f"{path}:2019/20")
    assert result.exit_code == 0, result.output
    sites = pd.read_parquet(out / "sites.parquet").set_index("site_code")
    assert sites.loc["RRU09", "located_by"] == "postcode"
    assert sites.loc["RRU09", "location_source"] == "postcode 2019/20 TW7 7LJ"
    assert sites.loc["RRU17", "located_by"] == "unlocated"
    assert sites.loc["RRU1D", "located_by"] == "unlocated"
    assert set(sites["source_file"]) == {path.name}
    rejected = pd.read_csv(out / "rejected.csv", dtype=str, keep_default_na=False)
    typo = rejected[(rejected["check"] == "postcode_not_found")]
    # RQMORS and RWK61 (E14 4DG) are the bundled return's own; RRU1D is the typo.
    assert sorted(typo["site_code"]) == ["RQMORS", "RRU1D", "RWK61"]
    assert "NW10 1RZ" in typo.loc[typo["site_code"] == "RRU1D", "reason"].iloc[0]
    unlocated = set(rejected.loc[rejected["check"] == "unlocated", "site_code"])
    assert {"RRU17", "RRU1D", "RWK2A"} <= unlocated
    years = pd.read_parquet(out / "site_years.parquet")
    assert len(years) == 853
    layer = pyogrio.read_info(out / "sites.gpkg", layer="site_years")
    assert int(layer["features"]) == 853
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert summary["years"]["2019/20"]["source_file"] == path.name
    assert summary["years"]["2019/20"]["located_by"]["unlocated"] == 3


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--year", "2030/31"], "no ERIC return of that year is loaded; loaded: 2013/14"),
        (["--year", "2019"], "2019"),
        (["--year", "2016/17", "--sites", "SITES"], "cannot be used with --sites"),
    ],
)
def test_a_bad_year_exits_2(tmp_path, cli, args, message):
    sites = tmp_path / "sites.csv"
    sites.write_text("site_code,site_name,latitude,longitude\nA,A,51.5,-0.1\n", encoding="utf-8")
    args = [str(sites) if a == "SITES" else a for a in args]
    result = cli("build", "--out", str(tmp_path / "out"), *args)
    assert result.exit_code == 2, result.output
    assert message in result.output
