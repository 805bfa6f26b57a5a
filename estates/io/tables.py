"""Write the site table and its companions: the analysts' outputs.

``sites.parquet`` (GeoParquet, WGS84), ``sites.gpkg`` (EPSG:27700, layers
``sites`` and ``boroughs``), ``sites.csv`` (no geometry; latitude, longitude,
easting, northing), ``rejected.csv`` and ``summary.json``. Every writer takes
the folder to write into and returns the path it wrote.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pyproj
import shapely
from numpy.typing import NDArray

from estates.crs import BNG, WGS84, require_crs
from estates.findings import Findings

#: The line that must travel with any copy of the outputs.
ATTRIBUTION = (
    "Contains public sector information licensed under the Open Government Licence v3.0: "
    "ERIC 2016/17 (NHS Digital); NHS Choices hospital and clinic data; Office for National "
    "Statistics boundaries, contains OS data © Crown copyright and database right 2020."
)


def write_site_table(sites: gpd.GeoDataFrame, out_dir: Path, *, bom: bool = False) -> list[Path]:
    """Write ``sites.parquet``, ``sites.csv`` and the ``sites`` layer of ``sites.gpkg``.

    ``bom=True`` starts ``sites.csv`` with a UTF-8 byte-order mark (``--csv-bom``).
    """
    require_crs(sites, WGS84, stage="write")
    parquet = out_dir / "sites.parquet"
    sites.to_parquet(parquet, index=False, geometry_encoding="WKB", write_covering_bbox=False)
    gpkg = out_dir / "sites.gpkg"
    _to_gpkg(sites.to_crs(BNG), gpkg, "sites")
    csv = out_dir / "sites.csv"
    write_csv(sites, csv, bom=bom)
    return [parquet, gpkg, csv]


class SiteTableWriter:
    """Write ``sites.parquet``, ``sites.gpkg`` and ``sites.csv`` a chunk at a time.

    For the chunked build (:mod:`estates.builder.chunked`): each :meth:`write` appends
    a chunk of the site table (WGS84) to the three files; :meth:`close`
    finishes the GeoParquet footer. The files equal what
    :func:`write_site_table` writes for the chunks put together.
    """

    def __init__(self, out_dir: Path, *, bom: bool = False) -> None:
        self.paths = [out_dir / "sites.parquet", out_dir / "sites.gpkg", out_dir / "sites.csv"]
        self._bom = bom
        self._parquet: pq.ParquetWriter | None = None
        self._schema: pa.Schema | None = None
        self._bounds = np.array([np.inf, np.inf, -np.inf, -np.inf])
        self._rows = 0

    def write(self, sites: gpd.GeoDataFrame) -> None:
        """Append ``sites`` (EPSG:4326) to the three files."""
        require_crs(sites, WGS84, stage="write")
        parquet, gpkg, csv = self.paths
        geometry = sites.geometry.to_numpy()
        present = ~shapely.is_missing(geometry)
        if present.any():
            xmin, ymin, xmax, ymax = shapely.total_bounds(geometry[present])
            self._bounds = np.concatenate(
                [
                    np.minimum(self._bounds[:2], [xmin, ymin]),
                    np.maximum(self._bounds[2:], [xmax, ymax]),
                ]
            )
        table = pa.Table.from_pandas(
            pd.DataFrame(sites.drop(columns=sites.geometry.name)), preserve_index=False
        ).append_column(
            sites.geometry.name,
            pa.array(shapely.to_wkb(geometry), type=pa.binary(), mask=~present),
        )
        if self._parquet is None:
            self._schema = table.schema
            self._parquet = pq.ParquetWriter(parquet, self._schema)
        self._parquet.write_table(table.cast(self._schema))
        _to_gpkg(sites.to_crs(BNG), gpkg, "sites", append=self._rows > 0)
        with csv.open("a" if self._rows else "w", encoding=self._encoding(), newline="") as handle:
            _append_csv(sites, handle, header=self._rows == 0)
        self._rows += len(sites)

    def close(self) -> list[Path]:
        """Finish the files (the GeoParquet metadata goes in the footer) and return their paths."""
        if self._parquet is None:
            msg = "no site rows were written"
            raise ValueError(msg)
        bbox = self._bounds.tolist() if np.isfinite(self._bounds).all() else None
        column = {
            "encoding": "WKB",
            "geometry_types": ["Point"],
            "crs": pyproj.CRS(WGS84).to_json_dict(),
        }
        if bbox is not None:
            column["bbox"] = bbox
        geo = {"version": "1.0.0", "primary_column": "geometry", "columns": {"geometry": column}}
        self._parquet.add_key_value_metadata({"geo": json.dumps(geo)})
        self._parquet.close()
        return list(self.paths)

    def _encoding(self) -> str:
        return "utf-8-sig" if self._bom and self._rows == 0 else "utf-8"


def write_layer(frame: gpd.GeoDataFrame, gpkg: Path, layer: str) -> Path:
    """Add ``layer`` to the GeoPackage ``gpkg``, in EPSG:27700."""
    _to_gpkg(frame.to_crs(BNG), gpkg, layer)
    return gpkg


def write_csv(
    frame: pd.DataFrame, path: Path, *, bom: bool = False, chunk_rows: int = 100_000
) -> Path:
    """Write ``frame`` as UTF-8 CSV that spreadsheets read correctly.

    Floats are written in positional notation (never ``1e-05``), booleans as
    ``true``/``false``, dates and times in ISO 8601 (``2017-11-30``), missing
    values as empty cells; text, such as codes ``00123`` or ``1E10``, is
    written as given. ``bom=True`` adds a UTF-8 byte-order mark, which Excel
    needs to detect UTF-8. A GeoDataFrame's geometry is left out (the site
    table carries its coordinates as columns).

    Rows are formatted and written ``chunk_rows`` at a time, so the text of
    a large table never sits in memory whole.

    Examples
    --------
    >>> import io, tempfile
    >>> f = pd.DataFrame({"site_code": ["00123", "1E10"], "ha": [1e-05, float("nan")],
    ...                   "date": pd.to_datetime(["2017-11-30", None])})
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     print(write_csv(f, Path(tmp) / "x.csv").read_text(), end="")
    site_code,ha,date
    00123,0.00001,2017-11-30
    1E10,,
    """
    with path.open("w", encoding="utf-8-sig" if bom else "utf-8", newline="") as handle:
        _append_csv(frame, handle, header=True, chunk_rows=chunk_rows)
    return path


def _append_csv(
    frame: pd.DataFrame, handle: Any, *, header: bool, chunk_rows: int = 100_000
) -> None:
    """Write ``frame`` to an open text file as :func:`write_csv` does, with or without header."""
    columns = [c for c in frame.columns if not isinstance(frame[c].dtype, gpd.array.GeometryDtype)]
    # Whether a datetime column is written as plain dates is decided on the whole column.
    dates_only = {
        c: _dates_only(frame[c]) for c in columns if pd.api.types.is_datetime64_any_dtype(frame[c])
    }
    for start in range(0, max(len(frame), 1), chunk_rows):
        out = pd.DataFrame(frame.iloc[start : start + chunk_rows][columns])
        for column in columns:
            series = out[column]
            if pd.api.types.is_float_dtype(series):
                out[column] = plain_numbers(series.to_numpy(dtype=float))
            elif pd.api.types.is_bool_dtype(series):
                out[column] = series.map({True: "true", False: "false"})
            elif column in dates_only:
                out[column] = _iso_datetimes(series, dates_only=dates_only[column])
        out.to_csv(handle, index=False, header=header and start == 0, lineterminator="\n")


def write_findings(findings: Findings, out_dir: Path) -> Path:
    """Write ``rejected.csv``: every rejected, flagged or warned-about record."""
    path = out_dir / "rejected.csv"
    write_csv(findings.to_frame(), path)
    return path


def write_json(data: dict[str, Any], path: Path) -> Path:
    """Write ``data`` as stable, human-readable JSON (NaN becomes null)."""
    text = json.dumps(_jsonable(data), indent=2, sort_keys=False, ensure_ascii=False)
    path.write_text(text + "\n", encoding="utf-8")
    return path


def _to_gpkg(frame: gpd.GeoDataFrame, path: Path, layer: str, *, append: bool = False) -> None:
    out = frame.copy()
    for column in out.columns:
        if column != out.geometry.name and pd.api.types.is_string_dtype(out[column]):
            out[column] = out[column].astype(object)
    if append:
        out.to_file(path, layer=layer, driver="GPKG", engine="pyogrio", mode="a")
    else:
        out.to_file(path, layer=layer, driver="GPKG", engine="pyogrio")


def _dates_only(series: pd.Series) -> bool:
    """Return True when every value of a datetime column is at midnight, without a zone."""
    present = series.dropna()
    return bool((present == present.dt.normalize()).all()) and present.dt.tz is None


def _iso_datetimes(series: pd.Series, *, dates_only: bool) -> list[str]:
    """Return ISO 8601 texts: dates alone if ``dates_only``."""
    return [
        "" if pd.isna(v) else (v.date().isoformat() if dates_only else v.isoformat())
        for v in series
    ]


def plain_numbers(values: NDArray[np.float64]) -> NDArray[np.object_]:
    """Return :func:`_plain_number` of every value, without a Python call per value.

    Whole numbers are printed by numpy; other values take Python's shortest
    round-trip ``repr``, which is what ``_plain_number`` gives whenever that
    ``repr`` has no exponent and at most 10 decimals; only the rest (tiny,
    huge or long values) go through ``_plain_number`` one by one.

    Examples
    --------
    >>> plain_numbers(np.array([2.0, 0.1, 1e-05, np.nan, -3.25, 1e20, 1 / 3])).tolist()
    ['2', '0.1', '0.00001', '', '-3.25', '100000000000000000000', '0.3333333333']
    """
    out = np.full(len(values), "", dtype=object)
    with np.errstate(invalid="ignore"):
        whole = (values == np.trunc(values)) & (np.abs(values) < 1e15)
    out[whole] = values[whole].astype(np.int64).astype(str).astype(object)
    rest = np.flatnonzero(~whole & ~np.isnan(values))
    if rest.size:
        texts = np.array(list(map(repr, values[rest].tolist())), dtype=str)
        point = np.char.find(texts, ".")
        odd = (np.char.find(texts, "e") >= 0) | (point < 0)
        odd |= (np.char.str_len(texts) - point - 1 > 10) | np.char.endswith(texts, ".0")
        texts = texts.astype(object)
        # Long or tiny values: printf rounds the exact binary value to 10
        # decimals, as format_float_positional does; huge ones go one by one.
        odd_values = values[rest[odd]]
        small = np.abs(odd_values) < 1e15
        fixed = np.char.rstrip(np.char.rstrip(np.char.mod("%.10f", odd_values[small]), "0"), ".")
        odd_texts = np.empty(len(odd_values), dtype=object)
        odd_texts[small] = fixed.astype(object)
        odd_texts[~small] = [_plain_number(v) for v in odd_values[~small].tolist()]
        texts[odd] = odd_texts
        out[rest] = texts
    return out


def _plain_number(value: float) -> str:
    if math.isnan(value):
        return ""
    if value == int(value) and abs(value) < 1e15:
        return str(int(value))
    return np.format_float_positional(value, precision=10, trim="-")


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (np.floating, float)):
        return None if not math.isfinite(float(value)) else float(value)
    if isinstance(value, np.bool_):
        return bool(value)
    if value is pd.NA or value is None:
        return None
    if isinstance(value, Path):
        return str(value)
    return value
