"""The benchmark scripts still run against today's code; their figures are in benchmarks/README.md.

Each script runs once, in its cheapest mode, in a fresh process, so a script
that no longer fits the code it measures (a renamed function, a signature
changed) fails here rather than on the day someone measures. Nothing here
times anything: the figures come from the scripts, run by hand.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


@pytest.mark.slow
@pytest.mark.parametrize(
    "command",
    [
        ("bench_maps.py", "100", "--build-only", "--runs", "1"),
        ("bench_pictures.py", "--runs", "1"),
        ("bench_pictures.py", "--runs", "1", "--cold"),
        ("bench_build.py", "--runs", "1"),
        ("bench_join.py", "--sizes", "1e4", "--runs", "1", "--cache", "cold"),
    ],
    ids=["bench_maps", "bench_pictures", "bench_pictures --cold", "bench_build", "bench_join"],
)
def test_a_benchmark_script_runs(command: tuple[str, ...]) -> None:
    script, *args = command
    done = subprocess.run(
        [sys.executable, str(REPO / "benchmarks" / script), *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "Traceback" not in done.stderr
    assert done.stdout.strip(), "it printed no figures"
