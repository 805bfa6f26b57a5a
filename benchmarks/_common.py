"""Shared helpers for the benchmarks: machine facts, memory peaks, tables.

Peak memory is read from Linux's ``VmHWM`` (the process's resident high-water
mark), which ``/proc/self/clear_refs`` resets, so one measurement's peak never
mixes with another's. Each benchmark also runs each measurement in a fresh
subprocess.
"""

from __future__ import annotations

import os
import platform
import statistics
import subprocess
import sys
from importlib.metadata import version
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MIB = 1024 * 1024

# The map benchmarks launch Chromium with the browser tests' flags (no
# network): ``from browser import CHROMIUM_ARGS`` after importing this module.
sys.path.insert(0, str(ROOT / "tests"))


#: An init script for a map page opened in Chromium: when the page says it is
#: ready (the ``data-estates-ready`` attribute it sets with ``estates.ready``),
#: it asks for two animation frames and keeps the time of the second in
#: ``window.estatesPaintedAt``: the frame after ready has been drawn. The
#: harness's own "painted" (two frames asked for once it has read the ready
#: signal and ``readyAt``) adds its round trips to Chromium; this is the same
#: frame on the page's clock alone. A MutationObserver's callback runs as soon
#: as the page's script that set the attribute returns, before any frame.
PAINT_CLOCK = """
new MutationObserver(function (records, observer) {
  if (document.documentElement.getAttribute("data-estates-ready") !== "1") return;
  observer.disconnect();
  requestAnimationFrame(function () {
    requestAnimationFrame(function () { window.estatesPaintedAt = performance.now(); });
  });
}).observe(document, { attributes: true, subtree: true, attributeFilter: ["data-estates-ready"] });
"""


def _status_kib(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    msg = f"no {field} in /proc/self/status"
    raise RuntimeError(msg)


def rss_bytes() -> int:
    """Resident memory of this process now."""
    return _status_kib("VmRSS") * 1024


def reset_peak() -> None:
    """Reset the resident high-water mark (Linux 4.0+)."""
    Path("/proc/self/clear_refs").write_text("5")


def peak_bytes() -> int:
    """Resident high-water mark since the last :func:`reset_peak`."""
    return _status_kib("VmHWM") * 1024


def machine() -> dict[str, str]:
    """What the figures were measured on."""
    model = "unknown"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            model = line.split(":", 1)[1].strip()
            break
    mem_kib = 0
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            mem_kib = int(line.split()[1])
    nproc = subprocess.run(["nproc"], capture_output=True, text=True, check=True).stdout.strip()
    packages = ("geopandas", "shapely", "pyproj", "pandas", "numpy", "pyarrow")
    return {
        "cpu": f"{model}, {nproc} cores (nproc)",
        "ram": f"{mem_kib / 1024 / 1024:.1f} GiB",
        "os": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "libraries": ", ".join(f"{p} {version(p)}" for p in packages),
        "load average at start": " ".join(f"{v:.2f}" for v in os.getloadavg()),
    }


def print_machine() -> None:
    for key, value in machine().items():
        print(f"- {key}: {value}")


def median(values: list[float]) -> float:
    return statistics.median(values)


def run_worker(script: Path, args: list[str]) -> str:
    """Run ``script --worker ...`` in a fresh interpreter; return its last stdout line."""
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    done = subprocess.run(
        [sys.executable, str(script), "--worker", *args],
        capture_output=True,
        text=True,
        check=False,
        env=env,
    )
    if done.returncode != 0:
        msg = f"worker {args} failed:\n{done.stderr}"
        raise RuntimeError(msg)
    return done.stdout.strip().splitlines()[-1]


def compile_bytecode(package: Path) -> None:
    """Write ``package``'s bytecode, as ``pip install`` does, before its commands are timed.

    ``./scripts/setup-and-build`` installs the package with pip, which compiles
    every module once. A checkout run in place gets its bytecode written on its
    first import, except where ``PYTHONDONTWRITEBYTECODE`` is set (many container
    images set it): there every run would compile every module from source again,
    about 0.3-0.5 s of a bundled build that a user's installed package never spends.
    The libraries of the anchor are measured with their bytecode; so is the package.
    """
    import compileall

    if not compileall.compile_dir(str(package), quiet=1):
        msg = f"could not compile {package}"
        raise RuntimeError(msg)


def markdown_table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)
