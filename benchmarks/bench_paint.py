"""Where a map page's time to paint goes: its main thread's CPU time by phase.

Run from the repository root, on pages kept by ``bench_maps.py --save``::

    python benchmarks/bench_maps.py 50000 --compare-only --runs 1 --save now.html
    python benchmarks/bench_paint.py now.html old.html --runs 6

Each page is opened as ``bench_maps.open_in_chromium`` opens it (headless,
1280×860, every request but ``file:`` and ``data:`` aborted; the pages in
turn, the order alternating), under a Chromium trace with no sampling
profiler (which would slow the page). For each page it prints the median over
``--runs`` of: the wall-clock seconds to the page's ready signal and to the
painted frame after it, by the harness and on the page's own clock (as
``bench_maps.py``), and the CPU time of the page's main thread (the trace's
thread time, ``tdur``, which a loaded machine inflates far less than
wall-clock time) from navigation to that frame:

- every task of the main thread, and of it:
- HTML parsing and decoding outside the scripts (the megabytes of data are
  tokenised as the text of their data script);
- the library scripts (Leaflet, ``map.js``): compiling and running them;
- the page script: reading the data (``JSON.parse``), making and adding every
  layer, the panel and the site table, up to the ready signal;
- animation frames: Leaflet's canvas draw (on a canvas page, the sites);
- style and layout, paint, commit and garbage collection: these are also
  counted in the phase they happen in (a layout the page script forces is in
  both).

The wall-clock time to painted is longer than the main thread's CPU time: the
page's bytes arrive from the browser process in chunks, frames wait for the
next vsync, and the harness's round trips (waiting for ready, then the two
frames) take their share.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any

import _common  # puts tests/ on the path for browser; the page clock
from browser import CHROMIUM_ARGS, chromium_path

#: Trace categories: the main thread's tasks, scripts, style, layout, paint and GC.
CATEGORIES = [
    "devtools.timeline",
    "disabled-by-default-devtools.timeline",
    "v8",
    "blink",
    "blink.user_timing",
    "toplevel",
    "loading",
]
PHASES = (
    "all main-thread tasks",
    "HTML parsing and decoding",
    "library scripts",
    "page script, to ready",
    "animation frames (canvas draw)",
    "style and layout",
    "paint",
    "commit",
    "garbage collection",
)


def _trace_phases(
    events: list[dict[str, Any]], ready_ms: float, painted_ms: float
) -> dict[str, float]:
    """Return the main thread's CPU seconds by phase from navigation to ``painted_ms``."""

    def is_page_script(e: dict[str, Any]) -> bool:
        return e.get("name") == "EvaluateScript" and "file:" in str(e.get("args"))

    threads = Counter((e.get("pid"), e.get("tid")) for e in events if is_page_script(e))
    main = threads.most_common(1)[0][0]
    spans = [
        e
        for e in events
        if (e.get("pid"), e.get("tid")) == main and e.get("ph") == "X" and "dur" in e
    ]
    first_script = min(e["ts"] for e in spans if is_page_script(e))
    start = max(
        e["ts"]
        for e in events
        if e.get("name") == "navigationStart" and e.get("pid") == main[0] and e["ts"] < first_script
    )
    spans = [e for e in spans if start <= e["ts"] < start + painted_ms * 1000]

    def cpu(names: set[str]) -> float:
        return sum(e.get("tdur", e["dur"]) for e in spans if e["name"] in names) / 1e6

    scripts = sorted((e for e in spans if is_page_script(e)), key=lambda e: e["ts"])
    script_cpu = [e.get("tdur", e["dur"]) / 1e6 for e in scripts]
    return {
        "all main-thread tasks": cpu({"ThreadControllerImpl::RunTask"}),
        "HTML parsing and decoding": cpu({"ParseHTML", "TextResourceDecoder::Decode"})
        - cpu({"EvaluateScript"}),
        "library scripts": sum(script_cpu[:-1]),
        "page script, to ready": script_cpu[-1],
        "animation frames (canvas draw)": cpu({"FireAnimationFrame"}),
        "style and layout": cpu({"UpdateLayoutTree", "Layout"}),
        "paint": cpu({"Paint"}),
        "commit": cpu({"Commit"}),
        "garbage collection": cpu({"MinorGC", "MajorGC"}),
        "ready": ready_ms / 1000,
        "painted": painted_ms / 1000,
    }


def traced_open(playwright: Any, path: Path, tmp: Path) -> dict[str, float]:
    """Open ``path`` once in a new headless Chromium, traced; return its phases."""
    browser = playwright.chromium.launch(
        executable_path=chromium_path(), headless=True, args=CHROMIUM_ARGS
    )
    page = browser.new_page(viewport={"width": 1280, "height": 860})
    page.route(
        "**/*",
        lambda r: r.continue_() if r.request.url.startswith(("file:", "data:")) else r.abort(),
    )
    trace = tmp / "trace.json"
    page.add_init_script(_common.PAINT_CLOCK)
    browser.start_tracing(page=page, path=str(trace), categories=CATEGORIES)
    page.goto(path.resolve().as_uri(), timeout=120_000)
    page.wait_for_function("() => window.estates && window.estates.ready", timeout=120_000)
    ready = page.evaluate("() => window.estates.readyAt")
    painted = page.evaluate(
        "() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame("
        "() => r(performance.now()))))"
    )
    page.wait_for_function("() => window.estatesPaintedAt", timeout=120_000)
    in_page = page.evaluate("() => window.estatesPaintedAt")
    browser.stop_tracing()
    browser.close()
    events = json.loads(trace.read_text(encoding="utf-8"))["traceEvents"]
    return {**_trace_phases(events, ready, painted), "painted_in_page": in_page / 1000}


def main(paths: list[Path], runs: int) -> None:
    from playwright.sync_api import sync_playwright

    found: dict[Path, list[dict[str, float]]] = {p: [] for p in paths}
    load = " ".join(f"{v:.2f}" for v in os.getloadavg())
    with sync_playwright() as playwright, tempfile.TemporaryDirectory() as tmp:
        for k in range(runs):
            for path in paths if k % 2 == 0 else paths[::-1]:
                found[path].append(traced_open(playwright, path, Path(tmp)))
    print(f"medians of {runs} runs each, in turn; load average {load} before, "
          f"{' '.join(f'{v:.2f}' for v in os.getloadavg())} after")  # fmt: skip
    print()
    print("| | " + " | ".join(p.name for p in paths) + " |")
    print("|---|" + "---:|" * len(paths))
    for label, key in (
        ("ready (s, wall)", "ready"),
        ("painted (s, wall)", "painted"),
        ("painted, page clock (s, wall)", "painted_in_page"),
    ):
        medians = [statistics.median(r[key] for r in found[p]) for p in paths]
        print(f"| {label} | " + " | ".join(f"{m:.3f}" for m in medians) + " |")
    for phase in PHASES:
        medians = [statistics.median(r[phase] for r in found[p]) for p in paths]
        print(f"| {phase} (ms CPU) | " + " | ".join(f"{m * 1000:.0f}" for m in medians) + " |")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("pages", nargs="+", type=Path, help="map pages to open in turn")
    parser.add_argument("--runs", type=int, default=6, help="runs per page (%(default)s)")
    args = parser.parse_args()
    main(args.pages, args.runs)
