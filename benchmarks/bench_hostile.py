"""Peak memory and time of ``estates build`` on large hostile inputs, beside a plain build.

Generates, in a temporary folder: a junk ``--pipeline`` file of 3 MB and of
50 MB (rows whose site codes are unknown, stages invalid, receipts and dates
not readable), a 50 MB ``--sites`` file whose header is wrong, a ``--sites``
file with one 200 MB quoted field, a 50 MB junk ``--locations`` file (no
source, coordinates not numbers) and 50 MB ``--groupings`` and
``--land-values`` files. Each runs
``/usr/bin/time -v python -m estates.cli --quiet build --force --out <tmp>
<option> <file>`` in a fresh process with a time limit, after the anchor: the
same command on the bundled data alone. The table gives the exit code, wall
time, peak resident memory (``Maximum resident set size``) and the first line
of the message.

Run from the repository root: ``python benchmarks/bench_hostile.py``
(``--only`` picks cases by a word of their label, e.g. ``--only pipeline``).
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MB = 1_000_000
TIME = "/usr/bin/time"


def _write_rows(path: Path, header: str, row: Callable[[int], str], size: int) -> int:
    """Write ``header`` then rows ``row(i)`` until the file reaches ``size`` bytes."""
    n = 0
    with path.open("w", encoding="utf-8") as f:
        f.write(header + "\n")
        while f.tell() < size:
            f.write("".join(row(n + k) + "\n" for k in range(1000)))
            n += 1000
    return n


def _junk_pipeline(path: Path, size: int) -> int:
    return _write_rows(
        path,
        "site_code,stage,receipts_gbp,date",
        lambda i: f"JUNK{i:09d},demolished,lots,someday",
        size,
    )


def _junk_locations(path: Path, size: int) -> int:
    return _write_rows(
        path, "site_code,latitude,longitude,source", lambda i: f"JUNK{i:09d},north,west,", size
    )


def _junk_groupings(path: Path, size: int) -> int:
    return _write_rows(
        path,
        "group_type,group_id,group_name,borough_code,source",
        lambda i: f"pilot,g{i},Group {i},E09000001,junk",
        size,
    )


def _junk_land_values(path: Path, size: int) -> int:
    return _write_rows(
        path, "borough_code,value_gbp_per_ha,source", lambda i: f"E09000001,{i},junk", size
    )


def _wrong_header_sites(path: Path, size: int) -> int:
    return _write_rows(
        path, "code,name,lat,lon", lambda _i: "RAL01,Royal Free Hospital,51.553,-0.165", size
    )


def _long_field_sites(path: Path, size: int) -> int:
    with path.open("w", encoding="utf-8") as f:
        f.write('site_code,site_name,latitude,longitude\nA1,"')
        block = "x" * MB
        for _ in range(size // MB):
            f.write(block)
        f.write('",51.5,-0.1\n')
    return 1


CASES: list[tuple[str, str | None, Callable[[Path, int], int] | None, int]] = [
    ("anchor: the bundled data alone", None, None, 0),
    ("junk --pipeline, 3 MB", "--pipeline", _junk_pipeline, 3 * MB),
    ("junk --pipeline, 50 MB", "--pipeline", _junk_pipeline, 50 * MB),
    ("wrong-header --sites, 50 MB", "--sites", _wrong_header_sites, 50 * MB),
    ("one 200 MB quoted field, --sites", "--sites", _long_field_sites, 200 * MB),
    ("junk --locations, 50 MB", "--locations", _junk_locations, 50 * MB),
    ("junk --groupings, 50 MB", "--groupings", _junk_groupings, 50 * MB),
    ("junk --land-values, 50 MB", "--land-values", _junk_land_values, 50 * MB),
]


def _run(args: list[str], out: Path, timeout: float) -> tuple[str, str, str, str]:
    """Run one build under ``/usr/bin/time -v``: exit code, seconds, peak MiB, message."""
    paths = [str(ROOT), os.environ.get("PYTHONPATH")]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, paths))}
    build = [sys.executable, "-m", "estates.cli", "--quiet", "build", "--force", "--out", str(out)]
    try:
        done = subprocess.run(
            [TIME, "-v", *build, *args],
            capture_output=True,
            text=True,
            timeout=timeout,
            env=env,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return "timeout", f"> {timeout:.0f}", "-", ""
    finally:
        shutil.rmtree(out, ignore_errors=True)
    report = done.stderr
    peak = re.search(r"Maximum resident set size \(kbytes\): (\d+)", report)
    wall = re.search(r"Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): ([\d:.]+)", report)
    seconds = "-"
    if wall:
        parts = [float(p) for p in wall.group(1).split(":")]
        seconds = f"{sum(p * 60**k for k, p in enumerate(reversed(parts))):.1f}"
    message = next(
        (line for line in report.splitlines() if line.startswith("estates: error: ")), ""
    )
    mib = f"{int(peak.group(1)) / 1024:,.0f}" if peak else "-"
    return str(done.returncode), seconds, mib, message.removeprefix("estates: error: ")[:110]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--timeout", type=float, default=600.0)
    parser.add_argument(
        "--only", action="append", default=[], help="run cases whose label has this word"
    )
    args = parser.parse_args()
    if not Path(TIME).is_file():
        sys.exit(f"{TIME} is needed (GNU time, e.g. the Debian package 'time')")
    load = os.getloadavg()[0]
    print(f"Python {sys.version.split()[0]}, {os.cpu_count()} CPUs, load average {load:.1f}\n")
    print("| input | rows | exit | seconds | peak RSS MiB | message |")
    print("|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        for label, option, make, size in CASES:
            if args.only and not any(word in label for word in args.only) and make is not None:
                continue
            extra: list[str] = []
            rows = "-"
            if option is not None and make is not None:
                path = Path(tmp) / "input.csv"
                rows = f"{make(path, size):,}"
                extra = [option, str(path)]
            code, seconds, peak, message = _run(extra, Path(tmp) / "out", args.timeout)
            print(f"| {label} | {rows} | {code} | {seconds} | {peak} | {message} |", flush=True)
            if extra:
                Path(extra[1]).unlink()


if __name__ == "__main__":
    main()
