"""How tables are written: numbers as a spreadsheet reader expects them."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from estates.io.tables import _plain_number, plain_numbers, write_csv


@given(st.lists(st.floats(allow_infinity=False), max_size=50))
@example([-1e-12, 123456789.123, 0.12345678905, 1 / 3, 2 / 3 * 1e9])
@example([0.1, 1e-05, 1e-11, 123456.789012345678, -0.0, 2.5e15, 1e300, 5e-324, 0.30000000000000004])
def test_plain_numbers_equal_one_by_one(values: list[float]) -> None:
    array = np.array(values, dtype=float)
    assert plain_numbers(array).tolist() == [_plain_number(v) for v in values]


def test_plain_numbers_of_measured_values() -> None:
    hectares = np.random.default_rng(7).uniform(0, 500, 100_000).round(2)
    expected = [_plain_number(v) for v in hectares.tolist()]
    assert plain_numbers(hectares).tolist() == expected


@pytest.mark.parametrize("bom", [False, True])
def test_csv_written_in_chunks_equals_one_piece(tmp_path: Path, bundled_result, bom: bool) -> None:
    sites = bundled_result.sites.copy()
    sites["surveyed"] = pd.to_datetime("2017-03-31") + pd.to_timedelta(
        np.arange(len(sites)) % 3, unit="D"
    )
    sites.loc[5, "surveyed"] = pd.NaT
    whole = write_csv(sites, tmp_path / "whole.csv", bom=bom, chunk_rows=10**6)
    pieces = write_csv(sites, tmp_path / "pieces.csv", bom=bom, chunk_rows=7)
    assert pieces.read_bytes() == whole.read_bytes()
    text = whole.read_text(encoding="utf-8-sig")
    assert text.count("\n") == len(sites) + 1
    assert "2017-04-02" in text
    assert "geometry" not in text.splitlines()[0]
    assert whole.read_bytes().startswith(b"\xef\xbb\xbf") is bom


def test_csv_of_an_empty_table_has_its_header(tmp_path: Path) -> None:
    path = write_csv(pd.DataFrame({"a": [], "b": []}), tmp_path / "empty.csv", chunk_rows=5)
    assert path.read_text() == "a,b\n"
