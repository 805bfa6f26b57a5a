"""Fuzz the CSV reader and the whole pipeline with any bytes given as a --sites file.

Whatever the file holds, the outcome is a result or an ``EstatesError`` with a
message; never another exception (a traceback for the user), and never a
record that is neither kept nor rejected.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from estates.builder.pipeline import Inputs, run
from estates.errors import EstatesError
from estates.findings import Findings
from estates.io.csv_reader import iter_csv_text, read_csv_text

REQUIRED = ("site_code", "site_name")

# --- a grammar of realistic CSV pieces -----------------------------------------

COLUMNS = [
    "site_code",
    "site_name",
    "latitude",
    "longitude",
    "easting",
    "northing",
    "land_owned_ha",
    "land_unused_ha",
    "site_type",
    "trust_code",
    "trust_name",
    "lat",
    "lon",
    " Site_Code ",
    "",
]
CELLS = [
    "51.5",
    "-0.1",
    "51.5532",
    "-0.1654",
    "527000",
    "185500",
    "0",
    "-3",
    "1.5",
    "5000",
    "4.3077960610389709E-2",
    "1,526,422",
    "Not Applicable",
    "N/A",
    "-",
    "nan",
    "NaN",
    "inf",
    "-inf",
    "Infinity",
    "1e400",
    "-1e400",
    "1e308",
    "9" * 400,
    "",
    " ",
    "RRP03",
    "TAF72",
    "AGGRE",
    "ST. ANN'S HOSPITAL",
    '"quoted, with a comma"',
    '"a ""quote"" inside"',
    '"unterminated',
    "<img src=x onerror=alert(1)>",
    "caf\u00e9",
    "\u2019",
    "fifty one",
]
DELIMITERS = [",", ";", "\t", "|", " "]
NEWLINES = ["\n", "\r\n", "\r"]


@st.composite
def csv_files(draw: st.DrawFn) -> bytes:
    """Bytes of a CSV-like file built from realistic pieces, now and then damaged."""
    damaged = draw(st.integers(min_value=0, max_value=4)) == 0
    delimiter = draw(st.sampled_from(DELIMITERS if damaged else DELIMITERS[:4]))
    newline = draw(st.sampled_from(NEWLINES))
    header = draw(st.lists(st.sampled_from(COLUMNS), max_size=6, unique=True))
    if draw(st.integers(min_value=0, max_value=3)) > 0:  # a header a user might write
        header = [*REQUIRED, "latitude", "longitude", *(h for h in header if h not in REQUIRED)]
        header = list(dict.fromkeys(header))
    cell = st.one_of(
        st.sampled_from(CELLS),
        st.floats(allow_nan=True, allow_infinity=True).map(repr),
        st.integers(min_value=-(10**30), max_value=10**30).map(str),
        st.text(max_size=6),
    )
    width = len(header)
    slack = 2 if damaged else 0
    rows = draw(
        st.lists(
            st.lists(cell, min_size=max(0, width - slack), max_size=width + slack),
            max_size=8,
        )
    )
    if not damaged:  # quote every cell that would break the row
        rows = [[_quoted(c, delimiter) for c in row] for row in rows]
    lines = [delimiter.join(header)] + [delimiter.join(row) for row in rows]
    text = newline.join(lines) + draw(st.sampled_from(["", newline, newline * 3]))
    encoding = draw(st.sampled_from(["utf-8", "utf-8-sig", "cp1252", "latin-1"]))
    data = text.encode(encoding, errors="replace")
    if damaged and draw(st.booleans()):  # truncated mid-file
        data = data[: draw(st.integers(min_value=0, max_value=len(data)))]
    return data


def _quoted(cell: str, delimiter: str) -> str:
    if cell.startswith('"') and cell.endswith('"') and len(cell) > 1:
        return cell
    if any(ch in cell for ch in (delimiter, '"', "\n", "\r")):
        return '"' + cell.replace('"', '""') + '"'
    return cell


# --- properties ------------------------------------------------------------------


@pytest.fixture(scope="module")
def site_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One path, rewritten by every example."""
    return tmp_path_factory.mktemp("fuzz") / "sites.csv"


def _read(path: Path, data: bytes, required: tuple[str, ...]) -> None:
    path.write_bytes(data)
    try:
        frame = read_csv_text(path, Findings(), required=required)
    except EstatesError as exc:
        message = str(exc)
    else:
        assert len(frame) > 0
        assert frame.index[0] == 2, "rows are numbered as in a spreadsheet, header = 1"
        assert set(required) <= set(frame.columns)
        assert all(isinstance(c, str) for c in frame.to_numpy().ravel())
        return
    assert message.strip(), "an error needs a message"
    assert "\n" not in message, "an error message is one line"


@settings(max_examples=300, deadline=None)
@given(data=st.binary(max_size=600))
@example(data=b",\n")
@example(data=b",,\r\n ,\n")
@example(data=b"\xef\xbb\xbf")
@example(data=b'"')
@example(data=b'"a\nb",c\n1,2\n')
def test_read_csv_text_any_bytes(site_file, data):
    _read(site_file, data, REQUIRED)
    _read(site_file, data, ())


@settings(max_examples=300, deadline=None)
@given(data=csv_files())
def test_read_csv_text_realistic_pieces(site_file, data):
    _read(site_file, data, REQUIRED)
    _read(site_file, data, ())


def _whole_and_chunked(path: Path, data: bytes, chunk_rows: int) -> None:
    """Reading in chunks gives the whole read's frame, findings and error, exactly."""
    path.write_bytes(data)
    whole_findings, chunk_findings = Findings(), Findings()
    try:
        whole: pd.DataFrame | str = read_csv_text(path, whole_findings, required=REQUIRED)
    except EstatesError as exc:
        whole = str(exc)
    pieces: list[pd.DataFrame] = []
    try:
        for piece in iter_csv_text(path, chunk_findings, required=REQUIRED, chunk_rows=chunk_rows):
            assert 0 < len(piece) <= chunk_rows
            pieces.append(piece)
    except EstatesError as exc:
        chunked: pd.DataFrame | str = str(exc)
    else:
        chunked = pd.concat(pieces)
    if isinstance(whole, str):
        assert isinstance(chunked, str), "the whole read failed, so must the chunked one"
        # The whole read parses every row before checking any; the chunked one reports
        # a header or row problem it meets before a mis-quoted record further on.
        if "not a readable CSV file" not in whole:
            assert chunked == whole
    else:
        assert isinstance(chunked, pd.DataFrame), chunked
        pd.testing.assert_frame_equal(chunked, whole)
    assert list(chunk_findings) == list(whole_findings)


@settings(max_examples=300, deadline=None)
@given(data=csv_files(), chunk_rows=st.integers(min_value=1, max_value=4))
@example(data=b"site_code,site_name\nA,a\n,\n\nB,b\n , \n\n", chunk_rows=1)
@example(data=b",\n,\nsite_code,site_name\n", chunk_rows=1)
@example(data=b"site_code,site_name\n\xe9,a\n", chunk_rows=1)
@example(data=b"\xef", chunk_rows=1)  # the start of a BOM alone: not UTF-8, read as cp1252
@example(data=b"\xef\xbb", chunk_rows=1)
def test_chunked_read_equals_whole_read(site_file, data, chunk_rows):
    _whole_and_chunked(site_file, data, chunk_rows)


@settings(max_examples=200, deadline=None)
@given(data=st.binary(max_size=400), chunk_rows=st.integers(min_value=1, max_value=3))
def test_chunked_read_equals_whole_read_any_bytes(site_file, data, chunk_rows):
    _whole_and_chunked(site_file, data, chunk_rows)


def _run(path: Path, data: bytes) -> None:
    path.write_bytes(data)
    try:
        result = run(Inputs(sites=(path,)))
    except EstatesError as exc:
        message = str(exc)
    else:
        counts = result.counts
        # Nothing disappears: every record read is kept or rejected, with a reason.
        assert counts["records_in"] == counts["records_kept"] + counts["records_rejected"]
        assert len(result.sites) == counts["records_kept"]
        rejected = result.findings.rejected_rows({path.name})
        assert len(rejected) == counts["records_rejected"]
        assert pd.Series(result.sites["site_code"]).notna().all()
        return
    assert message.strip(), "an error needs a message"


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=csv_files())
@example(
    data=(
        b"site_code,site_name,latitude,longitude,land_owned_ha,land_unused_ha\r\n"
        b"A,inf,1e400,-1e400,1e400,nan\r\nA,B,51.5,-0.1,1e308,1e308\r\n"
        b'B,"x",51.5,-0.1,-inf,inf\r\nC,"<b>",Not Applicable,N/A,,\r\n'
    )
)
def test_full_run_realistic_pieces(site_file, data):
    _run(site_file, data)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.binary(max_size=400))
def test_full_run_any_bytes(site_file, data):
    _run(site_file, data)
