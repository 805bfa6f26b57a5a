"""The data dictionary describes exactly the columns the outputs have."""

from __future__ import annotations

from pathlib import Path

import pytest

from estates.columns import load_columns, load_orders, to_markdown
from estates.schema import is_group_flag

ROOT = Path(__file__).parents[1]


def test_every_output_column_is_described_and_every_described_one_exists(bundled_result):
    described = [c.name for c in load_columns()]
    assert len(described) == len(set(described)), "a column is described twice"
    # A family (pilot_<id>) describes one column per group of the groupings file.
    families = {c.prefix: c.name for c in load_columns() if c.is_family}
    assert set(families.values()) == {"pilot_<id>", "subregion_<id>"}
    actual = [c for c in bundled_result.sites.columns if c != "geometry"]
    actual = [
        next(
            (
                name
                for prefix, name in families.items()
                if c.startswith(prefix) and is_group_flag(c)
            ),
            c,
        )
        for c in actual
    ]
    assert sorted(set(actual) - set(described)) == [], "undocumented output columns"
    assert sorted(set(described) - set(actual)) == [], "documented columns not in the output"


def test_every_entry_is_complete():
    for column in load_columns():
        assert column.meaning, column.name
        assert column.source, column.name
        assert column.derivation, column.name
        assert column.type in {"string", "float", "integer", "boolean"}, column.name


def test_docs_table_is_generated_from_the_dictionary():
    assert (ROOT / "docs" / "columns.md").read_text(encoding="utf-8") == to_markdown(load_columns())


def test_column_orders_come_from_the_dictionary_alone(bundled_result):
    from estates.render.columns import SITE_COLUMNS as RENDERED
    from estates.schema import MAP_COLUMNS, SITE_COLUMNS, SITE_YEARS_LEADING

    assert RENDERED == MAP_COLUMNS
    assert [c for c in SITE_COLUMNS if c in MAP_COLUMNS] == list(MAP_COLUMNS)
    assert list(bundled_result.map_sites.columns) == [*MAP_COLUMNS, "geometry"]
    years = bundled_result.site_years
    assert list(years.columns[: len(SITE_YEARS_LEADING)]) == list(SITE_YEARS_LEADING)


def test_an_order_naming_an_undescribed_column_is_refused(tmp_path):
    dictionary = tmp_path / "columns.toml"
    dictionary.write_text(
        '[orders]\nsite_years = ["site_code", "no_such_column"]\n\n'
        '[[column]]\nname = "site_code"\ntype = "string"\nunit = ""\nmeaning = "m"\n'
        'source = "s"\nderivation = "d"\n',
        encoding="utf-8",
    )
    with pytest.raises(ValueError, match=r"order site_years names .*no_such_column"):
        load_orders(dictionary)
