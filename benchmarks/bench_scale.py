"""The chunked build of a large synthetic site file, side by side with the geopandas script.

The anchor is what a user would write instead of ``estates build`` for a big
file: pandas ``read_csv`` -> ``points_from_xy`` -> ``to_crs(27700)`` ->
``sjoin`` with the bundled boroughs -> ``to_parquet`` + ``to_file`` (GeoPackage)
+ ``to_csv``, with no checks, no findings, no maps. Both read the same seeded
file (:func:`bench_build.write_synthetic_sites`), each run in a fresh process,
the two interleaved run by run; wall time, the command's CPU time (user +
system, which varies less than wall time on a shared machine) and its peak
RSS (the largest sum over its processes, sampled: a build in parts writes
its GeoPackage layer in a second process) are reported, as in
``bench_build.py``, with both ratios to the anchor.

    python benchmarks/bench_scale.py                       # 1e6 sites, 3 runs each
    python benchmarks/bench_scale.py --sizes 1e6 1e7 --runs 1
    python benchmarks/bench_scale.py --chunk-rows 200000   # the build's chunk size

``estates build`` does more than the anchor (validation and findings, scores,
the nearest borough within 250 m, the summary and the offline maps), so the
ratio is an upper bound on its overhead for the same tables.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import tempfile
from pathlib import Path

from _common import compile_bytecode
from bench_build import _cpu_model, _measure, write_synthetic_sites

ROOT = Path(__file__).resolve().parents[1]
BOROUGHS = ROOT / "data" / "boundaries" / "london_boroughs.geojson"

#: The script a user would write instead: read, locate, join, write three tables.
ANCHOR = """
import sys
from pathlib import Path

import geopandas as gpd
import pandas as pd

source, boroughs_path, out = sys.argv[1], sys.argv[2], Path(sys.argv[3])
out.mkdir(parents=True, exist_ok=True)
sites = pd.read_csv(source)
sites = gpd.GeoDataFrame(
    sites, geometry=gpd.points_from_xy(sites.longitude, sites.latitude), crs="EPSG:4326"
).to_crs(27700)
boroughs = gpd.read_file(boroughs_path).to_crs(27700)[["code", "name", "geometry"]]
joined = gpd.sjoin(sites, boroughs, how="left", predicate="within").drop(columns="index_right")
joined = joined.rename(columns={"code": "borough_code", "name": "borough_name"})
joined.to_parquet(out / "sites.parquet")
joined.to_file(out / "sites.gpkg", driver="GPKG")
joined.drop(columns="geometry").to_csv(out / "sites.csv", index=False)
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=float, nargs="+", default=[1e6], metavar="N")
    parser.add_argument("--runs", type=int, default=3, help="interleaved runs of each (median)")
    parser.add_argument("--chunk-rows", type=int, default=200_000, metavar="N")
    args = parser.parse_args()
    compile_bytecode(ROOT / "estates")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for n in map(int, args.sizes):
            sites = Path(tmp) / f"synthetic_{n}.csv"
            write_synthetic_sites(sites, n)
            cases = {
                "geopandas script (read_csv, sjoin, parquet + gpkg + csv)": [
                    sys.executable,
                    "-c",
                    ANCHOR,
                    str(sites),
                    str(BOROUGHS),
                    str(Path(tmp) / f"anchor_{n}"),
                ],
                f"estates build --chunk-rows {args.chunk_rows:,} --force": [
                    sys.executable,
                    "-m",
                    "estates.cli",
                    "--quiet",
                    "build",
                    "--force",
                    "--chunk-rows",
                    str(args.chunk_rows),
                    "--sites",
                    str(sites),
                    "--out",
                    str(Path(tmp) / f"estates_{n}"),
                ],
            }
            measured: dict[str, list[tuple[float, float, float]]] = {name: [] for name in cases}
            for _ in range(args.runs):
                for name, cmd in cases.items():
                    measured[name].append(_measure(cmd))
                    print(f"{n:,} {name}: {measured[name][-1]}", file=sys.stderr, flush=True)
            first = next(iter(measured.values()))
            anchor_wall = statistics.median(t for t, _, _ in first)
            anchor_cpu = statistics.median(c for _, c, _ in first)
            for name, runs in measured.items():
                wall = statistics.median(t for t, _, _ in runs)
                cpu = statistics.median(c for _, c, _ in runs)
                peak = max(p for _, _, p in runs)
                rows.append((n, name, wall, cpu, peak, wall / anchor_wall, cpu / anchor_cpu))
    print(
        f"Machine: {_cpu_model()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"load average at end {' '.join(f'{x:.2f}' for x in os.getloadavg())}; "
        f"median of {args.runs} interleaved runs, each in a fresh process.\n"
    )
    print(
        "| sites | command | median wall (s) | median CPU (s) | peak RSS (MiB) "
        "| × anchor (wall) | × anchor (CPU) |"
    )
    print("| ---: | --- | ---: | ---: | ---: | ---: | ---: |")
    for n, name, wall, cpu, peak, ratio, cpu_ratio in rows:
        print(
            f"| {n:,} | {name} | {wall:.1f} | {cpu:.1f} | {peak:,.0f} | {ratio:.2f} "
            f"| {cpu_ratio:.2f} |"
        )


if __name__ == "__main__":
    main()
