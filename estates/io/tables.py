"""Write the site table and its companions: the analysts' outputs.

``sites.parquet`` (GeoParquet, WGS84), ``sites.gpkg`` (EPSG:27700, layers
``sites`` and ``boroughs``), ``sites.csv`` (no geometry; latitude, longitude,
easting, northing), ``rejected.csv`` and ``summary.json``. Every writer takes
the folder to write into and returns the path it wrote. The site table's
columns and types come from :mod:`estates.schema`; the CSV text rules
(numbers, quoting, spreadsheet-safe cells) from :mod:`estates.io.csv_text`.
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import math
import os
import tempfile
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pyogrio
import pyproj
import shapely

from estates.crs import BNG, WGS84, require_crs
from estates.findings import Findings
from estates.io.csv_text import column_texts, csv_rows, dates_only, plain_number, plain_numbers
from estates.io.layer_process import BATCH_ROWS, LayerProcess, write_gpkg_layer
from estates.schema import SITE_ARROW_SCHEMA, SITE_COLUMNS, coerce_sites

__all__ = [
    "ATTRIBUTION",
    "BOM",
    "SiteTableWriter",
    "append_csv",
    "plain_number",
    "plain_numbers",
    "write_csv",
    "write_findings",
    "write_json",
    "write_layer",
    "write_site_table",
]

log = logging.getLogger(__name__)

#: The line that must travel with any copy of outputs built from the bundled data: every data
#: set ``data/ATTRIBUTION.md`` lists, with the copyright lines their licences require.
ATTRIBUTION = (
    "Contains public sector information licensed under the Open Government Licence v3.0: "
    "ERIC 2013/14, 2014/15, 2015/16, 2016/17 and 2019/20 (NHS Digital); NHS Choices hospital "
    "and clinic data; MHCLG Land value estimates for policy appraisal 2017; Office for "
    "National Statistics boundaries and postcode centroids (NSPL), contains OS data © Crown "
    "copyright and database right 2020 and 2025; contains Royal Mail data © Royal Mail "
    "copyright and database right 2025."
)
#: The UTF-8 byte-order mark ``--csv-bom`` starts a CSV with, for Excel.
BOM = b"\xef\xbb\xbf"


def write_site_table(sites: gpd.GeoDataFrame, out_dir: Path, *, bom: bool = False) -> list[Path]:
    """Write ``sites.parquet``, ``sites.csv`` and the ``sites`` layer of ``sites.gpkg``.

    The one-chunk case of :class:`SiteTableWriter`: the same code writes the
    in-memory build's table and the chunked build's chunks. ``bom=True``
    starts ``sites.csv`` with a UTF-8 byte-order mark (``--csv-bom``).
    """
    writer = SiteTableWriter(out_dir, bom=bom)
    try:
        writer.write(sites)
    except BaseException:
        writer.abandon()
        raise
    return writer.close()


#: The most sites whose GeoPackage layer a second process writes (``layer_process=True``).
#: GDAL builds a layer's R-tree in the memory of the process writing it: at ten million
#: sites the build and its second process peaked at 1,605 MiB together (the second holding
#: 525 MiB beside the build's 1,000), where the build writing the layer itself, after its
#: parts, peaked at 1,347 MiB. Above this many sites, it does.
LAYER_PROCESS_MAX_ROWS = 2_000_000
#: Rows per row group of ``sites.parquet``, whatever the chunks the build wrote.
PARQUET_ROW_GROUP_ROWS = 100_000
#: Rows of ``sites.csv`` formatted at a time: each row's text is built for these
#: rows at once, several copies deep, so fewer rows keep a part's peak memory down.
CSV_CHUNK_ROWS = 25_000


class SiteTableWriter:
    """Write ``sites.parquet``, ``sites.gpkg`` and ``sites.csv`` a chunk at a time.

    Each :meth:`write` brings a chunk of the site table (EPSG:4326) to the
    schema of :mod:`estates.schema` (:func:`~estates.schema.coerce_sites`)
    and appends it to the three files through Arrow: a pyarrow
    ``ParquetWriter`` (GeoParquet 1.0 ``geo`` metadata in the footer, written
    by :meth:`close`), the GeoPackage layer ``sites`` (EPSG:27700) and
    :func:`append_csv`. The GeoPackage's rows go to an Arrow stream file in
    the folder first and the layer is written from it in one
    ``pyogrio.write_arrow`` call, a batch at a time: appending to the layer
    chunk by chunk took about twice the CPU (GDAL reopens the file and
    updates the spatial index row by row) and gave an R-tree laid out by
    the chunks. :meth:`close` writes it; with ``layer_process=True`` a second
    process (:class:`~estates.io.layer_process.LayerProcess`) writes it as
    the chunks come, and :meth:`wait_layer` waits for it after :meth:`close`.
    The files do not depend on how the table was cut into chunks;
    :func:`write_site_table` is the one-chunk case. :meth:`abandon` stops the
    second process and removes the stream file of a write that will not be
    finished.
    """

    def __init__(self, out_dir: Path, *, bom: bool = False, layer_process: bool = False) -> None:
        self.paths = [out_dir / "sites.parquet", out_dir / "sites.gpkg", out_dir / "sites.csv"]
        self._bom = bom
        self._layer_process = layer_process
        self._parquet: pq.ParquetWriter | None = None
        self._schema: pa.Schema | None = None
        # Rows waiting for a full Parquet row group: the groups, and so the
        # file's bytes, do not depend on where the chunks were cut.
        self._pending: list[pa.Table] = []
        self._pending_rows = 0
        # The row groups being written, in a thread of their own.
        self._parquet_thread = ThreadPoolExecutor(1, thread_name_prefix="sites-parquet")
        self._writing: Future[None] | None = None
        self._bounds = np.array([np.inf, np.inf, -np.inf, -np.inf])
        self._rows = 0
        # The GeoPackage layer's rows, as an Arrow stream file, until close();
        # the second process writing the layer from it meanwhile, if any.
        self._spool: Path | None = None
        self._spool_file: pa.NativeFile | None = None
        self._spooled: pa.RecordBatchStreamWriter | None = None
        self._layer: LayerProcess | None = None

    def expect_rows(self, rows: int) -> None:
        """Hear how many rows are to come, before the first.

        A second process writes the layer of at most :data:`LAYER_PROCESS_MAX_ROWS`.
        """
        if rows > LAYER_PROCESS_MAX_ROWS:
            self._layer_process = False

    def write(self, sites: gpd.GeoDataFrame) -> None:
        """Append ``sites`` (EPSG:4326; columns as :data:`estates.schema.SITE_COLUMNS`)."""
        require_crs(sites, WGS84, stage="write")
        parquet, csv = self.paths[0], self.paths[2]
        sites = coerce_sites(sites)
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
        attributes = _attribute_table(sites, self._schema)
        if self._parquet is None:
            self._schema = attributes.schema
            field = pa.field("geometry", pa.binary(), metadata=_geoarrow_metadata(WGS84))
            self._parquet = pq.ParquetWriter(parquet, self._schema.append(field))
        wkb = pa.array(shapely.to_wkb(geometry), type=pa.binary(), mask=~present)
        self._pending.append(attributes.append_column(self._parquet.schema.field("geometry"), wkb))
        self._pending_rows += len(sites)
        if self._pending_rows >= PARQUET_ROW_GROUP_ROWS:
            self._flush_parquet(final=False)
        bng = shapely.to_wkb(sites.geometry.to_crs(BNG).to_numpy())
        self._spool_gpkg(
            attributes.append_column(
                pa.field("geom", pa.binary(), metadata=_geoarrow_metadata(BNG)),
                pa.array(bng, type=pa.binary(), mask=~present),
            )
        )
        del attributes, bng
        with csv.open("ab" if self._rows else "wb") as handle:
            if self._bom and self._rows == 0:
                handle.write(BOM)
            append_csv(sites, handle, header=self._rows == 0, chunk_rows=CSV_CHUNK_ROWS)
        self._rows += len(sites)

    def _spool_gpkg(self, table: pa.Table) -> None:
        """Add ``table`` (the layer's columns, ``geom`` last) to the stream file."""
        if self._spooled is None:
            handle, name = tempfile.mkstemp(
                prefix=".sites-gpkg-", suffix=".arrows", dir=self.paths[1].parent
            )
            os.close(handle)
            self._spool = Path(name)
            self._spool_file = pa.OSFile(name, "wb")
            self._spooled = pa.ipc.new_stream(self._spool_file, table.schema)
            if self._layer_process:
                self._layer = _start_layer_process(self._spool, self.paths[1])
        self._spooled.write_table(table, max_chunksize=BATCH_ROWS)
        if self._layer is not None and self._spool_file is not None:
            self._layer.ready(self._spool_file.tell())

    def _end_gpkg(self) -> None:
        """Close the stream file; write the ``sites`` layer from it, or tell the process it may."""
        if self._spooled is None or self._spool_file is None:
            return
        self._spooled.close()
        self._spooled = None
        length = self._spool_file.tell()
        self._spool_file.close()
        if self._layer is not None:
            self._layer.end(length)
        else:
            self.wait_layer()

    def wait_layer(self) -> None:
        """Finish the ``sites`` layer: wait for the process writing it, or write it here.

        After :meth:`close`; nothing to do once done. If the second process
        failed, the layer is written here from the stream file, with a warning
        saying why. The stream file is removed.
        """
        if self._spool is None:
            return
        if self._layer is not None:
            failed = self._layer.wait()
            self._layer = None
            if failed is None:
                self._spool.unlink()
                self._spool = None
                return
            log.warning(
                "the process writing the sites layer of %s failed (%s); writing it here",
                self.paths[1].name,
                failed,
            )
        # Read, not memory-mapped: the file's pages would count in the build's memory.
        with pa.OSFile(str(self._spool), "rb") as source:
            write_gpkg_layer(pa.ipc.open_stream(source), self.paths[1], "sites", BNG)
        self._spool.unlink()
        self._spool = None

    def abandon(self) -> None:
        """Stop the layer's process and remove the stream file of a write left unfinished.

        Harmless after :meth:`close` and :meth:`wait_layer`, or called twice.
        """
        if self._writing is not None:  # a row group being written cannot be stopped
            writing, self._writing = self._writing, None
            with contextlib.suppress(Exception):  # the write is abandoned anyway
                writing.result()
        self._parquet_thread.shutdown()
        if self._layer is not None:
            self._layer.stop()
            self._layer = None
        if self._spooled is not None:
            self._spooled.close()
            self._spooled = None
        if self._spool_file is not None:
            self._spool_file.close()
        if self._spool is not None:
            self._spool.unlink(missing_ok=True)
            self._spool = None

    def _flush_parquet(self, *, final: bool) -> None:
        """Write the pending rows as whole row groups; keep a partial group unless ``final``.

        The groups are encoded and compressed in a thread (pyarrow lets go of
        Python's lock meanwhile), one group at a time, while the chunk's other
        files are written; ``final`` waits for every group to be written.
        """
        if self._parquet is None:
            return
        table = pa.concat_tables(self._pending) if self._pending else None
        whole = 0
        if table is not None:
            whole = len(table) if final else len(table) - len(table) % PARQUET_ROW_GROUP_ROWS
        groups = table.slice(0, whole).combine_chunks() if table is not None and whole else None
        self._wait_parquet()
        if groups is not None:
            self._writing = self._parquet_thread.submit(
                self._parquet.write_table, groups, row_group_size=PARQUET_ROW_GROUP_ROWS
            )
        if table is not None:
            rest = table.slice(whole)
            self._pending = [rest] if len(rest) else []
            self._pending_rows = len(rest)
        del table, groups
        if final:
            self._wait_parquet()

    def _wait_parquet(self) -> None:
        """Wait for the row groups being written; raise what writing them raised."""
        if self._writing is not None:
            writing, self._writing = self._writing, None
            writing.result()

    def close(self) -> list[Path]:
        """Finish the files (the GeoParquet metadata goes in the footer) and return their paths.

        A layer written by a second process may still be in progress:
        :meth:`wait_layer` finishes it.
        """
        if self._parquet is None:
            msg = "no site rows were written"
            raise ValueError(msg)
        self._flush_parquet(final=True)
        bbox = self._bounds.tolist() if np.isfinite(self._bounds).all() else None
        column: dict[str, Any] = {
            "encoding": "WKB",
            "geometry_types": ["Point"],
            "crs": pyproj.CRS(WGS84).to_json_dict(),
        }
        if bbox is not None:
            column["bbox"] = bbox
        geo = {"version": "1.0.0", "primary_column": "geometry", "columns": {"geometry": column}}
        self._parquet.add_key_value_metadata({"geo": json.dumps(geo)})
        self._parquet.close()
        self._parquet_thread.shutdown()
        self._end_gpkg()
        return list(self.paths)


def write_layer(frame: gpd.GeoDataFrame, gpkg: Path, layer: str) -> Path:
    """Add ``layer`` to the GeoPackage ``gpkg``, in EPSG:27700."""
    _to_gpkg(frame.to_crs(BNG), gpkg, layer)  # a new frame: _to_gpkg may change it
    return gpkg


def write_csv(
    frame: pd.DataFrame, path: Path, *, bom: bool = False, chunk_rows: int = 100_000
) -> Path:
    """Write ``frame`` as UTF-8 CSV that spreadsheets read correctly and safely.

    Floats are written in positional notation (never ``1e-05``), booleans as
    ``true``/``false``, dates and times in ISO 8601 (``2017-11-30``), missing
    values as empty cells; text, such as codes ``00123`` or ``1E10``, is
    written as given, except that a cell a spreadsheet would run as a
    formula (``=HYPERLINK(...)``, ``@SUM(1)``, ``-2+3``) gets a leading
    ``'`` (:func:`estates.io.csv_text.spreadsheet_safe`). A field holding a
    comma, quote, line feed or carriage return is quoted. ``bom=True`` adds a
    UTF-8 byte-order mark, which Excel needs to detect UTF-8. A
    GeoDataFrame's geometry is left out (the site table carries its
    coordinates as columns).

    Rows are formatted and written ``chunk_rows`` at a time, so the text of
    a large table never sits in memory whole.

    Examples
    --------
    >>> import io, tempfile
    >>> f = pd.DataFrame({"site_code": ["00123", "1E10", "=1+1"], "ha": [1e-05, None, -2.5],
    ...                   "date": pd.to_datetime(["2017-11-30", None, None])})
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     print(write_csv(f, Path(tmp) / "x.csv").read_text(), end="")
    site_code,ha,date
    00123,0.00001,2017-11-30
    1E10,,
    '=1+1,-2.5,
    """
    with path.open("wb") as handle:
        if bom:
            handle.write(BOM)
        append_csv(frame, handle, header=True, chunk_rows=chunk_rows)
    return path


def append_csv(
    frame: pd.DataFrame, handle: IO[bytes] | IO[str], *, header: bool, chunk_rows: int = 100_000
) -> None:
    """Write ``frame`` to an open file as :func:`write_csv` does, with or without the header.

    ``handle`` is a binary file, or a text file opened with ``newline=""``.
    Whether a datetime column is written as plain dates is decided on the
    whole of ``frame``.
    """
    columns = [c for c in frame.columns if not isinstance(frame[c].dtype, gpd.array.GeometryDtype)]
    dates = {
        c: dates_only(frame[c]) for c in columns if pd.api.types.is_datetime64_any_dtype(frame[c])
    }
    text = isinstance(handle, io.TextIOBase)
    if header:
        names = column_texts(pd.Series([str(c) for c in columns], dtype=object))
        line = ",".join(names.to_pylist()) + "\n"
        handle.write(line if text else line.encode("utf-8"))  # type: ignore[arg-type]
    for start in range(0, len(frame), chunk_rows):
        part = frame.iloc[start : start + chunk_rows]
        rows = csv_rows([column_texts(part[c], dates_only=dates.get(c)) for c in columns])
        handle.write(str(rows, "utf-8") if text else rows)  # type: ignore[arg-type]


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


def _attribute_table(sites: gpd.GeoDataFrame, schema: pa.Schema | None) -> pa.Table:
    """Return the attribute columns of a coerced site table as Arrow, in the schema's types.

    Schema columns take their :data:`~estates.schema.SITE_ARROW_SCHEMA` type;
    the first chunk fixes the types of any others; later chunks are cast to
    the first's.
    """
    frame = pd.DataFrame(sites.drop(columns=sites.geometry.name))
    table = pa.Table.from_pandas(frame, preserve_index=False)
    if schema is None:
        fields = [
            SITE_ARROW_SCHEMA.field(c) if c in SITE_COLUMNS else table.schema.field(c)
            for c in frame.columns
        ]
        schema = pa.schema(fields, metadata=table.schema.metadata)
    return table.cast(schema)


def _geoarrow_metadata(crs: str) -> dict[bytes, bytes]:
    """Return the field metadata that marks a binary column as GeoArrow WKB in ``crs``."""
    metadata = json.dumps({"crs": pyproj.CRS(crs).to_json_dict()})
    return {
        b"ARROW:extension:name": b"geoarrow.wkb",
        b"ARROW:extension:metadata": metadata.encode(),
    }


def _start_layer_process(stream: Path, gpkg: Path) -> LayerProcess | None:
    """Start the process writing the ``sites`` layer from ``stream``; None if it cannot start."""
    try:
        return LayerProcess(stream, gpkg, "sites", BNG)
    except OSError as exc:
        log.warning(
            "cannot start a process to write the sites layer of %s (%s); writing it here",
            gpkg.name,
            exc,
        )
        return None


#: GDAL's setting for SQLite's ``PRAGMA synchronous`` in the files it writes (GeoPackage).
SQLITE_SYNCHRONOUS = "OGR_SQLITE_SYNCHRONOUS"


@contextmanager
def unsynced_geopackage_writes() -> Iterator[None]:
    """Within, GeoPackage writes hand their data to the system without waiting for the disk.

    SQLite waits for the disk at each commit (``PRAGMA synchronous=FULL``):
    about half the time of writing a small layer (25 ms against 14 for the
    33 boroughs). A build writes its GeoPackage in a staging folder and
    makes every file durable once, as a whole, before it publishes them
    (:func:`estates.builder.publish.publish`), so waiting at each commit buys
    nothing there. The files' contents are the same; a program that stops
    half-way leaves a whole database either way (only a machine that loses
    power or crashes before the data reach the disk could lose more).
    GDAL's own setting (``OGR_SQLITE_SYNCHRONOUS``) is restored on leaving;
    :func:`estates.io.gpkg.write_styles` follows it too. GDAL's settings
    belong to the process: a GeoPackage another thread writes meanwhile is
    written without the waits too.
    """
    previous = pyogrio.get_gdal_config_option(SQLITE_SYNCHRONOUS)
    pyogrio.set_gdal_config_options({SQLITE_SYNCHRONOUS: "OFF"})
    try:
        yield
    finally:
        pyogrio.set_gdal_config_options({SQLITE_SYNCHRONOUS: previous})


def geopackage_writes_synced() -> bool:
    """Return whether GDAL's GeoPackage writes wait for the disk at each commit (the default)."""
    value = pyogrio.get_gdal_config_option(SQLITE_SYNCHRONOUS)  # "OFF" comes back as False
    return not (value is False or str(value).strip().upper() in {"OFF", "0", "FALSE", "NO"})


def _to_gpkg(out: gpd.GeoDataFrame, path: Path, layer: str) -> None:
    """Write ``out``, a frame of the caller's own (its text columns are changed), as ``layer``."""
    for column in out.columns:
        if column != out.geometry.name and pd.api.types.is_string_dtype(out[column]):
            # Missing text is NULL, never the text "<NA>".
            text = out[column].to_numpy(dtype=object, na_value=None)
            out[column] = pd.Series(text, index=out.index, dtype=object)
    out.to_file(path, layer=layer, driver="GPKG", engine="pyogrio")


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
