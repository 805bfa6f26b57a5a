"""Read a table a user gives as a CSV file or an Excel workbook into one text frame.

Every input that takes a CSV file (``--sites``, ``--locations``,
``--land-values``, ``--pipeline``, ``--groupings``) also takes an ``.xlsx``,
``.xlsm`` or ``.xls`` workbook: its first sheet, or the sheet named by
``--sheet``. Both give the same frame (:func:`estates.io.csv_reader.read_csv_text`):
text cells indexed by the row number a spreadsheet shows (header = row 1),
so the same checks and findings follow. A workbook under a ``.csv`` name
is refused with the fix rather than read as garbled bytes.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pandas as pd

from estates.findings import Findings
from estates.io.csv_reader import DEFAULT_MAX_CSV_BYTES, iter_csv_text, read_csv_text
from estates.io.excel import check_not_workbook, is_excel_path, read_excel_text, sheet_names

__all__ = ["iter_table_text", "read_table_text", "table_source"]


def table_source(path: Path, sheet: str | None = None) -> str:
    """Return how findings name a table: the file's name, and the sheet for a workbook.

    Examples
    --------
    >>> table_source(Path("sites.csv"), "Sites")
    'sites.csv'
    """
    if not is_excel_path(path):
        return path.name
    if sheet is None:
        names = sheet_names(path)
        sheet = names[0] if names else ""
    return f"{path.name} sheet {sheet}"


def read_table_text(
    path: Path,
    findings: Findings,
    *,
    required: tuple[str, ...] = (),
    sheet: str | None = None,
    max_bytes: int = DEFAULT_MAX_CSV_BYTES,
    unique: bool = True,
) -> pd.DataFrame:
    """Read a CSV file or one sheet of a workbook into a frame of stripped text.

    Parameters
    ----------
    path : pathlib.Path
        A CSV file, or a workbook (``.xlsx``, ``.xlsm``, ``.xls``); left unchanged.
    findings : Findings
        Receives a ``warning`` if a CSV file is not UTF-8.
    required : tuple of str
        Columns that must be present.
    sheet : str, optional
        The worksheet of a workbook; default its first. Ignored for a CSV file.
    max_bytes : int
        Files larger than this are refused.
    unique : bool, default True
        Refuse a header that names a column twice.

    Returns
    -------
    pandas.DataFrame
        Text cells, indexed by spreadsheet row number (header = row 1). Its
        ``attrs["source"]`` names the file, and the sheet for a workbook, as
        findings name it (:func:`table_source`).

    Raises
    ------
    DataValidationError
        As :func:`~estates.io.csv_reader.read_csv_text` and
        :func:`~estates.io.excel.read_excel_text` do; also for a workbook
        given under a CSV name, and an unknown sheet (the message lists the sheets).
    """
    path = Path(path)
    if is_excel_path(path):
        frame = read_excel_text(path, sheet=sheet, required=required, unique=unique)
    else:
        check_not_workbook(path)
        frame = read_csv_text(path, findings, required=required, max_bytes=max_bytes, unique=unique)
    frame.attrs["source"] = table_source(path, sheet)
    return frame


def iter_table_text(
    path: Path,
    findings: Findings,
    *,
    required: tuple[str, ...] = (),
    sheet: str | None = None,
    chunk_rows: int = 1_000_000,
    unique: bool = True,
) -> Iterator[pd.DataFrame]:
    """Yield a table as :func:`read_table_text` frames of at most ``chunk_rows`` rows.

    A CSV file is streamed (:func:`~estates.io.csv_reader.iter_csv_text`); a
    workbook, held in memory by its reader anyway, is read whole and sliced.
    Each frame carries ``attrs["source"]``.
    """
    path = Path(path)
    source = table_source(path, sheet)
    if is_excel_path(path):
        whole = read_excel_text(path, sheet=sheet, required=required, unique=unique)
        for start in range(0, len(whole), chunk_rows):
            part = whole.iloc[start : start + chunk_rows].copy()
            part.attrs["source"] = source
            yield part
        return
    check_not_workbook(path)
    parts = iter_csv_text(path, findings, required=required, chunk_rows=chunk_rows, unique=unique)
    for part in parts:
        part.attrs["source"] = source
        yield part
