import math

import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from estates.errors import DataValidationError
from estates.findings import Findings
from estates.io.csv_reader import _to_float, is_missing, parse_numbers, read_csv_text

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
    st.sampled_from(["", " 1.5 ", "Not Applicable", "n/a", "1,526,422", "x", "inf", "NaN", "1_0"]),
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
        number = None if is_missing(cell) else _to_float(str(cell).strip())
        if not is_missing(cell) and (number is None or not math.isfinite(number)):
            bad_rows.append(row)
            number = None
        expected.append(math.nan if number is None else number)
    assert got.tolist() == pytest.approx(expected, nan_ok=True, rel=0, abs=0)
    assert [f.row for f in findings] == bad_rows
