"""Benchmark the streaming join: a big GeoParquet file in, joined batches out.

Writes ``--rows`` seeded uniform points over Greater London's bounding box
(WGS84, WKB-encoded GeoParquet with a ``site_id`` column) into a temporary
folder, a million rows at a time, then streams it through
``estates.stages.join.iter_join_parquet`` in a fresh interpreter and reports the wall
time and the peak resident memory of that interpreter (above what it held
once imports and the boroughs were loaded). The file is deleted afterwards
unless ``--keep``. Run from the repository root::

    python benchmarks/bench_stream.py                  # 1e8 rows, about 2.1 GB on disk
    python benchmarks/bench_stream.py --rows 1e7
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import (
    MIB,
    markdown_table,
    peak_bytes,
    print_machine,
    reset_peak,
    rss_bytes,
    run_worker,
)

WRITE_CHUNK = 1_000_000
SEED = 20240601


def point_wkb(x, y):
    """WKB for 2D points (little endian), built with numpy: 21 bytes a point."""
    import numpy as np
    import pyarrow as pa

    n = len(x)
    record = np.dtype([("order", "u1"), ("type", "<u4"), ("x", "<f8"), ("y", "<f8")])
    data = np.empty(n, dtype=record)
    data["order"], data["type"], data["x"], data["y"] = 1, 1, x, y
    offsets = np.arange(0, 21 * (n + 1), 21, dtype=np.int32)
    return pa.Array.from_buffers(
        pa.binary(), n, [None, pa.py_buffer(offsets), pa.py_buffer(data.view(np.uint8))]
    )


def write_points(path: Path, rows: int) -> None:
    """Write ``rows`` points as GeoParquet, chunk by chunk (bounded memory)."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq
    import pyproj

    from estates.crs import LONDON_BOUNDS_WGS84, WGS84

    lon0, lat0, lon1, lat1 = LONDON_BOUNDS_WGS84
    geo = {
        "version": "1.0.0",
        "primary_column": "geometry",
        "columns": {
            "geometry": {
                "encoding": "WKB",
                "geometry_types": ["Point"],
                "crs": pyproj.CRS.from_user_input(WGS84).to_json_dict(),
                "bbox": [lon0, lat0, lon1, lat1],
            }
        },
    }
    schema = pa.schema([("site_id", pa.int64()), ("geometry", pa.binary())]).with_metadata(
        {"geo": json.dumps(geo)}
    )
    rng = np.random.default_rng(SEED)
    with pq.ParquetWriter(path, schema) as writer:
        for start in range(0, rows, WRITE_CHUNK):
            n = min(WRITE_CHUNK, rows - start)
            lon = rng.uniform(lon0, lon1, n)
            lat = rng.uniform(lat0, lat1, n)
            ids = pa.array(np.arange(start, start + n, dtype=np.int64))
            writer.write_table(pa.table([ids, point_wkb(lon, lat)], schema=schema))


def worker(path: str, chunk_rows: int) -> None:
    """Stream the file through iter_join_parquet in this (fresh) process; print JSON."""
    import logging

    import numpy as np

    from estates.stages.join import iter_join_parquet

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from bench_join import load_boroughs

    logging.getLogger("estates").setLevel(logging.WARNING)
    boroughs = load_boroughs()
    before = rss_bytes()
    reset_peak()
    start = time.perf_counter()
    counts = {"within": 0, "nearest": 0, "outside": 0}
    rows = batches = 0
    for batch in iter_join_parquet(path, boroughs, chunk_rows=chunk_rows):
        methods = batch["join_method"].value_counts()
        for method in counts:
            counts[method] += int(methods.get(method, 0))
        rows += len(batch)
        batches += 1
        measured = (batch["join_method"] != "outside").to_numpy()  # outside: NaN
        assert np.isfinite(batch["borough_distance_m"].to_numpy()[measured]).all()
    seconds = time.perf_counter() - start
    out = {
        "seconds": seconds,
        "rows": rows,
        "batches": batches,
        "counts": counts,
        "peak_extra_bytes": peak_bytes() - before,
        "peak_total_bytes": peak_bytes(),
    }
    print(json.dumps(out))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", default="1e8", help="points to write and stream (default 1e8)")
    parser.add_argument("--chunk-rows", type=int, default=1_000_000, help="rows per batch")
    parser.add_argument("--dir", help="folder for the file (default: a new temporary folder)")
    parser.add_argument("--keep", action="store_true", help="keep the file")
    parser.add_argument("--worker", nargs=2, metavar=("PATH", "CHUNK_ROWS"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args.worker[0], int(args.worker[1]))
        return

    rows = int(float(args.rows))
    folder = Path(args.dir) if args.dir else Path(tempfile.mkdtemp(prefix="estates-stream-"))
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"points_{rows}.parquet"
    print("## Streaming join: estates.stages.join.iter_join_parquet\n")
    print_machine()
    print()
    try:
        start = time.perf_counter()
        write_points(path, rows)
        written = time.perf_counter() - start
        size = path.stat().st_size
        out = json.loads(run_worker(Path(__file__), [str(path), str(args.chunk_rows)]))
    finally:
        if not args.keep:
            path.unlink(missing_ok=True)
            if not args.dir:
                shutil.rmtree(folder, ignore_errors=True)
    if out["rows"] != rows:
        msg = f"streamed {out['rows']} rows, wrote {rows}"
        raise RuntimeError(msg)
    header = [
        "rows",
        "file MiB",
        "write s",
        "stream + join s",
        "M rows/s",
        "batches",
        "peak RSS MiB (above baseline)",
        "peak RSS MiB (process)",
    ]
    row = [
        f"{rows:,}",
        f"{size / MIB:,.0f}",
        f"{written:.1f}",
        f"{out['seconds']:.1f}",
        f"{rows / out['seconds'] / 1e6:.2f}",
        f"{out['batches']:,}",
        f"{out['peak_extra_bytes'] / MIB:,.0f}",
        f"{out['peak_total_bytes'] / MIB:,.0f}",
    ]
    print(markdown_table(header, [row]))
    counts = out["counts"]
    print(
        f"\n{counts['within']:,} within, {counts['nearest']:,} nearest, "
        f"{counts['outside']:,} outside"
    )


if __name__ == "__main__":
    main()
