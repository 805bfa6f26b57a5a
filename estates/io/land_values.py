"""Read land values: the bundled 2017 published figures, and a user's ``--land-values`` file.

The bundled figures are MHCLG's *Land value estimates for policy appraisal 2017*
(valuation date 1 April 2017): a residential £/ha for every London borough, and
industrial £/ha for six London areas, each borough assigned to one area in
``data/valuation/borough_industrial_areas.csv``. They give each borough a range,
industrial (low) to residential (high). A user's file replaces the residential
value (and optionally the industrial one) borough by borough, and is checked for
the wrong unit by comparing its magnitude with the published values.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd

from estates.errors import DataValidationError
from estates.findings import Findings
from estates.io import bundled
from estates.io.csv_reader import is_missing, parse_numbers, read_csv_text
from estates.io.tabular import read_table_text

#: The publication every bundled figure comes from.
PUBLICATION = "MHCLG Land value estimates for policy appraisal 2017"
#: Its valuation date (ISO).
VALUATION_DATE = "2017-04-01"
#: Columns of :func:`load_published_land_values`, in order.
PUBLISHED_COLUMNS = (
    "borough_code",
    "borough_name",
    "low_gbp_per_ha",
    "high_gbp_per_ha",
    "low_basis",
    "high_basis",
    "low_source",
    "high_source",
    "low_valuation_date",
    "high_valuation_date",
)
#: Hectares in an acre's reciprocal: a value in £ per acre is this many times too small.
ACRES_PER_HECTARE = 2.471
#: A file whose median ratio to the published residential values lies in this band is
#: taken to be in £ per acre (1 / 2.471 = 0.405, ± about 13 %).
ACRE_RATIO_BAND = (0.35, 0.46)
#: A value below this fraction of the published value is taken to be in £m or £ thousands
#: (1e-6 and 1e-3 of it). London's agricultural land, £23,500 per ha in 2017, is 0.0044 of
#: the lowest residential value, so a real £/ha figure stays above it.
TOO_SMALL_RATIO = 3e-3
#: A file whose median ratio to the published values exceeds this is taken to be in pence
#: or to have extra zeros.
TOO_LARGE_RATIO = 50.0

_VALUE_COLUMNS = ("value_gbp_per_ha", "gbp_per_ha")
_LOW_COLUMNS = ("low_gbp_per_ha", "industrial_gbp_per_ha")
_INDUSTRIAL_SHEET = "Industrial land"
_LONDON_LEP = "London"


def load_published_land_values(
    *,
    residential_path: Path | str | None = None,
    nonresidential_path: Path | str | None = None,
    areas_path: Path | str | None = None,
) -> pd.DataFrame:
    """Return the published 2017 range for each London borough: industrial to residential £/ha.

    Parameters
    ----------
    residential_path, nonresidential_path, areas_path : path-like, optional
        The residential values, the non-residential rows and the borough → industrial
        area assignment. Default: the bundled files in ``data/valuation/``.

    Returns
    -------
    pandas.DataFrame
        One row per borough, columns :data:`PUBLISHED_COLUMNS`: ``low_gbp_per_ha``
        (industrial land of the borough's area, £/ha), ``high_gbp_per_ha``
        (residential land, £/ha), their basis (which sheet and area), source
        (publication) and valuation date.

    Raises
    ------
    DataValidationError
        If a borough has no residential value or no industrial area, an area is
        not one of the workbook's London industrial areas, or a value is not a
        positive number. The message names the file, row and borough.

    Examples
    --------
    >>> values = load_published_land_values()
    >>> len(values), float(values.set_index("borough_name").loc["Camden", "high_gbp_per_ha"])
    (33, 45700000.0)
    >>> values.set_index("borough_name").loc["Camden", "low_basis"]
    'industrial land, Central London, North'
    """
    res_path = Path(residential_path or bundled.residential_land_values_path())
    non_path = Path(nonresidential_path or bundled.nonresidential_land_values_path())
    area_path = Path(areas_path or bundled.borough_industrial_areas_path())
    residential = read_csv_text(
        res_path, Findings(), required=("borough_code", "borough_name", "residential_gbp_per_ha")
    )
    high = _positive_values(residential, "residential_gbp_per_ha", res_path.name)
    industrial = _industrial_areas(non_path)
    areas = read_csv_text(
        area_path, Findings(), required=("borough_code", "industrial_area", "reasoning")
    )
    area_of: dict[str, str] = {}
    for row in areas.index:
        code, area = areas.at[row, "borough_code"], areas.at[row, "industrial_area"]
        if area not in industrial:
            msg = (
                f"{area_path.name} row {row} (borough {code}): industrial_area {area!r} is not "
                f"one of the workbook's London industrial areas ({', '.join(industrial)})"
            )
            raise DataValidationError(msg)
        if is_missing(areas.at[row, "reasoning"]):
            msg = f"{area_path.name} row {row} (borough {code}): reasoning is blank; say why"
            raise DataValidationError(msg)
        area_of[code] = area
    codes = residential["borough_code"]
    names = residential["borough_name"]
    missing = [f"{c} ({n})" for c, n in zip(codes, names, strict=True) if c not in area_of]
    if missing:
        msg = (
            f"{area_path.name} has no industrial_area for borough {', '.join(missing)}; add a row "
            "borough_code,borough_name,industrial_area,reasoning"
        )
        raise DataValidationError(msg)
    area = codes.map(area_of)
    source = PUBLICATION
    return pd.DataFrame(
        {
            "borough_code": codes.astype("string"),
            "borough_name": residential["borough_name"].astype("string"),
            "low_gbp_per_ha": area.map(industrial).astype("float64"),
            "high_gbp_per_ha": high,
            "low_basis": ("industrial land, " + area).astype("string"),
            "high_basis": pd.Series("residential land", index=codes.index, dtype="string"),
            "low_source": pd.Series(source, index=codes.index, dtype="string"),
            "high_source": pd.Series(source, index=codes.index, dtype="string"),
            "low_valuation_date": pd.Series(VALUATION_DATE, index=codes.index, dtype="string"),
            "high_valuation_date": pd.Series(VALUATION_DATE, index=codes.index, dtype="string"),
        }
    ).reset_index(drop=True)


def load_land_value_file(
    path: Path | str, *, published: pd.DataFrame | None = None, sheet: str | None = None
) -> pd.DataFrame:
    r"""Load a ``--land-values`` file: £ per hectare by borough, with its source and date.

    Columns (header names are case-sensitive):

    - ``borough_code`` (ONS GSS code) or ``borough_name`` (as in the boundaries); one
      of the two is required, and a row may give either.
    - ``gbp_per_ha`` (or ``value_gbp_per_ha``): the land value, £ per hectare. It
      replaces the published *residential* value, the high end of the range.
    - ``low_gbp_per_ha`` (optional): replaces the published *industrial* value, the
      low end; not above the row's ``gbp_per_ha``.
    - ``source`` (optional): where the values come from; default the file's name.
    - ``valuation_date`` (optional): the date the values are for, as text.

    Parameters
    ----------
    path : path-like
        A CSV file or an Excel workbook, one row per borough.
    published : pandas.DataFrame, optional
        :func:`load_published_land_values`, against which names are resolved and
        magnitudes checked. Default: the bundled 2017 values.
    sheet : str, optional
        The sheet of a workbook; default its first.

    Returns
    -------
    pandas.DataFrame
        ``borough_code`` (string), ``value_gbp_per_ha`` (float, > 0),
        ``low_gbp_per_ha`` (float, NaN when not given), ``source``,
        ``valuation_date`` (string, may be missing), ``source_file`` (the file's
        name) and ``source_row`` (spreadsheet row, header = 1).

    Raises
    ------
    DataValidationError
        For a missing column, a blank, unknown or repeated borough, a value that
        is not a positive number, a low value above the high one, a blank source
        or date cell, or values whose magnitude shows the wrong unit (£ per acre,
        £m, £ thousands; see :func:`check_land_value_units`). Row problems are
        gathered first; the message gives the first ten and the total.

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as d:
    ...     p = Path(d) / "values.csv"
    ...     _ = p.write_text("borough_name,gbp_per_ha\nCamden,24.9\n")
    ...     load_land_value_file(p)
    Traceback (most recent call last):
    ...
    estates.errors.DataValidationError: values.csv row 2 (borough E09000007, Camden): gbp_per_ha ...
    """
    path = Path(path)
    if published is None:
        published = load_published_land_values()
    text = read_table_text(path, Findings(), sheet=sheet)
    name = text.attrs["source"]
    value_column = _first_present(text, _VALUE_COLUMNS, name)
    low_column = next((c for c in _LOW_COLUMNS if c in text), None)
    if "borough_code" not in text and "borough_name" not in text:
        found = ", ".join(text.columns[:12])
        msg = f"{name}: missing column 'borough_code' (or 'borough_name'); found {found}"
        raise DataValidationError(msg)
    values = parse_numbers(text[value_column], column=value_column, source_file=name, findings=None)
    low = (
        parse_numbers(text[low_column], column=low_column, source_file=name, findings=None)
        if low_column
        else pd.Series(np.nan, index=text.index, dtype="float64")
    )
    codes, problems = _resolve_boroughs(text, published, name)
    seen: dict[str, int] = {}
    for row in text.index:
        code = codes.at[row]
        where = f"{name} row {row}" + (f" (borough {code})" if code else "")
        if code and code in seen:
            problems.append(
                f"{where}: borough_code {code} appears again (first at row {seen[code]}); "
                "keep one value per borough"
            )
        elif code:
            seen[code] = int(row)
        if not (values.at[row] > 0):
            problems.append(
                f"{where}: {value_column} {text.at[row, value_column]!r} is not a "
                "positive number; give the land value in £ per hectare, e.g. 25000000"
            )
        if low_column and not is_missing(text.at[row, low_column]):
            if not (low.at[row] > 0):
                problems.append(
                    f"{where}: {low_column} {text.at[row, low_column]!r} is not a positive "
                    "number; give the low land value in £ per hectare, or leave it blank"
                )
            elif values.at[row] > 0 and low.at[row] > values.at[row]:
                problems.append(
                    f"{where}: {low_column} {low.at[row]:,.0f} is above {value_column} "
                    f"{values.at[row]:,.0f}; the low value cannot exceed the high one"
                )
        for optional in ("source", "valuation_date"):
            if optional in text and is_missing(text.at[row, optional]):
                problems.append(
                    f"{where}: {optional} is blank; "
                    + (
                        "say where this value comes from"
                        if optional == "source"
                        else "give the date the value is for, e.g. 2017-04-01"
                    )
                )
    if problems:
        more = f" (and {len(problems) - 10} more)" if len(problems) > 10 else ""
        raise DataValidationError("; ".join(problems[:10]) + more)
    frame = pd.DataFrame(
        {
            "borough_code": codes.astype("string"),
            "value_gbp_per_ha": values.astype("float64"),
            "low_gbp_per_ha": low.astype("float64"),
            "source": (text["source"] if "source" in text else pd.Series(name, index=text.index))
            .astype("string")
            .str.strip(),
            "valuation_date": (
                text["valuation_date"].astype("string").str.strip()
                if "valuation_date" in text
                else pd.Series(pd.NA, index=text.index, dtype="string")
            ),
            "source_file": name,
            "source_row": text.index.to_numpy(),
        }
    ).reset_index(drop=True)
    check_land_value_units(frame, published=published, column=value_column)
    if low_column:
        check_land_value_units(frame, published=published, column=low_column, low=True)
    return frame


def check_land_value_units(
    values: pd.DataFrame,
    *,
    published: pd.DataFrame,
    column: str = "value_gbp_per_ha",
    low: bool = False,
) -> None:
    """Refuse land values whose magnitude shows they are not £ per hectare.

    Each borough's value is divided by its published 2017 value (residential, or
    industrial when ``low``). One value below :data:`TOO_SMALL_RATIO` of it is in
    £m or £ thousands (1,000,000 or 1,000 times too small); a median ratio in
    :data:`ACRE_RATIO_BAND` (around 1 / 2.471) is a file in £ per acre; a median
    above :data:`TOO_LARGE_RATIO` is in pence or has extra zeros. Values do move
    between years and sources, but not by these factors across a whole file.
    Boroughs without a published value are not compared.

    Parameters
    ----------
    values : pandas.DataFrame
        From :func:`load_land_value_file`: ``borough_code``, ``value_gbp_per_ha``
        (and ``low_gbp_per_ha``), ``source_file``, ``source_row``. Left unchanged.
    published : pandas.DataFrame
        :func:`load_published_land_values`.
    column : str
        The column's name in the user's file, used in messages.
    low : bool
        Check ``low_gbp_per_ha`` against the industrial values instead.

    Raises
    ------
    DataValidationError
        Naming the file, the row, the borough, the value, the published value and
        the factor by which the file's unit is off.

    Examples
    --------
    >>> published = load_published_land_values()
    >>> acres = published["high_gbp_per_ha"] / 2.471
    >>> frame = pd.DataFrame({"borough_code": published["borough_code"],
    ...                       "value_gbp_per_ha": acres, "source_file": "lv.csv",
    ...                       "source_row": range(2, 35)})
    >>> check_land_value_units(frame, published=published)
    Traceback (most recent call last):
    ...
    estates.errors.DataValidationError: lv.csv: value_gbp_per_ha looks like £ per acre, ...
    """
    own = "low_gbp_per_ha" if low else "value_gbp_per_ha"
    kind = "industrial" if low else "residential"
    reference = published.set_index("borough_code")["low_gbp_per_ha" if low else "high_gbp_per_ha"]
    names = published.set_index("borough_code")["borough_name"]
    given = values[values["borough_code"].isin(reference.index) & values[own].notna()]
    if given.empty:
        return
    ref = given["borough_code"].map(reference).astype("float64")
    ratio = given[own].astype("float64") / ref
    name = str(given["source_file"].iloc[0])
    tiny = ratio[ratio < TOO_SMALL_RATIO]
    if len(tiny):
        i = tiny.index[0]
        factor = 1e6 if tiny.at[i] < 3e-5 else 1e3
        unit = "£m" if factor == 1e6 else "£ thousands"
        code = given.at[i, "borough_code"]
        msg = (
            f"{name} row {given.at[i, 'source_row']} (borough {code}, {names[code]}): {column} "
            f"{given.at[i, own]:,.6g} is {tiny.at[i]:.2g} times the published 2017 {kind} value "
            f"for the borough ({ref.at[i]:,.0f} £ per ha); it looks like {unit}, "
            f"{factor:,.0f} times too small. Give £ per hectare, e.g. {ref.at[i]:.0f}"
            + (f" ({len(tiny)} rows like this)" if len(tiny) > 1 else "")
        )
        raise DataValidationError(msg)
    median = float(ratio.median())
    i = (ratio - median).abs().idxmin()
    code = given.at[i, "borough_code"]
    example = (
        f"e.g. row {given.at[i, 'source_row']} ({names[code]}): {given.at[i, own]:,.0f} against "
        f"{ref.at[i]:,.0f}"
    )
    if ACRE_RATIO_BAND[0] <= median <= ACRE_RATIO_BAND[1]:
        msg = (
            f"{name}: {column} looks like £ per acre, not £ per hectare: across {len(ratio)} "
            f"boroughs the values are a median {median:.3f} times the published 2017 {kind} "
            f"values ({example}); 1 ha = {ACRES_PER_HECTARE} acres, so a file in £ per acre is "
            f"{ACRES_PER_HECTARE} times too small. Multiply by {ACRES_PER_HECTARE} to give "
            "£ per hectare"
        )
        raise DataValidationError(msg)
    if median > TOO_LARGE_RATIO:
        msg = (
            f"{name}: {column} is a median {median:,.0f} times the published 2017 {kind} values "
            f"({example}); a file in pence is 100 times too large. Give £ per hectare"
        )
        raise DataValidationError(msg)


def _industrial_areas(path: Path) -> dict[str, float]:
    rows = read_csv_text(path, Findings(), required=("sheet", "lep", "area", "gbp_per_ha"))
    rows = rows[(rows["sheet"] == _INDUSTRIAL_SHEET) & (rows["lep"] == _LONDON_LEP)]
    if rows.empty:
        msg = f"{path.name}: no '{_INDUSTRIAL_SHEET}' rows under LEP '{_LONDON_LEP}'"
        raise DataValidationError(msg)
    values = _positive_values(rows, "gbp_per_ha", path.name)
    return dict(zip(rows["area"], values, strict=True))


def _positive_values(text: pd.DataFrame, column: str, name: str) -> pd.Series:
    values = parse_numbers(text[column], column=column, source_file=name, findings=None)
    for row in values.index:
        if not (values.at[row] > 0 and math.isfinite(values.at[row])):
            msg = f"{name} row {row}: {column} {text.at[row, column]!r} is not a positive number"
            raise DataValidationError(msg)
    return values.astype("float64")


def _first_present(text: pd.DataFrame, candidates: tuple[str, ...], name: str) -> str:
    for candidate in candidates:
        if candidate in text:
            return candidate
    found = ", ".join(text.columns[:12])
    msg = f"{name}: missing column {candidates[0]!r} (or {candidates[1]!r}); found {found}"
    raise DataValidationError(msg)


def _resolve_boroughs(
    text: pd.DataFrame, published: pd.DataFrame, name: str
) -> tuple[pd.Series, list[str]]:
    by_name = {
        str(n).casefold(): str(c)
        for n, c in zip(published["borough_name"], published["borough_code"], strict=True)
    }
    codes = pd.Series("", index=text.index, dtype=object)
    problems: list[str] = []
    for row in text.index:
        code = text.at[row, "borough_code"] if "borough_code" in text else ""
        borough = text.at[row, "borough_name"] if "borough_name" in text else ""
        if code:
            codes.at[row] = code
        elif borough:
            resolved = by_name.get(str(borough).strip().casefold())
            if resolved is None:
                problems.append(
                    f"{name} row {row}: borough_name {borough!r} is not a London borough; "
                    "use the ONS name (e.g. 'Kensington and Chelsea') or a borough_code"
                )
            else:
                codes.at[row] = resolved
        else:
            problems.append(
                f"{name} row {row}: borough_code is blank; give its ONS GSS code (E09...)"
            )
    return codes, problems
