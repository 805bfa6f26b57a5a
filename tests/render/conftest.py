"""Fixtures for the browser checks of phone layout, print and accessibility.

The bundled data are built once per session (``bundled_result``) and drawn
once into a folder every module reads. axe-core comes from the test set-up's
``.test-deps`` folder at the repository root (``scripts/setup-and-test``
installs it from npm); a run without it fails and says how to get it.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from browser import chromium_path, launch

from estates.render.maps import render_maps

ROOT = Path(__file__).resolve().parents[2]
AXE = ROOT / ".test-deps" / "node_modules" / "axe-core" / "axe.min.js"
BUILD_DATE = "2024-03-05"
MAP_PAGES = [
    "london.html",
    "ncl_estates.html",
    "hackney_integration.html",
    "lewisham_integration.html",
    "haringey_prevention.html",
    "bhr_aco.html",
]
PAGES = ["index.html", *MAP_PAGES]


def draw_bundled(result: Any, out: Path, sites: Any = None) -> Path:
    """Draw the bundled build's pages into ``out``, with ``sites`` for its map sites if given."""
    render_maps(
        result.map_sites if sites is None else sites,
        result.boroughs,
        result.context,
        result.summary,
        out,
        page_totals=result.page_totals,
        ranked_total=result.ranked,
        build_date=BUILD_DATE,
    )
    return out


@pytest.fixture(scope="session")
def bundled_pages(bundled_result, tmp_path_factory) -> Path:
    """The bundled build's pages, drawn once per session."""
    return draw_bundled(bundled_result, tmp_path_factory.mktemp("bundled-pages"))


@pytest.fixture(scope="session")
def axe_source() -> str:
    """axe-core's script, read from the test set-up's install."""
    if not AXE.is_file():
        pytest.fail(
            f"axe-core is missing at {AXE.relative_to(ROOT)}: run scripts/setup-and-test "
            "(it installs axe-core from npm into .test-deps)"
        )
    return AXE.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    """One headless Chromium per module; tests open a new context each."""
    if chromium_path() is None:
        pytest.fail("no Chromium: set ESTATES_CHROMIUM or put chromium on PATH")
    with launch() as b:
        yield b


def offline(context: Any) -> list[str]:
    """Abort every request of ``context`` that is not ``file:`` or ``data:``; return them."""
    blocked: list[str] = []

    def route(r: Any) -> None:
        url = r.request.url
        if url.startswith(("file:", "data:")):
            r.continue_()
        else:
            blocked.append(url)
            r.abort()

    context.route("**/*", route)
    return blocked


def open_page(context: Any, path: Path) -> tuple[Any, list[str]]:
    """Open ``path`` in ``context`` (network blocked); wait for a map page's script to be ready.

    Returns the page and a list that collects page errors and console errors.
    """
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.goto(path.resolve().as_uri())
    if path.name != "index.html":
        page.wait_for_function("() => window.estates && window.estates.ready === true")
    return page, errors
