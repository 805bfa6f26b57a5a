"""The data dictionary describes exactly the columns the outputs have."""

from __future__ import annotations

from pathlib import Path

from estates.columns import load_columns, to_markdown

ROOT = Path(__file__).parents[1]


def test_every_output_column_is_described_and_every_described_one_exists(bundled_result):
    described = [c.name for c in load_columns()]
    assert len(described) == len(set(described)), "a column is described twice"
    actual = [c for c in bundled_result.sites.columns if c != "geometry"]
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
