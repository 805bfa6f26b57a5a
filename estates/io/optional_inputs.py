"""Read the optional small inputs: ``--locations``, ``--land-values``, ``--pipeline``.

Each may arrive as a file of junk rows. The CSV ones are streamed through
:func:`~estates.io.csv_reader.iter_csv_text` (the reader of large site files),
a chunk of rows at a time (an Excel workbook's sheet is read by
:func:`~estates.io.tabular.iter_table_text` and sliced alike), and kept as
compact Arrow text; their findings are recorded in a :class:`~estates.findings.Findings` capped at
:data:`~estates.findings.MAX_FINDINGS_PER_CHECK` per check, whose count of the
rest goes on to ``rejected.csv``'s "and N more" rows. Inputs small by nature
(``--groupings``, ``--land-values``) are refused above
:data:`SMALL_INPUT_MAX_BYTES` before they are read.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from estates.errors import DataValidationError
from estates.findings import MAX_FINDINGS_PER_CHECK, Findings
from estates.io.csv_reader import clean_keys, is_missing, parse_numbers
from estates.io.land_values import load_land_value_file
from estates.io.postcodes import with_postcode_coordinates
from estates.io.tabular import iter_table_text

#: Rows of a small input (``--pipeline``, ``--locations``) parsed at a time: the
#: file is streamed, never held as Python text whole.
INPUT_CHUNK_ROWS = 50_000
#: Text columns of those inputs once read: Arrow strings, a few bytes a cell.
_COMPACT_TEXT = pd.StringDtype("pyarrow")

#: Largest ``--groupings`` or ``--land-values`` file: each has a few dozen rows per borough at most.
SMALL_INPUT_MAX_BYTES = 1024**2


def check_small_input(path: Path, option: str, rows: str) -> None:
    """Refuse a file that is too large for an input small by nature, before reading it.

    ``--groupings`` and ``--land-values`` hold a row per group and borough, or
    per borough: a few KiB. A file of megabytes is the wrong file (or junk), and
    is refused in constant memory and time rather than read and checked row by
    row. A missing or unreadable file is left to the reader, which names it.

    Raises
    ------
    DataValidationError
        If the file is over :data:`SMALL_INPUT_MAX_BYTES`; the message gives
        its size and the limit.
    """
    try:
        size = path.stat().st_size
    except OSError:
        return
    if size > SMALL_INPUT_MAX_BYTES:
        msg = (
            f"{path.name} is {size / 1024**2:,.1f} MiB, over the "
            f"{SMALL_INPUT_MAX_BYTES // 1024**2} MiB limit for a {option} file ({rows}); "
            "is it the right file?"
        )
        raise DataValidationError(msg)


def load_locations(
    path: Path | str, *, findings: Findings, sheet: str | None = None
) -> pd.DataFrame:
    """Load a user's locations file: ``site_code``, ``latitude``, ``longitude``, ``source``.

    A ``postcode`` column may stand in for the coordinates: a row with a
    postcode and no coordinates takes the postcode's ONS centroid, and is
    dropped with a ``rejected`` finding if the postcode is unknown. Rows with
    coordinates that are not numbers are dropped with a ``rejected`` finding;
    range checks happen in :mod:`estates.coords`. A CSV file or an Excel
    workbook (``sheet``, default its first). The file is streamed
    :data:`INPUT_CHUNK_ROWS` rows at a time; ``findings`` receives the first
    :data:`~estates.findings.MAX_FINDINGS_PER_CHECK` of each check and the
    count of the rest (``findings.omitted``).
    """
    path = Path(path)
    own = Findings(max_per_check=MAX_FINDINGS_PER_CHECK)
    parts = [
        _locations_part(text, text.attrs["source"], own)
        for text in iter_table_text(
            path, own, required=("site_code", "source"), sheet=sheet, chunk_rows=INPUT_CHUNK_ROWS
        )
    ]
    findings.merge(own)
    return pd.concat(parts, ignore_index=True)


def _locations_part(text: pd.DataFrame, name: str, findings: Findings) -> pd.DataFrame:
    """Return one chunk of a locations file, its rows with a blank source rejected."""
    if "postcode" in text.columns:
        text = with_postcode_coordinates(text, source_file=name, findings=findings)
    _check_header_has(text, name, ("latitude", "longitude"), instead="or a postcode column")
    frame = pd.DataFrame(
        {
            "site_code": clean_keys(
                text["site_code"].astype("string"),
                column="site_code",
                source_file=name,
                findings=findings,
            ),
            "latitude": parse_numbers(
                text["latitude"], column="latitude", source_file=name, findings=None
            ),
            "longitude": parse_numbers(
                text["longitude"], column="longitude", source_file=name, findings=None
            ),
            "latitude_text": text["latitude"],
            "longitude_text": text["longitude"],
            "source": text["source"].astype("string"),
            "source_file": name,
            "source_row": text.index.to_numpy(),
        }
    )
    blank_source = frame["source"].map(is_missing)
    for row in frame.loc[blank_source, "source_row"]:
        findings.add(
            name,
            int(row),
            "source is blank; say where each location comes from",
            action="rejected",
            check="blank_source",
            column="source",
        )
    return frame[~blank_source.to_numpy(dtype=bool)].reset_index(drop=True)


def _check_header_has(
    text: pd.DataFrame, name: str, columns: tuple[str, ...], instead: str
) -> None:
    missing = [c for c in columns if c not in text.columns]
    if missing:
        msg = f"{name}: missing column {missing[0]!r}; give {' and '.join(columns)}, {instead}"
        raise DataValidationError(msg)


#: Columns a ``--land-values`` file must have.
LAND_VALUE_COLUMNS = ("borough_code", "value_gbp_per_ha", "source")
#: Columns a ``--pipeline`` file must have; ``receipts_gbp`` is optional.
PIPELINE_COLUMNS = ("site_code", "stage", "date")


def load_land_values(path: Path | str, *, sheet: str | None = None) -> pd.DataFrame:
    """Load a ``--land-values`` file: £ per hectare by borough, with its source and date.

    The file replaces the published 2017 residential values borough by borough
    (and the industrial ones where it has ``low_gbp_per_ha``); see
    :func:`estates.io.land_values.load_land_value_file` for its columns and
    checks, and :func:`estates.stages.valuation.value_sites` for which boroughs
    it must cover.

    Parameters
    ----------
    path : path-like
        A CSV file or an Excel workbook, one row per borough.
    sheet : str, optional
        The sheet of a workbook; default its first.

    Returns
    -------
    pandas.DataFrame
        ``borough_code``, ``value_gbp_per_ha`` (float, > 0), ``low_gbp_per_ha``,
        ``source``, ``valuation_date``, ``source_file`` and ``source_row``.

    Raises
    ------
    DataValidationError
        For a missing column, a bad row, or values in the wrong unit (£ per acre,
        £m): the message names the file, row, borough and fix.
    """
    check_small_input(Path(path), "--land-values", "one row per borough")
    return load_land_value_file(path, sheet=sheet)


def load_disposal_pipeline(
    path: Path | str, *, findings: Findings, sheet: str | None = None
) -> pd.DataFrame:
    r"""Load a ``--pipeline`` file: ``site_code``, ``stage``, ``receipts_gbp``, ``date``.

    Only the file is read here; each row is checked against the site table by
    :func:`estates.report.disposal.track_progress`, which rejects bad rows.

    Parameters
    ----------
    path : path-like
        A CSV file, one row per site in the disposal pipeline. ``stage`` is one
        of ``identified``, ``declared_surplus``, ``on_market``, ``sold``;
        ``receipts_gbp`` (optional column) the £ realised by a sale; ``date``
        the ISO date (YYYY-MM-DD) the site reached its stage.
    sheet : str, optional
        The sheet of an Excel workbook given instead of a CSV file; default its first.
    findings : Findings
        Receives a ``warning`` if the file is not UTF-8 and an
        ``invisible_characters`` finding per cleaned site code: the first
        :data:`~estates.findings.MAX_FINDINGS_PER_CHECK` of each check, and
        the count of the rest in ``findings.omitted``.

    Returns
    -------
    pandas.DataFrame
        Text cells (Arrow strings) ``site_code``, ``stage``, ``receipts_text``,
        ``date_text``, plus ``source_file`` and ``source_row`` (header = 1).
        The file is read :data:`INPUT_CHUNK_ROWS` rows at a time, so a file of
        junk rows costs little more than its text.

    Raises
    ------
    DataValidationError
        If the file is missing, empty or lacks a required column.

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as d:
    ...     p = Path(d) / "pipeline.csv"
    ...     _ = p.write_text("site_code,stage,date\nRRP03,identified,2018-04-01\n")
    ...     load_disposal_pipeline(p, findings=Findings())[["site_code", "stage"]].values.tolist()
    [['RRP03', 'identified']]
    """
    path = Path(path)
    own = Findings(max_per_check=MAX_FINDINGS_PER_CHECK)
    parts = [
        _pipeline_part(text, text.attrs["source"], own)
        for text in iter_table_text(
            path, own, required=PIPELINE_COLUMNS, sheet=sheet, chunk_rows=INPUT_CHUNK_ROWS
        )
    ]
    findings.merge(own)
    return pd.concat(parts, ignore_index=True)


def _pipeline_part(text: pd.DataFrame, name: str, findings: Findings) -> pd.DataFrame:
    """Return one chunk of a pipeline file as compact text columns (Arrow strings)."""
    codes = clean_keys(
        text["site_code"].astype("string"), column="site_code", source_file=name, findings=findings
    )
    receipts = (
        text["receipts_gbp"]
        if "receipts_gbp" in text
        else pd.Series("", index=text.index, dtype=object)
    )
    return pd.DataFrame(
        {
            "site_code": codes.astype(_COMPACT_TEXT),
            "stage": text["stage"].astype(_COMPACT_TEXT),
            "receipts_text": receipts.astype(_COMPACT_TEXT),
            "date_text": text["date"].astype(_COMPACT_TEXT),
            "source_file": pd.Categorical([name] * len(text)),
            "source_row": text.index.to_numpy(),
        }
    )
