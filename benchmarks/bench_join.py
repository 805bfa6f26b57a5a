"""Benchmark the borough join against geopandas.sjoin, side by side.

Seeded uniform points over Greater London's bounding box (``LONDON_BOUNDS_WGS84``
in ``estates/crs.py``: the boroughs' extent plus about 5 km; roughly 60% of the
points fall in a borough), given in WGS84 as sites are. For each size:

- ``estates``: ``join_boroughs(sites, boroughs)`` as a user calls it, with
  its default threads (one per core the process may use, at most four);
  ``estates t=1`` / ``estates t=2``: ``join_boroughs(sites, boroughs, threads=...)``.
  Each also finds the nearest borough within 250 m, and its distance, for
  every point in none;
- ``sjoin``: ``geopandas.sjoin(sites.to_crs(27700), boroughs.to_crs(27700),
  predicate="within")``, the oracle, reprojection included; it answers only
  "which polygon", not the nearest borough or any distance;
- ``sjoin+nearest``: the same answer as estates from geopandas: ``sjoin`` as
  above, then ``sjoin_nearest`` (with its distance) for the points in no
  polygon. Slow, so measured up to ``--full-oracle-max`` points (1e6);
- ``reproject``: what any exact join pays, ``shapely.get_coordinates`` plus one
  ``pyproj.Transformer.transform`` call on the raw arrays;
- ``floor``: the least a cell-table join can cost, ``shapely.get_coordinates``
  plus one gather from the join's table of cells in the sites' CRS (built
  before timing): no exact test, no output columns.

The join keeps its cell tables (in the sites' CRS, and the EPSG:27700 grid for
the rows left near a boundary or on the river) on disk between processes
(``ESTATES_CACHE_DIR``). ``--cache warm`` (the default) shares one folder,
filled before any timing by one join of 1e6 points, as on an analyst's
machine after the first join; ``--cache cold`` gives every worker process an
empty cache folder, so its first run builds the tables.

Each (method, size) runs in a fresh interpreter: one warm-up on 1,000 points,
then ``--runs`` timed runs (median of wall-clock and of CPU seconds, the
process's CPU time over all its threads, reported: on a shared, loaded
machine the CPU time moves less with other jobs), each with its own peak: the
resident high-water mark during the run minus the resident memory just before
it (the points themselves are already in memory). The first timed run is
shown apart, wall-clock and CPU, with its ratios to sjoin's first run: from
1e5 points it includes building (cold cache) or mapping (warm) the join's cell
tables, which later calls in the process reuse. Its minor page faults (memory
the process takes from the system for the first time, or file pages it maps)
are counted too: unlike the times, other jobs on the machine do not move them.
``--processes K`` repeats every measurement in K fresh interpreters, in K
rounds that each run every method once (interleaved, so load on a shared
machine falls on all methods alike); the first-run columns are then the median
of their first runs, the median columns that of all runs. Run from the repository root::

    python benchmarks/bench_join.py   # 1e6 and 1e7: estates (default, t=1, t=2), sjoin, floor
    python benchmarks/bench_join.py --sizes 1e4 1e5 --methods "estates t=1" sjoin
    python benchmarks/bench_join.py --sizes 1e6 --methods "estates t=1" sjoin --processes 7
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import (
    MIB,
    markdown_table,
    median,
    peak_bytes,
    print_machine,
    reset_peak,
    rss_bytes,
    run_worker,
)

METHODS = ("estates", "estates t=1", "estates t=2", "sjoin", "sjoin+nearest", "reproject", "floor")
# Measured unless --methods says otherwise: the join, its anchor and its floor.
DEFAULT_METHODS = ("estates", "estates t=1", "estates t=2", "sjoin", "floor")
# Points joined once, before any timing, to fill a warm cache with every table.
FILL_POINTS = 1_000_000
SEED = 20240601


def make_sites(n: int, seed: int = SEED, crs: str = "EPSG:4326"):
    """Seeded uniform points over Greater London's WGS84 bbox, in ``crs``."""
    import geopandas as gpd
    import numpy as np

    from estates.crs import LONDON_BOUNDS_WGS84, WGS84

    lon0, lat0, lon1, lat1 = LONDON_BOUNDS_WGS84
    rng = np.random.default_rng(seed)
    lon = rng.uniform(lon0, lon1, n)
    lat = rng.uniform(lat0, lat1, n)
    sites = gpd.GeoDataFrame(geometry=gpd.points_from_xy(lon, lat), crs=WGS84)
    return sites if crs == WGS84 else sites.to_crs(crs)


def load_boroughs():
    import geopandas as gpd

    from estates.io.bundled import boundaries_path

    boroughs = gpd.read_file(boundaries_path())
    return boroughs.rename(columns={"code": "borough_code", "name": "borough_name"})


def method_function(method: str, boroughs, crs: str = "EPSG:4326"):
    import geopandas as gpd
    import pyproj
    import shapely

    from estates.crs import BNG
    from estates.stages.join import join_boroughs

    if method == "estates":
        return lambda sites: join_boroughs(sites, boroughs)
    if method.startswith("estates"):
        threads = int(method.rsplit("=", 1)[1])
        return lambda sites: join_boroughs(sites, boroughs, threads=threads)
    if method == "sjoin":
        return lambda sites: gpd.sjoin(sites.to_crs(BNG), boroughs.to_crs(BNG), predicate="within")
    if method == "sjoin+nearest":

        def sjoin_and_nearest(sites):
            points, polygons = sites.to_crs(BNG), boroughs.to_crs(BNG)
            within = gpd.sjoin(points, polygons, predicate="within")
            rest = points.drop(index=within.index.unique())
            near = gpd.sjoin_nearest(rest, polygons, distance_col="borough_distance_m")
            return within, near

        return sjoin_and_nearest
    if method == "reproject":

        def reproject(sites):
            transformer = pyproj.Transformer.from_crs(sites.crs, BNG, always_xy=True)
            xy = shapely.get_coordinates(sites.geometry.array)
            return transformer.transform(xy[:, 0], xy[:, 1])

        return reproject
    if method == "floor":
        from estates.stages.join._index import _index_boroughs
        from estates.stages.join._points import _bng_transformer
        from estates.stages.join._source_cells import _source_grid

        index = _index_boroughs(boroughs)
        src = pyproj.CRS.from_user_input(crs)
        table = _source_grid(src, _bng_transformer(src), index, 250.0, 10**9)
        if table is None:
            msg = f"no cell table for points in {crs}: the floor needs a geographic CRS"
            raise ValueError(msg)

        def floor(sites):
            xy = shapely.get_coordinates(sites.geometry.array)
            return table.lookup(xy[:, 0], xy[:, 1])

        return floor
    msg = f"unknown method {method!r}"
    raise ValueError(msg)


def worker(method: str, n: int, runs: int, crs: str) -> None:
    """Time one method at one size in this (fresh) process; print JSON."""
    import logging

    logging.getLogger("estates").setLevel(logging.WARNING)
    boroughs = load_boroughs()
    run = method_function(method, boroughs, crs)
    run(make_sites(1_000, seed=1, crs=crs))  # warm-up: imports, PROJ database, caches
    sites = make_sites(n, crs=crs)
    seconds, cpu, extra, faults = [], [], [], []
    for _ in range(runs):
        gc.collect()
        before = rss_bytes()
        reset_peak()
        start_faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
        start, start_cpu = time.perf_counter(), time.process_time()
        result = run(sites)
        seconds.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
        faults.append(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - start_faults)
        extra.append(peak_bytes() - before)
        del result
    print(
        json.dumps(
            {
                "seconds": seconds,
                "cpu_seconds": cpu,
                "peak_extra_bytes": extra,
                "first_faults": faults[0],
            }
        )
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", nargs="+", default=["1e6", "1e7"])
    parser.add_argument("--runs", type=int, default=3, help="timed runs per measurement")
    parser.add_argument(
        "--sjoin-runs-1e7",
        type=int,
        default=1,
        help="timed sjoin runs at 1e7 points and above (about 30 s and 5 GiB each)",
    )
    parser.add_argument(
        "--full-oracle-max",
        type=float,
        default=1e6,
        help="largest size at which to time sjoin+nearest (default 1e6)",
    )
    parser.add_argument(
        "--processes",
        type=int,
        default=1,
        help="fresh interpreters per measurement; the first-run columns are their median",
    )
    parser.add_argument("--methods", nargs="+", default=list(DEFAULT_METHODS), choices=METHODS)
    parser.add_argument(
        "--crs",
        default="EPSG:4326",
        help="CRS the points are given in (default EPSG:4326; EPSG:27700 skips reprojection)",
    )
    parser.add_argument(
        "--cache",
        choices=("cold", "warm"),
        default="warm",
        help="warm: one cache folder, filled before timing (default); "
        "cold: each worker process starts with an empty join cache",
    )
    parser.add_argument(
        "--worker", nargs=4, metavar=("METHOD", "N", "RUNS", "CRS"), help=argparse.SUPPRESS
    )
    args = parser.parse_args()
    if args.worker:
        method, n, runs, crs = args.worker
        worker(method, int(n), int(runs), crs)
        return

    sizes = [int(float(s)) for s in args.sizes]
    cache_root = Path(tempfile.mkdtemp(prefix="estates-bench-cache-"))
    os.environ["ESTATES_CACHE_DIR"] = str(cache_root / "shared")
    if args.cache == "warm":  # fill the shared cache once, outside any timing
        run_worker(Path(__file__), ["estates t=1", str(FILL_POINTS), "1", args.crs])
    print(
        f"## Borough join: estates.join_boroughs vs geopandas.sjoin, points in {args.crs}, "
        f"{args.cache} cache\n"
    )
    print_machine()
    print()
    rows = []
    for n in sizes:
        methods = [m for m in args.methods if m != "sjoin+nearest" or n <= args.full_oracle_max]
        results: dict[str, dict[str, list[float]]] = {
            method: {
                "seconds": [],
                "first": [],
                "cpu_seconds": [],
                "first_cpu": [],
                "peak_extra_bytes": [],
                "first_faults": [],
            }
            for method in methods
        }
        # Interleaved: each round runs every method once, in its own fresh
        # process, so a spell of load on the shared machine falls on all of
        # them alike rather than on whichever method was running.
        for _ in range(args.processes):
            for method in methods:
                runs = args.sjoin_runs_1e7 if method == "sjoin" and n >= 10_000_000 else args.runs
                if args.cache == "cold":
                    os.environ["ESTATES_CACHE_DIR"] = tempfile.mkdtemp(dir=cache_root)
                one = json.loads(run_worker(Path(__file__), [method, str(n), str(runs), args.crs]))
                out = results[method]
                out["seconds"] += one["seconds"]
                out["cpu_seconds"] += one["cpu_seconds"]
                out["first"].append(one["seconds"][0])
                out["first_cpu"].append(one["cpu_seconds"][0])
                out["peak_extra_bytes"] += one["peak_extra_bytes"]
                out["first_faults"].append(one["first_faults"])
                print(f"  measured {method} at {n:.0e}: {one['seconds']}", file=sys.stderr)
        base = median(results["sjoin"]["seconds"]) if "sjoin" in results else None
        first_base = median(results["sjoin"]["first"]) if "sjoin" in results else None
        same = results.get("sjoin+nearest")
        same_base = median(same["seconds"]) if same else None
        cpu_base = median(results["sjoin"]["cpu_seconds"]) if "sjoin" in results else None
        first_cpu_base = median(results["sjoin"]["first_cpu"]) if "sjoin" in results else None
        for method in methods:
            secs = results[method]["seconds"]
            t = median(secs)
            cpu = median(results[method]["cpu_seconds"])
            first_cpu = median(results[method]["first_cpu"])
            rows.append(
                [
                    f"{n:,}",
                    method,
                    f"{t:.3f}",
                    str(len(secs)),
                    f"{n / t / 1e6:.2f}",
                    f"{base / t:.1f}x" if base else "-",
                    f"{median(results[method]['first']):.3f}",
                    f"{first_base / median(results[method]['first']):.1f}x" if first_base else "-",
                    f"{same_base / t:.1f}x" if same_base else "-",
                    f"{cpu:.3f}",
                    f"{cpu_base / cpu:.1f}x" if cpu_base else "-",
                    f"{first_cpu:.3f}",
                    f"{first_cpu_base / first_cpu:.1f}x" if first_cpu_base else "-",
                    f"{max(results[method]['peak_extra_bytes']) / MIB:,.0f}",
                    f"{median(results[method]['first_faults']):,.0f}",
                ]
            )
    header = [
        "points",
        "method",
        "median s",
        "runs",
        "M points/s",
        "speed-up vs sjoin",
        "first run s",
        "first-run speed-up",
        "vs sjoin+nearest",
        "median CPU s",
        "CPU speed-up",
        "first run CPU s",
        "first-run CPU speed-up",
        "peak extra MiB",
        "first-run page faults",
    ]
    print(markdown_table(header, rows))
    shutil.rmtree(cache_root, ignore_errors=True)


if __name__ == "__main__":
    main()
