"""Read Excel workbooks into the same all-text frame a CSV file gives.

Planners keep site lists in Excel. A sheet is read with python-calamine
(``.xlsx``, ``.xlsm`` and the older ``.xls``) into text cells, so the rest of
the pipeline sees exactly what it sees for a CSV file: the header, a text cell
per value, and each record's row number as Excel shows it (header on row 1),
so findings point at the row the user can open. Numbers become the text they
hold (``12``, not ``12.0``), dates ISO text, and nothing is guessed silently.

A workbook handed over under a ``.csv`` name is recognised by its first bytes
and refused with the fix, instead of being read as garbled text.
"""

from __future__ import annotations

import datetime as dt
import math
import zipfile
from pathlib import Path
from typing import Any

import pandas as pd

from estates.errors import DataValidationError
from estates.io.csv_reader import check_header, text_frame
from estates.io.text_files import file_size

__all__ = [
    "EXCEL_SUFFIXES",
    "check_not_workbook",
    "column_letter",
    "is_excel_path",
    "read_excel_text",
    "sheet_names",
    "workbook_kind",
]

#: File suffixes read as Excel workbooks.
EXCEL_SUFFIXES = (".xlsx", ".xlsm", ".xls")
#: Workbooks larger than this are refused rather than read into memory.
DEFAULT_MAX_EXCEL_BYTES = 256 * 1024**2
_ZIP_MAGIC = b"PK\x03\x04"
_OLE2_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
#: Integral floats up to this size are written without a decimal point; all
#: integers up to 2**53 are exact in a float, which is how Excel stores numbers.
_EXACT_INT = 2**53


def is_excel_path(path: Path | str) -> bool:
    """Return True if ``path`` has an Excel suffix (see :data:`EXCEL_SUFFIXES`).

    Examples
    --------
    >>> is_excel_path("sites.XLSX"), is_excel_path("sites.csv")
    (True, False)
    """
    return Path(path).suffix.lower() in EXCEL_SUFFIXES


def workbook_kind(head: bytes, path: Path | None = None) -> str | None:
    """Return what binary office file ``head`` (a file's first bytes) starts, if any.

    Parameters
    ----------
    head : bytes
        The file's first bytes (8 are enough).
    path : pathlib.Path, optional
        The file, opened only when ``head`` is a zip archive, to tell an
        ``.xlsx`` workbook from an OpenDocument sheet or another archive.

    Returns
    -------
    str or None
        ``"xlsx"``, ``"xls"`` (Excel 97-2003), ``"ods"``, ``"zip"`` (another
        archive) or ``None`` for anything else, such as text.

    Examples
    --------
    >>> workbook_kind(b"site_code,site_name"), workbook_kind(b"PK" + bytes([3, 4]))
    (None, 'xlsx')
    """
    if head.startswith(_OLE2_MAGIC):
        return "xls"
    if not head.startswith(_ZIP_MAGIC):
        return None
    if path is None:
        return "xlsx"
    try:
        with zipfile.ZipFile(path) as archive:
            names = set(archive.namelist())
    except (OSError, zipfile.BadZipFile):
        return "zip"
    if "xl/workbook.xml" in names or "xl/workbook.bin" in names:
        return "xlsx"
    if "content.xml" in names and "mimetype" in names:
        return "ods"
    return "zip"


def check_not_workbook(path: Path) -> None:
    """Refuse a spreadsheet or archive that was given where a text CSV is expected.

    Call it before reading a ``.csv`` file: a workbook saved or renamed with
    a ``.csv`` name otherwise reads as garbled bytes.

    Raises
    ------
    DataValidationError
        If the file starts as an Excel workbook, an OpenDocument sheet or a zip
        archive; the message says what it is and how to fix it.
    """
    try:
        with path.open("rb") as handle:
            head = handle.read(8)
    except OSError:
        return  # the CSV reader reports a missing or unreadable file in its own words
    kind = workbook_kind(head, path)
    if kind is None:
        return
    name = path.name
    if kind in {"xlsx", "xls"}:
        msg = (
            f"{name}: this is an Excel workbook ({kind}), not a CSV text file; "
            f"rename it to {path.stem}.{kind} and estates reads it as Excel "
            "(first sheet, or --sheet NAME), or save it from Excel as 'CSV UTF-8'"
        )
    elif kind == "ods":
        msg = (
            f"{name}: this is an OpenDocument spreadsheet, not a CSV text file; "
            "save it as CSV (UTF-8) or as an Excel .xlsx workbook"
        )
    else:
        msg = (
            f"{name}: this is a zip archive, not a CSV text file; unzip it and give the CSV inside"
        )
    raise DataValidationError(msg)


def sheet_names(path: Path | str) -> list[str]:
    """Return the names of a workbook's worksheets, in workbook order.

    Raises
    ------
    DataValidationError
        If the file is missing or is not a workbook python-calamine can read.
    """
    return list(_open(Path(path)).sheet_names)


def read_excel_text(
    path: Path | str,
    *,
    sheet: str | None = None,
    required: tuple[str, ...] = (),
    max_bytes: int = DEFAULT_MAX_EXCEL_BYTES,
    unique: bool = True,
) -> pd.DataFrame:
    """Read one sheet of a workbook into a frame of stripped text, one column per header.

    The result has the shape :func:`estates.io.csv_reader.read_csv_text` gives
    for a CSV file, so the same checks and findings follow:

    - the header is row 1 of the sheet; every cell is text (``""`` if empty);
    - the index, named ``row``, is the row number Excel shows (first record = 2);
    - numbers become the text of their value: ``12`` for a whole number,
      ``51.5189`` (Python's shortest round-trip form) otherwise; booleans
      ``TRUE``/``FALSE``; dates ``2017-03-31``, date-times
      ``2017-03-31T12:30:00``, times ``09:30:00``;
    - a formula cell reads as the value Excel last saved with it (a workbook
      written by a program that does not compute formulas has none: the cell
      reads as empty), and an error value such as ``#N/A`` as empty;
    - blank rows after the last record are dropped; blank rows between records
      are kept, as for a CSV file; a column with neither a header nor any value
      (formatting only) is ignored.

    Parameters
    ----------
    path : path-like
        The workbook (see :data:`EXCEL_SUFFIXES`); left unchanged.
    sheet : str, optional
        The worksheet to read, by name. Default: the first sheet.
    required : tuple of str
        Columns that must be present.
    max_bytes : int
        Workbooks larger than this are refused.
    unique : bool, default True
        Refuse a header that names a column twice.

    Returns
    -------
    pandas.DataFrame
        Text cells with the header as columns, indexed by Excel row number.

    Raises
    ------
    DataValidationError
        If the file is missing, too large or not a readable workbook; the sheet
        is not in it (the message lists the sheets) or is empty; a header cell
        is blank (naming its column letter) or merged, or appears twice; a
        required column is missing; or there are no records.
    """
    path = Path(path)
    name = path.name
    workbook = _open(path, max_bytes=max_bytes)
    names = list(workbook.sheet_names)
    if sheet is None:
        if not names:
            msg = f"{name}: the workbook has no worksheets"
            raise DataValidationError(msg)
        sheet = names[0]
    elif sheet not in names:
        listed = ", ".join(repr(n) for n in names)
        msg = f"{name}: no sheet {sheet!r}; the workbook's sheets are {listed}"
        raise DataValidationError(msg)
    where = f"{name} sheet {sheet!r}"
    try:
        worksheet = workbook.get_sheet_by_name(sheet)
        rows = worksheet.to_python(skip_empty_area=False)
        merged = list(worksheet.merged_cell_ranges or [])
    except Exception as exc:  # python-calamine raises its own errors and bare ones
        msg = f"{where}: cannot read ({exc})"
        raise DataValidationError(msg) from exc
    cells = [[_cell_text(v) for v in row] for row in rows]
    while cells and not any(cells[-1]):
        cells.pop()
    if not cells:
        msg = f"{where} is empty; expected a header on row 1 and one record per row"
        raise DataValidationError(msg)
    if not any(cells[0]):
        first = next(i for i, row in enumerate(cells, start=1) if any(row))
        msg = (
            f"{where}: row 1 is empty; the column names must be on row 1 "
            f"(the first row with values is row {first}): delete the rows above it"
        )
        raise DataValidationError(msg)
    width = max(len(row) for row in cells)
    cells = [row + [""] * (width - len(row)) for row in cells]
    keep = _header_columns(cells, merged, where)
    header = [cells[0][i] for i in keep]
    check_header(header, where, required, unique=unique, delimited=False)
    body = [[row[i] for i in keep] for row in cells[1:]]
    if not body:
        msg = f"{where} has a header but no records"
        raise DataValidationError(msg)
    return text_frame(body, header, first_row=2, name=where)


def column_letter(index: int) -> str:
    """Return Excel's letter for a 0-based column index.

    Examples
    --------
    >>> column_letter(0), column_letter(25), column_letter(26), column_letter(701)
    ('A', 'Z', 'AA', 'ZZ')
    """
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(ord("A") + rest) + letters
    return letters


def _open(path: Path, *, max_bytes: int = DEFAULT_MAX_EXCEL_BYTES) -> Any:
    """Return a python-calamine workbook, or raise a clear error."""
    try:
        from python_calamine import CalamineWorkbook
    except ImportError as exc:  # pragma: no cover - a declared dependency
        msg = "reading Excel files needs python-calamine: pip install python-calamine"
        raise ImportError(msg) from exc
    size = file_size(path)
    if size > max_bytes:
        msg = (
            f"{path.name} is {size / 1024**2:,.0f} MiB, over the "
            f"{max_bytes / 1024**2:,.0f} MiB limit for a workbook; save the sheet as CSV"
        )
        raise DataValidationError(msg)
    try:
        return CalamineWorkbook.from_path(str(path))
    except Exception as exc:  # python-calamine's errors share no public base across versions
        with path.open("rb") as handle:
            kind = workbook_kind(handle.read(8), path)
        what = "not an Excel workbook" if kind is None else f"a damaged {kind} file"
        msg = f"{path.name}: cannot read as a workbook: {what} ({exc})"
        raise DataValidationError(msg) from exc


def _cell_text(value: object) -> str:
    """Return a cell's value as the text a CSV export would hold."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            return ""
        if value.is_integer() and abs(value) < _EXACT_INT:
            return str(int(value))
        return repr(value)
    if isinstance(value, dt.datetime):
        if value.time() == dt.time(0, 0):
            return value.date().isoformat()
        return value.isoformat()
    if isinstance(value, (dt.date, dt.time)):
        return value.isoformat()
    return str(value).strip()  # a duration, as H:MM:SS


def _header_columns(
    cells: list[list[str]], merged: list[tuple[tuple[int, int], tuple[int, int]]], where: str
) -> list[int]:
    """Return the indices of the columns to keep, refusing blank or merged header cells."""
    for (row0, col0), (row1, col1) in merged:
        if row0 == 0 and (col1 > col0 or row1 > row0):
            span = f"{column_letter(col0)}1:{column_letter(col1)}{row1 + 1}"
            msg = (
                f"{where}: header cells {span} are merged; give each column its own "
                "name on row 1 (unmerge the cells)"
            )
            raise DataValidationError(msg)
    keep = []
    for i, name in enumerate(cells[0]):
        if name:
            keep.append(i)
            continue
        filled = next((r for r, row in enumerate(cells[1:], start=2) if row[i]), None)
        if filled is not None:
            letter = column_letter(i)
            msg = (
                f"{where}: the header cell {letter}1 is blank but column {letter} "
                f"holds values (first on row {filled}); name the column on row 1"
            )
            raise DataValidationError(msg)
    return keep
