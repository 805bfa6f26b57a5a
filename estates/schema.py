"""The site table's one schema: column order and dtypes, read from ``columns.toml``.

Every writer (GeoParquet, GeoPackage, CSV), the map payload and the chunked
build's tables take the site table's columns, their order and their types
from here, and :func:`coerce_sites` brings a frame to that schema. The
dictionary ``estates/columns.toml`` is read once, on import.

Four column types, one dtype each:

==========  ======================  ======================  ==========
type        pandas                  Arrow (GeoParquet)      GeoPackage
==========  ======================  ======================  ==========
string      ``string`` (NA)         ``large_string``        TEXT
float       ``float64`` (NaN)       ``double``              REAL
integer     ``Int64`` (NA)          ``int64`` (null)        INTEGER
boolean     ``bool`` (never NA)     ``bool``                BOOLEAN
==========  ======================  ======================  ==========

Flags (``in_london``, ``pfi``, ``is_aggregate`` and the per-group
``pilot_<id>`` / ``subregion_<id>``) are numpy ``bool`` in memory, Arrow
``bool`` in GeoParquet and GeoPackage booleans (integers flagged as
booleans, which pyogrio reads back as ``bool``): every site has a definite
value, so a missing flag is an error, not a third state. Ranks and counts
are ``Int64``, missing where a site is unranked.

The per-group flags are a family per group type (``pilot_<id>`` in the
dictionary): their names come from the groupings file
(:func:`group_flag_column`), and they follow the ``pilots`` column.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from types import MappingProxyType

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow as pa

from estates.columns import Column, load_columns, load_orders
from estates.errors import DataValidationError

__all__ = [
    "ARROW_TYPES",
    "BOOLEAN_COLUMNS",
    "INTEGER_COLUMNS",
    "MAP_COLUMNS",
    "PANDAS_DTYPES",
    "SITE_ARROW_SCHEMA",
    "SITE_COLUMNS",
    "SITE_DTYPES",
    "SITE_YEARS_LEADING",
    "SQL_TYPES",
    "coerce_sites",
    "group_flag_column",
    "is_group_flag",
]

#: The pandas dtype of each column type.
PANDAS_DTYPES: Mapping[str, str] = MappingProxyType(
    {"string": "string", "float": "float64", "integer": "Int64", "boolean": "bool"}
)
#: The Arrow type of each column type (GeoParquet and the GeoPackage's Arrow path).
ARROW_TYPES: Mapping[str, pa.DataType] = MappingProxyType(
    {
        "string": pa.large_string(),
        "float": pa.float64(),
        "integer": pa.int64(),
        "boolean": pa.bool_(),
    }
)
#: The SQL type of each column type (DuckDB's table of the chunked build).
SQL_TYPES: Mapping[str, str] = MappingProxyType(
    {"string": "VARCHAR", "float": "DOUBLE", "integer": "BIGINT", "boolean": "BOOLEAN"}
)

_ALL_COLUMNS: tuple[Column, ...] = tuple(load_columns())
_COLUMNS: tuple[Column, ...] = tuple(c for c in _ALL_COLUMNS if not c.is_family)
#: The prefixes of the per-group flag families, by group type: ``{"pilot": "pilot_", ...}``.
GROUP_FLAG_PREFIXES: Mapping[str, str] = MappingProxyType(
    {c.prefix.rstrip("_"): c.prefix for c in _ALL_COLUMNS if c.is_family}
)

#: The site table's columns, in output order (geometry, last, is not one of them).
SITE_COLUMNS: tuple[str, ...] = tuple(c.name for c in _COLUMNS)
#: Each site column's pandas dtype.
SITE_DTYPES: Mapping[str, str] = MappingProxyType({c.name: PANDAS_DTYPES[c.type] for c in _COLUMNS})
#: The site columns the web maps read (``on_map``), in output order.
MAP_COLUMNS: tuple[str, ...] = tuple(c.name for c in _COLUMNS if c.on_map)
#: The leading columns of the ``site_years`` table, in order (``[orders]`` ``site_years``).
SITE_YEARS_LEADING: tuple[str, ...] = load_orders()["site_years"]
#: The flag columns (numpy ``bool``), besides the per-group ones (:func:`is_group_flag`).
BOOLEAN_COLUMNS: tuple[str, ...] = tuple(c.name for c in _COLUMNS if c.type == "boolean")
#: The rank and count columns (``Int64``).
INTEGER_COLUMNS: tuple[str, ...] = tuple(c.name for c in _COLUMNS if c.type == "integer")
#: The Arrow schema of the site table's attribute columns (no geometry), in output order.
SITE_ARROW_SCHEMA: pa.Schema = pa.schema([pa.field(c.name, ARROW_TYPES[c.type]) for c in _COLUMNS])


def group_flag_column(group_type: str, group_id: str) -> str:
    """Return the name of a group's flag column: the group type and its id in snake_case.

    Examples
    --------
    >>> group_flag_column("pilot", "ncl_estates"), group_flag_column("subregion", "NorthCentral")
    ('pilot_ncl_estates', 'subregion_north_central')
    """
    snake = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", group_id).lower()
    snake = re.sub(r"[^0-9a-z]+", "_", snake).strip("_")
    return f"{GROUP_FLAG_PREFIXES[group_type]}{snake}"


def is_group_flag(column: str) -> bool:
    """Return True for a per-group flag column (``pilot_ncl``), False for a schema column.

    Examples
    --------
    >>> is_group_flag("pilot_ncl"), is_group_flag("subregion_rank"), is_group_flag("pilots")
    (True, False, False)
    """
    return column not in SITE_DTYPES and column.startswith(tuple(GROUP_FLAG_PREFIXES.values()))


def coerce_sites(sites: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Return the site table in the schema's column order and dtypes.

    Parameters
    ----------
    sites : geopandas.GeoDataFrame
        A site table in any CRS. Columns of :data:`SITE_COLUMNS` it lacks stay
        absent (a ``--sites`` file without the ERIC floor-area columns gives a
        table without them); columns not in the schema follow, unchanged.
        Left unchanged.

    Returns
    -------
    geopandas.GeoDataFrame
        A new frame: its :data:`SITE_COLUMNS` in schema order with
        :data:`SITE_DTYPES` (the per-group flags, ``bool``, right after
        ``pilots``), then any other columns, then the geometry; same
        index and CRS. No
        value changes: a float that is a whole number becomes that integer,
        a missing value stays missing.

    Raises
    ------
    DataValidationError
        If a flag column has a missing value, or
        a value does not fit its column's type (text in a number column, a
        fraction in an integer column).

    Examples
    --------
    >>> import shapely
    >>> frame = gpd.GeoDataFrame({c: [None] for c in SITE_COLUMNS}, geometry=[shapely.Point(0, 51)],
    ...                          crs="EPSG:4326")
    >>> frame[list(BOOLEAN_COLUMNS)] = True
    >>> frame["disposal_rank"] = 3.0
    >>> coerced = coerce_sites(frame)
    >>> str(coerced["disposal_rank"].dtype), str(coerced["pfi"].dtype), coerced["site_code"].dtype
    ('Int64', 'bool', <StringDtype(na_value=<NA>)>)
    >>> frame["pfi"] = pd.array([pd.NA], dtype="boolean")
    >>> coerce_sites(frame)
    Traceback (most recent call last):
    ...
    estates.errors.DataValidationError: the site table's flag column pfi is missing at row 0
    """
    geometry = sites.geometry.name
    known = [c for c in SITE_COLUMNS if c in sites.columns]
    flags = [c for c in sites.columns if is_group_flag(str(c))]
    at = known.index("pilots") + 1 if "pilots" in known else len(known)
    ordered = [*known[:at], *flags, *known[at:]]
    rest = [c for c in sites.columns if c not in SITE_DTYPES and c not in flags and c != geometry]
    out = pd.DataFrame(sites[[*ordered, *rest]])
    for column in ordered:
        series = out[column]
        coerced = _coerce_column(series, SITE_DTYPES.get(column, "bool"))
        if coerced is not series:  # most columns have their dtype already: nothing to set
            out[column] = coerced
    return gpd.GeoDataFrame(out, geometry=sites.geometry.array, crs=sites.crs, index=sites.index)


def _coerce_column(series: pd.Series, dtype: str) -> pd.Series:
    """Return ``series`` as ``dtype``, refusing any change of value."""
    if str(series.dtype) == dtype:
        return series
    name = series.name
    try:
        if dtype == "bool":
            if series.isna().any():
                row = int(np.flatnonzero(series.isna().to_numpy())[0])
                msg = f"the site table's flag column {name} is missing at row {row}"
                raise DataValidationError(msg)
            if not pd.api.types.is_bool_dtype(series) and not all(
                isinstance(v, (bool, np.bool_)) for v in series.to_numpy()
            ):
                msg = f"the site table's flag column {name} holds a value that is not True/False"
                raise DataValidationError(msg)
            return series.astype(bool)
        if dtype == "float64":
            return pd.Series(
                pd.to_numeric(series).to_numpy(dtype=float, na_value=np.nan),
                index=series.index,
                name=name,
            )
        if dtype == "Int64":
            return pd.to_numeric(series).astype("Int64")
        return series.astype("string")
    except (TypeError, ValueError) as exc:
        if isinstance(exc, DataValidationError):
            raise
        msg = f"the site table's column {name} does not fit type {dtype}: {exc}"
        raise DataValidationError(msg) from exc
