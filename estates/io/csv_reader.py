"""Read real-world CSV files: encodings, BOMs, delimiters and number formats.

Files from NHS and council systems arrive with a UTF-8 byte-order mark, in
Windows-1252, with semicolons, with numbers in scientific notation
(``4.3077960610389709E-2``) and with ``Not Applicable`` for missing values. This
module turns such a file into a frame of text, and text into numbers, without
ever reading "missing" as zero.
"""

from __future__ import annotations

import csv
import io
import math
import re
import unicodedata
from collections.abc import Iterator, Mapping
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

from estates.errors import DataValidationError
from estates.findings import Findings
from estates.io.csv_fast import (
    NotPlain,
    file_is_plain,
    frames_from_blocks,
    is_plain,
    non_ascii_texts,
    parse_block,
    plain_blocks,
    plain_header,
    usual_numbers,
)
from estates.io.text_files import decode, read_bytes, stream_encoding

#: Cell values that mean "no value". Compared after stripping spaces, ignoring case.
MISSING_MARKERS = frozenset(
    {"", "not applicable", "n/a", "na", "nan", "null", "none", "-", "--", "#n/a", "not known"}
)
_MISSING_ARRAY = pa.array(sorted(MISSING_MARKERS), pa.string())
#: CSV files larger than this are refused rather than read into memory.
DEFAULT_MAX_CSV_BYTES = 512 * 1024**2
_DELIMITERS = ",;\t|"


def read_csv_text(
    path: Path,
    findings: Findings,
    *,
    required: tuple[str, ...] = (),
    max_bytes: int = DEFAULT_MAX_CSV_BYTES,
    unique: bool = True,
) -> pd.DataFrame:
    """Read a CSV file into a frame of stripped strings, one column per header.

    Every cell is text (``""`` for an empty cell); numbers are parsed later with
    :func:`parse_numbers` so that bad values can be reported row by row.

    Parameters
    ----------
    path : pathlib.Path
        The file.
    findings : Findings
        Receives a ``warning`` if the file is not UTF-8 and was decoded as
        Windows-1252.
    required : tuple of str
        Columns that must be present (after case-folding spaces around names).
    max_bytes : int
        Files larger than this are refused with a message pointing at
        ``estates join``, which streams point files of any size.
    unique : bool, default True
        Refuse a header that names a column twice. A site file is read with
        False: ERIC returns repeat headers of columns no one reads, and the
        column detector refuses a repeated header it would use.

    Returns
    -------
    pandas.DataFrame
        Text cells; the index is the spreadsheet row number (header = row 1).

    Raises
    ------
    DataValidationError
        If the file is missing, unreadable, empty, has only a header, is not
        delimited as a CSV, is truncated mid-record, or lacks a required column.
    """
    name = path.name
    read_bytes(path, max_bytes=max_bytes, check_only=True)
    _check_header_first(path, required, unique=unique)
    _check_field_lengths_first(path, required)
    raw = read_bytes(path, max_bytes=max_bytes)
    text = decode(raw, name, findings)
    if not text.strip():
        msg = f"{name} is empty; expected a CSV file with a header row"
        raise DataValidationError(msg)
    delimiter = _sniff_delimiter(text, required)
    frame = _read_plain(text, name, delimiter=delimiter, required=required, unique=unique)
    if frame is not None:
        return frame
    try:
        reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
        rows = list(reader)
    except csv.Error as exc:
        raise _csv_error(name, exc) from exc
    # As the chunked reader does: a file is empty only if every row is blank, and
    # the end-of-file mark is looked for after the header only.
    if not any(cell.strip() for row in rows for cell in row):
        msg = f"{name} is empty (only delimiters and spaces); expected a CSV file with a header row"
        raise DataValidationError(msg)
    header = [h.strip() for h in rows[0]]
    check_header(header, name, required, unique=unique)
    rows = rows[:1] + _drop_eof_marker(rows[1:], name, findings)
    while len(rows) > 1 and not any(cell.strip() for cell in rows[-1]):
        rows.pop()
    if len(rows) == 1:
        msg = f"{name} has a header but no data rows"
        raise DataValidationError(msg)
    return text_frame(rows[1:], header, first_row=2, name=name)


def iter_csv_text(
    path: Path,
    findings: Findings,
    *,
    required: tuple[str, ...] = (),
    chunk_rows: int = 1_000_000,
    unique: bool = True,
) -> Iterator[pd.DataFrame]:
    """Yield a CSV file as :func:`read_csv_text` frames of at most ``chunk_rows`` rows.

    The file is never held whole: this is how ``estates build`` reads site files
    larger than memory. Each chunk is what :func:`read_csv_text` would return
    for those rows (same text cells, same row numbers in the index), and the
    same problems raise the same errors, when the reader reaches them. The
    encoding is settled first by one pass over the bytes, so a Windows-1252
    byte late in the file gives the same warning as a file read whole.
    """
    if chunk_rows < 1:
        msg = f"chunk_rows must be at least 1, got {chunk_rows}"
        raise ValueError(msg)
    read_bytes(path, max_bytes=0, check_only=True)
    _check_header_first(path, required, unique=unique)
    encoding = stream_encoding(path, findings)
    yielded = 0
    fast = _iter_plain(path, encoding, required=required, chunk_rows=chunk_rows, unique=unique)
    if fast is not None:
        try:
            for frame in fast:
                yield frame
                yielded += 1
        except NotPlain:
            pass  # the lenient reader takes over, from the start, skipping what was yielded
        else:
            return
    lenient = _iter_lenient(
        path, encoding, findings, required=required, chunk_rows=chunk_rows, unique=unique
    )
    for number, frame in enumerate(lenient):
        if number >= yielded:
            yield frame


def _iter_lenient(
    path: Path,
    encoding: str,
    findings: Findings,
    *,
    required: tuple[str, ...],
    chunk_rows: int,
    unique: bool = True,
) -> Iterator[pd.DataFrame]:
    """Yield :func:`iter_csv_text`'s frames through the :mod:`csv` module: any file, any error."""
    name = path.name
    with path.open(encoding=encoding, newline="") as handle:
        sample = handle.read(65536)
        if not sample.strip() and len(sample) < 65536:
            msg = f"{name} is empty; expected a CSV file with a header row"
            raise DataValidationError(msg)
        handle.seek(0)
        reader = csv.reader(handle, delimiter=_sniff_delimiter(sample, required), strict=True)
        try:
            header_row = next(reader, None)
            if (
                header_row is not None
                and not any(c.strip() for c in header_row)
                and not any(any(c.strip() for c in row) for row in reader)
            ):
                header_row = None
            if header_row is None:
                msg = (
                    f"{name} is empty (only delimiters and spaces); expected a CSV file "
                    "with a header row"
                )
                raise DataValidationError(msg)
            header = [h.strip() for h in header_row]
            check_header(header, name, required, unique=unique)
            first_row, body, blank_tail, any_rows = 2, [], [], False
            for row in reader:
                if not any(cell.strip() for cell in row):
                    blank_tail.append(row)  # kept only if a record follows
                    continue
                body.extend(blank_tail)
                blank_tail = []
                body.append(row)
                # One row is held back, so a Ctrl-Z after the last record is seen.
                while len(body) > chunk_rows:
                    yield text_frame(body[:chunk_rows], header, first_row=first_row, name=name)
                    first_row += chunk_rows
                    body = body[chunk_rows:]
                    any_rows = True
        except csv.Error as exc:
            raise _csv_error(name, exc) from exc
    body = _drop_eof_marker(body, name, findings)
    while body and not any(cell.strip() for cell in body[-1]):
        body.pop()
    if body:
        yield text_frame(body, header, first_row=first_row, name=name)
    elif not any_rows:
        msg = f"{name} has a header but no data rows"
        raise DataValidationError(msg)


def _iter_plain(
    path: Path, encoding: str, *, required: tuple[str, ...], chunk_rows: int, unique: bool = True
) -> Iterator[pd.DataFrame] | None:
    """Return :func:`iter_csv_text`'s frames read by Arrow, or None if the file is not plain.

    A plain file (:func:`estates.io.csv_fast.is_plain`) with a header line is
    parsed by Arrow a few MiB of whole lines at a time; the generator raises
    :class:`~estates.io.csv_fast.NotPlain` where only the lenient reader can
    go on (it then raises the error, or reads the rest).
    """
    if not file_is_plain(path):
        return None
    with path.open(encoding=encoding, newline="") as handle:
        sample = handle.read(65536)
    with path.open("rb") as handle:
        first = handle.readline(csv.field_size_limit())
    if not sample.strip() or not first.endswith(b"\n"):
        return None
    delimiter = _sniff_delimiter(sample, required)
    header = plain_header(first.decode(encoding), delimiter)
    if header is None:
        return None
    check_header(header, path.name, required, unique=unique)
    blocks = plain_blocks(path, len(first), encoding, width=len(header), delimiter=delimiter)
    return frames_from_blocks(blocks, header, chunk_rows=chunk_rows)


def _read_plain(
    text: str, name: str, *, delimiter: str, required: tuple[str, ...], unique: bool = True
) -> pd.DataFrame | None:
    """Return :func:`read_csv_text`'s frame of plain ``text`` read by Arrow, or None."""
    end = text.find("\n")
    if not is_plain(text) or end < 0 or end >= csv.field_size_limit():
        return None
    header = plain_header(text[:end], delimiter)
    if header is None:
        return None
    check_header(header, name, required, unique=unique)
    block = parse_block(text[end + 1 :].encode("utf-8"), width=len(header), delimiter=delimiter)
    try:
        [frame] = frames_from_blocks([block], header, chunk_rows=max(len(text), 1))
    except NotPlain:
        return None
    return frame


#: Longest header line looked at before the whole file is read.
_HEADER_PEEK_BYTES = 1 << 20


def _check_header_first(path: Path, required: tuple[str, ...], *, unique: bool = True) -> None:
    """Check a CSV file's header from its first bytes, before reading the rest.

    A large file with a wrong header is refused at once, without reading
    (and holding) the whole file first. A header this cannot judge alone (no
    line end in the first MiB, quotes, NUL bytes) is left to the full read,
    which gives the same errors.
    """
    if not required:
        return
    try:
        with path.open("rb") as handle:
            head = handle.read(_HEADER_PEEK_BYTES)
    except OSError:
        return  # the full read reports it
    end = head.find(b"\n")
    if end < 0 or b"\x00" in head[:4096]:
        return
    line = head[:end].decode("utf-8-sig", errors="replace").rstrip("\r")
    if '"' in line or not line.strip(_DELIMITERS + " "):
        return
    delimiter = _sniff_delimiter(line, required)
    check_header([h.strip() for h in line.split(delimiter)], path.name, required, unique=unique)


#: Files above this size have their cell lengths checked by streaming before the whole read.
_STREAM_CHECK_BYTES = 8 * 1024**2
_STREAM_PIECE_CHARS = 64 * 1024


def _check_field_lengths_first(path: Path, required: tuple[str, ...]) -> None:
    """Refuse a large CSV with an overlong cell by streaming it, before it is held whole.

    A quote left open makes one cell of the rest of the file: read whole, a
    200 MB file costs gigabytes before the ``csv`` module meets the cell
    limit. Streamed, the same error comes at the limit, in bounded memory.
    Only that error is raised here; any other problem is left to the full
    read, which reports it in the same words as for a small file.
    """
    try:
        if path.stat().st_size <= _STREAM_CHECK_BYTES:
            return
        with path.open("rb") as handle:
            head = handle.read(_HEADER_PEEK_BYTES)
    except OSError:
        return  # the full read reports it
    end = head.find(b"\n")
    line = head[: end if end >= 0 else len(head)].decode("utf-8-sig", errors="replace")
    delimiter = _sniff_delimiter(line.rstrip("\r"), required)
    try:
        with path.open(encoding="utf-8-sig", errors="replace", newline="") as handle:
            # Lines of at most 64 KiB: a line can be the whole file. A piece
            # ending mid-line only splits an unquoted cell (shorter, never longer);
            # a quoted cell continues across pieces, so its length is exact.
            pieces = iter(lambda: handle.readline(_STREAM_PIECE_CHARS), "")
            for _row in csv.reader(pieces, delimiter=delimiter, strict=True):
                pass
    except csv.Error as exc:
        if "field larger than field limit" in str(exc):
            raise _csv_error(path.name, exc) from exc
    except (OSError, ValueError):
        return


def _csv_error(name: str, exc: csv.Error) -> DataValidationError:
    """Return the error for a CSV the ``csv`` module cannot parse, naming the likely cause."""
    if "field larger than field limit" in str(exc):
        limit = csv.field_size_limit()
        return DataValidationError(
            f"{name}: a field is longer than {limit:,} characters, the limit for one cell; "
            'is a quote left open (a missing closing ")?'
        )
    return DataValidationError(
        f"{name}: not a readable CSV file ({exc}); is it truncated or mis-quoted?"
    )


#: The end-of-file mark (Ctrl-Z) some DOS-era exports leave after the last record.
EOF_MARK = "\x1a"


def _drop_eof_marker(rows: list[list[str]], name: str, findings: Findings) -> list[list[str]]:
    """Return ``rows`` without a trailing Ctrl-Z, warning if there was one.

    The mark may stand on a line of its own after the last record, or end the
    last record's last cell; either way it is not data, and read as a row it
    would become a phantom site.
    """
    end = len(rows)
    while end and not any(cell.strip() for cell in rows[end - 1]):
        end -= 1
    if not end:
        return rows
    last = rows[end - 1]
    if not last or not last[-1].rstrip().endswith(EOF_MARK):
        return rows
    findings.add(
        name,
        None,
        "the file ends with a Ctrl-Z end-of-file mark (from an old DOS export); ignored",
        action="warning",
        check="eof_mark",
    )
    cell = last[-1].rstrip()[: -len(EOF_MARK)]
    trimmed = [*last[:-1], cell]
    if not any(c.strip() for c in trimmed):
        return rows[: end - 1]
    return [*rows[: end - 1], trimmed]


def text_frame(
    body: list[list[str]], header: list[str], *, first_row: int, name: str
) -> pd.DataFrame:
    """Return rows as a frame of stripped text, indexed by row number from ``first_row``.

    The one place a text frame is built, for CSV files and Excel sheets alike:
    each row is padded to the header's width, and a row wider than the header
    is refused unless its extra cells are blank.

    Parameters
    ----------
    body : list of list of str
        The records' cells, header excluded.
    header : list of str
        The column names.
    first_row : int
        The row number (as a spreadsheet shows it) of ``body[0]``.
    name : str
        The file (and sheet) for messages.

    Returns
    -------
    pandas.DataFrame
        Text cells, the index named ``row``.
    """
    width = len(header)
    for line_no, row in enumerate(body, start=first_row):
        if len(row) > width and any(c.strip() for c in row[width:]):
            msg = (
                f"{name} row {line_no}: {len(row)} fields but the header has {width}; "
                "quote values that contain the delimiter"
            )
            raise DataValidationError(msg)
    cells = [[c.strip() for c in (row + [""] * width)[:width]] for row in body]
    frame = pd.DataFrame(cells, columns=header, dtype=object)
    frame.index = pd.RangeIndex(first_row, first_row + len(frame), name="row")
    return frame


def parse_numbers(
    text: pd.Series,
    *,
    column: str,
    source_file: str,
    findings: Findings | None,
    site_codes: pd.Series | None = None,
    action: str = "flagged",
) -> pd.Series:
    """Parse a column of text into floats; missing markers become NaN, never 0.

    Numbers are read by :func:`read_number`: scientific notation and
    thousands separators in groups of three are accepted; a decimal comma,
    an underscore or non-ASCII digits are not guessed at. A value that is not
    a number, or is infinite, becomes NaN and, if ``findings`` is given, is
    recorded with ``action`` (check ``ambiguous_number`` when the finding
    names a likely reading, else ``not_a_number``).

    Examples
    --------
    >>> s = pd.Series(["4.3077960610389709E-2", "Not Applicable", "", "1,526,422", "x"])
    >>> parse_numbers(s, column="v", source_file="f.csv", findings=None).tolist()
    [0.04307796061038971, nan, nan, 1526422.0, nan]
    """
    usual = usual_numbers(text.to_numpy(dtype=object), missing=_MISSING_ARRAY, number=_PLAIN_NUMBER)
    if usual is not None:
        return pd.Series(usual, index=text.index, name=text.name, dtype="float64")
    return _numbers_cell_by_cell(
        text,
        column=column,
        source_file=source_file,
        findings=findings,
        site_codes=site_codes,
        action=action,
    )


def _numbers_cell_by_cell(
    text: pd.Series,
    *,
    column: str,
    source_file: str,
    findings: Findings | None,
    site_codes: pd.Series | None,
    action: str,
) -> pd.Series:
    """:func:`parse_numbers` in Python's own string rules, with a finding for each bad cell."""
    cells = text.to_numpy(dtype=object)
    values = np.full(len(text), np.nan)
    is_text = np.fromiter((isinstance(c, str) for c in cells), dtype=bool, count=len(cells))
    where = np.flatnonzero(is_text)
    stripped = pd.Series(cells[where], dtype=object).str.strip()
    plain = ~stripped.str.lower().isin(MISSING_MARKERS).to_numpy() & (stripped != "").to_numpy()
    # Usually every cell is a plain number: numpy parses them with float()'s
    # own rules in one call; anything else goes through the loop below.
    # float() also takes "1_000" and non-ASCII digits: only cells that are plain
    # ASCII numbers take the fast path.
    candidates = stripped[plain]
    numbers = None
    if candidates.str.fullmatch(_PLAIN_NUMBER).all():
        numbers = candidates.to_numpy(dtype=object).astype(np.float64)
    if numbers is not None and np.isfinite(numbers).all():
        values[where[plain]] = numbers
        slow = np.flatnonzero(~is_text)
    else:
        slow = np.sort(np.concatenate([np.flatnonzero(~is_text), where[plain]]))
    rows = text.index
    for i in slow:
        row, cell = rows[i], cells[i]
        if cell is None or (isinstance(cell, float) and math.isnan(cell)):
            continue
        cell_text = str(cell).strip()
        if cell_text.lower() in MISSING_MARKERS:
            continue
        number, problem = read_number(cell_text)
        if number is None or not math.isfinite(number):
            if findings is not None:
                code = None if site_codes is None else site_codes.iloc[i]
                if problem is None or problem == "is not a number":
                    problem, check = "is not a finite number", "not_a_number"
                else:
                    check = "ambiguous_number"
                findings.add(
                    source_file,
                    int(row) if isinstance(row, (int, np.integer)) else None,
                    f"{column} {cell_text!r} {problem}; treated as missing",
                    action=action,  # type: ignore[arg-type]
                    check=check,
                    site_code=code,
                    column=column,
                    value=cell_text,
                )
            continue
        values[i] = number
    return pd.Series(values, index=text.index, name=text.name, dtype="float64")


def parse_number_columns(
    columns: Mapping[str, pd.Series],
    *,
    source_file: str,
    findings: Findings | None,
    site_codes: pd.Series | None = None,
) -> dict[str, pd.Series]:
    """Parse several text columns of one table into floats, each as :func:`parse_numbers` does.

    The usual column (every cell text: blank, a missing marker or a plain
    ASCII number, all finite) is recognised for all the columns at once, in
    one pass of each string operation over their cells together; any other
    column goes through :func:`parse_numbers` alone, in the order given, so
    the values and the findings are the same as one call per column.

    Examples
    --------
    >>> cols = {"a": pd.Series(["1.5", "n/a"]), "b": pd.Series(["1,526", ""])}
    >>> {k: v.tolist() for k, v in parse_number_columns(
    ...     cols, source_file="f.csv", findings=None).items()}
    {'a': [1.5, nan], 'b': [1526.0, nan]}
    """
    names = list(columns)
    cells = [columns[name].to_numpy(dtype=object) for name in names]
    ends = np.cumsum([len(c) for c in cells])
    every = np.concatenate(cells) if cells else np.array([], dtype=object)
    is_text = np.fromiter((isinstance(c, str) for c in every), dtype=bool, count=len(every))
    stripped = pd.Series(np.where(is_text, every, ""), dtype=object).str.strip()
    plain = ~stripped.str.lower().isin(MISSING_MARKERS).to_numpy() & (stripped != "").to_numpy()
    matched = stripped.str.fullmatch(_PLAIN_NUMBER).to_numpy(dtype=bool) | ~plain
    stripped_cells = stripped.to_numpy(dtype=object)
    out = {}
    for name, end, size in zip(names, ends, (len(c) for c in cells), strict=True):
        part = slice(end - size, end)
        values = np.full(size, np.nan)
        usual = bool(is_text[part].all() and matched[part].all())
        if usual:
            where = np.flatnonzero(plain[part])
            values[where] = stripped_cells[part][where].astype(np.float64)
            usual = bool(np.isfinite(values[where]).all())
        text = columns[name]
        out[name] = (
            pd.Series(values, index=text.index, name=text.name, dtype="float64")
            if usual
            else parse_numbers(
                text,
                column=name,
                source_file=source_file,
                findings=findings,
                site_codes=site_codes,
            )
        )
    return out


#: Characters that show as nothing: zero-width spaces and joiners, word joiner,
#: byte-order mark, soft hyphen, and the left-to-right and bidi controls.
_INVISIBLE_RE = re.compile("[\u00ad\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]")


def clean_keys(
    values: pd.Series,
    *,
    column: str,
    source_file: str,
    findings: Findings,
    rows: pd.Series | None = None,
) -> pd.Series:
    """Return key text (a site or trust code) in one canonical form, with a finding per change.

    Two codes that look the same must compare the same, or the duplicate
    check and the joins on the code miss them: invisible characters
    (zero-width space, byte-order mark, bidi controls) are removed and the
    text is put in Unicode NFC form. Each changed cell is ``flagged`` with
    check ``invisible_characters``, naming what was removed. Plain ASCII
    cells, the usual case, are not looked at one by one.

    Parameters
    ----------
    values : pandas.Series
        Text cells (``None``/NA allowed).
    column, source_file : str
        Where the cells come from, for the findings.
    findings : Findings
        Receives one finding per changed cell.
    rows : pandas.Series, optional
        Spreadsheet row numbers, aligned with ``values``; default its index.

    Examples
    --------
    >>> f = Findings()
    >>> clean_keys(pd.Series(["A\u200b1", "B1"]), column="site_code", source_file="s.csv",
    ...            findings=f).tolist()
    ['A1', 'B1']
    >>> [x.check for x in f]
    ['invisible_characters']
    """
    cells = values.to_numpy(dtype=object).copy()
    row_numbers = values.index.to_numpy() if rows is None else rows.to_numpy()
    odd = non_ascii_texts(cells)
    for i in np.flatnonzero(odd):
        cell = cells[i]
        removed = sorted(
            {
                f"U+{ord(c):04X} {unicodedata.name(c, '')}".strip()
                for c in _INVISIBLE_RE.findall(cell)
            }
        )
        clean = unicodedata.normalize("NFC", _INVISIBLE_RE.sub("", cell)).strip()
        if clean == cell:
            continue
        what = f"removed invisible {', '.join(removed)}" if removed else "normalised to NFC"
        findings.add(
            source_file,
            int(row_numbers[i]),
            f"{column} {cell!r} held characters that look like nothing or like others "
            f"({what}); read as {clean!r}",
            action="flagged",
            check="invisible_characters",
            site_code=clean if column == "site_code" else None,
            column=column,
            value=cell,
        )
        cells[i] = clean
    return pd.Series(cells, index=values.index, name=values.name).astype(values.dtype)


def is_missing(cell: object) -> bool:
    """Return True if a text cell means "no value" (see :data:`MISSING_MARKERS`)."""
    if cell is None:
        return True
    if isinstance(cell, float):
        return math.isnan(cell)
    return str(cell).strip().lower() in MISSING_MARKERS


#: A plain number: ASCII digits, one optional point, an optional exponent.
_PLAIN_NUMBER = r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?"
_PLAIN_RE = re.compile(_PLAIN_NUMBER)
#: Thousands separated by commas in groups of three, with an optional decimal point.
_GROUPED_RE = re.compile(r"[+-]?[0-9]{1,3}(?:,[0-9]{3})+(?:\.[0-9]*)?")
#: A decimal comma: ``2,5``, ``-0,12``, ``1.234,5``, ``1 234,5``.
_DECIMAL_COMMA_RE = re.compile(
    r"(?P<sign>[+-]?)(?P<int>[0-9]{1,3}(?:[. \u00a0\u202f][0-9]{3})+|[0-9]+),(?P<frac>[0-9]+)"
)
#: European thousands with points and no decimals: ``1.234.567``.
_POINT_GROUPED_RE = re.compile(r"[+-]?[0-9]{1,3}(?:\.[0-9]{3}){2,}")


def read_number(text: str) -> tuple[float | None, str | None]:
    """Read one stripped cell as a number; return ``(value, problem)``.

    One rule for every number read from a user's CSV file:

    * plain ASCII numbers, with scientific notation: ``1.5``, ``-0.12``, ``4.3E-2``;
    * thousands separated by commas only in valid groups of three: ``1,234.5``;
    * a decimal comma (``2,5``, ``1.234,5``) is never guessed at: the value
      is missing and the problem names the likely reading;
    * underscores (``1_000``) and non-ASCII digits are refused, though
      Python's own ``float`` accepts them.

    Returns
    -------
    tuple
        ``(number, None)`` for a number (possibly infinite), or
        ``(None, problem)`` where ``problem`` completes "<column> '<value>' ...".

    Examples
    --------
    >>> read_number("1,234.5")
    (1234.5, None)
    >>> read_number("2,5")
    (None, 'uses a decimal comma; if it means 2.5, write 2.5 (no thousands separators)')
    >>> read_number("1.234,5")[1]
    'uses a decimal comma; if it means 1234.5, write 1234.5 (no thousands separators)'
    >>> read_number("1_000")[1]
    'contains an underscore; write 1000'
    """
    if _PLAIN_RE.fullmatch(text):
        return float(text), None
    if _GROUPED_RE.fullmatch(text):
        return float(text.replace(",", "")), None
    match = _DECIMAL_COMMA_RE.fullmatch(text)
    if match is not None:
        digits = re.sub(r"[. \u00a0\u202f]", "", match["int"])
        likely = f"{match['sign']}{digits}.{match['frac']}".lstrip("+")
        return (
            None,
            f"uses a decimal comma; if it means {likely}, write {likely} (no thousands separators)",
        )
    if _POINT_GROUPED_RE.fullmatch(text):
        likely = text.replace(".", "").lstrip("+")
        return (
            None,
            f"has points between groups of three digits; if it means {likely}, write {likely}",
        )
    if "_" in text and _PLAIN_RE.fullmatch(text.replace("_", "")):
        return None, f"contains an underscore; write {text.replace('_', '')}"
    if not text.isascii():
        ascii_digits = "".join(str(unicodedata.digit(c, c)) if c.isdigit() else c for c in text)
        if ascii_digits != text and _PLAIN_RE.fullmatch(ascii_digits):
            return None, f"has non-ASCII digits; write {ascii_digits}"
    if text.lower() in {"inf", "+inf", "-inf", "infinity", "+infinity", "-infinity"}:
        return float(text), None
    return None, "is not a number"


def _sniff_delimiter(text: str, required: tuple[str, ...]) -> str:
    first_line = text.splitlines()[0] if text else ""
    wanted = {r.lower() for r in required}
    best, best_hits = ",", -1
    for delimiter in _DELIMITERS:
        fields = {f.strip().strip('"').lower() for f in first_line.split(delimiter)}
        hits = len(fields & wanted) if wanted else len(fields)
        if hits > best_hits:
            best, best_hits = delimiter, hits
    return best


def check_header(
    header: list[str],
    name: str,
    required: tuple[str, ...],
    *,
    unique: bool = True,
    delimited: bool = True,
) -> None:
    """Refuse a header without a required column, or (``unique``) with a name twice.

    The one header check of CSV files and Excel sheets alike. Only in
    ``delimited`` text does one column where several are required mean the
    delimiter was not recognised.
    """
    if delimited and len(header) == 1 and required and len(required) > 1:
        msg = (
            f"{name}: the header has one column ({header[0][:60]!r}); expected columns "
            f"{', '.join(required)} separated by commas"
        )
        raise DataValidationError(msg)
    seen: set[str] = set()
    for h in header:
        if unique and h in seen and h:
            msg = f"{name}: column {h!r} appears twice in the header"
            raise DataValidationError(msg)
        seen.add(h)
    missing = [r for r in required if r not in header]
    if missing:
        # One line: a quoted header name may hold a line break.
        found = ", ".join(" ".join(h.split()) for h in header[:12])
        found += " …" if len(header) > 12 else ""
        quoted = [repr(m) for m in missing]
        if len(quoted) == 1:
            what = f"column {quoted[0]}"
        else:
            what = f"columns {', '.join(quoted[:-1])} and {quoted[-1]}"
        msg = f"{name}: missing {what}; found {found}"
        raise DataValidationError(msg)
