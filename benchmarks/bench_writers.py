"""Time the site-table writers at 1e6 rows against their anchors.

The table is the bundled build's site table tiled to ``--rows`` rows, its
numbers jittered so that every float is different. Each writer runs once per
``--runs`` (median reported), in this interpreter, after a warm-up on 1,000
rows:

- ``sites.csv``: :func:`estates.io.tables.write_csv` (Arrow-formatted,
  spreadsheet-safe) against the pandas ``to_csv`` writer it replaced and
  against ``pyarrow.csv.write_csv`` of the Arrow table (no number
  formatting, no safety rules: the anchor);
- ``sites.gpkg`` layer ``sites``: geopandas ``to_file`` (the old writer)
  and ``pyogrio.write_arrow`` of a prepared Arrow table alone (the anchor,
  which the new writer calls after coercing and reprojecting);
- the whole :func:`estates.io.tables.write_site_table` (all three files:
  schema coercion, reprojection, GeoParquet, GeoPackage and CSV).

Run from the repository root: ``python benchmarks/bench_writers.py``.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pcsv
import pyogrio
import shapely

from estates.builder.pipeline import run
from estates.crs import BNG
from estates.io import tables
from estates.io.csv_text import plain_number
from estates.schema import coerce_sites


def _tiled_sites(rows: int):
    sites = coerce_sites(run().sites)
    reps = -(-rows // len(sites))
    big = sites.iloc[np.tile(np.arange(len(sites)), reps)[:rows]].reset_index(drop=True)
    rng = np.random.default_rng(7)
    for column in big.columns:
        if big[column].dtype == "float64":
            big[column] = big[column] * rng.uniform(0.9, 1.1, rows)
    big["site_code"] = pd.array([f"S{i:07d}" for i in range(rows)], dtype="string")
    return big


def _old_csv(frame: pd.DataFrame, path: Path) -> None:
    """The pandas writer of earlier releases (numbers one call per value)."""
    with path.open("w", encoding="utf-8", newline="") as handle:
        for start in range(0, len(frame), 100_000):
            out = pd.DataFrame(frame.iloc[start : start + 100_000].drop(columns="geometry"))
            for column in out.columns:
                if pd.api.types.is_float_dtype(out[column]):
                    out[column] = [plain_number(v) for v in out[column].tolist()]
                elif pd.api.types.is_bool_dtype(out[column]):
                    out[column] = out[column].map({True: "true", False: "false"})
            out.to_csv(handle, index=False, header=start == 0, lineterminator="\n")


def _time(fn: Callable[[], None], runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=1)
    args = parser.parse_args()
    sites = _tiled_sites(args.rows)
    attributes = pa.Table.from_pandas(pd.DataFrame(sites.drop(columns="geometry")))
    bng = sites.geometry.to_crs(BNG).to_numpy()
    prepared = attributes.append_column(
        pa.field("geom", pa.binary(), metadata={b"ARROW:extension:name": b"geoarrow.wkb"}),
        pa.array(shapely.to_wkb(bng), pa.binary(), mask=shapely.is_missing(bng)),
    )
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)

        def fresh(name: str) -> Path:
            path = folder / name
            path.unlink(missing_ok=True)
            return path

        old_gpkg = sites.to_crs(BNG)
        for column in old_gpkg.columns:
            if old_gpkg[column].dtype == "string":
                old_gpkg[column] = old_gpkg[column].astype(object)
        cases = {
            ("sites.csv", "estates write_csv"): lambda: tables.write_csv(sites, fresh("a.csv")),
            ("sites.csv", "old pandas writer"): lambda: _old_csv(sites, fresh("b.csv")),
            ("sites.csv", "pyarrow.csv (anchor)"): lambda: pcsv.write_csv(
                attributes, str(fresh("c.csv"))
            ),
            ("sites.gpkg", "old geopandas to_file"): lambda: old_gpkg.to_file(
                fresh("b.gpkg"), layer="sites", driver="GPKG", engine="pyogrio"
            ),
            ("sites.gpkg", "pyogrio.write_arrow (anchor)"): lambda: pyogrio.write_arrow(
                prepared,
                fresh("c.gpkg"),
                layer="sites",
                driver="GPKG",
                geometry_name="geom",
                geometry_type="Point",
                crs=BNG,
            ),
            ("all three", "estates write_site_table"): lambda: tables.write_site_table(
                sites, folder
            ),
        }
        print(f"| output | writer | seconds at {args.rows:,} rows |")
        print("|---|---|---|")
        for (output, name), fn in cases.items():
            print(f"| {output} | {name} | {_time(fn, args.runs):.1f} |", flush=True)


if __name__ == "__main__":
    main()
