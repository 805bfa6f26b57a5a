"""Peak memory and time of ``estates validate`` on large hostile inputs.

Generates, in a temporary folder: a junk ``--pipeline`` file of 3 MB and of
50 MB (rows whose site codes are unknown and stages invalid), a 50 MB
``--sites`` file whose header is wrong, and a ``--sites`` file with one
200 MB quoted field. Each runs ``estates validate`` in a fresh process with
a time limit; the table gives the exit code, wall time, peak resident
memory of the child (``ru_maxrss``) and the first line of its message.

Run from the repository root: ``python benchmarks/bench_hostile.py``.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MB = 1_000_000


def _write_junk_pipeline(path: Path, size: int) -> None:
    with path.open("w", encoding="utf-8") as f:
        f.write("site_code,stage,receipts_gbp,date\n")
        i = 0
        while f.tell() < size:
            f.write(f"JUNK{i:09d},demolished,lots,someday\n")
            i += 1


def _write_wrong_header_sites(path: Path, size: int) -> None:
    with path.open("w", encoding="utf-8") as f:
        f.write("code,name,lat,lon\n")
        row = "RAL01,Royal Free Hospital,51.553,-0.165\n" * 10_000
        while f.tell() < size:
            f.write(row)


def _write_long_field_sites(path: Path, size: int) -> None:
    with path.open("w", encoding="utf-8") as f:
        f.write('site_code,site_name,latitude,longitude\nA1,"')
        block = "x" * MB
        for _ in range(size // MB):
            f.write(block)
        f.write('",51.5,-0.1\n')


#: Runs the CLI, then prints the process's own peak resident memory (KiB) last on stderr.
_CHILD = (
    "import resource, runpy, sys\n"
    "try:\n"
    "    runpy.run_module('estates.cli', run_name='__main__')\n"
    "finally:\n"
    "    print('maxrss', resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, file=sys.stderr)\n"
)


def _run(args: list[str], timeout: float) -> tuple[str, float, str, str]:
    paths = [str(ROOT), os.environ.get("PYTHONPATH")]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, paths))}
    command = [sys.executable, "-c", _CHILD, "--quiet", "validate", *args]
    start = time.perf_counter()
    try:
        done = subprocess.run(
            command, capture_output=True, text=True, timeout=timeout, env=env, check=False
        )
    except subprocess.TimeoutExpired:
        return "timeout", time.perf_counter() - start, "-", f"did not finish in {timeout:.0f} s"
    seconds = time.perf_counter() - start
    lines = done.stderr.strip().splitlines()
    peak = (
        f"{int(lines[-1].split()[1]) / 1024:,.0f}"
        if lines and lines[-1].startswith("maxrss")
        else "-"
    )
    message = next((line for line in reversed(lines) if line.startswith("estates")), "")
    return str(done.returncode), seconds, peak, message[:110]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--timeout", type=float, default=300.0)
    args = parser.parse_args()
    cases = [
        ("junk --pipeline, 3 MB", "--pipeline", _write_junk_pipeline, 3 * MB),
        ("wrong-header --sites, 50 MB", "--sites", _write_wrong_header_sites, 50 * MB),
        ("junk --pipeline, 50 MB", "--pipeline", _write_junk_pipeline, 50 * MB),
        ("one 200 MB quoted field, --sites", "--sites", _write_long_field_sites, 200 * MB),
    ]
    print(f"Python {sys.version.split()[0]}, {os.cpu_count()} CPUs\n")
    print("| input | exit | seconds | peak RSS MiB | message |")
    print("|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        for label, option, make, size in cases:
            path = Path(tmp) / "input.csv"
            make(path, size)
            code, seconds, peak, message = _run([option, str(path)], args.timeout)
            print(f"| {label} | {code} | {seconds:.1f} | {peak} | {message} |", flush=True)
            path.unlink()


if __name__ == "__main__":
    main()
