import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from estates.errors import DataValidationError
from estates.findings import Findings
from estates.io import csv_fast
from estates.io.csv_fast import non_ascii_texts
from estates.io.csv_reader import (
    _MISSING_ARRAY,
    _PLAIN_NUMBER,
    _numbers_cell_by_cell,
    is_missing,
    iter_csv_text,
    parse_numbers,
    read_csv_text,
    read_number,
)

HEADER = "site_code,site_name,latitude,longitude\n"


def test_reads_bom_and_keeps_header_clean(write):
    path = write(
        "bom.csv", b"\xef\xbb\xbf" + (HEADER + "RAL01,Royal Free,51.553,-0.165\n").encode()
    )
    frame = read_csv_text(path, Findings(), required=("site_code",))
    assert list(frame.columns) == ["site_code", "site_name", "latitude", "longitude"]
    assert frame.loc[2, "site_code"] == "RAL01"


def test_cp1252_is_decoded_with_a_recorded_warning(write):
    path = write("cp.csv", (HEADER + "RAL01,St Ann’s – Tottenham,51.58,-0.09\n").encode("cp1252"))
    findings = Findings()
    frame = read_csv_text(path, findings, required=("site_code",))
    assert frame.loc[2, "site_name"] == "St Ann’s – Tottenham"
    [warning] = list(findings)
    assert warning.action == "warning"
    assert warning.check == "not_utf8"
    assert "Windows-1252" in warning.reason


@pytest.mark.parametrize("delimiter", [";", "\t", "|"])
def test_other_delimiters_are_detected(write, delimiter):
    body = HEADER.replace(",", delimiter) + delimiter.join(["X1", "A", "51.5", "-0.1"]) + "\n"
    frame = read_csv_text(write("d.csv", body), Findings(), required=("site_code", "site_name"))
    assert frame.loc[2, "latitude"] == "51.5"


def test_scientific_notation_and_missing_markers():
    text = pd.Series(["4.3077960610389709E-2", "Not Applicable", "", " 12 ", "N/A"])
    values = parse_numbers(text, column="x", source_file="f.csv", findings=None)
    assert values.iloc[0] == pytest.approx(0.043077960610389709)
    assert values.isna().tolist() == [False, True, True, False, True]
    assert values.iloc[3] == 12.0


def test_not_applicable_is_missing_never_zero():
    values = parse_numbers(
        pd.Series(["Not Applicable"]), column="x", source_file="f", findings=None
    )
    assert values.isna().all()
    assert values.sum() == 0  # pandas skips NaN; the value itself is missing, not 0
    assert not (values == 0).any()


def test_bad_number_is_recorded_with_row_and_column():
    findings = Findings()
    text = pd.Series(["1.5", "abc"], index=[2, 3])
    values = parse_numbers(
        text,
        column="land_owned_ha",
        source_file="s.csv",
        findings=findings,
        site_codes=pd.Series(["A", "B"], index=[2, 3]),
    )
    assert values.isna().tolist() == [False, True]
    [f] = list(findings)
    assert (f.row, f.site_code, f.column, f.value) == (3, "B", "land_owned_ha", "abc")


@pytest.mark.parametrize(
    ("content", "match"),
    [
        (b"", "is empty"),
        (HEADER.encode(), "header but no data rows"),
        (b"site_code site_name latitude longitude\nA B 51 0\n", "header has one column"),
        (b"site_code,name\nA,B\n", "missing column 'site_name'"),
        (b'site_code,site_name\nA,"unterminated\n', "truncated or mis-quoted"),
        (b"site_code,site_name\nA,B,C,D\n", "row 2: 4 fields but the header has 2"),
        (b"\xff\xfes\x00i\x00", "NUL bytes"),
    ],
)
def test_unusable_files_raise_one_clear_error(write, content, match):
    with pytest.raises(DataValidationError, match=match):
        read_csv_text(write("bad.csv", content), Findings(), required=("site_code", "site_name"))


def test_missing_file_names_the_path(tmp_path):
    with pytest.raises(DataValidationError, match="no such file"):
        read_csv_text(tmp_path / "nope.csv", Findings())


def test_oversized_file_is_refused_not_loaded(write):
    path = write("big.csv", HEADER + "A,B,51.5,-0.1\n" * 100)
    message = "`estates build --chunk-rows N` builds from larger site files"
    with pytest.raises(DataValidationError, match=message):
        read_csv_text(path, Findings(), max_bytes=1000)


_CELLS = st.one_of(
    st.floats(allow_nan=False, allow_infinity=False).map(repr),
    st.sampled_from(["", " 1.5 ", "Not Applicable", "n/a", "1,526,422", "x", "inf", "NaN"]),
    st.sampled_from(["1_0", "2,5", "1.234,5", "\u0661\u0662"]),
    st.text(alphabet="0123456789.,eE+- ", max_size=8),
    st.none(),
)


@given(st.lists(_CELLS, max_size=30))
def test_parse_numbers_equals_parsing_cell_by_cell(cells: list[str | None]) -> None:
    findings = Findings()
    text = pd.Series(cells, index=range(2, 2 + len(cells)), dtype=object)
    got = parse_numbers(text, column="v", source_file="f.csv", findings=findings)
    expected, bad_rows = [], []
    for row, cell in text.items():
        number = None if is_missing(cell) else read_number(str(cell).strip())[0]
        if not is_missing(cell) and (number is None or not math.isfinite(number)):
            bad_rows.append(row)
            number = None
        expected.append(math.nan if number is None else number)
    assert got.tolist() == pytest.approx(expected, nan_ok=True, rel=0, abs=0)
    assert [f.row for f in findings] == bad_rows


def usual_numbers(cells):
    """The reader's fast path for a number column, with its own markers and pattern."""
    return csv_fast.usual_numbers(cells, missing=_MISSING_ARRAY, number=_PLAIN_NUMBER)


# The usual column: plain ASCII numbers in any notation, blank cells, missing markers.
_PLAIN_CELLS = st.one_of(
    st.floats(allow_nan=False, allow_infinity=False).map(repr),
    st.floats(allow_nan=False, allow_infinity=False).map(lambda x: f"{x:.6E}"),
    st.floats(-1e6, 1e6).map(lambda x: f"{x:f}".rstrip("0")),
    st.integers(-(10**20), 10**20).map(lambda n: f"+{n}" if n >= 0 else str(n)),
    st.sampled_from(["", "  ", "Not Applicable", "N/A", "nan", "-", ".5", "5.", "-0", "007"]),
    st.none(),
    st.just(math.nan),
)


@given(
    st.lists(_PLAIN_CELLS, min_size=1, max_size=40),
    st.sampled_from(["", " ", "\t", "\x1f", " \r"]),
)
def test_the_usual_column_is_read_in_one_pass_to_the_same_bits(cells, pad) -> None:
    """A column of plain numbers skips the cell-by-cell parse, and gets exactly its floats."""
    text = pd.Series(
        [c if not isinstance(c, str) else pad + c + pad for c in cells],
        index=range(2, 2 + len(cells)),
        dtype=object,
    )
    usual = usual_numbers(text.to_numpy(dtype=object))
    assert usual is not None
    findings = Findings()
    slow = _numbers_cell_by_cell(
        text, column="v", source_file="f.csv", findings=findings, site_codes=None, action="flagged"
    )
    assert usual.tobytes() == slow.to_numpy().tobytes()  # the same bits, -0.0 and NaN too
    assert not findings.items


@pytest.mark.parametrize(
    "odd",
    ["1,526", "x", "1e999", "\u0661", "\u00a012", "1_0", 5, b"1.5", "N\u0130L"],
)
def test_a_column_with_anything_unusual_is_read_cell_by_cell(odd) -> None:
    text = pd.Series(["1.5", odd, "2"], index=range(2, 5), dtype=object)
    assert usual_numbers(text.to_numpy(dtype=object)) is None
    findings, again = Findings(), Findings()
    got = parse_numbers(text, column="v", source_file="f.csv", findings=findings)
    slow = _numbers_cell_by_cell(
        text, column="v", source_file="f.csv", findings=again, site_codes=None, action="flagged"
    )
    assert got.to_numpy().tobytes() == slow.to_numpy().tobytes()
    assert findings.items == again.items


@given(st.lists(st.one_of(st.text(max_size=5), st.none(), st.just(math.nan), st.integers())))
def test_the_cells_a_key_cleaner_looks_at_are_the_non_ascii_texts(cells) -> None:
    column = np.array(cells, dtype=object) if cells else np.array([], dtype=object)
    expected = [isinstance(c, str) and not c.isascii() for c in cells]
    assert non_ascii_texts(column).tolist() == expected


# --- one rule for numbers: no decimal comma, underscore or foreign digit is guessed at --


@pytest.mark.parametrize(
    ("cell", "number"),
    [
        ("2.5", 2.5),
        ("-0.12", -0.12),
        (".5", 0.5),
        ("4.3077960610389709E-2", 0.043077960610389709),
        ("1,234", 1234.0),
        ("1,234.5", 1234.5),
        ("-1,526,422", -1526422.0),
        ("+12", 12.0),
    ],
)
def test_plain_and_grouped_numbers_are_read(cell, number):
    assert read_number(cell) == (number, None)


@pytest.mark.parametrize(
    ("cell", "problem"),
    [
        ("2,5", "uses a decimal comma; if it means 2.5, write 2.5"),
        ("0,5", "uses a decimal comma; if it means 0.5, write 0.5"),
        ("-0,12", "uses a decimal comma; if it means -0.12, write -0.12"),
        ("1,5", "uses a decimal comma; if it means 1.5"),
        ("1.234,5", "uses a decimal comma; if it means 1234.5"),
        ("1 234,5", "uses a decimal comma; if it means 1234.5"),
        ("12,34", "uses a decimal comma; if it means 12.34"),
        ("1,2345", "uses a decimal comma; if it means 1.2345"),
        ("1.234.567", "has points between groups of three digits; if it means 1234567"),
        ("1_000", "contains an underscore; write 1000"),
        ("\u0661\u0662\u0663", "has non-ASCII digits; write 123"),
        ("\uff11\uff12", "has non-ASCII digits; write 12"),
        ("1,23,456", "is not a number"),
        ("12,", "is not a number"),
    ],
)
def test_ambiguous_numbers_are_refused_with_the_likely_reading(cell, problem):
    number, why = read_number(cell)
    assert number is None
    assert why.startswith(problem)


def test_a_decimal_comma_is_a_finding_never_a_tenfold_value():
    text = pd.Series(["2,5", "0,5", "1.234,5", "\u0661", "lots", "3"], index=range(2, 8))
    findings = Findings()
    got = parse_numbers(text, column="land_unused_ha", source_file="f.csv", findings=findings)
    assert got.iloc[:5].isna().all()
    assert got.iloc[5] == 3.0
    assert [f.check for f in findings] == ["ambiguous_number"] * 4 + ["not_a_number"]
    first = next(iter(findings))
    assert "land_unused_ha '2,5' uses a decimal comma; if it means 2.5" in first.reason


# --- invisible characters: NUL anywhere, a trailing Ctrl-Z ------------------------------


@pytest.mark.parametrize("chunk_rows", [1, 2, 1000])
@pytest.mark.parametrize(
    "tail", ["A2,Two,51.5,-0.1\n\x1a", "A2,Two,51.5,-0.1\x1a", "A2,Two,51.5,-0.1\n\x1a\n\n"]
)
def test_a_trailing_ctrl_z_is_ignored_with_a_warning_whole_or_in_chunks(write, tail, chunk_rows):
    path = write("z.csv", HEADER + "A1,One,51.5,-0.1\n" + tail)
    whole, chunked = Findings(), Findings()
    frame = read_csv_text(path, whole, required=("site_code",))
    parts = list(iter_csv_text(path, chunked, required=("site_code",), chunk_rows=chunk_rows))
    assert frame["site_code"].tolist() == ["A1", "A2"]
    assert frame["longitude"].tolist() == ["-0.1", "-0.1"]
    pd.testing.assert_frame_equal(pd.concat(parts), frame)
    assert [f.check for f in whole] == [f.check for f in chunked] == ["eof_mark"]


def test_a_ctrl_z_inside_the_file_is_data_not_an_end(write):
    path = write("z.csv", HEADER + "A\x1a1,One,51.5,-0.1\nA2,Two,51.5,-0.1\n")
    findings = Findings()
    frame = read_csv_text(path, findings, required=("site_code",))
    assert frame["site_code"].tolist() == ["A\x1a1", "A2"]
    assert list(findings) == []


@pytest.mark.parametrize("reader", ["whole", "chunks"])
def test_a_nul_byte_anywhere_is_refused_naming_the_line(write, reader):
    padding = "".join(
        f"P{i},Padding row {i:04d} for the first blocks,51.5,-0.1\n" for i in range(300)
    )
    path = write("nul.csv", HEADER + padding + "NUL\x00CODE,Hidden,51.5,-0.1\n")

    def read() -> object:
        if reader == "whole":
            return read_csv_text(path, Findings())
        return list(iter_csv_text(path, Findings(), chunk_rows=10))

    with pytest.raises(DataValidationError, match=r"nul\.csv line 302: a NUL byte"):
        read()


# --- bounded reading: the header first, one cell at most csv.field_size_limit() ----------


def test_a_wrong_header_is_refused_before_the_file_is_read(write, monkeypatch):
    path = write("wrong.csv", "code,name,lat,lon\n" + "A,B,51.5,-0.1\n" * 1000)
    monkeypatch.setattr(Path, "read_bytes", lambda self: pytest.fail("read the whole file"))
    with pytest.raises(
        DataValidationError,
        match=r"wrong\.csv: missing columns 'site_code' and 'site_name'; found code, name, lat",
    ):
        read_csv_text(path, Findings(), required=("site_code", "site_name"))


def test_an_overlong_field_is_a_clear_error(write):
    path = write("open_quote.csv", HEADER + 'A1,"never closed,51.5,-0.1\n' + "x" * 200_000)
    with pytest.raises(DataValidationError, match=r"a field is longer than 131,072 characters"):
        read_csv_text(path, Findings(), required=("site_code",))
    with pytest.raises(DataValidationError, match=r"is a quote left open"):
        list(iter_csv_text(path, Findings(), required=("site_code",), chunk_rows=10))


@pytest.mark.parametrize("data", [b"\x1a", b"\r\x1a", b"\x01\r\x1a", b"\n\x1a\n"])
def test_a_file_of_one_ctrl_z_reads_the_same_whole_and_in_chunks(write, data: bytes) -> None:
    # Found by the fuzz test: the whole read took the mark for an empty file,
    # the chunked read for a header.
    path = write("z.csv", data)
    with pytest.raises(DataValidationError) as whole:
        read_csv_text(path, Findings())
    with pytest.raises(DataValidationError) as chunked:
        list(iter_csv_text(path, Findings(), chunk_rows=2))
    assert str(whole.value) == str(chunked.value)


def test_a_quote_left_open_in_a_large_file_fails_without_holding_the_file(tmp_path):
    import tracemalloc

    from estates.io.csv_reader import read_csv_text

    path = tmp_path / "sites.csv"
    with path.open("w", encoding="utf-8") as f:
        f.write('site_code,site_name,latitude,longitude\nRAL01,"Royal Free Hospital')
        block = "x" * 1_000_000
        for _ in range(24):
            f.write(block)
        f.write('",51.553,-0.165\n')
    tracemalloc.start()
    try:
        with pytest.raises(DataValidationError, match="a field is longer than 131,072"):
            read_csv_text(path, Findings(), required=("site_code",))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # Read whole, the 24 MB file alone is 24 MB as bytes and again as text.
    assert peak < 8_000_000, f"{peak:,} bytes"
