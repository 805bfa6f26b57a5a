"""The six PNGs of a bundled build, drawn together against one `render_static_map` call each.

A build draws London's picture and one per devolution pilot. This script
takes their inputs from one build of the bundled data (the sites, boroughs,
outlines, titles and lines ``render_maps`` passes to ``render_static_maps``)
and times drawing and writing all six, each measurement in a fresh process:
the process loads the inputs, draws one picture to warm up (imports, the PROJ
transformer, matplotlib's font cache), then times the six; ``--cold`` times
them as the build's picture process draws them: after its imports and its own
warm-up (where the checkout has one), with no picture drawn before. CPU time
(``time.process_time``, user + system) is the steadier figure on a shared
machine; methods are interleaved round by round and the table gives medians.

    python benchmarks/bench_pictures.py --runs 5
    python benchmarks/bench_pictures.py --runs 5 --baseline ../old   # beside another checkout
    python benchmarks/bench_pictures.py --runs 3 --baseline ../old --sites big.csv  # your file

Methods:

- ``render_static_maps``: the six together, as a build draws them.
- ``render_static_map x 6``: one call per picture, this checkout.
- ``baseline (DIR): render_static_map x 6``: one call per picture with the
  estates package of the checkout in DIR (e.g. made by ``git worktree add DIR
  main``), which is how builds drew them before ``render_static_maps``.
- ``baseline (DIR): render_static_maps``: the six together with that package.

``--sites FILE`` takes the pictures' inputs from a build of FILE (in parts of
200,000 rows) instead of the bundled data: a large file shows what drawing
many sites costs.

The ratio column compares each method with the first baseline method given
(``--baseline``), else with ``render_static_map x 6``. The script also reports
whether the six files are byte for byte the same whichever way this checkout
draws them, and their total size.
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

ROOT = Path(__file__).resolve().parent.parent

#: Run in a build: record what render_maps asks render_static_maps to draw, as plain data.
CAPTURE = """
import pickle, sys
from pathlib import Path
import estates.render.static_map as static_map
from estates.builder.pipeline import build

out, record = Path(sys.argv[1]), Path(sys.argv[2])
sites = sys.argv[3] if len(sys.argv) > 3 else None
draw = static_map.render_static_maps

def capture(pictures, boroughs, **shared):
    pictures = list(pictures)
    record.write_bytes(pickle.dumps({
        "boroughs": boroughs,
        "shared": shared,
        "pictures": [
            {"sites": p.sites, "name": p.out_path.name, "title": p.title, "lines": tuple(p.lines),
             "focus_codes": tuple(p.focus_codes), "focus_pilot": p.focus_pilot}
            for p in pictures
        ],
    }))
    return draw(pictures, boroughs, **shared)

static_map.render_static_maps = capture
# Drawn in this process, where the capture is, not in the build's picture process.
import estates.builder.picture_worker as picture_worker
picture_worker.second_process_helps = lambda: False
build(sites, out=out, chunk_rows=200_000 if sites else None)
"""

#: Run per measurement: warm up on one picture (or, "cold", as the picture process does), then
#: time the six; print CPU and wall seconds.
WORKER = """
import pickle, sys, time
from pathlib import Path
from estates.render import static_map

method, record, out, cold = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3]), sys.argv[4] == "cold"
data = pickle.loads(record.read_bytes())
boroughs, shared, pictures = data["boroughs"], data["shared"], data["pictures"]

def one(p, folder):
    static_map.render_static_map(
        p["sites"], boroughs, folder / p["name"], title=p["title"], lines=p["lines"],
        focus_codes=p["focus_codes"], focus_pilot=p["focus_pilot"], **shared)

def each(folder):
    for p in pictures:
        one(p, folder)

def together(folder):
    static_map.render_static_maps(
        [static_map.MapPicture(p["sites"], folder / p["name"], title=p["title"], lines=p["lines"],
                               focus_codes=p["focus_codes"], focus_pilot=p["focus_pilot"])
         for p in pictures], boroughs, **shared)

out.mkdir(parents=True, exist_ok=True)
if cold:  # as the build's picture process: its imports, then its warm-up if it has one
    import geopandas
    from estates.render import picture_canvas, site_markers
    from estates.builder import picture_worker
    getattr(picture_worker, "_warm_up", lambda: None)()
else:
    warm = out / "warm-up"
    warm.mkdir(exist_ok=True)
    one(pictures[-1], warm)
draw = together if method == "together" else each
cpu, wall = time.process_time(), time.perf_counter()
draw(out)
print(time.process_time() - cpu, time.perf_counter() - wall)
"""


def _run(cmd: list[str]) -> tuple[float, float]:
    """Run one measurement; return its CPU and wall seconds."""
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout.split()
    return float(out[-2]), float(out[-1])


def _python(checkout: Path) -> list[str]:
    # -P keeps the current folder off the path, so the checkout named by PYTHONPATH is run.
    return ["env", f"PYTHONPATH={checkout.resolve()}", sys.executable, "-P"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument(
        "--baseline",
        type=Path,
        metavar="DIR",
        help="also draw the six, one render_static_map call each and together, with the "
        "estates package of the checkout in DIR, in the same rounds",
    )
    parser.add_argument(
        "--sites",
        type=Path,
        metavar="FILE",
        help="draw the pictures of a build of this site file (default: the bundled data)",
    )
    parser.add_argument(
        "--cold",
        action="store_true",
        help="time the six as the build's picture process draws them: after its imports and "
        "its warm-up, with no picture drawn before",
    )
    args = parser.parse_args()
    start_load = os.getloadavg()
    with tempfile.TemporaryDirectory() as tmp:
        record = Path(tmp) / "pictures.pickle"
        subprocess.run(
            [
                *_python(ROOT),
                "-c",
                CAPTURE,
                str(Path(tmp) / "build"),
                str(record),
                *([str(args.sites.resolve())] if args.sites else []),
            ],
            check=True,
            capture_output=True,
        )
        here = [*_python(ROOT), "-c", WORKER]
        cases: dict[str, tuple[list[str], str]] = {}
        if args.baseline:
            cases[f"baseline ({args.baseline.name}): `render_static_map` x 6"] = (
                [*_python(args.baseline), "-c", WORKER],
                "each",
            )
            cases[f"baseline ({args.baseline.name}): `render_static_maps`"] = (
                [*_python(args.baseline), "-c", WORKER],
                "together",
            )
        cases["`render_static_map` x 6"] = (here, "each")
        cases["`render_static_maps` (the six together)"] = (here, "together")
        folders = {name: Path(tmp) / f"case{i}" for i, name in enumerate(cases)}
        runs: dict[str, list[tuple[float, float]]] = {name: [] for name in cases}
        for _ in range(args.runs):  # interleaved: each round runs every method once
            for name, (cmd, method) in cases.items():
                warmth = "cold" if args.cold else "warm"
                runs[name].append(_run([*cmd, method, str(record), str(folders[name]), warmth]))
        names = sorted(p.name for p in folders[name].glob("*.png"))
        each_dir = folders["`render_static_map` x 6"]
        together_dir = folders["`render_static_maps` (the six together)"]
        same = all((each_dir / n).read_bytes() == (together_dir / n).read_bytes() for n in names)
        sizes = {
            name: sum((folder / n).stat().st_size for n in names) / 1024
            for name, folder in folders.items()
        }
    end_load = os.getloadavg()
    print(
        f"Machine: {_cpu_model()}, {os.cpu_count()} cores, Python {platform.python_version()}; "
        f"median of {args.runs} runs, each in a fresh process"
        f"{' (cold: as the picture process)' if args.cold else ''}; {len(names)} pictures "
        f"({', '.join(names)}) of {args.sites.name if args.sites else 'the bundled data'}.\n"
    )
    print(
        f"Load average: {start_load[0]:.2f} {start_load[1]:.2f} {start_load[2]:.2f} at the start, "
        f"{end_load[0]:.2f} {end_load[1]:.2f} {end_load[2]:.2f} at the end.\n"
    )
    reference = next(iter(runs))
    ref_cpu = statistics.median(c for c, _ in runs[reference])
    ref_wall = statistics.median(w for _, w in runs[reference])
    print(
        "| method | median CPU (s) | fastest CPU (s) | × reference (CPU) "
        "| median wall (s) | × reference (wall) | six files (KiB) |"
    )
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    for name, measured in runs.items():
        cpu = [c for c, _ in measured]
        wall = [w for _, w in measured]
        print(
            f"| {name} | {statistics.median(cpu):.2f} | {min(cpu):.2f} "
            f"| {statistics.median(cpu) / ref_cpu:.2f} | {statistics.median(wall):.2f} "
            f"| {statistics.median(wall) / ref_wall:.2f} | {sizes[name]:,.0f} |"
        )
    print(
        f"\nReference: {reference}. This checkout's six files drawn together and one by one "
        f"are {'byte for byte the same' if same else 'NOT the same'}."
    )


def _cpu_model() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown CPU"


if __name__ == "__main__":
    main()
