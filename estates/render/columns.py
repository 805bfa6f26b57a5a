"""The columns ``render_maps`` reads, and how it reads them.

Each reader refuses what the maps cannot draw with a :class:`DataValidationError`
that names the frame, the row, the column and the value, instead of a traceback.
None of them changes its input.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import shapely

from estates.errors import DataValidationError
from estates.logs import counted
from estates.schema import MAP_COLUMNS

if TYPE_CHECKING:
    import geopandas as gpd

__all__ = [
    "BOROUGH_COLUMNS",
    "CONTEXT_COLUMNS",
    "PICTURE_COLUMNS",
    "SITE_COLUMNS",
    "flag_values",
    "number_values",
    "point_xy",
    "require_columns",
    "split_list",
    "text_codes",
    "text_values",
]

#: Columns ``render_maps`` needs in ``sites`` (the site table): those the column
#: dictionary marks ``on_map``, in its order (:data:`estates.schema.MAP_COLUMNS`).
SITE_COLUMNS = MAP_COLUMNS
#: Columns the static maps (:mod:`estates.render.static_map`) read from the sites
#: they draw, besides the geometry.
PICTURE_COLUMNS = ("land_unused_ha", "disposal_score", "in_london")
#: Columns ``render_maps`` needs in ``boroughs``.
BOROUGH_COLUMNS = (
    "borough_code",
    "borough_name",
    "subregion",
    "pilots",
    "land_owned_ha",
    "land_unused_ha",
    "estimated_value_gbp",
    "sites_located",
)
#: Columns ``render_maps`` needs in ``context``.
CONTEXT_COLUMNS = ("context_code", "context_name", "context_kind")


def require_columns(frame: pd.DataFrame, columns: Sequence[str], what: str) -> None:
    """Raise a DataValidationError naming every column of ``columns`` that ``frame`` lacks."""
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        msg = (
            f"{what} is missing column(s) {', '.join(missing)}; "
            f"render_maps needs {', '.join(columns)}"
        )
        raise DataValidationError(msg)


_CODE_COLUMNS = ("site_code", "borough_code", "context_code")


def number_values(frame: pd.DataFrame, column: str, what: str) -> np.ndarray:
    """Return a float array of ``column`` (NaN for missing), refusing text."""
    column_dtype = frame[column].dtype
    if pd.api.types.is_float_dtype(column_dtype) or (
        pd.api.types.is_integer_dtype(column_dtype) and not pd.api.types.is_bool_dtype(column_dtype)
    ):
        # Already numbers (numpy or nullable): the same floats, without a Python object per row.
        floats: np.ndarray = frame[column].to_numpy(dtype=float, na_value=np.nan)
        return floats
    series = frame[column].astype("object").where(frame[column].notna(), np.nan)
    try:
        numbers: np.ndarray = pd.to_numeric(series).to_numpy(dtype=float)
        return numbers
    except (TypeError, ValueError):
        coerced = pd.to_numeric(series, errors="coerce")
        bad = np.flatnonzero(series.notna().to_numpy() & coerced.isna().to_numpy())
        first = int(bad[0])
        code = next((c for c in _CODE_COLUMNS if c in frame.columns), None)
        where = f"row {first}" + (f" ({code} {frame[code].iloc[first]})" if code else "")
        msg = (
            f"{what} {where}: column {column} must be numeric but holds "
            f"{series.iloc[first]!r} ({len(bad)} such value(s)); fix or blank it"
        )
        raise DataValidationError(msg) from None


def text_values(frame: pd.DataFrame, column: str) -> list[str]:
    """Return ``column`` as a list of str, with '' for missing values."""
    return [
        "" if v is None or v is pd.NA or (isinstance(v, float) and math.isnan(v)) else str(v)
        for v in frame[column].tolist()
    ]


def _text(value: object) -> str:
    """Return one value as :func:`text_values` reads it."""
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return ""
    return str(value)


def _dedupe_missing(codes: np.ndarray, texts: list[str]) -> tuple[np.ndarray, list[str]]:
    """Point the missing codes (-1) of a string column at the empty text."""
    if "" not in texts:
        texts = [*texts, ""]
    codes = np.where(codes < 0, texts.index(""), codes).astype(np.int64)
    return codes, texts


def text_codes(frame: pd.DataFrame, column: str) -> tuple[np.ndarray, list[str]]:
    """Return ``column`` as codes into its distinct texts, read as :func:`text_values` does.

    ``texts[codes[i]]`` is ``text_values(frame, column)[i]`` for every row, and
    no text appears twice, so anything done to a text is done once however
    many rows hold it. A column of texts is read without a Python step per
    row; any other column (numbers, mixed values) goes through
    :func:`text_values`, so ``1`` and ``1.0`` stay two texts.
    """
    series = frame[column]
    if isinstance(series.dtype, pd.StringDtype):
        # Arrow or Python strings: factorised without a Python object per row.
        codes, uniques = series.factorize()
        # Every distinct value of a string column is a str (missing values get no code).
        texts = uniques.to_numpy(dtype=object).tolist()
        if (codes < 0).any():
            return _dedupe_missing(codes, texts)
        return codes.astype(np.int64, copy=False), texts
    values = series.to_numpy(dtype=object)
    if pd.api.types.infer_dtype(values, skipna=True) not in ("string", "empty"):
        values = np.array(text_values(frame, column), dtype=object)
    codes, uniques = pd.factorize(values)
    texts = [str(u) for u in uniques]
    missing = np.flatnonzero(codes < 0)
    if len(missing):
        index = {t: i for i, t in enumerate(texts)}
        for i in missing:
            codes[i] = index.setdefault(_text(values[i]), len(index))
        texts = list(index)
    return codes.astype(np.int64, copy=False), texts


def flag_values(frame: pd.DataFrame, column: str) -> np.ndarray:
    """Return a boolean column as bool, False where missing."""
    flags: np.ndarray = frame[column].astype("boolean").fillna(False).to_numpy(dtype=bool)
    return flags


def split_list(text: str) -> tuple[str, ...]:
    """Split a ';'-separated list, dropping blanks: ``'a; b;'`` -> ``('a', 'b')``."""
    return tuple(p.strip() for p in text.split(";") if p.strip())


def point_xy(frame: gpd.GeoDataFrame, what: str, code_column: str) -> tuple[np.ndarray, np.ndarray]:
    """Return lon and lat arrays (NaN where the geometry is None or empty)."""
    geoms = frame.geometry.array
    kinds = shapely.get_type_id(np.asarray(geoms, dtype=object))
    bad = np.flatnonzero((kinds != 0) & (kinds != -1))
    if len(bad):
        codes = [str(frame[code_column].iloc[i]) for i in bad[:10]]
        msg = (
            f"{what}: {counted(len(bad), 'row')} {'has' if len(bad) == 1 else 'have'} a geometry "
            "that is not a Point "
            f"(first: {', '.join(codes)}); give each a Point in EPSG:4326 or None"
        )
        raise DataValidationError(msg)
    arr = np.asarray(geoms, dtype=object)
    return shapely.get_x(arr), shapely.get_y(arr)
