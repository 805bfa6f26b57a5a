"""Read ERIC site returns of any year, each by its own headers, into one long frame.

NHS Digital's Estates Returns Information Collection (ERIC) changed its site
sheet from year to year: ``Organisation Code`` became ``Trust Code``, 2019/20
added ``Post Code``, and the land column changed meaning. 2013/14 to 2015/16
report ``Site land area (Hectare)``, which is not limited to owned land;
2016/17 and 2019/20 report ``Land area owned (Hectares)`` and ``Land area not
delivering services (Hectares)``. Each return is renamed once, here, to the
project's columns; the year's land figure is also put in ``land_ha`` with its
definition in ``land_measure``, so no total silently mixes the two.

``Not Applicable`` and blank cells are missing (NaN), never 0. A trust's
bundle of small sites (``AGGRE`` rows up to 2016/17, ``<trust>ORS`` "Other
Reportable Site" rows in 2019/20) is ``is_aggregate``: not a place.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from estates.config import ERIC_AGGREGATE_CODE, ERIC_SITE_COLUMNS, ERIC_TEXT_COLUMNS
from estates.errors import DataValidationError
from estates.findings import Findings
from estates.io import bundled
from estates.io.csv_reader import (
    DEFAULT_MAX_CSV_BYTES,
    parse_number_columns,
    text_frame,
)
from estates.io.eric_spec import check_eric_year, parse_eric_spec
from estates.io.excel import check_not_workbook
from estates.io.text_files import decode, read_bytes

#: Definitions of the values of ``land_measure``: what ``land_ha`` means in each year.
LAND_MEASURES: dict[str, str] = {
    "land_owned": (
        "ERIC 'Land area owned (Hectares)' (2016/17 onwards): land the trust owns on the site"
    ),
    "site_land_area": (
        "ERIC 'Site land area (Hectare)' (2013/14 to 2015/16): the site's land, owned or "
        "not; not comparable with land owned without saying so"
    ),
}

#: Each project column and the headers that carry it, in any year's return.
ERIC_HEADER_ALTERNATIVES: dict[str, tuple[str, ...]] = {
    **{column: (raw,) for raw, column in ERIC_SITE_COLUMNS.items()},
    "trust_code": ("Organisation Code", "Trust Code"),
    "trust_name": ("Organisation Name", "Trust Name"),
    "trust_type": ("Organisation Type", "Trust Type"),
    "floor_area_gia_m2": ("Gross internal floor area (m²)", "Gross internal site floor area (m²)"),
    "parking_spaces": ("Parking spaces available (No.)", "Total parking spaces available (No.)"),
    "site_land_area_ha": ("Site land area (Hectare)",),
    "postcode": ("Post Code",),
    "tenure": ("Tenure",),
}
#: Text columns of a return; every other mapped column is numeric.
ERIC_RETURN_TEXT_COLUMNS = ERIC_TEXT_COLUMNS | {"postcode", "tenure"}
#: The land header of each measure, in order of preference.
_LAND_HEADERS = {
    "land_owned": "Land area owned (Hectares)",
    "site_land_area": "Site land area (Hectare)",
}
#: Site types that mark a trust's bundle of small sites, upper-cased.
_AGGREGATE_TYPES = frozenset({"AGGREGATE SITE", "OTHER REPORTABLE SITE"})
#: A financial year in a file name: ``2019_20``, ``2019-20``, ``201920``.
_YEAR_IN_NAME = re.compile(r"(?<!\d)(20\d\d)[_\-]?(\d\d)(?!\d)")
#: Headers that hold the return's financial year, when a file carries one.
_YEAR_HEADERS = ("ERIC year", "eric_year", "Financial Year", "Year")


def load_eric_returns(
    specs: Sequence[str | Path] | None = None,
    *,
    findings: Findings,
    bundled_years: bool = True,
) -> pd.DataFrame:
    """Load ERIC site returns of several years into one long frame.

    Parameters
    ----------
    specs : sequence of str or path-like, optional
        The user's ERIC site returns: ``FILE`` or ``FILE:2019/20`` (the year
        is otherwise read from a year column or the file's name).
    findings : Findings
        Receives a ``flagged`` finding for each number that is not a number.
    bundled_years : bool
        Also load the bundled London returns of 2013/14 to 2019/20 (default).
        A user's file for a bundled year replaces the bundled one.

    Returns
    -------
    pandas.DataFrame
        One row per return row, oldest year first, with ``eric_year``; see
        :func:`load_eric_return` for the columns.

    Raises
    ------
    DataValidationError
        If a file is not an ERIC site return, its year cannot be told, or two
        files give the same year.
    """
    frames: dict[str, pd.DataFrame] = {}
    for spec in specs or ():
        path, year = parse_eric_spec(spec)
        frame = _load_kept_return(path, year=year, findings=findings)
        got = str(frame["eric_year"].iloc[0])
        if got in frames:
            msg = f"{path.name}: a second ERIC return for {got}; give each year once"
            raise DataValidationError(msg)
        frames[got] = frame
    if bundled_years:
        for year, path in bundled.eric_return_paths().items():
            if year not in frames:
                frames[year] = _load_kept_return(path, year=year, findings=findings)
    if not frames:
        return _empty_returns()
    ordered = [frames[year] for year in sorted(frames)]
    return pd.concat(ordered, ignore_index=True)


def _load_kept_return(path: Path, *, year: str | None, findings: Findings) -> pd.DataFrame:
    """Return :func:`load_eric_return`'s frame and add its findings, read once per file.

    Reading a return is a few hundred small pandas steps (20-30 ms a file,
    a bundled build reads five). The frame and the findings are kept on
    disk (:mod:`estates.io.returns_kept`) under a digest of the file's
    bytes, its name, the year asked for, the reading code and the library
    versions; a later build with the same files reads them back in a few
    milliseconds. A file too large to read, or not a regular file, is
    never kept: :func:`load_eric_return` says what is wrong with it.
    """
    from estates.io import returns_kept

    kept = returns_kept.kept_path(path, year, max_bytes=DEFAULT_MAX_CSV_BYTES)
    found = returns_kept.read_kept(kept)
    if found is not None:
        frame, items = found
        findings.merge(Findings(list(items)))
        return frame
    own = Findings()
    frame = load_eric_return(path, year=year, findings=own)
    # Kept only if the file is still the one named: never the reading of other bytes.
    if kept is not None and kept == returns_kept.kept_path(
        path, year, max_bytes=DEFAULT_MAX_CSV_BYTES
    ):
        returns_kept.keep(kept, frame, own.items)
    findings.merge(own)
    return frame


def load_eric_return(
    path: Path | str, *, year: str | None = None, findings: Findings
) -> pd.DataFrame:
    """Load one ERIC site return, mapping its own headers to the project's columns.

    Parameters
    ----------
    path : path-like
        A site-level ERIC CSV with the source's headers (any year from 2013/14).
    year : str, optional
        The financial year, e.g. ``"2019/20"``. Default: a year column of the
        file (one value), else the file's name (``…2019_20…``).
    findings : Findings
        Receives a ``flagged`` finding for each number that is not a number,
        and a ``warning`` if the file is not UTF-8.

    Returns
    -------
    pandas.DataFrame
        The columns of :func:`estates.io.inputs.load_eric_sites` (absent
        headers give missing values) plus ``site_land_area_ha``, ``postcode``
        (as given), ``tenure``, ``land_ha`` (the year's land figure),
        ``land_measure`` (a key of :data:`LAND_MEASURES`), ``eric_year`` and
        ``is_aggregate``. No coordinates: every row is to be located.

    Raises
    ------
    DataValidationError
        If the file is unreadable, or lacks the trust code, site code, site
        name or land column of a site return; the message names what it lacks.
    """
    path = Path(path)
    text = _read_return_text(path, findings)
    measure = _check_layout(text, path)
    year = year if year is not None else _year_of(text, path)
    year = check_eric_year(year, where=path.name)
    site_codes = _first_present(text, "site_code").str.strip()
    raw = {
        column: _first_present(text, column, headers)
        for column, headers in ERIC_HEADER_ALTERNATIVES.items()
    }
    numbers = parse_number_columns(
        {c: cells for c, cells in raw.items() if c not in ERIC_RETURN_TEXT_COLUMNS},
        source_file=path.name,
        findings=findings,
        site_codes=site_codes,
    )
    out = pd.DataFrame(
        {
            column: cells.str.strip().astype("string")
            if column in ERIC_RETURN_TEXT_COLUMNS
            else numbers[column]
            for column, cells in raw.items()
        },
        index=text.index,
    )
    out["land_ha"] = out["land_owned_ha" if measure == "land_owned" else "site_land_area_ha"]
    out["land_measure"] = pd.Series(measure, index=out.index, dtype="string")
    out["eric_year"] = pd.Series(year, index=out.index, dtype="string")
    out["is_aggregate"] = _is_aggregate(out)
    for column in ("latitude", "longitude", "easting", "northing"):
        out[column] = np.nan
    out["source_file"] = path.name
    out["source_row"] = out.index.to_numpy()
    return out.reset_index(drop=True)


def eric_return_totals(returns: pd.DataFrame) -> pd.DataFrame:
    """Return each year's totals, for reconciling with the published figures.

    Parameters
    ----------
    returns : pandas.DataFrame
        From :func:`load_eric_returns`; left unchanged.

    Returns
    -------
    pandas.DataFrame
        Indexed by ``eric_year``: ``rows``, ``site_rows`` (not aggregate),
        ``aggregate_rows``, ``site_codes`` (distinct, aggregates excluded),
        ``trusts``, ``land_measure``, ``land_ha`` (all rows, missing values
        skipped), ``land_ha_aggregate`` (the aggregate rows' share),
        ``land_unused_ha`` (NaN in years that do not report it) and
        ``land_missing_rows`` (rows whose land figure is missing, not 0).
    """
    rows = []
    read = ["eric_year", "is_aggregate", "land_measure", "site_code", "trust_code", "land_ha"]
    for year, group in returns[[*read, "land_unused_ha"]].groupby("eric_year", sort=True):
        aggregate = group["is_aggregate"].to_numpy(dtype=bool)
        measures = group["land_measure"].dropna().unique().tolist()
        rows.append(
            {
                "eric_year": year,
                "rows": len(group),
                "site_rows": int((~aggregate).sum()),
                "aggregate_rows": int(aggregate.sum()),
                "site_codes": int(group.loc[~aggregate, "site_code"].nunique()),
                "trusts": int(group["trust_code"].nunique()),
                "land_measure": ";".join(measures),
                "land_ha": float(group["land_ha"].sum(min_count=1)),
                "land_ha_aggregate": float(group.loc[aggregate, "land_ha"].sum()),
                "land_unused_ha": float(group["land_unused_ha"].sum(min_count=1)),
                "land_missing_rows": int(group["land_ha"].isna().sum()),
            }
        )
    return pd.DataFrame(rows).set_index("eric_year")


def _read_return_text(path: Path, findings: Findings) -> pd.DataFrame:
    """Read a return as text; a repeated header (2014/15, 2019/20) gets ``.1``, ``.2``."""
    check_not_workbook(path)
    raw = read_bytes(path, max_bytes=DEFAULT_MAX_CSV_BYTES)
    text = decode(raw, path.name, findings)
    try:
        rows = list(csv.reader(io.StringIO(text, newline=""), strict=True))
    except csv.Error as exc:
        msg = f"{path.name}: not a readable CSV file ({exc}); is it truncated or mis-quoted?"
        raise DataValidationError(msg) from exc
    while rows and not any(cell.strip() for cell in rows[-1]):
        rows.pop()
    if len(rows) < 2:
        msg = f"{path.name} has no data rows; expected an ERIC site return with a header row"
        raise DataValidationError(msg)
    header: list[str] = []
    seen: dict[str, int] = {}
    for name in (h.strip() for h in rows[0]):
        count = seen.get(name, 0)
        seen[name] = count + 1
        header.append(f"{name}.{count}" if count else name)
    return text_frame(rows[1:], header, first_row=2, name=path.name)


def _check_layout(text: pd.DataFrame, path: Path) -> str:
    """Return the return's land measure; raise naming what a site return lacks."""
    lacks = [
        " or ".join(repr(h) for h in ERIC_HEADER_ALTERNATIVES[column])
        for column in ("trust_code", "site_code", "site_name")
        if not any(h in text.columns for h in ERIC_HEADER_ALTERNATIVES[column])
    ]
    measure = next((m for m, h in _LAND_HEADERS.items() if h in text.columns), None)
    if measure is None:
        lacks.append(" or ".join(repr(h) for h in _LAND_HEADERS.values()))
    if lacks:
        found = ", ".join(" ".join(str(h).split()) for h in list(text.columns)[:8])
        found += " …" if len(text.columns) > 8 else ""
        msg = (
            f"{path.name}: not an ERIC site return of a known layout; it lacks "
            f"{'; '.join(lacks)} (found {found})"
        )
        raise DataValidationError(msg)
    return str(measure)


def _first_present(
    text: pd.DataFrame, column: str, headers: tuple[str, ...] | None = None
) -> pd.Series:
    for header in headers or ERIC_HEADER_ALTERNATIVES[column]:
        if header in text.columns:
            return text[header].astype(object)
    return pd.Series("", index=text.index, dtype=object)


def _year_of(text: pd.DataFrame, path: Path) -> str:
    for header in _YEAR_HEADERS:
        if header in text.columns:
            values: set[str] = {v.strip() for v in text[header] if v.strip()}
            if len(values) == 1:
                return values.pop()
    match = _YEAR_IN_NAME.search(path.name)
    if match and (int(match.group(1)) + 1) % 100 == int(match.group(2)):
        return f"{match.group(1)}/{match.group(2)}"
    msg = (
        f"{path.name}: cannot tell which year this ERIC return is for (no year column, "
        "none in the file name); give it as FILE:2019/20"
    )
    raise DataValidationError(msg)


def _is_aggregate(out: pd.DataFrame) -> pd.Series:
    codes = out["site_code"].fillna("")
    trusts = out["trust_code"].fillna("")
    types = out["site_type"].fillna("").str.upper().str.strip()
    aggregate = (
        (codes == ERIC_AGGREGATE_CODE) | (codes == trusts + "ORS") | types.isin(_AGGREGATE_TYPES)
    )
    return aggregate.astype(bool)


def _empty_returns() -> pd.DataFrame:
    columns = [
        *ERIC_HEADER_ALTERNATIVES,
        "land_ha",
        "land_measure",
        "eric_year",
        "is_aggregate",
        "latitude",
        "longitude",
        "easting",
        "northing",
        "source_file",
        "source_row",
    ]
    return pd.DataFrame({c: pd.Series(dtype=object) for c in columns})
