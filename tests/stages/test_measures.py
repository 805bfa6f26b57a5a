"""Per-site measures on the real bundled data and on files without ERIC columns."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from estates.builder.pipeline import Inputs, run
from estates.errors import ConfigError
from estates.stages.measures import (
    BACKLOG_COLUMNS,
    MEASURE_COLUMNS,
    backlog_total,
    floor_area_derived,
    land_unused_share,
    measure_sites,
)


def test_measure_columns_are_in_the_site_table(bundled_result):
    sites = bundled_result.sites
    for column in MEASURE_COLUMNS:
        assert column in sites
        assert sites[column].dtype == "float64"
    assert sites.columns[-1] == "geometry"


def test_land_unused_share_matches_its_definition(bundled_result):
    sites = bundled_result.sites
    owned = sites["land_owned_ha"]
    expected = np.where(owned > 0, sites["land_unused_ha"] / owned.where(owned > 0), np.nan)
    np.testing.assert_allclose(sites["land_unused_share"], expected, equal_nan=True)
    assert sites.loc[owned == 0, "land_unused_share"].isna().all()
    share = sites["land_unused_share"].dropna()
    assert ((share >= 0) & (share <= 1)).all()


def test_backlog_total_is_the_sum_of_present_categories(bundled_result):
    sites = bundled_result.sites
    parts = sites[list(BACKLOG_COLUMNS)]
    all_missing = parts.isna().all(axis=1)
    assert sites.loc[all_missing, "backlog_total_gbp"].isna().all()
    present = ~all_missing
    np.testing.assert_allclose(
        sites.loc[present, "backlog_total_gbp"], parts[present].fillna(0).sum(axis=1)
    )
    # Northwick Park: its four costs, added by hand.
    row = sites.loc[sites.site_code == "R1K01"].iloc[0]
    assert row["backlog_total_gbp"] == pytest.approx(sum(row[c] for c in BACKLOG_COLUMNS))


def test_floor_areas_are_derived_from_gia_and_percentages(bundled_result):
    sites = bundled_result.sites
    np.testing.assert_allclose(
        sites["floor_empty_m2_derived"],
        sites["floor_area_gia_m2"] * sites["floor_empty_pct"] / 100,
        equal_nan=True,
    )
    np.testing.assert_allclose(
        sites["floor_underused_m2_derived"],
        sites["floor_area_gia_m2"] * sites["floor_underused_pct"] / 100,
        equal_nan=True,
    )


def test_pfi_and_quality_flags_are_carried(bundled_result):
    sites = bundled_result.sites
    assert sites["pfi"].dtype == bool
    assert sites.loc[sites.site_code == "RAX01", "pfi"].item()  # Kingston Hospital, PFI
    flags = sites.loc[sites.site_code == "RKL51", "quality_flags"].item()
    assert "outside_london" in flags.split(";")  # Broadmoor, placed by its postcode
    flags = sites.loc[sites.site_code == "RWK2A", "quality_flags"].item()
    assert "unlocated" in flags.split(";")


def test_share_is_nan_when_owned_is_zero_or_missing():
    frame = pd.DataFrame(
        {"land_owned_ha": [0.0, np.nan, 2.0], "land_unused_ha": [0.0, 1.0, np.nan]}
    )
    assert land_unused_share(frame).isna().all()


def test_backlog_total_keeps_missing_apart_from_zero():
    frame = pd.DataFrame({c: [np.nan, 0.0] for c in BACKLOG_COLUMNS})
    assert backlog_total(frame).tolist()[1] == 0.0
    assert math.isnan(backlog_total(frame).tolist()[0])


def test_floor_area_derived_refuses_other_columns():
    with pytest.raises(ConfigError, match="floor_empty_pct, floor_underused_pct"):
        floor_area_derived(pd.DataFrame(), "land_owned_ha")


def test_measures_without_eric_columns_are_nan_not_an_error():
    frame = pd.DataFrame({"site_code": ["A", "B"]})
    out = measure_sites(frame)
    assert out[list(MEASURE_COLUMNS)].isna().all().all()
    assert out["pfi"].tolist() == [False, False]
    assert "land_owned_ha" not in frame  # input unchanged


def test_measure_sites_leaves_its_input_unchanged(bundled_result):
    before = bundled_result.sites.drop(columns=list(MEASURE_COLUMNS)).copy()
    measure_sites(before)
    assert "land_unused_share" not in before


def test_user_site_file_without_land_columns_runs(write):
    path: Path = write(
        "sites.csv",
        "site_code,site_name,latitude,longitude\n"
        "X1,Clinic one,51.5308,-0.1238\n"
        "X2,Clinic two,51.4613,-0.1156\n",
    )
    result = run(Inputs(sites=(path,)))
    sites = result.sites
    assert sites[list(MEASURE_COLUMNS)].isna().all().all()
    assert sites["estimated_value_gbp"].isna().all()
    assert sites["disposal_rank"].isna().all()
    assert result.summary["valuation"]["method"] == "mhclg_2017_range"
    assert sites["value_basis"].eq("not valued: land not delivering services is not known").all()
    assert result.summary["london"]["value_low_gbp"] is None
    assert result.summary["london"]["sites_located"] == 2
