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
from estates.schema import MAP_COLUMNS

if TYPE_CHECKING:
    import geopandas as gpd

__all__ = [
    "BOROUGH_COLUMNS",
    "CONTEXT_COLUMNS",
    "SITE_COLUMNS",
    "flag_values",
    "number_values",
    "point_xy",
    "require_columns",
    "split_list",
    "text_values",
]

#: Columns ``render_maps`` needs in ``sites`` (the site table): those the column
#: dictionary marks ``on_map``, in its order (:data:`estates.schema.MAP_COLUMNS`).
SITE_COLUMNS = MAP_COLUMNS
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
            f"{what}: {len(bad)} row(s) have a geometry that is not a Point "
            f"(first: {', '.join(codes)}); give each a Point in EPSG:4326 or None"
        )
        raise DataValidationError(msg)
    arr = np.asarray(geoms, dtype=object)
    return shapely.get_x(arr), shapely.get_y(arr)
