"""`estates build` on the bundled data, side by side with the bare import of its libraries.

Each measurement runs in a fresh process, so the figures include interpreter
start-up and imports, as a scheduled job sees them. Peak memory is the child's
maximum resident set size (``ru_maxrss``). The runs are interleaved (anchor,
build, no-op, anchor, build, no-op, ...), so a shared machine's changing load
falls on every command alike; the table gives medians and each command's
ratio to the anchor, ``import geopandas, folium, pyogrio, pyproj``: what any
script that draws the same maps must import before it does anything.

    python benchmarks/bench_build.py            # 5 runs each, prints a Markdown table
    python benchmarks/bench_build.py --runs 3
    python benchmarks/bench_build.py --synthetic 1e5 1e6 --runs 3   # also at scale
    python benchmarks/bench_build.py --synthetic 1e7 --chunk-rows 200000 --chunked-only --runs 1
    python benchmarks/bench_build.py --baseline ../old   # also the build of another checkout

``--synthetic N`` adds ``estates build --sites`` on a seeded CSV of N
synthetic sites (uniform over London's bounding box, so about 40% fall
outside London, as in a national list; land owned 0-5 ha, up to 30% unused).
They are benchmark data only: their figures say how long a build takes and
how much memory it needs, nothing about the NHS estate.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from _common import ROOT, compile_bytecode

#: The anchor: the libraries any script writing the same kinds of output imports first.
ANCHOR = "import geopandas, folium, pyogrio, pyproj"
#: Every library a build of the bundled data used to import (before 2026-12-06).
IMPORTS = (
    "import geopandas, shapely, pyproj, pyogrio, pyarrow, pandas, numpy, folium, branca, "
    "mapclassify, matplotlib, click, rich"
)


def _measure(cmd: list[str]) -> tuple[float, float, float]:
    """Run ``cmd`` in a wrapper; return wall time, its CPU time (s) and peak RSS (MiB).

    CPU time (user + system) counts only the command's own processes, so it
    varies less than wall time on a machine whose other jobs take the cores
    away. A build may run a second process beside itself (the pictures, the
    GeoPackage layer of a build in parts): the peak is the largest sum of
    the resident memory of the command's processes, sampled every 20 ms, or
    the largest process's own peak (``ru_maxrss``), whichever is larger.
    """
    out = subprocess.run(
        [sys.executable, "-c", _WRAPPER, *cmd], capture_output=True, text=True, check=True
    ).stdout.split()
    if out[3] != "0":
        msg = f"{cmd} exited {out[3]}"
        raise RuntimeError(msg)
    return float(out[0]), float(out[1]), float(out[2])


#: Runs a command; prints its wall time, CPU time, peak RSS (MiB) and exit code.
_WRAPPER = """
import os, resource, subprocess, sys, time

def tree(pid):
    found, todo = [], [pid]
    while todo:
        p = todo.pop()
        found.append(p)
        try:
            for task in os.listdir(f"/proc/{p}/task"):
                with open(f"/proc/{p}/task/{task}/children") as f:
                    todo += [int(c) for c in f.read().split()]
        except OSError:
            pass
    return found

def resident_kib(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0

t = time.perf_counter()
process = subprocess.Popen(sys.argv[1:], stdout=subprocess.DEVNULL)
summed = 0
while process.poll() is None:
    summed = max(summed, sum(resident_kib(p) for p in tree(process.pid)))
    time.sleep(0.02)
dt = time.perf_counter() - t
use = resource.getrusage(resource.RUSAGE_CHILDREN)
print(dt, use.ru_utime + use.ru_stime, max(use.ru_maxrss, summed) / 1024, process.returncode)
"""


def write_synthetic_sites(path: Path, n: int) -> None:
    """Write ``n`` seeded synthetic site records (see the module docstring) to ``path``."""
    import numpy as np
    import pandas as pd

    from estates.crs import LONDON_BOUNDS_WGS84

    lon0, lat0, lon1, lat1 = LONDON_BOUNDS_WGS84
    rng = np.random.default_rng(20_261_125 + n)
    owned = rng.uniform(0, 5, n).round(2)
    pd.DataFrame(
        {
            "site_code": [f"S{i:08d}" for i in range(n)],
            "site_name": [f"Synthetic site {i}" for i in range(n)],
            "trust_code": "RXX",
            "latitude": rng.uniform(lat0, lat1, n).round(6),
            "longitude": rng.uniform(lon0, lon1, n).round(6),
            "land_owned_ha": owned,
            "land_unused_ha": (owned * rng.uniform(0, 0.3, n)).round(2),
        }
    ).to_csv(path, index=False)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument(
        "--synthetic",
        type=float,
        nargs="*",
        default=[],
        metavar="N",
        help="also build on N synthetic sites (e.g. 1e5 1e6)",
    )
    parser.add_argument(
        "--chunk-rows",
        type=int,
        metavar="N",
        help="also build each synthetic file chunk by chunk (estates build --chunk-rows N)",
    )
    parser.add_argument(
        "--chunked-only",
        action="store_true",
        help="with --chunk-rows, skip the in-memory build of the synthetic files (at 1e7 sites "
        "it would need tens of GiB)",
    )
    parser.add_argument(
        "--baseline",
        type=Path,
        metavar="DIR",
        help="also build with the estates package of the checkout in DIR (e.g. made by "
        "`git worktree add DIR main`), in the same rounds, to compare before and after",
    )
    args = parser.parse_args()
    if args.chunked_only and not args.chunk_rows:
        parser.error("--chunked-only needs --chunk-rows N")
    compile_bytecode(ROOT / "estates")
    if args.baseline:
        compile_bytecode(args.baseline.resolve() / "estates")
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "maps"
        estates = [sys.executable, "-m", "estates.cli", "--quiet", "build"]
        cases = {
            f"anchor: `{ANCHOR}`": [sys.executable, "-c", ANCHOR],
            "bare import of the libraries (before 2026-12-06)": [sys.executable, "-c", IMPORTS],
            "estates build (bundled data, --force)": [*estates, "--force", "--out", str(out)],
            "estates build, unchanged inputs (no-op)": [*estates, "--out", str(out)],
        }
        if args.baseline:
            # `env` replaces itself with Python, so the child measured is the build itself;
            # -P keeps the current folder (this checkout) off the path, so DIR's package is run.
            baseline = [
                "env",
                f"PYTHONPATH={args.baseline.resolve()}",
                sys.executable,
                "-P",
                *estates[1:],
                "--force",
            ]
            cases[f"baseline ({args.baseline.name}): estates build (bundled data, --force)"] = [
                *baseline,
                "--out",
                str(Path(tmp) / "baseline"),
            ]
        for n in map(int, args.synthetic):
            sites = Path(tmp) / f"synthetic_{n}.csv"
            write_synthetic_sites(sites, n)
            if not args.chunked_only:
                cases[f"estates build --sites ({n:,} synthetic sites, --force)"] = [
                    *estates,
                    "--force",
                    "--sites",
                    str(sites),
                    "--out",
                    str(Path(tmp) / f"synthetic_{n}"),
                ]
            if args.chunk_rows:
                cases[
                    f"estates build --sites ({n:,} synthetic sites, --force, "
                    f"--chunk-rows {args.chunk_rows:,})"
                ] = [
                    *estates,
                    "--force",
                    "--chunk-rows",
                    str(args.chunk_rows),
                    "--sites",
                    str(sites),
                    "--out",
                    str(Path(tmp) / f"synthetic_{n}_chunked"),
                ]
        _measure(cases["estates build (bundled data, --force)"])  # warm the file cache
        for name, cmd in cases.items():
            if name.startswith("baseline"):
                _measure(cmd)  # and the other checkout's
        runs: dict[str, list[tuple[float, float, float]]] = {name: [] for name in cases}
        for _ in range(args.runs):  # interleaved: each round runs every command once
            for name, cmd in cases.items():
                runs[name].append(_measure(cmd))
        rows = []
        for name, measured in runs.items():
            times, cpu, peaks = zip(*measured, strict=True)
            rows.append(
                (name, statistics.median(times), min(times), statistics.median(cpu), max(peaks))
            )
    cpu = _cpu_model()
    print(
        f"Machine: {cpu}, {os.cpu_count()} cores, Python {platform.python_version()}; "
        f"median of {args.runs} runs, each in a fresh process.\n"
    )
    load = os.getloadavg()
    print(f"Load average at the end: {load[0]:.1f}, {load[1]:.1f}, {load[2]:.1f}.\n")
    anchor, anchor_cpu = rows[0][1], rows[0][3]
    print(
        "| command | median wall (s) | fastest (s) | × anchor (wall) "
        "| median CPU (s) | × anchor (CPU) | peak RSS (MiB) |"
    )
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    for name, med, low, cpu_s, peak in rows:
        print(
            f"| {name} | {med:.2f} | {low:.2f} | {med / anchor:.2f} "
            f"| {cpu_s:.2f} | {cpu_s / anchor_cpu:.2f} | {peak:.0f} |"
        )


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


if __name__ == "__main__":
    main()
