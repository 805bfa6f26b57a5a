r"""The fast path of the CSV reader: plain files parsed by Arrow, the same frames as ``csv``.

:mod:`estates.io.csv_reader` reads any CSV a user may bring with Python's
:mod:`csv` module, which costs seconds per million rows. Most files are plain:
no quotes, no Ctrl-Z end mark, lines ending ``\n`` or ``\r\n``. For those,
a line is a record and a delimiter a field boundary, so Arrow's C parser
(``pyarrow.csv``, with quoting off) splits them exactly as :mod:`csv` would,
and Arrow strips the cells with the same characters as ``str.strip``.

The contract is "the same frame or nothing": every function here returns
``None`` (or raises :class:`NotPlain`) where Arrow cannot give exactly the
frame the :mod:`csv` reader gives (blank lines, a row of the wrong length,
an overlong cell), and a block of lines Arrow refuses is read by :mod:`csv`
itself. Errors and findings always come from the lenient reader: when a file
would raise, this path gives way to it.

The same holds for two whole-column checks of the reader's text cells:
:func:`usual_numbers` reads a column of plain numbers in one cast, and
:func:`non_ascii_texts` finds the only cells a key cleaner may change.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv
from numpy.typing import NDArray

__all__ = [
    "PYTHON_WHITESPACE",
    "NotPlain",
    "TextBlock",
    "file_is_plain",
    "frames_from_blocks",
    "is_plain",
    "non_ascii_texts",
    "parse_block",
    "plain_blocks",
    "plain_header",
    "usual_numbers",
]

#: The characters ``str.strip()`` removes (``str.isspace``), for Arrow's trim.
PYTHON_WHITESPACE = (
    "\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005"
    "\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000"
)
#: Bytes read at a time by the plain (Arrow) path, cut at the last line end.
_PLAIN_READ_BYTES = 8 * 1024**2


#: Arrow's parse block: a line longer than this sends its block to ``csv``.
_ARROW_BLOCK_BYTES = 1 << 20


class NotPlain(Exception):  # noqa: N818 - a signal between two readers, never shown
    """Raised by :func:`frames_from_blocks` when the lenient reader must take over."""


@dataclass(frozen=True)
class TextBlock:
    """Stripped text cells of consecutive rows, one Arrow array per header column."""

    columns: list[pa.Array]
    #: True for a row whose cells are all empty once stripped.
    blank: NDArray[np.bool_]


def is_plain(data: bytes | str) -> bool:
    r"""Return True if ``data`` has no quote, no Ctrl-Z and no CR outside ``\r\n``.

    In such text a line is a record, so Arrow's parser with quoting off reads
    it as :mod:`csv` does; anything else is left to :mod:`csv`.
    """
    if isinstance(data, str):
        if '"' in data or "\x1a" in data:
            return False
        return "\r" not in data or data.count("\r") == data.count("\r\n")
    if b'"' in data or b"\x1a" in data:
        return False
    return b"\r" not in data or data.count(b"\r") == data.count(b"\r\n")


def plain_header(line: str, delimiter: str) -> list[str] | None:
    """Return the stripped header of a plain first line, or None if it is blank."""
    header = [h.strip() for h in line.rstrip("\r\n").split(delimiter)]
    return header if any(header) else None


def parse_block(data: bytes, *, width: int, delimiter: str) -> TextBlock | None:
    r"""Return the rows of whole plain lines (UTF-8, each ending ``\n``) as a :class:`TextBlock`.

    Arrow parses the lines; a block it refuses (a blank line, a row shorter
    or longer than the header) or with a cell over :func:`csv.field_size_limit`
    is read by :mod:`csv`, padded and cut as the lenient reader does. Returns
    None where the lenient reader would raise (a row with text past the
    header's width, an overlong cell), so that it raises.
    """
    names = [f"c{i}" for i in range(width)]
    try:
        table = pa_csv.read_csv(
            pa.BufferReader(data),
            read_options=pa_csv.ReadOptions(column_names=names, block_size=_ARROW_BLOCK_BYTES),
            parse_options=pa_csv.ParseOptions(
                delimiter=delimiter, quote_char=False, escape_char=False, ignore_empty_lines=False
            ),
            convert_options=pa_csv.ConvertOptions(
                column_types=dict.fromkeys(names, pa.string()), strings_can_be_null=False
            ),
        )
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        return _csv_block(data, width=width, delimiter=delimiter)
    limit = csv.field_size_limit()
    raw = [table.column(i).combine_chunks() for i in range(width)]
    if len(table) and max(pc.max(pc.binary_length(col)).as_py() for col in raw) > limit:
        return _csv_block(data, width=width, delimiter=delimiter)
    columns = [pc.utf8_trim(col, characters=PYTHON_WHITESPACE) for col in raw]
    blank = np.ones(len(table), dtype=bool)
    for col in columns:
        blank &= pc.equal(pc.binary_length(col), 0).to_numpy(zero_copy_only=False)
    return TextBlock(columns, blank)


def file_is_plain(path: Path) -> bool:
    """Return True if the whole file is plain, scanning it a block at a time."""
    lone_cr, previous = 0, b""
    with path.open("rb") as handle:
        while block := handle.read(1 << 24):
            if not is_plain(block.rstrip(b"\r")):
                return False
            if b"\r" in block:
                lone_cr += block.count(b"\r") - block.count(b"\r\n")
            if previous.endswith(b"\r") and block.startswith(b"\n"):
                lone_cr -= 1
            previous = block
    return lone_cr == 0


def plain_blocks(
    path: Path, offset: int, encoding: str, *, width: int, delimiter: str
) -> Iterator[TextBlock | None]:
    """Yield the rows after the header, a block of whole lines at a time."""
    carry = b""
    with path.open("rb") as handle:
        handle.seek(offset)
        while True:
            piece = handle.read(_PLAIN_READ_BYTES)
            data = carry + piece
            end = data.rfind(b"\n") + 1 if piece else len(data)
            if end:
                lines = data[:end]
                if encoding != "utf-8-sig":
                    lines = lines.decode(encoding).encode("utf-8")
                yield parse_block(lines, width=width, delimiter=delimiter)
            carry = data[end:]
            if not piece:
                return


def _csv_block(data: bytes, *, width: int, delimiter: str) -> TextBlock | None:
    """Read whole plain lines with :mod:`csv`, as the lenient reader reads them."""
    try:
        rows = list(
            csv.reader(
                io.StringIO(data.decode("utf-8"), newline=""), delimiter=delimiter, strict=True
            )
        )
    except csv.Error:
        return None
    if any(len(row) > width and any(c.strip() for c in row[width:]) for row in rows):
        return None
    cells = [[c.strip() for c in (row + [""] * width)[:width]] for row in rows]
    columns = [pa.array([row[i] for row in cells], pa.string()) for i in range(width)]
    blank = np.fromiter((not any(row) for row in cells), dtype=bool, count=len(cells))
    return TextBlock(columns, blank)


def frames_from_blocks(
    blocks: Iterable[TextBlock | None],
    header: list[str],
    *,
    chunk_rows: int,
    first_row: int = 2,
) -> Iterator[pd.DataFrame]:
    """Yield the blocks' rows as the lenient reader's frames of ``chunk_rows`` rows.

    As the lenient reader does, blank rows are kept between records and
    dropped at the end, and a chunk is yielded once a record follows it.

    Raises
    ------
    NotPlain
        On a block that is None, or if the file has no data rows: the lenient
        reader gives the error.
    """
    pending: list[TextBlock] = []
    held = 0  # rows in pending
    last = -1  # index in pending's rows of the last non-blank row
    for block in blocks:
        if block is None:
            raise NotPlain
        filled = np.flatnonzero(~block.blank)
        if len(filled):
            last = held + int(filled[-1])
        pending.append(block)
        held += len(block.blank)
        while last + 1 > chunk_rows:
            merged = _merge(pending)
            yield _frame(merged, header, stop=chunk_rows, first_row=first_row)
            rest = TextBlock(
                [col[chunk_rows:] for col in merged.columns], merged.blank[chunk_rows:]
            )
            pending, held, last = [rest], held - chunk_rows, last - chunk_rows
            first_row += chunk_rows
    if last < 0:
        if first_row == 2:
            raise NotPlain
        return
    yield _frame(_merge(pending), header, stop=last + 1, first_row=first_row)


def _merge(blocks: list[TextBlock]) -> TextBlock:
    if len(blocks) == 1:
        return blocks[0]
    width = len(blocks[0].columns)
    return TextBlock(
        [pa.concat_arrays([b.columns[i] for b in blocks]) for i in range(width)],
        np.concatenate([b.blank for b in blocks]),
    )


def _frame(block: TextBlock, header: list[str], *, stop: int, first_row: int) -> pd.DataFrame:
    """Return the first ``stop`` rows as the lenient reader's frame: object columns of str."""
    # One 2-D block of objects, as the lenient reader's frame holds, filled column by column.
    cells = np.empty((stop, len(block.columns)), dtype=object)
    for i, col in enumerate(block.columns):
        cells[:, i] = col[:stop].to_numpy(zero_copy_only=False)
    frame = pd.DataFrame(cells, columns=header, dtype=object, copy=False)
    frame.index = pd.RangeIndex(first_row, first_row + stop, name="row")
    return frame


def usual_numbers(cells: np.ndarray, *, missing: pa.Array, number: str) -> np.ndarray | None:
    """Return the usual column's floats in Arrow's compiled loops, or None for any other column.

    The usual column: every cell None, NaN or ASCII text that, stripped, is
    blank, one of ``missing`` (lower case) or a plain number (fully matching
    the regular expression ``number``, in RE2 and Python alike), and every
    number finite. Its values are exactly those of the reader's cell-by-cell
    path (Arrow's and Python's ``float`` both round correctly), and it gives no
    finding, so that path is needed only for a column with something to report
    or to guess at.
    """
    texts = _arrow_texts(cells)
    if texts is None:
        return None  # a cell that is not text: Python's rules
    # Each check is null, not False, when every cell is null: nothing to refuse.
    if pc.all(pc.string_is_ascii(texts)).as_py() is False:
        return None
    stripped = pc.utf8_trim(texts, characters=PYTHON_WHITESPACE)
    blank = pc.is_in(pc.ascii_lower(stripped), value_set=missing)
    plain = pc.match_substring_regex(stripped, f"^(?:{number})$")
    if pc.all(pc.or_kleene(blank, plain)).as_py() is False:
        return None
    try:
        numbers = pc.cast(pc.if_else(plain, stripped, None), pa.float64())
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return None
    values: np.ndarray = numbers.to_numpy(zero_copy_only=False).astype(np.float64)
    if np.isinf(values).any():
        return None
    return values


def non_ascii_texts(cells: np.ndarray) -> np.ndarray:
    """Return which cells are text with a character outside ASCII (the only ones to clean)."""
    texts = _arrow_texts(cells)
    if texts is not None:
        ascii_ = pc.fill_null(pc.string_is_ascii(texts), True)
        flags: np.ndarray = pc.invert(ascii_).to_numpy(zero_copy_only=False)
        return flags
    return np.fromiter(
        (isinstance(c, str) and not c.isascii() for c in cells), dtype=bool, count=len(cells)
    )


def _arrow_texts(cells: np.ndarray) -> pa.Array | None:
    """Return object cells that are all text (or missing) as an Arrow array; else None."""
    if pd.api.types.infer_dtype(cells, skipna=True) not in {"string", "empty"}:
        return None
    try:
        return pa.array(cells, pa.string(), from_pandas=True)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        return None
