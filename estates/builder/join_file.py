"""Join files larger than memory to boroughs, chunk by chunk: ``estates join``.

For analysts' own large point files (national site lists, address-level
points): a CSV or (Geo)Parquet file is read in chunks, each chunk is joined
with :func:`estates.join_boroughs` (GeoParquet through
:func:`estates.stages.join.iter_join_parquet`), and the result is appended to a
Parquet file, so peak memory depends on the chunk size, not on the file.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from estates.crs import BNG, WGS84
from estates.errors import ConfigError, DataValidationError
from estates.stages.join import iter_join_parquet, join_boroughs

log = logging.getLogger("estates")

#: Columns added to every row.
JOIN_COLUMNS = ("borough_code", "borough_name", "join_method", "borough_distance_m")


def iter_join_csv(
    path: Path,
    boroughs: gpd.GeoDataFrame,
    *,
    chunk_rows: int = 1_000_000,
    nearest_within_m: float = 250.0,
) -> Iterator[pd.DataFrame]:
    """Yield borough-joined chunks of a CSV of points.

    The CSV needs ``latitude`` and ``longitude`` (WGS84) or ``easting`` and
    ``northing`` (EPSG:27700). A coordinate that is blank or not a number
    leaves its row unjoined (``join_method`` empty); it is never dropped.
    Other columns are kept as text.

    Raises
    ------
    DataValidationError
        If the file cannot be read or has no coordinate columns.
    """
    try:
        header = pd.read_csv(path, nrows=0, encoding="utf-8-sig").columns
    except (OSError, ValueError, UnicodeDecodeError) as exc:
        msg = f"{path.name}: cannot read as CSV ({exc})"
        raise DataValidationError(msg) from exc
    if {"latitude", "longitude"} <= set(header):
        x_col, y_col, crs = "longitude", "latitude", WGS84
    elif {"easting", "northing"} <= set(header):
        x_col, y_col, crs = "easting", "northing", BNG
    else:
        msg = (
            f"{path.name}: no coordinate columns; expected latitude and longitude (WGS84) "
            "or easting and northing (EPSG:27700)"
        )
        raise DataValidationError(msg)
    reader = pd.read_csv(
        path,
        dtype=str,
        keep_default_na=False,
        chunksize=chunk_rows,
        encoding="utf-8-sig",
        encoding_errors="replace",
    )
    start = 0
    try:
        for chunk in reader:
            chunk.index = pd.RangeIndex(start, start + len(chunk))
            start += len(chunk)
            x = pd.to_numeric(chunk[x_col], errors="coerce").to_numpy(dtype=float)
            y = pd.to_numeric(chunk[y_col], errors="coerce").to_numpy(dtype=float)
            usable = np.isfinite(x) & np.isfinite(y)
            geometry = np.full(len(chunk), None, dtype=object)
            geometry[usable] = gpd.points_from_xy(x[usable], y[usable])
            points = gpd.GeoDataFrame(chunk, geometry=geometry, crs=crs)
            joined = join_boroughs(points, boroughs, nearest_within_m=nearest_within_m)
            yield pd.DataFrame(joined.drop(columns="geometry"))
    except (pd.errors.ParserError, UnicodeDecodeError) as exc:
        msg = f"{path.name}: cannot read row {start + 2} onwards ({exc})"
        raise DataValidationError(msg) from exc


def join_file(
    source: Path,
    target: Path,
    boroughs: gpd.GeoDataFrame,
    *,
    chunk_rows: int = 1_000_000,
    nearest_within_m: float = 250.0,
) -> dict[str, int]:
    r"""Join every point of ``source`` to ``boroughs`` and write ``target`` (Parquet).

    Parameters
    ----------
    source : pathlib.Path
        A CSV (see :func:`iter_join_csv`) or a GeoParquet file of points.
    target : pathlib.Path
        The Parquet file to write: every input column (GeoParquet geometry
        dropped; its coordinates stay in the source), plus :data:`JOIN_COLUMNS`.
        Written to a temporary name and renamed when complete.
    boroughs : geopandas.GeoDataFrame
        Borough polygons with ``borough_code`` and ``borough_name``.
    chunk_rows : int
        Rows per chunk: peak memory grows with it, not with the file.

    Returns
    -------
    dict
        Rows written and counts per ``join_method``.

    Examples
    --------
    >>> import tempfile
    >>> from estates.io.inputs import load_boroughs
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     src = Path(folder) / "points.csv"
    ...     _ = src.write_text("id,latitude,longitude\na,51.5532,-0.1654\nb,,\n")
    ...     counts = join_file(src, Path(folder) / "out.parquet", load_boroughs(), chunk_rows=1)
    ...     table = pd.read_parquet(Path(folder) / "out.parquet")
    >>> counts
    {'rows': 2, 'within': 1, 'nearest': 0, 'outside': 0, 'not_located': 1}
    >>> table[["id", "borough_name", "join_method"]].values.tolist()
    [['a', 'Camden', 'within'], ['b', <NA>, <NA>]]
    """
    if chunk_rows < 1:
        msg = f"chunk_rows must be 1 or more, not {chunk_rows}"
        raise ConfigError(msg)
    names = dict(zip(boroughs["borough_code"], boroughs["borough_name"], strict=True))
    if source.suffix.lower() in {".parquet", ".geoparquet"}:
        chunks = iter_join_parquet(
            source, boroughs, chunk_rows=chunk_rows, nearest_within_m=nearest_within_m
        )
    else:
        chunks = iter_join_csv(
            source, boroughs, chunk_rows=chunk_rows, nearest_within_m=nearest_within_m
        )
    counts = {"rows": 0, "within": 0, "nearest": 0, "outside": 0, "not_located": 0}
    partial = target.with_name(f".{target.name}.partial")
    writer: pq.ParquetWriter | None = None
    try:
        for chunk in chunks:
            frame = chunk.copy()
            frame["borough_name"] = frame["borough_code"].map(names).astype("string")
            frame["join_method"] = frame["join_method"].astype("string")
            frame = frame[[c for c in frame.columns if c not in JOIN_COLUMNS] + list(JOIN_COLUMNS)]
            table = pa.Table.from_pandas(frame, preserve_index=False)
            if writer is None:
                writer = pq.ParquetWriter(partial, table.schema)
            writer.write_table(table.cast(writer.schema))
            counts["rows"] += len(frame)
            method = frame["join_method"].fillna("not_located").value_counts()
            for key in ("within", "nearest", "outside", "not_located"):
                counts[key] += int(method.get(key, 0))
        if writer is None:
            msg = f"{source.name} has no rows"
            raise DataValidationError(msg)
        writer.close()
        writer = None
        partial.replace(target)
    finally:
        if writer is not None:
            writer.close()
        partial.unlink(missing_ok=True)
    log.info(
        "joined %d points from %s in chunks of %d: %d within, %d nearest, %d outside, "
        "%d not located",
        counts["rows"],
        source.name,
        chunk_rows,
        counts["within"],
        counts["nearest"],
        counts["outside"],
        counts["not_located"],
    )
    return counts
