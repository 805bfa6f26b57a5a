"""Size of every map `estates build` writes, and the time to open each to Leaflet's `load`.

Builds the bundled data into a temporary folder, then opens each map from
file:// in headless Chromium with every network request aborted, as a planner
on a locked-down network would, and records `performance.now()` when the
Leaflet map fires `load` (hooked as Leaflet defines itself, before any map is
made). Median of --runs fresh browser contexts per map.

    python benchmarks/bench_open.py [--runs 7] [--chromium /usr/bin/chromium]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

import _common  # noqa: F401 - puts tests/ on the path for browser
from browser import CHROMIUM_ARGS
from playwright.sync_api import sync_playwright

HOOK = """
(() => { let real;
  Object.defineProperty(window, 'L', { configurable: true,
    get() { return real; },
    set(v) { real = v; if (v && v.Map && !v.__estatesHooked) { v.__estatesHooked = true;
      v.Map.addInitHook(function () { this.whenReady(() => {
        if (window.__leafletLoad === undefined) {
          window.__leafletLoad = performance.now(); } }); }); } } });
})();
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--chromium", default=shutil.which("chromium") or "chromium")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "maps"
        subprocess.run(
            [sys.executable, "-m", "estates.cli", "--quiet", "build", "--out", str(out)],
            check=True,
            stdout=subprocess.DEVNULL,
        )
        print("| file | bytes | median ms to Leaflet load | fastest | slowest |")
        print("| --- | ---: | ---: | ---: | ---: |")
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=args.chromium, args=CHROMIUM_ARGS)
            for page_file in sorted(out.glob("*.html")):
                times = _open(browser, page_file, args.runs)
                size = page_file.stat().st_size
                if times:
                    print(
                        f"| {page_file.name} | {size:,} | {statistics.median(times):.0f} | "
                        f"{min(times):.0f} | {max(times):.0f} |"
                    )
                else:
                    print(f"| {page_file.name} | {size:,} | (no map) | | |")
            browser.close()
        png = out / "london.png"
        print(f"| {png.name} | {png.stat().st_size:,} | (picture) | | |")


def _open(browser, page_file: Path, runs: int) -> list[float]:
    times = []
    for _ in range(runs):
        context = browser.new_context()
        page = context.new_page()
        page.add_init_script(HOOK)
        page.route(
            "**/*",
            lambda r: r.continue_() if r.request.url.startswith(("file:", "data:")) else r.abort(),
        )
        page.goto(page_file.resolve().as_uri())
        if page.evaluate("typeof window.L") == "undefined":
            context.close()
            return []
        page.wait_for_function("window.__leafletLoad !== undefined")
        times.append(page.evaluate("window.__leafletLoad"))
        context.close()
    return times


if __name__ == "__main__":
    main()
