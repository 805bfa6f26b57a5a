"""summary.json: reconciliation with the source, the pipeline, and the keys the maps read."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from estates.builder.pipeline import Inputs, run
from estates.errors import DataValidationError
from estates.findings import Findings
from estates.io import bundled
from estates.io.csv_reader import parse_numbers, read_csv_text
from estates.io.tables import write_json
from estates.report.disposal import PIPELINE_STAGES

SCORING = Path(__file__).parents[1] / "data" / "scoring"
PIPELINE = SCORING / "pipeline_test.csv"
TOL = 1e-6


@pytest.fixture(scope="module")
def trust_totals() -> tuple[float, float]:
    """Land owned and not delivering services (ha) from the ERIC *trust*-level file."""
    path = bundled.eric_trust_path()
    text = read_csv_text(path, Findings())
    owned = parse_numbers(
        text["Land area owned (Hectares)"], column="owned", source_file=path.name, findings=None
    )
    unused = parse_numbers(
        text["Land area not delivering services (Hectares)"],
        column="unused",
        source_file=path.name,
        findings=None,
    )
    return float(owned.sum()), float(unused.sum())


@pytest.fixture(scope="module")
def progress_result():
    # The test pipeline file names 2016/17 site codes.
    return run(Inputs(pipeline=PIPELINE, year="2016/17"))


def test_reconciliation_adds_up_to_the_eric_totals(result_2016, trust_totals):
    # The trust-level file is of 2016/17: reconcile a build of that year with it.
    rec = result_2016.summary["reconciliation"]
    buckets = rec["buckets"]
    assert list(buckets) == [
        "inside_london",
        "outside_london",
        "unlocated",
        "aggregate",
        "rejected",
    ]
    owned = sum(b["land_owned_ha"] for b in buckets.values())
    unused = sum(b["land_unused_ha"] for b in buckets.values())
    assert owned == pytest.approx(826.3, abs=TOL)
    assert unused == pytest.approx(148.69, abs=TOL)
    assert rec["total"]["land_owned_ha"] == pytest.approx(826.3, abs=TOL)
    assert rec["total"]["land_unused_ha"] == pytest.approx(148.69, abs=TOL)
    # ... and to an independent source: the ERIC trust-level file.
    assert owned == pytest.approx(trust_totals[0], abs=TOL)
    assert unused == pytest.approx(trust_totals[1], abs=TOL)
    assert rec["balanced"] is True
    assert sum(b["rows"] for b in buckets.values()) == rec["total"]["rows"] == 172


def test_reconciliation_buckets_report_the_data_as_it_is(result_2016):
    buckets = result_2016.summary["reconciliation"]["buckets"]
    sites = result_2016.sites
    assert {k: b["rows"] for k, b in buckets.items()} == {
        "inside_london": 124,
        "outside_london": 13,
        "unlocated": 7,
        "aggregate": 28,
        "rejected": 0,
    }
    outside = sites.loc[sites.join_method == "outside", "site_code"]
    assert sorted(outside) == [
        "RATAF", "RATRM", "RKL51", "RPGAB", "RV351", "RV3HA", "RV3HD",
        "RV3HE", "RV52C", "RVR50", "RWK2K", "RWK2X", "RWKJD",
    ]  # fmt: skip
    # Broadmoor, placed by its 2019/20 postcode in Crowthorne: the largest outside London.
    broadmoor = buckets["outside_london"]["largest"][0]
    assert broadmoor["site_code"] == "RKL51"
    assert broadmoor["land_unused_ha"] == pytest.approx(105.0)
    assert buckets["unlocated"]["largest"][0]["site_code"] == "RPGED"
    inside = buckets["inside_london"]
    london = result_2016.summary["london"]
    assert inside["land_owned_ha"] == pytest.approx(london["land_owned_ha"], abs=TOL)
    assert inside["land_unused_ha"] == pytest.approx(london["land_unused_ha"], abs=TOL)
    for key in ("outside_london", "unlocated", "aggregate"):
        frame = sites[_bucket_mask(sites, key)]
        assert buckets[key]["land_owned_ha"] == pytest.approx(frame.land_owned_ha.sum(), abs=TOL)
        assert buckets[key]["land_unused_ha"] == pytest.approx(frame.land_unused_ha.sum(), abs=TOL)


def _bucket_mask(sites, key):
    if key == "outside_london":
        return sites.join_method == "outside"
    return sites.located_by == key


def test_summary_has_every_section_and_the_keys_the_maps_read(bundled_result):
    summary = bundled_result.summary
    for key in (
        "target_gbp",
        "target_source",
        "valuation",
        "london",
        "boroughs",
        "pilots",
        "subregions",
        "pipeline",
        "reconciliation",
        "counts",
        "sources",
    ):
        assert key in summary
    assert summary["target_gbp"] == 11e9
    assert summary["counts"] == bundled_result.counts
    for key in ("land_owned_ha", "land_unused_ha", "estimated_value_gbp", "share_of_target"):
        assert isinstance(summary["london"][key], float)
    assert isinstance(summary["london"]["sites_located"], int)
    for block in summary["pilots"].values():
        for key in (
            "name",
            "borough_codes",
            "land_unused_ha",
            "estimated_value_gbp",
            "share_of_target",
        ):
            assert key in block
        assert isinstance(block["sites"], int)
    assert {"method", "gbp_per_ha", "label", "sources"} <= set(summary["valuation"])
    names = [s["name"] for s in summary["sources"]]
    # Every bundled data set the build read, as data/ATTRIBUTION.md lists them.
    assert [n.split(",")[0] for n in names] == [
        "Estates Returns Information Collection (ERIC) 2019/20",
        "Estates Returns Information Collection (ERIC) 2016/17",
        "ERIC site returns 2013/14 to 2015/16",
        "NHS Choices (now NHS.UK) hospital and clinic data",
        "ONS Postcode Directory (NSPL",
        "London borough boundaries (May 2020)",
        "Land value estimates for policy appraisal 2017",
    ]
    attributions = " ".join(s["attribution"] for s in summary["sources"])
    assert "Contains Royal Mail data" in attributions
    assert "Contains OS data © Crown copyright and database right 2020" in attributions
    assert all({"name", "attribution", "licence"} <= set(s) for s in summary["sources"])


def test_summary_writes_as_strict_json(bundled_result, tmp_path):
    path = write_json(bundled_result.summary, tmp_path / "summary.json")
    text = path.read_text(encoding="utf-8")
    data = json.loads(text, parse_constant=lambda c: pytest.fail(f"{c} in summary.json"))
    assert data["pipeline"]["cumulative"][0]["rank"] == 1


def test_cumulative_pipeline_in_rank_order(bundled_result):
    pipeline = bundled_result.summary["pipeline"]
    cumulative = pipeline["cumulative"]
    ranked = bundled_result.sites.dropna(subset=["disposal_rank"]).sort_values("disposal_rank")
    assert [c["site_code"] for c in cumulative] == ranked["site_code"].tolist()
    assert [c["rank"] for c in cumulative] == list(range(1, len(ranked) + 1))
    running = 0.0
    running_ha = 0.0
    for entry, (_, row) in zip(cumulative, ranked.iterrows(), strict=True):
        running += row["estimated_value_gbp"]
        running_ha += row["land_unused_ha"]
        assert entry["cumulative_value_gbp"] == pytest.approx(running, abs=1)
        assert entry["cumulative_land_unused_ha"] == pytest.approx(running_ha, abs=TOL)
        assert entry["cumulative_share_of_target"] == pytest.approx(running / 11e9, abs=1e-9)
        assert set(entry) == {
            "rank",
            "site_code",
            "site_name",
            "borough_name",
            "land_unused_ha",
            "estimated_value_gbp",
            "cumulative_value_gbp",
            "cumulative_land_unused_ha",
            "cumulative_share_of_target",
        }
    london = bundled_result.summary["london"]
    assert pipeline["land_unused_ha"] == pytest.approx(london["land_unused_ha"], abs=TOL)
    assert pipeline["share_of_target"] == pytest.approx(london["share_of_target"], abs=1e-9)
    assert pipeline["progress"] is None
    assert [m["share"] for m in pipeline["milestones"]] == [0.1, 0.25, 0.5, 1.0]


def test_pipeline_file_stages_and_receipts(progress_result):
    progress = progress_result.summary["pipeline"]["progress"]
    assert progress["file"] == "pipeline_test.csv"
    assert progress["rows_read"] == 14
    assert progress["rows_accepted"] == 6
    assert progress["rows_rejected"] == 8
    stages = progress["stages"]
    assert list(stages) == list(PIPELINE_STAGES)
    assert {s: stages[s]["sites"] for s in PIPELINE_STAGES} == {
        "identified": 2,
        "declared_surplus": 2,
        "on_market": 1,
        "sold": 1,
    }
    sites = progress_result.sites.set_index("site_code")
    value = sites["estimated_value_gbp"]
    assert stages["sold"]["receipts_gbp"] == 150_000_000
    assert stages["on_market"]["estimated_value_gbp"] == pytest.approx(value["RAS02"], abs=1)
    # RPGAB (outside London) and Broadmoor (unlocated) are accepted but have no value.
    assert stages["identified"]["estimated_value_gbp"] == pytest.approx(value["RKL48"], abs=1)
    assert stages["declared_surplus"]["estimated_value_gbp"] == pytest.approx(value["R1K01"], abs=1)
    assert progress["sites_not_valued"] == 2
    not_sold = value["RAS02"] + value["R1K01"] + value["RKL48"]
    assert progress["realised_receipts_gbp"] == 150_000_000
    assert progress["estimated_value_not_sold_gbp"] == pytest.approx(not_sold, abs=3)
    assert progress["total_gbp"] == pytest.approx(150e6 + not_sold, abs=3)
    assert progress["share_of_target"] == pytest.approx((150e6 + not_sold) / 11e9, abs=1e-9)


def test_pipeline_file_bad_rows_are_recorded_rejections(progress_result):
    rejected = [f for f in progress_result.findings if f.source_file == "pipeline_test.csv"]
    assert all(f.action == "rejected" for f in rejected)
    by_row = {(f.row, f.check) for f in rejected}
    assert by_row == {
        (8, "unknown_site_code"),
        (9, "unknown_stage"),
        (10, "sold_without_receipts"),
        (11, "bad_date"),
        (12, "receipts_not_sold"),
        (13, "duplicate_site_code"),
        (14, "bad_receipts"),
        (15, "unknown_site_code"),
    }
    stage = next(f for f in rejected if f.check == "unknown_stage")
    assert stage.column == "stage"
    assert stage.value == "demolished"
    assert "identified, declared_surplus, on_market, sold" in stage.reason
    date = next(f for f in rejected if f.check == "bad_date")
    assert str(date).startswith("pipeline_test.csv row 11 (site RKL62): date '01/04/2018'")
    assert "YYYY-MM-DD" in date.reason


def test_unusable_pipeline_file_is_an_error(write):
    path = write("pipeline.csv", "site_code,stage,date\nNOPE1,identified,2018-01-01\n")
    with pytest.raises(
        DataValidationError, match=r"pipeline.csv: no usable rows .* row 2 \(site NOPE1\)"
    ):
        run(Inputs(pipeline=path))


def test_pipeline_file_needs_its_columns(write):
    path = write("pipeline.csv", "site_code,status\nRAN01,sold\n")
    with pytest.raises(
        DataValidationError, match=r"pipeline\.csv: missing columns 'stage' and 'date'"
    ):
        run(Inputs(pipeline=path))


def test_a_long_pipeline_lists_the_first_ranks_then_evenly_spaced_ones(bundled_result, monkeypatch):
    from estates.report import disposal as progress

    sites = bundled_result.sites
    ranked = sites.dropna(subset=["disposal_rank"]).sort_values("disposal_rank")
    assert len(ranked) > 10  # the bundled data rank enough sites to sample
    # A target the ranked sites nearly reach, so three milestones have sites to count.
    target = float(ranked["estimated_value_gbp"].sum()) * 1.1
    full, _ = progress.summarise_pipeline(sites, None, target_gbp=target)
    monkeypatch.setattr(progress, "CUMULATIVE_LISTED", 4)
    short, _ = progress.summarise_pipeline(sites, None, target_gbp=target)

    every = full["cumulative"]
    assert full["cumulative_listed"] == "every ranked site"
    assert [c["rank"] for c in every] == list(range(1, len(ranked) + 1))
    listed = short["cumulative"]
    ranks = [c["rank"] for c in listed]
    assert ranks[:4] == [1, 2, 3, 4]
    assert ranks[-1] == len(ranked)
    assert len(ranks) == 8
    assert ranks == sorted(set(ranks))
    assert listed == [every[r - 1] for r in ranks]  # the same entries, running totals of all
    assert short["cumulative_listed"].startswith("the first 4 ranked sites, then 4 evenly")
    for key in ("ranked_sites", "land_unused_ha", "estimated_value_gbp", "share_of_target"):
        assert short[key] == full[key]
    assert short["milestones"] == full["milestones"]
    assert [m["reached"] for m in full["milestones"]] == [True, True, True, False]


RANGE_KEYS = ("value_low_gbp", "value_high_gbp", "share_of_target_low", "share_of_target_high")


def test_value_ranges_add_up_from_boroughs_to_pilots_subregions_and_london(bundled_result):
    summary = bundled_result.summary
    boroughs = summary["boroughs"]
    for section in ("boroughs", "pilots", "subregions"):
        for entry in summary[section].values():
            assert all(key in entry for key in RANGE_KEYS), section
    london = summary["london"]
    for key in ("value_low_gbp", "value_high_gbp"):
        assert sum(b[key] for b in boroughs.values()) == pytest.approx(london[key], abs=40)
        for group in (*summary["pilots"].values(), *summary["subregions"].values()):
            members = sum(boroughs[c][key] for c in group["borough_codes"] if c in boroughs)
            assert group[key] == pytest.approx(members, abs=40)
    assert london["value_low_gbp"] < london["estimated_value_gbp"] < london["value_high_gbp"]
    assert london["share_of_target_low"] == pytest.approx(london["value_low_gbp"] / 11e9)
    # The borough layer (sites.gpkg "boroughs") carries the range too.
    layer = bundled_result.boroughs.set_index("borough_code")
    assert layer.loc["E09000015", "value_low_gbp"] == pytest.approx(
        boroughs["E09000015"]["value_low_gbp"], abs=1
    )
    assert {"value_high_gbp", "share_of_target_low", "share_of_target_high"} <= set(layer)


def test_a_pilot_with_no_land_not_delivering_services_reads_zero_not_null(bundled_result):
    pilot = bundled_result.summary["pilots"]["hackney_integration"]
    assert pilot["land_unused_ha"] == 0.0
    assert (pilot["value_low_gbp"], pilot["value_high_gbp"]) == (0.0, 0.0)


def test_the_valuation_section_names_method_basis_source_date_and_caveat(bundled_result):
    valuation = bundled_result.summary["valuation"]
    assert valuation["method"] == "mhclg_2017_range"
    assert valuation["basis"] == "MHCLG 2017 policy-appraisal: industrial–residential"
    assert valuation["source"] == "MHCLG Land value estimates for policy appraisal 2017"
    assert valuation["valuation_date"] == "2017-04-01"
    assert valuation["caveat"] == "at 2017 policy-appraisal values, not market values"
    assert len(valuation["industrial_areas"]["by_borough"]) == 33  # boroughs with a London site
