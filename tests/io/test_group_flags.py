"""Outputs that filter easily: a boolean per pilot and sub-region, one flag dtype, sites first."""

from __future__ import annotations

import csv
import warnings
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyarrow.parquet as pq
import pyogrio
import pytest

from estates.errors import DataValidationError
from estates.io.gpkg import add_layers
from estates.io.inputs import load_groupings
from estates.io.tables import write_site_table
from estates.schema import BOOLEAN_COLUMNS, is_group_flag
from estates.stages.tag import pilot_ids, subregion_ids

GROUPINGS = load_groupings()
FLAGS = [
    *(f"pilot_{gid}" for gid in pilot_ids(GROUPINGS)),
    *(f"subregion_{gid}" for gid in subregion_ids(GROUPINGS)),
]


@pytest.fixture(scope="module")
def written(bundled_result, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The bundled build's site table written as the build writes it, with every layer."""
    out = tmp_path_factory.mktemp("flags")
    write_site_table(bundled_result.sites, out)
    add_layers(
        out / "sites.gpkg",
        boroughs=bundled_result.boroughs,
        context=bundled_result.context,
        summary=bundled_result.summary,
    )
    return out


def test_one_flag_per_group_right_after_the_text_columns(bundled_result):
    sites = bundled_result.sites
    columns = list(sites.columns)
    at = columns.index("pilots") + 1
    assert columns[at : at + len(FLAGS)] == FLAGS
    assert FLAGS == [
        "pilot_ncl_estates",
        "pilot_hackney_integration",
        "pilot_lewisham_integration",
        "pilot_haringey_prevention",
        "pilot_bhr_aco",
        "subregion_ncl",
        "subregion_nel",
        "subregion_nwl",
        "subregion_sel",
        "subregion_swl",
    ]
    pilots = sites["pilots"].fillna("").str.split(";")
    for gid in pilot_ids(GROUPINGS):
        assert sites[f"pilot_{gid}"].tolist() == [gid in p for p in pilots]
    for gid in subregion_ids(GROUPINGS):
        assert (
            sites[f"subregion_{gid}"].tolist() == (sites["subregion"] == gid).fillna(False).tolist()
        )
    # Haringey is in two pilots; a site outside London is in none
    assert sites["pilot_ncl_estates"].sum() > 0
    haringey = sites["borough_name"] == "Haringey"
    assert (sites.loc[haringey, "pilot_haringey_prevention"]).all()
    assert not sites.loc[~sites["in_london"], FLAGS].to_numpy().any()


def test_every_flag_is_numpy_bool_in_memory(bundled_result):
    sites = bundled_result.sites
    flags = [c for c in sites.columns if c in BOOLEAN_COLUMNS or is_group_flag(c)]
    assert {"in_london", "pfi", "is_aggregate", *FLAGS} <= set(flags)
    assert {c: str(sites[c].dtype) for c in flags} == dict.fromkeys(flags, "bool")


def test_the_files_hold_the_flags_as_booleans(bundled_result, written: Path):
    sites = bundled_result.sites
    schema = pq.read_schema(written / "sites.parquet")
    for column in ("in_london", "pfi", "is_aggregate", *FLAGS):
        assert str(schema.field(column).type) == "bool", column
    layer = pyogrio.read_dataframe(written / "sites.gpkg", layer="sites")
    for column in ("in_london", "pfi", "is_aggregate", *FLAGS):
        assert str(layer[column].dtype) == "bool", column
        assert layer[column].tolist() == sites[column].tolist(), column
    with (written / "sites.csv").open(encoding="utf-8") as handle:
        header = next(csv.reader(handle))
        rows = list(csv.reader(handle))
    at = header.index("pilots") + 1
    assert header[at : at + len(FLAGS)] == FLAGS
    col = header.index("pilot_ncl_estates")
    assert {row[col] for row in rows} == {"true", "false"}
    assert [row[col] == "true" for row in rows] == sites["pilot_ncl_estates"].tolist()


def test_filtering_is_one_expression(written: Path):
    table = gpd.read_parquet(written / "sites.parquet")
    ncl = table[table["pilot_ncl_estates"]]
    assert len(ncl) == table["pilots"].str.contains("ncl_estates").sum() > 0
    assert set(ncl["borough_name"]) <= {"Barnet", "Camden", "Enfield", "Haringey", "Islington"}


def test_sites_is_the_geopackages_first_layer(bundled_result, written: Path):
    layers = [name for name, _ in pyogrio.list_layers(written / "sites.gpkg")]
    assert layers[0] == "sites"
    assert {"boroughs", "pilots", "subregions", "nhs_context"} <= set(layers)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        opened = gpd.read_file(written / "sites.gpkg")
    assert "'sites' (default)" in str(caught[0].message)
    assert len(opened) == len(bundled_result.sites)
    assert opened["site_code"].tolist() == bundled_result.sites["site_code"].tolist()
    assert str(opened["pilot_ncl_estates"].dtype) == "bool"


def test_two_ids_giving_one_flag_column_are_refused(tmp_path: Path):
    frame = pd.read_csv(
        Path(__file__).parents[2] / "data" / "boundaries" / "london_groupings.csv", dtype=str
    )
    twin = frame[frame["group_id"] == "ncl_estates"].assign(group_id="NclEstates")
    path = tmp_path / "groupings.csv"
    pd.concat([frame, twin]).to_csv(path, index=False)
    with pytest.raises(DataValidationError) as err:
        load_groupings(path)
    assert str(err.value) == (
        "groupings.csv: pilot ids 'ncl_estates' and 'NclEstates' both give the flag column "
        "'pilot_ncl_estates'; make the ids differ by more than case and underscores"
    )


def test_a_group_id_that_names_a_site_table_column_is_refused(tmp_path: Path):
    frame = pd.read_csv(
        Path(__file__).parents[2] / "data" / "boundaries" / "london_groupings.csv", dtype=str
    )
    frame.loc[frame["group_id"] == "swl", "group_id"] = "rank"
    path = tmp_path / "groupings.csv"
    frame.to_csv(path, index=False)
    with pytest.raises(DataValidationError, match="'subregion_rank', which the site table"):
        load_groupings(path)
