"""What the chunked build keeps while the parts go by gives what the whole table gives."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest

from estates.builder.accumulators import MapSelection
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


def test_map_selection_without_a_part_refuses_a_result() -> None:
    with pytest.raises(ValueError, match="no part was added"):
        MapSelection(10, PILOTS).result()
