"""What the chunked build keeps while the parts go by gives what the whole table gives."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from estates.builder.accumulators import MapSelection, SiteTotals
from estates.builder.pipeline import Result
from estates.render.selection import page_sites
from estates.schema import MAP_COLUMNS

PILOTS = ["ncl_estates", "haringey_prevention", "hackney_integration", "lewisham_integration"]


def _drawn(sites: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """The sites some page may draw: in London, with a point."""
    return sites[sites["in_london"].to_numpy(dtype=bool) & sites["longitude"].notna().to_numpy()]


@pytest.mark.parametrize("limit", [3, 40, 100_000])
def test_map_selection_keeps_each_pages_best_of_the_whole_table(
    bundled_result: Result, limit: int
) -> None:
    sites = bundled_result.sites
    assert sites is not None
    # Slices of 29 rows, after one empty part: every page's best is cut many times.
    selection = MapSelection(limit, PILOTS)
    selection.add(sites.iloc[:0])
    for start in range(0, len(sites), 29):
        selection.add(sites.iloc[start : start + 29])
    kept = selection.result()

    drawn = _drawn(sites)
    expected = drawn.loc[page_sites(drawn, limit, PILOTS), [*MAP_COLUMNS, "geometry"]]
    assert 0 < len(kept) <= len(drawn)
    if limit < 100:
        assert len(kept) < len(drawn)
    pd.testing.assert_frame_equal(
        pd.DataFrame(kept.drop(columns="geometry")),
        pd.DataFrame(expected.drop(columns="geometry")),
    )
    assert kept.crs == expected.crs
    assert np.array_equal(kept.geometry.x, expected.geometry.x)
    assert np.array_equal(kept.geometry.y, expected.geometry.y)
    assert selection.totals["london"] == len(drawn)
    for pid in PILOTS:
        assert selection.totals[pid] == int(drawn[f"pilot_{pid}"].sum())


def test_map_selection_holds_at_most_each_pages_best_and_one_limit_waiting(
    bundled_result: Result,
) -> None:
    sites = bundled_result.sites
    assert sites is not None
    limit, part = 10, 29
    selection = MapSelection(limit, PILOTS)
    weighed = 0
    for start in range(0, len(sites), part):
        selection.add(sites.iloc[start : start + part])
        kept = 0 if selection._kept is None else len(selection._kept)
        assert kept <= (1 + len(PILOTS)) * limit
        assert selection._waiting_rows < limit  # weighed once at least ``limit`` rows wait
        weighed += selection._waiting_rows == 0
    # Not once per part: parts of fewer drawn rows than the limit wait for the next.
    assert 0 < weighed < len(range(0, len(sites), part))


def test_map_selection_without_a_part_refuses_a_result() -> None:
    with pytest.raises(ValueError, match="no part was added"):
        MapSelection(10, PILOTS).result()


def test_site_totals_keep_no_part_alive(bundled_result: Result) -> None:
    """The rows SiteTotals keeps per part own their memory, so each part can be freed.

    A part with no rejected record gave a slice of no rows, which held the whole
    part's text buffers until the build ended: about 75 bytes a site, every part.
    """
    sites = bundled_result.sites
    assert sites is not None
    totals = SiteTotals(pd.DataFrame(columns=["group_type", "group_id", "borough_code"]))
    before = pa.total_allocated_bytes()
    n = 200_000
    records = pd.DataFrame(
        {
            "source_file": pd.array(["sites.csv"] * n, dtype="string"),
            "source_row": np.arange(2, n + 2),
            "site_code": pd.array([f"S{i:08d}" for i in range(n)], dtype="string"),
            "site_name": pd.array([f"Synthetic site {i}" for i in range(n)], dtype="string"),
            "land_owned_ha": 1.0,
            "land_unused_ha": 0.5,
            "located_by": pd.array(["input_coordinates"] * n, dtype="string"),
            "join_method": pd.array(["within"] * n, dtype="string"),
        }
    )
    held = pa.total_allocated_bytes() - before
    assert held > 5_000_000  # the part's text is in Arrow buffers
    totals.add_records(records, records)  # every record kept: none rejected
    totals.add_records(records, records.iloc[5:])  # five rejected
    del records
    assert pa.total_allocated_bytes() - before < held / 20
    assert totals.rows_in == 2 * n
    assert totals.rejected_rows()["source_row"].tolist() == [2, 3, 4, 5, 6][:3]
