"""The Arrow path of the CSV reader gives exactly the lenient reader's frames, findings and errors.

Each case reads a plain file (no quotes: the Arrow path) and the same cells
with every field quoted (the ``csv`` module's path), whole and in chunks, and
compares what comes out: frames, findings, or the error and what was yielded
before it.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest

from estates.errors import DataValidationError
from estates.findings import Findings
from estates.io import csv_reader
from estates.io.csv_fast import PYTHON_WHITESPACE, file_is_plain, is_plain, parse_block
from estates.io.csv_reader import iter_csv_text, read_csv_text

ROOT = Path(__file__).resolve().parents[2]
# Every bundled CSV with a header of distinct names (two ERIC years repeat a column
# name, which read_csv_text refuses; they are read by the ERIC loader).
BUNDLED = [
    p
    for p in sorted((ROOT / "data" / "estates").glob("*.csv"))
    + sorted((ROOT / "data" / "sites").glob("*.csv"))
    if p.name not in {"eric_sites_2014_15_london.csv", "eric_sites_2019_20_london.csv"}
]
HEADER = "site_code,site_name,latitude,longitude\n"


def quote_all(text: str, delimiter: str = ",") -> str:
    """Return plain CSV ``text`` with every field of every non-empty line quoted."""
    pieces = re.split(r"(\r\n|\n)", text)
    out = []
    for i, piece in enumerate(pieces):
        if i % 2 or piece == "":
            out.append(piece)
        else:
            out.append(delimiter.join(f'"{f}"' for f in piece.split(delimiter)))
    return "".join(out)


def outcome(read: Callable[[], list[pd.DataFrame]]) -> tuple[list[pd.DataFrame], str | None]:
    """Return the frames read and the error message, if the read raised."""
    frames: list[pd.DataFrame] = []
    try:
        for frame in read():
            frames.append(frame)
    except DataValidationError as exc:
        return frames, str(exc)
    return frames, None


def read_both(path: Path, *, chunk_rows: int | None, required: tuple[str, ...]):
    findings = Findings()
    if chunk_rows is None:
        frames, error = outcome(lambda: [read_csv_text(path, findings, required=required)])
    else:
        frames, error = outcome(
            lambda: iter_csv_text(path, findings, required=required, chunk_rows=chunk_rows)
        )
    return frames, error, [(f.check, f.row, f.reason) for f in findings]


def pair(tmp_path: Path, plain: bytes, quoted: bytes) -> tuple[Path, Path]:
    """Write the two versions under the same file name, so that messages match."""
    paths = []
    for folder, content in (("plain", plain), ("quoted", quoted)):
        (tmp_path / folder).mkdir()
        paths.append(tmp_path / folder / "sites.csv")
        paths[-1].write_bytes(content)
    return paths[0], paths[1]


def assert_same_reading(plain: Path, quoted: Path, *, required=("site_code", "site_name")):
    """Assert both files read the same, whole and in chunks of 1, 2 and 3 rows."""
    for chunk_rows in (None, 1, 2, 3):
        fast = read_both(plain, chunk_rows=chunk_rows, required=required)
        slow = read_both(quoted, chunk_rows=chunk_rows, required=required)
        assert fast[1] == slow[1], chunk_rows
        assert fast[2] == slow[2], chunk_rows
        assert len(fast[0]) == len(slow[0]), chunk_rows
        for a, b in zip(fast[0], slow[0], strict=True):
            pd.testing.assert_frame_equal(a, b)
            assert a.columns.dtype == b.columns.dtype
            assert all(isinstance(v, str) for v in a.to_numpy().ravel())


@pytest.fixture
def lenient_calls(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Record each time the reader hands a file to the ``csv`` module's path."""
    calls: list[str] = []
    original = csv_reader._iter_lenient

    def counted(path, *args, **kwargs):
        calls.append(path.name)
        return original(path, *args, **kwargs)

    monkeypatch.setattr(csv_reader, "_iter_lenient", counted)
    return calls


@pytest.mark.parametrize("source", BUNDLED, ids=lambda p: p.name)
def test_bundled_files_read_the_same_by_arrow_and_by_csv(source, tmp_path, lenient_calls):
    # The bundled files quote a few names; their other rows, written plain, take the Arrow path.
    text = read_csv_text(source, Findings())
    keep = ~text.map(lambda c: any(ch in c for ch in ',"\r\n')).any(axis=1)
    assert keep.sum() > 0.9 * len(text)
    header = [h.translate(str.maketrans(',"\r\n', ";'||")) for h in text.columns]
    lines = [",".join(header)] + [",".join(row) for row in text[keep].itertuples(index=False)]
    plain_text = "\n".join(lines) + "\n"
    plain, quoted = pair(tmp_path, plain_text.encode(), quote_all(plain_text).encode())
    assert file_is_plain(plain)
    assert not file_is_plain(quoted)
    required = tuple(header[:2])
    assert_same_reading(plain, quoted, required=required)
    assert lenient_calls == [quoted.name] * 3  # the plain file never went to csv


NASTY = {
    "blank lines inside and after": HEADER + "A1,a,51.5,-0.1\n\n,,,\n   \nA2,b,51.6,-0.2\n\n\n",
    "short and padded rows": HEADER + "A1,a\nA2,b,51.6,-0.2,,  ,\nA3\n",
    "unicode spaces around cells": (
        HEADER + "\u00a0A1\u3000,\x1ca\x1f,\u2009 51.5 ,\u202f-0.1\u205f\n A2 ,b\u200b,1,2\n"
    ),
    "CRLF line ends": HEADER.replace("\n", "\r\n") + "A1,a,51.5,-0.1\r\nA2,b,1,2\r\n",
    "no final line end": HEADER + "A1,a,51.5,-0.1\nA2,b,1,2",
    "semicolons": HEADER.replace(",", ";") + "A1;a,b;51,5;-0,1\nA2;b;1;2\n",
    "duplicate empty header names": "site_code,site_name,,\nA1,a,x,y\nA2,b,,\n",
    "a text past the header's width": HEADER + "A1,a,1,2\nA2,b,1,2\nA3,c,1,2,oops\nA4,d,1,2\n",
    "a header and blank rows only": HEADER + ",,,\n\n",
    "a header only": HEADER,
    "a missing column": "site_code,latitude\nA1,2\n",
    "an overlong cell": HEADER + "A1,a,1,2\nA2," + "x" * 140_000 + ",1,2\n",
    "a vertical tab and form feed in cells": HEADER + "A1,a\x0bb,1\x0c,2\nA2,b,1,2\n",
}


@pytest.mark.parametrize("case", NASTY)
def test_nasty_plain_files_read_as_the_csv_module_reads_them(case, tmp_path):
    text = NASTY[case]
    delimiter = ";" if case == "semicolons" else ","
    plain, quoted = pair(tmp_path, text.encode(), quote_all(text, delimiter).encode())
    assert file_is_plain(plain)
    assert_same_reading(plain, quoted)


@pytest.mark.parametrize(
    ("prefix", "encoding"), [(b"\xef\xbb\xbf", "utf-8"), (b"", "cp1252"), (b"", "latin-1")]
)
def test_a_bom_or_an_old_encoding_reads_the_same_with_the_same_warning(prefix, encoding, tmp_path):
    text = HEADER + "A1,St Ann’s – Tottenham,51.5,-0.1\nA2,Caf\u00e9,1,2\n"
    if encoding == "latin-1":
        text = text.replace("’", "'").replace("–", "-") + "A3,\x81\x8d,1,2\n"
    plain, quoted = pair(
        tmp_path, prefix + text.encode(encoding), prefix + quote_all(text).encode(encoding)
    )
    assert_same_reading(plain, quoted)


def test_the_csv_module_takes_over_only_where_needed(write, lenient_calls):
    ok = write("ok.csv", HEADER + "A1,a,1,2\n\nA2,b,1,2\nA3\n")
    assert [len(f) for f in iter_csv_text(ok, Findings(), chunk_rows=2)] == [2, 2]
    assert lenient_calls == []  # blank and short rows: only that block went to csv
    for name, content in {
        "quotes.csv": HEADER + 'A1,"a, b",1,2\n',
        "ctrl_z.csv": HEADER + "A1,a,1,2\n\x1a",
        "lone_cr.csv": HEADER + "A1,a,1,2\rA2,b,1,2\n",
    }.items():
        path = write(name, content)
        assert not file_is_plain(path)
        list(iter_csv_text(path, Findings(), chunk_rows=2))
        read_csv_text(path, Findings())
    assert lenient_calls == ["quotes.csv", "ctrl_z.csv", "lone_cr.csv"]
    wide = write("wide.csv", HEADER + "A1,a,1,2\nA2,b,1,2\nA3,c,1,2,oops\n")
    with pytest.raises(DataValidationError, match="row 4: 5 fields"):
        list(iter_csv_text(wide, Findings(), chunk_rows=1))
    assert lenient_calls[-1] == "wide.csv"


def test_a_block_arrow_refuses_is_read_by_csv_and_a_bad_one_is_refused():
    block = parse_block(b"a,b\n\n c ,\n", width=2, delimiter=",")
    assert block is not None
    assert [c.to_pylist() for c in block.columns] == [["a", "", "c"], ["b", "", ""]]
    assert block.blank.tolist() == [False, True, False]
    assert parse_block(b"a,b,c\n", width=2, delimiter=",") is None


def test_the_trimmed_characters_are_those_str_strip_removes():
    every = "".join(chr(c) for c in range(0x110000) if chr(c).isspace())
    assert every == PYTHON_WHITESPACE


def test_is_plain_sees_quotes_ctrl_z_and_lone_carriage_returns():
    assert is_plain("a,b\r\nc,d\n")
    assert not is_plain('a,"b"\n')
    assert not is_plain("a\x1a\n")
    assert not is_plain(b"a\rb\n")


def test_a_plain_file_in_many_blocks_reads_as_csv_reads_it(tmp_path, monkeypatch):
    # Blocks of a few hundred bytes: rows, blank lines and CRLF cross block ends.
    monkeypatch.setattr("estates.io.csv_fast._PLAIN_READ_BYTES", 257)
    rows = [f"S{i:05d},Site {i},{51 + i / 1e4},{-0.1 - i / 1e4}" for i in range(400)]
    rows[37] = rows[38] = ""
    rows[200] = "S00200,short"
    text = HEADER.replace("\n", "\r\n") + "\r\n".join(rows) + "\r\n\r\n"
    plain, quoted = pair(tmp_path, text.encode(), quote_all(text).encode())
    findings = Findings()
    fast = pd.concat(list(iter_csv_text(plain, findings, chunk_rows=64)))
    slow = pd.concat(list(iter_csv_text(quoted, Findings(), chunk_rows=64)))
    pd.testing.assert_frame_equal(fast, slow)
    assert fast.index[-1] == 401
    expected = list(csv.reader(io.StringIO(text, newline="")))[1:-1]
    assert fast["site_code"].tolist() == [(r or [""])[0] for r in expected]
