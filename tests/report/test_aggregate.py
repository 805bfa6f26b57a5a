"""Totals by borough, pilot, sub-region and London, checked against the site table."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from estates.errors import ConfigError
from estates.report.aggregate import BOROUGH_COLUMNS, aggregate_groups
from estates.report.tally import TallyColumns, group_tallies, site_tallies

TARGET = 11e9


def _expected(sites: pd.DataFrame, codes: list[str]) -> dict[str, float]:
    """Totals of the located London sites in ``codes``, computed here from scratch."""
    mask = sites["in_london"].astype(bool) & sites["borough_code"].isin(codes)
    group = sites[mask]
    return {
        "land_owned_ha": float(group["land_owned_ha"].sum()),
        "land_unused_ha": float(group["land_unused_ha"].sum()),
        "estimated_value_gbp": float(group["estimated_value_gbp"].sum()),
        "share_of_target": float(group["estimated_value_gbp"].sum()) / TARGET,
        "backlog_total_gbp": float(group["backlog_total_gbp"].sum()),
        "sites_located": len(group),
        "sites_ranked": int(group["disposal_rank"].notna().sum()),
    }


def _check(block: dict, expected: dict[str, float]) -> None:
    assert block["land_owned_ha"] == pytest.approx(expected["land_owned_ha"], abs=1e-6)
    assert block["land_unused_ha"] == pytest.approx(expected["land_unused_ha"], abs=1e-6)
    assert block["estimated_value_gbp"] == pytest.approx(expected["estimated_value_gbp"], abs=1)
    assert block["share_of_target"] == pytest.approx(expected["share_of_target"], abs=1e-9)
    assert block["backlog_total_gbp"] == pytest.approx(expected["backlog_total_gbp"], abs=1)
    assert block["sites_located"] == expected["sites_located"]
    assert block["sites_ranked"] == expected["sites_ranked"]


@pytest.mark.parametrize(
    "pilot",
    [
        "ncl_estates",
        "hackney_integration",
        "lewisham_integration",
        "haringey_prevention",
        "bhr_aco",
    ],
)
def test_pilot_totals_match_the_site_table(bundled_result, pilot):
    groupings = bundled_result.groupings
    codes = groupings.loc[groupings.group_id == pilot, "borough_code"].tolist()
    block = bundled_result.summary["pilots"][pilot]
    assert block["borough_codes"] == codes
    assert block["sites"] == block["sites_located"]
    _check(block, _expected(bundled_result.sites, codes))


def test_pilot_top_sites_are_in_pilot_rank_order(bundled_result):
    top = bundled_result.summary["pilots"]["ncl_estates"]["top_sites"]
    codes = ["RRP03", "TAF10", "RRP47", "RRP02", "RP401"]
    assert [s["site_code"] for s in top] == codes
    assert [s["rank"] for s in top] == [1, 2, 3, 4, 5]
    sites = bundled_result.sites.set_index("site_code")
    assert [s["disposal_rank"] for s in top] == [int(sites.at[c, "disposal_rank"]) for c in codes]


def test_subregion_totals_match_the_site_table_and_add_up_to_london(bundled_result):
    groupings = bundled_result.groupings
    subregions = bundled_result.summary["subregions"]
    assert list(subregions) == ["ncl", "nel", "nwl", "sel", "swl"]
    for sid, block in subregions.items():
        codes = groupings.loc[groupings.group_id == sid, "borough_code"].tolist()
        _check(block, _expected(bundled_result.sites, codes))
    london = bundled_result.summary["london"]
    for key in ("land_owned_ha", "land_unused_ha", "sites_located"):
        assert sum(b[key] for b in subregions.values()) == pytest.approx(london[key], abs=1e-6)


def test_london_totals_and_rows_in_no_borough(bundled_result):
    sites = bundled_result.sites
    london = bundled_result.summary["london"]
    every = sites["borough_code"].dropna().unique().tolist()
    _check(london, _expected(sites, every))
    assert london["sites_located"] == 141
    assert london["sites_outside_london"] == 15
    assert london["sites_unlocated"] == 1
    assert london["aggregate_rows"] == 28
    nowhere = london["not_in_any_borough"]
    mask = sites["located_by"].isin(["unlocated", "aggregate"])
    assert nowhere["rows"] == mask.sum() == 29
    # No 2019/20 row without a borough reports unused land: unknown, not 0.
    assert sites.loc[mask, "land_unused_ha"].isna().all()
    assert nowhere["land_unused_ha"] is None


def test_borough_layer_has_the_totals(bundled_result):
    boroughs = bundled_result.boroughs
    for column in BOROUGH_COLUMNS:
        assert column in boroughs
    assert boroughs["sites_located"].dtype.kind == "i"
    assert boroughs.crs.to_string() == "EPSG:4326"
    assert boroughs.columns[-1] == boroughs.geometry.name
    sites = bundled_result.sites
    for _, row in boroughs.iterrows():
        _check(
            {**row.to_dict(), "sites_ranked": _expected(sites, [row.borough_code])["sites_ranked"]},
            _expected(sites, [row.borough_code]),
        )
    # Every borough has a located 2019/20 site; Merton (none in 2016/17) has two.
    assert (boroughs["sites_located"] > 0).all()
    merton = boroughs.set_index("borough_code").loc["E09000024"]
    assert merton["sites_located"] == 2
    assert merton["land_owned_ha"] == pytest.approx(
        sites.loc[sites["borough_code"] == "E09000024", "land_owned_ha"].sum()
    )
    assert boroughs["land_unused_ha"].sum() == pytest.approx(
        bundled_result.summary["london"]["land_unused_ha"]
    )


def test_borough_section_of_the_summary(bundled_result):
    boroughs = bundled_result.summary["boroughs"]
    assert len(boroughs) == 33
    harrow = boroughs["E09000015"]
    assert harrow["name"] == "Harrow"
    assert harrow["subregion"] == "nwl"
    row = bundled_result.boroughs.set_index("borough_code").loc["E09000015"]
    assert harrow["land_unused_ha"] == pytest.approx(row["land_unused_ha"])


def test_unknown_group_type_is_refused(bundled_result):
    with pytest.raises(ConfigError, match="'pilot', 'subregion'"):
        aggregate_groups(
            bundled_result.sites,
            bundled_result.groupings,
            site_tallies(bundled_result.sites, bundled_result.groupings),
            group_type="stp",
            target_gbp=TARGET,
        )


def test_groups_without_values_report_null_not_zero():
    sites = pd.DataFrame(
        {
            "borough_code": ["a"],
            "in_london": [True],
            "land_owned_ha": [np.nan],
            "land_unused_ha": [np.nan],
        }
    )
    groupings = pd.DataFrame(
        {
            "group_type": ["pilot"],
            "group_id": ["p"],
            "group_name": ["P"],
            "borough_code": ["a"],
        }
    )
    tallies = site_tallies(sites, groupings)
    block = aggregate_groups(sites, groupings, tallies, group_type="pilot", target_gbp=TARGET)["p"]
    assert block["land_owned_ha"] is None
    assert block["estimated_value_gbp"] is None
    assert block["sites_located"] == 1


def test_group_tallies_are_each_groups_rows_tallied_alone(bundled_result):
    """Each borough's and group's tally is that of a mask of its own rows, sums' partials too."""
    sites, groupings = bundled_result.sites, bundled_result.groupings
    # The bundled sites three times over, shuffled: every borough's rows are scattered.
    frame = pd.concat([sites] * 3, ignore_index=True).sample(frac=1, random_state=3)
    tallies = group_tallies(frame, groupings)
    columns = TallyColumns.of(frame)
    london = frame["in_london"].to_numpy(dtype=bool)
    codes = frame["borough_code"].astype("string").where(london)
    boroughs = [k for k in tallies if k[0] == "borough"]
    assert [k[1] for k in boroughs] == list(pd.unique(codes.dropna()))
    assert len(boroughs) > 20
    for _, code in boroughs:
        assert tallies[("borough", code)] == columns.tally((codes == code).fillna(False).to_numpy())
    groups = [k for k in tallies if k[0] in ("pilot", "subregion")]
    assert len(groups) == len(groupings[["group_type", "group_id"]].drop_duplicates())
    for group_type, gid in groups:
        members = groupings.loc[groupings["group_id"] == gid, "borough_code"]
        mask = london & codes.isin(members).to_numpy(dtype=bool)
        assert tallies[(group_type, gid)] == columns.tally(mask), gid
        assert tallies[(group_type, gid)].rows == mask.sum() > 0
