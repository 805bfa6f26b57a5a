"""Size of every map `estates build` writes, and the time to open each.

Builds the bundled data into a temporary folder, then opens each map from
file:// in headless Chromium with every network request aborted, as a planner
on a locked-down network would, and records `performance.now()` when the
Leaflet map fires `load` (hooked as Leaflet defines itself, before any map is
made) and when the page's script is ready (`estates.readyAt`: every layer
added, the site table's first page of rows drawn). Median of --runs fresh
browser contexts per map. Then the same for a London map of --sites synthetic
sites (default 50,000; the seeded sites of ``bench_maps.py``), with the number
of table rows in its document and the time one filter takes to hide markers
and rows.

    python benchmarks/bench_open.py [--runs 7] [--sites 50000] [--chromium /usr/bin/chromium]
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
    parser.add_argument("--sites", type=int, default=50_000, help="synthetic sites (0: none)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "maps"
        subprocess.run(
            [sys.executable, "-m", "estates.cli", "--quiet", "build", "--out", str(out)],
            check=True,
            stdout=subprocess.DEVNULL,
        )
        if args.sites:
            big = Path(tmp) / f"london_{args.sites}.html"
            big.write_text(_synthetic_london(args.sites), encoding="utf-8")
        print(
            "| file | bytes | median ms to Leaflet load | fastest | slowest "
            "| median ms to ready (table drawn) |"
        )
        print("| --- | ---: | ---: | ---: | ---: | ---: |")
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=args.chromium, args=CHROMIUM_ARGS)
            files = sorted(out.glob("*.html"))
            if args.sites:
                files.append(big)
            for page_file in files:
                times, ready = _open(browser, page_file, args.runs)
                size = page_file.stat().st_size
                if times:
                    print(
                        f"| {page_file.name} | {size:,} | {statistics.median(times):.0f} | "
                        f"{min(times):.0f} | {max(times):.0f} | {statistics.median(ready):.0f} |"
                    )
                else:
                    print(f"| {page_file.name} | {size:,} | (no map) | | | |")
            if args.sites:
                rows, filter_ms = _table_check(browser, big)
                print()
                print(
                    f"{big.name}: {rows} site-table rows in the document; "
                    f"the PFI filter took {filter_ms:.0f} ms (markers and rows)"
                )
            browser.close()
        png = out / "london.png"
        print(f"| {png.name} | {png.stat().st_size:,} | (picture) | | | |")


def _synthetic_london(n: int) -> str:
    """Return london.html for ``n`` seeded synthetic sites (see bench_maps.py)."""
    import bench_maps

    from estates.report.aggregate import aggregate_boroughs
    from estates.report.tally import site_tallies

    boroughs0 = bench_maps.load_boroughs()
    sites = bench_maps.synthetic_sites(n, boroughs0)
    boroughs = aggregate_boroughs(boroughs0, site_tallies(sites), target_gbp=bench_maps.TARGET)
    return bench_maps.build_london(
        sites, boroughs, bench_maps.load_context(), bench_maps.summary_for(sites)
    )


def _table_check(browser, page_file: Path) -> tuple[int, float]:
    """Return the site-table rows in the document and the ms one filter takes."""
    context = browser.new_context()
    page = context.new_page()
    page.route(
        "**/*",
        lambda r: r.continue_() if r.request.url.startswith(("file:", "data:")) else r.abort(),
    )
    page.goto(page_file.resolve().as_uri())
    page.wait_for_function("() => window.estates && window.estates.ready", timeout=120_000)
    rows = page.evaluate("() => document.querySelectorAll('.est-site-table tbody tr').length")
    took = page.evaluate(
        """() => { const s = document.querySelector('[data-filter="pfi"]'); s.value = "1";
            const t0 = performance.now(); s.dispatchEvent(new Event("change", {bubbles: true}));
            return performance.now() - t0; }"""
    )
    context.close()
    return rows, took


def _open(browser, page_file: Path, runs: int) -> tuple[list[float], list[float]]:
    times, ready = [], []
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
            return [], []
        page.wait_for_function("window.__leafletLoad !== undefined", timeout=120_000)
        times.append(page.evaluate("window.__leafletLoad"))
        page.wait_for_function("() => window.estates && window.estates.ready", timeout=120_000)
        ready.append(page.evaluate("window.estates.readyAt"))
        context.close()
    return times, ready


if __name__ == "__main__":
    main()
