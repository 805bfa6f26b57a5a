"""How the maps scale: build time, file size and browser open time by site count.

Run from the repository root::

    python benchmarks/bench_maps.py            # 100, 1,000, 10,000, 50,000 sites
    python benchmarks/bench_maps.py 100 5000   # other sizes
    python benchmarks/bench_maps.py --compare-only --runs 5   # only the side-by-side table
    python benchmarks/bench_maps.py --compare-only --save old.html 50000   # on an earlier commit
    python benchmarks/bench_maps.py --compare-only --against old.html 50000   # then on this one
    python benchmarks/bench_maps.py --build-only --runs 5 50000   # one process's build times

Sites are synthetic, seeded points inside the real London borough boundaries
(``data/boundaries``), with every column the maps read; the context layers are
the real bundled NHS Choices records. For each size it prints one row of a
markdown table:

- ``build london.html``: seconds to prepare the data and write the London map
  (imports and the one-off inlining of Leaflet are warmed up first);
- ``render_maps``: seconds for every file (index, London, five pilots, PNG);
- ``size``: bytes of ``london.html``;
- ``Chromium ready`` / ``painted``: seconds from navigation start until the
  page's script has added every layer and fitted the view
  (``estates.ready``; Leaflet's map ``load`` comes earlier), and until the
  next frame after that is painted, headless, with all network blocked (in
  the side-by-side runs, also that frame on the page's own clock, without
  the harness's round trips: ``_common.PAINT_CLOCK``). Each
  page is then checked to still work: the search finds the last site by code,
  Enter opens its popup, and the legend is there.

Then, at the largest size, a side-by-side table from ``--runs`` interleaved
runs (medians; wall-clock and the process's CPU time, which a loaded
machine inflates far less):

- ``now``: ``london.html`` as :func:`build_london` makes it;
- ``previous``: the same page with the site payload built site by site, by
  the reference function the payload tests keep
  (``tests/render/test_payload.py``); the page's bytes are checked equal;
- ``anchor``: what a user would write instead, ``sites.explore()`` rendered
  to HTML (folium, one GeoJSON feature per site, Leaflet from a CDN); it is
  slow, so it runs ``--anchor-runs`` times (default once);
- ``floor``: no checks, no escaping, no folium: ``json.dumps`` of the payload
  already built (a Python list per field) plus the inlined Leaflet, written
  to a file;
- ``of which``: the site payload, its JSON text (written column-wise, as the
  page does, and by ``json.dumps`` of the same lists), the
  boroughs.

With ``--build-only`` it prints only the median CPU and wall-clock time of
``--runs`` builds of the largest size's ``london.html`` after a warm-up, one
line, so that two checkouts can be run in turn, each in its own process.

With ``--against PAGE`` the Chromium runs open ``PAGE`` in turn with this
page, each first every other run: say the same sites' ``london.html`` kept
by ``--save`` on an earlier commit, for a before-and-after in one run.

Chromium is found from ``ESTATES_CHROMIUM`` or ``chromium`` on PATH.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, NamedTuple

import _common  # puts tests/ on the path for browser; the page clock
import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from browser import CHROMIUM_ARGS
from render.test_payload import reference_prepare_sites

from estates.io.bundled import context_site_paths, groupings_path
from estates.io.inputs import load_boroughs as estates_load_boroughs
from estates.io.inputs import load_groupings
from estates.render import maps, page, payload
from estates.render.assets import json_for_script, leaflet_css, leaflet_js
from estates.report.aggregate import aggregate_boroughs
from estates.report.tally import site_tallies
from estates.stages.tag import tag_groupings

SIZES = (100, 1_000, 10_000, 50_000)
SEED = 20_240_601
TARGET = 11e9
GBP_PER_HA = 6_000_000.0


def load_boroughs() -> gpd.GeoDataFrame:
    """Return the 33 real boroughs with pilots and sub-region, no figures yet."""
    boroughs = tag_groupings(estates_load_boroughs(), load_groupings())
    boroughs["subregion"] = boroughs["subregion"].fillna("")
    return boroughs.sort_values("borough_code").reset_index(drop=True)


def synthetic_sites(n: int, boroughs: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """``n`` seeded sites at random points inside London, one borough each."""
    rng = np.random.default_rng(SEED + n)
    minx, miny, maxx, maxy = boroughs.total_bounds
    xs: list[np.ndarray] = []
    ys: list[np.ndarray] = []
    owner: list[np.ndarray] = []
    have = 0
    geoms = list(boroughs.geometry)
    for g in geoms:
        shapely.prepare(g)
    while have < n:
        x = rng.uniform(minx, maxx, n * 2)
        y = rng.uniform(miny, maxy, n * 2)
        which = np.full(len(x), -1)
        for i, g in enumerate(geoms):
            inside = (which < 0) & shapely.contains_xy(g, x, y)
            which[inside] = i
        keep = which >= 0
        xs.append(x[keep])
        ys.append(y[keep])
        owner.append(which[keep])
        have += int(keep.sum())
    x = np.concatenate(xs)[:n]
    y = np.concatenate(ys)[:n]
    b = boroughs.iloc[np.concatenate(owner)[:n]].reset_index(drop=True)
    owned = np.round(rng.uniform(0.2, 30, n), 2)
    share = np.round(rng.uniform(0, 0.5, n), 3)
    unused = np.round(owned * share, 3)
    parts = rng.uniform(0, 1, (4, n)).round(3)
    score = parts.mean(axis=0).round(3)
    rank = pd.Series(score).rank(ascending=False, method="first").astype("Int64")
    trusts = [f"Synthetic NHS Trust {i:02d}" for i in range(40)]
    t = rng.integers(0, len(trusts), n)
    return gpd.GeoDataFrame(
        {
            "site_code": [f"S{i:06d}" for i in range(n)],
            "site_name": [f"Synthetic site {i:06d}" for i in range(n)],
            "site_type": rng.choice(["Hospital", "Clinic", "Office", "Land"], n),
            "trust_code": [f"T{v:02d}" for v in t],
            "trust_name": [trusts[v] for v in t],
            "borough_code": b["borough_code"],
            "borough_name": b["borough_name"],
            "subregion": b["subregion"],
            "pilots": b["pilots"],
            "located_by": "synthetic",
            "join_method": "within",
            "in_london": True,
            "land_owned_ha": owned,
            "land_unused_ha": unused,
            "land_unused_share": share,
            "estimated_value_gbp": unused * GBP_PER_HA,
            "valuation_method": "indicative_london_average",
            "valuation_source": "Synthetic benchmark rate",
            "disposal_score": score,
            "disposal_rank": rank,
            "score_value": parts[0],
            "score_share": parts[1],
            "score_backlog": parts[2],
            "score_constraints": parts[3],
            "backlog_total_gbp": rng.uniform(0, 5e6, n).round(0),
            "pfi": rng.random(n) < 0.1,
            "quality_flags": np.where(rng.random(n) < 0.2, "synthetic;benchmark", ""),
        },
        geometry=gpd.points_from_xy(x, y),
        crs="EPSG:4326",
    )


def load_context() -> gpd.GeoDataFrame:
    kinds = ("hospital_2018", "hospital_2014", "clinic_2014")
    frames = []
    for path, kind in zip(context_site_paths(), kinds, strict=True):
        f = pd.read_csv(path, dtype=str, keep_default_na=False)
        frames.append(
            gpd.GeoDataFrame(
                {
                    "context_code": f["OrganisationCode"],
                    "context_name": f["OrganisationName"],
                    "context_kind": kind,
                },
                geometry=gpd.points_from_xy(
                    pd.to_numeric(f["Longitude"]), pd.to_numeric(f["Latitude"])
                ),
                crs="EPSG:4326",
            )
        )
    return pd.concat(frames, ignore_index=True)


def summary_for(sites: gpd.GeoDataFrame) -> dict[str, Any]:
    def block(frame: pd.DataFrame) -> dict[str, float]:
        value = float(frame["estimated_value_gbp"].sum())
        return {
            "land_owned_ha": float(frame["land_owned_ha"].sum()),
            "land_unused_ha": float(frame["land_unused_ha"].sum()),
            "estimated_value_gbp": value,
            "share_of_target": value / TARGET,
        }

    groups = pd.read_csv(groupings_path(), dtype=str)
    pilots = {}
    for (gid, gname), _ in groups[groups["group_type"] == "pilot"].groupby(
        ["group_id", "group_name"], sort=False
    ):
        inside = sites[sites["pilots"].str.contains(gid, regex=False)]
        pilots[gid] = {"name": gname, **block(inside), "sites": len(inside)}
    ranked = sites.sort_values("disposal_rank")
    cum = ranked["estimated_value_gbp"].cumsum().to_numpy()
    return {
        "target_gbp": TARGET,
        "valuation": {"method": "indicative_london_average", "gbp_per_ha": GBP_PER_HA},
        "london": {**block(sites), "sites_located": len(sites)},
        "pilots": pilots,
        "pipeline": {
            "cumulative": [
                {"rank": int(r), "cumulative_value_gbp": float(c)}
                for r, c in zip(ranked["disposal_rank"], cum, strict=True)
            ]
        },
        "sources": [{"name": "Synthetic benchmark data", "attribution": "", "licence": ""}],
    }


def build_london(sites, boroughs, context, summary, prepare_sites=None) -> str:
    """Prepare the data and return london.html, as ``render_maps`` does."""
    names = payload.names_from_summary(summary)
    b = payload.prepare_boroughs(boroughs, names)
    s = (prepare_sites or payload.prepare_sites)(sites, names)
    c = payload.prepare_context(context)
    view = page.View(
        map_id="london",
        title="Unused NHS land in London",
        subtitle="",
        bounds=page.bounds(b.frame),
        focus_pilot=None,
        with_list=False,
    )
    return page.build_map(
        view,
        s,
        b,
        c,
        ranked_total=len(s.codes),
        attribution="",
        tiles=None,
        canvas=len(s.codes) > 1000,
    )


class Opened(NamedTuple):
    """Seconds from navigation start to: ready, the harness's painted, the page clock's painted."""

    ready: float
    painted: float
    painted_in_page: float


def open_in_chromium(path: Path) -> Opened:
    """Open ``path`` in a new headless Chromium; time it and check that it still works.

    ``painted`` is the harness's: two frames asked for once it has read the
    ready signal, its round trips to Chromium included. ``painted_in_page`` is
    the same frame on the page's own clock (:data:`_common.PAINT_CLOCK`).
    """
    from playwright.sync_api import sync_playwright

    exe = os.environ.get("ESTATES_CHROMIUM") or shutil.which("chromium")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=exe, headless=True, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 860})
        page.route(
            "**/*",
            lambda r: r.continue_() if r.request.url.startswith(("file:", "data:")) else r.abort(),
        )
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.add_init_script(_common.PAINT_CLOCK)
        page.goto(path.as_uri(), timeout=120_000)
        page.wait_for_function("() => window.estates && window.estates.ready", timeout=120_000)
        ready = page.evaluate("() => window.estates.readyAt")
        painted = page.evaluate(
            "() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame("
            "() => r(performance.now()))))"
        )
        page.wait_for_function("() => window.estatesPaintedAt", timeout=120_000)
        in_page = page.evaluate("() => window.estatesPaintedAt")
        # Still usable at this size: search finds a site, its popup opens, legend shown.
        # A list per field; a page written before 2026-12-06 (--against) held a list per site.
        code = page.evaluate(
            "() => { const S = estates.data.sites, F = estates.F;"
            " return S.columns ? S.columns[F.code].at(-1) : S.rows.at(-1)[F.code]; }"
        )
        page.fill(".est-search input", code)
        page.keyboard.press("Enter")
        page.wait_for_selector(f'.leaflet-popup-content [data-site-code="{code}"]', timeout=10_000)
        works = page.locator(".est-legend .est-legend-choro").count() == 2
        browser.close()
    if errors or not works:
        raise RuntimeError(f"{path.name}: page errors {errors} or no legend")
    return Opened(ready / 1000, painted / 1000, in_page / 1000)


def _timed(fn) -> tuple[float, float, Any]:
    """Return wall seconds, CPU seconds and the result of ``fn()``."""
    wall, cpu = time.perf_counter(), time.process_time()
    out = fn()
    return time.perf_counter() - wall, time.process_time() - cpu, out


def anchor_explore(sites: gpd.GeoDataFrame, path: Path) -> None:
    """What a user would write instead: geopandas' ``explore`` (folium), saved as HTML."""
    m = sites.explore(column="disposal_score", tiles=None)
    path.write_text(m.get_root().render(), encoding="utf-8")


def floor_page(site_payload: dict[str, Any], path: Path) -> None:
    """No checks, escaping or folium: the payload already built, dumped beside Leaflet."""
    data = json.dumps(site_payload, separators=(",", ":"))
    path.write_text(
        f"<style>{leaflet_css()}</style><script>{leaflet_js()}</script>"
        f'<script type="application/json" id="d">{data}</script>',
        encoding="utf-8",
    )


def compare(
    n: int,
    *,
    runs: int,
    anchor_runs: int,
    tmp: Path,
    boroughs0: gpd.GeoDataFrame,
    context,
    against: Path | None = None,
    save: Path | None = None,
) -> None:
    """Print the side-by-side table at ``n`` sites, medians of ``runs`` interleaved runs.

    ``against`` is another page (say the same sites' page written by an
    earlier commit, kept with ``save``) opened in Chromium in turn with this one.
    """
    sites = synthetic_sites(n, boroughs0)
    boroughs = aggregate_boroughs(boroughs0, site_tallies(sites), target_gbp=TARGET)
    summary = summary_for(sites)
    names = payload.names_from_summary(summary)
    prepared = payload.prepare_sites(sites, names)
    as_lists = prepared.payload  # a Python list per field, made once
    times: dict[str, list[tuple[float, float]]] = {}

    def record(label: str, fn) -> Any:
        wall, cpu, out = _timed(fn)
        times.setdefault(label, []).append((wall, cpu))
        return out

    now_path, prev_path = tmp / "now.html", tmp / "previous.html"
    for _ in range(runs):
        html = record("now", lambda: build_london(sites, boroughs, context, summary))
        now_path.write_text(html, encoding="utf-8")
        old = record(
            "previous",
            lambda: build_london(sites, boroughs, context, summary, reference_prepare_sites),
        )
        prev_path.write_text(old, encoding="utf-8")
        if old != html:
            raise RuntimeError("the previous and the new payload give different pages")
        if len(times.get("anchor", ())) < anchor_runs:
            record("anchor", lambda: anchor_explore(sites, tmp / "explore.html"))
        record("floor", lambda: floor_page(as_lists, tmp / "floor.html"))
        record("of which: site payload", lambda: payload.prepare_sites(sites, names))
        record("of which: site payload, previous", lambda: reference_prepare_sites(sites, names))
        record("of which: its JSON text", prepared.json)
        record("of which: its JSON text by json.dumps", lambda: json_for_script(as_lists))
        record("of which: boroughs", lambda: payload.prepare_boroughs(boroughs, names))
    opened: list[Opened] = []
    against_opened: list[Opened] = []
    for k in range(runs):  # in turn, each page first every other run
        if against is not None and k % 2:
            against_opened.append(open_in_chromium(against))
        opened.append(open_in_chromium(now_path))
        if against is not None and not k % 2:
            against_opened.append(open_in_chromium(against))
    if save is not None:
        shutil.copyfile(now_path, save)

    def med(label: str, k: int) -> float:
        return statistics.median(t[k] for t in times[label])

    now_wall, now_cpu = med("now", 0), med("now", 1)
    print()
    print(f"{n:,} sites, medians of {runs} interleaved runs; load average now "
          f"{' '.join(f'{v:.2f}' for v in os.getloadavg())}")  # fmt: skip
    print()
    print("| london.html | wall (s) | CPU (s) | wall ÷ now | CPU ÷ now | size |")
    print("|---|---:|---:|---:|---:|---:|")
    sizes = {
        "now": now_path,
        "previous": prev_path,
        "anchor": tmp / "explore.html",
        "floor": tmp / "floor.html",
    }
    for label in times:
        wall, cpu = med(label, 0), med(label, 1)
        size = f"{sizes[label].stat().st_size / 1e6:.2f} MB" if label in sizes else ""
        print(
            f"| {label} | {wall:.3f} | {cpu:.3f} | {wall / now_wall:.2f} | "
            f"{cpu / now_cpu:.2f} | {size} |"
        )
    print()
    print(f"Chromium, london.html (the same bytes now and previous), median of {runs}: "
          f"{_opened_text(opened)}")  # fmt: skip
    if against is not None:
        size = against.stat().st_size / 1e6
        print(f"Chromium, {against.name} ({size:.2f} MB, opened in turn with it), "
              f"median of {runs}: {_opened_text(against_opened)}")  # fmt: skip


def _opened_text(opened: list[Opened]) -> str:
    """Median ready, painted and painted on the page's clock of ``opened``, as words."""
    ready, painted, in_page = (statistics.median(x) for x in zip(*opened, strict=True))
    return f"ready {ready:.2f} s, painted {painted:.2f} s (page clock {in_page:.2f} s)"


def build_only(n: int, *, runs: int, boroughs0: gpd.GeoDataFrame, context) -> None:
    """Print the median CPU and wall seconds of ``runs`` builds of london.html at ``n`` sites."""
    sites = synthetic_sites(n, boroughs0)
    boroughs = aggregate_boroughs(boroughs0, site_tallies(sites), target_gbp=TARGET)
    summary = summary_for(sites)
    build_london(sites, boroughs, context, summary)  # the first build of these inputs
    timed = [_timed(lambda: build_london(sites, boroughs, context, summary)) for _ in range(runs)]
    wall = statistics.median(t[0] for t in timed)
    cpu = statistics.median(t[1] for t in timed)
    print(f"build london.html, {n:,} sites, median of {runs}: CPU {cpu:.3f} s, wall {wall:.3f} s; "
          f"load average {' '.join(f'{v:.2f}' for v in os.getloadavg())}")  # fmt: skip


def main(
    sizes: tuple[int, ...],
    *,
    runs: int,
    anchor_runs: int,
    sweep: bool,
    against: Path | None = None,
    save: Path | None = None,
    only_build: bool = False,
) -> None:
    boroughs0 = load_boroughs()
    context = load_context()
    # Warm up: imports (mapclassify pulls in scipy) and reading Leaflet once.
    warm = synthetic_sites(50, boroughs0)
    warm_boroughs = aggregate_boroughs(boroughs0, site_tallies(warm), target_gbp=TARGET)
    build_london(warm, warm_boroughs, context, summary_for(warm))
    if only_build:
        build_only(max(sizes), runs=runs, boroughs0=boroughs0, context=context)
        return

    print(f"machine: {os.cpu_count()} cores, Python {sys.version.split()[0]}")
    if not sweep:
        with tempfile.TemporaryDirectory() as tmp:
            compare(
                max(sizes),
                runs=runs,
                anchor_runs=anchor_runs,
                tmp=Path(tmp),
                boroughs0=boroughs0,
                context=context,
                against=against,
                save=save,
            )
        return
    print()
    print("| sites | build london.html (s) | render_maps, all files (s) | london.html size | "
          "Chromium ready (s) | Chromium painted (s) |")  # fmt: skip
    print("|---:|---:|---:|---:|---:|---:|")
    with tempfile.TemporaryDirectory() as tmp:
        for n in sizes:
            sites = synthetic_sites(n, boroughs0)
            boroughs = aggregate_boroughs(boroughs0, site_tallies(sites), target_gbp=TARGET)
            summary = summary_for(sites)
            t0 = time.perf_counter()
            html = build_london(sites, boroughs, context, summary)
            path = Path(tmp) / f"london_{n}.html"
            path.write_text(html, encoding="utf-8")
            build = time.perf_counter() - t0
            t0 = time.perf_counter()
            maps.render_maps(sites, boroughs, context, summary, Path(tmp) / f"all_{n}")
            everything = time.perf_counter() - t0
            size = path.stat().st_size
            ready, painted, _ = open_in_chromium(path)
            print(
                f"| {n:,} | {build:.2f} | {everything:.2f} | {size / 1e6:.2f} MB | "
                f"{ready:.2f} | {painted:.2f} |",
                flush=True,
            )
        compare(
            max(sizes),
            runs=runs,
            anchor_runs=anchor_runs,
            tmp=Path(tmp),
            boroughs0=boroughs0,
            context=context,
            against=against,
            save=save,
        )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "sizes", nargs="*", type=int, default=list(SIZES), help="site counts (default: %(default)s)"
    )
    parser.add_argument(
        "--runs",
        type=int,
        default=5,
        help="interleaved runs of the side-by-side table (%(default)s)",
    )
    parser.add_argument(
        "--anchor-runs", type=int, default=1, help="runs of the (slow) anchor (%(default)s)"
    )
    parser.add_argument(
        "--compare-only", action="store_true", help="only the side-by-side table, largest size"
    )
    parser.add_argument(
        "--build-only", action="store_true", help="only the build's median times, largest size"
    )
    parser.add_argument(
        "--save", type=Path, help="keep the largest size's london.html here (to open --against)"
    )
    parser.add_argument(
        "--against",
        type=Path,
        help="another london.html (say --save of an earlier commit) opened in turn with this one",
    )
    args = parser.parse_args()
    main(
        tuple(args.sizes),
        runs=args.runs,
        anchor_runs=args.anchor_runs,
        sweep=not args.compare_only,
        against=args.against,
        save=args.save,
        only_build=args.build_only,
    )
