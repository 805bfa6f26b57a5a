"""How tables are written: numbers as a spreadsheet reader expects them, text made safe."""

from __future__ import annotations

import csv
import io
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from estates.io.csv_text import (
    column_texts,
    csv_rows,
    fixed_texts,
    plain_number,
    plain_numbers,
    quote_fields,
    safe_texts,
    spreadsheet_safe,
)
from estates.io.tables import append_csv, write_csv


def _old_plain_number(value: float) -> str:
    """The formatter ``sites.csv`` used before the vectorised one, kept as the reference."""
    if math.isnan(value):
        return ""
    if value == int(value) and abs(value) < 1e15:
        return str(int(value))
    return np.format_float_positional(value, precision=10, trim="-")


def _old_csv(frame: pd.DataFrame) -> str:
    """The CSV writer before the Arrow one (pandas ``to_csv``), kept as the reference."""
    out = pd.DataFrame(frame)
    for column in out.columns:
        series = out[column]
        if pd.api.types.is_float_dtype(series):
            out[column] = [_old_plain_number(v) for v in series.to_numpy(dtype=float).tolist()]
        elif pd.api.types.is_bool_dtype(series):
            out[column] = series.map({True: "true", False: "false"})
    buffer = io.StringIO()
    out.to_csv(buffer, index=False, lineterminator="\n")
    return buffer.getvalue()


@given(st.lists(st.floats(allow_infinity=False), max_size=50))
@example([-1e-12, 123456789.123, 0.12345678905, 1 / 3, 2 / 3 * 1e9])
@example([0.1, 1e-05, 1e-11, 123456.789012345678, -0.0, 2.5e15, 1e300, 5e-324, 0.30000000000000004])
@example([1e15 + 0.5, 999999999999999.9, 1e16, 123456789012.12345, 1e-4, 0.00012])
@example([math.nan, math.nan, math.nan])
@example([math.nan, 1 / 3, math.nan, 1e-12, 2.0, math.nan])
@example([])
def test_plain_numbers_equal_the_old_formatter(values: list[float]) -> None:
    array = np.array(values, dtype=float)
    expected = [_old_plain_number(v) for v in values]
    assert plain_numbers(array).tolist() == expected
    assert [plain_number(v) for v in values] == expected


def test_plain_numbers_of_measured_values() -> None:
    hectares = np.random.default_rng(7).uniform(0, 500, 100_000).round(2)
    expected = [_old_plain_number(v) for v in hectares.tolist()]
    assert plain_numbers(hectares).tolist() == expected


def _printf_fixed(value: float) -> str:
    return ("%.10f" % value).rstrip("0").rstrip(".")  # noqa: UP031 - the rule itself


@given(st.lists(st.floats(min_value=-1e15, max_value=1e15, exclude_max=True, exclude_min=True)))
@example([0.00048828125, -0.00048828125, 0.00146484375, 2**-34, 0.99999999995, 9.99999999995])
@example([-1e-12, -0.0, 0.0, 999999.99999999995, 5e-324, 123456789012345.6, -99999.00001])
def test_ten_decimals_in_whole_array_steps_are_printf_s(values: list[float]) -> None:
    assert fixed_texts(np.array(values, dtype=float)).to_pylist() == [
        _printf_fixed(v) for v in values
    ]


def test_ten_decimals_of_many_values_ties_and_near_ties_included() -> None:
    """A million values of every size, binary fractions that fall on a tie among them."""
    rng = np.random.default_rng(22)
    values = np.concatenate(
        [
            rng.uniform(-1, 1, 200_000),
            rng.uniform(-1e6, 1e6, 200_000),
            np.exp(rng.uniform(-40, 34, 200_000)) * rng.choice([-1, 1], 200_000),
            rng.integers(-(2**40), 2**40, 200_000) / 2.0 ** rng.integers(0, 52, 200_000),
            rng.uniform(0, 100, 200_000).round(10) + rng.choice([-1, 0, 1], 200_000) * 5e-11,
        ]
    )
    values = values[np.abs(values) < 1e15]
    got = fixed_texts(values).to_pylist()
    assert got == [_printf_fixed(v) for v in values.tolist()]


# Text a spreadsheet would not run and with no lone CR: written exactly as before.
_quiet_text = st.text(
    alphabet=st.characters(blacklist_categories=["Cs"], blacklist_characters="\r"), max_size=12
).filter(lambda s: s[:1] not in {"=", "+", "-", "@", "\t"})


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.one_of(st.none(), _quiet_text),
            st.floats(allow_infinity=False),
            st.one_of(st.none(), st.integers(-(2**62), 2**62)),
            st.booleans(),
        ),
        max_size=30,
    )
)
def test_csv_bytes_equal_the_old_writer(rows: list[tuple]) -> None:
    frame = pd.DataFrame(
        {
            "site_name": pd.array([r[0] for r in rows], dtype="string"),
            "land_unused_ha": pd.Series([r[1] for r in rows], dtype="float64"),
            "disposal_rank": pd.array([r[2] for r in rows], dtype="Int64"),
            "in_london": pd.Series([r[3] for r in rows], dtype="bool"),
        }
    )
    buffer = io.BytesIO()
    append_csv(frame, buffer, header=True, chunk_rows=7)
    assert buffer.getvalue().decode("utf-8") == _old_csv(frame)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.text(max_size=12), st.text(max_size=12)), max_size=20))
def test_any_text_reads_back_as_written_once_unescaped(rows: list[tuple[str, str]]) -> None:
    frame = pd.DataFrame(rows, columns=["a", "b"], dtype="string")
    frame = frame.map(lambda s: s.replace("\x00", ""))  # NUL cannot be in a CSV cell
    buffer = io.BytesIO()
    append_csv(frame, buffer, header=True)
    text = buffer.getvalue().decode("utf-8")
    read = list(csv.reader(io.StringIO(text, newline=""), strict=True))
    assert read[0] == ["a", "b"]
    assert read[1:] == [
        [spreadsheet_safe(a), spreadsheet_safe(b)] for a, b in frame.itertuples(index=False)
    ]


def _quoted(text: str) -> str:
    return '"' + text.replace('"', '""') + '"' if any(c in text for c in ',"\r\n') else text


_cells = st.one_of(
    st.none(),
    st.text(alphabet=st.sampled_from("ab é'=+-@\t\r\n,\"1"), max_size=6),
    st.text(max_size=4),
)


@settings(max_examples=300, deadline=None)
@given(st.lists(_cells, max_size=12), st.integers(0, 3), st.integers(1, 3))
def test_safe_and_quoted_texts_follow_the_rule_for_each_cell(cells, skip, pieces) -> None:
    """Whole, sliced or in chunks, with nulls: each cell as the one-string rules make it."""
    whole = pa.array(cells, pa.string())
    sliced = whole.slice(min(skip, len(cells)))
    size = max(1, -(-len(sliced) // pieces))
    chunked = pa.chunked_array(
        [sliced.slice(i, size) for i in range(0, len(sliced), size)] or [sliced], pa.string()
    )
    expected_safe = [None if c is None else spreadsheet_safe(c) for c in sliced.to_pylist()]
    expected_quoted = [None if c is None else _quoted(c) for c in sliced.to_pylist()]
    for texts in (sliced, chunked):
        assert safe_texts(texts).to_pylist() == expected_safe
        assert quote_fields(texts).to_pylist() == expected_quoted


_hostile = ["=1+2", '-2+3,"x"', "-3.5", "a,b", "'@x", "plain", "\tx", 'say "hi"', ""]


@settings(max_examples=100, deadline=None)
@given(
    st.lists(st.sampled_from(_hostile), min_size=1, max_size=4, unique=True),
    st.lists(st.integers(0, 4), min_size=20, max_size=200),
)
def test_repeated_texts_are_rewritten_as_each_cell_would_be(pool, picks) -> None:
    """A text column of a few distinct values, some missing: each cell by the one-string rules."""
    cells = [None if i >= len(pool) else pool[i] for i in picks]
    texts = column_texts(pd.Series(cells, dtype="string"))
    assert texts.to_pylist() == [_quoted(spreadsheet_safe(c or "")) for c in cells]


def test_boolean_and_integer_columns_with_and_without_missing_values() -> None:
    flags = [True, None, False]
    assert column_texts(pd.Series(flags, dtype="boolean")).to_pylist() == ["true", "", "false"]
    assert column_texts(pd.Series([True, False])).to_pylist() == ["true", "false"]
    counts = [7, None, -(2**62)]
    assert column_texts(pd.Series(counts, dtype="Int64")).to_pylist() == ["7", "", str(-(2**62))]
    assert column_texts(pd.Series([3, 0], dtype="int32")).to_pylist() == ["3", "0"]
    assert column_texts(pd.Series([2**63 - 1], dtype="uint64")).to_pylist() == [str(2**63 - 1)]


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


def test_csv_of_the_bundled_sites_equals_the_old_writer(tmp_path: Path, bundled_result) -> None:
    sites = pd.DataFrame(bundled_result.sites.drop(columns="geometry"))
    path = write_csv(sites, tmp_path / "sites.csv")
    assert path.read_text(encoding="utf-8") == _old_csv(sites)


def test_csv_of_an_empty_table_has_its_header(tmp_path: Path) -> None:
    path = write_csv(pd.DataFrame({"a": [], "b": []}), tmp_path / "empty.csv", chunk_rows=5)
    assert path.read_text() == "a,b\n"


def test_a_text_file_handle_gets_the_same_text(tmp_path: Path) -> None:
    frame = pd.DataFrame({"a": ["x,y", "=1"], "b": [0.5, None]})
    binary = io.BytesIO()
    append_csv(frame, binary, header=True)
    with (tmp_path / "t.csv").open("w", encoding="utf-8", newline="") as handle:
        append_csv(frame, handle, header=True)
    assert (tmp_path / "t.csv").read_bytes() == binary.getvalue() == b'a,b\n"x,y",0.5\n\'=1,\n'


def test_an_arrow_backed_text_column_is_written_as_an_object_column() -> None:
    # Concatenated string columns hold several Arrow chunks; the writer takes them as they are.
    parts = [["a", "=b", None], ["c,d", ' "q" ', "-3"]]
    arrow = pd.concat([pd.Series(p, dtype="string") for p in parts], ignore_index=True)
    plain = pd.Series([v for p in parts for v in p], dtype=object)
    texts = column_texts(arrow)
    assert isinstance(texts, pa.Array)
    assert texts.to_pylist() == column_texts(plain).to_pylist()
    assert texts.to_pylist() == ["a", "'=b", "", '"c,d"', '" ""q"" "', "-3"]
    assert bytes(csv_rows([texts, texts])).startswith(b"a,a\n'=b,'=b\n,\n")
